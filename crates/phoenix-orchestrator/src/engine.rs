//! The public API: [`Orchestrator::plan`] computes a [`Plan`] (reading only),
//! [`Orchestrator::apply`] executes one, and [`Orchestrator::converge`] is both in one
//! run (`phoenix up`), or the plan alone as a report (`phoenix plan`, `up --dry-run`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_config::Fleet;
use phoenix_features::Registry;
use phoenix_pct::{CommandRunner, LockWait, Pct, PctError, Pvesm};
use phoenix_pveconf::Vmid;
use phoenix_pveconf::conf::CtConf;

use crate::dag::Dag;
use crate::desired::{DesiredCt, Source, container, desired};
use crate::error::{ErrorReport, StepError};
use crate::guest::GuestId;
use crate::hostfs::{BeneathFs, HostFs};
use crate::lock::LockError;
use crate::observe::{ObserveWants, ObservedCt, conf_file, observe};
use crate::plan::{FileRead, GuestObserved, GuestPlan, PLAN_FORMAT, Plan};
use crate::planner::{GuestInputs, PlannedDirs, plan_ct};
use crate::preflight::{idmap_changes, preflight};
use crate::report::RunReport;

/// Which guests a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every container in the config.
    All,
    /// These guests, plus the clone sources and dependencies they need.
    Ids(Vec<u32>),
    /// Exactly these guests (a cluster node plans its share of a fleet: sources and
    /// dependencies on other nodes are the cluster run's).
    Exactly(Vec<u32>),
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// What to work on.
    pub selection: Selection,
    /// Guests converged at once.
    pub jobs: usize,
    /// Plan only: print the plan, run nothing that mutates.
    pub dry_run: bool,
    /// Wait for another run's fleet lock instead of failing.
    pub wait: bool,
    /// Only create what is missing; leave existing containers as they are.
    pub only_missing: bool,
    /// Prove the idmap and volumes, and verify the features, of every container again.
    pub reprove: bool,
    /// Run application scripts even when their inputs did not change.
    pub rerun_scripts: bool,
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
            rerun_scripts: false,
        }
    }
}

/// Progress of a run, for a live display.
#[derive(Debug)]
pub enum Event<'a> {
    /// The host steps finished.
    HostReady,
    /// A guest's convergence started.
    Started(u32),
    /// A guest finished (or was skipped).
    Finished(&'a crate::report::CtReport),
    /// A step of a guest is about to run.
    StepStarted {
        /// The guest.
        vmid: u32,
        /// Its phase.
        step: crate::plan::Step,
        /// What it does, as the backend renders it (`pct start 101`).
        action: &'a str,
    },
    /// A step of a guest ended.
    StepFinished {
        /// The guest.
        vmid: u32,
        /// Its phase.
        step: crate::plan::Step,
        /// What it did.
        action: &'a str,
        /// Why it failed; `None` when it succeeded.
        error: Option<&'a crate::error::ErrorReport>,
    },
    /// A line a feature's script printed inside a guest.
    Output {
        /// The guest.
        vmid: u32,
        /// The feature (or script).
        feature: &'a str,
        /// The line.
        line: &'a str,
    },
}

/// Why a run could not start (nothing was changed).
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
    /// Observing the guests failed.
    #[error("cannot read the containers' state")]
    Observe(#[source] PctError),
    /// A saved plan no longer matches the node.
    #[error("plan is stale: {what} changed since the plan was made; run phoenix plan again")]
    Stale {
        /// The file (or `the config`, or `CT 102`) that changed.
        what: String,
    },
    /// A file a saved plan read is gone (a CT conf: the container was destroyed since).
    #[error("plan is stale: {path} was deleted since the plan was made; run phoenix plan again")]
    Deleted {
        /// The file, as the plan names it.
        path: Utf8PathBuf,
    },
    /// A saved plan was made for another root.
    #[error("the plan was made for root {plan}, this run uses {run}")]
    OtherRoot {
        /// The plan's root.
        plan: Utf8PathBuf,
        /// This run's.
        run: Utf8PathBuf,
    },
    /// A cluster run of a config without a `cluster` section.
    #[error("the hypervisor config has no cluster section")]
    NotACluster,
    /// A node that `cluster.nodes` does not name.
    #[error("node {0} is not in the hypervisor config's cluster.nodes")]
    UnknownNode(String),
    /// The config directory cannot be read to send to the nodes.
    #[error("cannot read the config directory {dir} to send it to the nodes")]
    Bundle {
        /// The directory.
        dir: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The PVE API could not be asked about the cluster.
    #[error("cannot read the cluster's state through the PVE API")]
    Api(#[source] phoenix_pveapi::ApiError),
    /// Some guests cannot be placed on a node (nothing was changed).
    #[error("cannot place every guest on a node: {}", errors.join("; "))]
    Placement {
        /// One message per guest.
        errors: Vec<String>,
    },
    /// A node could not plan its guests.
    #[error("node {node} could not plan its guests")]
    NodePath {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: Box<crate::node_path::NodePathError>,
    },
}

impl RunError {
    /// True when the input (the selection or the config) is at fault, not the host.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            RunError::UnknownCt(_)
                | RunError::Cycle(_)
                | RunError::NotACluster
                | RunError::UnknownNode(_)
                | RunError::Placement { .. }
        )
    }
}

/// Converges a fleet on one node.
pub struct Orchestrator<'a> {
    pub(crate) fleet: &'a Fleet,
    pub(crate) root: Utf8PathBuf,
    pub(crate) runner: &'a dyn CommandRunner,
    pct_binary: Option<PathBuf>,
    pvesm_binary: Option<PathBuf>,
    pub(crate) features: Registry,
    pub(crate) fs: Box<dyn HostFs + 'a>,
    /// This run's id: staging directories in guests are `/tmp/phoenix_run/<run-id>/`.
    pub(crate) run_id: String,
    /// Where the config's scripts (tests, application scripts) are.
    pub(crate) scripts_dir: Option<Utf8PathBuf>,
    /// What the host shows, read once when a container needs it.
    host_facts: std::sync::OnceLock<phoenix_features::HostFacts>,
    /// How long a pct call refused for a container lock is retried.
    lock_wait: LockWait,
}

/// What planning knows of one guest, kept to re-plan it at apply time.
pub(crate) struct GuestState {
    pub desired: DesiredCt,
}

impl<'a> Orchestrator<'a> {
    /// An orchestrator for `fleet` whose host paths live under `root`, running every
    /// command through `runner`, with the built-in features.
    pub fn new(
        fleet: &'a Fleet,
        root: impl Into<Utf8PathBuf>,
        runner: &'a dyn CommandRunner,
    ) -> Self {
        let root: Utf8PathBuf = root.into();
        Orchestrator {
            fleet,
            root: root.clone(),
            runner,
            pct_binary: None,
            pvesm_binary: None,
            features: Registry::builtin_for(fleet),
            // Every host path is resolved beneath the root; a link out of it is refused.
            fs: Box::new(BeneathFs::new(root)),
            run_id: format!(
                "{}-{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                std::process::id()
            ),
            scripts_dir: None,
            host_facts: std::sync::OnceLock::new(),
            lock_wait: LockWait::default(),
        }
    }

    /// Retries a pct call refused because another task holds the container for at most
    /// this long (default: [`LockWait::default`], 60 s), then fails naming the lock.
    pub fn with_lock_wait(mut self, wait: LockWait) -> Self {
        self.lock_wait = wait;
        self
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

    /// Uses these features.
    pub fn with_features(mut self, features: Registry) -> Self {
        self.features = features;
        self
    }

    /// Uses this run id (staging directories `/tmp/phoenix_run/<run-id>/`).
    pub fn with_run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = id.into();
        self
    }

    /// Uses these host facts instead of reading them beneath the root (tests without
    /// root cannot make device nodes).
    pub fn with_host_facts(mut self, facts: phoenix_features::HostFacts) -> Self {
        self.host_facts = std::sync::OnceLock::from(facts);
        self
    }

    /// Uses this host file system (tests without root keep owners in memory).
    pub fn with_fs(mut self, fs: Box<dyn HostFs + 'a>) -> Self {
        self.fs = fs;
        self
    }

    /// What the host shows beneath the root (NVIDIA nodes, majors, driver version,
    /// Proxmox release), read once, and only when a container of the config needs it
    /// (a feature whose requirements depend on the host: nvidia with a
    /// `gpu_assignment`); otherwise nothing is read and no command runs.
    pub fn host_facts(&self) -> &phoenix_features::HostFacts {
        self.host_facts.get_or_init(|| {
            if self.needs_host_facts() {
                crate::host_facts::read(&self.root, self.runner)
            } else {
                phoenix_features::HostFacts::default()
            }
        })
    }

    fn needs_host_facts(&self) -> bool {
        let none = phoenix_features::HostFacts::default();
        self.fleet.lxc.lxc_configs.iter().any(|(id, ct)| {
            let request = phoenix_features::Request {
                vmid: id.get(),
                container: ct,
                hypervisor: &self.fleet.hypervisor,
                lxc: &self.fleet.lxc,
                host: &none,
            };
            let names: Vec<String> = ct.features.iter().map(|f| f.as_str().to_owned()).collect();
            ct.gpu_assignment.is_some()
                && self
                    .features
                    .install_order(&names, &request)
                    .is_ok_and(|o| o.iter().any(|n| n == phoenix_features::NVIDIA))
        })
    }

    /// The root every host path is under.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// pct through `runner`.
    pub fn pct<'r>(&self, runner: &'r dyn CommandRunner) -> Pct<&'r dyn CommandRunner> {
        Pct::resolve(self.pct_binary.clone(), runner).with_lock_wait(self.lock_wait)
    }

    pub(crate) fn pvesm<'r>(&self, runner: &'r dyn CommandRunner) -> Pvesm<&'r dyn CommandRunner> {
        Pvesm::resolve(self.pvesm_binary.clone(), runner)
    }

    /// The runner every command goes through.
    pub fn runner_ref(&self) -> &'a dyn CommandRunner {
        self.runner
    }

    /// The fleet's gateway step, when the config names a gateway container.
    pub(crate) fn gateway_step(
        &self,
    ) -> Option<Result<phoenix_gateway::GatewayStep, phoenix_gateway::GatewayError>> {
        self.fleet
            .hypervisor
            .gateway
            .as_ref()
            .map(|_| phoenix_gateway::step(self.fleet))
    }

    /// The digest of the config (recorded in a plan: a changed config makes it stale).
    pub fn config_digest(&self) -> String {
        let text = serde_json::to_string(self.fleet).unwrap_or_default();
        phoenix_pveconf::conf::Digest::of(text.as_bytes()).to_string()
    }

    /// The guest an id names: a container of the config, else a VM of the VM file.
    fn guest_of(&self, id: u32) -> Option<GuestId> {
        let v = Vmid::new(id).ok()?;
        if container(self.fleet, id).is_some() {
            return Some(GuestId::Ct(v));
        }
        let vms = self.fleet.vm.as_ref()?;
        vms.vms
            .iter()
            .any(|vm| u64::from(vm.vmid.get()) == u64::from(id))
            .then_some(GuestId::Vm(v))
    }

    fn vm_name(&self, id: u32) -> String {
        self.fleet
            .vm
            .as_ref()
            .and_then(|f| {
                f.vms
                    .iter()
                    .find(|vm| u64::from(vm.vmid.get()) == u64::from(id))
            })
            .map(|vm| vm.name.as_str().to_owned())
            .unwrap_or_default()
    }

    /// What a guest needs first: its clone source and its dependencies (containers and
    /// VMs alike).
    fn needs_of(&self, id: u32) -> Vec<u32> {
        container(self.fleet, id)
            .map(|c| {
                c.clone_from_ctid
                    .iter()
                    .chain(c.dependencies.iter())
                    .map(|x| x.get())
                    .filter(|d| self.guest_of(*d).is_some())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The selected ids with every clone source and dependency they need, in id order.
    pub fn select(&self, selection: &Selection) -> Result<Vec<u32>, RunError> {
        let mut todo: Vec<u32> = match selection {
            Selection::All => self
                .fleet
                .lxc
                .lxc_configs
                .keys()
                .map(|id| id.get())
                .collect(),
            Selection::Ids(ids) => ids.clone(),
            Selection::Exactly(ids) => {
                for id in ids {
                    self.guest_of(*id).ok_or(RunError::UnknownCt(*id))?;
                }
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                return Ok(ids);
            }
        };
        let mut out = BTreeSet::new();
        while let Some(id) = todo.pop() {
            self.guest_of(id).ok_or(RunError::UnknownCt(id))?;
            if !out.insert(id) {
                continue;
            }
            todo.extend(self.needs_of(id));
        }
        Ok(out.into_iter().collect())
    }

    pub(crate) fn dag(&self, ids: &[u32]) -> Dag<u32> {
        Dag::new(ids.iter().map(|id| (*id, self.needs_of(*id))))
    }

    /// `ids` with sources before the guests that need them (`None` on a cycle).
    pub fn dag_order(&self, ids: &[u32]) -> Option<Vec<u32>> {
        self.dag(ids).topological_order()
    }

    /// Computes the plan for the selection: observes the node (reads only), computes
    /// every guest's desired state, checks what must be refused before any change,
    /// plans the host steps and each guest's steps. Writes nothing.
    pub fn plan(&self, opts: &RunOptions) -> Result<Plan, RunError> {
        Ok(self.plan_with_state(opts)?.0)
    }

    pub(crate) fn plan_with_state(
        &self,
        opts: &RunOptions,
    ) -> Result<(Plan, BTreeMap<u32, GuestState>), RunError> {
        let ids = self.select(&opts.selection)?;
        let dag = self.dag(&ids);
        if let Some(cycle) = dag.find_cycle() {
            return Err(RunError::Cycle(cycle));
        }
        let order = dag.topological_order().unwrap_or_else(|| ids.clone());
        let ct_ids: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|id| self.guest_of(*id).is_some_and(GuestId::is_ct))
            .collect();

        let mut wanted: BTreeMap<u32, DesiredCt> = BTreeMap::new();
        let mut refused: BTreeMap<u32, StepError> = BTreeMap::new();
        for id in &ct_ids {
            match desired(self.fleet, *id, &self.features, self.host_facts()) {
                Ok(d) => {
                    wanted.insert(*id, d);
                }
                Err(e) => {
                    refused.insert(*id, StepError::Desired(e));
                }
            }
        }
        let wants = ObserveWants {
            snapshots: wanted
                .values()
                .filter(|d| d.template_snapshot.is_some() || d.lifecycle_snapshots)
                .map(|d| d.vmid.get())
                .collect(),
            ledgers: wanted
                .values()
                .filter(|d| {
                    d.features.iter().any(|f| {
                        self.features.installer(f).is_some()
                            && !d.not_installed.iter().any(|(n, _)| n == f)
                    }) || d.application.is_some()
                        || self
                            .fleet
                            .hypervisor
                            .gateway
                            .as_ref()
                            .is_some_and(|g| g.ctid.get() == d.vmid.get())
                })
                .map(|d| d.vmid.get())
                .collect(),
        };
        let pct = self.pct(self.runner);
        let pvesm = self.pvesm(self.runner);
        // `pvesm status` (for the storage step) does not wait for the containers'
        // observation: with more than one job it runs beside it.
        let (observed, storage_status) = std::thread::scope(|scope| {
            let storage = (opts.jobs > 1).then(|| scope.spawn(|| pvesm.status()));
            let observed = observe(&pct, &self.root, &ct_ids, &wants, opts.jobs);
            let storage = match storage {
                Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                None => match &observed {
                    Ok(_) => pvesm.status(),
                    // Not read: the run stops at the observation's error.
                    Err(_) => Ok(Vec::new()),
                },
            };
            (observed, storage)
        });
        let observed = observed.map_err(RunError::Observe)?;

        // A guest of another cluster node: pct here cannot touch it.
        let local = crate::cluster::local_node(&self.root);
        let cluster = crate::cluster::Cluster::read(&self.root);
        for id in &ct_ids {
            if observed.contains_key(id) {
                continue;
            }
            if let Some(e) = cluster.elsewhere(local.as_deref(), *id) {
                refused
                    .entry(*id)
                    .or_insert(StepError::Refused(crate::cluster::refusal(*id, &e)));
            }
        }
        let (map_refused, map_warnings) = idmap_changes(&wanted, &observed);
        for (id, e) in preflight(&wanted, &observed).into_iter().chain(map_refused) {
            refused.entry(id).or_insert(StepError::Refused(e));
        }

        let mut reads: Vec<FileRead> = Vec::new();
        let cts: Vec<&DesiredCt> = wanted.values().collect();
        let host = crate::host::plan_host(&self.root, storage_status, &cts, &mut reads);
        // The guests each host step is for, as sets: a step for every new container of
        // a fleet of 10,000 lists them all.
        let host_scopes: Vec<Option<BTreeSet<GuestId>>> = host
            .iter()
            .map(|h| h.scope.as_ref().map(|s| s.iter().copied().collect()))
            .collect();
        if self.host_facts().read {
            // The driver the GPU containers were planned for: a plan made for another
            // kernel module is stale.
            let path = Utf8PathBuf::from(crate::host_facts::NVIDIA_VERSION_FILE);
            reads.push(FileRead {
                digest: crate::hostfs::file_digest(&crate::hostfs::under_root(&self.root, &path))
                    .ok()
                    .flatten(),
                path,
            });
        }

        let gateway = match self.gateway_step() {
            Some(Ok(g)) => Some(g),
            Some(Err(e)) => {
                if let Some(g) = &self.fleet.hypervisor.gateway {
                    refused
                        .entry(g.ctid.get())
                        .or_insert(StepError::Refused(format!(
                            "the gateway configuration cannot be rendered: {e}"
                        )));
                }
                None
            }
            None => None,
        };
        let mut dirs = PlannedDirs::new();
        let mut final_confs: BTreeMap<u32, CtConf> = BTreeMap::new();
        let mut clone_bases: BTreeMap<u32, CtConf> = BTreeMap::new();
        let mut guests: BTreeMap<u32, GuestPlan> = BTreeMap::new();
        for id in order {
            let Some(guest) = self.guest_of(id) else {
                continue;
            };
            if !guest.is_ct() {
                // A VM is a node of the DAG (its dependents are ordered after it), but
                // this phoenix version does not converge VMs: it is taken as it is.
                guests.insert(
                    id,
                    GuestPlan {
                        guest,
                        hostname: self.vm_name(id),
                        needs: Vec::new(),
                        host_steps: Vec::new(),
                        observed: observed_of(None),
                        steps: vec![crate::plan::PlannedStep::note(
                            crate::plan::Step::Define,
                            "a VM: not converged by this phoenix version, taken as it is",
                        )],
                        refused: None,
                        warnings: Vec::new(),
                    },
                );
                continue;
            }
            let hostname = container(self.fleet, id)
                .map(|c| c.name.as_str().to_owned())
                .unwrap_or_default();
            let seen = observed.get(&id);
            reads.push(FileRead {
                path: conf_file(id).into(),
                digest: seen.and_then(|o| o.conf_digest.clone()),
            });
            let mut gp = GuestPlan {
                guest,
                hostname,
                needs: self
                    .needs_of(id)
                    .into_iter()
                    .filter_map(|n| self.guest_of(n))
                    .collect(),
                host_steps: Vec::new(),
                observed: observed_of(seen),
                steps: Vec::new(),
                refused: None,
                warnings: map_warnings.get(&id).cloned().unwrap_or_default(),
            };
            for vm in gp.needs.iter().filter(|n| !n.is_ct()) {
                gp.warnings.push(format!(
                    "it depends on {vm}, which this phoenix version does not converge (it is taken as it is)"
                ));
            }
            for (h, scope) in host.iter().zip(&host_scopes) {
                if scope.as_ref().is_none_or(|s| s.contains(&guest)) {
                    gp.host_steps.push(h.name.clone());
                }
            }
            if let Some(e) = refused.get(&id) {
                gp.refused = Some(ErrorReport::of(e));
                guests.insert(id, gp);
                continue;
            }
            let d = &wanted[&id];
            gp.host_steps.extend(d.host_needs.iter().cloned());
            if d.features.iter().any(|f| f == phoenix_features::DOCKER) {
                let ct = container(self.fleet, id);
                if !d.unprivileged {
                    gp.warnings.push(
                        "docker in a privileged container: root in its containers is host root; prefer an unprivileged container".into(),
                    );
                }
                if ct.is_some_and(|c| {
                    c.apparmor_profile
                        .as_ref()
                        .is_some_and(|p| p.as_str() == "unconfined")
                }) {
                    gp.warnings.push(
                        "apparmor_profile unconfined is overridden by docker's lxc-docker-secure (docker needs no unconfined container)".into(),
                    );
                }
            }
            let source_conf = match &d.source {
                Source::Clone { from, .. } => final_confs
                    .get(&from.get())
                    .or_else(|| observed.get(&from.get()).map(|o| &o.conf)),
                Source::Template(_) => None,
            };
            // A source is planned before its clones, so its conf no longer changes.
            let clone_base = match &d.source {
                Source::Clone { from, .. } => Some(
                    &*clone_bases
                        .entry(from.get())
                        .or_insert_with(|| crate::planner::clone_base(source_conf)),
                ),
                Source::Template(_) => None,
            };
            let inputs = GuestInputs {
                root: &self.root,
                fs: self.fs.as_ref(),
                features: &self.features,
                fleet: self.fleet,
                source_conf,
                clone_base,
                reprove: opts.reprove,
                defined_by_run: false,
                only_missing: opts.only_missing,
                gateway: gateway.as_ref(),
                scripts_dir: self.scripts_dir.as_deref(),
                rerun_scripts: opts.rerun_scripts,
                host: self.host_facts(),
            };
            match plan_ct(d, seen, &inputs, &mut dirs) {
                Ok(p) => {
                    gp.steps = p.steps;
                    gp.warnings.extend(p.warnings);
                    reads.extend(p.reads);
                    if let Some(c) = p.final_conf {
                        final_confs.insert(id, c);
                    }
                }
                Err(failed) => {
                    let (p, e) = *failed;
                    gp.warnings.extend(p.warnings);
                    reads.extend(p.reads);
                    gp.refused = Some(ErrorReport::of(&e));
                }
            }
            guests.insert(id, gp);
        }
        reads.sort();
        reads.dedup();
        let states = wanted
            .into_iter()
            .map(|(id, desired)| (id, GuestState { desired }))
            .collect();
        Ok((
            Plan {
                format: PLAN_FORMAT.into(),
                phoenix_version: env!("CARGO_PKG_VERSION").into(),
                root: self.root.clone(),
                config_digest: self.config_digest(),
                reads,
                host,
                guests: guests.into_values().collect(),
            },
            states,
        ))
    }

    /// Converges the selection: plan, then apply it (or, with `dry_run`, report the
    /// plan and run nothing that mutates).
    pub fn converge(
        &self,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<RunReport, RunError> {
        if opts.dry_run {
            let (plan, _) = self.plan_with_state(opts)?;
            return Ok(self.into_report_of_plan(plan));
        }
        // The plan of a run that applies it is made under the fleet lock: nobody else
        // changes the fleet between the two.
        let _lock = crate::lock::FleetLock::acquire(&self.root, opts.wait)?;
        let (plan, states) = self.plan_with_state(opts)?;
        self.apply_locked(&plan, Some(states), opts, progress)
    }
}

/// What a plan records of a guest it observed.
pub(crate) fn observed_of(seen: Option<&ObservedCt>) -> GuestObserved {
    GuestObserved {
        exists: seen.is_some(),
        running: seen.is_some_and(|o| o.running),
        conf_digest: seen.and_then(|o| o.conf_digest.clone()),
    }
}

/// The vmid type for callers that hold a u32.
pub fn vmid(id: u32) -> Result<Vmid, RunError> {
    Vmid::new(id).map_err(|_| RunError::UnknownCt(id))
}
