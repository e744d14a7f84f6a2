//! A runner that answers from a script and records every call, for tests.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{CommandRunner, Invocation, Output, RunError};

/// Which commands a scripted answer applies to, by argv.
///
/// The first word is the program: it matches the program as given or its file
/// name, so `["pct", "status", "100"]` matches `/usr/sbin/pct status 100`. The
/// other words are compared with the arguments, all of them (exact) or the first
/// ones (prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    words: Vec<OsString>,
    prefix: bool,
}

impl Pattern {
    /// Matches exactly this argv.
    pub fn exact<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Pattern {
            words: argv.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            prefix: false,
        }
    }

    /// Matches any argv that starts with these words.
    pub fn prefix<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Pattern {
            prefix: true,
            ..Self::exact(argv)
        }
    }

    /// Whether `inv` is one of the commands this pattern describes.
    pub fn matches(&self, inv: &Invocation) -> bool {
        let Some((program, args)) = self.words.split_first() else {
            return self.prefix;
        };
        let program_matches = inv.program().as_os_str() == program
            || inv.program().file_name() == Some(program.as_os_str());
        if !program_matches {
            return false;
        }
        let actual = inv.arguments();
        if self.prefix {
            actual.len() >= args.len() && actual[..args.len()] == *args
        } else {
            actual == args
        }
    }
}

type Responder = Arc<dyn Fn(&Invocation) -> Result<Output, RunError> + Send + Sync>;

struct Rule {
    pattern: Pattern,
    respond: Responder,
    /// `None`: answers forever; `Some(n)`: answers n more times.
    remaining: Option<usize>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    calls: Vec<Invocation>,
}

/// Answers commands from a script and keeps a typed list of every call.
///
/// Answers are tried in the order they were added; the first matching one with
/// uses left wins, so `answer_once(status, stopped)` followed by
/// `answer(status, running)` scripts a container that comes up. A call with no
/// answer is recorded and returns [`RunError::Unscripted`] naming the command;
/// it never panics. Safe to share between threads.
///
/// ```
/// use phoenix_pct::{CommandRunner, Invocation, Output, Pattern, RecordingRunner};
/// let runner = RecordingRunner::new()
///     .answer_once(Pattern::exact(["pct", "status", "100"]), Output::ok("status: stopped\n"))
///     .answer(Pattern::prefix(["pct", "status"]), Output::ok("status: running\n"));
/// let status = Invocation::read("pct").args(["status", "100"]);
/// assert_eq!(runner.run(&status).unwrap().stdout, b"status: stopped\n");
/// assert_eq!(runner.run(&status).unwrap().stdout, b"status: running\n");
/// assert!(runner.run(&Invocation::mutation("pct").args(["start", "100"])).is_err());
/// assert_eq!(
///     runner.transcript(),
///     "pct status 100\npct status 100\npct start 100\n"
/// );
/// ```
#[derive(Default)]
pub struct RecordingRunner {
    state: Mutex<State>,
}

impl fmt::Debug for RecordingRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("RecordingRunner")
            .field("rules", &state.rules.len())
            .field("calls", &state.calls)
            .finish()
    }
}

impl RecordingRunner {
    /// A runner with no answers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers every matching call with `output`.
    pub fn answer(self, pattern: Pattern, output: Output) -> Self {
        self.add(pattern, None, move |_| Ok(output.clone()));
        self
    }

    /// Answers the next matching call only with `output`.
    pub fn answer_once(self, pattern: Pattern, output: Output) -> Self {
        self.add(pattern, Some(1), move |_| Ok(output.clone()));
        self
    }

    /// Answers every matching call by calling `respond`.
    pub fn answer_with<F>(self, pattern: Pattern, respond: F) -> Self
    where
        F: Fn(&Invocation) -> Result<Output, RunError> + Send + Sync + 'static,
    {
        self.add(pattern, None, respond);
        self
    }

    /// Adds an answer after construction, used at most `times` times (`None`:
    /// forever).
    pub fn add<F>(&self, pattern: Pattern, times: Option<usize>, respond: F)
    where
        F: Fn(&Invocation) -> Result<Output, RunError> + Send + Sync + 'static,
    {
        self.lock().rules.push(Rule {
            pattern,
            respond: Arc::new(respond),
            remaining: times,
        });
    }

    /// Every call so far, in order.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.lock().calls.clone()
    }

    /// Every call so far, one shell-quoted line each, for snapshots.
    pub fn transcript(&self) -> String {
        transcript(&self.lock().calls)
    }

    /// Forgets the calls recorded so far (answers stay).
    pub fn clear_invocations(&self) {
        self.lock().calls.clear();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not hide this runner's record.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn transcript(calls: &[Invocation]) -> String {
    calls.iter().map(|c| format!("{c}\n")).collect()
}

impl CommandRunner for RecordingRunner {
    fn run(&self, inv: &Invocation) -> Result<Output, RunError> {
        let respond = {
            let mut state = self.lock();
            state.calls.push(inv.clone());
            let rule = state
                .rules
                .iter_mut()
                .find(|r| r.remaining != Some(0) && r.pattern.matches(inv));
            match rule {
                Some(rule) => {
                    if let Some(n) = rule.remaining.as_mut() {
                        *n -= 1;
                    }
                    Arc::clone(&rule.respond)
                }
                None => return Err(RunError::Unscripted { argv: inv.argv() }),
            }
        };
        // Called without the lock held, so a responder may use the runner too.
        respond(inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::ExitStatus;

    #[test]
    fn exact_and_prefix_patterns_match_by_argv() {
        let inv = Invocation::read("/usr/sbin/pct").args(["status", "100"]);
        assert!(Pattern::exact(["pct", "status", "100"]).matches(&inv));
        assert!(Pattern::exact(["/usr/sbin/pct", "status", "100"]).matches(&inv));
        assert!(!Pattern::exact(["pct", "status"]).matches(&inv));
        assert!(Pattern::prefix(["pct", "status"]).matches(&inv));
        assert!(Pattern::prefix(["pct"]).matches(&inv));
        assert!(!Pattern::prefix(["pvesm"]).matches(&inv));
        assert!(!Pattern::prefix(["pct", "status", "100", "x"]).matches(&inv));
        assert!(!Pattern::exact(["/opt/pct", "status", "100"]).matches(&inv));
    }

    #[test]
    fn unscripted_calls_are_errors_and_still_recorded() {
        let runner = RecordingRunner::new();
        let err = runner
            .run(&Invocation::mutation("pct").args(["destroy", "100"]))
            .unwrap_err();
        assert_eq!(err.to_string(), "no scripted answer for `pct destroy 100`");
        assert_eq!(runner.invocations().len(), 1);
        assert_eq!(runner.invocations()[0].arguments()[0], "destroy");
    }

    #[test]
    fn once_answers_are_used_up_then_later_answers_apply() {
        let runner = RecordingRunner::new()
            .answer_once(
                Pattern::prefix(["pct", "start"]),
                Output::failed(255, "boom\n"),
            )
            .answer(Pattern::prefix(["pct", "start"]), Output::ok(""));
        let start = Invocation::mutation("pct").args(["start", "100"]);
        assert_eq!(runner.run(&start).unwrap().status, ExitStatus::Code(255));
        assert!(runner.run(&start).unwrap().success());
        assert!(runner.run(&start).unwrap().success());
    }

    #[test]
    fn answer_with_sees_the_invocation_and_may_call_the_runner() {
        let runner =
            Arc::new(RecordingRunner::new().answer(Pattern::prefix(["echo"]), Output::ok("x")));
        let inner = Arc::clone(&runner);
        runner.add(Pattern::prefix(["pct", "exec"]), None, move |inv| {
            inner.run(&Invocation::read("echo"))?;
            Ok(Output::ok(format!("{} args", inv.arguments().len())))
        });
        let out = runner
            .run(&Invocation::mutation("pct").args(["exec", "100", "--", "id"]))
            .unwrap();
        assert_eq!(out.stdout, b"4 args");
        assert_eq!(runner.transcript(), "pct exec 100 -- id\necho\n");
        runner.clear_invocations();
        assert_eq!(runner.transcript(), "");
    }

    #[test]
    fn shared_between_threads_every_call_is_recorded() {
        let runner = RecordingRunner::new().answer(Pattern::prefix(["pct"]), Output::ok(""));
        std::thread::scope(|s| {
            for i in 0..8 {
                let runner = &runner;
                s.spawn(move || {
                    for _ in 0..25 {
                        runner
                            .run(&Invocation::read("pct").args(["status", &(100 + i).to_string()]))
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(runner.invocations().len(), 200);
    }
}
