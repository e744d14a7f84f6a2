//! `phoenix delete ID... --yes`: stop and destroy containers with `--purge`.

use phoenix_orchestrator::lifecycle::Lifecycle;

use super::fleet::{LifecycleArgs, lifecycle};
use crate::exit::invalid;
use crate::global::Global;

/// Arguments of `phoenix delete`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    ids: LifecycleArgs,
    /// Confirm: the containers and their disks are destroyed.
    #[arg(long)]
    yes: bool,
}

/// Deletes the containers after confirmation.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    if !args.yes && !args.ids.dry_run {
        return Err(invalid(anyhow::anyhow!(
            "phoenix delete destroys containers and their disks: add --yes to confirm"
        )));
    }
    lifecycle(Lifecycle::Delete, &args.ids, global)
}
