//! End-to-end: the NGINX gateway and application scripts in REAL unprivileged Debian
//! containers on the emulator (apt through the filtered uplink). A gateway container
//! (8790) and two upstreams serving a page with busybox httpd from their application
//! script (8791 by host name, 8792 under a path prefix). Checked: requests from the host
//! reach each upstream through the gateway; a second `phoenix up` changes nothing in the
//! gateway (no push, no reload) and runs no script; readdressing an upstream reloads the
//! gateway once and the request still works; a changed staged file runs the script
//! again; a failing script exits 1 with its last lines and leaves no staging directory.
//! Ids 8790-8792, bridge vmbre89, subnet 10.188.0.0/24.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{Env, Uplink, mutations};

fn net(env: &Env, last: u8) -> Value {
    json!({"name": "eth0", "bridge": env.bridge, "ip": format!("10.188.0.{last}/24"), "gw": "10.188.0.1"})
}

fn ct(env: &Env, id: u32, last: u8, extra: Value) -> Value {
    let mut c = env.ct(
        id,
        json!({"template": "local:vztmpl/phoenix-debian-12_amd64.tar.zst"}),
        json!({"memory_mb": 512, "storage_size_gb": 2, "network_config": net(env, last)}),
    );
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn write(env: &Env, upstream_ip: u8, script: &str) {
    let web = json!({"application_script": script, "application_files": ["web/index.html", "web/extra.txt"]});
    let mut a = web.clone();
    a["gateway"] = json!({"hostnames": ["web.test"], "upstream_port": 8080});
    let mut b = web;
    b["gateway"] = json!({"path_prefix": "/app/", "upstream_port": 8080});
    let lxc = json!({
        "8790": ct(env, 8790, 10, json!({})),
        "8791": ct(env, 8791, upstream_ip, a),
        "8792": ct(env, 8792, 12, b),
    });
    std::fs::write(
        env.config.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(&json!({"lxc_configs": lxc})).unwrap(),
    )
    .unwrap();
    std::fs::write(
        env.config.join("phoenix_hypervisor_config.json"),
        serde_json::to_string_pretty(&json!({"gateway": {"ctid": 8790, "http": "serve",
            "tls": {"certificate": "/etc/nginx/ssl/test.crt", "key": "/etc/nginx/ssl/test.key"}}}))
        .unwrap(),
    )
    .unwrap();
}

/// `get` until the answer contains `want` (at most 5 s: an nginx reload hands over to
/// new workers asynchronously), then the last answer.
fn get_until(host: Option<&str>, url: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..20 {
        last = get(host, url);
        if last.contains(want) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    last
}

fn get(host: Option<&str>, url: &str) -> String {
    let mut c = Command::new("curl");
    c.args(["-sS", "-k", "--max-time", "10"]);
    if let Some(h) = host {
        c.args(["-H", &format!("Host: {h}")]);
    }
    let out = c.arg(url).output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn copy_scripts(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gateway_scripts/web");
    std::fs::create_dir_all(to.join("web")).unwrap();
    for f in ["serve.sh", "fail.sh", "index.html", "extra.txt"] {
        std::fs::copy(from.join(f), to.join("web").join(f)).unwrap();
    }
}

#[test]
fn the_gateway_follows_the_fleet_and_scripts_run_when_their_inputs_change() {
    let Some(env) = Env::new("vmbre89", &[8790, 8791, 8792]) else {
        return;
    };
    support::debian_template(&env);
    let _uplink = Uplink::up(&env, "10.188.0.0/24");
    let bin = env.config.parent().unwrap().join("bin");
    copy_scripts(&bin);
    write(&env, 11, "web/serve.sh");

    let first = env.ok(&env.phoenix(&["up"], &[]));
    assert!(first.contains("3 containers: 3 ok"), "{first}");
    let page = get_until(Some("web.test"), "http://10.188.0.10/", "CT 8791");
    assert!(
        page.contains("phoenix test site") && page.contains("CT 8791"),
        "{page}"
    );
    let app = get_until(None, "http://10.188.0.10/app/", "CT 8792 app");
    assert!(app.contains("CT 8792 app"), "{app}");
    let tls = get(Some("web.test"), "https://10.188.0.10/");
    assert!(tls.contains("CT 8791"), "{tls}");
    let runs = env.pct_stdout(&["exec", "8791", "--", "cat", "/var/lib/web/runs"]);
    assert_eq!(runs.lines().count(), 1, "{runs}");

    // Nothing changed: no push into the gateway, no reload, no script.
    env.take_log();
    let second = env.ok(&env.phoenix(&["up"], &[]));
    assert!(second.contains("0 changes made"), "{second}");
    let log = env.take_log();
    let m = mutations(&log);
    assert!(
        m.iter()
            .all(|l| l.ends_with("-- cat /var/lib/phoenix/ledger.json")),
        "{m:#?}"
    );

    // Readdressing the upstream: the gateway is reloaded once and still routes.
    write(&env, 31, "web/serve.sh");
    let third = env.ok(&env.phoenix(&["up"], &[]));
    let log = env.take_log();
    let reloads = log
        .iter()
        .filter(|l| l.starts_with("exec 8790 -- env -i") && l.ends_with("/gateway.sh"))
        .count();
    assert_eq!(reloads, 1, "{third}\n{log:#?}");
    let page = get_until(Some("web.test"), "http://10.188.0.10/", "CT 8791");
    assert!(
        page.contains("CT 8791"),
        "after readdressing: {page}\n{third}"
    );

    // A changed staged file runs the script again (once per container using it).
    std::fs::write(bin.join("web/extra.txt"), "v2\n").unwrap();
    let fourth = env.ok(&env.phoenix(&["up"], &[]));
    assert!(
        fourth.contains("run application script web/serve.sh"),
        "{fourth}"
    );
    let extra = get_until(Some("web.test"), "http://10.188.0.10/extra.txt", "v2");
    assert!(extra.contains("v2"), "{extra}");

    // A failing script: exit 1 with its last lines, no staging directory left.
    write(&env, 31, "web/fail.sh");
    let failed = env.phoenix(&["up"], &[]);
    let text = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cannot bind port 8080: address in use"),
        "{text}"
    );
    let tmp = env.pct_stdout(&["exec", "8791", "--", "ls", "-A", "/tmp"]);
    assert!(!tmp.contains("phoenix_run"), "{tmp}");
}
