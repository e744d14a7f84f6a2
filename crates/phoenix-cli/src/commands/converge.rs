//! `phoenix converge [ID...|--all]`: create what is missing and re-apply the
//! configuration of the selected containers.

use phoenix_orchestrator::RunOptions;

use super::fleet::{self, RunArgs, load, orchestrator, run_error};
use crate::global::Global;

/// Arguments of `phoenix converge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
}

/// Converges the selection.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let selection = args.run.selection(false)?;
    let fleet = load(global)?;
    let runner = fleet::runner(global);
    let opts = RunOptions {
        selection,
        jobs: usize::from(args.run.jobs),
        dry_run: args.run.dry_run,
        wait: args.run.wait,
        only_missing: false,
    };
    let report = orchestrator(&fleet, global, &runner)
        .converge(&opts, &fleet::progress(global))
        .map_err(run_error)?;
    fleet::finish(&report, global, args.run.dry_run)
}
