//! `phoenix restart ID...`: Stop, then start the containers.

use phoenix_orchestrator::lifecycle::Lifecycle;

use super::fleet::{LifecycleArgs, lifecycle};
use crate::global::Global;

/// Arguments of `phoenix restart`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    ids: LifecycleArgs,
}

/// Runs it.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    lifecycle(Lifecycle::Restart, &args.ids, global)
}
