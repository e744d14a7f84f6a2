//! Every typed call against a scripted transport: the requests it sends (a transcript
//! snapshot) and what it makes of Proxmox's answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use phoenix_pveapi::fake::ScriptedTransport;
use phoenix_pveapi::{
    ApiError, Client, GuestKind, GuestState, Method, RawResponse, Resource, ResourceKind,
    RetryPolicy,
};
use serde_json::json;

const UPID: &str = "UPID:pve1:0000A1B2:0001C3D4:6750F00D:vzcreate:101:phoenix@pve!converge:";

fn setup() -> (Arc<ScriptedTransport>, Client) {
    let t = Arc::new(ScriptedTransport::new());
    let client = Client::with_transport(t.clone(), RetryPolicy::none());
    (t, client)
}

fn status_path(upid: &str) -> String {
    format!("/nodes/pve1/tasks/{upid}/status")
}

fn stopped_ok(t: &ScriptedTransport, upid: &str) {
    t.reply(
        Method::Get,
        &status_path(upid),
        RawResponse::data(json!({"status": "stopped", "exitstatus": "OK", "upid": upid})),
    );
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn reads() {
    let (t, client) = setup();
    t.reply(
        Method::Get,
        "/version",
        RawResponse::data(json!({"version": "8.2.4", "release": "8.2", "repoid": "faa83925"})),
    );
    t.reply(
        Method::Get,
        "/cluster/resources?type=vm",
        RawResponse::data(json!([
            {"id": "lxc/101", "type": "lxc", "vmid": 101, "node": "pve1", "status": "running",
             "name": "web", "template": 0, "maxmem": 536870912, "mem": 1234, "maxcpu": 2,
             "cpu": 0.01, "maxdisk": 8589934592u64},
            {"id": "qemu/200", "type": "qemu", "vmid": "200", "node": "pve2", "status": "stopped",
             "template": 1},
        ])),
    );
    t.reply(
        Method::Get,
        "/cluster/resources",
        RawResponse::data(json!([
            {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online",
             "maxcpu": 8, "cpu": 0.25, "maxmem": 34359738368u64, "mem": 1073741824},
            {"id": "storage/pve1/local", "type": "storage", "node": "pve1", "storage": "local",
             "shared": 0, "status": "available"},
            {"id": "pool/ops", "type": "pool"},
        ])),
    );
    t.reply(
        Method::Get,
        "/cluster/nextid",
        RawResponse::data(json!("105")),
    );
    t.reply(
        Method::Get,
        "/nodes",
        RawResponse::data(json!([{"node": "pve1", "status": "online"}, {"node": "pve2"}])),
    );
    t.reply(
        Method::Get,
        "/nodes/pve1/lxc/101/status/current",
        RawResponse::data(json!({"status": "running", "vmid": "101", "name": "web"})),
    );
    t.reply(
        Method::Get,
        "/nodes/pve1/lxc/101/snapshot",
        RawResponse::data(json!([
            {"name": "tmpl", "snaptime": 1735689600, "description": ""},
            {"name": "current", "running": 1, "parent": "tmpl"},
        ])),
    );
    t.reply(
        Method::Get,
        "/nodes/pve1/lxc/101/config",
        RawResponse::data(json!({
            "hostname": "web", "memory": 512, "unprivileged": 1, "digest": "0123abcd",
            "lxc": [["lxc.idmap", "u 0 100000 65536"]],
        })),
    );

    let v = client.version().unwrap();
    assert_eq!(
        (v.version.as_str(), v.release.as_deref()),
        ("8.2.4", Some("8.2"))
    );

    let guests = client.cluster_resources(Some(ResourceKind::Vm)).unwrap();
    let Resource::Guest(web) = &guests[0] else {
        panic!("{guests:?}")
    };
    assert_eq!(
        (web.kind, web.vmid, web.node.as_str(), &web.status),
        (GuestKind::Lxc, 101, "pve1", &GuestState::Running)
    );
    assert_eq!(web.maxmem, Some(536_870_912));
    assert_eq!(web.maxcpu, Some(2.0));
    let Resource::Guest(vm) = &guests[1] else {
        panic!("{guests:?}")
    };
    assert!(vm.template && vm.kind == GuestKind::Qemu && vm.vmid == 200);
    assert_eq!(guests[1].node(), Some("pve2"));

    let all = client.cluster_resources(None).unwrap();
    assert!(matches!(&all[0], Resource::Node(n) if n.node == "pve1" && n.maxcpu == Some(8.0)));
    assert!(matches!(&all[1], Resource::Storage(s) if s.storage == "local" && !s.shared));
    assert_eq!(
        all[2],
        Resource::Other {
            id: "pool/ops".into(),
            kind: "pool".into()
        }
    );

    assert_eq!(client.next_id().unwrap(), 105);
    assert_eq!(client.nodes().unwrap(), ["pve1", "pve2"]);
    let status = client.lxc_status("pve1", 101).unwrap();
    assert!(status.is_running());
    assert_eq!((status.vmid, status.name.as_deref()), (101, Some("web")));
    assert_eq!(client.lxc_snapshots("pve1", 101).unwrap(), ["tmpl"]);
    let cfg = client.lxc_config("pve1", 101).unwrap();
    assert_eq!(cfg.options["memory"], "512");
    assert_eq!(cfg.digest, "0123abcd");

    assert_eq!(t.remaining(), 0);
    // Reads only: no mutating method in the transcript.
    assert!(t.requests().iter().all(|r| !r.method.is_mutating()));
    insta::assert_snapshot!(t.transcript());
}

#[test]
fn writes_wait_for_their_tasks() {
    let (t, client) = setup();
    let upid = |kind: &str| UPID.replace("vzcreate", kind);

    t.reply(
        Method::Post,
        "/nodes/pve1/lxc",
        RawResponse::data(json!(UPID)),
    );
    stopped_ok(&t, UPID);
    t.reply(
        Method::Post,
        "/nodes/pve1/lxc/900/clone",
        RawResponse::data(json!(upid("vzclone"))),
    );
    stopped_ok(&t, &upid("vzclone"));
    t.reply(
        Method::Put,
        "/nodes/pve1/lxc/101/config",
        RawResponse::data(json!(null)),
    );
    for (action, kind) in [
        ("status/start", "vzstart"),
        ("status/stop", "vzstop"),
        ("status/shutdown", "vzshutdown"),
    ] {
        t.reply(
            Method::Post,
            &format!("/nodes/pve1/lxc/101/{action}"),
            RawResponse::data(json!(upid(kind))),
        );
        stopped_ok(&t, &upid(kind));
    }
    // Proxmox answers null for template: no task to follow.
    t.reply(
        Method::Post,
        "/nodes/pve1/lxc/900/template",
        RawResponse::data(json!(null)),
    );
    t.reply(
        Method::Post,
        "/nodes/pve1/lxc/900/snapshot",
        RawResponse::data(json!(upid("vzsnapshot"))),
    );
    stopped_ok(&t, &upid("vzsnapshot"));
    t.reply(
        Method::Delete,
        "/nodes/pve1/lxc/101",
        RawResponse::data(json!(upid("vzdestroy"))),
    );
    stopped_ok(&t, &upid("vzdestroy"));

    let created = client
        .lxc_create(
            "pve1",
            101,
            "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            &map(&[
                ("memory", "512"),
                ("hostname", "web"),
                ("net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24"),
                ("unprivileged", "1"),
                ("description", "owner: ops & co\nline 2"),
            ]),
        )
        .unwrap();
    assert_eq!(created.upid.as_deref(), Some(UPID));
    assert_eq!((created.warnings, created.log.len()), (0, 0));

    let cloned = client
        .lxc_clone(
            "pve1",
            900,
            102,
            &map(&[("hostname", "web2"), ("full", "0"), ("snapname", "tmpl")]),
        )
        .unwrap();
    assert_eq!(cloned.upid, Some(upid("vzclone")));

    client
        .lxc_set_config(
            "pve1",
            101,
            &map(&[("memory", "1024"), ("onboot", "1")]),
            &["mp1".to_owned(), "dev0".to_owned()],
            Some("0123abcd"),
        )
        .unwrap();
    client.lxc_start("pve1", 101).unwrap();
    client.lxc_stop("pve1", 101).unwrap();
    client.lxc_shutdown("pve1", 101).unwrap();
    assert_eq!(client.lxc_template("pve1", 900).unwrap().upid, None);
    client.lxc_snapshot("pve1", 900, "tmpl").unwrap();
    client.lxc_destroy("pve1", 101).unwrap();

    assert_eq!(t.remaining(), 0);
    insta::assert_snapshot!(t.transcript());
}

#[test]
fn set_config_without_digest_or_delete_and_a_task_answer() {
    let (t, client) = setup();
    let upid = UPID.replace("vzcreate", "vzset");
    t.reply(
        Method::Put,
        "/nodes/pve1/lxc/101/config",
        RawResponse::data(json!(upid)),
    );
    stopped_ok(&t, &upid);
    client
        .lxc_set_config("pve1", 101, &map(&[("cores", "2")]), &[], None)
        .unwrap();
    assert_eq!(
        t.requests()[0].form,
        [("cores".to_owned(), "2".to_owned())],
        "no delete, no digest"
    );
    assert_eq!(t.remaining(), 0);
}

#[test]
fn path_segments_and_query_values_are_encoded() {
    let (t, client) = setup();
    t.reply(
        Method::Get,
        "/nodes/a%2Fb/lxc?x=1+2%263&y=%C3%A4",
        RawResponse::data(json!([])),
    );
    let got = client
        .get(
            &format!("/nodes/{}/lxc", phoenix_pveapi::encode_segment("a/b")),
            &[("x", "1 2&3".to_owned()), ("y", "ä".to_owned())],
        )
        .unwrap();
    assert_eq!(got, json!([]));
}

#[test]
fn wrong_shapes_are_decode_errors() {
    let (t, client) = setup();
    t.reply(
        Method::Get,
        "/cluster/nextid",
        RawResponse::data(json!("abc")),
    );
    t.reply(
        Method::Get,
        "/cluster/resources",
        RawResponse::data(json!({})),
    );
    t.reply(
        Method::Post,
        "/nodes/pve1/lxc/101/status/start",
        RawResponse::data(json!({"upid": 1})),
    );
    assert_eq!(
        client.next_id().unwrap_err().to_string(),
        "cannot read the answer to /cluster/nextid: expected a guest id, got \"abc\""
    );
    assert_eq!(
        client.cluster_resources(None).unwrap_err().to_string(),
        "cannot read the answer to /cluster/resources: expected the resources as an array, got an object"
    );
    let e = client.lxc_start("pve1", 101).unwrap_err();
    assert!(matches!(e, ApiError::Decode { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "cannot read the answer to /nodes/pve1/lxc/101/status/start: expected a task id (UPID), got {\"upid\":1}"
    );
}
