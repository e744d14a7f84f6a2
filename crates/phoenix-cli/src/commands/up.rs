//! `phoenix up`: converge every container (`phoenix converge --all`).

use phoenix_orchestrator::Selection;

use super::fleet::{RunFlags, converge};
use crate::global::Global;

/// Arguments of `phoenix up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: RunFlags,
}

/// Converges the whole fleet.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    converge(Selection::All, &args.flags, false, global)
}
