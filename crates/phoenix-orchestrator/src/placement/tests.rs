use super::*;

fn n(name: &str) -> NodeName {
    name.parse().unwrap()
}

const GIB: u64 = 1 << 30;

fn load(name: &str, online: bool, mem_gib: u64, maxmem_gib: u64) -> NodeLoad {
    NodeLoad {
        node: n(name),
        online,
        mem: mem_gib * GIB,
        maxmem: maxmem_gib * GIB,
        cpu: 0.1,
        maxcpu: 8,
    }
}

fn new(vmid: u32) -> GuestWant {
    GuestWant {
        vmid,
        node: None,
        existing: None,
        clone_of: None,
        storage: Some("local".into()),
        memory_mb: None,
    }
}

fn two() -> Vec<NodeLoad> {
    vec![load("pve1", true, 8, 32), load("pve2", true, 4, 32)]
}

fn run(
    guests: &[GuestWant],
    nodes: &[NodeLoad],
    policy: Policy,
) -> Result<Vec<(u32, String)>, Vec<String>> {
    run_shared(guests, nodes, &[], policy)
}

fn run_shared(
    guests: &[GuestWant],
    nodes: &[NodeLoad],
    shared: &[&str],
    policy: Policy,
) -> Result<Vec<(u32, String)>, Vec<String>> {
    let shared: BTreeSet<String> = shared.iter().map(|s| (*s).to_owned()).collect();
    place(guests, nodes, &shared, policy, &n("pve1"))
        .map(|m| m.into_iter().map(|(k, v)| (k, v.to_string())).collect())
        .map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
}

fn on(list: &[(u32, &str)]) -> Result<Vec<(u32, String)>, Vec<String>> {
    Ok(list.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
}

#[test]
fn an_existing_guest_stays_where_it_is() {
    let g = GuestWant {
        existing: Some(n("pve2")),
        ..new(101)
    };
    assert_eq!(
        run(std::slice::from_ref(&g), &two(), Policy::Local),
        on(&[(101, "pve2")])
    );
    let named = GuestWant {
        node: Some(n("pve2")),
        ..g
    };
    assert_eq!(run(&[named], &two(), Policy::Local), on(&[(101, "pve2")]));
}

#[test]
fn an_existing_guest_whose_config_names_another_node_is_refused() {
    let g = GuestWant {
        existing: Some(n("pve2")),
        node: Some(n("pve1")),
        ..new(101)
    };
    assert_eq!(
        run(&[g], &two(), Policy::Local),
        Err(vec![
            "CT 101 is on pve2 but its config says pve1: phoenix does not migrate guests (pct migrate / qm migrate first)".to_owned()
        ])
    );
}

#[test]
fn an_explicit_node_must_exist_and_be_online() {
    let nodes = vec![load("pve1", true, 8, 32), load("pve2", false, 0, 32)];
    let to = |node: &str| GuestWant {
        node: Some(n(node)),
        ..new(101)
    };
    assert_eq!(
        run(&[to("pve1")], &nodes, Policy::LeastLoaded),
        on(&[(101, "pve1")])
    );
    assert_eq!(
        run(&[to("pve2")], &nodes, Policy::Local),
        Err(vec![
            "CT 101 cannot be placed on pve2: the node is not online".to_owned()
        ])
    );
    assert_eq!(
        run(&[to("pve9")], &nodes, Policy::Local),
        Err(vec![
            "CT 101 cannot be placed on pve9: the cluster has no such node".to_owned()
        ])
    );
}

#[test]
fn local_puts_new_guests_on_the_local_node() {
    assert_eq!(
        run(&[new(101), new(102)], &two(), Policy::Local),
        on(&[(101, "pve1"), (102, "pve1")])
    );
    let offline = vec![load("pve1", false, 0, 32), load("pve2", true, 0, 32)];
    assert_eq!(
        run(&[new(101)], &offline, Policy::Local),
        Err(vec![
            "CT 101 cannot be placed on pve1: the node is not online".to_owned()
        ])
    );
}

#[test]
fn least_loaded_counts_the_guests_placed_in_this_run() {
    // pve1 8 of 32 GiB (25%), pve2 4 of 32 (12.5%): 4 GiB guests go to pve2 until it is
    // as full as pve1 (8 GiB: a tie goes to pve1 by name), then alternate.
    let guests: Vec<GuestWant> = (101..=104)
        .map(|id| GuestWant {
            memory_mb: Some(4096),
            ..new(id)
        })
        .collect();
    assert_eq!(
        run(&guests, &two(), Policy::LeastLoaded),
        on(&[(101, "pve2"), (102, "pve1"), (103, "pve2"), (104, "pve1")])
    );
    // Unknown memory counts 512 MiB: eight of them fill pve2's 4 GiB gap, the ninth
    // (a tie) goes to pve1.
    let small: Vec<GuestWant> = (101..=109).map(new).collect();
    let placed = run(&small, &two(), Policy::LeastLoaded).unwrap();
    assert!(placed[..8].iter().all(|(_, n)| n == "pve2"), "{placed:?}");
    assert_eq!(placed[8], (109, "pve1".to_owned()));
}

#[test]
fn least_loaded_compares_shares_not_bytes_and_skips_offline_nodes() {
    let nodes = vec![
        load("pve1", true, 16, 128), // 12.5%
        load("pve2", true, 4, 16),   // 25%
        load("pve3", false, 0, 128),
    ];
    assert_eq!(
        run(&[new(101)], &nodes, Policy::LeastLoaded),
        on(&[(101, "pve1")])
    );
    let none = vec![load("pve1", false, 0, 32)];
    assert_eq!(
        run(&[new(101)], &none, Policy::LeastLoaded),
        Err(vec![
            "CT 101 cannot be placed: no node of the cluster is online".to_owned()
        ])
    );
}

#[test]
fn ties_go_to_the_first_name() {
    let nodes = vec![load("pve2", true, 4, 32), load("pve1", true, 4, 32)];
    assert_eq!(
        run(&[new(101)], &nodes, Policy::LeastLoaded),
        on(&[(101, "pve1")])
    );
}

#[test]
fn a_clone_follows_its_source_unless_the_storage_is_shared() {
    let source = GuestWant {
        existing: Some(n("pve2")),
        ..new(100)
    };
    let clone = GuestWant {
        clone_of: Some(100),
        ..new(102)
    };
    // Local storage: with the source, whatever the policy says.
    assert_eq!(
        run(&[source.clone(), clone.clone()], &two(), Policy::Local),
        on(&[(100, "pve2"), (102, "pve2")])
    );
    // Shared storage: placed by the policy (a clone with `target`).
    assert_eq!(
        run_shared(&[source, clone], &two(), &["local"], Policy::Local),
        on(&[(100, "pve2"), (102, "pve1")])
    );
}

#[test]
fn a_clone_of_a_new_source_is_placed_after_it() {
    // 102 clones 150, which is new: 150 is placed first (least-loaded: pve2), 102
    // follows it although its id is smaller.
    let source = GuestWant {
        memory_mb: Some(1024),
        ..new(150)
    };
    let clone = GuestWant {
        clone_of: Some(150),
        ..new(102)
    };
    assert_eq!(
        run(&[clone, source], &two(), Policy::LeastLoaded),
        on(&[(102, "pve2"), (150, "pve2")])
    );
}

#[test]
fn a_clone_named_onto_another_node_from_local_storage_is_refused() {
    let source = GuestWant {
        existing: Some(n("pve1")),
        ..new(100)
    };
    let clone = GuestWant {
        clone_of: Some(100),
        node: Some(n("pve2")),
        ..new(102)
    };
    assert_eq!(
        run(&[source.clone(), clone.clone()], &two(), Policy::Local),
        Err(vec![
            "CT 102 (clone of 100) cannot be placed on pve2: storage local of CT 100 is not shared; put it on pve1 or use shared storage".to_owned()
        ])
    );
    assert_eq!(
        run_shared(&[source, clone], &two(), &["local"], Policy::Local),
        on(&[(100, "pve1"), (102, "pve2")])
    );
}

#[test]
fn a_clone_of_a_source_that_cannot_be_placed_or_is_missing_is_refused() {
    let source = GuestWant {
        node: Some(n("pve9")),
        ..new(100)
    };
    let clone = GuestWant {
        clone_of: Some(100),
        ..new(102)
    };
    assert_eq!(
        run(&[source, clone.clone()], &two(), Policy::Local),
        Err(vec![
            "CT 100 cannot be placed on pve9: the cluster has no such node".to_owned(),
            "CT 102 (clone of 100) cannot be placed: CT 100 could not be placed".to_owned(),
        ])
    );
    assert_eq!(
        run(&[clone], &two(), Policy::Local),
        Err(vec![
            "CT 102 (clone of 100) cannot be placed: CT 100 is not in this run, so its node is not known".to_owned()
        ])
    );
}

#[test]
fn the_same_input_places_the_same_way_in_any_order() {
    let mut guests: Vec<GuestWant> = (101..=120).map(new).collect();
    let first = run(&guests, &two(), Policy::LeastLoaded);
    guests.reverse();
    assert_eq!(run(&guests, &two(), Policy::LeastLoaded), first);
}

#[test]
fn an_unknown_storage_is_not_shared() {
    let e = PlacementError::CloneAcross {
        vmid: 102,
        clone_of: 100,
        target: n("pve2"),
        source_node: n("pve1"),
        storage: None,
    };
    assert_eq!(
        e.to_string(),
        "CT 102 (clone of 100) cannot be placed on pve2: storage (unknown) of CT 100 is not shared; put it on pve1 or use shared storage"
    );
    assert_eq!(Policy::LeastLoaded.to_string(), "least-loaded");
}
