//! `phoenix plan [ID...|--all]`: print every action a converge would take (exact pct
//! argv and file edits, marked create, change or no-op) and change nothing.

use phoenix_orchestrator::RunOptions;

use super::fleet::{self, load, orchestrator, run_error};
use crate::global::Global;

/// Arguments of `phoenix plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container ids (default: all).
    pub ids: Vec<u32>,
    /// Every container (the default).
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
}

/// Prints the plan.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let selection = if args.ids.is_empty() {
        phoenix_orchestrator::Selection::All
    } else {
        phoenix_orchestrator::Selection::Ids(args.ids.clone())
    };
    let fleet = load(global)?;
    let runner = fleet::runner(global);
    let opts = RunOptions {
        selection,
        jobs: 1,
        dry_run: true,
        ..RunOptions::default()
    };
    let report = orchestrator(&fleet, global, &runner)
        .converge(&opts, &|_| {})
        .map_err(run_error)?;
    fleet::finish(&report, global, true)
}
