//! What the API refuses before it runs anything: parameters the schema does not have
//! (400) and the settings pve-container reserves for `root@pam`
//! (`PVE::LXC::check_ct_modify_config_perm`, 403). An API token's user is
//! `USER@REALM!TOKENID`, never `root@pam`, so every root-only setting is refused.
//!
//! The texts are pve-container's (`src/PVE/LXC.pm`):
//! - `rootfs`/`mpN` whose volume is not a storage volume:
//!   `mount point type bind is only allowed for root@pam` (`device` for `/dev/...`);
//! - `devN`: `configuring device passthrough is only allowed for root@pam`;
//! - `features` of a privileged CT (any flag, nesting too):
//!   `changing feature flags for privileged container is only allowed for root@pam`;
//! - `features` changes other than nesting (compared flag by flag with the old value;
//!   on a new CT anything but `nesting=1` alone):
//!   `changing feature flags (except nesting) is only allowed for root@pam`;
//! - `hookscript`: `changing the hookscript is only allowed for root@pam`.

use std::collections::BTreeMap;

use phoenix_pveconf::conf::parse_bool;
use phoenix_pveconf::props::MountKind;

/// A parameter failure: `(param, message)` pairs, shown as Proxmox's 400 `errors`.
pub type ParamErrors = BTreeMap<String, String>;

/// Proxmox's text for a property the schema does not have.
pub const NOT_IN_SCHEMA: &str =
    "property is not defined in schema and the schema does not allow additional properties";

/// Proxmox's text for a required property that is missing.
pub const MISSING: &str = "property is missing and it is not optional";

/// Checks every key of `params` is a CT config key the API takes or one of `extra`,
/// and that each of `required` is present.
pub fn verify_params(
    params: &BTreeMap<String, String>,
    extra: &[&str],
    required: &[&str],
) -> Result<(), ParamErrors> {
    let mut errors = ParamErrors::new();
    for key in params.keys() {
        let known = extra.contains(&key.as_str())
            || pct_emulator::pct::schema::config_key(key).is_some() && !key.starts_with("unused");
        if !known {
            errors.insert(key.clone(), NOT_IN_SCHEMA.to_owned());
        }
    }
    for key in required {
        if !params.contains_key(*key) {
            errors.insert((*key).to_owned(), MISSING.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The volume of a `rootfs`/`mpN` value: its first item, without `volume=`.
fn volume_of(value: &str) -> &str {
    let first = value.split(',').next().unwrap_or("");
    first.strip_prefix("volume=").unwrap_or(first)
}

/// A `features` value as flag -> value (booleans as `1`/`0`), as Proxmox's parse gives it.
fn features_map(value: &str) -> BTreeMap<String, String> {
    value
        .split(',')
        .filter(|i| !i.trim().is_empty())
        .map(|item| {
            let (k, v) = item.split_once('=').unwrap_or((item, "1"));
            let v = match parse_bool(v) {
                Some(b) if k != "mount" => if b { "1" } else { "0" }.to_owned(),
                _ => v.to_owned(),
            };
            (k.trim().to_owned(), v)
        })
        .collect()
}

/// `(nesting_changed, other_changed)` for a features change, as pve-container decides.
fn features_change(old: Option<&str>, new: Option<&str>) -> (bool, bool) {
    let alone = |m: &BTreeMap<String, String>| {
        if m.len() == 1 && m.get("nesting").is_some_and(|v| v == "1") {
            (true, false)
        } else {
            (false, !m.is_empty())
        }
    };
    match (old.filter(|o| !o.is_empty()), new) {
        // delete: judged by the old flags
        (old, None) => alone(&features_map(old.unwrap_or(""))),
        (None, Some(new)) => alone(&features_map(new)),
        (Some(old), Some(new)) => {
            let (o, n) = (features_map(old), features_map(new));
            let mut nesting = false;
            for key in o.keys().chain(n.keys()) {
                if o.get(key) != n.get(key) {
                    if key == "nesting" {
                        nesting = true;
                    } else {
                        return (nesting, true);
                    }
                }
            }
            (nesting, false)
        }
    }
}

/// The first root-only setting among `new` (set) and `delete`, as the message inside
/// `Permission check failed (...)`. `old` is the CT's current conf (`None` on create),
/// `unprivileged` whether the CT is (or will be) unprivileged.
///
/// ```
/// use std::collections::BTreeMap;
/// use pve_api_emulator::perm::root_only;
///
/// let mut new = BTreeMap::new();
/// new.insert("mp0".to_owned(), "/srv/data,mp=/data".to_owned());
/// assert_eq!(
///     root_only(None, &new, &[], true).as_deref(),
///     Some("mount point type bind is only allowed for root@pam")
/// );
/// new.clear();
/// new.insert("features".to_owned(), "nesting=1".to_owned());
/// assert_eq!(root_only(None, &new, &[], true), None);
/// ```
pub fn root_only(
    old: Option<&BTreeMap<String, String>>,
    new: &BTreeMap<String, String>,
    delete: &[String],
    unprivileged: bool,
) -> Option<String> {
    let old_value = |k: &str| old.and_then(|o| o.get(k)).map(String::as_str);
    let check = |key: &str, deleting: bool| -> Option<String> {
        let is_mount = key == "rootfs"
            || key
                .strip_prefix("mp")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let indexed = |p: &str| {
            key.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        if is_mount {
            if deleting {
                return None;
            }
            let kind = match MountKind::of(volume_of(&new[key])) {
                MountKind::Volume => return None,
                MountKind::Bind => "bind",
                MountKind::Device => "device",
            };
            return Some(format!(
                "mount point type {kind} is only allowed for root@pam"
            ));
        }
        if indexed("dev") {
            return Some("configuring device passthrough is only allowed for root@pam".into());
        }
        if key == "features" {
            if !unprivileged {
                return Some(
                    "changing feature flags for privileged container is only allowed for root@pam"
                        .into(),
                );
            }
            let newv = (!deleting).then(|| new[key].as_str());
            let (_, other) = features_change(old_value("features"), newv);
            return other.then(|| {
                "changing feature flags (except nesting) is only allowed for root@pam".into()
            });
        }
        if key == "hookscript" {
            return Some("changing the hookscript is only allowed for root@pam".into());
        }
        None
    };
    new.keys()
        .find_map(|k| check(k, false))
        .or_else(|| delete.iter().find_map(|k| check(k, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn raw_lxc_keys_and_unknown_params_are_not_in_the_schema() {
        let e = verify_params(
            &map(&[("lxc.idmap", "u 0 1 1"), ("memory", "64")]),
            &[],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e["lxc.idmap"], NOT_IN_SCHEMA);
        let e = verify_params(&map(&[]), &["vmid"], &["vmid"]).unwrap_err();
        assert_eq!(e["vmid"], MISSING);
        verify_params(
            &map(&[("mp0", "local:1,mp=/x"), ("net0", "name=eth0")]),
            &[],
            &[],
        )
        .unwrap();
    }

    #[test]
    fn bind_and_device_mounts_are_root_only() {
        let msg = root_only(None, &map(&[("mp0", "/srv/x,mp=/x")]), &[], true);
        assert_eq!(
            msg.unwrap(),
            "mount point type bind is only allowed for root@pam"
        );
        let msg = root_only(None, &map(&[("mp1", "volume=/dev/sdb,mp=/x")]), &[], true);
        assert_eq!(
            msg.unwrap(),
            "mount point type device is only allowed for root@pam"
        );
        assert_eq!(
            root_only(None, &map(&[("rootfs", "local-zfs:1")]), &[], true),
            None
        );
        assert_eq!(root_only(None, &map(&[]), &["mp0".into()], true), None);
    }

    #[test]
    fn devices_and_hookscripts_are_root_only() {
        let msg = root_only(None, &map(&[("dev0", "/dev/dri/renderD128")]), &[], true);
        assert_eq!(
            msg.unwrap(),
            "configuring device passthrough is only allowed for root@pam"
        );
        let msg = root_only(None, &map(&[]), &["dev0".into()], true);
        assert!(msg.unwrap().starts_with("configuring device passthrough"));
        let msg = root_only(None, &map(&[("hookscript", "local:snippets/x")]), &[], true);
        assert_eq!(
            msg.unwrap(),
            "changing the hookscript is only allowed for root@pam"
        );
    }

    #[test]
    fn features_other_than_nesting_are_root_only() {
        let other =
            Some("changing feature flags (except nesting) is only allowed for root@pam".to_owned());
        assert_eq!(
            root_only(None, &map(&[("features", "nesting=1")]), &[], true),
            None
        );
        assert_eq!(
            root_only(None, &map(&[("features", "nesting=1,keyctl=1")]), &[], true),
            other
        );
        assert_eq!(
            root_only(None, &map(&[("features", "fuse=1")]), &[], true),
            other
        );
        let old = map(&[("features", "keyctl=1")]);
        // keyctl unchanged, nesting added: only nesting changed
        assert_eq!(
            root_only(
                Some(&old),
                &map(&[("features", "keyctl=1,nesting=1")]),
                &[],
                true
            ),
            None
        );
        assert_eq!(
            root_only(Some(&old), &map(&[]), &["features".into()], true),
            other
        );
        assert_eq!(
            root_only(None, &map(&[("features", "nesting=1")]), &[], false).unwrap(),
            "changing feature flags for privileged container is only allowed for root@pam"
        );
    }
}
