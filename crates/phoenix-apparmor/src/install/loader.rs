//! The seam between installing files and loading them into the kernel.

use camino::{Utf8Path, Utf8PathBuf};

/// Loads profiles into the kernel. The real one runs `apparmor_parser -r`; tests
/// record calls.
pub trait ProfileLoader {
    /// Whether this host can load profiles at all (AppArmor enabled, parser present).
    fn available(&self) -> Result<bool, LoadError>;
    /// Loads or replaces the profiles in one file.
    fn replace(&self, path: &Utf8Path) -> Result<(), LoadError>;
}

/// Why loading a profile failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The loader ran and the command reported failure.
    #[error("`{argv}` failed with {status}: {stderr}")]
    Failed {
        /// The command line, for the reader (it was run as argv, not through a shell).
        argv: String,
        /// The exit status or signal.
        status: String,
        /// What the command wrote to stderr, trimmed.
        stderr: String,
    },
    /// The command could not be run at all.
    #[error("cannot run `{argv}`")]
    Run {
        /// The command line.
        argv: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Whether AppArmor is enabled could not be read.
    #[error("cannot read {path} to tell whether apparmor is enabled")]
    Probe {
        /// The file read.
        path: Utf8PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
