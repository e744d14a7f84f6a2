//! Lossless parsing and append-only editing of /etc/subuid and /etc/subgid fixtures.

use std::fs;
use std::path::PathBuf;

use phoenix_idmap::subid::{SubIdEntry, SubIdFile, SubIdLine, SubIdLineProblem};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/subid")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_good_fixture_round_trips_byte_for_byte() {
    for name in [
        "several-users.subuid",
        "no-root-no-final-newline.subgid",
        "empty.subuid",
    ] {
        let src = fixture(name);
        let file = SubIdFile::parse(&src).unwrap();
        assert_eq!(file.render(), src, "{name}");
        assert_eq!(
            SubIdFile::parse(&file.render()).unwrap(),
            file,
            "{name}: second round"
        );
    }
}

#[test]
fn lines_keep_their_kind_and_text() {
    let file = SubIdFile::parse(&fixture("several-users.subuid")).unwrap();
    let kinds: Vec<&str> = file
        .lines()
        .iter()
        .map(|l| match l {
            SubIdLine::Entry { .. } => "entry",
            SubIdLine::Comment(_) => "comment",
            SubIdLine::Blank(_) => "blank",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "comment", "comment", "blank", "entry", "entry", "entry", "blank", "comment", "entry"
        ]
    );
    assert_eq!(file.lines()[6].text(), "   ");
    let users: Vec<&str> = file.entries().map(|e| e.user.as_str()).collect();
    assert_eq!(users, ["alice", "root", "bob", "backup"]);
}

#[test]
fn a_bad_line_is_an_error_with_its_number_never_skipped() {
    let err = SubIdFile::parse(&fixture("bad-line-3.subuid")).unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(err.problem, SubIdLineProblem::Fields);
    assert_eq!(
        err.to_string(),
        "line 3: expected name:start:count: 'alice:165536'"
    );
}

#[test]
fn ensuring_delegations_appends_and_keeps_every_other_line() {
    let src = fixture("several-users.subuid");
    let mut file = SubIdFile::parse(&src).unwrap();
    assert!(
        file.ensure_root_default().is_empty(),
        "root already has a range"
    );
    let added = file.ensure_delegations(&[
        SubIdEntry::new("root", 1000, 1),
        SubIdEntry::root_default(),
        SubIdEntry::new("root", 100500, 65536),
    ]);
    assert_eq!(
        added,
        [
            SubIdEntry::new("root", 1000, 1),
            SubIdEntry::new("root", 165536, 500)
        ]
    );
    let out = file.render();
    assert_eq!(out, format!("{src}root:1000:1\nroot:165536:500\n"));
    // A second round changes nothing.
    assert!(
        file.ensure_delegations(&[SubIdEntry::new("root", 1000, 1)])
            .is_empty()
    );
    assert_eq!(file.render(), out);
}

#[test]
fn a_file_without_root_gets_the_default_after_a_newline() {
    let src = fixture("no-root-no-final-newline.subgid");
    let mut file = SubIdFile::parse(&src).unwrap();
    assert_eq!(file.ensure_root_default(), [SubIdEntry::root_default()]);
    assert_eq!(file.render(), format!("{src}\nroot:100000:65536\n"));
    assert!(file.ensure_root_default().is_empty());
}

#[test]
fn another_users_range_does_not_cover_root() {
    let file = SubIdFile::parse("alice:100000:65536\n").unwrap();
    assert!(file.covers("alice", 100000, 65536));
    assert!(!file.covers("root", 100000, 1));
}

#[test]
fn line_problems_read_well() {
    assert_eq!(
        SubIdLineProblem::Fields.to_string(),
        "expected name:start:count"
    );
    assert_eq!(SubIdLineProblem::EmptyUser.to_string(), "empty user name");
    assert_eq!(
        SubIdLineProblem::Start.to_string(),
        "start is not a number from 0 to 4294967295"
    );
    assert_eq!(
        SubIdLineProblem::Count.to_string(),
        "count is not a number from 0 to 4294967295"
    );
}
