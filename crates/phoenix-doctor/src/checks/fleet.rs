//! Facts judged against what the fleet needs: storage pools, bridges, and root's
//! subordinate id ranges.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_config::Fleet;
use phoenix_idmap::subid::SubIdFile;
use phoenix_idmap::{IdKind, IdMap};
use phoenix_pct::StorageState;

use crate::facts::HostFacts;
use crate::report::{Check, Verdict};

/// What a fleet asks of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetNeeds {
    /// Where the config came from.
    pub dir: String,
    /// Number of containers.
    pub containers: usize,
    /// Storage pools the containers' rootfs live on, with the ids that use them.
    pub pools: BTreeMap<String, Vec<u32>>,
    /// Bridges the containers' NICs attach to, with the ids that use them.
    pub bridges: BTreeMap<String, Vec<u32>>,
    /// Host uid ranges `(start, count)` root must hold in `/etc/subuid`.
    pub subuid: BTreeSet<(u32, u32)>,
    /// Host gid ranges root must hold in `/etc/subgid`.
    pub subgid: BTreeSet<(u32, u32)>,
}

impl FleetNeeds {
    /// The needs of `fleet`, read from `dir`. Every user-namespaced map (Proxmox's
    /// default `0 100000 65536` for an unprivileged container without explicit maps)
    /// needs its host ranges delegated to root: LXC maps them through newuidmap.
    pub fn of(fleet: &Fleet, dir: &str) -> Self {
        let mut n = FleetNeeds {
            dir: dir.to_owned(),
            containers: fleet.lxc.lxc_configs.len(),
            ..Default::default()
        };
        for (id, ct) in &fleet.lxc.lxc_configs {
            let id: u32 = id.to_string().parse().unwrap_or(0);
            n.pools
                .entry(ct.storage_pool.as_str().to_owned())
                .or_default()
                .push(id);
            n.bridges
                .entry(ct.network_config.bridge.as_str().to_owned())
                .or_default()
                .push(id);
            let map = IdMap::new(
                ct.unprivileged,
                ct.id_maps.iter().map(|m| m.to_entry()).collect(),
            );
            if !map.is_user_namespaced() {
                continue;
            }
            for e in map.entries() {
                let set = if e.kind == IdKind::Uid {
                    &mut n.subuid
                } else {
                    &mut n.subgid
                };
                set.insert((e.host_start, e.count));
            }
        }
        n
    }
}

fn ids(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// `storage.cfg` (under the root): each storage's id, type and content types.
pub fn parse_storage_cfg(text: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            current = line.split_once(':').map(|(t, id)| {
                let id = id.trim().to_owned();
                out.insert(id.clone(), (t.trim().to_owned(), vec![]));
                id
            });
        } else if let (Some(id), Some(rest)) = (&current, line.trim().strip_prefix("content "))
            && let Some(e) = out.get_mut(id)
        {
            e.1 = rest.split(',').map(|s| s.trim().to_owned()).collect();
        }
    }
    out
}

/// `pvesm status` through phoenix-pct and `/etc/pve/storage.cfg`: every pool with its
/// state and content types; the fleet's pools must exist, be active and hold `rootdir`.
pub fn storage(h: &dyn HostFacts, needs: Option<&FleetNeeds>) -> (Check, bool) {
    let cfg = h
        .read_file("/etc/pve/storage.cfg")
        .map(|t| parse_storage_cfg(&t))
        .unwrap_or_default();
    let status = match h.pvesm_status() {
        Ok(s) => s,
        Err(e) => {
            let zfs = cfg.values().any(|(t, _)| t == "zfspool");
            return (
                Check::new(
                    "storage",
                    Verdict::Fail,
                    "unknown",
                    format!("pvesm status: {e}"),
                ),
                zfs,
            );
        }
    };
    let zfs_used = status.iter().any(|s| s.storage_type == "zfspool");
    let value = status
        .iter()
        .map(|s| {
            let content = cfg
                .get(&s.name)
                .map(|(_, c)| c.join(","))
                .unwrap_or_default();
            format!(
                "{} ({}, {}, {})",
                s.name,
                s.storage_type,
                s.state,
                if content.is_empty() {
                    "not in storage.cfg"
                } else {
                    &content
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut problems = vec![];
    let mut verdict = Verdict::Ok;
    if let Some(n) = needs {
        for (pool, cts) in &n.pools {
            match status.iter().find(|s| &s.name == pool) {
                None => problems.push(format!("pool '{pool}' of CT {} does not exist", ids(cts))),
                Some(s) if s.state != StorageState::Active => {
                    problems.push(format!("pool '{pool}' of CT {} is {}", ids(cts), s.state))
                }
                Some(_) => match cfg.get(pool) {
                    Some((_, content)) if !content.iter().any(|c| c == "rootdir") => problems.push(
                        format!("pool '{pool}' of CT {} does not hold container volumes (content has no rootdir)", ids(cts)),
                    ),
                    _ => {}
                },
            }
        }
        if !problems.is_empty() {
            verdict = Verdict::Fail;
        }
    } else if let Some(s) = status.iter().find(|s| s.state != StorageState::Active) {
        verdict = Verdict::Warn;
        problems.push(format!("pool '{}' is {}", s.name, s.state));
    }
    if status.is_empty() {
        verdict = verdict.max(Verdict::Warn);
        problems.push("no storage pool".into());
    }
    let reason = if problems.is_empty() {
        match needs {
            Some(n) => format!(
                "every pool the fleet uses is active and holds rootdir ({})",
                n.pools.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => "every pool is active".into(),
        }
    } else {
        problems.join("; ")
    };
    (Check::new("storage", verdict, value, reason), zfs_used)
}

/// Linux bridges (`/sys/class/net/*/bridge`); every bridge the fleet's NICs name must
/// exist, or `pct start` fails with `bridge '<name>' does not exist`.
pub fn bridges(h: &dyn HostFacts, needs: Option<&FleetNeeds>) -> Check {
    let found: Vec<String> = h
        .list_dir("/sys/class/net")
        .into_iter()
        .filter(|n| h.exists(&format!("/sys/class/net/{n}/bridge")))
        .collect();
    let value = if found.is_empty() {
        "none".to_owned()
    } else {
        found.join(", ")
    };
    match needs {
        Some(n) => {
            let missing: Vec<String> = n
                .bridges
                .iter()
                .filter(|(b, _)| !found.contains(b))
                .map(|(b, cts)| format!("'{b}' (CT {})", ids(cts)))
                .collect();
            if missing.is_empty() {
                Check::new(
                    "bridges",
                    Verdict::Ok,
                    value,
                    "every bridge the fleet uses exists",
                )
            } else {
                Check::new(
                    "bridges",
                    Verdict::Fail,
                    value,
                    format!(
                        "missing {}: pct start fails with \"bridge '<name>' does not exist\"",
                        missing.join(", ")
                    ),
                )
            }
        }
        None if found.is_empty() => Check::new(
            "bridges",
            Verdict::Warn,
            value,
            "no Linux bridge: containers with a NIC cannot start",
        ),
        None => Check::new("bridges", Verdict::Ok, value, "Linux bridges present"),
    }
}

/// A subordinate id file doctor cannot read as one.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {parse}")]
struct UnreadableSubIds {
    /// `/etc/subuid` or `/etc/subgid`.
    file: String,
    /// Why it does not parse (quoted in the message, so not a `source`).
    parse: phoenix_idmap::subid::SubIdParseError,
}

fn subid_one(
    h: &dyn HostFacts,
    file: &str,
    needed: &BTreeSet<(u32, u32)>,
) -> Result<(String, Vec<String>), UnreadableSubIds> {
    let parsed = match h.read_file(file) {
        Some(t) => SubIdFile::parse(&t).map_err(|parse| UnreadableSubIds {
            file: file.to_owned(),
            parse,
        })?,
        None => SubIdFile::default(),
    };
    let have: Vec<String> = parsed
        .entries()
        .filter(|e| e.user == "root")
        .map(|e| format!("{}:{}", e.start, e.count))
        .collect();
    // The host ids no root range covers, merged, so overlapping needs print once.
    let mut gaps: Vec<(u64, u64)> = needed
        .iter()
        .flat_map(|(s, c)| parsed.uncovered_host_ids("root", *s, *c))
        .collect();
    gaps.sort();
    let mut merged: Vec<(u64, u64)> = vec![];
    for (s, e) in gaps {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let missing = merged
        .iter()
        .map(|(s, e)| format!("{file} root:{s}:{}", e - s))
        .collect();
    Ok((
        if have.is_empty() {
            "none".into()
        } else {
            have.join(" ")
        },
        missing,
    ))
}

/// Root's ranges in `/etc/subuid` and `/etc/subgid` (phoenix-idmap's parser) against the
/// fleet's maps, or Proxmox's default range without a fleet.
pub fn subid(h: &dyn HostFacts, needs: Option<&FleetNeeds>) -> Check {
    let default: BTreeSet<(u32, u32)> = [(100_000, 65_536)].into();
    let (u, g) = match needs {
        Some(n) => (&n.subuid, &n.subgid),
        None => (&default, &default),
    };
    match (
        subid_one(h, "/etc/subuid", u),
        subid_one(h, "/etc/subgid", g),
    ) {
        (Ok((hu, mu)), Ok((hg, mg))) => {
            let value = format!("subuid {hu}; subgid {hg}");
            let missing: Vec<String> = mu.into_iter().chain(mg).collect();
            let what = if needs.is_some() {
                "the fleet's maps"
            } else {
                "Proxmox's default map"
            };
            if missing.is_empty() {
                Check::new(
                    "subid",
                    Verdict::Ok,
                    value,
                    format!("root's ranges cover {what}"),
                )
            } else {
                Check::new(
                    "subid",
                    Verdict::Warn,
                    value,
                    format!("{what} need {} (phoenix up adds them)", missing.join(", ")),
                )
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            Check::new("subid", Verdict::Fail, "unreadable", e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_subid_file_names_itself() {
        let parse = SubIdFile::parse("root:x:1\n").unwrap_err();
        let e = UnreadableSubIds {
            file: "/etc/subuid".into(),
            parse,
        };
        assert!(e.to_string().starts_with("/etc/subuid: "), "{e}");
    }

    #[test]
    fn storage_cfg_sections_and_content() {
        let cfg = parse_storage_cfg(
            "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n",
        );
        assert_eq!(
            cfg["local"],
            (
                "dir".into(),
                vec!["iso".into(), "vztmpl".into(), "backup".into()]
            )
        );
        assert_eq!(cfg["local-zfs"].1, ["images", "rootdir"]);
    }
}
