//! Typed errors of a run, per step, with their context (guest, argv, path). The report
//! keeps the whole chain of causes, and a failure's cleanup failure beside it.

use camino::Utf8PathBuf;
use serde::Serialize;

use crate::guest::GuestId;

/// Why one step of one guest (or of the host) failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A pct or pvesm call failed.
    #[error("{guest}: {what}")]
    Pct {
        /// The guest.
        guest: GuestId,
        /// What was being done (`pct create`).
        what: String,
        /// pct's classified error (with the argv and stderr).
        #[source]
        source: phoenix_pct::PctError,
    },
    /// A host command (pvesm, apparmor_parser) failed.
    #[error("{what}")]
    HostCommand {
        /// The command (`pvesm status`).
        what: String,
        /// Its classified error.
        #[source]
        source: phoenix_pct::PctError,
    },
    /// Reading or writing a host file failed.
    #[error("{what} {path}")]
    Io {
        /// `cannot create`, `cannot chown`, ...
        what: &'static str,
        /// The host path (under the root).
        path: Utf8PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A conf file could not be read, locked or written.
    #[error("{guest}: its conf file")]
    Conf {
        /// The guest.
        guest: GuestId,
        /// The conf I/O error.
        #[source]
        source: phoenix_pveconf::conf::io::ConfIoError,
    },
    /// A conf value could not be edited.
    #[error("{guest}: editing its conf")]
    Edit {
        /// The guest.
        guest: GuestId,
        /// The edit error.
        #[source]
        source: phoenix_pveconf::conf::EditError,
    },
    /// A value of the observed conf cannot be read.
    #[error(transparent)]
    Observed(#[from] crate::diff::ObservedError),
    /// The desired state cannot be computed from the config.
    #[error(transparent)]
    Desired(#[from] crate::desired::DesiredError),
    /// A check before any change refused the guest.
    #[error("{0}")]
    Refused(String),
    /// The id map the config asks for is not usable.
    #[error("{guest}: {reason}")]
    IdMap {
        /// The guest.
        guest: GuestId,
        /// Why.
        reason: String,
    },
    /// A bind mount's owner has no host id under the container's map.
    #[error("{guest}: {mount}")]
    Owner {
        /// The guest.
        guest: GuestId,
        /// The mount (`shared volume certs (/srv/certs)`).
        mount: String,
        /// Which owner id is unmapped.
        #[source]
        source: crate::planner::UnmappedOwner,
    },
    /// The guest does not exist, and the command needs it to.
    #[error("{guest} does not exist (phoenix create {})", .guest.vmid())]
    Missing {
        /// The guest.
        guest: GuestId,
    },
    /// The proof after start failed.
    #[error("{guest}: {reason}")]
    Proof {
        /// The guest.
        guest: GuestId,
        /// What the proof found.
        reason: String,
    },
    /// A command of the proof after start failed inside the container.
    #[error("{guest}")]
    ProofStep {
        /// The guest.
        guest: GuestId,
        /// The step, its command and exit code.
        #[source]
        source: Box<ProofStepError>,
    },
    /// A subordinate id file could not be read or written.
    #[error("{file}")]
    SubId {
        /// `/etc/subuid` or `/etc/subgid`.
        file: &'static str,
        /// The cause.
        #[source]
        source: phoenix_idmap::subid::SubIdIoError,
    },
    /// A subordinate id file could not be parsed.
    #[error("{file}")]
    SubIdParse {
        /// `/etc/subuid` or `/etc/subgid`.
        file: &'static str,
        /// The cause.
        #[source]
        source: phoenix_idmap::subid::SubIdParseError,
    },
    /// Storage the fleet uses is missing or inactive.
    #[error(
        "storage the fleet uses is not available: {} (see `pvesm status` and /etc/pve/storage.cfg)",
        .missing.join(", ")
    )]
    Storage {
        /// `name (why)` per storage.
        missing: Vec<String>,
    },
    /// The AppArmor profiles could not be planned or installed.
    #[error("apparmor")]
    AppArmor {
        /// The cause.
        #[source]
        source: phoenix_apparmor::install::InstallError,
    },
    /// A feature failed.
    #[error("{guest}: feature {feature}")]
    Feature {
        /// The guest.
        guest: GuestId,
        /// The feature.
        feature: String,
        /// The cause.
        #[source]
        source: phoenix_features::FeatureError,
    },
    /// The guest's ledger cannot be read or written.
    #[error("{guest}: its ledger {path}: {reason}")]
    Ledger {
        /// The guest.
        guest: GuestId,
        /// The ledger path inside the guest.
        path: &'static str,
        /// Why.
        reason: String,
    },
    /// A host step this guest needs failed.
    #[error("not attempted: the host step {step} it needs failed ({reason})")]
    HostNotReady {
        /// The host step.
        step: String,
        /// Its error, rendered.
        reason: String,
    },
    /// A PVE API call failed (after its retries).
    #[error("{guest}: {what} through the PVE API")]
    Api {
        /// The guest.
        guest: GuestId,
        /// What was being done (`create`, `clone`, `config`, `start`, `snapshot`).
        what: String,
        /// The API's error (with the task log of a failed task).
        #[source]
        source: Box<phoenix_pveapi::ApiError>,
    },
    /// The node path (phoenix on the guest's node, over SSH) failed.
    #[error("{guest}: the node path failed")]
    NodePath {
        /// The guest.
        guest: GuestId,
        /// Why.
        #[source]
        source: Box<crate::node_path::NodePathError>,
    },
    /// The cluster run could not do a step for another reason.
    #[error("{guest}: {message}")]
    Cluster {
        /// The guest.
        guest: GuestId,
        /// Why.
        message: String,
    },
    /// A step failed, and so did its cleanup.
    #[error("{error}")]
    WithCleanup {
        /// The failure.
        #[source]
        error: Box<StepError>,
        /// The cleanup's failure.
        cleanup: Box<StepError>,
    },
}

/// Why one command of the one-exec proof after start failed inside the container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofStepError {
    /// The command ran and exited non-zero.
    #[error("{step}: `{command}` inside failed ({code}): {stderr}")]
    Failed {
        /// What the command proves (`reading the kernel's map`).
        step: String,
        /// The command as the proof shows it (`cat /proc/self/uid_map`).
        command: String,
        /// Its exit code.
        code: i32,
        /// Its stderr, trimmed.
        stderr: String,
    },
    /// The command never ran: the exec itself failed first.
    #[error("{step}: `{command}` inside failed ({}): {stderr}", .exec_code.unwrap_or(-1))]
    NotRun {
        /// What the command proves.
        step: String,
        /// The command as the proof shows it.
        command: String,
        /// The exit code of the whole exec (`None`: killed by a signal, shown as -1).
        exec_code: Option<i32>,
        /// The exec's stderr outside any command, trimmed.
        stderr: String,
    },
}

impl StepError {
    /// The error with its cleanup's failure kept beside it.
    pub fn with_cleanup(self, cleanup: StepError) -> Self {
        StepError::WithCleanup {
            error: Box::new(self),
            cleanup: Box::new(cleanup),
        }
    }
}

/// An error as the report keeps it: the message, every cause, and a cleanup failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErrorReport {
    /// The whole chain on one line (`outer: inner: innermost`).
    pub message: String,
    /// Each cause, outermost first.
    pub chain: Vec<String>,
    /// The cleanup's failure, when a cleanup ran and failed too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<Box<ErrorReport>>,
}

impl ErrorReport {
    /// The report of `err`.
    pub fn of(err: &StepError) -> Self {
        if let StepError::WithCleanup { error, cleanup } = err {
            let mut r = ErrorReport::of(error);
            r.cleanup = Some(Box::new(ErrorReport::of(cleanup)));
            return r;
        }
        let chain = chain_of(err);
        ErrorReport {
            message: join_chain(&chain),
            chain,
            cleanup: None,
        }
    }
}

impl std::fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(c) = &self.cleanup {
            write!(f, "; cleanup failed too: {c}")?;
        }
        Ok(())
    }
}

/// Each message of `err` and its sources, outermost first.
pub fn chain_of(err: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push(e.to_string());
        cur = e.source();
    }
    out
}

/// `outer: inner: innermost`, leaving out a cause its parent already quotes.
pub fn join_chain(chain: &[String]) -> String {
    let mut s = String::new();
    for msg in chain {
        if s.contains(msg.as_str()) {
            continue;
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(msg);
    }
    s
}

/// Renders an error and its sources as `outer: inner: innermost`.
pub fn chain(err: &dyn std::error::Error) -> String {
    join_chain(&chain_of(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pveconf::Vmid;

    #[test]
    fn a_proof_step_names_the_step_the_command_and_its_code() {
        let guest = GuestId::Ct(Vmid::new(901).unwrap());
        let e = StepError::ProofStep {
            guest,
            source: Box::new(ProofStepError::Failed {
                step: "reading the kernel's map".into(),
                command: "cat /proc/self/uid_map".into(),
                code: 1,
                stderr: "no such file".into(),
            }),
        };
        assert_eq!(e.to_string(), "CT 901");
        assert_eq!(
            ErrorReport::of(&e).message,
            "CT 901: reading the kernel's map: `cat /proc/self/uid_map` inside failed (1): no such file"
        );
        let not_run = ProofStepError::NotRun {
            step: "shared volume x".into(),
            command: "stat -c %u %g /data".into(),
            exec_code: None,
            stderr: "killed".into(),
        };
        assert_eq!(
            not_run.to_string(),
            "shared volume x: `stat -c %u %g /data` inside failed (-1): killed"
        );
    }

    #[test]
    fn a_report_keeps_the_chain_and_the_cleanup_failure() {
        let guest = GuestId::Ct(Vmid::new(900).unwrap());
        let e = StepError::Proof {
            guest,
            reason: "the kernel maps uids as [0 0 1]".into(),
        }
        .with_cleanup(StepError::Io {
            what: "cannot remove",
            path: "/srv/x".into(),
            source: std::io::Error::other("busy"),
        });
        let r = ErrorReport::of(&e);
        assert_eq!(r.message, "CT 900: the kernel maps uids as [0 0 1]");
        assert_eq!(
            r.to_string(),
            "CT 900: the kernel maps uids as [0 0 1]; cleanup failed too: cannot remove /srv/x: busy"
        );
        assert_eq!(r.cleanup.unwrap().chain, ["cannot remove /srv/x", "busy"]);
        let s = StepError::Storage {
            missing: vec!["local-zfs (not defined)".into()],
        };
        assert_eq!(
            s.to_string(),
            "storage the fleet uses is not available: local-zfs (not defined) (see `pvesm status` and /etc/pve/storage.cfg)"
        );
        let h = StepError::HostNotReady {
            step: "subid".into(),
            reason: "boom".into(),
        };
        assert_eq!(
            h.to_string(),
            "not attempted: the host step subid it needs failed (boom)"
        );
        let o = StepError::Owner {
            guest,
            mount: "shared volume certs (/srv/certs)".into(),
            source: crate::planner::UnmappedOwner {
                kind: phoenix_idmap::IdKind::Gid,
                id: 70000,
            },
        };
        assert_eq!(
            ErrorReport::of(&o).message,
            "CT 900: shared volume certs (/srv/certs): owner gid 70000 is not mapped by the container's idmap"
        );
        assert_eq!(
            StepError::Missing { guest }.to_string(),
            "CT 900 does not exist (phoenix create 900)"
        );
    }
}
