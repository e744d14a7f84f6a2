//! `phoenix start ID...`: Start the containers (in dependency order).

use phoenix_orchestrator::lifecycle::Lifecycle;

use super::fleet::{LifecycleArgs, lifecycle};
use crate::global::Global;

/// Arguments of `phoenix start`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    ids: LifecycleArgs,
}

/// Runs it.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    lifecycle(Lifecycle::Start, &args.ids, global)
}
