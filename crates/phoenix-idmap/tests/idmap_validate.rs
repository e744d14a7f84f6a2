//! Every rule of Proxmox's idmap validation (reference §4 "Validation"), one test each.

use phoenix_idmap::idmap::Side;
use phoenix_idmap::{IdMapEntry, IdMapError, validate_entries};

fn entries(lines: &[&str]) -> Vec<IdMapEntry> {
    lines.iter().map(|l| l.parse().unwrap()).collect()
}

fn message(lines: &[&str]) -> Option<String> {
    validate_entries(&entries(lines))
        .err()
        .map(|e| e.to_string())
}

#[test]
fn container_uid_overlap_uses_proxmox_message() {
    assert_eq!(
        message(&["u 0 100000 65536", "u 1005 1005 1"]).as_deref(),
        Some(
            "invalid map entry 'u 1005 1005 1': container uid 1005 is also mapped by entry 'u 0 100000 65536'"
        )
    );
}

#[test]
fn host_uid_overlap_is_found_after_container_side_passes() {
    // Container ranges are disjoint; host ranges overlap at 100500.
    assert_eq!(
        message(&["u 0 100000 1000", "u 1000 100500 10"]).as_deref(),
        Some(
            "invalid map entry 'u 1000 100500 10': host uid 100500 is also mapped by entry 'u 0 100000 1000'"
        )
    );
}

#[test]
fn gid_overlaps_read_gid() {
    assert_eq!(
        message(&["g 0 100000 65536", "g 1000 1000 1"]).as_deref(),
        Some(
            "invalid map entry 'g 1000 1000 1': container gid 1000 is also mapped by entry 'g 0 100000 65536'"
        )
    );
    assert_eq!(
        message(&["g 0 5000 10", "g 10 5009 1"]).as_deref(),
        Some(
            "invalid map entry 'g 10 5009 1': host gid 5009 is also mapped by entry 'g 0 5000 10'"
        )
    );
}

#[test]
fn uid_is_checked_before_gid_whatever_the_file_order() {
    let lines = ["g 0 100000 65536", "g 7 7 1", "u 0 100000 65536", "u 9 9 1"];
    assert_eq!(
        message(&lines).as_deref(),
        Some(
            "invalid map entry 'u 9 9 1': container uid 9 is also mapped by entry 'u 0 100000 65536'"
        )
    );
}

#[test]
fn container_side_is_checked_before_host_side() {
    // Both sides conflict; the container conflict is reported.
    assert_eq!(
        message(&["u 0 1000 10", "u 5 1005 10"]).as_deref(),
        Some(
            "invalid map entry 'u 5 1005 10': container uid 5 is also mapped by entry 'u 0 1000 10'"
        )
    );
}

#[test]
fn entries_are_sorted_by_start_before_comparing() {
    // In file order the wide range comes second; after sorting it is `prev`.
    assert_eq!(
        message(&["u 1000 1000 1", "u 0 100000 65536"]).as_deref(),
        Some(
            "invalid map entry 'u 1000 1000 1': container uid 1000 is also mapped by entry 'u 0 100000 65536'"
        )
    );
}

#[test]
fn different_kinds_never_conflict() {
    assert_eq!(message(&["u 0 100000 65536", "g 0 100000 65536"]), None);
}

#[test]
fn identical_duplicate_is_a_conflict() {
    assert_eq!(
        message(&["u 0 100000 65536", "u 0 100000 65536"]).as_deref(),
        Some(
            "invalid map entry 'u 0 100000 65536': container uid 0 is also mapped by entry 'u 0 100000 65536'"
        )
    );
}

#[test]
fn zero_length_entry_before_another_never_conflicts() {
    // Same start, the empty entry first (stable sort keeps file order): 5 + 0 > 5 is false.
    assert_eq!(message(&["u 5 5 0", "u 5 5 10"]), None);
    assert_eq!(message(&["u 5 5 0", "u 5 5 0"]), None);
    assert_eq!(message(&["u 0 0 0", "u 0 100000 65536"]), None);
}

#[test]
fn zero_length_entry_inside_an_earlier_range_conflicts_as_the_algorithm_says() {
    // The reference's literal rule `prev.start + prev.len > cur.start` also fires
    // when the empty entry comes second and starts inside prev's range.
    assert_eq!(
        message(&["u 0 100000 65536", "u 5 5 0"]).as_deref(),
        Some(
            "invalid map entry 'u 5 5 0': container uid 5 is also mapped by entry 'u 0 100000 65536'"
        )
    );
}

#[test]
fn only_adjacent_pairs_are_reported() {
    // 0..100 covers both 10 and 20; after sorting, the 20 entry's neighbour is the 10
    // entry, but the first conflict (10 against 0..100) wins.
    assert_eq!(
        message(&["u 0 0 100", "u 20 1020 1", "u 10 1010 1"]).as_deref(),
        Some(
            "invalid map entry 'u 10 1010 1': container uid 10 is also mapped by entry 'u 0 0 100'"
        )
    );
    // Equal starts keep file order, so the pair named is the adjacent one: the wide
    // range is reported against the one-id entry before it, not the other way round.
    assert_eq!(
        message(&["u 0 5000 1", "u 0 100000 65536"]).as_deref(),
        Some(
            "invalid map entry 'u 0 100000 65536': container uid 0 is also mapped by entry 'u 0 5000 1'"
        )
    );
}

#[test]
fn first_conflict_wins() {
    let err = validate_entries(&entries(&["u 0 0 10", "u 5 100 1", "u 6 200 1"])).unwrap_err();
    assert_eq!(
        err,
        IdMapError::Overlap {
            entry: "u 5 100 1".parse().unwrap(),
            previous: "u 0 0 10".parse().unwrap(),
            side: Side::Container,
            id: 5,
        }
    );
}

#[test]
fn ranges_past_the_id_space_do_not_wrap() {
    // 4294967295 + 2 does not wrap to 1 (Perl adds without limit).
    assert_eq!(
        message(&["u 4294967295 0 2", "u 0 10 1"]),
        None,
        "sorted: 0 first, then 4294967295; no wrap means no overlap"
    );
    assert_eq!(
        message(&["u 0 4294967295 2", "u 1000 0 1"]),
        None,
        "host side: 0 first, then 4294967295"
    );
    assert_eq!(
        message(&["u 0 4294967294 2", "u 2 4294967295 1"]).as_deref(),
        Some(
            "invalid map entry 'u 2 4294967295 1': host uid 4294967295 is also mapped by entry 'u 0 4294967294 2'"
        )
    );
}

#[test]
fn nothing_else_is_checked() {
    // No root mapping, gaps, only one kind, host ids 0: all valid for Proxmox.
    assert_eq!(message(&["u 1 1 1", "u 500 0 1"]), None);
}
