//! `phoenix test ID... [--suite health|integration|all]`: run the containers' checks
//! (those their features ship and the config's `tests`) inside them, now.

use phoenix_orchestrator::features::Suite;

use super::fleet::{load, orchestrator, progress, run_error, runner, scripts_dir};
use crate::exit::Reported;
use crate::global::Global;

/// Which suites run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuiteArg {
    /// Quick health checks.
    Health,
    /// Integration tests.
    Integration,
    /// Both.
    All,
}

/// Arguments of `phoenix test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container ids (default: every container).
    pub ids: Vec<u32>,
    /// The suites to run.
    #[arg(long, value_enum, default_value_t = SuiteArg::All)]
    pub suite: SuiteArg,
    /// Where the config's scripts are (default: `bin/` beside the config directory).
    #[arg(long, env = "PHOENIX_SCRIPTS_DIR")]
    pub scripts_dir: Option<camino::Utf8PathBuf>,
}

/// Runs the checks and prints a table (or JSON); a failed check exits 1.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let fleet = load(global)?;
    super::fleet::node_local_only(&fleet, "test")?;
    let runner = runner(global);
    let orch = orchestrator(&fleet, global, &runner)
        .with_scripts_dir(scripts_dir(global, args.scripts_dir.as_ref()));
    let ids: Vec<u32> = if args.ids.is_empty() {
        fleet.lxc.lxc_configs.keys().map(|i| i.get()).collect()
    } else {
        args.ids.clone()
    };
    let suites = match args.suite {
        SuiteArg::Health => vec![Suite::Health],
        SuiteArg::Integration => vec![Suite::Integration],
        SuiteArg::All => vec![Suite::Health, Suite::Integration],
    };
    let report = orch
        .test(&ids, &suites, &progress(global))
        .map_err(run_error)?;
    if global.json() {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    if report.ok() {
        Ok(())
    } else {
        Err(Reported::runtime())
    }
}
