//! What a run did: per-container results and the actions behind them.

use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::plan::{Action, Step};

/// How one container ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum CtResult {
    /// Every step succeeded (in a dry run: every step was planned).
    Completed,
    /// A step failed; later steps did not run.
    Failed {
        /// The step that failed.
        step: Step,
        /// Why, with its causes.
        error: String,
    },
    /// Not attempted because a container it needs failed.
    Skipped {
        /// The failed (or skipped) prerequisite.
        because: u32,
    },
}

/// One container's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CtReport {
    /// The container id.
    pub vmid: u32,
    /// Its hostname in the config.
    pub hostname: String,
    /// How it ended.
    #[serde(flatten)]
    pub result: CtResult,
    /// The actions, in order (done, or planned in a dry run).
    pub actions: Vec<Action>,
    /// Things the user should know that did not stop the run.
    pub warnings: Vec<String>,
}

impl CtReport {
    /// True unless it failed or was skipped.
    pub fn ok(&self) -> bool {
        self.result == CtResult::Completed
    }

    /// The actions that change something.
    pub fn changes(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.mutates())
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Nothing was changed: the actions are a plan.
    pub dry_run: bool,
    /// Host prerequisites.
    pub host: Vec<Action>,
    /// Host warnings.
    pub host_warnings: Vec<String>,
    /// A host failure that stopped the run before any container.
    pub host_error: Option<String>,
    /// Every selected container, in id order.
    pub containers: Vec<CtReport>,
}

impl RunReport {
    /// True when the host step and every container succeeded.
    pub fn ok(&self) -> bool {
        self.host_error.is_none() && self.containers.iter().all(CtReport::ok)
    }

    /// The plan or report as text: host actions, then per container its actions and
    /// result, then a one-line summary.
    pub fn render_text(&self, show_noop: bool) -> String {
        let mut out = String::new();
        let keep = |a: &&Action| show_noop || a.mutates();
        if self.host.iter().any(|a| keep(&a)) || !self.host_warnings.is_empty() {
            out.push_str("host\n");
            for a in self.host.iter().filter(keep) {
                let _ = writeln!(out, "  {a}");
            }
            for w in &self.host_warnings {
                let _ = writeln!(out, "  warning: {w}");
            }
        }
        if let Some(e) = &self.host_error {
            let _ = writeln!(out, "host failed: {e}");
        }
        for ct in &self.containers {
            let _ = writeln!(out, "CT {} ({})", ct.vmid, ct.hostname);
            let shown: Vec<&Action> = ct.actions.iter().filter(keep).collect();
            if shown.is_empty() && ct.ok() {
                out.push_str("  up to date\n");
            }
            for a in shown {
                let _ = writeln!(out, "  {a}");
            }
            for w in &ct.warnings {
                let _ = writeln!(out, "  warning: {w}");
            }
            match &ct.result {
                CtResult::Completed => {}
                CtResult::Failed { step, error } => {
                    let _ = writeln!(out, "  FAILED at {step}: {error}");
                }
                CtResult::Skipped { because } => {
                    let _ = writeln!(out, "  SKIPPED: needs CT {because}, which did not complete");
                }
            }
        }
        let _ = writeln!(out, "{self}");
        out
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count =
            |p: fn(&CtResult) -> bool| self.containers.iter().filter(|c| p(&c.result)).count();
        let done = count(|r| matches!(r, CtResult::Completed));
        let failed = count(|r| matches!(r, CtResult::Failed { .. }));
        let skipped = count(|r| matches!(r, CtResult::Skipped { .. }));
        let changes: usize = self
            .containers
            .iter()
            .map(|c| c.changes().count())
            .sum::<usize>()
            + self.host.iter().filter(|a| a.mutates()).count();
        let verb = if self.dry_run { "planned" } else { "made" };
        write!(
            f,
            "{} containers: {done} ok, {failed} failed, {skipped} skipped; {changes} changes {verb}",
            self.containers.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Change;

    #[test]
    fn summary_counts_results_and_changes() {
        let report = RunReport {
            dry_run: true,
            host: vec![],
            host_warnings: vec![],
            host_error: None,
            containers: vec![
                CtReport {
                    vmid: 900,
                    hostname: "base".into(),
                    result: CtResult::Completed,
                    actions: vec![Action::command(
                        Step::Start,
                        Change::Change,
                        vec!["pct".into(), "start".into(), "900".into()],
                    )],
                    warnings: vec![],
                },
                CtReport {
                    vmid: 901,
                    hostname: "gpu".into(),
                    result: CtResult::Failed {
                        step: Step::Define,
                        error: "boom".into(),
                    },
                    actions: vec![],
                    warnings: vec![],
                },
                CtReport {
                    vmid: 950,
                    hostname: "vllm".into(),
                    result: CtResult::Skipped { because: 901 },
                    actions: vec![],
                    warnings: vec![],
                },
            ],
        };
        assert!(!report.ok());
        assert_eq!(
            report.to_string(),
            "3 containers: 1 ok, 1 failed, 1 skipped; 1 changes planned"
        );
        let text = report.render_text(false);
        assert!(
            text.contains("CT 900 (base)\n  start     change pct start 900\n"),
            "{text}"
        );
        assert!(text.contains("  FAILED at define: boom\n"), "{text}");
        assert!(
            text.contains("  SKIPPED: needs CT 901, which did not complete\n"),
            "{text}"
        );
    }
}
