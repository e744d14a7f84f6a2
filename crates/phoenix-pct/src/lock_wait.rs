//! Waiting for a container that another process has locked.
//!
//! Proxmox refuses a change while another task holds the container: `CT is locked
//! (backup)` (the persistent `lock:` of a backup, snapshot, migration or clone) or
//! `can't lock file '/run/lock/lxc/pve-config-<id>.lock' - got timeout` (another
//! process held the config flock for the 10 s pct waits). Both are refusals before
//! anything changed, so the same call may simply be made again later: like Terraform's
//! Proxmox providers, [`Pct`](crate::Pct) retries such a call with a bounded backoff and
//! then fails with [`PctError::StillLocked`], naming the lock.
//!
//! The defaults ([`LockWait::default`]): wait 1 s, then 2 s, 4 s, 8 s and 10 s between
//! tries, for at most 60 s in all. [`LockWait::none`] fails at once (what a bare
//! [`Pct`](crate::Pct) does); `phoenix --lock-wait SECONDS` sets the total.
//!
//! ```
//! use std::time::Duration;
//! use phoenix_pct::LockWait;
//!
//! let wait = LockWait::default();
//! let delays: Vec<u64> = wait.delays().map(|d| d.as_secs()).collect();
//! assert_eq!(delays, [1, 2, 4, 8, 10, 10, 10, 10, 5]);
//! assert_eq!(LockWait::none().delays().count(), 0);
//! ```

use std::time::Duration;

use crate::PctError;

/// How long to keep retrying a call refused because the container is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWait {
    /// The most time spent waiting between tries, in all.
    pub total: Duration,
    /// The first wait; each next one doubles.
    pub first: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
}

/// The default total wait: 60 s.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

impl Default for LockWait {
    /// 1 s, doubling up to 10 s between tries, 60 s in all.
    fn default() -> Self {
        LockWait {
            total: DEFAULT_LOCK_WAIT,
            first: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl LockWait {
    /// No waiting: a locked container fails the call at once.
    pub fn none() -> Self {
        LockWait {
            total: Duration::ZERO,
            ..LockWait::default()
        }
    }

    /// The default backoff, waiting `total` in all (zero: no waiting).
    pub fn with_total(total: Duration) -> Self {
        LockWait {
            total,
            ..LockWait::default()
        }
    }

    /// The waits between tries, in order; they add up to [`total`](Self::total) (the
    /// last is cut short to fit).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let (total, max) = (self.total, self.max_delay.max(Duration::from_millis(1)));
        let mut next = self.first.clamp(Duration::from_millis(1), max);
        let mut spent = Duration::ZERO;
        std::iter::from_fn(move || {
            let left = total.saturating_sub(spent);
            if left.is_zero() {
                return None;
            }
            let delay = next.min(left);
            spent += delay;
            next = next.saturating_mul(2).min(max);
            Some(delay)
        })
    }
}

/// Whether `err` is Proxmox refusing the call because another task holds the
/// container (nothing was changed, so the call may be made again).
pub(crate) fn is_lock_refusal(err: &PctError) -> bool {
    matches!(
        err,
        PctError::Locked { .. } | PctError::ConfLockTimeout { .. }
    )
}

/// Seconds with one decimal, for messages.
pub(crate) fn seconds(d: &Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_add_up_to_the_total() {
        let wait = LockWait {
            total: Duration::from_millis(100),
            first: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
        };
        let d: Vec<u128> = wait.delays().map(|d| d.as_millis()).collect();
        assert_eq!(d, [10, 20, 40, 30]);
        assert_eq!(LockWait::with_total(Duration::ZERO), LockWait::none());
    }

    #[test]
    fn a_zero_first_wait_still_ends() {
        let wait = LockWait {
            total: Duration::from_millis(5),
            first: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        assert_eq!(wait.delays().count(), 5);
    }
}
