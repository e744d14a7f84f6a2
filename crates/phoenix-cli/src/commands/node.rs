//! `phoenix node`: the node path of a cluster run. A cluster run (the hypervisor
//! config's `cluster` section) starts this on a node over SSH, sends a bundle (the
//! config files and one request: plan these guests, run these host steps, run these
//! steps of a guest) on stdin, and reads one JSON answer from stdout
//! (`phoenix_orchestrator::node_path`). It works beneath `--root` with the node's own
//! `pct`, like every other command; nothing here talks to the PVE API.

use std::io::Read as _;

use phoenix_orchestrator::node_path::{Bundle, NODE_FORMAT, NodeRequest, NodeResponse, unpack};
use phoenix_orchestrator::{RunOptions, Selection};

use super::fleet;
use crate::exit::Reported;
use crate::global::Global;

/// Arguments of `phoenix node`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The largest bundle read from stdin.
const BUNDLE_LIMIT: u64 = 64 * 1024 * 1024;

fn answer(r: &NodeResponse) {
    use std::io::Write as _;
    let text = serde_json::to_string(r)
        .unwrap_or_else(|_| r#"{"response":"error","message":"cannot render the answer"}"#.into());
    // The caller reads one line; if it went away there is nobody to tell.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn refuse(message: impl Into<String>) -> anyhow::Result<()> {
    answer(&NodeResponse::Error {
        message: message.into(),
    });
    Err(Reported::runtime())
}

/// Reads the bundle, does what it asks, prints the answer.
pub fn run(_args: &Args, global: &Global) -> anyhow::Result<()> {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().take(BUNDLE_LIMIT).read_to_end(&mut input) {
        return refuse(format!("cannot read the bundle on stdin: {e}"));
    }
    let bundle: Bundle = match serde_json::from_slice(&input) {
        Ok(b) => b,
        Err(e) => return refuse(format!("not a phoenix node bundle: {e}")),
    };
    if bundle.format != NODE_FORMAT {
        return refuse(format!(
            "bundle format {:?}, this phoenix reads {NODE_FORMAT}",
            bundle.format
        ));
    }
    let dir = match tempfile::Builder::new().prefix("phoenix-node.").tempdir() {
        Ok(d) => d,
        Err(e) => return refuse(format!("cannot make a temporary directory: {e}")),
    };
    let Some(base) = camino::Utf8Path::from_path(dir.path()) else {
        return refuse("the temporary directory's path is not UTF-8");
    };
    let config_dir = match unpack(&bundle, base) {
        Ok(d) => d,
        Err(e) => return refuse(format!("cannot unpack the bundle: {e}")),
    };
    let fleet = match phoenix_config::load_dir(&config_dir) {
        Ok(v) => v.fleet,
        Err(phoenix_config::ConfigError::Invalid { diagnostics }) => {
            let first: Vec<String> = diagnostics.iter().take(5).map(|d| d.to_string()).collect();
            return refuse(format!(
                "the config is invalid on this node ({} problems): {}",
                diagnostics.len(),
                first.join("; ")
            ));
        }
        Err(e) => return refuse(format!("cannot load the config: {e}")),
    };
    let runner = fleet::runner(global);
    let scripts = base.join("bin");
    let orch = fleet::orchestrator(&fleet, global, &runner)
        .with_scripts_dir(scripts.exists().then_some(scripts));
    let quiet = |_: phoenix_orchestrator::Event<'_>| {};
    let response = match bundle.request {
        NodeRequest::Plan {
            ids,
            reprove,
            rerun_scripts,
            only_missing,
        } => {
            let opts = RunOptions {
                selection: Selection::Exactly(ids),
                dry_run: true,
                reprove,
                rerun_scripts,
                only_missing,
                ..RunOptions::default()
            };
            match orch.plan(&opts) {
                Ok(plan) => NodeResponse::Plan {
                    plan: Box::new(plan),
                },
                Err(e) => NodeResponse::Error {
                    message: e.to_string(),
                },
            }
        }
        NodeRequest::ApplyHost { ids, steps } => NodeResponse::Host {
            reports: orch.apply_host_steps(&steps, &ids),
        },
        NodeRequest::ApplyGuest {
            guest,
            reprove,
            rerun_scripts,
        } => {
            let opts = RunOptions {
                selection: Selection::Exactly(vec![guest.guest.id()]),
                reprove,
                rerun_scripts,
                ..RunOptions::default()
            };
            NodeResponse::Guest {
                report: Box::new(orch.apply_steps(&guest, &opts, &quiet)),
            }
        }
    };
    let failed = matches!(response, NodeResponse::Error { .. });
    answer(&response);
    if failed {
        Err(Reported::runtime())
    } else {
        Ok(())
    }
}
