//! A runner that looks but does not touch.

use std::sync::{Mutex, MutexGuard};

use super::{CommandRunner, Effect, Invocation, Output, RunError};

/// Runs [`Effect::Read`] commands through an inner runner, and records
/// [`Effect::Mutation`] commands without running them (they "succeed" with empty
/// output). What a plan would change is then [`recorded`](Self::recorded).
///
/// ```
/// use phoenix_pct::{CommandRunner, DryRunRunner, Invocation, Output, Pattern, RecordingRunner};
/// let inner = RecordingRunner::new()
///     .answer(Pattern::exact(["pct", "status", "100"]), Output::ok("status: stopped\n"));
/// let dry = DryRunRunner::new(&inner);
/// dry.run(&Invocation::read("pct").args(["status", "100"])).unwrap();
/// let out = dry.run(&Invocation::mutation("pct").args(["start", "100"])).unwrap();
/// assert!(out.success() && out.stdout.is_empty());
/// assert_eq!(dry.transcript(), "pct start 100\n");
/// assert_eq!(inner.transcript(), "pct status 100\n"); // start never ran
/// ```
#[derive(Debug)]
pub struct DryRunRunner<R> {
    inner: R,
    recorded: Mutex<Vec<Invocation>>,
}

impl<R: CommandRunner> DryRunRunner<R> {
    /// Wraps `inner`, which runs the reads.
    pub fn new(inner: R) -> Self {
        DryRunRunner {
            inner,
            recorded: Mutex::new(Vec::new()),
        }
    }

    /// The mutations that were recorded instead of run, in order.
    pub fn recorded(&self) -> Vec<Invocation> {
        self.lock().clone()
    }

    /// The recorded mutations, one shell-quoted line each.
    pub fn transcript(&self) -> String {
        super::recording::transcript(&self.lock())
    }

    /// The runner that runs the reads.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Gives back the inner runner.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Invocation>> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<R: CommandRunner> CommandRunner for DryRunRunner<R> {
    fn run(&self, inv: &Invocation) -> Result<Output, RunError> {
        match inv.effect() {
            Effect::Read => self.inner.run(inv),
            Effect::Mutation => {
                self.lock().push(inv.clone());
                Ok(Output::ok(Vec::new()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Pattern, RecordingRunner};

    #[test]
    fn reads_run_and_mutations_are_only_recorded() {
        let inner = RecordingRunner::new()
            .answer(Pattern::prefix(["pct", "list"]), Output::ok("VMID ...\n"));
        let dry = DryRunRunner::new(inner);
        let list = dry.run(&Invocation::read("pct").arg("list")).unwrap();
        assert_eq!(list.stdout, b"VMID ...\n");
        dry.run(&Invocation::mutation("pct").args(["destroy", "100", "--purge"]))
            .unwrap();
        dry.run(&Invocation::mutation("pct").args(["set", "100", "--memory", "1024"]))
            .unwrap();
        assert_eq!(dry.recorded().len(), 2);
        assert_eq!(
            dry.transcript(),
            "pct destroy 100 --purge\npct set 100 --memory 1024\n"
        );
        assert_eq!(dry.inner().transcript(), "pct list\n");
        assert_eq!(dry.into_inner().invocations().len(), 1);
    }

    #[test]
    fn a_failing_read_still_fails() {
        let dry = DryRunRunner::new(RecordingRunner::new());
        assert!(dry.run(&Invocation::read("pct").arg("list")).is_err());
    }
}
