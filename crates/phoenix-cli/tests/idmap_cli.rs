//! `phoenix idmap check|show|plan` end to end: the binary against fixture confs and a
//! temporary root.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    repo()
        .join("fixtures/idmap")
        .join(name)
        .display()
        .to_string()
}

/// Runs phoenix under `root`; returns "exit N", stdout and stderr as one text, with the
/// temporary paths replaced.
fn phoenix(root: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .arg("--root")
        .arg(root)
        .arg("--config-dir")
        .arg(repo().join("fixtures/example"))
        .args(args)
        .env_remove("PHOENIX_ROOT")
        .env_remove("PHOENIX_CONFIG_DIR")
        .output()
        .unwrap();
    let text = format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.replace(&root.display().to_string(), "[ROOT]").replace(
        &repo().join("fixtures/idmap").display().to_string(),
        "[FIXTURES]",
    )
}

/// A root whose /etc/subuid and /etc/subgid delegate the default range and uid/gid 1000.
fn host_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc/pve/lxc")).unwrap();
    for f in ["subuid", "subgid"] {
        fs::write(
            dir.path().join("etc").join(f),
            "root:100000:65536\nroot:1000:1\n",
        )
        .unwrap();
    }
    dir
}

#[test]
fn check_accepts_a_valid_split_map() {
    let root = host_root();
    let out = phoenix(
        root.path(),
        &["idmap", "check", &fixture("passthrough-uid-1000.conf")],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn check_refuses_an_overlap_with_proxmox_message_and_exit_2() {
    let root = host_root();
    let out = phoenix(
        root.path(),
        &[
            "idmap",
            "check",
            &fixture("overlap-default-and-passthrough.conf"),
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn check_refuses_a_bad_value_with_proxmox_message() {
    let root = host_root();
    let out = phoenix(root.path(), &["idmap", "check", &fixture("bad-value.conf")]);
    insta::assert_snapshot!(out);
}

#[test]
fn check_prints_phoenix_warnings_on_stderr_and_still_passes() {
    let root = tempfile::tempdir().unwrap(); // no /etc/subuid at all
    let out = phoenix(
        root.path(),
        &["idmap", "check", &fixture("only-uid-partial.conf")],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn check_json_reports_the_error_and_exits_2() {
    let root = host_root();
    let out = phoenix(
        root.path(),
        &[
            "-o",
            "json",
            "idmap",
            "check",
            &fixture("overlap-default-and-passthrough.conf"),
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn check_of_a_missing_file_is_invalid_input() {
    let root = host_root();
    let out = phoenix(root.path(), &["idmap", "check", &fixture("no-such.conf")]);
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(
        out.contains("error: cannot read [FIXTURES]/no-such.conf: "),
        "{out}"
    );
}

#[test]
fn show_maps_shared_volume_owners_to_host_ids() {
    let root = host_root();
    fs::copy(
        fixture("passthrough-uid-1000.conf"),
        root.path().join("etc/pve/lxc/102.conf"),
    )
    .unwrap();
    insta::assert_snapshot!(phoenix(root.path(), &["idmap", "show", "102"]));
    insta::assert_snapshot!(
        "show_json",
        phoenix(root.path(), &["-o", "json", "idmap", "show", "102"])
    );
}

#[test]
fn show_of_a_default_ct_and_its_mount_point() {
    let root = host_root();
    fs::copy(
        fixture("default-unprivileged.conf"),
        root.path().join("etc/pve/lxc/101.conf"),
    )
    .unwrap();
    insta::assert_snapshot!(phoenix(root.path(), &["idmap", "show", "101"]));
}

#[test]
fn show_says_which_owner_ids_the_map_leaves_unmapped() {
    let root = host_root();
    fs::copy(
        fixture("only-uid-partial.conf"),
        root.path().join("etc/pve/lxc/950.conf"),
    )
    .unwrap();
    insta::assert_snapshot!(phoenix(root.path(), &["idmap", "show", "950"]));
}

#[test]
fn show_of_a_missing_ct_fails_at_runtime() {
    let root = host_root();
    insta::assert_snapshot!(phoenix(root.path(), &["idmap", "show", "555"]));
}

#[test]
fn plan_prints_entries_and_delegations() {
    let root = host_root();
    let out = phoenix(
        root.path(),
        &[
            "idmap",
            "plan",
            "--map",
            "b:1000:1000:1",
            "--map",
            "u:0:5000:1",
            "--allow-host-ids",
        ],
    );
    insta::assert_snapshot!(out);
    insta::assert_snapshot!(
        "plan_json",
        phoenix(
            root.path(),
            &[
                "-o",
                "json",
                "idmap",
                "plan",
                "--map",
                "b:1000:1000:1",
                "--allow-host-ids"
            ]
        )
    );
}

#[test]
fn plan_refuses_conflicts_and_bad_syntax_with_exit_2() {
    let root = host_root();
    let out = phoenix(
        root.path(),
        &[
            "idmap",
            "plan",
            "--map",
            "u:1000:1000:2",
            "--map",
            "b:1001:7:1",
        ],
    );
    insta::assert_snapshot!(out);
    let out = phoenix(root.path(), &["idmap", "plan", "--map", "u:1000"]);
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(
        out.contains("invalid map 'u:1000': expected [ugb]:<container id>:<host id>:<count>"),
        "{out}"
    );
}

#[test]
fn plan_refuses_host_root_and_asks_an_opt_in_for_host_ids() {
    let root = host_root();
    let out = phoenix(root.path(), &["idmap", "plan", "--map", "u:0:0:1"]);
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(
        out.contains("error: phoenix refuses entry 'u 0 0 1' maps container uid 0 onto host uid 0 (host root)"),
        "{out}"
    );
    let out = phoenix(
        root.path(),
        &["idmap", "plan", "--map", "u:0:0:1", "--allow-host-ids"],
    );
    assert!(
        out.starts_with("exit 2\n"),
        "the opt-in never covers host root: {out}"
    );
    let out = phoenix(root.path(), &["idmap", "plan", "--map", "b:1000:1000:1"]);
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(
        out.contains("maps onto host uids below 100000, the host's own system and login users; pass --allow-host-ids if that is intended"),
        "{out}"
    );
    let out = phoenix(
        root.path(),
        &["idmap", "plan", "--map", "u:4294967286:200000:10"],
    );
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(out.contains("reaches container id 4294967295"), "{out}");
}

#[test]
fn check_refuses_a_conf_mapping_host_root_and_lists_host_ids() {
    // Only the default delegation: the floor is 100000.
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    for f in ["subuid", "subgid"] {
        fs::write(root.path().join("etc").join(f), "root:100000:65536\n").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("100.conf");
    std::fs::write(
        &conf,
        "unprivileged: 1\nlxc.idmap: u 0 0 65536\nlxc.idmap: g 0 100000 65536\n",
    )
    .unwrap();
    let out = phoenix(root.path(), &["idmap", "check", conf.to_str().unwrap()]);
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(
        out.contains(
            "phoenix refuses entry 'u 0 0 65536' maps container uid 0 onto host uid 0 (host root)"
        ),
        "{out}"
    );
    let out = phoenix(
        root.path(),
        &["idmap", "check", &fixture("passthrough-uid-1000.conf")],
    );
    assert!(out.starts_with("exit 0\n"), "{out}");
    assert!(
        out.contains("warning: entry 'u 1000 1000 1' maps onto host uids below 100000, the host's own system and login users (a conf file cannot say allow_host_ids)"),
        "{out}"
    );
    let fifo = dir.path().join("fifo.conf");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = phoenix(root.path(), &["idmap", "check", fifo.to_str().unwrap()]);
    assert!(out.starts_with("exit 2\n"), "{out}");
    assert!(out.contains("is a FIFO, not a regular file"), "{out}");
}
