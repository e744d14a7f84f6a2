//! `phoenix create ID...`: create the containers that do not exist yet (clone sources
//! first); existing ones are left as they are.

use super::fleet::{RunArgs, converge};
use crate::global::Global;

/// Arguments of `phoenix create`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
}

/// Creates what is missing in the selection.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    converge(args.run.selection()?, &args.run.flags, true, global)
}
