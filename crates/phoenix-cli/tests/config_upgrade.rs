//! `phoenix config upgrade` on the real binary: the diff of both bash-era reference
//! versions, the atomic write with a backup, idempotence, and that the upgraded
//! directory validates to the same guests with no new errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference(version: &str) -> PathBuf {
    let dir = repo().join("../shared/reference").join(version);
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

fn phoenix(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .args(args)
        .arg("--config-dir")
        .arg(dir)
        .env_remove("PHOENIX_CONFIG_DIR")
        .output()
        .expect("phoenix runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A copy of a reference directory in a temporary directory.
fn copy(version: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(reference(version)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
    }
    tmp
}

#[test]
fn upgrade_prints_a_diff_per_file_of_both_reference_versions() {
    for (version, name) in [
        ("phoenix-bash-era", "upgrade_bash_era"),
        ("phoenix-bash-newest", "upgrade_bash_newest"),
    ] {
        let out = phoenix(&["config", "upgrade"], &reference(version));
        assert_eq!(out.status.code(), Some(0), "{version}");
        let text = stdout(&out);
        assert!(!text.contains("NewKick"), "a secret leaked into the diff");
        insta::assert_snapshot!(name, text);
    }
}

/// Guest ids of a directory, read from its files (a directory with errors has no
/// typed fleet in the report).
fn guests(dir: &Path) -> (Vec<String>, Vec<u64>) {
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let lxc = read("phoenix_lxc_configs.json");
    let cts = lxc["lxc_configs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let vm = read("phoenix_vm_configs.json");
    let vms = vm["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vmid"].as_u64().unwrap())
        .collect();
    (cts, vms)
}

/// Error messages (they name their pointer; lines move when a file is rewritten).
fn errors(dir: &Path) -> BTreeSet<String> {
    let utf8 = camino::Utf8PathBuf::from_path_buf(dir.to_owned()).unwrap();
    phoenix_config::validate_dir(&utf8)
        .unwrap()
        .errors
        .into_iter()
        .map(|d| format!("{}: {}", d.file, d.message))
        .collect()
}

#[test]
fn write_then_validate_gives_the_same_guests_and_no_new_errors() {
    for version in ["phoenix-bash-era", "phoenix-bash-newest"] {
        let tmp = copy(version);
        let dir = tmp.path();
        let before_guests = guests(dir);
        let typed_lxc = |d: &Path| -> phoenix_config::LxcFile {
            let text = std::fs::read_to_string(d.join("phoenix_lxc_configs.json")).unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let before_lxc = typed_lxc(dir);
        let before_errors = errors(dir);
        let originals: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let t = std::fs::read_to_string(&p).unwrap();
                (p, t)
            })
            .collect();

        let out = phoenix(&["config", "upgrade", "--write"], dir);
        assert_eq!(out.status.code(), Some(0), "{version}: {}", stdout(&out));
        for (path, text) in &originals {
            let bak = PathBuf::from(format!("{}.bak", path.display()));
            if bak.exists() {
                assert_eq!(&std::fs::read_to_string(&bak).unwrap(), text, "{version}");
                assert_ne!(&std::fs::read_to_string(path).unwrap(), text, "{version}");
            } else {
                assert_eq!(&std::fs::read_to_string(path).unwrap(), text, "{version}");
            }
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        assert_eq!(guests(dir), before_guests, "{version}: same guests");
        if version == "phoenix-bash-newest" {
            // Only shapes change (old id maps, nameserver strings): the typed
            // containers are the same values.
            assert_eq!(
                typed_lxc(dir),
                before_lxc,
                "{version}: same typed containers"
            );
        }
        let after_errors = errors(dir);
        let new: Vec<_> = after_errors.difference(&before_errors).collect();
        assert!(new.is_empty(), "{version}: new errors {new:?}");

        let again = phoenix(&["config", "upgrade"], dir);
        assert_eq!(again.status.code(), Some(0));
        assert!(
            stdout(&again)
                .lines()
                .all(|l| l.ends_with(": already in phoenix's canonical shape")),
            "{version}: a second run changes something:\n{}",
            stdout(&again)
        );
    }
}

#[test]
fn upgrade_of_a_missing_directory_is_invalid_input() {
    let out = phoenix(&["config", "upgrade"], &repo().join("fixtures/no-such-dir"));
    assert_eq!(out.status.code(), Some(2));
}
