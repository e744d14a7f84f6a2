//! `phoenix gateway render`: the NGINX configuration of the fleet's gateway, as the
//! gateway step installs it in `/etc/nginx/conf.d/phoenix.conf` of the gateway container.

use clap::Subcommand;
use serde_json::json;

use crate::commands::fleet;
use crate::exit::invalid;
use crate::global::Global;

/// Arguments of `phoenix gateway`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Print the NGINX configuration rendered from the fleet's gateway sections.
    Render,
}

/// Runs `phoenix gateway`.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    match args.action {
        Action::Render => render(global),
    }
}

fn render(global: &Global) -> anyhow::Result<()> {
    let fleet = fleet::load(global)?;
    let step = phoenix_gateway::step(&fleet).map_err(invalid)?;
    if global.json() {
        let env: serde_json::Map<String, serde_json::Value> =
            step.env.into_iter().map(|(k, v)| (k, v.into())).collect();
        let out = json!({
            "ctid": step.ctid.get(),
            "path": phoenix_gateway::CONF_PATH,
            "env": env,
            "config": step.conf,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", step.conf);
    }
    Ok(())
}
