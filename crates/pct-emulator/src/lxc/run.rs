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

    /// `lxc-attach -P <path> -n <id> --keep-env -- <cmd…>`, as `pct exec` does.
    pub fn attach_argv(&self, vmid: u32, cmd: &[String]) -> Vec<String> {
        let mut a = self.base("lxc-attach", vmid);
        a.push("--keep-env".into());
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
    pub fn start(&self, vmid: u32) -> Result<(), LxcError> {
        let log = self.path.join(vmid.to_string()).join("lxc-start.log");
        let _ = std::fs::remove_file(&log);
        let argv = self.start_argv(vmid, &log);
        let out = Self::output(&argv)?;
        let tail = std::fs::read_to_string(&log).ok().map(|l| {
            let lines: Vec<&str> = l.lines().collect();
            lines[lines.len().saturating_sub(3)..].join(" | ")
        });
        Self::check(&argv, &out, tail.filter(|t| !t.is_empty()))
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

    /// Runs `cmd` in the container with this process's stdio; returns its exit code.
    pub fn attach(&self, vmid: u32, cmd: &[String]) -> Result<i32, LxcError> {
        let argv = self.attach_argv(vmid, cmd);
        let status = Command::new(&argv[0])
            .args(&argv[1..])
            .status()
            .map_err(|source| LxcError::Spawn {
                program: argv[0].clone(),
                source,
            })?;
        Ok(status.code().unwrap_or(255))
    }

    /// Runs `cmd` in the container with the given stdin/stdout, capturing stderr.
    pub fn attach_io(
        &self,
        vmid: u32,
        cmd: &[String],
        stdin: Stdio,
        stdout: Stdio,
    ) -> Result<(), LxcError> {
        let argv = self.attach_argv(vmid, cmd);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| LxcError::Spawn {
                program: argv[0].clone(),
                source,
            })?;
        Self::check(&argv, &out, None)
    }
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
            l.attach_argv(100, &["id".into(), "-u".into()]).join(" "),
            "lxc-attach -P /r/var/lib/lxc -n 100 --keep-env -- id -u"
        );
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
