//! Retrying a call Proxmox refuses because another task holds the container.

use std::time::Duration;

use phoenix_pct::{LockWait, Output, Pattern, Pct, PctError, RecordingRunner};
use phoenix_pveconf::Vmid;

fn id(n: u32) -> Vmid {
    Vmid::new(n).unwrap()
}

/// Short waits, so the test is quick: 10 ms, 20 ms, 40 ms, then 30 ms (100 ms in all).
fn short() -> LockWait {
    LockWait {
        total: Duration::from_millis(100),
        first: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    }
}

#[test]
fn a_locked_call_is_made_again_until_the_lock_is_gone() {
    let r = RecordingRunner::new()
        .answer_once(
            Pattern::prefix(["pct", "start", "100"]),
            Output::failed(255, "CT is locked (backup)\n"),
        )
        .answer_once(
            Pattern::prefix(["pct", "start", "100"]),
            Output::failed(
                255,
                "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout\n",
            ),
        )
        .answer(Pattern::prefix(["pct", "start", "100"]), Output::ok(""));
    let pct = Pct::with_binary("pct", &r).with_lock_wait(short());
    pct.start(id(100)).unwrap();
    assert_eq!(
        r.transcript(),
        "pct start 100\npct start 100\npct start 100\n"
    );
}

#[test]
fn a_lock_held_past_the_wait_fails_naming_it() {
    let r = RecordingRunner::new().answer(
        Pattern::prefix(["pct", "set", "100"]),
        Output::failed(255, "CT is locked (snapshot)\n"),
    );
    let pct = Pct::with_binary("pct", &r).with_lock_wait(short());
    let opts = phoenix_pct::SetOptions {
        delete: vec!["onboot".into()],
        ..Default::default()
    };
    let err = pct.set(id(100), &opts).unwrap_err();
    assert!(
        matches!(&err, PctError::StillLocked { tries: 5, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "container 100 is locked (snapshot), still after waiting 0.1s (5 tries)"
    );
    assert_eq!(r.invocations().len(), 5);
}

#[test]
fn without_a_wait_and_for_other_failures_there_is_one_call() {
    let r = RecordingRunner::new()
        .answer(
            Pattern::prefix(["pct", "start", "100"]),
            Output::failed(255, "CT is locked (backup)\n"),
        )
        .answer(
            Pattern::prefix(["pct", "start", "101"]),
            Output::failed(255, "startup for container '101' failed\n"),
        );
    // A bare Pct fails at once.
    let err = Pct::with_binary("pct", &r).start(id(100)).unwrap_err();
    assert!(matches!(err, PctError::Locked { .. }), "{err:?}");
    // Another failure is never retried.
    let pct = Pct::with_binary("pct", &r).with_lock_wait(short());
    pct.start(id(101)).unwrap_err();
    assert_eq!(r.transcript(), "pct start 100\npct start 101\n");
}

#[test]
fn a_command_inside_the_container_that_prints_a_lock_message_is_not_run_again() {
    let r = RecordingRunner::new().answer(
        Pattern::prefix(["pct", "exec", "100"]),
        Output::failed(1, "CT is locked (backup)\n"),
    );
    let pct = Pct::with_binary("pct", &r).with_lock_wait(short());
    let out = pct.exec(
        id(100),
        &["sh", "-c", "echo 'CT is locked (backup)' >&2; exit 1"],
    );
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(r.invocations().len(), 1);
}
