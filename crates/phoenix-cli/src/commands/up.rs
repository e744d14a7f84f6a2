//! `phoenix up`: converge every container (`phoenix converge --all`).

use phoenix_orchestrator::{RunOptions, Selection};

use super::fleet::{self, load, orchestrator, run_error};
use crate::global::Global;

/// Arguments of `phoenix up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Containers converged at once.
    #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Show what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for another phoenix run to finish instead of failing.
    #[arg(long)]
    pub wait: bool,
}

/// Converges the whole fleet.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let fleet = load(global)?;
    let runner = fleet::runner(global);
    let opts = RunOptions {
        selection: Selection::All,
        jobs: usize::from(args.jobs),
        dry_run: args.dry_run,
        wait: args.wait,
        only_missing: false,
    };
    let report = orchestrator(&fleet, global, &runner)
        .converge(&opts, &fleet::progress(global))
        .map_err(run_error)?;
    fleet::finish(&report, global, args.dry_run)
}
