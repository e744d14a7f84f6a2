//! The project's own API client (`phoenix-pveapi`) against the emulator, without
//! containers: both ways of trusting its certificate, typed reads, a change with a digest,
//! injected lock timeouts retried until they pass, a locked clone task started again, and
//! a failing task's log in the error.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Emu;
use phoenix_pveapi::{ApiError, ApiToken, Client, ClientConfig, RetryPolicy, Trust};

const CONF: &str = "arch: amd64\nhostname: ct160\nmemory: 64\nostype: debian\nrootfs: local-zfs:subvol-160-disk-0,size=1G\nunprivileged: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n";

type Records = Arc<Mutex<Vec<(String, String, u16, u32)>>>;

fn client(emu: &Emu, trust: Trust, host: &str) -> (Client, Records) {
    let port = emu.addr.rsplit_once(':').unwrap().1;
    let token = ApiToken::from_file(emu.dir.path().join("token")).unwrap();
    let mut cfg = ClientConfig::new(format!("https://{host}:{port}"), token, trust);
    cfg.retry = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    };
    let records: Records = Arc::default();
    let r = records.clone();
    let c = Client::new(cfg)
        .unwrap()
        .task_poll(Duration::from_millis(10), Duration::from_millis(100))
        .on_request(Arc::new(move |rec| {
            r.lock().unwrap().push((
                format!("{:?}", rec.method),
                rec.path.clone(),
                rec.status,
                rec.attempt,
            ))
        }));
    (c, records)
}

fn pinned(emu: &Emu) -> (Client, Records) {
    client(
        emu,
        Trust::Fingerprint(emu.fingerprint.parse().unwrap()),
        "127.0.0.1",
    )
}

#[test]
fn the_client_trusts_the_pin_or_the_certificate_file_and_reads_the_cluster() {
    let emu = Emu::start(&[]);
    let (c, _) = pinned(&emu);
    assert_eq!(c.version().unwrap().version, "8.2.4");
    assert_eq!(c.next_id().unwrap(), 100);
    assert_eq!(c.nodes().unwrap(), ["pve1", "pve2"]);
    let ca = Trust::CaFile(emu.cert.clone().try_into().unwrap());
    let (c2, _) = client(&emu, ca, "localhost");
    assert_eq!(c2.version().unwrap().version, "8.2.4");
    let wrong = Trust::Fingerprint("00".repeat(32).parse().unwrap());
    let (c3, _) = client(&emu, wrong, "127.0.0.1");
    assert!(matches!(
        c3.version().unwrap_err().innermost(),
        ApiError::Tls { .. }
    ));

    std::fs::write(emu.node_root("pve2").join("etc/pve/lxc/160.conf"), CONF).unwrap();
    let config = c.lxc_config("pve2", 160).unwrap();
    assert_eq!(config.options["memory"], "64");
    assert_eq!(config.raw.len(), 2);
    assert_eq!(
        config.digest,
        phoenix_pveconf::conf::Digest::of(CONF.as_bytes()).to_string()
    );
    assert_eq!(config.to_conf_text(), CONF);
    let status = c.lxc_status("pve2", 160).unwrap();
    assert_eq!(status.vmid, 160);
    let vms = c.cluster_resources(None).unwrap();
    assert!(!vms.is_empty());
    assert_eq!(c.next_id().unwrap(), 100);

    let mut bind = BTreeMap::new();
    bind.insert("mp0".to_owned(), "/srv/x,mp=/x".to_owned());
    let e = c.lxc_set_config("pve2", 160, &bind, &[], None).unwrap_err();
    match e {
        ApiError::Forbidden { message, .. } => assert_eq!(
            message,
            "Permission check failed (mount point type bind is only allowed for root@pam)"
        ),
        other => panic!("{other}"),
    }
    let mut raw = BTreeMap::new();
    raw.insert("lxc.apparmor.profile".to_owned(), "unconfined".to_owned());
    assert!(matches!(
        c.lxc_set_config("pve2", 160, &raw, &[], None).unwrap_err(),
        ApiError::Params { .. }
    ));
}

#[test]
fn injected_lock_timeouts_are_retried_until_the_change_goes_through() {
    let emu = Emu::start(&[("PVE_API_EMU_LOCK_FAIL", "2")]);
    std::fs::write(emu.node_root("pve1").join("etc/pve/lxc/160.conf"), CONF).unwrap();
    let (c, records) = pinned(&emu);
    let digest = c.lxc_config("pve1", 160).unwrap().digest;
    let mut p = BTreeMap::new();
    p.insert("memory".to_owned(), "128".to_owned());
    c.lxc_set_config("pve1", 160, &p, &[], Some(&digest))
        .unwrap();
    assert_eq!(c.lxc_config("pve1", 160).unwrap().options["memory"], "128");
    let puts: Vec<(u16, u32)> = records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.0 == "Put")
        .map(|r| (r.2, r.3))
        .collect();
    assert_eq!(puts, [(500, 1), (500, 2), (200, 3)]);
    let log = emu.request_log();
    assert_eq!(
        log.matches("PUT /api2/json/nodes/pve1/lxc/160/config 500\n")
            .count(),
        2
    );
    assert!(!log.contains(emu.token.split_once('=').unwrap().1));
}

#[test]
fn a_locked_clone_task_is_started_again_and_a_failing_task_shows_its_log() {
    let emu = Emu::start(&[
        ("PVE_API_EMU_TASK_LOCKED", "1"),
        ("PCT_EMU_FAIL", "create:1"),
    ]);
    std::fs::write(emu.node_root("pve1").join("etc/pve/lxc/160.conf"), CONF).unwrap();
    let (c, _) = pinned(&emu);
    // the second attempt runs pct, which fails for real: this CT has no volume on disk
    let e = c.lxc_clone("pve1", 160, 161, &BTreeMap::new()).unwrap_err();
    match e.innermost() {
        ApiError::Task {
            exitstatus, log, ..
        } => {
            assert_ne!(exitstatus, "CT is locked (disk)");
            assert!(log.last().unwrap().starts_with("TASK ERROR: "), "{log:?}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        emu.request_log()
            .matches("POST /api2/json/nodes/pve1/lxc/160/clone 200\n")
            .count(),
        2,
        "the locked task was followed by a second clone"
    );
    let e = c
        .lxc_create("pve2", 170, common::TEMPLATE, &BTreeMap::new())
        .unwrap_err();
    match e.innermost() {
        ApiError::Task {
            node,
            exitstatus,
            log,
            ..
        } => {
            assert_eq!(node, "pve2");
            assert_eq!(
                exitstatus,
                "unable to create CT 170 - emulated failure (PCT_EMU_FAIL)"
            );
            assert_eq!(log.last().unwrap(), &format!("TASK ERROR: {exitstatus}"));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("emulated failure"), "{e}");
}
