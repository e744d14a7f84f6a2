//! Task outcomes: `OK`, `WARNINGS: n` with the log, an error with the whole log.

use std::sync::Arc;
use std::time::Duration;

use phoenix_pveapi::fake::ScriptedTransport;
use phoenix_pveapi::{ApiError, Client, Method, RawResponse, RetryPolicy};
use serde_json::{Value, json};

const UPID: &str = "UPID:pve1:00001234:00005678:6750F00D:vzstart:101:phoenix@pve!converge:";

fn setup() -> (Arc<ScriptedTransport>, Client) {
    let t = Arc::new(ScriptedTransport::new());
    let client = Client::with_transport(t.clone(), RetryPolicy::none())
        .task_poll(Duration::from_millis(1), Duration::from_millis(2));
    (t, client)
}

fn status(t: &ScriptedTransport, data: Value) {
    t.reply(
        Method::Get,
        &format!("/nodes/pve1/tasks/{UPID}/status"),
        RawResponse::data(data),
    );
}

fn log_page(t: &ScriptedTransport, start: usize, lines: &[String]) {
    let entries: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"n": start + i + 1, "t": l}))
        .collect();
    t.reply(
        Method::Get,
        &format!("/nodes/pve1/tasks/{UPID}/log?start={start}&limit=500"),
        RawResponse::data(Value::Array(entries)),
    );
}

fn lines(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn ok_after_polling_while_running() {
    let (t, client) = setup();
    status(&t, json!({"status": "running", "upid": UPID}));
    status(&t, json!({"status": "running", "upid": UPID}));
    status(
        &t,
        json!({"status": "stopped", "exitstatus": "OK", "upid": UPID}),
    );
    let outcome = client.wait_task("pve1", UPID).unwrap();
    assert_eq!(outcome.upid.as_deref(), Some(UPID));
    assert_eq!((outcome.warnings, outcome.log.len()), (0, 0));
    assert_eq!(
        t.remaining(),
        0,
        "polled until stopped, and no log read for OK"
    );
}

#[test]
fn warnings_succeed_with_the_log() {
    let (t, client) = setup();
    status(
        &t,
        json!({"status": "stopped", "exitstatus": "WARNINGS: 2"}),
    );
    let log = lines(&[
        "starting",
        "WARN: systemd 252 detected, nesting recommended",
        "WARN: no network",
        "TASK WARNINGS: 2",
    ]);
    log_page(&t, 0, &log);
    let outcome = client.wait_task("pve1", UPID).unwrap();
    assert_eq!(outcome.warnings, 2);
    assert_eq!(outcome.log, log);
}

#[test]
fn an_error_carries_the_whole_log() {
    let (t, client) = setup();
    let exit = "startup for container '101' failed";
    status(&t, json!({"status": "stopped", "exitstatus": exit}));
    // 503 lines: two pages.
    let mut log: Vec<String> = (1..=500).map(|i| format!("line {i}")).collect();
    log_page(&t, 0, &log);
    let tail = lines(&[
        "lxc-start: 101: ../src/lxc/start.c: __lxc_start: 2114 Failed to spawn container \"101\"",
        "lxc-start: 101: ../src/lxc/tools/lxc_start.c: main: 306 The container failed to start",
        &format!("TASK ERROR: {exit}"),
    ]);
    log_page(&t, 500, &tail);
    log.extend(tail);

    let e = client.wait_task("pve1", UPID).unwrap_err();
    let ApiError::Task {
        node,
        upid,
        exitstatus,
        log: got,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (node.as_str(), upid.as_str(), exitstatus.as_str()),
        ("pve1", UPID, exit)
    );
    assert_eq!(got, &log);
    assert!(!e.is_retryable());
    assert_eq!(t.remaining(), 0);
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn a_failed_task_whose_log_is_gone_still_reports_the_failure() {
    let (t, client) = setup();
    status(
        &t,
        json!({"status": "stopped", "exitstatus": "command 'lxc-start' failed"}),
    );
    t.reply(
        Method::Get,
        &format!("/nodes/pve1/tasks/{UPID}/log?start=0&limit=500"),
        RawResponse::error(500, "task log missing"),
    );
    let e = client.wait_task("pve1", UPID).unwrap_err();
    let ApiError::Task { log, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        log,
        &lines(&[
            "(the task log could not be read: GET /nodes/pve1/tasks/UPID:pve1:00001234:00005678:6750F00D:vzstart:101:phoenix@pve!converge:/log?start=0&limit=500 failed with HTTP 500: task log missing)"
        ])
    );
}

#[test]
fn a_status_without_exitstatus_is_a_failure() {
    let (t, client) = setup();
    status(&t, json!({"status": "stopped"}));
    log_page(&t, 0, &[]);
    let e = client.wait_task("pve1", UPID).unwrap_err();
    assert!(matches!(&e, ApiError::Task { exitstatus, .. } if exitstatus.starts_with("unknown")));
    assert!(e.to_string().ends_with("(the task log is empty)"), "{e}");
}

#[test]
fn a_task_that_never_stops_is_given_up_after_the_deadline() {
    let (t, client) = setup();
    let client = client.task_deadline(Duration::from_millis(5));
    for _ in 0..50 {
        status(&t, json!({"status": "running", "upid": UPID}));
    }
    let err = client.wait_task("pve1", UPID).unwrap_err();
    assert!(
        matches!(&err, ApiError::TaskTimeout { node, upid, .. } if node == "pve1" && upid == UPID),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "task {UPID} on node pve1 still runs after 0s; phoenix stopped waiting"
        )),
        "{err}"
    );
    assert!(t.remaining() < 50, "it polled before giving up");
}
