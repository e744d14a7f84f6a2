//! `phoenix plan [ID...|--all]`: the plan, computed from desired and observed state
//! (reads only). As text: every step with its exact pct argv or file edit, marked
//! create, change, check or no-op. With `-o json`: the plan itself (format
//! `phoenix-plan/1`, see docs/plan-format.md), which `phoenix apply FILE` applies exactly.

use anyhow::Context as _;
use phoenix_orchestrator::RunOptions;

use super::fleet::{self, load, orchestrator, run_error};
use crate::exit::Reported;
use crate::global::Global;

/// Arguments of `phoenix plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container ids (default: all).
    pub ids: Vec<u32>,
    /// Every container (the default).
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Prove and verify every running container again (as `up --verify` would).
    #[arg(long)]
    pub verify: bool,
}

fn orch_scripts(global: &Global) -> Option<camino::Utf8PathBuf> {
    fleet::scripts_dir(global, None)
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
        jobs: 4,
        dry_run: true,
        reprove: args.verify,
        ..RunOptions::default()
    };
    let orch = orchestrator(&fleet, global, &runner);
    if fleet.hypervisor.cluster.is_some() {
        // A cluster's plan is each node's plan, routed: printed, not saved (`phoenix
        // apply` applies a single node's plan).
        let run = fleet::cluster_run(&orch, &fleet, global, orch_scripts(global).as_deref())?;
        let plan = run.plan(&opts).map_err(run_error)?;
        let report = run.report_of_plan(&plan);
        if global.json() {
            println!("{}", serde_json::to_string_pretty(&report)?);
            return if report.ok() {
                Ok(())
            } else {
                Err(Reported::runtime())
            };
        }
        return fleet::finish(&report, global, true).context("printing the plan");
    }
    let plan = orch.plan(&opts).map_err(run_error)?;
    let json = global.json().then(|| plan.to_json());
    let report = orch.into_report_of_plan(plan);
    let done = if let Some(json) = json {
        println!("{json}");
        if report.ok() {
            Ok(())
        } else {
            Err(Reported::runtime())
        }
    } else {
        fleet::finish(&report, global, true).context("printing the plan")
    };
    // The process ends here: freeing the report and the config of 10,000 containers one
    // allocation at a time costs more than a tenth of the run; the OS takes them back
    // at once.
    std::mem::forget(report);
    drop(orch);
    std::mem::forget(fleet);
    done
}
