//! A typed wrapper around Proxmox's `pct` and `pvesm` commands.
//!
//! Every command goes through a [`CommandRunner`]: [`ProcessRunner`] runs real
//! processes, [`RecordingRunner`] answers from a script and records what was
//! asked, and [`DryRunRunner`] runs reads but only records mutations.

mod runner;

pub use runner::{
    CommandRunner, DryRunRunner, Effect, ExitStatus, Invocation, Output, Pattern, ProcessRunner,
    RecordingRunner, RunError, SECRET_PLACEHOLDER,
};
