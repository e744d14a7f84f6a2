//! The planner: complete maps from intents, their delegations, and refused intents.

use phoenix_idmap::idmap::Delegations;
use phoenix_idmap::idmap::{IdMapPlan, MapIntent, PlanError, plan};
use phoenix_idmap::subid::{SubIdEntry, SubIdFile};
use phoenix_idmap::{IdKind, IdMap, IdMapWarning, validate_entries};
use proptest::prelude::*;

fn intents(specs: &[&str]) -> Vec<MapIntent> {
    specs.iter().map(|s| s.parse().unwrap()).collect()
}

fn render(p: &IdMapPlan) -> String {
    let mut out = String::new();
    for e in &p.entries {
        out.push_str(&format!("lxc.idmap: {e}\n"));
    }
    for d in &p.subuid {
        out.push_str(&format!("subuid {d}\n"));
    }
    for d in &p.subgid {
        out.push_str(&format!("subgid {d}\n"));
    }
    out
}

/// Every container id 0..65535 of each kind is mapped by exactly one entry.
fn assert_complete(p: &IdMapPlan) {
    for kind in IdKind::ALL {
        let mut seen = vec![0u8; 65536];
        for e in p.entries.iter().filter(|e| e.kind == kind) {
            for id in e.ns_start..e.ns_start.saturating_add(e.count) {
                if let Some(slot) = seen.get_mut(id as usize) {
                    *slot += 1;
                }
            }
        }
        assert!(
            seen.iter().all(|&n| n == 1),
            "{kind:?} not mapped exactly once"
        );
    }
}

#[test]
fn no_intent_gives_the_proxmox_default() {
    let p = plan(&[]).unwrap();
    assert_eq!(
        p.conf_lines(),
        ["lxc.idmap: u 0 100000 65536", "lxc.idmap: g 0 100000 65536"]
    );
    insta::assert_snapshot!(render(&p), @r"
    lxc.idmap: u 0 100000 65536
    lxc.idmap: g 0 100000 65536
    subuid root:100000:65536
    subgid root:100000:65536
    ");
}

#[test]
fn one_shared_user_for_both_kinds() {
    let p = plan(&intents(&["b:1000:1000:1"])).unwrap();
    assert_complete(&p);
    insta::assert_snapshot!(render(&p), @r"
    lxc.idmap: u 0 100000 1000
    lxc.idmap: u 1000 1000 1
    lxc.idmap: u 1001 101001 64535
    lxc.idmap: g 0 100000 1000
    lxc.idmap: g 1000 1000 1
    lxc.idmap: g 1001 101001 64535
    subuid root:1000:1
    subuid root:100000:65536
    subgid root:1000:1
    subgid root:100000:65536
    ");
}

#[test]
fn separate_kinds_ranges_and_edges() {
    // uid 0 and the last id, a range of gids, and a uid shared with a different host id.
    let p = plan(&intents(&[
        "u:0:5000:1",
        "u:65535:7000:1",
        "g:33:33:2",
        "u:1000:2000:10",
    ]))
    .unwrap();
    assert_complete(&p);
    validate_entries(&p.entries).unwrap();
    insta::assert_snapshot!(render(&p), @r"
    lxc.idmap: u 0 5000 1
    lxc.idmap: u 1 100001 999
    lxc.idmap: u 1000 2000 10
    lxc.idmap: u 1010 101010 64525
    lxc.idmap: u 65535 7000 1
    lxc.idmap: g 0 100000 33
    lxc.idmap: g 33 33 2
    lxc.idmap: g 35 100035 65501
    subuid root:2000:10
    subuid root:5000:1
    subuid root:7000:1
    subuid root:100000:65536
    subgid root:33:2
    subgid root:100000:65536
    ");
}

#[test]
fn intents_inside_the_default_range_need_no_extra_delegation() {
    // Container uids 5 and 6 swap host ids; both stay inside 100000..165535.
    let p = plan(&intents(&["u:5:100006:1", "u:6:100005:1"])).unwrap();
    assert_complete(&p);
    validate_entries(&p.entries).unwrap();
    assert_eq!(
        p.subuid.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["root:100000:65536"]
    );
}

#[test]
fn conflicting_intents_name_both() {
    let err = plan(&intents(&["u:1000:1000:10", "b:1005:3000:1"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "map 'b:1005:3000:1' conflicts with 'u:1000:1000:10': container uid 1005 is in both"
    );
    let err = plan(&intents(&["g:10:5000:1", "g:20:5000:1"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "map 'g:20:5000:1' conflicts with 'g:10:5000:1': host gid 5000 is in both"
    );
    assert!(matches!(err, PlanError::Conflict { .. }));
    // Different kinds never conflict.
    assert!(plan(&intents(&["u:10:5000:1", "g:10:5000:1"])).is_ok());
}

#[test]
fn an_intent_may_not_take_a_default_host_id_still_in_use() {
    let err = plan(&intents(&["u:0:100005:1"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "map 'u:0:100005:1' uses host uid 100005, which the default range gives container uid 5"
    );
}

#[test]
fn intent_syntax_errors_read_well() {
    let cases = [
        (
            "x:1:1:1",
            "invalid map 'x:1:1:1': expected [ugb]:<container id>:<host id>:<count>",
        ),
        (
            "u:1:1",
            "invalid map 'u:1:1': expected [ugb]:<container id>:<host id>:<count>",
        ),
        (
            "u:1:-1:1",
            "invalid map 'u:1:-1:1': expected [ugb]:<container id>:<host id>:<count>",
        ),
        (
            "u 1 1 1",
            "invalid map 'u 1 1 1': expected [ugb]:<container id>:<host id>:<count>",
        ),
        ("b:1:1:0", "invalid map 'b:1:1:0': count must be at least 1"),
        (
            "u:4294967295:1:2",
            "invalid map 'u:4294967295:1:2': the range runs past the largest id 4294967295",
        ),
    ];
    for (text, msg) in cases {
        assert_eq!(text.parse::<MapIntent>().unwrap_err().to_string(), msg);
    }
}

fn intent_strategy() -> impl Strategy<Value = MapIntent> {
    (
        prop_oneof!["u", "g", "b"],
        0u32..70_000,
        prop_oneof![
            0u32..70_000,
            100_000u32..170_000,
            4_000_000_000u32..4_000_100_000
        ],
        1u32..3000,
    )
        .prop_map(|(k, ns, host, count)| format!("{k}:{ns}:{host}:{count}").parse().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the intents, the planner either refuses them or produces a map that
    /// passes Proxmox's validation and maps every container id 0..65535 exactly once,
    /// keeping each intent.
    #[test]
    fn planner_output_is_valid_and_complete(specs in proptest::collection::vec(intent_strategy(), 0..4)) {
        if let Ok(p) = plan(&specs) {
            prop_assert!(validate_entries(&p.entries).is_ok());
            assert_complete(&p);
            for i in &specs {
                for kind in IdKind::ALL {
                    let covered = p.entries.iter().any(|e| e.kind == kind
                        && e.ns_start == i.ns_start && e.host_start == i.host_start && e.count == i.count);
                    let wanted = match i.kind {
                        phoenix_idmap::idmap::IntentKind::Uid => kind == IdKind::Uid,
                        phoenix_idmap::idmap::IntentKind::Gid => kind == IdKind::Gid,
                        phoenix_idmap::idmap::IntentKind::Both => true,
                    };
                    prop_assert_eq!(covered, wanted);
                }
            }
        }
    }
}

/// Intents that cannot clash: each takes its own slot of container and host ids below
/// the default range (or, for `in_default`, its own default host ids).
fn disjoint_intents() -> impl Strategy<Value = Vec<MapIntent>> {
    proptest::collection::vec(
        (
            prop_oneof!["u", "g", "b"],
            0u32..4000,
            1u32..1000,
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|slots| {
        slots
            .into_iter()
            .enumerate()
            .map(|(i, (k, offset, count, in_default))| {
                let ns = i as u32 * 8000 + offset;
                let host = if in_default {
                    100_000 + ns
                } else {
                    i as u32 * 5000 + offset % 3000
                };
                format!("{k}:{ns}:{host}:{count}").parse().unwrap()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn disjoint_intents_always_plan(specs in disjoint_intents()) {
        let p = plan(&specs).unwrap();
        prop_assert!(validate_entries(&p.entries).is_ok());
        assert_complete(&p);
        for d in p.subuid.iter().chain(&p.subgid) {
            prop_assert_eq!(d.user.as_str(), "root");
        }
        // The delegations cover every host range, and the map passes phoenix's checks.
        let lines = |ds: &[SubIdEntry]| ds.iter().map(|d| format!("{d}\n")).collect::<String>();
        let subuid = SubIdFile::parse(&lines(&p.subuid)).unwrap();
        let subgid = SubIdFile::parse(&lines(&p.subgid)).unwrap();
        let map = IdMap::new(true, p.entries.clone());
        for w in map.warnings(Some(Delegations { subuid: &subuid, subgid: &subgid })) {
            prop_assert!(matches!(w, IdMapWarning::HostRootMapped { .. }), "{}", w);
        }
    }
}
