//! How a pct command fails, in the shapes Proxmox's CLI gives (§3 of the reference).

/// A failed pct or pvesm call. Each kind decides where the text goes and the exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// A `die` before any worker: the text on stderr, exit 255.
    #[error("{0}")]
    Die(String),
    /// A task (worker) error: one line on stderr, exit 255, or 0 for push, pull,
    /// template and resize.
    #[error("{0}")]
    Task(String),
    /// A schema failure: `400 Parameter verification failed.` and `<param>: <msg>` lines.
    #[error("400 Parameter verification failed.\n{}", render_params(.0))]
    Param(Vec<(String, String)>),
    /// A Getopt failure or an argument count error: the text, then usage; exit 255.
    #[error("{0}")]
    Usage(String),
    /// The machine lacks what the command needs (root, LXC): exit 1, never pretend.
    #[error("pct emulator: {0}")]
    Host(String),
}

fn render_params(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Failure {
    /// A one-parameter verification failure.
    pub fn param(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::Param(vec![(name.into(), msg.into())])
    }

    /// Turns a pre-worker `die` into a task error (for checks Proxmox makes in the worker).
    pub fn into_task(self) -> Self {
        match self {
            Self::Die(m) => Self::Task(m),
            other => other,
        }
    }

    /// True for the kinds after which Proxmox prints the command's usage.
    pub fn wants_usage(&self) -> bool {
        matches!(self, Self::Param(_) | Self::Usage(_))
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Die(e.to_string())
    }
}

/// Shorthand for command results.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_displays_as_proxmox_prints_it() {
        assert_eq!(
            Failure::Die("CT 100 already running".into()).to_string(),
            "CT 100 already running"
        );
        assert_eq!(
            Failure::Task("snapshot name 's1' already used".into()).to_string(),
            "snapshot name 's1' already used"
        );
        assert_eq!(
            Failure::param(
                "vmid",
                "invalid format - value does not look like a valid VM ID"
            )
            .to_string(),
            "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID"
        );
        assert_eq!(
            Failure::Usage("Unknown option: foo\n400 unable to parse option".into()).to_string(),
            "Unknown option: foo\n400 unable to parse option"
        );
        assert_eq!(
            Failure::Host("needs root".into()).to_string(),
            "pct emulator: needs root"
        );
        assert_eq!(
            Failure::from(std::io::Error::other("boom")).to_string(),
            "boom"
        );
        assert_eq!(
            Failure::Die("x".into()).into_task(),
            Failure::Task("x".into())
        );
        assert!(Failure::param("a", "b").wants_usage());
    }
}
