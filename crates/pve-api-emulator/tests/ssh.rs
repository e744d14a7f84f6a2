//! The ssh stand-in against a cluster layout the emulator prepared: strict host key
//! checking, POSIX quoting of the remote words, the exit code, stdin, and the node root.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pve_api_emulator::layout::Cluster;

struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let nodes = vec!["pve1".parse().unwrap(), "pve2".parse().unwrap()];
        let mut n = 0u8;
        Cluster::new(dir.path(), nodes)
            .prepare(Path::new("/bin/busybox"), || {
                n += 1;
                [n; 32]
            })
            .unwrap();
        Layout { dir }
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("ssh/known_hosts")
    }

    fn ssh(&self, args: &[&str]) -> Output {
        self.ssh_with_input(args, b"")
    }

    fn ssh_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = Command::new(common::SSH)
            .args(args)
            .env("PVE_EMU_ROOT", self.dir.path())
            .env_remove("PHOENIX_ROOT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    fn strict(&self, host: &str, command: &[&str]) -> Output {
        let kh = format!("UserKnownHostsFile={}", self.known_hosts().display());
        let mut args = vec![
            "-T",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            &kh,
            "-l",
            "root",
            host,
        ];
        args.extend_from_slice(command);
        self.ssh(&args)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn it_refuses_without_strict_checking_or_with_a_wrong_key() {
    if !phoenix_testkit::require(&[phoenix_testkit::Need::Command("busybox")]) {
        return;
    }
    let l = Layout::new();
    let kh = format!("UserKnownHostsFile={}", l.known_hosts().display());
    let out = l.ssh(&["-o", &kh, "pve1", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        text(&out.stderr).contains("StrictHostKeyChecking=yes"),
        "{}",
        text(&out.stderr)
    );
    let out = l.ssh(&["-o", "StrictHostKeyChecking=no", "-o", &kh, "pve1", "true"]);
    assert_eq!(out.status.code(), Some(255));

    let wrong = l.dir.path().join("wrong_known_hosts");
    let real = std::fs::read_to_string(l.known_hosts()).unwrap();
    let pve2_key = real.lines().nth(1).unwrap().split(' ').nth(2).unwrap();
    std::fs::write(&wrong, format!("pve1 ssh-ed25519 {pve2_key}\n")).unwrap();
    let wkh = format!("UserKnownHostsFile={}", wrong.display());
    let out = l.ssh(&[
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        &wkh,
        "pve1",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        text(&out.stderr).ends_with("Host key verification failed.\n"),
        "{}",
        text(&out.stderr)
    );
    let out = l.ssh(&[
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        &wkh,
        "pve2",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).starts_with("No ED25519 host key is known for pve2"));

    let out = l.strict("pve9", &["true"]);
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(
        text(&out.stderr),
        "ssh: Could not resolve hostname pve9: Name or service not known\n"
    );
}

#[test]
fn it_runs_quoted_words_on_the_node_and_passes_the_exit_code() {
    if !phoenix_testkit::require(&[phoenix_testkit::Need::Command("busybox")]) {
        return;
    }
    let l = Layout::new();
    // the remote words are joined with spaces and split by shell quoting, as sshd's shell would
    let out = l.strict("pve1", &["printf", "%s|", "'a b'", "c\\ d", "\"e  f\""]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a b|c d|e  f|");
    let out = l.strict("pve2", &["sh", "-c", "'exit 7'"]);
    assert_eq!(out.status.code(), Some(7));
    for node in ["pve1", "pve2"] {
        let out = l.strict(node, &["printenv", "PHOENIX_ROOT"]);
        assert_eq!(
            text(&out.stdout).trim(),
            l.dir.path().join("node").join(node).display().to_string()
        );
    }
    let out = l.strict("root@pve2", &["cat", "etc/hostname"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a relative path is not the node root"
    );
    let out = l.strict("pve2", &["FOO=bar", "printenv", "FOO"]);
    assert_eq!(text(&out.stdout), "bar\n");
    let kh = format!("UserKnownHostsFile={}", l.known_hosts().display());
    let out = l.ssh_with_input(
        &["-o", "StrictHostKeyChecking=yes", "-o", &kh, "pve1", "cat"],
        b"from stdin",
    );
    assert_eq!(text(&out.stdout), "from stdin");
    let out = l.strict("pve1", &["no-such-command-xyz"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(text(&out.stderr), "sh: 1: no-such-command-xyz: not found\n");
    let out = l.strict("pve1", &["echo", "'unterminated"]);
    assert_eq!(out.status.code(), Some(2));
}
