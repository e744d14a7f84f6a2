//! Path resolution under a root full of random symlinks: whatever the links say, a
//! resolved path stays beneath the root, holds no symlink, and is where the kernel
//! would land.

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_hostpath::{EscapeError, resolve_beneath};
use proptest::prelude::*;

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&NAMES[..]).prop_map(str::to_owned),
        1 => Just("..".to_owned()),
        1 => Just(".".to_owned()),
    ]
}

fn rel_path() -> impl Strategy<Value = String> {
    prop::collection::vec(name(), 1..5).prop_map(|v| v.join("/"))
}

/// A link target: relative (possibly climbing out) or absolute (out of a temp root).
fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => rel_path(),
        1 => Just("/etc".to_owned()),
        1 => Just("/".to_owned()),
    ]
}

/// Directories to create and symlinks (path, target) to place among them.
fn tree() -> impl Strategy<Value = (Vec<String>, Vec<(String, String)>)> {
    (
        prop::collection::vec(
            prop::collection::vec(prop::sample::select(&NAMES[..]), 1..4),
            0..6,
        )
        .prop_map(|v| v.into_iter().map(|p| p.join("/")).collect()),
        prop::collection::vec(
            (
                prop::collection::vec(prop::sample::select(&NAMES[..]), 1..4)
                    .prop_map(|p| p.join("/")),
                target(),
            ),
            0..6,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
    #[test]
    fn resolution_never_leaves_the_root((dirs, links) in tree(), query in rel_path()) {
        let outer = tempfile::tempdir().unwrap();
        let outer = Utf8Path::from_path(outer.path()).unwrap().canonicalize_utf8().unwrap();
        let root = outer.join("root");
        std::fs::create_dir(&root).unwrap();
        // A sibling outside the root that links try to reach.
        std::fs::create_dir(outer.join("a")).unwrap();
        for d in &dirs {
            let _ = std::fs::create_dir_all(root.join(d));
        }
        for (at, to) in &links {
            let _ = std::os::unix::fs::symlink(to, root.join(at));
        }
        match resolve_beneath(&root, Utf8Path::new(&query)) {
            Ok(p) => {
                prop_assert!(p.starts_with(&root), "{p} not under {root}");
                // No component of the result is a symlink.
                let mut cur = Utf8PathBuf::from("/");
                for c in p.components().skip(1) {
                    cur.push(c);
                    if let Ok(m) = std::fs::symlink_metadata(&cur) {
                        prop_assert!(!m.file_type().is_symlink(), "{cur} is a symlink in {p}");
                    }
                }
                // Where it exists, it is where the kernel lands.
                if let Ok(real) = root.join(&query).canonicalize_utf8() {
                    prop_assert_eq!(real, p);
                }
            }
            Err(EscapeError::Escapes { .. } | EscapeError::Loop { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = Utf8Path::from_path(dir.path()).unwrap().join("fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(fifo.as_str())
        .status()
        .unwrap();
    assert!(ok.success());
    let e = phoenix_hostpath::read_input(&fifo, 100).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{fifo} is a FIFO, not a regular file")
    );
}
