//! Where doctor's facts come from: files under a root and commands run through
//! phoenix-pct's [`CommandRunner`], behind the [`HostFacts`] trait, so tests use a
//! temporary root and a [`phoenix_pct::RecordingRunner`].

use std::path::{Component, Path, PathBuf};

use phoenix_pct::{CommandRunner, Invocation, PctError, Pvesm, StorageStatus};

/// What a command printed, when it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// It exited 0.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Reads host facts. Paths are host paths (`/sys/fs/cgroup`), resolved by the
/// implementation (under `--root` for [`RootHost`]).
pub trait HostFacts {
    /// A file's text, `None` when it cannot be read.
    fn read_file(&self, path: &str) -> Option<String>;
    /// The names in a directory, sorted (empty when it cannot be read).
    fn list_dir(&self, path: &str) -> Vec<String>;
    /// True when the path exists.
    fn exists(&self, path: &str) -> bool;
    /// Runs a read-only command; `Err` (with the reason) when it could not run at all.
    fn command(&self, argv: &[&str]) -> Result<CommandOutput, PctError>;
    /// `pvesm status`, through phoenix-pct's typed wrapper.
    fn pvesm_status(&self) -> Result<Vec<StorageStatus>, PctError>;
}

/// The real host (or a test's temporary root): files under `root`, commands through
/// `runner`, `pvesm` at `pvesm`. Kernel state (`/sys`, `/proc`) is read under the
/// kernel root, which is `root` unless [`RootHost::kernel_root`] says otherwise.
#[derive(Debug, Clone)]
pub struct RootHost<R> {
    root: PathBuf,
    kernel_root: PathBuf,
    runner: R,
    pvesm: Option<PathBuf>,
}

impl<R: CommandRunner> RootHost<R> {
    /// Facts under `root`, commands through `runner`; `pvesm` is an explicit binary
    /// (else `$PHOENIX_PVESM`, else `pvesm` on `PATH`).
    pub fn new(root: impl Into<PathBuf>, runner: R, pvesm: Option<PathBuf>) -> Self {
        let root = root.into();
        Self {
            kernel_root: root.clone(),
            root,
            runner,
            pvesm,
        }
    }

    /// Reads `/sys` and `/proc` under `dir` instead: the pct emulator's root holds
    /// Proxmox's files, while the kernel it runs containers on is the real one.
    pub fn kernel_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.kernel_root = dir.into();
        self
    }

    /// `path` under the root (`/sys` and `/proc` under the kernel root); `..`
    /// components are dropped.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let kernel = path.starts_with("/sys/") || path.starts_with("/proc/");
        let mut out = if kernel {
            self.kernel_root.clone()
        } else {
            self.root.clone()
        };
        for c in Path::new(path).components() {
            if let Component::Normal(p) = c {
                out.push(p);
            }
        }
        out
    }
}

impl<R: CommandRunner> HostFacts for RootHost<R> {
    fn read_file(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.resolve(path)).ok()
    }

    fn list_dir(&self, path: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.resolve(path))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn exists(&self, path: &str) -> bool {
        self.resolve(path).exists()
    }

    fn command(&self, argv: &[&str]) -> Result<CommandOutput, PctError> {
        let inv = Invocation::read(argv[0]).args(&argv[1..]);
        let out = self.runner.run(&inv)?;
        Ok(CommandOutput {
            success: out.success(),
            stdout: out.stdout_lossy(),
            stderr: out.stderr_lossy(),
        })
    }

    fn pvesm_status(&self) -> Result<Vec<StorageStatus>, PctError> {
        Pvesm::resolve(self.pvesm.clone(), &self.runner).status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pct::{Output, Pattern, RecordingRunner};

    #[test]
    fn files_resolve_under_the_root_and_commands_go_through_the_runner() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("sys/class/net/b0")).unwrap();
        std::fs::write(t.path().join("etc-x"), "v").unwrap();
        let runner = RecordingRunner::new().answer(
            Pattern::exact(["uname", "-r"]),
            Output::ok("6.8.12-1-pve\n"),
        );
        let host = RootHost::new(t.path(), &runner, Some("pvesm".into()));
        assert_eq!(host.read_file("/../etc-x").as_deref(), Some("v"));
        assert_eq!(host.list_dir("/sys/class/net"), ["b0"]);
        assert!(host.exists("/sys/class/net/b0"));
        assert_eq!(
            host.command(&["uname", "-r"]).unwrap().stdout,
            "6.8.12-1-pve\n"
        );
        assert!(host.command(&["pveversion"]).is_err());
        assert_eq!(runner.transcript(), "uname -r\npveversion\n");
        let elsewhere = tempfile::tempdir().unwrap();
        let host = host.kernel_root(elsewhere.path());
        assert!(!host.exists("/sys/class/net/b0"));
        assert_eq!(host.read_file("/etc-x").as_deref(), Some("v"));
    }
}
