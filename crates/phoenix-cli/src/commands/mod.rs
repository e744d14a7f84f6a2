//! One module per subcommand. Each holds its clap `Args` and a `run` function.

use clap::Subcommand;

use crate::global::Global;

mod apparmor;
mod completions;
mod conf;
mod idmap;
mod schema;
mod validate;

/// Every phoenix subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render and install phoenix's AppArmor profiles.
    #[command(name = "apparmor")]
    AppArmor(apparmor::Args),
    /// Print shell completions.
    Completions(completions::Args),
    /// Read and re-render Proxmox CT conf files.
    Conf(conf::Args),
    /// Check, show and plan user-namespace id maps (lxc.idmap).
    Idmap(idmap::Args),
    /// Print the JSON Schema of a config file.
    Schema(schema::Args),
    /// Validate the config directory and print every problem.
    Validate(validate::Args),
}

/// Runs one subcommand.
pub fn run(command: &Command, global: &Global) -> anyhow::Result<()> {
    match command {
        Command::AppArmor(args) => apparmor::run(args, global),
        Command::Completions(args) => completions::run(args, global),
        Command::Conf(args) => conf::run(args, global),
        Command::Idmap(args) => idmap::run(args, global),
        Command::Schema(args) => schema::run(args, global),
        Command::Validate(args) => validate::run(args, global),
    }
}
