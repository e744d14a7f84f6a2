//! phoenix's stricter checks, reported apart from Proxmox's validation.

use phoenix_idmap::idmap::{Delegations, IdRanges};
use phoenix_idmap::subid::SubIdFile;
use phoenix_idmap::{IdKind, IdMap, IdMapEntry, IdMapWarning};

fn map(unprivileged: bool, lines: &[&str]) -> IdMap {
    IdMap::new(
        unprivileged,
        lines.iter().map(|l| l.parse().unwrap()).collect(),
    )
}

fn texts(warnings: &[IdMapWarning]) -> Vec<String> {
    warnings.iter().map(ToString::to_string).collect()
}

fn entry(s: &str) -> IdMapEntry {
    s.parse().unwrap()
}

#[test]
fn default_and_privileged_maps_have_no_warnings() {
    assert!(map(true, &[]).warnings(None).is_empty());
    assert!(map(false, &[]).warnings(None).is_empty());
}

#[test]
fn a_complete_split_map_has_no_warnings() {
    let m = map(
        true,
        &[
            "u 0 100000 1000",
            "u 1000 1000 1",
            "u 1001 101001 64535",
            "g 0 100000 65536",
        ],
    );
    assert!(m.warnings(None).is_empty());
}

#[test]
fn unmapped_container_ids_are_listed_per_kind() {
    let m = map(
        true,
        &["u 0 100000 1000", "u 1001 101001 100", "g 0 100000 65536"],
    );
    let w = m.warnings(None);
    assert_eq!(
        w,
        vec![IdMapWarning::Unmapped {
            kind: IdKind::Uid,
            missing: IdRanges(vec![(1000, 1000), (1101, 65535)]),
        }]
    );
    assert_eq!(
        texts(&w),
        ["container uids 1000, 1101-65535 are not mapped (phoenix expects 0-65535 mapped)"]
    );
}

#[test]
fn a_uid_map_without_a_gid_map_is_reported_and_vice_versa() {
    assert_eq!(
        texts(&map(true, &["u 0 100000 65536"]).warnings(None)),
        ["the map has uid entries but no gid entries, so no container gid is mapped"]
    );
    assert_eq!(
        texts(&map(true, &["g 0 100000 65536"]).warnings(None)),
        ["the map has gid entries but no uid entries, so no container uid is mapped"]
    );
}

#[test]
fn explicit_entries_without_the_flag_are_reported() {
    assert_eq!(
        texts(&map(false, &["u 0 100000 65536", "g 0 100000 65536"]).warnings(None)),
        [
            "lxc.idmap entries without 'unprivileged: 1': lxc maps ids but proxmox treats the container as privileged"
        ]
    );
}

#[test]
fn mapping_host_root_into_the_container_is_reported() {
    let m = map(true, &["u 0 0 65536", "g 0 100000 65536"]);
    assert_eq!(
        m.warnings(None),
        vec![IdMapWarning::HostRootMapped {
            entry: entry("u 0 0 65536")
        }]
    );
    assert_eq!(
        IdMapWarning::HostRootMapped {
            entry: entry("g 5 0 1")
        }
        .to_string(),
        "entry 'g 5 0 1' maps host gid 0 (host root) into the container"
    );
}

#[test]
fn ranges_past_the_id_space_are_reported() {
    let w = IdMapWarning::PastIdSpace {
        entry: entry("u 0 4294967295 65536"),
    };
    assert_eq!(
        w.to_string(),
        "entry 'u 0 4294967295 65536' runs past the largest id 4294967295"
    );
    let m = map(true, &["u 0 4294967295 65536", "g 0 100000 65536"]);
    assert!(m.warnings(None).contains(&w));
}

#[test]
fn host_ranges_must_be_delegated_to_root() {
    let subuid = SubIdFile::parse("root:100000:65536\nalice:1000:1\n").unwrap();
    let subgid = SubIdFile::parse("root:100000:65536\nroot:1000:1\n").unwrap();
    let m = map(
        true,
        &[
            "u 0 100000 1000",
            "u 1000 1000 1",
            "u 1001 101001 64535",
            "g 0 100000 1000",
            "g 1000 1000 1",
            "g 1001 101001 64535",
        ],
    );
    let w = m.warnings(Some(Delegations {
        subuid: &subuid,
        subgid: &subgid,
    }));
    assert_eq!(
        texts(&w),
        ["host uids 1000 of entry 'u 1000 1000 1' are not delegated to root in /etc/subuid"]
    );
}

#[test]
fn the_default_map_needs_root_100000_in_both_files() {
    let empty = SubIdFile::parse("").unwrap();
    let partial = SubIdFile::parse("root:100000:1000\n").unwrap();
    let w = map(true, &[]).warnings(Some(Delegations {
        subuid: &partial,
        subgid: &empty,
    }));
    assert_eq!(
        texts(&w),
        [
            "host uids 101000-165535 of entry 'u 0 100000 65536' are not delegated to root in /etc/subuid",
            "host gids 100000-165535 of entry 'g 0 100000 65536' are not delegated to root in /etc/subgid",
        ]
    );
}

#[test]
fn id_ranges_print_singles_and_spans() {
    assert_eq!(IdRanges(vec![(0, 0), (2, 9)]).to_string(), "0, 2-9");
    assert_eq!(IdRanges(vec![]).to_string(), "");
}
