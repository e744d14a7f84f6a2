//! Small value types pct prints: a container's power state and its lock.

use std::fmt;
use std::str::FromStr;

/// Whether a container runs, as `pct status` and `pct list` print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtStatus {
    /// `running`.
    Running,
    /// `stopped` (templates are always listed as stopped).
    Stopped,
}

impl fmt::Display for CtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CtStatus::Running => "running",
            CtStatus::Stopped => "stopped",
        })
    }
}

/// A word that is not `running` or `stopped`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown container status '{0}'")]
pub struct UnknownStatus(pub String);

impl FromStr for CtStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(CtStatus::Running),
            "stopped" => Ok(CtStatus::Stopped),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// The persistent `lock:` of a container (reference §2, the `lock` enum).
///
/// ```
/// use phoenix_pct::Lock;
/// assert_eq!("snapshot-delete".parse::<Lock>().unwrap(), Lock::SnapshotDelete);
/// assert_eq!(Lock::Create.to_string(), "create");
/// // a lock a newer Proxmox may add is kept, not refused
/// assert_eq!("suspended".parse::<Lock>().unwrap(), Lock::Other("suspended".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lock {
    /// `backup`.
    Backup,
    /// `create`: held by create until OS detection, and by clone on the target.
    Create,
    /// `destroyed`.
    Destroyed,
    /// `disk`: held by clone on the source.
    Disk,
    /// `fstrim`.
    Fstrim,
    /// `migrate`.
    Migrate,
    /// `mounted`: set by `pct mount`; start and stop tolerate it.
    Mounted,
    /// `rollback`.
    Rollback,
    /// `snapshot`.
    Snapshot,
    /// `snapshot-delete`.
    SnapshotDelete,
    /// A value this crate does not know, kept as printed.
    Other(String),
}

const LOCKS: [(&str, Lock); 10] = [
    ("backup", Lock::Backup),
    ("create", Lock::Create),
    ("destroyed", Lock::Destroyed),
    ("disk", Lock::Disk),
    ("fstrim", Lock::Fstrim),
    ("migrate", Lock::Migrate),
    ("mounted", Lock::Mounted),
    ("rollback", Lock::Rollback),
    ("snapshot", Lock::Snapshot),
    ("snapshot-delete", Lock::SnapshotDelete),
];

impl Lock {
    /// The word Proxmox writes.
    pub fn as_str(&self) -> &str {
        match self {
            Lock::Other(s) => s,
            known => LOCKS
                .iter()
                .find(|(_, l)| l == known)
                .map(|(s, _)| *s)
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lock {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(LOCKS
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| Lock::Other(s.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_lock_round_trips() {
        for (name, lock) in LOCKS {
            assert_eq!(name.parse::<Lock>().unwrap(), lock);
            assert_eq!(lock.to_string(), name);
        }
        assert_eq!(Lock::Other("x".into()).to_string(), "x");
    }

    #[test]
    fn status_words() {
        assert_eq!("running".parse::<CtStatus>().unwrap(), CtStatus::Running);
        assert_eq!("stopped".parse::<CtStatus>().unwrap(), CtStatus::Stopped);
        assert_eq!(CtStatus::Running.to_string(), "running");
        assert_eq!(
            "paused".parse::<CtStatus>().unwrap_err().to_string(),
            "unknown container status 'paused'"
        );
    }
}
