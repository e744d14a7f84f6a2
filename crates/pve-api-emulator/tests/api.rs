//! The emulator over HTTPS, without containers: start-up, the token check, what a token
//! may not do, the config view, replication, tasks (failing cheaply through
//! `PCT_EMU_FAIL` and the emulator's own fault injection), lock injection and the
//! request log.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Emu, encode, fingerprint, request};
use serde_json::json;

#[test]
fn start_up_prints_the_fingerprint_of_the_served_certificate_and_writes_a_private_token() {
    let emu = Emu::start(&[]);
    let r = emu.call("GET", "/api2/json/version", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["release"], "8.2");
    assert_eq!(fingerprint(&r.cert), emu.fingerprint);
    // the PEM written is the certificate served
    let pem = std::fs::read_to_string(&emu.cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let token_file = emu.dir.path().join("token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (id, secret) = emu.token.split_once('=').unwrap();
    assert_eq!(id, "phoenix@pve!test");
    assert_eq!(secret.len(), 36);
    // the node roots, as the design lays them out
    for n in ["pve1", "pve2"] {
        let root = emu.node_root(n);
        assert_eq!(
            std::fs::read_to_string(root.join("etc/hostname")).unwrap(),
            format!("{n}\n")
        );
        assert_eq!(
            std::fs::read_link(root.join("etc/pve/lxc")).unwrap(),
            std::path::Path::new(&format!("nodes/{n}/lxc"))
        );
        assert!(
            root.join("var/lib/vz/template/cache/phoenix-busybox_amd64.tar.gz")
                .is_file()
        );
    }
    let kh = std::fs::read_to_string(emu.root().join("ssh/known_hosts")).unwrap();
    assert_eq!(kh.lines().count(), 2);
    assert!(kh.starts_with("pve1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"));
}

#[test]
fn a_request_without_the_right_token_is_401_and_no_secret_is_logged() {
    let emu = Emu::start(&[]);
    let (id, secret) = emu.token.split_once('=').unwrap();
    let none = request(&emu.addr, "GET", "/api2/json/version", &[], None);
    assert_eq!(
        (none.status, none.reason.as_str()),
        (401, "authentication failure")
    );
    assert_eq!(
        none.body,
        json!({"data": null, "message": "authentication failure\n"})
    );
    let wrong = format!("{id}={}", "0".repeat(36));
    let r = request(&emu.addr, "GET", "/api2/json/version", &[], Some(&wrong));
    assert_eq!(r.status, 401);
    let other_id = format!("root@pam!test={secret}");
    let r = request(&emu.addr, "GET", "/api2/json/nodes", &[], Some(&other_id));
    assert_eq!(r.status, 401);
    let nodes = emu.ok("GET", "/api2/json/nodes", &[]);
    assert_eq!(nodes[1]["node"], "pve2");
    let log = emu.request_log();
    assert_eq!(
        log,
        "GET /api2/json/version 401\nGET /api2/json/version 401\nGET /api2/json/nodes 401\nGET /api2/json/nodes 200\n"
    );
    assert!(!log.contains(secret));
    let all_files = walk(emu.dir.path());
    for f in all_files.iter().filter(|f| !f.ends_with("token")) {
        let text = std::fs::read(f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(secret),
            "{} holds the secret",
            f.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(walk(&p));
        } else if ft.is_file() && e.metadata().unwrap().len() < 1 << 20 {
            out.push(p);
        }
    }
    out
}

#[test]
fn root_only_settings_are_403_and_raw_lxc_keys_400_under_a_token() {
    let emu = Emu::start(&[]);
    let create = |extra: &[(&str, &str)]| {
        let mut form = vec![
            ("vmid", "150"),
            ("ostemplate", common::TEMPLATE),
            ("unprivileged", "1"),
        ];
        form.extend_from_slice(extra);
        emu.call("POST", "/api2/json/nodes/pve1/lxc", &form)
    };
    let r = create(&[("mp0", "/srv/x,mp=/x")]);
    assert_eq!(r.status, 403);
    assert_eq!(
        r.reason,
        "Permission check failed (mount point type bind is only allowed for root@pam)"
    );
    assert_eq!(
        r.body["message"],
        "Permission check failed (mount point type bind is only allowed for root@pam)\n"
    );
    let r = create(&[("dev0", "/dev/dri/renderD128")]);
    assert_eq!(r.status, 403);
    assert!(
        r.reason
            .contains("configuring device passthrough is only allowed for root@pam")
    );
    let r = create(&[("features", "nesting=1,keyctl=1")]);
    assert_eq!(
        r.reason,
        "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)"
    );
    let r = create(&[("lxc.idmap", "u 0 100000 65536")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.reason, "Parameter verification failed.");
    assert_eq!(
        r.body["errors"]["lxc.idmap"],
        "property is not defined in schema and the schema does not allow additional properties"
    );
    // nothing was created or reserved by the refusals
    assert_eq!(
        emu.ok("GET", "/api2/json/cluster/nextid", &[]),
        json!("100")
    );
    assert!(
        !emu.node_root("pve1")
            .join("etc/pve/nodes/pve1/lxc/150.conf")
            .exists()
    );
}

/// A conf the node path wrote on pve1, as phoenix over ssh would.
const CONF: &str = "arch: amd64\nhostname: ct120\nmemory: 64\nostype: debian\nrootfs: local-zfs:subvol-120-disk-0,size=1G\nunprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n";

#[test]
fn a_conf_written_on_one_node_is_served_replicated_and_edited_through_the_api() {
    let emu = Emu::start(&[]);
    let own = emu.node_root("pve1").join("etc/pve/lxc/120.conf");
    std::fs::write(&own, CONF).unwrap();

    let config = emu.ok("GET", "/api2/json/nodes/pve1/lxc/120/config", &[]);
    let sha1 = sha1_hex(CONF.as_bytes());
    assert_eq!(config["digest"], sha1);
    assert_eq!(config["memory"], 64);
    assert_eq!(config["hostname"], "ct120");
    assert_eq!(config["unprivileged"], 1);
    assert_eq!(
        config["lxc"],
        json!([
            ["lxc.idmap", "u 0 100000 65536"],
            ["lxc.idmap", "g 0 100000 65536"]
        ])
    );
    // replicated into pve2's /etc/pve, and the vmlist says where it lives
    let copy = emu
        .node_root("pve2")
        .join("etc/pve/nodes/pve1/lxc/120.conf");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), CONF);
    let vmlist = std::fs::read_to_string(emu.node_root("pve2").join("etc/pve/.vmlist")).unwrap();
    assert!(vmlist.contains("\"120\":{\"node\":\"pve1\",\"type\":\"lxc\",\"version\":1}"));

    let vms = emu.ok("GET", "/api2/json/cluster/resources?type=vm", &[]);
    assert_eq!(vms.as_array().unwrap().len(), 1);
    assert_eq!(vms[0]["id"], "lxc/120");
    assert_eq!(vms[0]["node"], "pve1");
    assert_eq!(vms[0]["status"], "stopped");
    assert_eq!(vms[0]["maxmem"], 64 << 20);
    assert_eq!(vms[0]["maxdisk"], 1u64 << 30);
    let all = emu.ok("GET", "/api2/json/cluster/resources", &[]);
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "node").count(), 2);
    assert!(kinds.contains(&"storage"));
    let storage = emu.ok("GET", "/api2/json/cluster/resources?type=storage", &[]);
    assert!(
        storage
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "storage/pve2/local" && s["shared"] == 0)
    );
    assert_eq!(
        emu.ok("GET", "/api2/json/cluster/nextid", &[]),
        json!("100")
    );
    let r = emu.call("GET", "/api2/json/cluster/nextid?vmid=120", &[]);
    assert_eq!(r.status, 400);
    assert_eq!(
        emu.ok("GET", "/api2/json/nodes/pve1/lxc", &[])[0]["vmid"],
        120
    );
    assert_eq!(emu.ok("GET", "/api2/json/nodes/pve2/lxc", &[]), json!([]));
    let st = emu.ok("GET", "/api2/json/nodes/pve1/lxc/120/status/current", &[]);
    assert_eq!(
        (st["status"].as_str(), st["vmid"].as_u64()),
        (Some("stopped"), Some(120))
    );
    // the CT is not on pve2
    let r = emu.call("GET", "/api2/json/nodes/pve2/lxc/120/config", &[]);
    assert_eq!(r.status, 500);
    assert_eq!(
        r.reason,
        "Configuration file 'nodes/pve2/lxc/120.conf' does not exist"
    );

    // a stale digest is refused, the right one lets the change through
    let r = emu.call(
        "PUT",
        "/api2/json/nodes/pve1/lxc/120/config",
        &[("memory", "96"), ("digest", &"0".repeat(40))],
    );
    assert_eq!(r.status, 500);
    assert_eq!(
        r.reason,
        "detected modified configuration - file changed by other user? Try again."
    );
    let r = emu.ok(
        "PUT",
        "/api2/json/nodes/pve1/lxc/120/config",
        &[("memory", "96"), ("onboot", "1"), ("digest", &sha1)],
    );
    assert_eq!(r, json!(null));
    let config = emu.ok("GET", "/api2/json/nodes/pve1/lxc/120/config", &[]);
    assert_eq!(config["memory"], 96);
    assert_eq!(config["onboot"], 1);
    assert_eq!(
        config["lxc"].as_array().unwrap().len(),
        2,
        "raw lines are kept"
    );
    assert!(
        std::fs::read_to_string(&copy)
            .unwrap()
            .contains("memory: 96")
    );
    // a bad value is pct's 400
    let r = emu.call(
        "PUT",
        "/api2/json/nodes/pve1/lxc/120/config",
        &[("memory", "lots")],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.body["errors"]["memory"]
            .as_str()
            .unwrap()
            .contains("type check")
    );
    // a root-only change to an existing CT
    let r = emu.call(
        "PUT",
        "/api2/json/nodes/pve1/lxc/120/config",
        &[("mp0", "/srv/a,mp=/a")],
    );
    assert_eq!(r.status, 403);
    // cross-node clones need shared storage, which the emulator has not
    let r = emu.call(
        "POST",
        "/api2/json/nodes/pve1/lxc/120/clone",
        &[("newid", "121"), ("target", "pve2")],
    );
    assert_eq!(r.status, 500);
    assert_eq!(
        r.reason,
        "can't clone CT to node 'pve2' (CT uses local storage)"
    );
    let r = emu.call(
        "POST",
        "/api2/json/nodes/pve1/lxc/120/clone",
        &[
            ("newid", "121"),
            ("target", "pve2"),
            ("storage", "local-zfs"),
            ("full", "1"),
        ],
    );
    assert_eq!(r.reason, "can't clone to non-shared storage 'local-zfs'");
    // removing it on the owner removes the copies
    std::fs::remove_file(&own).unwrap();
    emu.ok("GET", "/api2/json/version", &[]);
    assert!(!copy.exists());

    let log = emu.request_log();
    assert!(log.lines().all(|l| l.split(' ').count() == 3), "{log}");
    assert!(log.contains("PUT /api2/json/nodes/pve1/lxc/120/config 200\n"));
}

fn sha1_hex(bytes: &[u8]) -> String {
    phoenix_pveconf::conf::Digest::of(bytes).to_string()
}

#[test]
fn a_failing_task_answers_a_upid_then_stops_with_its_error_and_log() {
    let emu = Emu::start(&[
        ("PCT_EMU_FAIL", "create:1"),
        ("PVE_API_EMU_FAIL_TASK", "vzstart:130"),
    ]);
    let upid = emu.ok(
        "POST",
        "/api2/json/nodes/pve2/lxc",
        &[
            ("vmid", "130"),
            ("ostemplate", common::TEMPLATE),
            ("memory", "64"),
        ],
    );
    let upid = upid.as_str().unwrap().to_owned();
    let parts: Vec<&str> = upid.split(':').collect();
    assert_eq!(parts.len(), 9, "{upid}");
    assert_eq!(
        (parts[0], parts[1], parts[5], parts[6], parts[7], parts[8]),
        ("UPID", "pve2", "vzcreate", "130", "phoenix@pve!test", "")
    );
    assert!(
        parts[2..5]
            .iter()
            .all(|p| p.len() == 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    let (exit, log) = emu.wait("pve2", &upid);
    assert_eq!(
        exit,
        "unable to create CT 130 - emulated failure (PCT_EMU_FAIL)"
    );
    assert_eq!(
        log.last().unwrap(),
        "TASK ERROR: unable to create CT 130 - emulated failure (PCT_EMU_FAIL)"
    );
    let status = emu.ok(
        "GET",
        &format!("/api2/json/nodes/pve2/tasks/{}/status", encode(&upid)),
        &[],
    );
    assert_eq!(status["type"], "vzcreate");
    assert_eq!(status["exitstatus"], exit);
    // the task belongs to pve2
    let r = emu.call(
        "GET",
        &format!("/api2/json/nodes/pve1/tasks/{}/status", encode(&upid)),
        &[],
    );
    assert_eq!(r.status, 500);

    // the emulator's own injected task failure: several lines, the error last
    std::fs::write(emu.node_root("pve2").join("etc/pve/lxc/130.conf"), CONF).unwrap();
    let (exit, log) = emu.task(
        "pve2",
        "POST",
        "/api2/json/nodes/pve2/lxc/130/status/start",
        &[],
    );
    assert_eq!(exit, "startup for container '130' failed");
    assert!(log.len() >= 3, "{log:?}");
    assert_eq!(log[log.len() - 2], "startup for container '130' failed");
    // a second create of an id that exists anywhere in the cluster is refused
    let r = emu.call(
        "POST",
        "/api2/json/nodes/pve1/lxc",
        &[("vmid", "130"), ("ostemplate", common::TEMPLATE)],
    );
    assert_eq!(r.status, 500);
    assert_eq!(r.reason, "CT 130 already exists on node 'pve2'");
}

#[test]
fn injected_lock_timeouts_fail_the_next_mutations_then_pass() {
    let emu = Emu::start(&[
        ("PVE_API_EMU_LOCK_FAIL", "1"),
        ("PVE_API_EMU_TASK_LOCKED", "1"),
    ]);
    std::fs::write(emu.node_root("pve1").join("etc/pve/lxc/140.conf"), CONF).unwrap();
    // reads are never refused
    emu.ok("GET", "/api2/json/nodes/pve1/lxc/140/config", &[]);
    let r = emu.call(
        "PUT",
        "/api2/json/nodes/pve1/lxc/140/config",
        &[("memory", "80")],
    );
    assert_eq!(r.status, 500);
    assert_eq!(
        r.reason,
        "can't lock file '/run/lock/lxc/pve-config-140.lock' - got timeout"
    );
    assert_eq!(
        r.body["message"],
        "can't lock file '/run/lock/lxc/pve-config-140.lock' - got timeout\n"
    );
    emu.ok(
        "PUT",
        "/api2/json/nodes/pve1/lxc/140/config",
        &[("memory", "80")],
    );
    // the next clone task ends locked; the one after runs (and fails in pct: no volume)
    let (exit, log) = emu.task(
        "pve1",
        "POST",
        "/api2/json/nodes/pve1/lxc/140/clone",
        &[("newid", "141")],
    );
    assert_eq!(exit, "CT is locked (disk)");
    assert_eq!(log.last().unwrap(), "TASK ERROR: CT is locked (disk)");
    let (exit, _) = emu.task(
        "pve1",
        "POST",
        "/api2/json/nodes/pve1/lxc/140/clone",
        &[("newid", "141")],
    );
    assert_ne!(exit, "CT is locked (disk)");
    let log = emu.request_log();
    assert!(log.contains("PUT /api2/json/nodes/pve1/lxc/140/config 500\n"));
}

#[test]
fn the_written_certificate_is_a_trust_anchor_for_both_names() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::io::{Read, Write};
    use std::sync::Arc;
    let emu = Emu::start(&[]);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&emu.cert).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    for name in ["127.0.0.1", "localhost"] {
        let conn = rustls::ClientConnection::new(cfg.clone(), ServerName::try_from(name).unwrap())
            .unwrap();
        let sock = std::net::TcpStream::connect(&emu.addr).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(b"GET /api2/json/version HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        let _ = tls.read_to_string(&mut text);
        assert!(text.starts_with("HTTP/1.1 401 "), "{name}: {text}");
    }
}

#[test]
fn a_kept_alive_connection_serves_several_requests() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::Arc;
    let emu = Emu::start(&[]);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&emu.cert).unwrap())
        .unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let sock = std::net::TcpStream::connect(&emu.addr).unwrap();
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, sock));
    for path in [
        "/api2/json/version",
        "/api2/json/cluster/nextid",
        "/api2/json/nodes",
    ] {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken={}\r\n\r\n",
            emu.token
        );
        tls.get_mut().write_all(req.as_bytes()).unwrap();
        let mut status = String::new();
        tls.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200 OK"), "{path}: {status}");
        let mut length = 0;
        loop {
            let mut h = String::new();
            tls.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.strip_prefix("Content-Length: ") {
                length = v.trim().parse().unwrap();
            }
            if let Some(v) = h.strip_prefix("Connection: ") {
                assert_eq!(v.trim(), "Keep-Alive");
            }
        }
        let mut body = vec![0; length];
        tls.read_exact(&mut body).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v.get("data").is_some());
    }
}

#[test]
fn the_command_line_documents_its_environment_and_refuses_bad_use() {
    let out = std::process::Command::new(common::EMULATOR)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "PVE_API_EMU_LATENCY_MS",
        "PVE_API_EMU_LOCK_FAIL",
        "PVE_API_EMU_TASK_LOCKED",
        "PVE_API_EMU_FAIL_TASK",
        "PVE_API_EMU_LOG",
        "PCT_EMU_FAIL",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
    let out = std::process::Command::new(common::EMULATOR)
        .args(["--listen", "127.0.0.1:0", "--nodes", "pve1", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument '--bogus'"));
    let out = std::process::Command::new(common::EMULATOR)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--nodes",
            "pve1",
            "--token-file",
            "/nonexistent/t",
        ])
        .env_remove("PHOENIX_ROOT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PHOENIX_ROOT"));
    let out = std::process::Command::new(common::EMULATOR)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--nodes",
            "pve1,Bad_Name",
            "--token-file",
            "t",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
