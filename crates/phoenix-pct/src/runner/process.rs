//! The real runner: `std::process::Command` over an argv, never a shell.

use std::ffi::{OsStr, OsString};
use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{CommandRunner, ExitStatus, Invocation, Output, RunError};

/// Runs commands as real processes.
///
/// stdout and stderr are read together (`wait_with_output` drains both pipes at
/// once) and stdin is fed from its own thread, so a child that prints a lot
/// before reading its input cannot deadlock us. Without stdin bytes the child's
/// stdin is `/dev/null`, so a command that prompts gets EOF instead of hanging.
///
/// ```
/// use phoenix_pct::{CommandRunner, Invocation, ProcessRunner};
/// let runner = ProcessRunner::new().env("GREETING", "hello");
/// let out = runner
///     .run(&Invocation::read("sh").args(["-c", "echo $GREETING; exit 3"]))
///     .unwrap();
/// assert_eq!(out.stdout, b"hello\n");
/// assert_eq!(out.status.code(), Some(3));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProcessRunner {
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    current_dir: Option<PathBuf>,
    timeout: Option<Duration>,
}

impl ProcessRunner {
    /// A runner that passes the current environment through unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an environment variable for every command it runs.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Removes an environment variable for every command it runs.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_remove.push(key.as_ref().to_owned());
        self
    }

    /// Runs every command in this directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Kills a command that runs longer than `limit` and reports
    /// [`RunError::TimedOut`]. Without it a hung command blocks its caller.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    fn command(&self, inv: &Invocation) -> Command {
        let mut cmd = Command::new(inv.program());
        cmd.args(inv.arguments());
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.current_dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(if inv.stdin_bytes().is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }
}

impl CommandRunner for ProcessRunner {
    fn run(&self, inv: &Invocation) -> Result<Output, RunError> {
        let mut child = self
            .command(inv)
            .spawn()
            .map_err(|source| RunError::Spawn {
                argv: inv.argv(),
                source,
            })?;
        let feeder = match (child.stdin.take(), inv.stdin_bytes()) {
            (Some(mut pipe), Some(bytes)) => {
                let bytes = bytes.to_vec();
                Some(std::thread::spawn(move || {
                    match pipe.write_all(&bytes) {
                        // The child may exit without reading its input; that is its
                        // business, and its exit status says how it went.
                        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
                        other => other,
                    }
                }))
            }
            _ => None,
        };
        let io_err = |source| RunError::Io {
            argv: inv.argv(),
            source,
        };
        let out = match self.timeout {
            None => child.wait_with_output().map_err(io_err)?,
            Some(limit) => match wait_with_deadline(child, limit).map_err(io_err)? {
                Some(out) => out,
                None => {
                    return Err(RunError::TimedOut {
                        argv: inv.argv(),
                        after: limit,
                    });
                }
            },
        };
        if let Some(feeder) = feeder {
            let fed = feeder
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("stdin writer panicked")));
            fed.map_err(|source| RunError::Io {
                argv: inv.argv(),
                source,
            })?;
        }
        Ok(Output {
            status: exit_status(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn run_streaming(
        &self,
        inv: &Invocation,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        use std::io::BufRead;
        let mut cmd = self.command(inv);
        if inv.stdin_bytes().is_none() {
            cmd.stdin(Stdio::null());
        }
        let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
            argv: inv.argv(),
            source,
        })?;
        if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), inv.stdin_bytes()) {
            let bytes = bytes.to_vec();
            std::thread::spawn(move || pipe.write_all(&bytes));
        }
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        // Both pipes are read line by line on their own threads, so neither can fill up.
        let read = |pipe: Option<Box<dyn std::io::Read + Send>>| -> Vec<u8> {
            let mut all = Vec::new();
            let Some(pipe) = pipe else { return all };
            let mut reader = std::io::BufReader::new(pipe);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                on_line(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']));
                all.extend_from_slice(&line);
                line.clear();
            }
            all
        };
        let (out, err) = std::thread::scope(|scope| {
            let o =
                scope.spawn(|| read(stdout.map(|p| Box::new(p) as Box<dyn std::io::Read + Send>)));
            let e =
                scope.spawn(|| read(stderr.map(|p| Box::new(p) as Box<dyn std::io::Read + Send>)));
            (o.join().unwrap_or_default(), e.join().unwrap_or_default())
        });
        let status = child.wait().map_err(|source| RunError::Io {
            argv: inv.argv(),
            source,
        })?;
        Ok(Output {
            status: exit_status(status),
            stdout: out,
            stderr: err,
        })
    }
}

/// Reads a pipe to its end on its own thread.
fn drain<P: Read + Send + 'static>(pipe: Option<P>) -> JoinHandle<std::io::Result<Vec<u8>>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut buf)?;
        }
        Ok(buf)
    })
}

/// Like `wait_with_output`, but kills the child at the deadline and returns
/// `None`. The pipe readers of a killed child are left to finish on their own:
/// a grandchild may still hold the pipes open, and waiting for it would defeat
/// the timeout.
fn wait_with_deadline(
    mut child: Child,
    limit: Duration,
) -> std::io::Result<Option<std::process::Output>> {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let now = Instant::now();
        if now >= deadline {
            // Already exited between the two calls, or killed now: either way reap it.
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep((deadline - now).min(Duration::from_millis(5)));
    };
    let join = |h: JoinHandle<std::io::Result<Vec<u8>>>| {
        h.join()
            .unwrap_or_else(|_| Err(std::io::Error::other("pipe reader panicked")))
    };
    Ok(Some(std::process::Output {
        status,
        stdout: join(stdout)?,
        stderr: join(stderr)?,
    }))
}

#[cfg(unix)]
fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Code(code),
        (None, Some(sig)) => ExitStatus::Signal(sig),
        (None, None) => ExitStatus::Code(-1),
    }
}

#[cfg(not(unix))]
fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    ExitStatus::Code(status.code().unwrap_or(-1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Invocation {
        Invocation::read("sh").args(["-c", script])
    }

    #[test]
    fn captures_stdout_stderr_and_exit_code() {
        let out = ProcessRunner::new()
            .run(&sh("echo out; echo err >&2; exit 7"))
            .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status, ExitStatus::Code(7));
    }

    #[test]
    fn a_chatty_child_writing_both_streams_does_not_deadlock() {
        // 1 MiB on each stream is far beyond a pipe buffer (64 KiB).
        let out = ProcessRunner::new()
            .run(&sh(
                "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; \
                 head -c 1048576 /dev/zero",
            ))
            .unwrap();
        assert_eq!(out.stdout.len(), 2 * 1_048_576);
        assert_eq!(out.stderr.len(), 1_048_576);
    }

    #[test]
    fn stdin_is_fed_even_when_larger_than_a_pipe() {
        let data = vec![b'x'; 300_000];
        let out = ProcessRunner::new()
            .run(&Invocation::read("wc").arg("-c").stdin(data))
            .unwrap();
        assert_eq!(out.stdout_lossy().trim(), "300000");
    }

    #[test]
    fn a_child_ignoring_its_stdin_is_not_an_error() {
        let out = ProcessRunner::new()
            .run(&sh("exit 0").stdin(vec![b'y'; 1_000_000]))
            .unwrap();
        assert!(out.success());
    }

    #[test]
    fn without_stdin_bytes_stdin_is_empty() {
        let out = ProcessRunner::new().run(&Invocation::read("cat")).unwrap();
        assert!(out.success());
        assert!(out.stdout.is_empty());
    }

    #[test]
    fn a_signal_is_reported_as_such() {
        let out = ProcessRunner::new().run(&sh("kill -9 $$")).unwrap();
        assert_eq!(out.status, ExitStatus::Signal(9));
    }

    #[test]
    fn env_and_current_dir_apply() {
        let dir = tempfile::tempdir().unwrap();
        let runner = ProcessRunner::new()
            .env("PHOENIX_TEST_VALUE", "v1")
            .env_remove("HOME")
            .current_dir(dir.path());
        let out = runner
            .run(&sh("echo \"$PHOENIX_TEST_VALUE:${HOME:-unset}\"; pwd -P"))
            .unwrap();
        let expected = format!(
            "v1:unset\n{}\n",
            dir.path().canonicalize().unwrap().display()
        );
        assert_eq!(out.stdout_lossy(), expected);
    }

    #[test]
    fn streaming_hands_over_each_line_as_it_comes_and_keeps_the_output() {
        let seen = std::sync::Mutex::new(Vec::new());
        let inv = Invocation::mutation("sh").args(["-c", "echo one; echo two >&2; echo three"]);
        let out = ProcessRunner::new()
            .run_streaming(&inv, &|l| seen.lock().unwrap().push(l.to_owned()))
            .unwrap();
        assert!(out.success());
        assert_eq!(out.stdout_lossy(), "one\nthree\n");
        assert_eq!(out.stderr_lossy(), "two\n");
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, ["one", "three", "two"]);
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_and_reported() {
        let runner = ProcessRunner::new().timeout(Duration::from_millis(200));
        let err = runner.run(&sh("echo started; sleep 30")).unwrap_err();
        assert!(matches!(err, RunError::TimedOut { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "gave up on `sh -c 'echo started; sleep 30'` after 0.2s"
        );
    }

    #[test]
    fn a_command_within_its_timeout_gives_its_output() {
        let runner = ProcessRunner::new().timeout(Duration::from_secs(60));
        let out = runner
            .run(&sh("head -c 200000 /dev/zero; echo err >&2; exit 4").stdin(vec![b'x'; 10]))
            .unwrap();
        assert_eq!(out.stdout.len(), 200_000);
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status, ExitStatus::Code(4));
    }

    #[test]
    fn a_missing_binary_is_a_spawn_error_naming_the_command() {
        let err = ProcessRunner::new()
            .run(&Invocation::read("/nonexistent/pct").arg("list"))
            .unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }));
        assert_eq!(err.to_string(), "cannot start `/nonexistent/pct list`");
    }
}
