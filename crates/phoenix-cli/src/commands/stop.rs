//! `phoenix stop ID...`: Shut the containers down (forced after 60 s), dependants first.

use phoenix_orchestrator::lifecycle::Lifecycle;

use super::fleet::{LifecycleArgs, lifecycle};
use crate::global::Global;

/// Arguments of `phoenix stop`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    ids: LifecycleArgs,
}

/// Runs it.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    lifecycle(Lifecycle::Stop, &args.ids, global)
}
