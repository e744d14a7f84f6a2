//! `phoenix converge [ID...|--all]`: create what is missing and re-apply the
//! configuration of the selected containers.

use super::fleet::{RunArgs, converge};
use crate::global::Global;

/// Arguments of `phoenix converge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
}

/// Converges the selection.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    converge(args.run.selection()?, &args.run.flags, false, global)
}
