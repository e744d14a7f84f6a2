//! The retry rules: lock timeouts, locked containers inside tasks, 5xx and connection
//! failures are retried within the policy; 400, 401, 403, digest mismatches and other task
//! failures are not. Every attempt reaches the `on_request` hook.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phoenix_pveapi::fake::ScriptedTransport;
use phoenix_pveapi::{ApiError, Client, Method, RawResponse, RequestRecord, RetryPolicy};
use serde_json::json;

const LOCK_TIMEOUT: &str = "can't lock file '/run/lock/lxc/pve-config-101.conf' - got timeout";

fn upid(n: u32, kind: &str) -> String {
    format!("UPID:pve1:{n:08X}:00000001:6750F00D:{kind}:102:phoenix@pve!converge:")
}

fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    }
}

/// A client whose hook keeps every record.
fn setup(
    attempts: u32,
) -> (
    Arc<ScriptedTransport>,
    Client,
    Arc<Mutex<Vec<RequestRecord>>>,
) {
    let t = Arc::new(ScriptedTransport::new());
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    let client = Client::with_transport(t.clone(), policy(attempts))
        .on_request(Arc::new(move |r: &RequestRecord| {
            sink.lock().unwrap().push(r.clone())
        }))
        .task_poll(Duration::from_millis(1), Duration::from_millis(2));
    (t, client, records)
}

fn attempts_and_statuses(records: &Mutex<Vec<RequestRecord>>) -> Vec<(Method, u32, u16)> {
    records
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.method, r.attempt, r.status))
        .collect()
}

fn one(k: &str, v: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(k.to_owned(), v.to_owned())])
}

#[test]
fn a_lock_timeout_on_put_is_retried_then_succeeds() {
    let (t, client, records) = setup(6);
    let path = "/nodes/pve1/lxc/101/config";
    t.reply(Method::Put, path, RawResponse::error(500, LOCK_TIMEOUT))
        .reply(Method::Put, path, RawResponse::error(500, LOCK_TIMEOUT))
        .reply(Method::Put, path, RawResponse::data(json!(null)));
    client
        .lxc_set_config("pve1", 101, &one("memory", "1024"), &[], None)
        .unwrap();
    assert_eq!(t.remaining(), 0);
    assert_eq!(
        attempts_and_statuses(&records),
        [
            (Method::Put, 1, 500),
            (Method::Put, 2, 500),
            (Method::Put, 3, 200)
        ]
    );
    // The same form every time.
    let forms: Vec<_> = t.requests().into_iter().map(|r| r.form).collect();
    assert!(forms.iter().all(|f| f == &forms[0]));
    let r = &records.lock().unwrap()[0];
    assert_eq!(r.path, path);
}

#[test]
fn ct_is_locked_inside_a_clone_task_starts_the_clone_again() {
    let (t, client, records) = setup(4);
    let clone = "/nodes/pve1/lxc/900/clone";
    let (first, second) = (upid(1, "vzclone"), upid(2, "vzclone"));
    t.reply(Method::Post, clone, RawResponse::data(json!(first)))
        .reply(
            Method::Get,
            &format!("/nodes/pve1/tasks/{first}/status"),
            RawResponse::data(json!({"status": "stopped", "exitstatus": "CT is locked (clone)"})),
        )
        .reply(
            Method::Get,
            &format!("/nodes/pve1/tasks/{first}/log?start=0&limit=500"),
            RawResponse::data(json!([{"n": 1, "t": "CT is locked (clone)"}])),
        )
        .reply(Method::Post, clone, RawResponse::data(json!(second)))
        .reply(
            Method::Get,
            &format!("/nodes/pve1/tasks/{second}/status"),
            RawResponse::data(json!({"status": "running"})),
        )
        .reply(
            Method::Get,
            &format!("/nodes/pve1/tasks/{second}/status"),
            RawResponse::data(json!({"status": "stopped", "exitstatus": "OK"})),
        );
    let outcome = client
        .lxc_clone("pve1", 900, 102, &one("hostname", "web2"))
        .unwrap();
    assert_eq!(outcome.upid, Some(second));
    assert_eq!(t.remaining(), 0);
    let posts: Vec<_> = t
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::Post)
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].form, posts[1].form);
    // Each HTTP request succeeded on its first attempt: the retry was of the operation.
    assert!(records.lock().unwrap().iter().all(|r| r.attempt == 1));
}

#[test]
fn forbidden_unauthorized_and_bad_parameters_are_not_retried() {
    let (t, client, records) = setup(6);
    let create = "/nodes/pve1/lxc";
    let msg = "Permission check failed (mount point type bind is only allowed for root@pam)";
    t.reply(Method::Post, create, RawResponse::error(403, msg));
    let e = client
        .lxc_create(
            "pve1",
            101,
            "local:vztmpl/d.tar.zst",
            &one("mp0", "/srv,mp=/srv"),
        )
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::Forbidden {
            path: create.into(),
            message: msg.into()
        }
    );

    t.reply(
        Method::Get,
        "/version",
        RawResponse::error(401, "authentication failure"),
    );
    assert!(matches!(
        client.version().unwrap_err(),
        ApiError::Unauthorized { .. }
    ));

    t.reply(
        Method::Post,
        create,
        RawResponse::params(&[(
            "lxc.idmap",
            "property is not defined in schema and the schema does not allow additional properties",
        )]),
    );
    let e = client
        .lxc_create(
            "pve1",
            101,
            "local:vztmpl/d.tar.zst",
            &one("lxc.idmap", "u 0 1 2"),
        )
        .unwrap_err();
    assert!(matches!(&e, ApiError::Params { errors, .. } if errors.contains_key("lxc.idmap")));

    assert_eq!(t.remaining(), 0);
    assert_eq!(
        attempts_and_statuses(&records),
        [
            (Method::Post, 1, 403),
            (Method::Get, 1, 401),
            (Method::Post, 1, 400)
        ]
    );
}

#[test]
fn attempts_are_bounded() {
    let (t, client, records) = setup(3);
    for _ in 0..5 {
        t.reply(
            Method::Get,
            "/cluster/nextid",
            RawResponse::error(503, "service unavailable"),
        );
    }
    let e = client.next_id().unwrap_err();
    let ApiError::Retries { attempts, last } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(matches!(**last, ApiError::Http { status: 503, .. }));
    assert_eq!(t.remaining(), 2, "exactly 3 requests sent");
    assert_eq!(records.lock().unwrap().len(), 3);
    assert_eq!(
        e.to_string(),
        "gave up after 3 attempts: GET /cluster/nextid failed with HTTP 503: service unavailable"
    );
}

#[test]
fn a_task_that_stays_locked_gives_up_with_its_log() {
    let (t, client, _) = setup(2);
    let clone = "/nodes/pve1/lxc/900/clone";
    for n in 1..=2 {
        let u = upid(n, "vzclone");
        t.reply(Method::Post, clone, RawResponse::data(json!(u)))
            .reply(
                Method::Get,
                &format!("/nodes/pve1/tasks/{u}/status"),
                RawResponse::data(json!({"status": "stopped", "exitstatus": LOCK_TIMEOUT})),
            )
            .reply(
                Method::Get,
                &format!("/nodes/pve1/tasks/{u}/log?start=0&limit=500"),
                RawResponse::data(json!([{"n": 1, "t": "create full clone of mountpoint rootfs"}, {"n": 2, "t": LOCK_TIMEOUT}])),
            );
    }
    let e = client
        .lxc_clone("pve1", 900, 102, &BTreeMap::new())
        .unwrap_err();
    assert_eq!(t.remaining(), 0);
    let ApiError::Retries { attempts: 2, last } = &e else {
        panic!("{e:?}")
    };
    let ApiError::Task { upid: u, log, .. } = &**last else {
        panic!("{last:?}")
    };
    assert_eq!(*u, upid(2, "vzclone"));
    assert_eq!(log.len(), 2);
}

#[test]
fn other_task_failures_and_digest_mismatches_are_final() {
    let (t, client, _) = setup(6);
    let u = upid(7, "vzcreate");
    let failure = "unable to create CT 101 - storage 'nope' does not exist";
    t.reply(Method::Post, "/nodes/pve1/lxc", RawResponse::data(json!(u)))
        .reply(
            Method::Get,
            &format!("/nodes/pve1/tasks/{u}/status"),
            RawResponse::data(json!({"status": "stopped", "exitstatus": failure})),
        )
        .reply(
            Method::Get,
            &format!("/nodes/pve1/tasks/{u}/log?start=0&limit=500"),
            RawResponse::data(json!([{"n": 1, "t": failure}])),
        );
    let e = client
        .lxc_create("pve1", 101, "local:vztmpl/d.tar.zst", &BTreeMap::new())
        .unwrap_err();
    assert!(matches!(&e, ApiError::Task { exitstatus, .. } if exitstatus == failure));

    t.reply(
        Method::Put,
        "/nodes/pve1/lxc/101/config",
        RawResponse::error(
            500,
            "detected modified configuration - file changed by other user? Try again.",
        ),
    );
    let e = client
        .lxc_set_config("pve1", 101, &one("memory", "1"), &[], Some("stale"))
        .unwrap_err();
    assert!(e.is_digest_mismatch(), "{e}");
    assert_eq!(t.remaining(), 0);
}

#[test]
fn connection_failures_are_retried() {
    let (t, client, records) = setup(3);
    t.fail(
        Method::Get,
        "/version",
        ApiError::Connect {
            url: "https://pve1:8006/api2/json/version".into(),
            message: "Connection Failed: Connection reset by peer (os error 104)".into(),
        },
    )
    .reply(
        Method::Get,
        "/version",
        RawResponse::data(json!({"version": "8.2.4"})),
    );
    assert_eq!(client.version().unwrap().version, "8.2.4");
    assert_eq!(
        attempts_and_statuses(&records),
        [(Method::Get, 1, 0), (Method::Get, 2, 200)]
    );
}

#[test]
fn one_attempt_means_the_error_itself() {
    let t = Arc::new(ScriptedTransport::new());
    t.reply(
        Method::Get,
        "/nodes",
        RawResponse::error(500, "got timeout"),
    );
    let client = Client::with_transport(t.clone(), RetryPolicy::none());
    assert!(matches!(
        client.nodes().unwrap_err(),
        ApiError::Http { status: 500, .. }
    ));
}
