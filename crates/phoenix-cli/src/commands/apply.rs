//! `phoenix apply PLAN.json`: applies exactly a plan saved with `phoenix plan -o json`.
//! A plan is refused, with nothing changed, when the config or any conf or host file
//! it read changed since it was made (exit 1).

use anyhow::Context as _;
use camino::Utf8PathBuf;
use phoenix_orchestrator::{Plan, RunOptions};

use super::fleet::{self, RunFlags, load, orchestrator, progress, run_error};
use crate::exit::invalid;
use crate::global::Global;

/// Arguments of `phoenix apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The saved plan (`-` for standard input).
    pub plan: Utf8PathBuf,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// Applies the plan.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let text = if args.plan.as_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the plan from stdin")?
    } else {
        std::fs::read_to_string(&args.plan).with_context(|| format!("reading {}", args.plan))?
    };
    let plan = Plan::from_json(&text)
        .with_context(|| format!("{}", args.plan))
        .map_err(invalid)?;
    let fleet = load(global)?;
    super::fleet::node_local_only(&fleet, "apply")?;
    let runner = fleet::runner(global);
    let opts = RunOptions {
        jobs: usize::from(args.flags.jobs),
        wait: args.flags.wait,
        reprove: args.flags.verify,
        ..RunOptions::default()
    };
    let orch = orchestrator(&fleet, global, &runner);
    if args.flags.dry_run {
        return fleet::finish(&orch.into_report_of_plan(plan), global, true);
    }
    let report = orch
        .apply(&plan, &opts, &progress(global))
        .map_err(run_error)?;
    fleet::finish(&report, global, false)
}
