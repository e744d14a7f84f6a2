//! Running `lxc-start`, `lxc-stop`, `lxc-info` and `lxc-attach` with argv.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A container's state as `lxc-info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Running (or starting, stopping, frozen: anything but stopped).
    Running,
    /// Stopped or unknown to LXC.
    Stopped,
}

/// An `lxc-*` command failed.
#[derive(Debug, thiserror::Error)]
pub enum LxcError {
    /// It could not be spawned.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// It exited non-zero.
    #[error("{argv} failed ({status}): {detail}")]
    Failed {
        /// The argv, space-joined.
        argv: String,
        /// The exit status.
        status: String,
        /// stderr, or the tail of the LXC log.
        detail: String,
    },
}

/// Says why this machine cannot run containers: not root, or no `lxc-start`.
pub fn host_can_run_containers() -> Result<(), String> {
    let mut missing = vec![];
    if !is_root() {
        missing.push("root");
    }
    if find_on_path("lxc-start").is_none() {
        missing.push("LXC (lxc-start on PATH)");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "this command runs real containers and needs {}; this machine lacks it",
            missing.join(" and ")
        ))
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .is_some_and(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                .is_some_and(|e| e == "0")
        })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Where the host mounts its cgroups.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Removes the cgroups LXC makes for container `vmid` (the generated config puts them at
/// `lxc.monitor/<id>` and `lxc/<id>`, `lxc.cgroup.relative = 0`) under `cgroup_root`, on
/// a unified host and in every controller of a v1 or hybrid one. A cgroup is removed
/// with `rmdir`, children first; one that still holds processes stays (the kernel says
/// EBUSY), so a running container is never touched. Returns what was removed.
pub fn remove_cgroups(cgroup_root: &Path, vmid: u32) -> Vec<PathBuf> {
    let mut bases = vec![cgroup_root.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(cgroup_root) {
        bases.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    let mut removed = Vec::new();
    for base in bases {
        for dir in ["lxc.monitor", "lxc"] {
            let cg = base.join(dir).join(vmid.to_string());
            if cg.is_dir() {
                rmdir_tree(&cg, &mut removed);
            }
        }
    }
    removed
}

fn rmdir_tree(dir: &Path, removed: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_tree(&e.path(), removed);
            }
        }
    }
    if std::fs::remove_dir(dir).is_ok() {
        removed.push(dir.to_path_buf());
    }
}

/// The `lxc-*` commands for one LXC path.
#[derive(Debug, Clone)]
pub struct Lxc {
    path: PathBuf,
}

impl Lxc {
    /// Commands on containers under `lxc_path` (`<root>/var/lib/lxc`).
    pub fn new(lxc_path: impl Into<PathBuf>) -> Self {
        Self {
            path: lxc_path.into(),
        }
    }

    fn base(&self, program: &str, vmid: u32) -> Vec<String> {
        vec![
            program.into(),
            "-P".into(),
            self.path.display().to_string(),
            "-n".into(),
            vmid.to_string(),
        ]
    }

    /// `lxc-start -P <path> -n <id> -l ERROR -o <log>` (daemonized).
    pub fn start_argv(&self, vmid: u32, log: &Path) -> Vec<String> {
        let mut a = self.base("lxc-start", vmid);
        a.extend([
            "-l".into(),
            "ERROR".into(),
            "-o".into(),
            log.display().to_string(),
        ]);
        a
    }

    /// `lxc-stop -P <path> -n <id>` with `-k` (kill), or a clean shutdown with
    /// `-t <timeout>`, adding `--nokill` when it must not fall back to a kill (as
    /// `pct shutdown` without `--forceStop`).
    pub fn stop_argv(&self, vmid: u32, kill: bool, timeout: u64, nokill: bool) -> Vec<String> {
        let mut a = self.base("lxc-stop", vmid);
        if kill {
            a.push("-k".into());
        } else {
            a.extend(["-t".into(), timeout.to_string()]);
            if nokill {
                a.push("--nokill".into());
            }
        }
        a
    }

    /// `lxc-attach -P <path> -n <id> --keep-env|--clear-env -- <cmd…>`, as `pct exec`
    /// does (`--keep-env` unless `pct exec --keep-env 0`).
    pub fn attach_argv(&self, vmid: u32, keep_env: bool, cmd: &[String]) -> Vec<String> {
        let mut a = self.base("lxc-attach", vmid);
        a.push(
            if keep_env {
                "--keep-env"
            } else {
                "--clear-env"
            }
            .into(),
        );
        a.push("--".into());
        a.extend(cmd.iter().cloned());
        a
    }

    fn output(argv: &[String]) -> Result<std::process::Output, LxcError> {
        Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| LxcError::Spawn {
                program: argv[0].clone(),
                source,
            })
    }

    fn check(
        argv: &[String],
        out: &std::process::Output,
        detail: Option<String>,
    ) -> Result<(), LxcError> {
        if out.status.success() {
            return Ok(());
        }
        Err(LxcError::Failed {
            argv: argv.join(" "),
            status: out.status.to_string(),
            detail: detail
                .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        })
    }

    /// The container's state; a container LXC does not know is stopped.
    pub fn state(&self, vmid: u32) -> Result<State, LxcError> {
        if !self.path.join(vmid.to_string()).join("config").is_file() {
            return Ok(State::Stopped);
        }
        let mut argv = self.base("lxc-info", vmid);
        argv.extend(["-s".into(), "-H".into()]);
        let out = Self::output(&argv)?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(match text.trim() {
            "" | "STOPPED" => State::Stopped,
            _ => State::Running,
        })
    }

    /// The host pid of the container's init.
    pub fn init_pid(&self, vmid: u32) -> Result<Option<u32>, LxcError> {
        let mut argv = self.base("lxc-info", vmid);
        argv.extend(["-p".into(), "-H".into()]);
        let out = Self::output(&argv)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse().ok())
    }

    /// Starts the container in the background; a failure carries the LXC log's tail.
    ///
    /// A start that fails can leave its cgroups behind (`lxc.monitor/<id>` above all),
    /// and LXC then refuses every later start of that id with "Failed to create monitor
    /// cgroup". So the stopped container's cgroups are removed before the start and
    /// again after a failed one (on a Proxmox host systemd's `pve-container@<id>` unit
    /// cleans up after a failure the same way).
    pub fn start(&self, vmid: u32) -> Result<(), LxcError> {
        remove_cgroups(Path::new(CGROUP_ROOT), vmid);
        let log = self.path.join(vmid.to_string()).join("lxc-start.log");
        let _ = std::fs::remove_file(&log);
        let argv = self.start_argv(vmid, &log);
        let out = Self::output(&argv)?;
        let tail = std::fs::read_to_string(&log).ok().map(|l| {
            let lines: Vec<&str> = l.lines().collect();
            lines[lines.len().saturating_sub(3)..].join(" | ")
        });
        let result = Self::check(&argv, &out, tail.filter(|t| !t.is_empty()));
        if result.is_err() && !matches!(self.state(vmid), Ok(State::Running)) {
            remove_cgroups(Path::new(CGROUP_ROOT), vmid);
        }
        result
    }

    /// Stops the container: a kill, or a clean shutdown waiting `timeout` seconds.
    pub fn stop(&self, vmid: u32, kill: bool, timeout: u64, nokill: bool) -> Result<(), LxcError> {
        let argv = self.stop_argv(vmid, kill, timeout, nokill);
        let out = Self::output(&argv)?;
        Self::check(&argv, &out, None)
    }

    /// `lxc-cgroup -P <path> -n <id> <key> <value>`: changes a limit of a running CT.
    pub fn cgroup_set(&self, vmid: u32, key: &str, value: &str) -> Result<(), LxcError> {
        let mut argv = self.base("lxc-cgroup", vmid);
        argv.extend([key.to_owned(), value.to_owned()]);
        let out = Self::output(&argv)?;
        Self::check(&argv, &out, None)
    }

    /// `lxc-cgroup -P <path> -n <id> <key>`: reads a cgroup value of a running CT.
    pub fn cgroup_get(&self, vmid: u32, key: &str) -> Result<String, LxcError> {
        let mut argv = self.base("lxc-cgroup", vmid);
        argv.push(key.to_owned());
        let out = Self::output(&argv)?;
        Self::check(&argv, &out, None)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Runs `cmd` in the container with this process's stdio, in the environment
    /// `pct exec` gives it ([`attach_env`]); returns its exit code.
    pub fn attach(&self, vmid: u32, keep_env: bool, cmd: &[String]) -> Result<i32, LxcError> {
        let argv = self.attach_argv(vmid, keep_env, cmd);
        // Found on the caller's PATH: the attached command gets Proxmox's PATH instead.
        let program = find_on_path(&argv[0]).unwrap_or_else(|| PathBuf::from(&argv[0]));
        let status = Command::new(&program)
            .args(&argv[1..])
            .env_clear()
            .envs(attach_env(std::env::vars_os()))
            .status()
            .map_err(|source| LxcError::Spawn {
                program: argv[0].clone(),
                source,
            })?;
        Ok(status.code().unwrap_or(255))
    }
}

/// `PATH` as Proxmox's CLI sets it for itself before anything runs, so also for the
/// command `pct exec` runs with `--keep-env` (the `pct` script: `$ENV{'PATH'} =
/// '/sbin:/bin:/usr/sbin:/usr/bin';`, later `setup_default_cli_env`).
pub const PROXMOX_PATH: &str = "/sbin:/bin:/usr/sbin:/usr/bin";

/// The environment `pct exec` hands to `lxc-attach` (pve-container `PVE/CLI/pct.pm`,
/// `exec`): the caller's, with `PATH` set to [`PROXMOX_PATH`] and `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` deleted (`clean_environment`). `--keep-env` then passes it into the
/// container; `--clear-env` leaves it behind.
///
/// Not Proxmox: the emulator also drops `PHOENIX_*` and `PCT_EMU_*`, the variables that
/// configure phoenix and the emulator itself. On a real host pct has no such variables
/// of its own, and a test must not see the emulator's settings (the root, the failure
/// hooks) from inside a container.
pub fn attach_env(
    caller: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut env: Vec<_> = caller
        .into_iter()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            !matches!(k.as_ref(), "PATH" | "SSL_CERT_FILE" | "SSL_CERT_DIR")
                && !k.starts_with("PHOENIX_")
                && !k.starts_with("PCT_EMU_")
        })
        .collect();
    env.push(("PATH".into(), PROXMOX_PATH.into()));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_always_names_the_lxc_path() {
        let l = Lxc::new("/r/var/lib/lxc");
        assert_eq!(
            l.start_argv(100, Path::new("/r/l.log")).join(" "),
            "lxc-start -P /r/var/lib/lxc -n 100 -l ERROR -o /r/l.log"
        );
        assert_eq!(
            l.stop_argv(100, true, 0, false).join(" "),
            "lxc-stop -P /r/var/lib/lxc -n 100 -k"
        );
        assert_eq!(
            l.stop_argv(100, false, 60, true).join(" "),
            "lxc-stop -P /r/var/lib/lxc -n 100 -t 60 --nokill"
        );
        assert_eq!(
            l.attach_argv(100, true, &["id".into(), "-u".into()])
                .join(" "),
            "lxc-attach -P /r/var/lib/lxc -n 100 --keep-env -- id -u"
        );
        assert_eq!(
            l.attach_argv(100, false, &["env".into()]).join(" "),
            "lxc-attach -P /r/var/lib/lxc -n 100 --clear-env -- env"
        );
    }

    #[test]
    fn exec_gets_proxmox_s_path_and_none_of_phoenix_s_variables() {
        let caller = [
            ("PATH", "/home/me/.cargo/bin:/usr/bin"),
            ("PHOENIX_ROOT", "/tmp/r"),
            ("PCT_EMU_FAIL", "start:1"),
            ("SSL_CERT_FILE", "/etc/ssl/x.pem"),
            ("SSL_CERT_DIR", "/etc/ssl/certs"),
            ("TERM", "xterm"),
            ("LANG", "C.UTF-8"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        let env = attach_env(caller);
        let text: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        assert_eq!(
            text,
            [
                "TERM=xterm",
                "LANG=C.UTF-8",
                "PATH=/sbin:/bin:/usr/sbin:/usr/bin"
            ]
        );
    }

    #[test]
    fn leftover_cgroups_of_one_id_are_removed_children_first() {
        // a plain directory tree stands in for /sys/fs/cgroup (v1: one dir per controller)
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for d in [
            "lxc.monitor/9150",
            "memory/lxc.monitor/9150",
            "memory/lxc/9150/ns/init.scope",
            "memory/lxc/9151",
            "pids/lxc.monitor/91500",
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        let removed = remove_cgroups(r, 9150);
        assert_eq!(removed.len(), 5, "{removed:?}");
        assert!(!r.join("lxc.monitor/9150").exists());
        assert!(!r.join("memory/lxc/9150").exists());
        assert!(r.join("memory/lxc/9151").is_dir());
        assert!(r.join("pids/lxc.monitor/91500").is_dir());
        assert!(remove_cgroups(r, 9150).is_empty());
    }

    #[test]
    fn unknown_container_is_stopped() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(Lxc::new(t.path()).state(4242).unwrap(), State::Stopped);
    }

    #[test]
    fn errors_display() {
        let e = LxcError::Spawn {
            program: "lxc-start".into(),
            source: std::io::Error::other("nope"),
        };
        assert_eq!(e.to_string(), "cannot run lxc-start: nope");
        let e = LxcError::Failed {
            argv: "lxc-start -n 1".into(),
            status: "exit status: 1".into(),
            detail: "boom".into(),
        };
        assert_eq!(
            e.to_string(),
            "lxc-start -n 1 failed (exit status: 1): boom"
        );
    }
}
