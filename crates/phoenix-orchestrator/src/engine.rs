//! A run over the fleet: select, observe, check before acting, prepare the host, then
//! converge every container in dependency order with a pool of workers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_config::Fleet;
use phoenix_features::Registry;
use phoenix_pct::{CommandRunner, CtStatus, DryRunRunner, Pct, PctError, Pvesm};
use phoenix_pveconf::Vmid;

use crate::converge::{Ctx, ObservedCt, chain, converge_ct};
use crate::dag::{Dag, NodeRun};
use crate::desired::{DesiredCt, container, desired};
use crate::lock::{FleetLock, LockError};
use crate::plan::Step;
use crate::preflight::{idmap_changes, preflight};
use crate::report::{CtReport, CtResult, RunReport};

/// Which containers a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every container in the config.
    All,
    /// These containers, plus the clone sources and dependencies they need.
    Ids(Vec<u32>),
}

/// How a converging run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// What to work on.
    pub selection: Selection,
    /// Containers converged at once.
    pub jobs: usize,
    /// Plan only: run reads, change nothing.
    pub dry_run: bool,
    /// Wait for another run's fleet lock instead of failing.
    pub wait: bool,
    /// Only create what is missing; leave existing containers as they are.
    pub only_missing: bool,
    /// Prove the idmap and volumes of every container again, even unchanged ones
    /// (this runs `pct exec`, so the run is no longer read-only for them).
    pub reprove: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            selection: Selection::All,
            jobs: 4,
            dry_run: false,
            wait: false,
            only_missing: false,
            reprove: false,
        }
    }
}

/// Progress of a run, for a live display.
#[derive(Debug)]
pub enum Event<'a> {
    /// The host step finished.
    HostReady,
    /// A container's convergence started.
    Started(u32),
    /// A container finished (or was skipped).
    Finished(&'a CtReport),
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A selected id is not in the config.
    #[error("CT {0} is not defined in phoenix_lxc_configs.json")]
    UnknownCt(u32),
    /// The clone/dependency graph has a cycle.
    #[error("clone_from_ctid and dependencies form a cycle: {}", .0.iter().map(u32::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<u32>),
    /// The fleet lock is held or cannot be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Observing the containers failed.
    #[error("cannot read the containers' state")]
    Observe(#[source] PctError),
}

impl RunError {
    /// True when the input (the selection or the config) is at fault, not the host.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, RunError::UnknownCt(_) | RunError::Cycle(_))
    }
}

/// Converges a fleet on one host.
pub struct Orchestrator<'a> {
    fleet: &'a Fleet,
    root: Utf8PathBuf,
    runner: &'a dyn CommandRunner,
    pct_binary: Option<PathBuf>,
    pvesm_binary: Option<PathBuf>,
    features: Registry,
}

impl<'a> Orchestrator<'a> {
    /// An orchestrator for `fleet` whose host paths live under `root`, running every
    /// command through `runner`.
    pub fn new(
        fleet: &'a Fleet,
        root: impl Into<Utf8PathBuf>,
        runner: &'a dyn CommandRunner,
    ) -> Self {
        Orchestrator {
            fleet,
            root: root.into(),
            runner,
            pct_binary: None,
            pvesm_binary: None,
            features: Registry::new(),
        }
    }

    /// Uses this `pct` binary instead of `$PHOENIX_PCT` or `pct` on `PATH`.
    pub fn with_pct(mut self, path: Option<PathBuf>) -> Self {
        self.pct_binary = path;
        self
    }

    /// Uses this `pvesm` binary instead of `$PHOENIX_PVESM` or `pvesm` on `PATH`.
    pub fn with_pvesm(mut self, path: Option<PathBuf>) -> Self {
        self.pvesm_binary = path;
        self
    }

    /// Uses these feature installers.
    pub fn with_features(mut self, features: Registry) -> Self {
        self.features = features;
        self
    }

    /// The root every host path is under.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// pct through `runner`.
    pub fn pct<'r>(&self, runner: &'r dyn CommandRunner) -> Pct<&'r dyn CommandRunner> {
        Pct::resolve(self.pct_binary.clone(), runner)
    }

    fn pvesm<'r>(&self, runner: &'r dyn CommandRunner) -> Pvesm<&'r dyn CommandRunner> {
        Pvesm::resolve(self.pvesm_binary.clone(), runner)
    }

    /// The selected ids with every clone source and dependency they need, in id order.
    pub fn select(&self, selection: &Selection) -> Result<Vec<u32>, RunError> {
        let all: BTreeMap<u32, &phoenix_config::Container> = self
            .fleet
            .lxc
            .lxc_configs
            .iter()
            .map(|(id, c)| (id.get(), c))
            .collect();
        let mut todo: Vec<u32> = match selection {
            Selection::All => all.keys().copied().collect(),
            Selection::Ids(ids) => ids.clone(),
        };
        let mut out = BTreeSet::new();
        while let Some(id) = todo.pop() {
            let ct = all.get(&id).ok_or(RunError::UnknownCt(id))?;
            if !out.insert(id) {
                continue;
            }
            todo.extend(ct.clone_from_ctid.iter().map(|c| c.get()));
            // Dependencies that are VMs are outside phoenix's LXC runs.
            todo.extend(
                ct.dependencies
                    .iter()
                    .map(|c| c.get())
                    .filter(|d| all.contains_key(d)),
            );
        }
        Ok(out.into_iter().collect())
    }

    /// The runner every command goes through.
    pub fn runner_ref(&self) -> &'a dyn CommandRunner {
        self.runner
    }

    /// `ids` with sources before the containers that need them (`None` on a cycle).
    pub fn dag_order(&self, ids: &[u32]) -> Option<Vec<u32>> {
        self.dag(ids).topological_order()
    }

    fn dag(&self, ids: &[u32]) -> Dag<u32> {
        Dag::new(ids.iter().map(|id| {
            let needs = container(self.fleet, *id)
                .map(|c| {
                    c.clone_from_ctid
                        .iter()
                        .chain(c.dependencies.iter())
                        .map(|x| x.get())
                        .collect()
                })
                .unwrap_or_default();
            (*id, needs)
        }))
    }

    /// `pct list` once, then `pct config` of every selected container that exists,
    /// `jobs` at a time (each call is a process; on a real host each takes a while).
    fn observe(
        &self,
        pct: &Pct<&dyn CommandRunner>,
        ids: &[u32],
        jobs: usize,
    ) -> Result<BTreeMap<u32, ObservedCt>, RunError> {
        let listed: Vec<_> = pct
            .list()
            .map_err(RunError::Observe)?
            .into_iter()
            .filter(|e| ids.contains(&e.vmid.get()))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let found = Mutex::new(Vec::with_capacity(listed.len()));
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, listed.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(entry) = listed.get(i) else { break };
                        let conf = pct.config(entry.vmid);
                        found
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((entry, conf));
                    }
                });
            }
        });
        let mut out = BTreeMap::new();
        for (entry, conf) in found.into_inner().unwrap_or_else(|p| p.into_inner()) {
            out.insert(
                entry.vmid.get(),
                ObservedCt {
                    conf: conf.map_err(RunError::Observe)?,
                    running: entry.status == CtStatus::Running,
                },
            );
        }
        Ok(out)
    }

    /// Converges the selection (or plans it, with `dry_run`).
    pub fn converge(
        &self,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<RunReport, RunError> {
        let ids = self.select(&opts.selection)?;
        let dag = self.dag(&ids);
        if let Some(cycle) = dag.find_cycle() {
            return Err(RunError::Cycle(cycle));
        }
        let _lock = if opts.dry_run {
            None
        } else {
            Some(FleetLock::acquire(&self.root, opts.wait)?)
        };
        let dry = DryRunRunner::new(self.runner);
        let runner: &dyn CommandRunner = if opts.dry_run { &dry } else { self.runner };
        let pct = self.pct(runner);
        let observed = self.observe(&pct, &ids, opts.jobs)?;

        let mut wanted: BTreeMap<u32, DesiredCt> = BTreeMap::new();
        let mut refused: BTreeMap<u32, String> = BTreeMap::new();
        for id in &ids {
            match desired(self.fleet, *id) {
                Ok(d) => {
                    wanted.insert(*id, d);
                }
                Err(e) => {
                    refused.insert(*id, chain(&e));
                }
            }
        }
        let (map_refused, map_warnings) = idmap_changes(&wanted, &observed);
        for (id, e) in preflight(&wanted, &observed).into_iter().chain(map_refused) {
            refused.entry(id).or_insert(e);
        }

        let cts: Vec<&DesiredCt> = wanted.values().collect();
        let host =
            crate::host::prepare(&self.root, runner, &self.pvesm(runner), opts.dry_run, &cts);
        let (host_outcome, host_error) = match host {
            Ok(o) => (o, None),
            Err((o, e)) => (o, Some(e)),
        };
        progress(Event::HostReady);

        let ctx = Ctx {
            fleet: self.fleet,
            root: &self.root,
            pct,
            dry_run: opts.dry_run,
            reprove: opts.reprove,
            features: &self.features,
            observed: &observed,
            predicted: Mutex::new(BTreeMap::new()),
            clone_sources: Mutex::new(BTreeMap::new()),
            planned_dirs: Mutex::new(Default::default()),
        };
        let hostname = |id: u32| {
            container(self.fleet, id)
                .map(|c| c.name.as_str().to_owned())
                .unwrap_or_default()
        };
        if let Some(e) = &host_error {
            // Nothing is attempted on a host that is not ready.
            let containers = ids
                .iter()
                .map(|id| CtReport {
                    vmid: *id,
                    hostname: hostname(*id),
                    result: CtResult::Failed {
                        step: Step::Host,
                        error: format!("not attempted: the host is not ready ({e})"),
                    },
                    actions: vec![],
                    warnings: vec![],
                })
                .collect();
            return Ok(RunReport {
                dry_run: opts.dry_run,
                host: host_outcome.actions,
                host_warnings: host_outcome.warnings,
                host_error,
                containers,
            });
        }
        let results = dag.run(opts.jobs, |id| {
            progress(Event::Started(id));
            let report = if let Some(e) = refused.get(&id) {
                CtReport {
                    vmid: id,
                    hostname: hostname(id),
                    result: CtResult::Failed {
                        step: Step::Define,
                        error: e.clone(),
                    },
                    actions: vec![],
                    warnings: vec![],
                }
            } else if opts.only_missing && observed.contains_key(&id) {
                CtReport {
                    vmid: id,
                    hostname: hostname(id),
                    result: CtResult::Completed,
                    actions: vec![crate::plan::Action::note(
                        Step::Define,
                        "exists (not converged: use phoenix converge)",
                    )],
                    warnings: vec![],
                }
            } else {
                let mut report = converge_ct(&ctx, &wanted[&id], &hostname(id));
                report
                    .warnings
                    .extend(map_warnings.get(&id).into_iter().flatten().cloned());
                report
            };
            progress(Event::Finished(&report));
            if report.ok() { Ok(report) } else { Err(report) }
        });
        let containers = results
            .into_iter()
            .map(|(id, r)| match r {
                NodeRun::Ran(Ok(rep)) | NodeRun::Ran(Err(rep)) => rep,
                NodeRun::Skipped { because } => {
                    // Its own refusal says more than "a prerequisite failed".
                    let result = match refused.get(&id) {
                        Some(e) => CtResult::Failed {
                            step: Step::Define,
                            error: e.clone(),
                        },
                        None => CtResult::Skipped { because },
                    };
                    let rep = CtReport {
                        vmid: id,
                        hostname: hostname(id),
                        result,
                        actions: vec![],
                        warnings: vec![],
                    };
                    progress(Event::Finished(&rep));
                    rep
                }
            })
            .collect();
        Ok(RunReport {
            dry_run: opts.dry_run,
            host: host_outcome.actions,
            host_warnings: host_outcome.warnings,
            host_error,
            containers,
        })
    }
}

/// The vmid type for callers that hold a u32.
pub fn vmid(id: u32) -> Result<Vmid, RunError> {
    Vmid::new(id).map_err(|_| RunError::UnknownCt(id))
}
