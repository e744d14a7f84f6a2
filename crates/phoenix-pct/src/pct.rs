//! [`Pct`]: typed pct operations over a [`CommandRunner`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use phoenix_pveconf::Vmid;
use phoenix_pveconf::conf::{CtConf, ParsedConf};

use crate::argv;
use crate::binary::{PCT_ENV, resolve_binary};
use crate::error::{
    ExitRule, PctError, classify, failed, strip_leading_conf_warnings, without_conf_warnings,
};
use crate::lock_wait::{LockWait, is_lock_refusal};
use crate::options::{
    CloneOptions, CreateOptions, DestroyOptions, FileOptions, SetOptions, ShutdownOptions,
};
use crate::parse::OutputError;
use crate::parse::list::{ListEntry, parse_list};
use crate::parse::snapshots::{SnapshotEntry, parse_snapshots};
use crate::parse::status::parse_status;
use crate::runner::{CommandRunner, Invocation, Output};
use crate::state::CtStatus;
use phoenix_pveconf::SnapshotName;

/// Runs `pct` through a [`CommandRunner`], one typed method per subcommand.
///
/// Every method builds its argv with the matching [`argv`](crate::argv)
/// function, runs it once, and classifies a failure into a [`PctError`].
#[derive(Debug, Clone)]
pub struct Pct<R> {
    binary: PathBuf,
    runner: R,
    lock_wait: LockWait,
}

impl<R: CommandRunner> Pct<R> {
    /// Uses `$PHOENIX_PCT` when set, else `pct` on `PATH`.
    pub fn new(runner: R) -> Self {
        Self::resolve(None, runner)
    }

    /// Uses this binary.
    pub fn with_binary(binary: impl Into<PathBuf>, runner: R) -> Self {
        Pct {
            binary: binary.into(),
            runner,
            lock_wait: LockWait::none(),
        }
    }

    /// Retries a call that Proxmox refuses because another task holds the container
    /// (`CT is locked (...)`, or the config flock timed out) with this backoff, then fails
    /// with [`PctError::StillLocked`]. The default is [`LockWait::none`]: fail at once.
    pub fn with_lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
        self
    }

    /// An explicit path (for example `--pct PATH`) wins over `$PHOENIX_PCT`,
    /// which wins over `pct` on `PATH`.
    pub fn resolve(explicit: Option<PathBuf>, runner: R) -> Self {
        let binary = resolve_binary(explicit, std::env::var_os(PCT_ENV), "pct");
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

    /// Runs `inv`; a failure (per `rule`) becomes a classified error.
    fn call(
        &self,
        inv: &Invocation,
        vmid: Option<Vmid>,
        rule: ExitRule,
    ) -> Result<Output, PctError> {
        let mut delays = self.lock_wait.delays();
        let (mut tries, mut waited) = (0, Duration::ZERO);
        loop {
            let out = self.runner.run(inv)?;
            tries += 1;
            if !failed(&out, rule) {
                return Ok(out);
            }
            let err = classify(vmid, inv.argv(), &out);
            // A lock refusal comes before pct changes anything: the same call may be made
            // again once the other task is done.
            if !is_lock_refusal(&err) {
                return Err(err);
            }
            let Some(delay) = delays.next() else {
                return Err(if tries == 1 {
                    err
                } else {
                    PctError::StillLocked {
                        last: Box::new(err),
                        waited,
                        tries,
                    }
                });
            };
            std::thread::sleep(delay);
            waited += delay;
        }
    }

    fn read<T>(
        &self,
        inv: &Invocation,
        vmid: Option<Vmid>,
        parse: impl FnOnce(&str) -> Result<T, OutputError>,
    ) -> Result<T, PctError> {
        let out = self.call(inv, vmid, ExitRule::Status)?;
        parse(&out.stdout_lossy()).map_err(|source| PctError::Output {
            argv: inv.argv(),
            source,
        })
    }

    /// `pct create`: one call with every option. The template is a volume id
    /// (`local:vztmpl/NAME`) or an absolute path.
    pub fn create(
        &self,
        vmid: Vmid,
        ostemplate: &str,
        opts: &CreateOptions,
    ) -> Result<(), PctError> {
        let inv = argv::create(&self.binary, vmid, ostemplate, opts);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct clone <vmid> <newid>`.
    pub fn clone_ct(&self, vmid: Vmid, newid: Vmid, opts: &CloneOptions) -> Result<(), PctError> {
        let inv = argv::clone(&self.binary, vmid, newid, opts);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct set`: every change in one call. With nothing to change it runs
    /// nothing (pct itself would fail with `no options specified`).
    pub fn set(&self, vmid: Vmid, opts: &SetOptions) -> Result<(), PctError> {
        if opts.is_empty() {
            return Ok(());
        }
        let inv = argv::set(&self.binary, vmid, opts);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct start`.
    pub fn start(&self, vmid: Vmid) -> Result<(), PctError> {
        self.call(
            &argv::start(&self.binary, vmid),
            Some(vmid),
            ExitRule::Status,
        )
        .map(drop)
    }

    /// `pct stop`: a hard kill.
    pub fn stop(&self, vmid: Vmid) -> Result<(), PctError> {
        self.call(
            &argv::stop(&self.binary, vmid),
            Some(vmid),
            ExitRule::Status,
        )
        .map(drop)
    }

    /// `pct shutdown`: a clean shutdown.
    pub fn shutdown(&self, vmid: Vmid, opts: &ShutdownOptions) -> Result<(), PctError> {
        let inv = argv::shutdown(&self.binary, vmid, opts);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct status`: running or stopped. A read.
    pub fn status(&self, vmid: Vmid) -> Result<CtStatus, PctError> {
        self.read(&argv::status(&self.binary, vmid), Some(vmid), parse_status)
    }

    /// [`status`](Self::status), or `None` when the container does not exist.
    pub fn status_optional(&self, vmid: Vmid) -> Result<Option<CtStatus>, PctError> {
        none_if_not_found(self.status(vmid))
    }

    /// [`config`](Self::config), or `None` when the container does not exist.
    pub fn config_optional(&self, vmid: Vmid) -> Result<Option<CtConf>, PctError> {
        none_if_not_found(self.config(vmid))
    }

    /// `pct config`, parsed with phoenix-idmap's conf parser. pct merges pending
    /// values in and leaves snapshots out. A read.
    pub fn config(&self, vmid: Vmid) -> Result<CtConf, PctError> {
        self.config_parsed(vmid, false, None).map(|p| p.conf)
    }

    /// `pct config [--current 1] [--snapshot s]`, with the parser's warnings.
    /// `current` shows the values in effect, without pending ones. A read.
    pub fn config_parsed(
        &self,
        vmid: Vmid,
        current: bool,
        snapshot: Option<&SnapshotName>,
    ) -> Result<ParsedConf, PctError> {
        let inv = argv::config(&self.binary, vmid, current, snapshot);
        self.read(&inv, Some(vmid), |s| Ok(CtConf::parse(s)))
    }

    /// `pct list`: every container, in id order (empty when there are none). A read.
    pub fn list(&self) -> Result<Vec<ListEntry>, PctError> {
        self.read(&argv::list(&self.binary), None, parse_list)
    }

    /// `pct exec <vmid> -- <command...>`. The command's exit code, stdout and
    /// stderr are the value: a non-zero exit is `Ok`. Errors are only pct's own
    /// refusals (the container is missing or not running) and failures to run.
    /// The conf warnings pct prints before running the command (`vm <id> - ...`)
    /// are left out of the returned stderr.
    pub fn exec<S: AsRef<OsStr>>(&self, vmid: Vmid, command: &[S]) -> Result<Output, PctError> {
        self.exec_invocation(vmid, argv::exec(&self.binary, vmid, command))
    }

    /// [`exec`](Self::exec) with bytes on the command's stdin.
    pub fn exec_with_stdin<S: AsRef<OsStr>>(
        &self,
        vmid: Vmid,
        command: &[S],
        stdin: impl Into<Vec<u8>>,
    ) -> Result<Output, PctError> {
        let inv = argv::exec(&self.binary, vmid, command).stdin(stdin);
        self.exec_invocation(vmid, inv)
    }

    fn exec_invocation(&self, vmid: Vmid, inv: Invocation) -> Result<Output, PctError> {
        let mut out = self.runner.run(&inv)?;
        // load_config warns about the conf before lxc-attach runs the command:
        // those lines are pct's, not the command's.
        out.stderr = strip_leading_conf_warnings(&out.stderr);
        // pct's own refusal is its only output, one line on stderr after the conf
        // warnings load_config may print first; anything else, even an
        // error-looking line, is the command's.
        let stderr = without_conf_warnings(&out.stderr_lossy());
        let single_line = stderr.trim().lines().count() == 1;
        if !out.success() && out.stdout.is_empty() && single_line {
            let err = classify(Some(vmid), inv.argv(), &out);
            if matches!(err, PctError::NotRunning { .. } | PctError::NotFound { .. }) {
                return Err(err);
            }
        }
        Ok(out)
    }

    /// `pct push <vmid> <file> <destination>`: copies a host file into the
    /// container. pct exits 0 when this fails; the failure is read from stderr.
    pub fn push(
        &self,
        vmid: Vmid,
        file: &Path,
        destination: &str,
        opts: &FileOptions,
    ) -> Result<(), PctError> {
        let inv = argv::push(&self.binary, vmid, file, destination, opts);
        self.call(&inv, Some(vmid), ExitRule::TaskErrorOnStderr)
            .map(drop)
    }

    /// `pct pull <vmid> <path> <destination>`: copies a file out of the
    /// container. pct exits 0 when this fails; the failure is read from stderr.
    pub fn pull(
        &self,
        vmid: Vmid,
        path: &str,
        destination: &Path,
        opts: &FileOptions,
    ) -> Result<(), PctError> {
        let inv = argv::pull(&self.binary, vmid, path, destination, opts);
        self.call(&inv, Some(vmid), ExitRule::TaskErrorOnStderr)
            .map(drop)
    }

    /// `pct snapshot <vmid> <name> [--description text]`.
    pub fn snapshot(
        &self,
        vmid: Vmid,
        name: &SnapshotName,
        description: Option<&str>,
    ) -> Result<(), PctError> {
        let inv = argv::snapshot(&self.binary, vmid, name, description);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct listsnapshot`: the snapshot tree in printed order, `current` last
    /// under its parent. A read.
    pub fn listsnapshot(&self, vmid: Vmid) -> Result<Vec<SnapshotEntry>, PctError> {
        self.read(
            &argv::listsnapshot(&self.binary, vmid),
            Some(vmid),
            parse_snapshots,
        )
    }

    /// `pct delsnapshot <vmid> <name> [--force 1]`.
    pub fn delsnapshot(
        &self,
        vmid: Vmid,
        name: &SnapshotName,
        force: bool,
    ) -> Result<(), PctError> {
        let inv = argv::delsnapshot(&self.binary, vmid, name, force);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct rollback <vmid> <name> [--start 1]`. pct kills a running CT first.
    pub fn rollback(&self, vmid: Vmid, name: &SnapshotName, start: bool) -> Result<(), PctError> {
        let inv = argv::rollback(&self.binary, vmid, name, start);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct destroy <vmid> [--force 1] [--purge 1]`.
    pub fn destroy(&self, vmid: Vmid, opts: &DestroyOptions) -> Result<(), PctError> {
        let inv = argv::destroy(&self.binary, vmid, opts);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct template <vmid>`. pct exits 0 when the conversion fails (for
    /// example on a bind mount); the failure is read from stderr.
    pub fn template(&self, vmid: Vmid) -> Result<(), PctError> {
        let inv = argv::template(&self.binary, vmid);
        self.call(&inv, Some(vmid), ExitRule::TaskErrorOnStderr)
            .map(drop)
    }

    /// `pct unlock <vmid>`: removes any `lock:` (pct fails with `no lock found
    /// trying to remove any lock` when there is none).
    pub fn unlock(&self, vmid: Vmid) -> Result<(), PctError> {
        let inv = argv::unlock(&self.binary, vmid);
        self.call(&inv, Some(vmid), ExitRule::Status).map(drop)
    }

    /// `pct resize <vmid> <disk> <size>`. pct exits 0 when it fails; the
    /// failure is read from stderr.
    pub fn resize(&self, vmid: Vmid, disk: &str, size: &str) -> Result<(), PctError> {
        let inv = argv::resize(&self.binary, vmid, disk, size);
        self.call(&inv, Some(vmid), ExitRule::TaskErrorOnStderr)
            .map(drop)
    }
}

/// Turns "this container does not exist" into `None`.
fn none_if_not_found<T>(result: Result<T, PctError>) -> Result<Option<T>, PctError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(PctError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
