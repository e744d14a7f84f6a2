//! Exit codes and the two error markers commands use to choose one.

use std::fmt;

/// The command did what was asked.
pub const SUCCESS: u8 = 0;
/// Something failed while running (a pct call, a file write, a container).
pub const RUNTIME: u8 = 1;
/// The input was invalid (usage, config, a file given on the command line).
pub const INVALID: u8 = 2;

/// An error whose details the command already printed; `main` only sets the exit code.
#[derive(Debug)]
pub struct Reported {
    /// The exit code to leave with.
    pub code: u8,
}

impl Reported {
    /// Invalid input, already reported.
    pub fn invalid() -> anyhow::Error {
        anyhow::Error::new(Reported { code: INVALID })
    }

    /// A runtime failure, already reported.
    pub fn runtime() -> anyhow::Error {
        anyhow::Error::new(Reported { code: RUNTIME })
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed (exit code {})", self.code)
    }
}

impl std::error::Error for Reported {}

/// Marks an error as invalid input (exit 2) rather than a runtime failure (exit 1).
#[derive(Debug)]
pub enum Failure {
    /// Bad input: usage, config or a file named on the command line.
    Invalid(anyhow::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invalid(err) => write!(f, "{err:#}"),
        }
    }
}

impl std::error::Error for Failure {}

/// Wraps any error as invalid input: `parse(x).map_err(invalid)?`.
pub fn invalid(err: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Failure::Invalid(err.into()))
}
