//! A typed wrapper around Proxmox's `pct` and `pvesm` commands.
//!
//! Every command goes through a [`CommandRunner`]: [`ProcessRunner`] runs real
//! processes, [`RecordingRunner`] answers from a script and records what was
//! asked, and [`DryRunRunner`] runs reads but only records mutations. Each call
//! is an [`Effect::Read`] (status, config, list, listsnapshot, `pvesm status`)
//! or an [`Effect::Mutation`] (everything else, `exec` included).
//!
//! [`Pct`] has one method per subcommand. It builds the argv with the pure
//! functions of [`argv`], runs it once, and turns a failure into a [`PctError`]
//! classified from pct's own messages. What pct prints is parsed into types:
//!
//! ```text
//! $ pct status 100                  -> CtStatus::Running
//! status: running
//! $ pct list                        -> Vec<ListEntry>
//! VMID       Status     Lock         Name
//! 100        running                 web1
//! $ pct listsnapshot 100            -> Vec<SnapshotEntry>
//! `-> before                     2024-05-01 10:00:00     no-description
//!  `-> current                                           You are here!
//! $ pct config 100                  -> phoenix_pveconf::conf::CtConf
//! arch: amd64
//! hostname: web1
//! ```
//!
//! The binary is an explicit path, else `$PHOENIX_PCT` (`$PHOENIX_PVESM` for
//! [`Pvesm`]), else `pct` on `PATH`.
//!
//! ```
//! use phoenix_pveconf::Vmid;
//! use phoenix_pct::{
//!     CreateOptions, CtOptions, CtStatus, Output, Pattern, Pct, PctError, RecordingRunner,
//! };
//!
//! // The first matching answer wins.
//! let runner = RecordingRunner::new()
//!     .answer(
//!         Pattern::exact(["pct", "start", "101"]),
//!         Output::failed(2, "Configuration file 'nodes/pve/lxc/101.conf' does not exist\n"),
//!     )
//!     .answer(Pattern::prefix(["pct", "create"]), Output::ok(""))
//!     .answer(Pattern::prefix(["pct", "start"]), Output::ok(""))
//!     .answer(Pattern::exact(["pct", "status", "100"]), Output::ok("status: running\n"))
//!     .answer(Pattern::prefix(["pct", "exec", "100"]), Output::ok("0\n"));
//! let pct = Pct::with_binary("pct", &runner);
//! let ct = Vmid::new(100).unwrap();
//!
//! let opts = CreateOptions {
//!     config: CtOptions { hostname: Some("web1".into()), memory: Some(1024), ..Default::default() },
//!     ..CreateOptions::default() // unprivileged
//! };
//! pct.create(ct, "local:vztmpl/phoenix-busybox_amd64.tar.gz", &opts)?;
//! pct.start(ct)?;
//! assert_eq!(pct.status(ct)?, CtStatus::Running);
//! let out = pct.exec(ct, &["id", "-u"])?; // a non-zero exit would be a value too
//! assert_eq!(out.stdout, b"0\n");
//!
//! // pct's messages become typed errors
//! let missing = Vmid::new(101).unwrap();
//! assert!(matches!(pct.start(missing), Err(PctError::NotFound { .. })));
//!
//! assert_eq!(
//!     runner.transcript(),
//!     "pct create 100 local:vztmpl/phoenix-busybox_amd64.tar.gz \
//!      --hostname web1 --memory 1024 --unprivileged 1\n\
//!      pct start 100\n\
//!      pct status 100\n\
//!      pct exec 100 -- id -u\n\
//!      pct start 101\n"
//! );
//! # Ok::<(), PctError>(())
//! ```

pub mod argv;
mod binary;
mod error;
mod lock_wait;
mod names;
mod options;
mod parse;
mod pct;
mod pvesm;
mod runner;
mod state;

pub use binary::{PCT_ENV, PVESM_ENV, resolve_binary};
pub use error::PctError;
pub use lock_wait::{DEFAULT_LOCK_WAIT, LockWait};
pub use names::{Arch, EnumError, OsType, Password, PasswordError};
pub use options::{
    CloneOptions, CreateOptions, CtOptions, DestroyOptions, FileOptions, SetOptions,
    ShutdownOptions,
};
pub use parse::OutputError;
pub use parse::list::ListEntry;
pub use parse::pvesm::{StorageState, StorageStatus};
pub use parse::snapshots::{SnapshotEntry, SnapshotTime, SnapshotTimeError};
pub use pct::Pct;
/// Snapshot names are the conf model's ([`phoenix_pveconf::SnapshotName`]); pct takes them as they are.
pub use phoenix_pveconf::{SnapshotName, SnapshotNameError};
pub use pvesm::Pvesm;
pub use runner::{
    CommandRunner, DryRunRunner, Effect, ExitStatus, Invocation, Output, Pattern, ProcessRunner,
    RecordingRunner, RunError, SECRET_PLACEHOLDER,
};
pub use state::{CtStatus, Lock, UnknownStatus};
