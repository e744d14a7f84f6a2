//! What can go wrong when running pct, classified from pct's own messages
//! (reference §3 "Exact error texts").
//!
//! pct's exit codes carry little: task commands exit 255, a `die` before the
//! worker exits with whatever Perl picked (usually 255), and `push`, `pull`,
//! `template` and `resize` exit 0 even when their task failed. So a call failed
//! when it exited non-zero, or, for those four, when it printed a task error on
//! stderr; the kind of failure is read from the message.

use phoenix_pveconf::Vmid;

use crate::parse::OutputError;
use crate::runner::quote::quote_line;
use crate::runner::{ExitStatus, RunError};
use crate::state::Lock;

mod classify;

pub(crate) use classify::{
    ExitRule, classify, failed, strip_leading_conf_warnings, without_conf_warnings,
};

/// A failed pct or pvesm call.
#[derive(Debug, thiserror::Error)]
pub enum PctError {
    /// `Configuration file 'nodes/<node>/lxc/<id>.conf' does not exist`.
    #[error("container {vmid} does not exist")]
    NotFound {
        /// The missing container.
        vmid: Vmid,
    },
    /// `CT <id> already exists on node '<node>'` (or `VM <id> ...`).
    #[error("guest {vmid} already exists")]
    AlreadyExists {
        /// The id that is taken, by a CT or a VM.
        vmid: Vmid,
    },
    /// `unable to modify read-only option: '<opt>'` (or `unable to delete ...`).
    #[error("option '{option}' of container {vmid} is read-only")]
    ReadOnlyOption {
        /// The container.
        vmid: Vmid,
        /// The option, for example `unprivileged`.
        option: String,
    },
    /// `CT is locked (<lock>)`.
    #[error("container {vmid} is locked ({lock})")]
    Locked {
        /// The container the command was about (for clone: the source).
        vmid: Vmid,
        /// The lock value.
        lock: Lock,
    },
    /// `can't lock file '/run/lock/lxc/pve-config-<id>.lock' - got timeout`: another
    /// process held the container's config flock for the whole time pct waits (10 s).
    #[error("container {vmid}: another process holds the config lock {path} (got timeout)")]
    ConfLockTimeout {
        /// The container the lock file is for.
        vmid: Vmid,
        /// The lock file, as pct names it.
        path: String,
    },
    /// A call refused for a lock ([`Locked`](Self::Locked) or
    /// [`ConfLockTimeout`](Self::ConfLockTimeout)) was retried with backoff
    /// ([`LockWait`](crate::LockWait)) and the lock was still held at the end.
    #[error("{last}, still after waiting {} ({tries} tries)", crate::lock_wait::seconds(.waited))]
    StillLocked {
        /// The last refusal, naming the lock.
        last: Box<PctError>,
        /// The time spent waiting between tries.
        waited: std::time::Duration,
        /// How many times the call was made.
        tries: u32,
    },
    /// `CT <id> not running`, `container '<id>' not running!`, or push and pull
    /// refusing a stopped CT.
    #[error("container {vmid} is not running")]
    NotRunning {
        /// The container.
        vmid: Vmid,
    },
    /// `CT <id> already running`.
    #[error("container {vmid} is already running")]
    AlreadyRunning {
        /// The container.
        vmid: Vmid,
    },
    /// `snapshot name '<name>' already used`.
    #[error("container {vmid} already has a snapshot named '{name}'")]
    SnapshotExists {
        /// The container.
        vmid: Vmid,
        /// The snapshot name.
        name: String,
    },
    /// Any other failure, with everything the command said.
    #[error("`{}` failed ({status}): {}", quote_line(.argv), summary(.stderr, .stdout))]
    CommandFailed {
        /// The command's argv.
        argv: Vec<String>,
        /// How it ended (exit 0 for the commands that hide task failures).
        status: ExitStatus,
        /// What it printed on stdout.
        stdout: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The command could not be run at all.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The command succeeded but printed something this crate cannot read.
    #[error("cannot read the output of `{}`", quote_line(.argv))]
    Output {
        /// The command's argv.
        argv: Vec<String>,
        /// What was wrong.
        #[source]
        source: OutputError,
    },
}

/// The first meaningful lines of what a command said, for a one-line message:
/// stderr up to the usage text pct appends, at most three lines.
fn summary(stderr: &str, stdout: &str) -> String {
    let pick = |text: &str| {
        text.lines()
            .map(str::trim)
            .filter(|l| !classify::is_conf_warning(l))
            .take_while(|l| !l.starts_with("USAGE:") && !l.starts_with("usage:"))
            .filter(|l| !l.is_empty())
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let from_stderr = pick(stderr);
    if !from_stderr.is_empty() {
        return from_stderr;
    }
    match stdout.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(last) => last.to_owned(),
        None => "no output".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_skips_conf_warnings() {
        let e = PctError::CommandFailed {
            argv: vec!["pct".into(), "resize".into()],
            status: ExitStatus::Code(0),
            stdout: String::new(),
            stderr: "vm 100 - unable to parse value of 'foo' - unknown setting 'foo'\n\
                     unable to shrink disk size\n"
                .into(),
        };
        assert_eq!(
            e.to_string(),
            "`pct resize` failed (exit code 0): unable to shrink disk size"
        );
    }

    #[test]
    fn other_error_displays() {
        let run = PctError::from(RunError::Unscripted {
            argv: vec!["pct".into(), "list".into()],
        });
        assert_eq!(run.to_string(), "no scripted answer for `pct list`");
        let out = PctError::Output {
            argv: vec!["pct".into(), "list".into()],
            source: OutputError::new(1, "x", "y"),
        };
        assert_eq!(out.to_string(), "cannot read the output of `pct list`");
    }
}
