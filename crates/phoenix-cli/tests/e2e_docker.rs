//! End-to-end: Docker inside a REAL unprivileged Debian 12 container, converged by
//! `phoenix up` through the pct emulator, with packages installed by apt inside through
//! the emulator's filtered uplink (only DNS and the Debian mirror are reachable).
//!
//! One converged container is shared by the checks of this scenario, in order: from
//! nothing (fuse-overlayfs, a locally imported image runs), a no-op re-run (one ledger
//! read inside, no mutating call), the switch to overlay2 (daemon.json merged, other
//! keys kept, docker restarted once), base_setup added to the unchanged container.
//! Ids 8700-8709, bridge vmbre87.

mod support;

use std::time::Instant;

use serde_json::json;
use support::{Env, Uplink, mutations};

const ID: u32 = 8700;

fn exec(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["exec", "8700", "--"];
    all.extend(args);
    env.pct_stdout(&all).trim().to_owned()
}

fn fleet(env: &Env, extra: serde_json::Value) {
    let mut ct = env.ct(
        ID,
        json!({"template": "local:vztmpl/phoenix-debian-12_amd64.tar.zst"}),
        json!({"memory_mb": 1024, "storage_size_gb": 4, "features": ["docker"]}),
    );
    for (k, v) in extra.as_object().unwrap() {
        ct[k] = v.clone();
    }
    env.write(&[(ID, ct)], json!({}));
}

#[test]
fn docker_in_a_debian_container_converges_switches_driver_and_takes_base_setup() {
    let Some(env) = Env::new("vmbre87", &[ID]) else {
        return;
    };
    support::debian_template(&env);
    let _uplink = Uplink::up(&env, "10.127.0.0/24");
    fleet(&env, json!({}));

    // From nothing: fuse-overlayfs (the default), a local image runs.
    let t = Instant::now();
    let first = env.ok(&env.phoenix(&["up"], &[]));
    eprintln!(
        "timing: first up (create, apt install docker.io, verify) {:.1?}",
        t.elapsed()
    );
    assert!(first.contains("1 containers: 1 ok"), "{first}");
    assert!(first.contains("install feature docker"), "{first}");
    // The run tested what it changed: docker's own checks, all passing.
    for check in [
        "docker: service active",
        "docker: storage driver",
        "docker: a local image runs",
        "docker: outbound network to the package mirror",
        "docker: apparmor profile",
    ] {
        assert!(first.contains(&format!("ok   {check}")), "{check}: {first}");
    }
    assert_eq!(
        exec(&env, &["docker", "info", "--format", "{{.Driver}}"]),
        "fuse-overlayfs"
    );
    assert_eq!(
        exec(
            &env,
            &["docker", "run", "--rm", "phoenix/busybox", "echo", "hello"]
        ),
        "hello"
    );
    let conf = std::fs::read_to_string(env.host("/etc/pve/lxc/8700.conf")).unwrap();
    assert!(
        conf.contains("features: fuse=1,keyctl=1,nesting=1"),
        "{conf}"
    );
    assert!(
        conf.contains("lxc.apparmor.profile: lxc-docker-secure"),
        "{conf}"
    );
    assert!(!exec(&env, &["ls", "-A", "/tmp"]).contains("phoenix_run"));

    // A no-op re-run: the ledger is read once inside, nothing else, nothing mutates.
    env.take_log();
    let t = Instant::now();
    let second = env.ok(&env.phoenix(&["up"], &[]));
    eprintln!("timing: no-op up {:.1?}", t.elapsed());
    assert!(second.contains("0 changes made"), "{second}");
    let log = env.take_log();
    let inside: Vec<&String> = mutations(&log);
    assert_eq!(
        inside,
        vec![&"exec 8700 -- cat /var/lib/phoenix/ledger.json".to_owned()],
        "{log:#?}"
    );

    // Another daemon.json key set by hand survives the switch to overlay2; docker
    // restarts once.
    let daemon = env.root.join("daemon.json");
    std::fs::write(
        &daemon,
        "{\"storage-driver\": \"fuse-overlayfs\", \"log-level\": \"warn\"}\n",
    )
    .unwrap();
    // pct resolves host paths under the root (the emulator as phoenix does).
    env.ok(&env.pct(&["push", "8700", "/daemon.json", "/etc/docker/daemon.json"]));
    fleet(&env, json!({"docker": {"storage_driver": "overlay2"}}));
    env.take_log();
    let t = Instant::now();
    let third = env.ok(&env.phoenix(&["up"], &[]));
    eprintln!("timing: switch to overlay2 {:.1?}", t.elapsed());
    assert!(third.contains("install feature docker"), "{third}");
    let log = env.take_log();
    let restarts = log
        .iter()
        .filter(|l| l.starts_with("exec 8700 -- systemctl restart docker"))
        .count();
    assert_eq!(restarts, 1, "{log:#?}");
    assert_eq!(
        exec(&env, &["docker", "info", "--format", "{{.Driver}}"]),
        "overlay2"
    );
    let json: serde_json::Value =
        serde_json::from_str(&exec(&env, &["cat", "/etc/docker/daemon.json"])).unwrap();
    assert_eq!(json["storage-driver"], "overlay2");
    assert_eq!(json["log-level"], "warn");

    // base_setup added to the unchanged container is installed on the next run.
    fleet(
        &env,
        json!({"docker": {"storage_driver": "overlay2"}, "features": ["base_setup", "docker"]}),
    );
    let t = Instant::now();
    let fourth = env.ok(&env.phoenix(&["up"], &[]));
    eprintln!("timing: base_setup added {:.1?}", t.elapsed());
    assert!(fourth.contains("install feature base_setup"), "{fourth}");
    assert!(!fourth.contains("install feature docker"), "{fourth}");
    assert_eq!(exec(&env, &["cat", "/etc/timezone"]), "UTC");

    // A failing health check of the config: exit 1, naming the container, the suite
    // and the check, with its last lines; no staging directory is left.
    let bin = env.config.parent().unwrap().join("bin/checks");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("web.sh"),
        "echo checking the web page\necho 'curl: (7) connection refused' >&2\nexit 7\n",
    )
    .unwrap();
    fleet(
        &env,
        json!({"docker": {"storage_driver": "overlay2"}, "features": ["base_setup", "docker"],
               "tests": {"health_checks": [{"name": "web answers", "type": "script", "path": "checks/web.sh"}]}}),
    );
    let t = Instant::now();
    let failed = env.phoenix(&["test", "8700", "--suite", "health"], &[]);
    eprintln!("timing: phoenix test (6 health checks) {:.1?}", t.elapsed());
    let text = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert!(
        text.contains("CT 8700 health check 'web answers' failed:"),
        "{text}"
    );
    assert!(text.contains("curl: (7) connection refused"), "{text}");
    assert!(text.contains("6 checks: 5 passed, 1 failed"), "{text}");
    assert!(!exec(&env, &["ls", "-A", "/tmp"]).contains("phoenix_run"));
}
