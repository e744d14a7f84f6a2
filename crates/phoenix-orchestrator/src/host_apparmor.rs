//! The host's [`ProfileLoader`]: loads profiles with `apparmor_parser -r` through a
//! [`CommandRunner`] (argv, never a shell string).
//!
//! ```
//! use phoenix_orchestrator::host_apparmor::HostProfileLoader;
//! use phoenix_orchestrator::pct::RecordingRunner;
//!
//! let loader = HostProfileLoader::new(RecordingRunner::new(), "/".into());
//! let inv = loader.replace_invocation("/etc/apparmor.d/lxc/lxc-phoenix-v2".as_ref());
//! assert_eq!(inv.to_string(), "apparmor_parser -r /etc/apparmor.d/lxc/lxc-phoenix-v2");
//! ```

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_apparmor::install::{LoadError, ProfileLoader};
use phoenix_pct::{CommandRunner, Invocation, RunError};

/// The parser that compiles and loads profiles.
pub const APPARMOR_PARSER: &str = "apparmor_parser";

/// Where the kernel says whether AppArmor is on (`Y`), relative to the real root.
pub const ENABLED_FILE: &str = "sys/module/apparmor/parameters/enabled";

/// Loads profiles into the running kernel.
///
/// Whether AppArmor is available is read from the REAL root (`/`), not from the
/// install root: the profiles go into this host's kernel whatever directory they were
/// written to. When the install root is not `/`, `-I <root>/etc/apparmor.d` puts the
/// root's `tunables/nesting` ahead of the host's on the include path.
#[derive(Debug)]
pub struct HostProfileLoader<R> {
    runner: R,
    install_root: Utf8PathBuf,
    real_root: Utf8PathBuf,
}

impl<R: CommandRunner> HostProfileLoader<R> {
    /// A loader for profiles installed under `install_root`.
    pub fn new(runner: R, install_root: Utf8PathBuf) -> Self {
        HostProfileLoader {
            runner,
            install_root,
            real_root: Utf8PathBuf::from("/"),
        }
    }

    /// Reads the kernel's AppArmor switch under `real_root` instead of `/` (tests).
    pub fn with_real_root(mut self, real_root: Utf8PathBuf) -> Self {
        self.real_root = real_root;
        self
    }

    /// The command that loads or replaces the profiles in `path`.
    pub fn replace_invocation(&self, path: &Utf8Path) -> Invocation {
        let mut inv = Invocation::mutation(APPARMOR_PARSER).arg("-r");
        if self.install_root != Utf8Path::new("/") {
            inv = inv.arg("-I").arg(self.install_root.join("etc/apparmor.d"));
        }
        inv.arg(path)
    }

    /// The command that tells whether the parser is installed.
    pub fn probe_invocation(&self) -> Invocation {
        Invocation::read(APPARMOR_PARSER).arg("--version")
    }

    /// The runner, for transcripts in tests.
    pub fn runner(&self) -> &R {
        &self.runner
    }
}

impl<R: CommandRunner> ProfileLoader for HostProfileLoader<R> {
    fn available(&self) -> Result<bool, LoadError> {
        let path = self.real_root.join(ENABLED_FILE);
        match crate::hostfs::read_host_text(&path) {
            Ok(Some(s)) if s.trim() == "Y" => {}
            Ok(_) => return Ok(false),
            Err(source) => return Err(LoadError::Probe { path, source }),
        }
        let inv = self.probe_invocation();
        match self.runner.run(&inv) {
            Ok(out) => Ok(out.success()),
            Err(RunError::Spawn { .. }) => Ok(false),
            Err(e) => Err(LoadError::Run {
                argv: inv.to_string(),
                source: Box::new(e),
            }),
        }
    }

    fn replace(&self, path: &Utf8Path) -> Result<(), LoadError> {
        let inv = self.replace_invocation(path);
        let out = self.runner.run(&inv).map_err(|e| LoadError::Run {
            argv: inv.to_string(),
            source: Box::new(e),
        })?;
        if out.success() {
            Ok(())
        } else {
            Err(LoadError::Failed {
                argv: inv.to_string(),
                status: out.status.to_string(),
                stderr: out.stderr_lossy().trim().to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pct::{Output, Pattern, RecordingRunner};

    fn real_root(enabled: Option<&str>) -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap().to_owned();
        if let Some(value) = enabled {
            let file = root.join(ENABLED_FILE);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, value).unwrap();
        }
        (dir, root)
    }

    #[test]
    fn a_kernel_without_apparmor_is_unavailable_without_running_anything() {
        for enabled in [None, Some("N\n")] {
            let (_d, root) = real_root(enabled);
            let loader =
                HostProfileLoader::new(RecordingRunner::new(), "/".into()).with_real_root(root);
            assert!(!loader.available().unwrap());
            assert_eq!(loader.runner().transcript(), "");
        }
    }

    #[test]
    fn an_enabled_kernel_also_needs_the_parser() {
        let (_d, root) = real_root(Some("Y\n"));
        let runner = RecordingRunner::new().answer(
            Pattern::exact([APPARMOR_PARSER, "--version"]),
            Output::ok("AppArmor parser version 3.0.8\n"),
        );
        let loader = HostProfileLoader::new(runner, "/".into()).with_real_root(root.clone());
        assert!(loader.available().unwrap());
        assert_eq!(loader.runner().transcript(), "apparmor_parser --version\n");

        // A RecordingRunner without an answer is not "missing": it is an error.
        let loader =
            HostProfileLoader::new(RecordingRunner::new(), "/".into()).with_real_root(root);
        let err = loader.available().unwrap_err();
        assert_eq!(err.to_string(), "cannot run `apparmor_parser --version`");
    }

    #[test]
    fn replace_runs_the_parser_with_argv_and_reports_its_stderr() {
        let runner = RecordingRunner::new()
            .answer_once(Pattern::prefix([APPARMOR_PARSER, "-r"]), Output::ok(""))
            .answer(
                Pattern::prefix([APPARMOR_PARSER, "-r"]),
                Output::failed(1, "AppArmor parser error: syntax error\n"),
            );
        let loader = HostProfileLoader::new(runner, "/srv/root dir".into());
        let path = Utf8Path::new("/srv/root dir/etc/apparmor.d/lxc/lxc-phoenix-v2");
        loader.replace(path).unwrap();
        let err = loader.replace(path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`apparmor_parser -r -I '/srv/root dir/etc/apparmor.d' '/srv/root dir/etc/apparmor.d/lxc/lxc-phoenix-v2'` failed with exit code 1: AppArmor parser error: syntax error"
        );
        let argv = loader.runner().invocations()[0].argv();
        assert_eq!(
            argv,
            [
                "apparmor_parser",
                "-r",
                "-I",
                "/srv/root dir/etc/apparmor.d",
                "/srv/root dir/etc/apparmor.d/lxc/lxc-phoenix-v2"
            ]
        );
    }

    #[test]
    fn installing_under_slash_loads_with_the_plain_argv() {
        let loader = HostProfileLoader::new(RecordingRunner::new(), "/".into());
        insta::assert_snapshot!(
            loader
                .replace_invocation(Utf8Path::new("/etc/apparmor.d/lxc/lxc-docker-secure"))
                .to_string(),
            @"apparmor_parser -r /etc/apparmor.d/lxc/lxc-docker-secure"
        );
    }
}
