//! `phoenix doctor`: the host facts phoenix depends on, each ok / warn / fail with a
//! reason (phoenix-doctor holds the checks). Exit 1 when a check fails.

use std::time::Duration;

use phoenix_doctor::{FleetSource, RootHost, diagnose};
use phoenix_orchestrator::pct::ProcessRunner;

use crate::exit::Reported;
use crate::global::Global;

/// Arguments of `phoenix doctor` (the fleet comes from the global `--config-dir`, when
/// that directory exists). Files are read under `--root`; kernel state (`/sys`) too
/// when the root has a `sys/` directory, else from `/`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Checks this host (files under `--root`) and prints the report.
pub fn run(_args: &Args, global: &Global) -> anyhow::Result<()> {
    // The emulator's pvesm reads its state under the same root.
    let runner = ProcessRunner::new()
        .env("PHOENIX_ROOT", global.root().as_std_path())
        .timeout(Duration::from_secs(30));
    let root = global.root().as_std_path();
    // /sys is the running kernel's. A root with its own sys/ (a test's fake host) is
    // read as it is; the emulator's root has none, and its containers run on this kernel.
    let kernel_root = if root.join("sys").is_dir() {
        root
    } else {
        std::path::Path::new("/")
    };
    let host = RootHost::new(root, runner, global.pvesm.clone()).kernel_root(kernel_root);
    let dir = global.config_dir.to_string();
    let loaded = global
        .config_dir
        .is_dir()
        .then(|| phoenix_config::load_dir(&global.config_dir));
    let source = match &loaded {
        None => FleetSource::Missing(dir),
        Some(Ok(v)) => FleetSource::Loaded {
            dir,
            fleet: &v.fleet,
        },
        Some(Err(e)) => FleetSource::Invalid {
            dir,
            error: e.to_string(),
        },
    };
    let report = diagnose(&host, &source);
    if global.json() {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    if report.failed() {
        Err(Reported::runtime())
    } else {
        Ok(())
    }
}
