//! The emulator's errors (what stops it from starting or serving).

use std::path::PathBuf;

/// Why the emulator could not prepare its state or start serving.
#[derive(Debug, thiserror::Error)]
pub enum EmuError {
    /// A file or directory under the state root.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The OS template could not be built.
    #[error("building the OS template: {0}")]
    Template(#[from] pct_emulator::template::TemplateError),
    /// The self-signed certificate could not be made.
    #[error("generating the certificate: {0}")]
    Cert(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// A file the emulator wrote itself is not what it expects.
    #[error("{}: {msg}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
}

impl EmuError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EmuError {
        let path = path.into();
        move |source| EmuError::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_path() {
        let e = EmuError::io("/r/x")(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.to_string(), "/r/x: entity not found");
        let e = EmuError::Invalid {
            path: "/r/ssh/known_hosts".into(),
            msg: "line 2 has no key".into(),
        };
        assert_eq!(e.to_string(), "/r/ssh/known_hosts: line 2 has no key");
    }
}
