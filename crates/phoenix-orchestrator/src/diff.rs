//! Pure comparisons of desired and observed container configs: the `pct set` that
//! carries exactly the differences, the mpN slots of bind mounts, and the raw `lxc.*`
//! lines phoenix edits in the conf file.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_pct::{CtOptions, SetOptions};
use phoenix_pveconf::conf::{CtConf, EditError};
use phoenix_pveconf::props::{Features, MountKind, MountPoint, NetConfig};

use crate::desired::{DesiredCt, IDMAP_KEY};

/// Why an observed value cannot be compared.
#[derive(Debug, thiserror::Error)]
#[error("CT {vmid}: cannot read '{key}' from its config")]
pub struct ObservedError {
    /// The container.
    pub vmid: u32,
    /// The key.
    pub key: String,
    /// The parser's reason (boxed: it is large, and every step's error holds one).
    #[source]
    pub source: Box<phoenix_pveconf::conf::ValueError>,
}

/// The `pct set` that brings `conf` (pct config output) to `desired`, with one
/// human-readable line per difference.
pub fn set_options(
    desired: &DesiredCt,
    conf: &CtConf,
) -> Result<(SetOptions, Vec<String>), ObservedError> {
    let vmid = desired.vmid.get();
    let main = conf.main();
    let err = |key: &str| {
        let key = key.to_owned();
        move |source| ObservedError {
            vmid,
            key,
            source: Box::new(source),
        }
    };
    let want = &desired.options;
    let mut set = SetOptions::default();
    let mut why = Vec::new();
    let mut note = |key: &str, from: Option<String>, to: String| {
        why.push(format!(
            "{key}: {} -> {to}",
            from.unwrap_or_else(|| "(unset)".into())
        ));
    };

    if let Some(h) = &want.hostname
        && main.hostname() != Some(h.as_str())
    {
        note("hostname", main.hostname().map(str::to_owned), h.clone());
        set.changes.hostname = Some(h.clone());
    }
    let numbers = [
        ("memory", want.memory, main.memory().map_err(err("memory"))?),
        ("swap", want.swap, main.swap().map_err(err("swap"))?),
        (
            "cores",
            want.cores.map(u64::from),
            main.cores().map_err(err("cores"))?,
        ),
    ];
    for (key, wanted, seen) in numbers {
        if let Some(w) = wanted
            && seen != Some(w)
        {
            note(key, seen.map(|v| v.to_string()), w.to_string());
            match key {
                "memory" => set.changes.memory = Some(w),
                "swap" => set.changes.swap = Some(w),
                _ => set.changes.cores = u32::try_from(w).ok(),
            }
        }
    }
    if let Some(on) = want.onboot {
        let seen = main.onboot().map_err(err("onboot"))?.unwrap_or(false);
        if seen != on {
            note(
                "onboot",
                Some(u8::from(seen).to_string()),
                u8::from(on).to_string(),
            );
            set.changes.onboot = Some(on);
        }
    }
    for (key, wanted) in [
        ("nameserver", &want.nameserver),
        ("searchdomain", &want.searchdomain),
    ] {
        let seen = main.get(key);
        match (wanted, seen) {
            (Some(w), s) if s != Some(w.as_str()) => {
                note(key, s.map(str::to_owned), w.clone());
                if key == "nameserver" {
                    set.changes.nameserver = Some(w.clone());
                } else {
                    set.changes.searchdomain = Some(w.clone());
                }
            }
            (None, Some(s)) => {
                note(key, Some(s.to_owned()), "(unset: the host's)".into());
                set.delete.push(key.to_owned());
            }
            _ => {}
        }
    }
    let seen_startup = main.startup().map_err(err("startup"))?;
    match (&want.startup, seen_startup) {
        (Some(w), s) if s.as_ref() != Some(w) => {
            note("startup", s.map(|s| s.to_string()), w.to_string());
            set.changes.startup = Some(*w);
        }
        (None, Some(s)) => {
            note("startup", Some(s.to_string()), "(unset)".into());
            set.delete.push("startup".into());
        }
        _ => {}
    }
    let seen_features = main.features().map_err(err("features"))?;
    match (&want.features, seen_features) {
        (Some(w), s) if s.as_ref().map(normalized) != Some(normalized(w)) => {
            note("features", s.map(|s| s.to_string()), w.to_string());
            set.changes.features = Some(w.clone());
        }
        (None, Some(s)) if normalized(&s) != normalized(&Features::default()) => {
            note("features", Some(s.to_string()), "(unset)".into());
            set.delete.push("features".into());
        }
        _ => {}
    }
    let seen_nets: BTreeMap<u16, NetConfig> =
        main.nets().map_err(err("net0"))?.into_iter().collect();
    for (n, w) in &want.nets {
        let seen = seen_nets.get(&u16::from(*n));
        let mut full = w.clone();
        // Without a MAC in the config, keep the one Proxmox generated.
        if full.hwaddr.is_none() {
            full.hwaddr = seen.and_then(|s| s.hwaddr.clone());
        }
        if seen != Some(&full) {
            note(
                &format!("net{n}"),
                seen.map(|s| s.to_string()),
                full.to_string(),
            );
            set.changes.nets.insert(*n, full);
        }
    }
    let observed_mounts = main.mount_points().map_err(err("mpN"))?;
    let (mounts, delete) = mount_slots(desired, &observed_mounts);
    for (slot, mp) in mounts {
        let seen = observed_mounts.iter().find(|(n, _)| *n == u16::from(slot));
        if seen.map(|(_, m)| m) != Some(&mp) {
            note(
                &format!("mp{slot}"),
                seen.map(|(_, m)| m.to_string()),
                mp.to_string(),
            );
            set.changes.mount_points.insert(slot, mp);
        }
    }
    for slot in delete {
        note(
            &format!("mp{slot}"),
            None,
            "(removed: not in the config)".into(),
        );
        set.delete.push(format!("mp{slot}"));
    }
    let (devices, stale, lines) = crate::devices::device_changes(&desired.devices, main);
    set.changes.other.extend(devices);
    set.delete.extend(stale);
    why.extend(lines);
    Ok((set, why))
}

/// Features compared by meaning: an explicit `0` equals an absent flag.
fn normalized(f: &Features) -> (BTreeSet<&'static str>, Vec<String>) {
    let mut on = BTreeSet::new();
    for (name, v) in [
        ("nesting", f.nesting),
        ("keyctl", f.keyctl),
        ("fuse", f.fuse),
        ("mknod", f.mknod),
        ("force_rw_sys", f.force_rw_sys),
    ] {
        if v == Some(true) {
            on.insert(name);
        }
    }
    let mut mount = f.mount.clone();
    mount.sort();
    (on, mount)
}

/// Which mpN slot each desired bind mount takes: the slot already mounting the same
/// container path is kept (so a re-run changes nothing), others take the lowest free
/// slot. Observed bind mounts the config no longer lists are returned for deletion;
/// storage volumes and device mounts are never touched.
pub fn mount_slots(
    desired: &DesiredCt,
    observed: &[(u16, MountPoint)],
) -> (BTreeMap<u8, MountPoint>, Vec<u16>) {
    let mut taken: BTreeSet<u16> = observed.iter().map(|(n, _)| *n).collect();
    let mut out = BTreeMap::new();
    let mut kept = BTreeSet::new();
    let mut fresh = Vec::new();
    for m in &desired.mounts {
        let mp = m.mount_point();
        match observed
            .iter()
            .find(|(_, o)| o.mp == mp.mp && o.kind() == MountKind::Bind)
        {
            Some((n, _)) => {
                kept.insert(*n);
                if let Ok(slot) = u8::try_from(*n) {
                    out.insert(slot, mp);
                }
            }
            None => fresh.push(mp),
        }
    }
    let delete: Vec<u16> = observed
        .iter()
        .filter(|(n, o)| o.kind() == MountKind::Bind && !kept.contains(n))
        .map(|(n, _)| *n)
        .collect();
    for n in &delete {
        taken.remove(n);
    }
    let mut next = 0u16;
    for mp in fresh {
        while taken.contains(&next) {
            next += 1;
        }
        taken.insert(next);
        if let Ok(slot) = u8::try_from(next) {
            out.insert(slot, mp);
        }
    }
    (out, delete)
}

/// The raw `lxc.*` lines phoenix manages, by key: `lxc.idmap` from `id_maps`, the
/// AppArmor keys from the assignment, and each key of `lxc_options`.
pub fn raw_lines(desired: &DesiredCt) -> BTreeMap<String, Vec<String>> {
    let mut keys = desired.lxc.clone();
    keys.insert(
        IDMAP_KEY.to_owned(),
        desired.id_maps.iter().map(ToString::to_string).collect(),
    );
    if let Some(a) = &desired.apparmor {
        keys.insert(
            phoenix_apparmor::conf::PROFILE_KEY.to_owned(),
            vec![a.profile.as_str().to_owned()],
        );
        keys.insert(
            phoenix_apparmor::conf::NESTING_KEY.to_owned(),
            if a.allow_nesting {
                vec!["1".to_owned()]
            } else {
                vec![]
            },
        );
    }
    keys
}

/// Applies the managed raw lines to a conf file's current section. Returns the lines
/// removed and added (empty when the file already says what the config says).
pub fn apply_raw_lines(
    desired: &DesiredCt,
    conf: &mut CtConf,
) -> Result<(Vec<String>, Vec<String>), EditError> {
    let before = conf.render();
    for (key, values) in raw_lines(desired) {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        conf.replace_lxc(&key, &values)?;
    }
    Ok(line_diff(&before, &conf.render()))
}

/// Lines only in `before` and lines only in `after`, as multisets, in file order.
pub fn line_diff(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for l in after.lines() {
        *count.entry(l).or_default() += 1;
    }
    let mut removed = Vec::new();
    for l in before.lines() {
        let c = count.entry(l).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            removed.push(l.to_owned());
        }
    }
    let mut seen: BTreeMap<&str, i64> = BTreeMap::new();
    for l in before.lines() {
        *seen.entry(l).or_default() += 1;
    }
    let mut added = Vec::new();
    for l in after.lines() {
        let c = seen.entry(l).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            added.push(l.to_owned());
        }
    }
    (removed, added)
}

/// The conf a `pct create` with these options writes, for planning what follows it.
pub fn predicted_conf(options: &CtOptions, unprivileged: bool) -> CtConf {
    let mut conf = CtConf::new();
    let mut pairs = options.pairs();
    if unprivileged {
        pairs.push(("unprivileged".into(), "1".into()));
    }
    pairs.sort();
    for (k, v) in pairs {
        // Keys come from typed options: they are always valid conf keys.
        let _ = conf.set(&k, &v);
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::desired;
    use crate::testutil::{ct, fleet};

    fn one(extra: &str, hypervisor: &str) -> DesiredCt {
        let f = fleet(
            &format!(r#"{{"lxc_configs": {{"900": {}}}}}"#, ct(extra)),
            hypervisor,
        );
        desired(
            &f,
            900,
            &phoenix_features::Registry::builtin(),
            &phoenix_features::HostFacts::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_conf_created_from_the_desired_options_needs_no_set() {
        let d = one(
            r#""template": "local:vztmpl/x.tar.gz", "mac_address": "52:54:00:00:00:01""#,
            "{}",
        );
        let conf = predicted_conf(&d.options, true);
        let (set, why) = set_options(&d, &conf).unwrap();
        assert!(set.is_empty(), "{why:?}");
    }

    #[test]
    fn only_the_differences_are_set_and_each_says_why() {
        let d = one(
            r#""template": "local:vztmpl/x.tar.gz", "memory_mb": 96, "start_at_boot": true, "boot_order": 2"#,
            "{}",
        );
        let conf = CtConf::parse(
            "hostname: a\nmemory: 64\nswap: 512\ncores: 1\nonboot: 0\n\
             net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=10.0.0.5/24,type=veth\n\
             features: nesting=0\n",
        )
        .conf;
        let (set, why) = set_options(&d, &conf).unwrap();
        assert_eq!(set.changes.memory, Some(96));
        assert_eq!(set.changes.onboot, Some(true));
        assert_eq!(
            set.changes.startup.map(|s| s.to_string()).as_deref(),
            Some("order=2")
        );
        // No MAC in the config: Proxmox's generated one is kept, so net0 is unchanged.
        assert!(set.changes.nets.is_empty(), "{why:?}");
        // `nesting=0` means the same as no features: nothing to delete.
        assert!(set.delete.is_empty(), "{:?}", set.delete);
        assert_eq!(
            why,
            [
                "memory: 64 -> 96",
                "onboot: 0 -> 1",
                "startup: (unset) -> order=2"
            ]
        );
    }

    #[test]
    fn bind_mounts_keep_their_slot_and_stale_ones_are_deleted() {
        let d = one(
            r#""template": "local:vztmpl/x.tar.gz",
               "mount_points": [{"host_path": "/srv/a", "container_path": "/a"},
                                {"host_path": "/srv/b", "container_path": "/b", "read_only": true}]"#,
            "{}",
        );
        let observed: Vec<(u16, MountPoint)> = vec![
            (0, "local-zfs:subvol-900-disk-1,mp=/vol".parse().unwrap()),
            (1, "/srv/b,mp=/b".parse().unwrap()),
            (2, "/srv/old,mp=/old".parse().unwrap()),
        ];
        let (slots, delete) = mount_slots(&d, &observed);
        assert_eq!(slots[&1].to_string(), "/srv/b,mp=/b,ro=1");
        assert_eq!(slots[&2].to_string(), "/srv/a,mp=/a");
        assert_eq!(delete, vec![2]);
    }

    #[test]
    fn raw_lines_are_written_once_and_stale_managed_ones_removed() {
        let d = one(
            r#""template": "local:vztmpl/x.tar.gz", "apparmor_profile": "lxc-phoenix-v2",
               "lxc_options": ["lxc.mount.auto=proc:mixed sys:mixed"],
               "id_maps": [{"kind": "u", "container_start": 0, "host_start": 200000, "count": 65536},
                           {"kind": "g", "container_start": 0, "host_start": 200000, "count": 65536}]"#,
            "{}",
        );
        let mut conf = CtConf::parse(
            "arch: amd64\nlxc.apparmor.profile = unconfined\nlxc.apparmor.profile: unconfined\nlxc.idmap: u 0 100000 65536\n",
        )
        .conf;
        let (removed, added) = apply_raw_lines(&d, &mut conf).unwrap();
        // Lines are changed in place (keeping their `=` form), surplus ones removed.
        assert_eq!(
            removed,
            [
                "lxc.apparmor.profile = unconfined",
                "lxc.apparmor.profile: unconfined",
                "lxc.idmap: u 0 100000 65536"
            ]
        );
        assert_eq!(
            added,
            [
                "lxc.apparmor.profile = lxc-phoenix-v2",
                "lxc.idmap: u 0 200000 65536",
                "lxc.idmap: g 0 200000 65536",
                "lxc.mount.auto: proc:mixed sys:mixed"
            ]
        );
        let text = conf.render();
        assert_eq!(text.matches("lxc.apparmor.profile").count(), 1, "{text}");
        assert!(
            text.contains("lxc.apparmor.profile = lxc-phoenix-v2"),
            "{text}"
        );
        assert!(text.contains("lxc.idmap: u 0 200000 65536"), "{text}");
        // A second application changes nothing.
        assert_eq!(apply_raw_lines(&d, &mut conf).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn line_diff_counts_repeated_lines() {
        let (removed, added) = line_diff("a\nb\nb\n", "b\nc\n");
        assert_eq!(removed, ["a", "b"]);
        assert_eq!(added, ["c"]);
    }
}
