//! Running commands behind a small trait, so every side effect can be recorded,
//! scripted or skipped.
//!
//! An [`Invocation`] is a program, its argv, optional stdin bytes and its
//! [`Effect`]: a read (status, config, list, listsnapshot, `pvesm status`) or a
//! mutation (everything else). A [`CommandRunner`] turns it into an [`Output`].
//! A command that ran and exited non-zero is an `Ok(Output)`: deciding what a
//! non-zero exit means is the caller's job. [`RunError`] is only for commands
//! that could not be run at all, or had no scripted answer.
//!
//! Implementations:
//! - [`ProcessRunner`] runs real processes with `std::process::Command`;
//! - [`RecordingRunner`] answers from a script and records every call;
//! - [`DryRunRunner`] runs reads through another runner and only records mutations.

mod dry_run;
mod process;
pub(crate) mod quote;
mod recording;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use dry_run::DryRunRunner;
pub use process::ProcessRunner;
pub use recording::{Pattern, RecordingRunner};

/// Whether a command only looks at the system or changes it. A dry run executes
/// reads and records mutations without running them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Looks only: safe to run during a dry run.
    Read,
    /// Changes something: recorded, not run, during a dry run.
    Mutation,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Read => "read",
            Effect::Mutation => "mutation",
        })
    }
}

/// One command to run: program, arguments, optional stdin and its [`Effect`].
///
/// Built with a small builder. Its `Display` is one shell-quoted line, for
/// transcripts and messages only; it is never executed by a shell.
///
/// ```
/// use phoenix_pct::{Effect, Invocation};
/// let inv = Invocation::new("pct", Effect::Mutation)
///     .arg("set")
///     .arg("100")
///     .args(["--description", "web server"]);
/// assert_eq!(inv.to_string(), "pct set 100 --description 'web server'");
/// assert_eq!(inv.effect(), Effect::Mutation);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    program: PathBuf,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    effect: Effect,
    /// Indexes into `args` of values never shown (passwords).
    secret: Vec<usize>,
}

/// What a secret argument looks like in transcripts and messages.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

impl Invocation {
    /// A command with no arguments yet.
    pub fn new(program: impl Into<PathBuf>, effect: Effect) -> Self {
        Invocation {
            program: program.into(),
            args: Vec::new(),
            stdin: None,
            effect,
            secret: Vec::new(),
        }
    }

    /// A command that only reads.
    pub fn read(program: impl Into<PathBuf>) -> Self {
        Self::new(program, Effect::Read)
    }

    /// A command that changes something.
    pub fn mutation(program: impl Into<PathBuf>) -> Self {
        Self::new(program, Effect::Mutation)
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Appends an argument that is passed to the command but never shown:
    /// [`Display`](std::fmt::Display) and [`argv`](Self::argv) print
    /// [`SECRET_PLACEHOLDER`] instead, so a password does not end up in a
    /// transcript, a log or an error message.
    pub fn secret_arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.secret.push(self.args.len());
        self.arg(arg)
    }

    /// Bytes fed to the command's stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The program, as given (a bare name is looked up on `PATH`).
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The arguments after the program.
    pub fn arguments(&self) -> &[OsString] {
        &self.args
    }

    /// The stdin bytes, if any.
    pub fn stdin_bytes(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    /// Whether the command reads or changes.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The program followed by its arguments, lossily converted to UTF-8, for
    /// messages: secret arguments are replaced by [`SECRET_PLACEHOLDER`].
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.to_string_lossy().into_owned())
            .chain(self.args.iter().enumerate().map(|(i, a)| {
                if self.secret.contains(&i) {
                    SECRET_PLACEHOLDER.to_owned()
                } else {
                    a.to_string_lossy().into_owned()
                }
            }))
            .collect()
    }
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every word of `argv()`, quoted unless it is the placeholder, written as it
        // goes (a plan renders some 50,000 of these).
        use fmt::Write as _;
        let words = std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .enumerate();
        for (n, w) in words {
            if n > 0 {
                f.write_char(' ')?;
            }
            let w = if n > 0 && self.secret.contains(&(n - 1)) {
                std::borrow::Cow::Borrowed(SECRET_PLACEHOLDER)
            } else {
                w.to_string_lossy()
            };
            if w == SECRET_PLACEHOLDER {
                f.write_str(&w)?;
            } else {
                quote::write_word(f, &w)?;
            }
        }
        if let Some(stdin) = &self.stdin {
            write!(f, " (stdin: {} bytes)", stdin.len())?;
        }
        Ok(())
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl ExitStatus {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        *self == ExitStatus::Code(0)
    }

    /// The exit code, if it exited rather than being killed.
    pub fn code(&self) -> Option<i32> {
        match self {
            ExitStatus::Code(c) => Some(*c),
            ExitStatus::Signal(_) => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// What a finished command left: its status and everything it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Exit 0 with this stdout and an empty stderr.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Output {
            status: ExitStatus::Code(0),
            stdout: stdout.into(),
            stderr: Vec::new(),
        }
    }

    /// Exit `code` with this stderr and an empty stdout.
    pub fn failed(code: i32, stderr: impl Into<Vec<u8>>) -> Self {
        Output {
            status: ExitStatus::Code(code),
            stdout: Vec::new(),
            stderr: stderr.into(),
        }
    }

    /// Replaces stdout.
    pub fn with_stdout(mut self, stdout: impl Into<Vec<u8>>) -> Self {
        self.stdout = stdout.into();
        self
    }

    /// Replaces stderr.
    pub fn with_stderr(mut self, stderr: impl Into<Vec<u8>>) -> Self {
        self.stderr = stderr.into();
        self
    }

    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (invalid UTF-8 replaced).
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A command could not be run (as opposed to: it ran and failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The process could not be started (missing binary, no permission, ...).
    #[error("cannot start `{}`", quote::quote_line(.argv))]
    Spawn {
        /// The command's argv.
        argv: Vec<String>,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Feeding stdin or collecting the output failed.
    #[error("lost contact with `{}`", quote::quote_line(.argv))]
    Io {
        /// The command's argv.
        argv: Vec<String>,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command ran longer than the runner's timeout and was killed.
    #[error("gave up on `{}` after {}s", quote::quote_line(.argv), .after.as_secs_f64())]
    TimedOut {
        /// The command's argv.
        argv: Vec<String>,
        /// The timeout.
        after: std::time::Duration,
    },
    /// A [`RecordingRunner`] had no answer for this command.
    #[error("no scripted answer for `{}`", quote::quote_line(.argv))]
    Unscripted {
        /// The command's argv.
        argv: Vec<String>,
    },
}

impl RunError {
    /// The argv of the command that could not run.
    pub fn argv(&self) -> &[String] {
        match self {
            RunError::Spawn { argv, .. }
            | RunError::Io { argv, .. }
            | RunError::TimedOut { argv, .. }
            | RunError::Unscripted { argv } => argv,
        }
    }
}

/// Runs commands. Implementations must be usable from several threads at once:
/// the orchestrator runs jobs in parallel.
pub trait CommandRunner: Send + Sync {
    /// Runs one command to completion. A non-zero exit is `Ok`; `Err` means it
    /// could not run at all.
    fn run(&self, inv: &Invocation) -> Result<Output, RunError>;

    /// Runs one command, handing each line of its output (stdout and stderr) to
    /// `on_line` as it comes, for long commands whose progress a user watches. The
    /// default runs to completion, then hands over the lines (stdout first).
    fn run_streaming(
        &self,
        inv: &Invocation,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<Output, RunError> {
        let out = self.run(inv)?;
        for line in out.stdout_lossy().lines().chain(out.stderr_lossy().lines()) {
            on_line(line);
        }
        Ok(out)
    }
}

macro_rules! forward_runner {
    ($($t:ty),*) => {$(
        impl<R: CommandRunner + ?Sized> CommandRunner for $t {
            fn run(&self, inv: &Invocation) -> Result<Output, RunError> {
                (**self).run(inv)
            }
            fn run_streaming(
                &self,
                inv: &Invocation,
                on_line: &(dyn Fn(&str) + Sync),
            ) -> Result<Output, RunError> {
                (**self).run_streaming(inv, on_line)
            }
        }
    )*};
}

forward_runner!(&R, Box<R>, Arc<R>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_quoted_line_with_stdin_size() {
        let inv = Invocation::mutation("/usr/sbin/pct")
            .args(["exec", "100", "--", "sh", "-c", "echo 'hi' > /x"])
            .stdin(b"abc".to_vec());
        assert_eq!(
            inv.to_string(),
            r#"/usr/sbin/pct exec 100 -- sh -c 'echo '\''hi'\'' > /x' (stdin: 3 bytes)"#
        );
        assert_eq!(inv.argv()[0], "/usr/sbin/pct");
        assert_eq!(inv.arguments().len(), 6);
    }

    #[test]
    fn secret_arguments_are_passed_but_never_shown() {
        let inv = Invocation::mutation("pct")
            .args(["create", "100", "--password"])
            .secret_arg("hunter2 x");
        assert_eq!(inv.arguments()[3], "hunter2 x");
        assert_eq!(inv.to_string(), "pct create 100 --password <secret>");
        assert_eq!(inv.argv()[4], SECRET_PLACEHOLDER);
    }

    #[test]
    fn exit_status_reports_success_and_code() {
        assert!(ExitStatus::Code(0).success());
        assert!(!ExitStatus::Code(255).success());
        assert!(!ExitStatus::Signal(9).success());
        assert_eq!(ExitStatus::Code(2).code(), Some(2));
        assert_eq!(ExitStatus::Signal(9).code(), None);
        assert_eq!(ExitStatus::Code(255).to_string(), "exit code 255");
        assert_eq!(ExitStatus::Signal(9).to_string(), "signal 9");
        assert_eq!(Effect::Read.to_string(), "read");
        assert_eq!(Effect::Mutation.to_string(), "mutation");
    }

    #[test]
    fn run_error_display_names_the_command() {
        let argv = vec!["pct".to_owned(), "start".to_owned(), "1 0".to_owned()];
        let spawn = RunError::Spawn {
            argv: argv.clone(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(spawn.to_string(), "cannot start `pct start '1 0'`");
        let io = RunError::Io {
            argv: argv.clone(),
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        };
        assert_eq!(io.to_string(), "lost contact with `pct start '1 0'`");
        let uns = RunError::Unscripted { argv };
        assert_eq!(uns.to_string(), "no scripted answer for `pct start '1 0'`");
        assert_eq!(uns.argv()[1], "start");
    }
}
