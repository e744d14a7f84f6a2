//! Which way each plan operation takes on a cluster: the PVE REST API, or the node
//! path (phoenix itself on the guest's node over SSH) for what Proxmox reserves for
//! `root@pam` (and so refuses to every API token) or has no API for at all.
//!
//! Proxmox's rules (`PVE::LXC::check_ct_modify_config_perm`; every token's user is
//! `USER@REALM!TOKENID`, never `root@pam`):
//!
//! ```text
//! mpN/rootfs set to a bind mount (/host/dir)   "mount point type bind is only allowed for root@pam"
//! mpN/rootfs set to a device mount (/dev/...)  "mount point type device is only allowed for root@pam"
//! devN set or deleted                          "configuring device passthrough is only allowed for root@pam"
//! features, privileged container               "changing feature flags for privileged container is only allowed for root@pam"
//! features other than nesting changed          "changing feature flags (except nesting) is only allowed for root@pam"
//! raw lxc.* keys                               not API parameters at all
//! ```
//!
//! Deleting an `mpN` is allowed to a token (Proxmox checks the mount type only of a value
//! being set), so it stays on the API. Everything that runs inside a container
//! (`pct exec`: proofs, features, scripts, the gateway step), host files
//! (`/etc/subuid`, `/etc/subgid`, AppArmor profiles, volume directories) and the guest
//! firewall file go through the node path by nature.
//!
//! A create with root-only parameters becomes an API create without them, then one
//! node-path set per root-only key (in key order), each with its reason; a set is split
//! the same way. Consecutive node-path sets of one guest may be sent as one call. A
//! [`Op::Note`] runs nowhere ([`Via::Nowhere`]).
//!
//! ```
//! use std::collections::BTreeMap;
//! use phoenix_orchestrator::plan::Op;
//! use phoenix_orchestrator::route::{Via, api_call, route};
//! let set = Op::Set {
//!     vmid: 101,
//!     params: BTreeMap::from([
//!         ("memory".to_owned(), "1024".to_owned()),
//!         ("mp0".to_owned(), "/srv/share,mp=/data".to_owned()),
//!     ]),
//!     delete: vec![],
//! };
//! let routed = route(&set);
//! assert_eq!(routed[0].via, Via::Api);
//! assert_eq!(api_call(&routed[0].op, &"pve1".parse().unwrap()).unwrap(),
//!            "PUT /nodes/pve1/lxc/101/config memory=1024");
//! let Via::NodePath(why) = &routed[1].via else { panic!() };
//! assert_eq!(why.to_string(), "bind mount mp0: root@pam only");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use camino::Utf8PathBuf;
use phoenix_pveconf::api::NodeName;
use phoenix_pveconf::props::{Features, MountKind, MountPoint, RootFs};

use crate::plan::Op;

/// The way an operation goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A PVE API call with the token ([`api_call`] shows it).
    Api,
    /// phoenix on the guest's node over SSH, for this reason.
    NodePath(RootOnly),
    /// Nothing runs: a [`Op::Note`], shown in the plan only.
    Nowhere,
}

/// Why an operation needs the node path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOnly {
    /// `mpN`/`rootfs` set to a host directory.
    BindMount {
        /// `mp0`, `rootfs`.
        key: String,
    },
    /// `mpN`/`rootfs` set to a host device.
    DeviceMount {
        /// `mp0`, `rootfs`.
        key: String,
    },
    /// `devN` set or deleted.
    Device {
        /// `dev0`.
        key: String,
    },
    /// `features` set (or deleted: empty) to more than a change of `nesting`.
    FeatureFlags {
        /// The new value; empty when the key is deleted.
        value: String,
    },
    /// Raw `lxc.*` lines in the conf file.
    RawLxc,
    /// Runs inside the container (`pct exec`).
    Exec,
    /// A host file (`/etc/subuid`, `/etc/subgid`).
    HostFile {
        /// The file.
        path: Utf8PathBuf,
    },
    /// A host directory (a volume's owner and mode).
    HostDir {
        /// The directory.
        path: Utf8PathBuf,
    },
    /// AppArmor profile files and `apparmor_parser`.
    AppArmor,
    /// The guest firewall file (`/etc/pve/firewall/<vmid>.fw`), which phoenix edits on
    /// the node.
    Firewall,
}

impl fmt::Display for RootOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootOnly::BindMount { key } => write!(f, "bind mount {key}: root@pam only"),
            RootOnly::DeviceMount { key } => write!(f, "device mount {key}: root@pam only"),
            RootOnly::Device { key } => write!(f, "device passthrough {key}: root@pam only"),
            RootOnly::FeatureFlags { value } if value.is_empty() => {
                f.write_str("removing feature flags: root@pam only")
            }
            RootOnly::FeatureFlags { value } => write!(f, "feature flags {value}: root@pam only"),
            RootOnly::RawLxc => f.write_str("raw lxc.* keys: not in the API"),
            RootOnly::Exec => f.write_str("runs inside the container: pct exec (no API)"),
            RootOnly::HostFile { path } => write!(f, "host file {path}: not in the API"),
            RootOnly::HostDir { path } => write!(f, "host directory {path}: not in the API"),
            RootOnly::AppArmor => f.write_str("AppArmor profiles: host files (no API)"),
            RootOnly::Firewall => f.write_str("guest firewall file: edited on the node"),
        }
    }
}

/// An operation with the way it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// API or node path.
    pub via: Via,
    /// The operation (a part of the planned one when that was split).
    pub op: Op,
}

/// What is known of the guest as it is now, for the `features` rule, which Proxmox
/// applies against the old value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Current {
    /// The conf's `features` value, if it has one.
    pub features: Option<String>,
    /// The conf says `unprivileged: 1`.
    pub unprivileged: bool,
}

/// Routes an operation without knowing the guest's current conf: a set of `features`
/// goes to the node path unless [`route_with`] is told the current value.
pub fn route(op: &Op) -> Vec<Routed> {
    route_with(op, None)
}

/// Routes an operation; `current` is the guest's conf as observed (for a [`Op::Set`]).
pub fn route_with(op: &Op, current: Option<&Current>) -> Vec<Routed> {
    let api = |op: &Op| Routed {
        via: Via::Api,
        op: op.clone(),
    };
    let node = |why: RootOnly| {
        vec![Routed {
            via: Via::NodePath(why),
            op: op.clone(),
        }]
    };
    match op {
        Op::Create {
            vmid,
            ostemplate,
            params,
        } => {
            // A new container: no old features; Proxmox's default is privileged.
            let fresh = Current {
                features: None,
                unprivileged: params.get("unprivileged").is_some_and(|v| v == "1"),
            };
            let (kept, root) = split(params, &[], Some(&fresh));
            let mut out = vec![Routed {
                via: Via::Api,
                op: Op::Create {
                    vmid: *vmid,
                    ostemplate: ostemplate.clone(),
                    params: kept,
                },
            }];
            out.extend(node_sets(*vmid, root));
            out
        }
        Op::Set {
            vmid,
            params,
            delete,
        } => {
            let (kept, root) = split(params, delete, current);
            let kept_delete: Vec<String> = delete
                .iter()
                .filter(|k| !root.iter().any(|(key, _, _)| key == *k))
                .cloned()
                .collect();
            let mut out = Vec::new();
            if !kept.is_empty() || !kept_delete.is_empty() || root.is_empty() {
                out.push(Routed {
                    via: Via::Api,
                    op: Op::Set {
                        vmid: *vmid,
                        params: kept,
                        delete: kept_delete,
                    },
                });
            }
            out.extend(node_sets(*vmid, root));
            out
        }
        Op::Clone { .. } | Op::Start { .. } | Op::Snapshot { .. } | Op::CheckStorage { .. } => {
            vec![api(op)]
        }
        Op::EditConf { .. } => node(RootOnly::RawLxc),
        Op::EditFirewall { .. } => node(RootOnly::Firewall),
        Op::EnsureDir { path, .. } => node(RootOnly::HostDir { path: path.clone() }),
        Op::SubIds { file, .. } => node(RootOnly::HostFile { path: file.clone() }),
        Op::AppArmorFile { .. } => node(RootOnly::AppArmor),
        Op::ProveMap { .. }
        | Op::ProveVolume { .. }
        | Op::Feature { .. }
        | Op::Gateway { .. }
        | Op::Script { .. } => node(RootOnly::Exec),
        Op::Note { .. } => vec![Routed {
            via: Via::Nowhere,
            op: op.clone(),
        }],
    }
}

/// One node-path set per root-only key: `(key, Some(value))` sets, `(key, None)` deletes.
fn node_sets(vmid: u32, root: Vec<(String, Option<String>, RootOnly)>) -> Vec<Routed> {
    root.into_iter()
        .map(|(key, value, why)| {
            let (params, delete) = match value {
                Some(v) => (BTreeMap::from([(key, v)]), Vec::new()),
                None => (BTreeMap::new(), vec![key]),
            };
            Routed {
                via: Via::NodePath(why),
                op: Op::Set {
                    vmid,
                    params,
                    delete,
                },
            }
        })
        .collect()
}

/// The API-able parameters, and the root-only keys (set with a value, or deleted) with
/// their reason, in key order (sets before deletes).
#[allow(clippy::type_complexity)]
fn split(
    params: &BTreeMap<String, String>,
    delete: &[String],
    current: Option<&Current>,
) -> (
    BTreeMap<String, String>,
    Vec<(String, Option<String>, RootOnly)>,
) {
    let mut kept = BTreeMap::new();
    let mut root = Vec::new();
    for (k, v) in params {
        match root_only(k, Some(v), current) {
            Some(why) => root.push((k.clone(), Some(v.clone()), why)),
            None => {
                kept.insert(k.clone(), v.clone());
            }
        }
    }
    for k in delete {
        if let Some(why) = root_only(k, None, current) {
            root.push((k.clone(), None, why));
        }
    }
    (kept, root)
}

fn is_indexed(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Why setting (`Some`) or deleting (`None`) `key` is root@pam's, if it is.
fn root_only(key: &str, value: Option<&str>, current: Option<&Current>) -> Option<RootOnly> {
    if is_indexed(key, "dev") {
        return Some(RootOnly::Device { key: key.into() });
    }
    if key == "features" {
        let refused = match current {
            Some(c) => features_root_only(c.features.as_deref(), value, c.unprivileged),
            // The old value decides and is not known: the node path is always allowed.
            None => true,
        };
        return refused.then(|| RootOnly::FeatureFlags {
            value: value.unwrap_or_default().into(),
        });
    }
    let value = value?;
    let kind = if key == "rootfs" {
        value.parse::<RootFs>().map(|r| r.kind()).ok()
    } else if is_indexed(key, "mp") {
        value.parse::<MountPoint>().map(|m| m.kind()).ok()
    } else {
        return None;
    };
    // A value the parser refuses is judged by its volume, the part before the first ','.
    let kind = kind.unwrap_or_else(|| MountKind::of(value.split(',').next().unwrap_or("")));
    match kind {
        MountKind::Bind => Some(RootOnly::BindMount { key: key.into() }),
        MountKind::Device => Some(RootOnly::DeviceMount { key: key.into() }),
        MountKind::Volume => None,
    }
}

/// The flags of a `features` value, as Proxmox's `parse_features` hash has them: only
/// the keys present. An unparsable value counts as one other flag.
fn feature_flags(value: &str) -> Option<BTreeMap<&'static str, String>> {
    let f: Features = value.parse().ok()?;
    let mut out = BTreeMap::new();
    for (k, v) in [
        ("nesting", f.nesting),
        ("keyctl", f.keyctl),
        ("fuse", f.fuse),
        ("mknod", f.mknod),
        ("force_rw_sys", f.force_rw_sys),
    ] {
        if let Some(v) = v {
            out.insert(k, u8::from(v).to_string());
        }
    }
    if !f.mount.is_empty() {
        out.insert("mount", f.mount.join(";"));
    }
    Some(out)
}

/// Whether Proxmox refuses this `features` change to a token: always on a privileged
/// container; else unless the change touches `nesting` alone (with no old value: the
/// new value is exactly `nesting=1`; deleting: the old value is exactly `nesting=1`).
pub fn features_root_only(old: Option<&str>, new: Option<&str>, unprivileged: bool) -> bool {
    if !unprivileged {
        return true;
    }
    let only_nesting = |flags: &BTreeMap<&str, String>| {
        flags.is_empty() || (flags.len() == 1 && flags.get("nesting").is_some_and(|v| v == "1"))
    };
    let old = old.filter(|o| !o.is_empty());
    match (old, new) {
        (Some(old), Some(new)) => {
            let (Some(old), Some(new)) = (feature_flags(old), feature_flags(new)) else {
                return true;
            };
            old.keys()
                .chain(new.keys())
                .any(|k| *k != "nesting" && old.get(k) != new.get(k))
        }
        (None, Some(v)) | (Some(v), None) => !feature_flags(v).is_some_and(|f| only_nesting(&f)),
        (None, None) => false,
    }
}

/// `k=v` words in key order.
fn words(params: &BTreeMap<String, String>) -> impl Iterator<Item = String> + '_ {
    params.iter().map(|(k, v)| format!("{k}={v}"))
}

fn line(method: &str, path: String, words: impl Iterator<Item = String>) -> String {
    let mut out = format!("{method} {path}");
    for w in words {
        out.push(' ');
        out.push_str(&w);
    }
    out
}

/// An API-routed operation as `phoenix plan` shows it: the method, path and form
/// parameters (in key order), e.g. `PUT /nodes/pve1/lxc/101/config memory=1024
/// delete=onboot`. `None` for an operation the API does not do (route it first: a
/// create or set is rendered with whatever parameters it has).
pub fn api_call(op: &Op, node: &NodeName) -> Option<String> {
    let ct = |vmid: &u32| format!("/nodes/{node}/lxc/{vmid}");
    Some(match op {
        Op::Create {
            vmid,
            ostemplate,
            params,
        } => line(
            "POST",
            format!("/nodes/{node}/lxc"),
            [format!("vmid={vmid}"), format!("ostemplate={ostemplate}")]
                .into_iter()
                .chain(words(params)),
        ),
        Op::Clone {
            source,
            vmid,
            params,
        } => line(
            "POST",
            format!("{}/clone", ct(source)),
            std::iter::once(format!("newid={vmid}")).chain(words(params)),
        ),
        Op::Set {
            vmid,
            params,
            delete,
        } => line(
            "PUT",
            format!("{}/config", ct(vmid)),
            words(params)
                .chain((!delete.is_empty()).then(|| format!("delete={}", delete.join(",")))),
        ),
        Op::Start { vmid } => line(
            "POST",
            format!("{}/status/start", ct(vmid)),
            std::iter::empty(),
        ),
        Op::Snapshot { vmid, name } => line(
            "POST",
            format!("{}/snapshot", ct(vmid)),
            std::iter::once(format!("snapname={name}")),
        ),
        Op::CheckStorage { .. } => "GET /cluster/resources?type=storage".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
