//! The effective map, root's host ids and per-id mapping (reference §4).

use phoenix_idmap::idmap::IdMapSource;
use phoenix_idmap::{IdKind, IdMap, IdMapEntry};

fn entries(lines: &[&str]) -> Vec<IdMapEntry> {
    lines.iter().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn unprivileged_without_entries_gets_the_hard_coded_default() {
    let map = IdMap::new(true, Vec::new());
    assert_eq!(map.source(), IdMapSource::UnprivilegedDefault);
    assert_eq!(
        map.entries(),
        entries(&["u 0 100000 65536", "g 0 100000 65536"])
    );
    assert_eq!((map.root_host_uid(), map.root_host_gid()), (100000, 100000));
    assert!(map.is_user_namespaced());
}

#[test]
fn privileged_without_entries_is_identity_with_root_zero() {
    let map = IdMap::new(false, Vec::new());
    assert_eq!(map.source(), IdMapSource::Privileged);
    assert!(map.entries().is_empty());
    assert_eq!((map.root_host_uid(), map.root_host_gid()), (0, 0));
    assert_eq!(map.host_uid_of(1000), Some(1000));
    assert_eq!(map.ct_gid_of(33), Some(33));
    assert!(!map.is_user_namespaced());
}

#[test]
fn explicit_entries_drop_the_default_completely() {
    let map = IdMap::new(true, entries(&["u 0 200000 65536"]));
    assert_eq!(map.source(), IdMapSource::Explicit);
    assert_eq!(map.entries(), entries(&["u 0 200000 65536"]));
    // No gid map at all, not the default one.
    assert_eq!(map.host_gid_of(0), None);
    assert_eq!(map.root_host_gid(), 0);
    assert_eq!(map.root_host_uid(), 200000);
}

#[test]
fn explicit_entries_apply_without_the_flag() {
    let map = IdMap::new(false, entries(&["u 0 100000 65536", "g 0 100000 65536"]));
    assert_eq!(map.source(), IdMapSource::Explicit);
    assert!(map.is_user_namespaced());
    assert_eq!(map.root_host_uid(), 100000);
    assert_eq!(map.host_uid_of(5), Some(100005));
}

#[test]
fn root_stays_zero_when_no_entry_starts_at_container_zero() {
    // 0 is covered by the first entry, but Proxmox only looks at entries starting at 0.
    let map = IdMap::new(true, entries(&["u 1 100001 65535", "g 1 100001 65535"]));
    assert_eq!((map.root_host_uid(), map.root_host_gid()), (0, 0));
}

#[test]
fn root_is_the_host_start_of_the_entry_at_container_zero() {
    let map = IdMap::new(true, entries(&["u 0 300000 1000", "g 0 400000 1000"]));
    assert_eq!((map.root_host_uid(), map.root_host_gid()), (300000, 400000));
}

#[test]
fn with_duplicate_root_entries_the_last_wins_as_proxmox_overwrites() {
    let map = IdMap::new(true, entries(&["u 0 300000 1", "u 0 500000 1"]));
    assert_eq!(map.root_host_uid(), 500000);
}

#[test]
fn per_id_mapping_uses_the_first_matching_entry() {
    // Overlapping (invalid) entries: the first one in file order decides.
    let map = IdMap::new(true, entries(&["u 0 100000 65536", "u 1000 1000 1"]));
    assert_eq!(map.host_uid_of(1000), Some(101000));
    let map = IdMap::new(true, entries(&["u 1000 1000 1", "u 0 100000 65536"]));
    assert_eq!(map.host_uid_of(1000), Some(1000));
    assert_eq!(map.ct_uid_of(1000), Some(1000));
    assert_eq!(map.ct_uid_of(101000), Some(1000));
}

#[test]
fn unmapped_ids_are_none_strictly_and_unchanged_for_proxmox() {
    let map = IdMap::new(true, entries(&["u 0 100000 1000", "g 0 100000 1000"]));
    assert_eq!(map.host_uid_of(5000), None);
    assert_eq!(map.host_uid_of_or_unchanged(5000), 5000);
    assert_eq!(map.host_gid_of(5000), None);
    assert_eq!(map.host_gid_of_or_unchanged(5000), 5000);
    assert_eq!(map.ct_uid_of(7), None);
    assert_eq!(map.ct_uid_of_or_unchanged(7), 7);
    assert_eq!(map.ct_gid_of(7), None);
    assert_eq!(map.ct_gid_of_or_unchanged(7), 7);
    assert_eq!(map.host_uid_of_or_unchanged(999), 100999);
    assert_eq!(map.ct_gid_of_or_unchanged(100999), 999);
    assert_eq!(map.host_id_of(IdKind::Gid, 999), Some(100999));
}

#[test]
fn kinds_do_not_mix() {
    let map = IdMap::new(true, entries(&["u 0 100000 65536", "g 0 200000 65536"]));
    assert_eq!(map.host_uid_of(1), Some(100001));
    assert_eq!(map.host_gid_of(1), Some(200001));
    assert_eq!(map.ct_gid_of(100001), None);
}

#[test]
fn from_lxc_values_fails_with_proxmox_message_on_a_bad_value() {
    let err = IdMap::from_lxc_values(true, ["u 0 100000 65536", "u 0 100000"]).unwrap_err();
    assert_eq!(err.to_string(), "failed to parse idmap: u 0 100000");
    let map = IdMap::from_lxc_values(false, ["g 0 100000 65536"]).unwrap();
    assert_eq!(map.root_host_gid(), 100000);
    let map = IdMap::from_lxc_values(true, []).unwrap();
    assert_eq!(map.source(), IdMapSource::UnprivilegedDefault);
}

#[test]
fn validate_runs_proxmox_rules_on_the_effective_entries() {
    assert!(IdMap::new(true, Vec::new()).validate().is_ok());
    let map = IdMap::new(true, entries(&["g 0 100000 65536", "g 0 100000 65536"]));
    assert_eq!(
        map.validate().unwrap_err().to_string(),
        "invalid map entry 'g 0 100000 65536': container gid 0 is also mapped by entry 'g 0 100000 65536'"
    );
}

#[test]
fn sources_describe_themselves() {
    let names: Vec<String> = [
        IdMapSource::Explicit,
        IdMapSource::UnprivilegedDefault,
        IdMapSource::Privileged,
    ]
    .iter()
    .map(|s| format!("{} = {s}", s.name()))
    .collect();
    assert_eq!(
        names,
        [
            "explicit = explicit lxc.idmap entries",
            "default = proxmox's default map (unprivileged, no lxc.idmap entries)",
            "privileged = no map (privileged, no lxc.idmap entries)",
        ]
    );
}
