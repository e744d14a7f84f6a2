//! Fault and latency injection, read once from the environment at start:
//!
//! - `PVE_API_EMU_LATENCY_MS=N`: every request waits N ms before it is answered (added to
//!   `--latency-ms`).
//! - `PVE_API_EMU_LOCK_FAIL=N`: the next N mutating requests (POST, PUT, DELETE) answer
//!   500 `can't lock file '/run/lock/lxc/pve-config-<vmid>.lock' - got timeout`.
//! - `PVE_API_EMU_TASK_LOCKED=N`: the next N clone tasks end with exitstatus
//!   `CT is locked (disk)`.
//! - `PVE_API_EMU_FAIL_TASK=<type>:<vmid>[,...]`: every task of that type for that vmid
//!   (`vzstart:101`; for `vzclone` the source or the new id) fails with a log of several
//!   lines ending in an error.
//!
//! The pct emulator's own `PCT_EMU_FAIL` and `PCT_EMU_LATENCY_MS` reach it unchanged
//! (the emulator passes its environment through).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The injected faults, with the counters the requests use up.
#[derive(Debug, Default)]
pub struct Faults {
    /// Wait before every answer.
    pub latency: Duration,
    lock_fail: AtomicU64,
    task_locked: AtomicU64,
    fail_task: Vec<(String, String)>,
}

/// Takes one from `counter` when it is above zero.
fn take(counter: &AtomicU64) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Faults {
    /// From the environment (see the module doc), plus `extra_latency`.
    pub fn from_env(extra_latency: Duration) -> Self {
        let num = |name: &str| -> u64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        Self::new(
            extra_latency + Duration::from_millis(num("PVE_API_EMU_LATENCY_MS")),
            num("PVE_API_EMU_LOCK_FAIL"),
            num("PVE_API_EMU_TASK_LOCKED"),
            &std::env::var("PVE_API_EMU_FAIL_TASK").unwrap_or_default(),
        )
    }

    /// Explicit values; `fail_task` is `type:vmid[,type:vmid...]`.
    pub fn new(latency: Duration, lock_fail: u64, task_locked: u64, fail_task: &str) -> Self {
        Faults {
            latency,
            lock_fail: AtomicU64::new(lock_fail),
            task_locked: AtomicU64::new(task_locked),
            fail_task: fail_task
                .split(',')
                .filter_map(|r| {
                    let (t, id) = r.trim().split_once(':')?;
                    Some((t.to_owned(), id.to_owned()))
                })
                .collect(),
        }
    }

    /// True when this mutating request is to fail with a lock timeout (uses one up).
    pub fn take_lock_fail(&self) -> bool {
        take(&self.lock_fail)
    }

    /// True when this clone task is to end with `CT is locked (disk)` (uses one up).
    pub fn take_task_locked(&self) -> bool {
        take(&self.task_locked)
    }

    /// True when a task of `kind` for one of `ids` is to fail.
    pub fn fails_task(&self, kind: &str, ids: &[&str]) -> bool {
        self.fail_task
            .iter()
            .any(|(t, id)| t == kind && ids.contains(&id.as_str()))
    }
}

/// The message of an injected lock timeout, Proxmox's text for a config flock.
pub fn lock_timeout_message(vmid: &str) -> String {
    format!("can't lock file '/run/lock/lxc/pve-config-{vmid}.lock' - got timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_run_out() {
        let f = Faults::new(Duration::ZERO, 2, 1, "vzstart:101, vzclone:200");
        assert!(f.take_lock_fail());
        assert!(f.take_lock_fail());
        assert!(!f.take_lock_fail());
        assert!(f.take_task_locked());
        assert!(!f.take_task_locked());
        assert!(f.fails_task("vzstart", &["101"]));
        assert!(f.fails_task("vzclone", &["100", "200"]));
        assert!(!f.fails_task("vzstop", &["101"]));
    }

    #[test]
    fn lock_message_is_proxmox_text() {
        assert_eq!(
            lock_timeout_message("101"),
            "can't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout"
        );
    }
}
