//! Applying changes to the current config as Proxmox does (pve-container
//! `PVE/LXC/Config.pm`: `vmconfig_apply_pending`, `apply_pending_mountpoint`,
//! `add_unused_volume`), so a volume that leaves the config is kept as `unusedN`:
//!
//! - deleting `mpN` whose volume is a storage volume adds it as the first free `unusedN`;
//! - replacing `mpN` with another volume does the same for the old one (`rootfs` is stored
//!   as given);
//! - deleting `unusedN` frees the volume;
//! - a volume still referenced is not added (the writer removes such `unusedN` anyway).

use phoenix_pveconf::conf::{CtConf, PENDING, Section};

use crate::pct::props::{self, MountKind};
use crate::storage::VolId;

/// The storage volume an `mpN`/`rootfs`/`unusedN` value names; `None` for bind and
/// device mounts.
pub fn volume_of(value: &str) -> Option<VolId> {
    match MountKind::of(&props::get(value, Some("volume"), "volume")?) {
        Some(MountKind::Volume(v)) => Some(v),
        _ => None,
    }
}

fn is_volume_key(k: &str) -> bool {
    k == "rootfs"
        || k.strip_prefix("mp")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn section_uses(s: &Section, vol: &VolId) -> bool {
    s.entries()
        .any(|(k, v)| is_volume_key(k) && volume_of(v).as_ref() == Some(vol))
}

/// `is_volume_in_use($conf, $vol, 1, 1)`: the current section, the snapshots and pending.
fn in_use(conf: &CtConf, vol: &VolId) -> bool {
    section_uses(conf.main(), vol)
        || conf.snapshots().iter().any(|s| section_uses(s, vol))
        || conf.pending().is_some_and(|p| section_uses(p, vol))
}

/// `add_unused_volume`: the lowest free `unusedN`, none for a volume already listed.
pub fn add_unused(conf: &mut CtConf, vol: &VolId) -> Option<String> {
    let text = vol.to_string();
    if conf
        .entries()
        .any(|(k, v)| k.starts_with("unused") && v == text)
    {
        return None;
    }
    let key = (0..256)
        .map(|i| format!("unused{i}"))
        .find(|k| conf.get(k).is_none())?;
    conf.set(&key, &text).ok()?;
    Some(key)
}

/// Sets `key` in the current section; an `mpN` that replaces a storage volume no longer
/// referenced leaves it as `unusedN`.
pub fn set_current(conf: &mut CtConf, key: &str, value: &str) {
    let old = (key.starts_with("mp"))
        .then(|| conf.get(key).and_then(volume_of))
        .flatten();
    let _ = conf.set(key, value);
    if let Some(old) = old.filter(|o| !in_use(conf, o)) {
        add_unused(conf, &old);
    }
}

/// Deletes `key` from the current section. An `mpN` volume becomes `unusedN`; for an
/// `unusedN` the volume to free is returned.
pub fn delete_current(conf: &mut CtConf, key: &str) -> Option<VolId> {
    let old = conf.get(key).and_then(volume_of);
    conf.remove(key);
    let old = old?;
    if key.starts_with("unused") {
        return (!in_use(conf, &old)).then_some(old);
    }
    if key.starts_with("mp") && !in_use(conf, &old) {
        add_unused(conf, &old);
    }
    None
}

/// Moves `[pve:pending]` into the current config (deletes, then values, as
/// `vmconfig_apply_pending`) and drops it; returns the volumes to free.
pub fn apply_pending(conf: &mut CtConf) -> Vec<VolId> {
    let Some(p) = conf.pending() else {
        return Vec::new();
    };
    let values: Vec<(String, String)> = p
        .entries()
        .filter(|(k, _)| *k != "delete")
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let mut deletes: Vec<String> = p
        .deletes()
        .iter()
        .map(|d| d.trim_start_matches('!').to_owned())
        .collect();
    deletes.sort();
    conf.remove_section(PENDING);
    let mut free = Vec::new();
    for k in deletes {
        free.extend(delete_current(conf, &k));
    }
    for (k, v) in values {
        set_current(conf, &k, &v);
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOL0: &str = "local-zfs:subvol-100-disk-0";
    const VOL1: &str = "local-zfs:subvol-100-disk-1";

    fn conf(text: &str) -> CtConf {
        CtConf::parse(text).conf
    }

    #[test]
    fn a_deleted_mount_point_volume_becomes_unused() {
        let mut c = conf(&format!(
            "rootfs: {VOL0},size=8G\nmp0: {VOL1},mp=/data,size=1G\nmp1: /srv,mp=/srv\nunused0: local:100/x.raw\n"
        ));
        assert_eq!(delete_current(&mut c, "mp0"), None);
        assert_eq!(c.get("unused1"), Some(VOL1));
        assert_eq!(c.get("mp0"), None);
        // a bind mount leaves nothing behind
        delete_current(&mut c, "mp1");
        assert_eq!(c.get("unused2"), None);
        // deleting unusedN frees its volume
        assert_eq!(
            delete_current(&mut c, "unused1")
                .map(|v| v.to_string())
                .as_deref(),
            Some(VOL1)
        );
    }

    #[test]
    fn a_replaced_mount_point_volume_becomes_unused_unless_still_used() {
        let mut c = conf(&format!(
            "rootfs: {VOL0},size=8G\nmp0: {VOL1},mp=/data,size=1G\n"
        ));
        set_current(&mut c, "mp0", &format!("{VOL1},mp=/srv,size=1G"));
        assert_eq!(c.get("unused0"), None, "same volume, new path");
        set_current(&mut c, "mp0", "local-zfs:subvol-100-disk-2,mp=/srv,size=1G");
        assert_eq!(c.get("unused0"), Some(VOL1));
        // rootfs is stored as given
        set_current(&mut c, "rootfs", "local-zfs:subvol-100-disk-3,size=8G");
        assert_eq!(c.get("unused1"), None);
    }

    #[test]
    fn pending_is_applied_deletes_first_and_removed() {
        let mut c = conf(&format!(
            "memory: 512\nfeatures: nesting=1\nmp0: {VOL1},mp=/data\n\n[pve:pending]\nfeatures: keyctl=1\nmemory: 1024\ndelete: features,mp0\n"
        ));
        assert!(apply_pending(&mut c).is_empty());
        assert_eq!(c.get("memory"), Some("1024"));
        assert_eq!(c.get("features"), Some("keyctl=1"));
        assert_eq!(c.get("unused0"), Some(VOL1));
        assert!(c.pending().is_none());
    }
}
