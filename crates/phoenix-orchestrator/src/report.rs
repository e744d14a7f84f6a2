//! What a run did (or, for a plan, would do): per guest its result and steps, per host
//! step its result, and a one-line summary.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::error::ErrorReport;
use crate::guest::GuestId;
use crate::plan::{Change, Op, Step};

/// How one guest ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum CtResult {
    /// Every step succeeded (in a plan: every step was planned).
    Completed,
    /// A step failed (or the guest was refused); later steps did not run.
    Failed {
        /// The step that failed.
        step: Step,
        /// Why, with its causes and a cleanup failure.
        error: ErrorReport,
    },
    /// Not attempted because a guest it needs failed.
    Skipped {
        /// The failed (or skipped) prerequisite.
        because: GuestId,
    },
}

/// One step as reported: the operation and how it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportStep {
    /// The phase.
    pub step: Step,
    /// Create, change, check or no-op.
    pub change: Change,
    /// The exact argv or edit, as the backend renders it.
    pub detail: String,
    /// The typed operation.
    pub op: Op,
    /// Why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

impl ReportStep {
    /// True when it changes something.
    pub fn mutates(&self) -> bool {
        self.change.mutates()
    }
}

impl fmt::Display for ReportStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<9} {:<6} {}", self.step, self.change, self.detail)?;
        for w in &self.why {
            write!(f, "\n      # {w}")?;
        }
        Ok(())
    }
}

/// One guest's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtReport {
    /// The guest.
    pub guest: GuestId,
    /// Its id (as in the guest), for readers of the JSON.
    pub vmid: u32,
    /// Its hostname in the config.
    pub hostname: String,
    /// The cluster node it is on (cluster runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// How it ended.
    #[serde(flatten)]
    pub result: CtResult,
    /// The steps, in order (done, or planned).
    pub actions: Vec<ReportStep>,
    /// Things the user should know that did not stop the run.
    pub warnings: Vec<String>,
}

impl CtReport {
    /// True unless it failed or was skipped.
    pub fn ok(&self) -> bool {
        self.result == CtResult::Completed
    }

    /// The steps that change something.
    pub fn changes(&self) -> impl Iterator<Item = &ReportStep> {
        self.actions.iter().filter(|a| a.mutates())
    }
}

/// One host step's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReport {
    /// Its name.
    pub name: String,
    /// Its steps.
    pub actions: Vec<ReportStep>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Its failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// Nothing was changed: the steps are a plan.
    pub dry_run: bool,
    /// Host steps.
    pub host: Vec<HostReport>,
    /// Every selected guest, in id order.
    pub containers: Vec<CtReport>,
    /// Notes about the run (a guest re-planned because it changed since the plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl RunReport {
    /// True when every host step and every guest succeeded.
    pub fn ok(&self) -> bool {
        self.host.iter().all(|h| h.error.is_none()) && self.containers.iter().all(CtReport::ok)
    }

    /// The number of steps that change something.
    pub fn change_count(&self) -> usize {
        self.containers
            .iter()
            .map(|c| c.changes().count())
            .sum::<usize>()
            + self
                .host
                .iter()
                .map(|h| h.actions.iter().filter(|a| a.mutates()).count())
                .sum::<usize>()
    }

    /// The plan or report as text: host steps, then per guest its steps and result,
    /// then a one-line summary.
    pub fn render_text(&self, show_noop: bool) -> String {
        self.render(show_noop, false)
    }

    /// [`render_text`](Self::render_text), with the commands of feature steps when
    /// `commands` (`-v`).
    pub fn render(&self, show_noop: bool, commands: bool) -> String {
        let mut out = String::new();
        let keep = |a: &&ReportStep| show_noop || a.mutates();
        let host_shown = self.host.iter().any(|h| {
            h.actions.iter().any(|a| keep(&a)) || !h.warnings.is_empty() || h.error.is_some()
        });
        if host_shown {
            out.push_str("host\n");
            for h in &self.host {
                for a in h.actions.iter().filter(keep) {
                    let _ = writeln!(out, "  {a}");
                }
                for w in &h.warnings {
                    let _ = writeln!(out, "  warning: {w}");
                }
                if let Some(e) = &h.error {
                    let _ = writeln!(out, "  host step {} failed: {e}", h.name);
                }
            }
        }
        for ct in &self.containers {
            match &ct.node {
                Some(node) => {
                    let _ = writeln!(out, "{} ({}) on {node}", ct.guest, ct.hostname);
                }
                None => {
                    let _ = writeln!(out, "{} ({})", ct.guest, ct.hostname);
                }
            }
            let shown: Vec<&ReportStep> = ct.actions.iter().filter(keep).collect();
            if shown.is_empty() && ct.ok() {
                out.push_str("  up to date\n");
            }
            for a in shown {
                let _ = writeln!(out, "  {a}");
                if let (true, Op::Feature { commands: cmds, .. }) = (commands, &a.op) {
                    for c in cmds {
                        let _ = writeln!(out, "      $ {c}");
                    }
                }
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
                    let _ = writeln!(out, "  SKIPPED: needs {because}, which did not complete");
                }
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
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
        let verb = if self.dry_run { "planned" } else { "made" };
        write!(
            f,
            "{} containers: {done} ok, {failed} failed, {skipped} skipped; {} changes {verb}",
            self.containers.len(),
            self.change_count()
        )
    }
}
