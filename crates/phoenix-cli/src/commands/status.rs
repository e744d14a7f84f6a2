//! `phoenix status [ID...]`: desired against observed, one row per container, drift
//! marked.

use phoenix_orchestrator::Selection;

use super::fleet::{self, load, orchestrator, run_error};
use crate::global::Global;

/// Arguments of `phoenix status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container ids (default: all).
    pub ids: Vec<u32>,
}

/// Prints the table.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let fleet = load(global)?;
    super::fleet::node_local_only(&fleet, "status")?;
    let runner = fleet::runner(global);
    let selection = if args.ids.is_empty() {
        Selection::All
    } else {
        Selection::Ids(args.ids.clone())
    };
    let rows = orchestrator(&fleet, global, &runner)
        .status(&selection)
        .map_err(run_error)?;
    if global.json() {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<10} {:<24} {:<9} DRIFT", "CTID", "HOSTNAME", "STATE");
    for r in &rows {
        let drift = if r.drift.is_empty() {
            "-".to_owned()
        } else {
            format!("{} changes", r.drift.len())
        };
        println!("{:<10} {:<24} {:<9} {drift}", r.vmid, r.hostname, r.state);
        if global.verbose > 0 || r.drift.len() <= 3 {
            for d in &r.drift {
                println!("{:<10} * {d}", "");
            }
        }
    }
    Ok(())
}
