//! `pct-emulator-net` as a command: what `up --dry-run` would do, and its usage errors.
//! No root needed: a dry run only reads the host.

use std::process::Command;

const NET: &str = env!("CARGO_BIN_EXE_pct-emulator-net");

fn net(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(NET).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn up_dry_run_prints_every_step_and_the_ruleset() {
    // Addresses given, so nothing is resolved; phxupdry never exists on a host.
    let (code, out, err) = net(&[
        "up",
        "--bridge",
        "phxupdry",
        "--subnet",
        "10.213.58.0/24",
        "--dns",
        "10.255.255.53",
        "--mirror",
        "127.0.0.1",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    // Whether ip_forward must be turned on depends on this host right now.
    let out: String = out
        .lines()
        .filter(|l| *l != "echo 1 > /proc/sys/net/ipv4/ip_forward")
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!(out);
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = net(&["up", "--bridge", "b", "--subnet", "10.0.0.1/24"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("pct-emulator-net: invalid subnet '10.0.0.1/24': expected a.b.c.d/N with N from 8 to 30 and no host bits set\nusage:"),
        "{err}"
    );
    let (code, _, err) = net(&["up", "--subnet", "10.0.0.0/24"]);
    assert_eq!(
        (code, err.lines().next()),
        (2, Some("pct-emulator-net: up needs --bridge"))
    );
    let (code, _, err) = net(&["bridge", "add"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = net(&["sideways"]);
    assert_eq!(code, 2);
}
