//! What the container commands share: loading the config, building the orchestrator
//! over real processes, the selection arguments, and printing a run report.

use anyhow::Context as _;
use phoenix_config::{ConfigError, Fleet};
use phoenix_orchestrator::pct::ProcessRunner;
use phoenix_orchestrator::{Event, Orchestrator, RunError, RunReport, Selection};

use crate::exit::{Reported, invalid};
use crate::global::Global;

/// How a converging run goes.
#[derive(Debug, clap::Args)]
pub struct RunFlags {
    /// Containers converged at once (independent branches only).
    #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Show what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for another phoenix run to finish instead of failing.
    #[arg(long)]
    pub wait: bool,
    /// Prove the idmap and shared volumes of every running container again, even
    /// unchanged ones (runs pct exec in each).
    #[arg(long)]
    pub verify: bool,
    /// Do not run the test suites of the containers this run changed.
    #[arg(long)]
    pub no_tests: bool,
    /// Run application scripts even when their inputs did not change since their last
    /// success.
    #[arg(long)]
    pub rerun_scripts: bool,
    /// Where the config's scripts are (default: `bin/` beside the config directory).
    #[arg(long, env = "PHOENIX_SCRIPTS_DIR")]
    pub scripts_dir: Option<camino::Utf8PathBuf>,
}

/// Which containers, and how to run.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Container ids (their clone sources and dependencies are included).
    pub ids: Vec<u32>,
    /// Every container in the config.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    #[command(flatten)]
    pub flags: RunFlags,
}

impl RunArgs {
    /// The selection: the ids, or every container with `--all`.
    pub fn selection(&self) -> anyhow::Result<Selection> {
        if self.all {
            Ok(Selection::All)
        } else if self.ids.is_empty() {
            Err(invalid(anyhow::anyhow!("name container ids or use --all")))
        } else {
            Ok(Selection::Ids(self.ids.clone()))
        }
    }
}

/// Loads the config, converges `selection` and prints the report (up, converge, create).
pub fn converge(
    selection: Selection,
    flags: &RunFlags,
    only_missing: bool,
    global: &Global,
) -> anyhow::Result<()> {
    let fleet = load(global)?;
    let runner = runner(global);
    let opts = phoenix_orchestrator::RunOptions {
        selection,
        jobs: usize::from(flags.jobs),
        dry_run: flags.dry_run,
        wait: flags.wait,
        only_missing,
        reprove: flags.verify,
        rerun_scripts: flags.rerun_scripts,
    };
    let scripts = scripts_dir(global, flags.scripts_dir.as_ref());
    let orch = orchestrator(&fleet, global, &runner).with_scripts_dir(scripts.clone());
    if fleet.hypervisor.cluster.is_some() {
        // The test suites run inside containers on their nodes: `phoenix test` there.
        let mut report = cluster_run(&orch, &fleet, global, scripts.as_deref())?
            .converge(&opts, &progress(global))
            .map_err(run_error)?;
        report.notes.extend(crate::cluster::retried_note());
        return finish(&report, global, flags.dry_run);
    }
    let report = orch.converge(&opts, &progress(global)).map_err(run_error)?;
    let done = finish(&report, global, flags.dry_run);
    if flags.dry_run || flags.no_tests {
        return done;
    }
    // The test suites of the containers this run changed (a no-op run tests nothing).
    let changed: Vec<u32> = report
        .containers
        .iter()
        .filter(|c| c.ok() && c.changes().next().is_some())
        .map(|c| c.vmid)
        .collect();
    if changed.is_empty() {
        return done;
    }
    let suites = [
        phoenix_orchestrator::features::Suite::Health,
        phoenix_orchestrator::features::Suite::Integration,
    ];
    let tests = orch
        .test(&changed, &suites, &progress(global))
        .map_err(run_error)?;
    if !tests.results.is_empty() && !global.json() && (!global.quiet || !tests.ok()) {
        print!("\n{}", tests.render_text());
    }
    done?;
    if tests.ok() {
        Ok(())
    } else {
        Err(Reported::runtime())
    }
}

/// The cluster run of a config with a `cluster` section: the PVE API client and the
/// node path (see `crate::cluster`).
pub fn cluster_run<'o, 'a>(
    orch: &'o Orchestrator<'a>,
    fleet: &'a Fleet,
    global: &Global,
    scripts: Option<&camino::Utf8Path>,
) -> anyhow::Result<phoenix_orchestrator::cluster_run::ClusterRun<'o, 'a>> {
    let Some(cluster) = &fleet.hypervisor.cluster else {
        return Err(run_error(RunError::NotACluster));
    };
    let client = crate::cluster::client(cluster, global)?;
    phoenix_orchestrator::cluster_run::ClusterRun::new(
        orch,
        client,
        crate::cluster::ssh(),
        &global.config_dir,
        scripts,
    )
    .map_err(run_error)
}

/// Refuses a command that works on this node only when the config describes a cluster:
/// it would act on the local node's `pct` and files, not on the guests' nodes.
pub fn node_local_only(fleet: &Fleet, command: &str) -> anyhow::Result<()> {
    if fleet.hypervisor.cluster.is_some() {
        return Err(invalid(anyhow::anyhow!(
            "phoenix {command} works on one node, and this config describes a cluster: run it on the guest's node with a config without the cluster section, or use phoenix plan / up / converge / start / stop / restart / delete, which work across the cluster"
        )));
    }
    Ok(())
}

/// The scripts directory: the one given, else `bin/` beside the config directory.
pub fn scripts_dir(
    global: &Global,
    given: Option<&camino::Utf8PathBuf>,
) -> Option<camino::Utf8PathBuf> {
    phoenix_config::scripts_dir_for(
        &global.config_dir,
        &phoenix_config::ValidateOptions {
            scripts_dir: given.cloned(),
        },
    )
}

/// Loads and validates the config directory; invalid config exits 2 with every
/// diagnostic on stderr.
pub fn load(global: &Global) -> anyhow::Result<Fleet> {
    match phoenix_config::load_dir(&global.config_dir) {
        Ok(v) => {
            if !global.quiet {
                for w in &v.warnings {
                    eprintln!("{w}");
                }
            }
            Ok(v.fleet)
        }
        Err(ConfigError::Invalid { diagnostics }) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            eprintln!(
                "{}: invalid config ({} errors); nothing was changed",
                phoenix_config::diagnostic::escape_for_terminal(global.config_dir.as_str()),
                diagnostics
                    .iter()
                    .filter(|d| d.severity == phoenix_config::Severity::Error)
                    .count()
            );
            Err(Reported::invalid())
        }
        Err(e) => Err(invalid(e)),
    }
}

/// The process runner: pct and pvesm see `PHOENIX_ROOT` (the emulator resolves every
/// host path under it; real pct ignores it).
pub fn runner(global: &Global) -> ProcessRunner {
    ProcessRunner::new().env("PHOENIX_ROOT", global.root.as_str())
}

/// An orchestrator over `runner`.
pub fn orchestrator<'a>(
    fleet: &'a Fleet,
    global: &Global,
    runner: &'a ProcessRunner,
) -> Orchestrator<'a> {
    Orchestrator::new(fleet, global.root.clone(), runner)
        .with_pct(global.pct.clone())
        .with_pvesm(global.pvesm.clone())
        .with_scripts_dir(scripts_dir(global, None))
        .with_lock_wait(phoenix_orchestrator::pct::LockWait::with_total(
            std::time::Duration::from_secs(global.lock_wait),
        ))
}

/// A run error: invalid input exits 2, the rest 1.
pub fn run_error(e: RunError) -> anyhow::Error {
    if e.is_invalid_input() {
        invalid(e)
    } else {
        anyhow::Error::new(e)
    }
}

/// Progress on stderr: the live board, plain lines or JSON events (see `crate::progress`).
pub fn progress(global: &Global) -> impl Fn(Event<'_>) + Sync + use<> {
    crate::progress::sink(global)
}

/// Prints the report (text or JSON); a failed run exits 1 after printing.
pub fn finish(report: &RunReport, global: &Global, show_noop: bool) -> anyhow::Result<()> {
    if global.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(report).context("rendering the report")?
        );
    } else if !global.quiet || !report.ok() {
        print!(
            "{}",
            report.render(show_noop || global.verbose > 0, global.verbose > 0)
        );
    }
    if report.ok() {
        Ok(())
    } else {
        Err(Reported::runtime())
    }
}

/// Ids and options of start/stop/restart/delete.
#[derive(Debug, clap::Args)]
pub struct LifecycleArgs {
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<u32>,
    /// Show what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for another phoenix run to finish instead of failing.
    #[arg(long)]
    pub wait: bool,
}

/// Runs a lifecycle command and prints one line per container.
pub fn lifecycle(
    what: phoenix_orchestrator::lifecycle::Lifecycle,
    args: &LifecycleArgs,
    global: &Global,
) -> anyhow::Result<()> {
    let fleet = load(global)?;
    let runner = runner(global);
    let orch = orchestrator(&fleet, global, &runner);
    let entries = if fleet.hypervisor.cluster.is_some() {
        // Through the API, on each guest's node.
        cluster_run(&orch, &fleet, global, None)?
            .lifecycle(what, &args.ids, args.dry_run, args.wait)
            .map_err(run_error)?
    } else {
        orch.lifecycle(what, &args.ids, args.dry_run, args.wait)
            .map_err(run_error)?
    };
    let ok = entries.iter().all(|e| e.outcome.is_ok());
    if global.json() {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for e in &entries {
            if args.dry_run || global.verbose > 0 {
                for c in &e.commands {
                    println!("CT {}: {c}", e.vmid);
                }
            }
            match &e.outcome {
                Ok(what) if !global.quiet => println!("CT {}: {what}", e.vmid),
                Ok(_) => {}
                // The error names the guest already (`CT 101: pct start: ...`).
                Err(why) => eprintln!("error: {why}"),
            }
        }
    }
    if ok { Ok(()) } else { Err(Reported::runtime()) }
}
