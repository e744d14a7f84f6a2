//! End-to-end: the `phoenix` binary converges fleets of REAL unprivileged LXC
//! containers through the pct emulator, under a temporary root.
//!
//! Needs root, LXC and the emulator binaries (`scripts/test.sh` builds them first).
//! Container ids and bridge names are global on the host, so every test here uses its
//! own id range (81xx, 82xx, ...) and its own bridge, and removes both when it ends.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::json;
use support::{Env, mutations, small_fleet};

#[test]
fn converges_a_fleet_from_nothing_and_a_second_up_changes_nothing() {
    let Some(env) = Env::new("vmbre81", &[8100, 8101, 8102]) else {
        return;
    };
    small_fleet(&env, 8100);

    // The plan announces exactly as many changes as the run then makes.
    let plan = env.ok(&env.phoenix(&["plan"], &[]));
    let planned = plan
        .lines()
        .find_map(|l| l.strip_prefix("3 containers: 3 ok, 0 failed, 0 skipped; "))
        .and_then(|l| l.strip_suffix(" changes planned"))
        .unwrap_or_else(|| panic!("{plan}"))
        .to_owned();
    let first = env.ok(&env.phoenix(&["up"], &[]));
    assert!(
        first.contains(&format!("; {planned} changes made")),
        "planned {planned}:\n{first}"
    );
    assert!(
        first.contains("3 containers: 3 ok, 0 failed, 0 skipped"),
        "{first}"
    );
    let log = env.take_log();
    assert!(
        log.iter()
            .any(|l| l.starts_with("create 8100 local:vztmpl/phoenix-busybox_amd64.tar.gz")),
        "{log:#?}"
    );
    assert!(log.contains(&"snapshot 8100 golden".to_owned()), "{log:#?}");
    assert!(
        log.iter()
            .any(|l| l.starts_with("clone 8100 8101 ") && l.contains("--snapname golden")),
        "{log:#?}"
    );

    // The template has its snapshot; every container runs.
    assert!(env.pct_stdout(&["listsnapshot", "8100"]).contains("golden"));
    for id in ["8100", "8101", "8102"] {
        assert_eq!(
            env.pct_stdout(&["status", id]).trim(),
            "status: running",
            "CT {id}"
        );
    }
    // Unprivileged: root inside is 0, the host sees its init as 100000.
    assert_eq!(
        env.pct_stdout(&["exec", "8102", "--", "id", "-u"]).trim(),
        "0"
    );
    // The shared volume is owned by container root's host ids, root-owned and
    // writable inside, and what root writes inside is 100000 on the host.
    let data = std::fs::metadata(env.host("/srv/data")).unwrap();
    assert_eq!((data.uid(), data.gid()), (100000, 100000));
    assert_eq!(
        env.pct_stdout(&["exec", "8102", "--", "stat", "-c", "%u:%g", "/data"])
            .trim(),
        "0:0"
    );
    env.pct_stdout(&["exec", "8102", "--", "touch", "/data/written-inside"]);
    let f = std::fs::metadata(env.host("/srv/data/written-inside")).unwrap();
    assert_eq!((f.uid(), f.gid()), (100000, 100000));
    // The conf never gains lxc.idmap for a default-mapped CT.
    let conf = std::fs::read_to_string(env.host("/etc/pve/lxc/8102.conf")).unwrap();
    assert!(!conf.contains("lxc.idmap"), "{conf}");
    assert!(conf.contains("mp0: /srv/data,mp=/data"), "{conf}");

    // A second up makes zero mutating pct calls.
    let second = env.ok(&env.phoenix(&["up"], &[]));
    assert!(second.contains("0 changes made"), "{second}");
    let log = env.take_log();
    assert!(!log.is_empty());
    assert_eq!(
        mutations(&log),
        Vec::<&String>::new(),
        "second up mutated: {log:#?}"
    );

    // --verify proves unchanged containers again (it runs pct exec, so it mutates).
    let verify = env.ok(&env.phoenix(&["up", "--verify"], &[]));
    assert!(verify.contains("3 ok, 0 failed"), "{verify}");
    let log = env.take_log();
    // One exec per container proves both maps and its volumes.
    let proofs = |id: &str| -> Vec<&String> {
        log.iter()
            .filter(|l| l.starts_with(&format!("exec {id} -- sh -c ")))
            .collect()
    };
    for id in ["8100", "8101", "8102"] {
        let p = proofs(id);
        assert_eq!(p.len(), 1, "{log:#?}");
        assert!(
            p[0].contains(" phoenix-proof cat /proc/self/uid_map cat /proc/self/gid_map"),
            "{log:#?}"
        );
    }
    assert!(proofs("8102")[0].contains(" stat /data"), "{log:#?}");

    // Status shows no drift; plan shows only no-ops.
    let status = env.ok(&env.phoenix(&["status"], &[]));
    assert!(
        status
            .lines()
            .filter(|l| l.starts_with("81"))
            .all(|l| l.ends_with(" -")),
        "{status}"
    );
}

#[test]
fn a_failure_at_any_step_then_a_rerun_ends_like_a_clean_run() {
    let Some(env) = Env::new("vmbre82", &[8200, 8201, 8202]) else {
        return;
    };
    small_fleet(&env, 8200);
    env.ok(&env.phoenix(&["up"], &[]));
    let clean = env.state();
    env.take_log();

    // Each pct subcommand the workflow uses, failing on its first call: define
    // (create, clone), configure (set), start, verify (exec) and customize (snapshot).
    for fail in [
        "create:1",
        "clone:1",
        "set:1",
        "start:1",
        "exec:1",
        "snapshot:1",
    ] {
        env.ok(&env.phoenix(&["delete", "--yes", "8200", "8201", "8202"], &[]));
        let _ = std::fs::remove_dir_all(env.host("/srv"));
        let _ = std::fs::remove_dir_all(env.root.join("var/lib/pct-emulator"));
        let failed = env.phoenix(&["up"], &[("PCT_EMU_FAIL", fail)]);
        assert_eq!(
            failed.status.code(),
            Some(1),
            "with {fail}: {}",
            String::from_utf8_lossy(&failed.stdout)
        );
        let text = String::from_utf8_lossy(&failed.stdout).into_owned();
        assert!(text.contains("FAILED at "), "with {fail}: {text}");
        let again = env.ok(&env.phoenix(&["up"], &[]));
        assert!(
            again.contains("3 ok, 0 failed"),
            "re-run after {fail}: {again}"
        );
        assert_eq!(
            env.state(),
            clean,
            "state after {fail} and a re-run differs from a clean run"
        );
        // And the run after that has nothing left to do.
        env.take_log();
        env.ok(&env.phoenix(&["up"], &[]));
        assert_eq!(
            mutations(&env.take_log()),
            Vec::<&String>::new(),
            "after {fail}"
        );
    }
}

#[test]
fn a_clone_whose_source_has_another_privilege_fails_before_any_mutating_call() {
    let Some(env) = Env::new("vmbre83", &[8300, 8301]) else {
        return;
    };
    // The source exists, unprivileged (Proxmox's create default).
    env.write(
        &[(
            8300,
            env.ct(
                8300,
                json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                json!({"template_snapshot_name": "golden"}),
            ),
        )],
        json!({}),
    );
    env.ok(&env.phoenix(&["up"], &[]));
    env.take_log();

    // Now the config wants a privileged clone of it (and says the source is privileged).
    env.write(
        &[
            (
                8300,
                env.ct(
                    8300,
                    json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                    json!({"template_snapshot_name": "golden", "unprivileged": false}),
                ),
            ),
            (
                8301,
                env.ct(
                    8301,
                    json!({"clone_from_ctid": 8300}),
                    json!({"unprivileged": false}),
                ),
            ),
        ],
        json!({}),
    );
    let out = env.phoenix(&["up"], &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("CT 8301 would be cloned from CT 8300, which is unprivileged, but the config says privileged"),
        "{text}"
    );
    assert!(
        text.contains("CT 8300 exists as unprivileged but the config says privileged"),
        "{text}"
    );
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());
    assert!(!env.host("/etc/pve/lxc/8301.conf").exists());

    // A config that contradicts itself never reaches pct: validation stops it (exit 2).
    env.write(
        &[
            (
                8300,
                env.ct(
                    8300,
                    json!({"template": "local:vztmpl/phoenix-busybox_amd64.tar.gz"}),
                    json!({"template_snapshot_name": "golden"}),
                ),
            ),
            (
                8301,
                env.ct(
                    8301,
                    json!({"clone_from_ctid": 8300}),
                    json!({"unprivileged": false}),
                ),
            ),
        ],
        json!({}),
    );
    let out = env.phoenix(&["up"], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.take_log().is_empty());
}

#[test]
fn two_concurrent_ups_never_create_a_ct_twice() {
    let Some(env) = Env::new("vmbre84", &[8400, 8401, 8402]) else {
        return;
    };
    small_fleet(&env, 8400);
    // Slow pct calls keep the first run holding the fleet lock while the others start.
    let slow = [("PCT_EMU_LATENCY_MS", "150")];
    let spawn = |args: &[&str]| {
        env.command(Path::new(env!("CARGO_BIN_EXE_phoenix")), &slow)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn(&["up", "--wait"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = spawn(&["up", "--wait"]);
    let impatient = env.phoenix(&["up"], &[]);
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    env.ok(&first);
    let second_text = env.ok(&second);
    assert!(second_text.contains("0 changes made"), "{second_text}");
    let stderr = String::from_utf8_lossy(&impatient.stderr);
    assert_eq!(impatient.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("holds the fleet lock") && stderr.contains("--wait"),
        "{stderr}"
    );

    let log = env.take_log();
    let count = |prefix: &str| log.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("create 8400 "), 1, "{log:#?}");
    assert_eq!(count("clone 8400 8401 "), 1, "{log:#?}");
    assert_eq!(count("clone 8400 8402 "), 1, "{log:#?}");
}

#[test]
fn plan_prints_exact_argv_and_changes_nothing() {
    let Some(env) = Env::new("vmbre85", &[8500, 8501, 8502]) else {
        return;
    };
    small_fleet(&env, 8500);
    let plan = env.ok(&env.phoenix(&["plan"], &[]));
    assert!(plan.contains(
        "define    create pct create 8500 local:vztmpl/phoenix-busybox_amd64.tar.gz --cores 1 --hostname ct8500 --memory 64"
    ), "{plan}");
    assert!(
        plan.contains("define    create pct clone 8500 8502 --hostname ct8502 --snapname golden"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "volumes   create directory /srv/data owner 100000:100000 mode 0755 (now: missing)"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("verify    check  pct exec 8502 -- cat /proc/self/uid_map"),
        "{plan}"
    );
    assert!(
        plan.contains("customize create pct snapshot 8500 golden"),
        "{plan}"
    );
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());
    assert!(!env.host("/srv/data").exists());
    assert!(!env.host("/etc/pve/lxc/8500.conf").exists());
    assert!(!env.host("/etc/subuid").exists());
    // --dry-run on up is the same plan.
    let dry = env.ok(&env.phoenix(&["up", "--dry-run"], &[]));
    assert!(
        dry.contains("pct clone 8500 8501 --hostname ct8501 --snapname golden"),
        "{dry}"
    );
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());
}

#[test]
fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let Some(env) = Env::new("vmbre86", &[8600, 8601, 8602]) else {
        return;
    };
    small_fleet(&env, 8600);
    let plan_file = env.root.join("plan.json");

    // plan -o json, then apply: the fleet converges from nothing.
    let json = env.ok(&env.phoenix(&["plan", "-o", "json"], &[]));
    let plan: serde_json::Value = serde_json::from_str(&json).expect("plan JSON");
    assert_eq!(plan["format"], "phoenix-plan/1");
    assert!(
        plan["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["path"] == "/etc/pve/lxc/8600.conf" && r["digest"].is_null()),
        "{json}"
    );
    std::fs::write(&plan_file, &json).unwrap();
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());
    let applied = env.ok(&env.phoenix(&["apply", plan_file.to_str().unwrap()], &[]));
    assert!(
        applied.contains("3 containers: 3 ok, 0 failed, 0 skipped"),
        "{applied}"
    );
    for id in ["8600", "8601", "8602"] {
        assert_eq!(env.pct_stdout(&["status", id]).trim(), "status: running");
    }

    // Afterwards the plan announces no change.
    let again = env.ok(&env.phoenix(&["plan"], &[]));
    assert!(again.contains("; 0 changes planned"), "{again}");

    // The old plan is stale now (every conf it read changed): refused, nothing done.
    env.take_log();
    let stale = env.phoenix(&["apply", plan_file.to_str().unwrap()], &[]);
    assert_eq!(stale.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("plan is stale: ")
            && stderr.contains("changed since the plan was made; run phoenix plan again"),
        "{stderr}"
    );
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());

    // A fresh plan saved, then invalidated by editing a conf: refused with its path.
    let fresh = env.ok(&env.phoenix(&["plan", "-o", "json"], &[]));
    std::fs::write(&plan_file, &fresh).unwrap();
    let conf = env.host("/etc/pve/lxc/8601.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replacen("memory: 96", "memory: 80", 1)).unwrap();
    let before = std::fs::read_to_string(&conf).unwrap();
    env.take_log();
    let refused = env.phoenix(&["apply", plan_file.to_str().unwrap()], &[]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(
            "plan is stale: /etc/pve/lxc/8601.conf changed since the plan was made; run phoenix plan again"
        ),
        "{stderr}"
    );
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);

    // phoenix up re-plans and converges it back.
    let up = env.ok(&env.phoenix(&["up"], &[]));
    assert!(up.contains("memory: 80 -> 96"), "{up}");
}
