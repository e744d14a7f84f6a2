//! One module per subcommand. Each holds its clap `Args` and a `run` function.

use clap::Subcommand;

use crate::global::Global;

mod apparmor;
mod apply;
mod completions;
mod conf;
mod config;
mod converge;
mod create;
mod delete;
mod doctor;
mod features;
mod fleet;
mod gateway;
mod idmap;
mod node;
mod plan;
mod restart;
mod schema;
mod start;
mod status;
mod stop;
mod test;
mod up;
mod validate;

/// Every phoenix subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render and install phoenix's AppArmor profiles.
    #[command(name = "apparmor")]
    AppArmor(apparmor::Args),
    /// Apply a plan saved with `phoenix plan -o json`, exactly (refused when stale).
    Apply(apply::Args),
    /// Print shell completions.
    Completions(completions::Args),
    /// Read and re-render Proxmox CT conf files.
    Conf(conf::Args),
    /// Work on the config directory itself: upgrade it to phoenix's canonical shape.
    Config(config::Args),
    /// Create what is missing and re-apply the configuration of containers.
    Converge(converge::Args),
    /// Create the containers that do not exist yet (clone sources first).
    Create(create::Args),
    /// Stop and destroy containers (with --yes).
    Delete(delete::Args),
    /// Check the host facts phoenix depends on (ok / warn / fail with a reason).
    Doctor(doctor::Args),
    /// The features phoenix knows: requirements, Proxmox changes, what they install.
    Features(features::Args),
    /// The NGINX gateway: render its configuration from the fleet.
    Gateway(gateway::Args),
    /// Check, show and plan user-namespace id maps (lxc.idmap).
    Idmap(idmap::Args),
    /// The node path of a cluster run: reads a bundle on stdin, answers JSON on stdout
    /// (started by phoenix over SSH, not by people).
    #[command(hide = true)]
    Node(node::Args),
    /// Print what a converge would do (exact pct argv and file edits); change nothing.
    Plan(plan::Args),
    /// Stop, then start containers.
    Restart(restart::Args),
    /// Print the JSON Schema of a config file.
    Schema(schema::Args),
    /// Start containers.
    Start(start::Args),
    /// Desired against observed state, drift marked.
    Status(status::Args),
    /// Shut containers down.
    Stop(stop::Args),
    /// Run the containers' test suites inside them.
    Test(test::Args),
    /// Converge every container (converge --all).
    Up(up::Args),
    /// Validate the config directory and print every problem.
    Validate(validate::Args),
}

/// Runs one subcommand.
pub fn run(command: &Command, global: &Global) -> anyhow::Result<()> {
    match command {
        Command::AppArmor(args) => apparmor::run(args, global),
        Command::Apply(args) => apply::run(args, global),
        Command::Completions(args) => completions::run(args, global),
        Command::Conf(args) => conf::run(args, global),
        Command::Config(args) => config::run(args, global),
        Command::Converge(args) => converge::run(args, global),
        Command::Create(args) => create::run(args, global),
        Command::Delete(args) => delete::run(args, global),
        Command::Doctor(args) => doctor::run(args, global),
        Command::Features(args) => features::run(args, global),
        Command::Gateway(args) => gateway::run(args, global),
        Command::Idmap(args) => idmap::run(args, global),
        Command::Node(args) => node::run(args, global),
        Command::Plan(args) => plan::run(args, global),
        Command::Restart(args) => restart::run(args, global),
        Command::Schema(args) => schema::run(args, global),
        Command::Start(args) => start::run(args, global),
        Command::Status(args) => status::run(args, global),
        Command::Stop(args) => stop::run(args, global),
        Command::Test(args) => test::run(args, global),
        Command::Up(args) => up::run(args, global),
        Command::Validate(args) => validate::run(args, global),
    }
}
