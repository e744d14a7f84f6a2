//! Checks made before any mutating call, on desired and observed state only: what
//! Proxmox would refuse half-way (a clone that cannot have the privilege the config
//! asks for, a snapshot of a container with bind mounts) or what cannot be right
//! whatever phoenix does (one host directory two maps disagree on).

use std::collections::{BTreeMap, BTreeSet};

use phoenix_idmap::{IdKind, IdMap};

use crate::desired::{DesiredCt, Source};
use crate::observe::ObservedCt;
use crate::planner::{UnmappedOwner, owner_on_host};

/// Checks made before anything is changed, on desired and observed state only. Each
/// failure is fatal for that container (and so skips its descendants).
pub fn preflight(
    wanted: &BTreeMap<u32, DesiredCt>,
    observed: &BTreeMap<u32, ObservedCt>,
) -> BTreeMap<u32, String> {
    let mut refused = BTreeMap::new();
    let privilege = |u: bool| if u { "unprivileged" } else { "privileged" };
    let observed_unpriv = |id: u32| {
        observed
            .get(&id)
            .map(|o| o.conf.unprivileged().unwrap_or(false))
    };
    for (id, d) in wanted {
        if let Some(seen) = observed_unpriv(*id)
            && seen != d.unprivileged
        {
            refused.insert(*id, format!(
                "CT {id} exists as {} but the config says {}: Proxmox cannot change `unprivileged` after create (it is read-only); back it up and `pct restore {id} <archive> --unprivileged {}`, or delete it (phoenix delete {id} --yes) and run phoenix again",
                privilege(seen), privilege(d.unprivileged), u8::from(d.unprivileged)
            ));
            continue;
        }
        if let Source::Clone { from, .. } = &d.source {
            let from = from.get();
            if observed.contains_key(id) {
                continue;
            }
            let source =
                observed_unpriv(from).or_else(|| wanted.get(&from).map(|s| s.unprivileged));
            if let Some(src) = source
                && src != d.unprivileged
            {
                {
                    refused.insert(*id, format!(
                        "CT {id} would be cloned from CT {from}, which is {}, but the config says {}: a clone inherits `unprivileged` and Proxmox cannot change it afterwards; make CT {id} {} in the config or clone it from a {} source",
                        privilege(src), privilege(d.unprivileged), privilege(src), privilege(d.unprivileged)
                    ));
                }
            }
        }
    }
    // A clone source is snapshotted (and cloned); Proxmox refuses both with a bind mount.
    let sources: BTreeSet<u32> = wanted
        .values()
        .filter_map(|c| match &c.source {
            Source::Clone { from, .. } => Some(from.get()),
            Source::Template(_) => None,
        })
        .collect();
    for (id, d) in wanted {
        let is_source = sources.contains(id);
        if d.lifecycle_snapshots
            && !is_source
            && d.template_snapshot.is_none()
            && !d.mounts.is_empty()
        {
            let what: Vec<String> = d.mounts.iter().map(|m| m.origin.clone()).collect();
            refused.entry(*id).or_insert_with(|| format!(
                "CT {id} has enable_lifecycle_snapshots but bind mounts ({}): Proxmox refuses to snapshot a container with bind mounts; turn the lifecycle snapshots off or move the data to a storage volume",
                what.join(", ")
            ));
        }
        if (is_source || d.template_snapshot.is_some()) && !d.mounts.is_empty() {
            let what: Vec<String> = d.mounts.iter().map(|m| m.origin.clone()).collect();
            refused.entry(*id).or_insert_with(|| format!(
                "CT {id} is a clone source but has bind mounts ({}): Proxmox refuses to snapshot or clone a container with bind mounts; mount them in the clones instead",
                what.join(", ")
            ));
        }
    }
    // One host directory can have one owner: containers whose maps send the owner to
    // different host ids cannot share it by chown.
    type Owners = Vec<(u32, Result<(u32, u32), UnmappedOwner>)>;
    let mut by_path: BTreeMap<String, Owners> = BTreeMap::new();
    for (id, d) in wanted {
        let map = IdMap::new(d.unprivileged, d.id_maps.clone());
        for m in &d.mounts {
            by_path
                .entry(m.host_path.to_string())
                .or_default()
                .push((*id, owner_on_host(&map, m.owner_uid, m.owner_gid)));
        }
    }
    for (path, users) in by_path {
        let owners: BTreeSet<(u32, u32)> = users.iter().filter_map(|(_, o)| o.ok()).collect();
        if owners.len() > 1 {
            let who: Vec<String> = users
                .iter()
                .filter_map(|(id, o)| {
                    o.as_ref()
                        .ok()
                        .map(|(u, g)| format!("CT {id} needs {u}:{g}"))
                })
                .collect();
            for (id, _) in &users {
                refused.entry(*id).or_insert_with(|| format!(
                    "host directory {path} is shared by containers whose maps disagree ({}); one directory has one owner, so phoenix will not chown it back and forth. Ways out: give the containers id_maps that send the owner to the same host id, or share a group (owner_gid mapped to one host gid, mode 2770), or grant access with POSIX ACLs on the host directory",
                    who.join(", ")
                ));
            }
        }
    }
    refused
}

/// Container ids (0..65536, per kind) that `a` and `b` send to different host ids, as
/// ranges like `u 1000`, `g 1000-1999`.
///
/// Each map sends a run of ids between two of its entries' boundaries (or the id where an
/// entry's host ids would pass `u32::MAX`) to consecutive host ids, or leaves the whole
/// run unmapped: so whether the maps differ is the same for every id of such a run, and
/// one id of each run decides it (a plan of 10,000 containers compares maps 20,000 times).
pub fn differing_ids(a: &IdMap, b: &IdMap) -> Vec<String> {
    const END: u64 = 65536;
    let mut out = Vec::new();
    for kind in [IdKind::Uid, IdKind::Gid] {
        let host = |m: &IdMap, id: u32| {
            if m.is_user_namespaced() {
                m.host_id_of(kind, id)
            } else {
                Some(id)
            }
        };
        let mut cuts: BTreeSet<u64> = BTreeSet::from([0, END]);
        for m in [a, b].into_iter().filter(|m| m.is_user_namespaced()) {
            for e in m.entries().iter().filter(|e| e.kind == kind) {
                let start = u64::from(e.ns_start);
                let overflow = start + (u64::from(u32::MAX) - u64::from(e.host_start)) + 1;
                for cut in [start, start + u64::from(e.count), overflow] {
                    cuts.insert(cut.min(END));
                }
            }
        }
        let cuts: Vec<u64> = cuts.into_iter().collect();
        let t = if kind == IdKind::Uid { "u" } else { "g" };
        let mut push = |s: u64, last: u64| {
            out.push(if s == last {
                format!("{t} {s}")
            } else {
                format!("{t} {s}-{last}")
            });
        };
        let mut start: Option<u64> = None;
        for w in cuts.windows(2) {
            // lo < END, so it fits a u32.
            let lo = w[0];
            let id = u32::try_from(lo).unwrap_or(u32::MAX);
            let differs = host(a, id) != host(b, id);
            match (differs, start) {
                (true, None) => start = Some(lo),
                (false, Some(s)) => {
                    push(s, lo - 1);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            push(s, END - 1);
        }
    }
    out
}

/// What the map of a container can and cannot become.
///
/// Proxmox shifts file owners by a map only when it creates or restores a container:
/// `pct create` extracts with the default map (identity when privileged), and a clone
/// keeps the source's on-disk owners. So the map a container's files were made with is
/// its *creation map*. Giving a container a map other than its creation map leaves the
/// files of the ids that differ owned by the old host ids (they show as `nobody`): phoenix
/// warns when it does so for a container it creates or clones. A container whose conf
/// already holds a third map has run with it and has files under it: that is refused.
pub fn idmap_changes(
    wanted: &BTreeMap<u32, DesiredCt>,
    observed: &BTreeMap<u32, ObservedCt>,
) -> (BTreeMap<u32, String>, BTreeMap<u32, Vec<String>>) {
    let mut refused = BTreeMap::new();
    let mut warnings: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let desired_map = |d: &DesiredCt| IdMap::new(d.unprivileged, d.id_maps.clone());
    for (id, d) in wanted {
        let want = desired_map(d);
        let (creation, made_by) = match &d.source {
            Source::Template(_) => (
                Some(IdMap::new(d.unprivileged, vec![])),
                "pct create extracts the template with Proxmox's default map".to_owned(),
            ),
            Source::Clone { from, .. } => (
                match observed.get(&from.get()) {
                    Some(o) => phoenix_pveconf::idmap::from_conf(&o.conf).ok(),
                    None => wanted.get(&from.get()).map(desired_map),
                },
                format!("a clone keeps the on-disk owners of its source CT {from}"),
            ),
        };
        let seen = observed
            .get(id)
            .and_then(|o| phoenix_pveconf::idmap::from_conf(&o.conf).ok());
        if let Some(seen) = &seen
            && !differing_ids(seen, &want).is_empty()
            && creation
                .as_ref()
                .is_none_or(|c| !differing_ids(seen, c).is_empty())
        {
            refused.insert(*id, format!(
                "CT {id} exists with another idmap than the config's (container ids {} map elsewhere): Proxmox re-owns files only at create or restore, so changing lxc.idmap now would leave them owned by the old host ids; back it up and restore it with the new map, or delete it (phoenix delete {id} --yes) and run phoenix again",
                differing_ids(seen, &want).join(", ")
            ));
            continue;
        }
        let applied = seen
            .as_ref()
            .is_some_and(|s| differing_ids(s, &want).is_empty());
        if let Some(c) = creation
            && !applied
        {
            let diff = differing_ids(&c, &want);
            if !diff.is_empty() {
                warnings.entry(*id).or_default().push(format!(
                    "its idmap differs from the map its files are made with for container ids {} ({made_by}): files owned by those ids will show as nobody",
                    diff.join(", ")
                ));
            }
        }
    }
    (refused, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::desired;
    use crate::testutil::{ct, fleet};
    use phoenix_config::Fleet;
    use phoenix_pveconf::conf::CtConf;

    fn wanted(f: &Fleet) -> BTreeMap<u32, DesiredCt> {
        f.lxc
            .lxc_configs
            .keys()
            .map(|id| {
                (
                    id.get(),
                    desired(
                        f,
                        id.get(),
                        &phoenix_features::Registry::builtin(),
                        &phoenix_features::HostFacts::default(),
                    )
                    .unwrap(),
                )
            })
            .collect()
    }

    fn observed(id: u32, conf: &str) -> BTreeMap<u32, ObservedCt> {
        BTreeMap::from([(
            id,
            ObservedCt {
                conf: CtConf::parse(conf).conf,
                running: false,
                conf_digest: None,
                snapshots: None,
                ledger: None,
            },
        )])
    }

    #[test]
    fn a_clone_of_an_existing_source_with_another_privilege_is_refused() {
        let f = fleet(
            &format!(
                r#"{{"lxc_configs": {{"900": {}, "901": {}}}}}"#,
                ct(
                    r#""template": "local:vztmpl/x.tar.gz", "unprivileged": false, "template_snapshot_name": "s1""#
                ),
                ct(r#""clone_from_ctid": 900, "unprivileged": false"#)
            ),
            "{}",
        );
        let refused = preflight(&wanted(&f), &observed(900, "unprivileged: 1\n"));
        assert!(
            refused[&900]
                .starts_with("CT 900 exists as unprivileged but the config says privileged")
        );
        assert!(refused[&901].starts_with(
            "CT 901 would be cloned from CT 900, which is unprivileged, but the config says privileged"
        ));
    }

    #[test]
    fn a_clone_source_with_a_bind_mount_is_refused() {
        let f = fleet(
            &format!(
                r#"{{"lxc_configs": {{"900": {}}}}}"#,
                ct(
                    r#""template": "local:vztmpl/x.tar.gz", "template_snapshot_name": "s1",
                      "mount_points": [{"host_path": "/srv/x", "container_path": "/x"}]"#
                )
            ),
            "{}",
        );
        let refused = preflight(&wanted(&f), &BTreeMap::new());
        assert!(
            refused[&900].contains("has bind mounts (mount point 0)"),
            "{}",
            refused[&900]
        );
    }

    #[test]
    fn a_directory_two_maps_disagree_on_is_refused_with_the_ways_out() {
        let f = fleet(
            &format!(
                r#"{{"lxc_configs": {{"101": {}, "102": {}}}}}"#,
                ct(r#""template": "local:vztmpl/x.tar.gz""#),
                ct(r#""template": "local:vztmpl/x.tar.gz", "unprivileged": false"#)
            ),
            r#"{"shared_volumes": {"v": {"host_path": "/srv/v", "mounts": {"101": "/v", "102": "/v"}}}}"#,
        );
        let refused = preflight(&wanted(&f), &BTreeMap::new());
        for id in [101, 102] {
            let msg = &refused[&id];
            assert!(
                msg.contains("CT 101 needs 100000:100000, CT 102 needs 0:0"),
                "{msg}"
            );
            assert!(msg.contains("POSIX ACLs"), "{msg}");
        }
    }

    #[test]
    fn a_new_map_on_an_existing_container_is_refused_and_a_clone_with_another_map_warned() {
        let maps = r#""id_maps": [
            {"kind": "u", "container_start": 0, "host_start": 100000, "count": 1000},
            {"kind": "u", "container_start": 1000, "host_start": 1000, "count": 1},
            {"kind": "u", "container_start": 1001, "host_start": 101001, "count": 64535},
            {"kind": "g", "container_start": 0, "host_start": 100000, "count": 65536}]"#;
        let f = fleet(
            &format!(
                r#"{{"lxc_configs": {{"900": {}, "901": {}}}}}"#,
                ct(&format!(
                    r#""template": "local:vztmpl/x.tar.gz", "template_snapshot_name": "s1", {maps}"#
                )),
                ct(r#""clone_from_ctid": 900"#)
            ),
            "{}",
        );
        // 900 exists with a third map: it has run with it, refused.
        let third = "unprivileged: 1\nlxc.idmap: u 0 200000 65536\nlxc.idmap: g 0 200000 65536\n";
        let (refused, _) = idmap_changes(&wanted(&f), &observed(900, third));
        assert!(refused[&900].starts_with(
            "CT 900 exists with another idmap than the config's (container ids u 0-65535, g 0-65535 map elsewhere)"
        ), "{}", refused[&900]);
        // 900 exists as created (default map: phoenix stopped before writing lxc.idmap):
        // the map is applied, with the warning a fresh create gets.
        let (refused, warnings) = idmap_changes(&wanted(&f), &observed(900, "unprivileged: 1\n"));
        assert!(refused.is_empty(), "{refused:?}");
        assert!(warnings[&900][0].starts_with(
            "its idmap differs from the map its files are made with for container ids u 1000 (pct create extracts"
        ), "{:?}", warnings[&900]);
        // The clone of 900 (default map) inherits files owned under 900's map.
        let (_, warnings) = idmap_changes(&wanted(&f), &BTreeMap::new());
        assert!(
            warnings[&901][0].contains(
                "container ids u 1000 (a clone keeps the on-disk owners of its source CT 900)"
            ),
            "{:?}",
            warnings[&901]
        );
        // The same map on both sides: nothing to say.
        let conf = "unprivileged: 1\nlxc.idmap: u 0 100000 1000\nlxc.idmap: u 1000 1000 1\nlxc.idmap: u 1001 101001 64535\nlxc.idmap: g 0 100000 65536\n";
        let f2 = fleet(
            &format!(
                r#"{{"lxc_configs": {{"900": {}}}}}"#,
                ct(&format!(r#""template": "local:vztmpl/x.tar.gz", {maps}"#))
            ),
            "{}",
        );
        assert_eq!(
            idmap_changes(&wanted(&f2), &observed(900, conf)),
            (BTreeMap::new(), BTreeMap::new())
        );
    }

    /// The definition: every id compared.
    fn differing_ids_one_by_one(a: &IdMap, b: &IdMap) -> Vec<String> {
        let mut out = Vec::new();
        for kind in [IdKind::Uid, IdKind::Gid] {
            let host = |m: &IdMap, id: u32| {
                if m.is_user_namespaced() {
                    m.host_id_of(kind, id)
                } else {
                    Some(id)
                }
            };
            let t = if kind == IdKind::Uid { "u" } else { "g" };
            let mut start: Option<u32> = None;
            for id in 0..=65536u32 {
                let differs = id < 65536 && host(a, id) != host(b, id);
                match (differs, start) {
                    (true, None) => start = Some(id),
                    (false, Some(s)) => {
                        out.push(if s + 1 == id {
                            format!("{t} {s}")
                        } else {
                            format!("{t} {s}-{}", id - 1)
                        });
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        out
    }

    #[test]
    fn differing_ids_by_runs_equals_comparing_every_id() {
        use phoenix_idmap::IdMapEntry;
        let e = |kind, ns_start, host_start, count| IdMapEntry {
            kind,
            ns_start,
            host_start,
            count,
        };
        let custom = vec![
            e(IdKind::Uid, 0, 100000, 1000),
            e(IdKind::Uid, 1000, 1000, 1),
            e(IdKind::Uid, 1001, 101001, 64535),
            e(IdKind::Gid, 0, 100000, 65536),
        ];
        let overlapping = vec![
            e(IdKind::Uid, 0, 200000, 500),
            e(IdKind::Uid, 100, 300000, 65436),
            e(IdKind::Gid, 10, u32::MAX - 20, 100),
        ];
        let maps = [
            IdMap::new(true, vec![]),
            IdMap::new(false, vec![]),
            IdMap::new(true, custom),
            IdMap::new(true, overlapping),
            IdMap::new(true, vec![e(IdKind::Uid, 5, 100005, 10)]),
        ];
        for a in &maps {
            for b in &maps {
                assert_eq!(
                    differing_ids(a, b),
                    differing_ids_one_by_one(a, b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn differing_ids_are_ranges_per_kind() {
        let a = IdMap::new(true, vec![]);
        let b = IdMap::new(false, vec![]);
        assert_eq!(differing_ids(&a, &b), ["u 0-65535", "g 0-65535"]);
        assert!(differing_ids(&a, &a).is_empty());
    }

    #[test]
    fn a_consistent_fleet_passes() {
        let f = fleet(
            &format!(
                r#"{{"lxc_configs": {{"900": {}, "901": {}}}}}"#,
                ct(r#""template": "local:vztmpl/x.tar.gz", "template_snapshot_name": "s1""#),
                ct(r#""clone_from_ctid": 900"#)
            ),
            "{}",
        );
        assert!(preflight(&wanted(&f), &observed(900, "unprivileged: 1\n")).is_empty());
    }
}
