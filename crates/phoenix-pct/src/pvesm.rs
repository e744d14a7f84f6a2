//! `pvesm`, Proxmox's storage manager: only what phoenix needs, checking pools.

use std::path::{Path, PathBuf};

use crate::argv;
use crate::binary::{PVESM_ENV, resolve_binary};
use crate::error::{ExitRule, PctError, classify, failed};
use crate::parse::pvesm::{StorageStatus, parse_storage_status};
use crate::runner::CommandRunner;

/// Runs `pvesm` through a [`CommandRunner`].
///
/// ```
/// use phoenix_pct::{Output, Pattern, Pvesm, RecordingRunner, StorageState};
/// let runner = RecordingRunner::new().answer(
///     Pattern::exact(["pvesm", "status"]),
///     Output::ok(
///         "Name             Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %\n\
///          local             dir     active        98497780        10365212        83083020   10.52%\n",
///     ),
/// );
/// let pools = Pvesm::with_binary("pvesm", &runner).status().unwrap();
/// assert_eq!(pools[0].name, "local");
/// assert_eq!(pools[0].state, StorageState::Active);
/// ```
#[derive(Debug, Clone)]
pub struct Pvesm<R> {
    binary: PathBuf,
    runner: R,
}

impl<R: CommandRunner> Pvesm<R> {
    /// Uses `$PHOENIX_PVESM` when set, else `pvesm` on `PATH`.
    pub fn new(runner: R) -> Self {
        Self::resolve(None, runner)
    }

    /// Uses this binary.
    pub fn with_binary(binary: impl Into<PathBuf>, runner: R) -> Self {
        Pvesm {
            binary: binary.into(),
            runner,
        }
    }

    /// An explicit path (for example `--pvesm PATH`) wins over
    /// `$PHOENIX_PVESM`, which wins over `pvesm` on `PATH`.
    pub fn resolve(explicit: Option<PathBuf>, runner: R) -> Self {
        let binary = resolve_binary(explicit, std::env::var_os(PVESM_ENV), "pvesm");
        Self::with_binary(binary, runner)
    }

    /// The binary it runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The runner it runs through.
    pub fn runner(&self) -> &R {
        &self.runner
    }

    /// The row of `pvesm status` for one storage, or `None` when no storage
    /// has that name. A read.
    pub fn storage_optional(&self, name: &str) -> Result<Option<StorageStatus>, PctError> {
        Ok(self.status()?.into_iter().find(|s| s.name == name))
    }

    /// `pvesm status`: every storage with its state and sizes. A read. Reads the
    /// header of PVE 9 (`Total (KiB)` ...) and of PVE 8 (`Total` ...).
    pub fn status(&self) -> Result<Vec<StorageStatus>, PctError> {
        let inv = argv::pvesm_status(&self.binary);
        let out = self.runner.run(&inv)?;
        if failed(&out, ExitRule::Status) {
            return Err(classify(None, inv.argv(), &out));
        }
        parse_storage_status(&out.stdout_lossy()).map_err(|source| PctError::Output {
            argv: inv.argv(),
            source,
        })
    }
}
