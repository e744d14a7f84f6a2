//! Executing a plan: host steps first, then every guest in dependency order with a pool
//! of workers. Before a guest's steps run its conf is read again; a guest that changed
//! since the plan is planned again (and the report says so). Right after a guest is
//! created or cloned, its later steps are planned again from the conf Proxmox wrote
//! (read from its file, without a `pct config`), since a clone's MACs exist only then.
//! A saved plan ([`Orchestrator::apply`]) is refused whole when any file it read changed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use phoenix_features::{Container, ExecResult, FeatureError, Request};
use phoenix_pct::{CommandRunner, FileOptions, Pct};
use phoenix_pveconf::Vmid;

use crate::backend::NodeBackend;
use crate::dag::NodeRun;
use crate::desired::{DesiredCt, container};
use crate::engine::{Event, GuestState, Orchestrator, RunError, RunOptions, observed_of};
use crate::error::{ErrorReport, StepError};
use crate::guest::GuestId;
use crate::host::apply_host_step;
use crate::ledger::{LEDGER_PATH, Ledger};
use crate::lock::FleetLock;
use crate::observe::{ObservedCt, conf_digest, read_ledger};
use crate::plan::{FeatureAction, GuestPlan, HostStepPlan, Op, Plan, PlannedStep, Step};
use crate::planner::{GuestInputs, PlannedDirs, plan_ct};
use crate::report::{CtReport, CtResult, HostReport, ReportStep, RunReport};

/// What a plan's guests would come to without running anything: refused ones fail,
/// those whose host step cannot be planned fail at the host step, those needing a
/// guest that does not complete are skipped, the rest complete.
fn plan_results(plan: &Plan) -> BTreeMap<u32, CtResult> {
    let failed_host: Vec<&str> = plan
        .host
        .iter()
        .filter(|h| h.error.is_some())
        .map(|h| h.name.as_str())
        .collect();
    let mut results: BTreeMap<u32, CtResult> = BTreeMap::new();
    for g in &plan.guests {
        let result = if let Some(e) = &g.refused {
            CtResult::Failed {
                step: Step::Define,
                error: e.clone(),
            }
        } else if let Some(h) = g
            .host_steps
            .iter()
            .find(|h| failed_host.contains(&h.as_str()))
        {
            CtResult::Failed {
                step: Step::Host,
                error: ErrorReport::of(&StepError::HostNotReady {
                    step: h.clone(),
                    reason: "see the host step".into(),
                }),
            }
        } else if let Some(n) = g.needs.iter().find(|n| {
            results
                .get(&n.id())
                .is_some_and(|r| *r != CtResult::Completed)
        }) {
            CtResult::Skipped { because: *n }
        } else {
            CtResult::Completed
        };
        results.insert(g.guest.id(), result);
    }
    results
}

impl Orchestrator<'_> {
    pub(crate) fn backend<'b>(&'b self) -> NodeBackend<'b> {
        NodeBackend::new(self.pct(self.runner), &self.root, self.fs.as_ref())
    }

    fn report_steps(backend: &NodeBackend<'_>, steps: &[PlannedStep]) -> Vec<ReportStep> {
        steps
            .iter()
            .map(|s| ReportStep {
                step: s.step,
                change: s.change,
                detail: backend.render(&s.op),
                op: s.op.clone(),
                why: s.why.clone(),
            })
            .collect()
    }

    /// One step as reported, taking its operation (the plan is not needed after).
    fn report_step(backend: &NodeBackend<'_>, s: PlannedStep) -> ReportStep {
        ReportStep {
            step: s.step,
            change: s.change,
            detail: backend.render(&s.op),
            op: s.op,
            why: s.why,
        }
    }

    /// The plan as a report (`phoenix plan`, `up --dry-run`): nothing is run.
    pub fn report_of_plan(&self, plan: &Plan) -> RunReport {
        self.into_report_of_plan(plan.clone())
    }

    /// [`Orchestrator::report_of_plan`] of a plan that is not needed after: its steps,
    /// names and warnings move into the report instead of being copied (a plan of
    /// 10,000 containers holds some 80,000 steps).
    pub fn into_report_of_plan(&self, plan: Plan) -> RunReport {
        let backend = self.backend();
        let results = plan_results(&plan);
        let host = plan
            .host
            .into_iter()
            .map(|h| HostReport {
                name: h.name,
                actions: h
                    .steps
                    .into_iter()
                    .map(|s| Self::report_step(&backend, s))
                    .collect(),
                warnings: h.warnings,
                error: h.error,
            })
            .collect::<Vec<_>>();
        let containers = plan
            .guests
            .into_iter()
            .filter(|g| g.guest.is_ct())
            .map(|g| {
                let result = results[&g.guest.id()].clone();
                CtReport {
                    guest: g.guest,
                    vmid: g.guest.id(),
                    hostname: g.hostname,
                    node: None,
                    actions: if matches!(result, CtResult::Skipped { .. }) {
                        vec![]
                    } else {
                        g.steps
                            .into_iter()
                            .map(|s| Self::report_step(&backend, s))
                            .collect()
                    },
                    result,
                    warnings: g.warnings,
                }
            })
            .collect();
        RunReport {
            dry_run: true,
            host,
            containers,
            notes: vec![],
        }
    }

    /// Applies a saved plan exactly: refused (with nothing changed) when the config or
    /// any file the plan read changed since it was made.
    pub fn apply(
        &self,
        plan: &Plan,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<RunReport, RunError> {
        if plan.root != self.root {
            return Err(RunError::OtherRoot {
                plan: plan.root.clone(),
                run: self.root.clone(),
            });
        }
        let _lock = FleetLock::acquire(&self.root, opts.wait)?;
        self.check_fresh(plan)?;
        self.apply_locked(plan, None, opts, progress)
    }

    /// Whether every file the plan read is unchanged (and the config).
    fn check_fresh(&self, plan: &Plan) -> Result<(), RunError> {
        if plan.config_digest != self.config_digest() {
            return Err(RunError::Stale {
                what: "the config".into(),
            });
        }
        for r in &plan.reads {
            let path = crate::hostfs::under_root(&self.root, &r.path);
            let current = match self.fs.stat(&path).ok().flatten() {
                Some(m) if m.is_dir => crate::hostfs::dir_digest(Some(m)),
                Some(_) => crate::hostfs::file_digest(&path).ok().flatten(),
                None => None,
            };
            if current.is_none() && r.digest.is_some() {
                // A container destroyed behind phoenix's back takes its conf with it.
                return Err(RunError::Deleted {
                    path: r.path.clone(),
                });
            }
            if current != r.digest {
                return Err(RunError::Stale {
                    what: r.path.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Runs one guest's steps exactly as given: no fleet lock, no check that the guest
    /// changed since, no plan again after define. A cluster node runs its share of a
    /// guest's steps this way (`phoenix node apply`): the cluster run planned them
    /// through this node, runs the API's share itself, and serializes the guest's work.
    pub fn apply_steps(
        &self,
        g: &GuestPlan,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> CtReport {
        let id = g.guest.id();
        let state = crate::desired::desired(self.fleet, id, &self.features, self.host_facts())
            .ok()
            .map(|d| GuestState { desired: d });
        let backend = self.backend();
        let notes = Mutex::new(Vec::new());
        self.apply_guest(
            g,
            state.as_ref(),
            &backend,
            &BTreeMap::new(),
            opts,
            &notes,
            progress,
            &|| {},
            true,
        )
    }

    /// Runs one host step (unless it could not be planned) and reports it.
    fn run_host_step(
        &self,
        backend: &NodeBackend<'_>,
        h: &HostStepPlan,
        cts: &[&DesiredCt],
    ) -> HostReport {
        let mut rep = HostReport {
            name: h.name.clone(),
            actions: Self::report_steps(backend, &h.steps),
            warnings: h.warnings.clone(),
            error: h.error.clone(),
        };
        if rep.error.is_none() {
            match apply_host_step(&self.root, self.runner, h, cts) {
                Ok(w) => rep.warnings.extend(w),
                Err(e) => rep.error = Some(ErrorReport::of(&e)),
            }
        }
        rep
    }

    /// Runs host steps exactly as given (a cluster node's host steps, `phoenix node
    /// apply`), for the guests `ids` of the config.
    pub fn apply_host_steps(&self, steps: &[HostStepPlan], ids: &[u32]) -> Vec<HostReport> {
        let desired: Vec<DesiredCt> = ids
            .iter()
            .filter_map(|id| {
                crate::desired::desired(self.fleet, *id, &self.features, self.host_facts()).ok()
            })
            .collect();
        let cts: Vec<&DesiredCt> = desired.iter().collect();
        let backend = self.backend();
        steps
            .iter()
            .map(|h| self.run_host_step(&backend, h, &cts))
            .collect()
    }

    pub(crate) fn apply_locked(
        &self,
        plan: &Plan,
        states: Option<BTreeMap<u32, GuestState>>,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<RunReport, RunError> {
        let states: BTreeMap<u32, GuestState> = match states {
            Some(s) => s,
            None => plan
                .guests
                .iter()
                .filter_map(|g| {
                    crate::desired::desired(
                        self.fleet,
                        g.guest.id(),
                        &self.features,
                        self.host_facts(),
                    )
                    .ok()
                    .map(|d| (g.guest.id(), GuestState { desired: d }))
                })
                .collect(),
        };
        let backend = self.backend();
        let cts: Vec<&DesiredCt> = states.values().map(|s| &s.desired).collect();

        // Host steps, in order; a failed one fails only the guests in its scope.
        let mut host = Vec::new();
        let mut failed_host: BTreeMap<String, String> = BTreeMap::new();
        for h in &plan.host {
            let rep = self.run_host_step(&backend, h, &cts);
            if let Some(e) = &rep.error {
                failed_host.insert(h.name.clone(), e.to_string());
            }
            host.push(rep);
        }
        progress(Event::HostReady);

        let by_id: BTreeMap<u32, &GuestPlan> =
            plan.guests.iter().map(|g| (g.guest.id(), g)).collect();
        let ids: Vec<u32> = by_id.keys().copied().collect();
        let notes = Mutex::new(Vec::new());
        let dag = self.dag(&ids);
        // A clone holds its source's lock (Proxmox's `lock: disk`) while it clones: the
        // scheduler starts no second clone of that source meanwhile, so no job slot
        // waits for the lock while other work is ready.
        let leases: BTreeMap<u32, u32> = plan
            .guests
            .iter()
            .filter_map(|g| {
                g.steps.iter().find_map(|s| match s.op {
                    Op::Clone { source, .. } => Some((g.guest.id(), source)),
                    _ => None,
                })
            })
            .collect();
        let results = dag.run_leased(opts.jobs, &leases, |id, release| {
            progress(Event::Started(id));
            let g = by_id[&id];
            let report = self.apply_guest(
                g,
                states.get(&id),
                &backend,
                &failed_host,
                opts,
                &notes,
                progress,
                release,
                false,
            );
            progress(Event::Finished(&report));
            if report.ok() {
                Ok(report)
            } else {
                Err(Box::new(report))
            }
        });
        let containers = results
            .into_iter()
            .filter_map(|(id, r)| {
                let g = by_id.get(&id).filter(|g| g.guest.is_ct())?;
                Some(match r {
                    NodeRun::Ran(Ok(rep)) => rep,
                    NodeRun::Ran(Err(rep)) => *rep,
                    NodeRun::Skipped { because } => {
                        let rep = not_run(g, self_guest(plan, because), None);
                        progress(Event::Finished(&rep));
                        rep
                    }
                })
            })
            .collect();
        Ok(RunReport {
            dry_run: false,
            host,
            containers,
            notes: notes.into_inner().unwrap_or_else(|p| p.into_inner()),
        })
    }

    /// Runs one guest's steps.
    #[allow(clippy::too_many_arguments)]
    fn apply_guest(
        &self,
        g: &GuestPlan,
        state: Option<&GuestState>,
        backend: &NodeBackend<'_>,
        failed_host: &BTreeMap<String, String>,
        opts: &RunOptions,
        notes: &Mutex<Vec<String>>,
        progress: &(dyn Fn(Event<'_>) + Sync),
        release: &(dyn Fn() + Sync),
        exact: bool,
    ) -> CtReport {
        let mut rep = CtReport {
            guest: g.guest,
            vmid: g.guest.id(),
            hostname: g.hostname.clone(),
            node: None,
            result: CtResult::Completed,
            actions: vec![],
            warnings: g.warnings.clone(),
        };
        let fail = |rep: &mut CtReport, step: Step, e: &StepError| {
            rep.result = CtResult::Failed {
                step,
                error: ErrorReport::of(e),
            };
        };
        let id = g.guest.id();
        // A step that failed: the report says why, and so does the step's event.
        let step_failed = |rep: &mut CtReport, step: Step, e: &StepError, action: &str| {
            fail(rep, step, e);
            if let CtResult::Failed { error, .. } = &rep.result {
                progress(Event::StepFinished {
                    vmid: id,
                    step,
                    action,
                    error: Some(error),
                });
            }
        };
        if let Some(e) = &g.refused {
            rep.result = CtResult::Failed {
                step: Step::Define,
                error: e.clone(),
            };
            return rep;
        }
        if let Some((name, why)) = g
            .host_steps
            .iter()
            .find_map(|h| failed_host.get(h).map(|w| (h, w)))
        {
            fail(
                &mut rep,
                Step::Host,
                &StepError::HostNotReady {
                    step: name.clone(),
                    reason: why.clone(),
                },
            );
            return rep;
        }
        let Some(state) = state else {
            return rep;
        };
        let mut steps = g.steps.clone();
        // The guest changed since the plan: plan it again from what it is now.
        // (A file read, not a pct call: a no-op run stays as cheap as its plan.)
        if !exact && conf_digest(&self.root, id) != g.observed.conf_digest {
            match self.replan(&state.desired, false, opts) {
                Ok((s, w)) => {
                    lock(notes).push(format!(
                        "{} changed since the plan was made: planned again",
                        g.guest
                    ));
                    steps = s;
                    rep.warnings.extend(w);
                }
                Err(e) => {
                    fail(&mut rep, Step::Define, &e);
                    return rep;
                }
            }
        }
        let mut i = 0;
        while i < steps.len() {
            let s = steps[i].clone();
            let report_step = |s: &PlannedStep| ReportStep {
                step: s.step,
                change: s.change,
                detail: backend.render(&s.op),
                op: s.op.clone(),
                why: s.why.clone(),
            };
            // The proofs of the maps and volumes run together, in one pct exec.
            let proofs = steps[i..].iter().take_while(|x| is_proof(&x.op)).count();
            if proofs > 0 {
                let group = &steps[i..i + proofs];
                let detail: Vec<String> = group.iter().map(|x| backend.render(&x.op)).collect();
                let detail = detail.join("; ");
                progress(Event::StepStarted {
                    vmid: id,
                    step: s.step,
                    action: &detail,
                });
                let ops: Vec<&Op> = group.iter().map(|x| &x.op).collect();
                match backend.prove_all(id, &ops) {
                    Ok(()) => {
                        rep.actions.extend(group.iter().map(report_step));
                        progress(Event::StepFinished {
                            vmid: id,
                            step: s.step,
                            action: &detail,
                            error: None,
                        });
                        i += proofs;
                        continue;
                    }
                    Err(failed) => {
                        let (k, e) = *failed;
                        rep.actions
                            .extend(steps[i..=i + k.min(proofs - 1)].iter().map(report_step));
                        let e = match backend.stop_after_failed_proof(id) {
                            Ok(()) => e,
                            Err(c) => e.with_cleanup(c),
                        };
                        step_failed(&mut rep, Step::Verify, &e, &detail);
                        return rep;
                    }
                }
            }
            let detail = backend.render(&s.op);
            progress(Event::StepStarted {
                vmid: id,
                step: s.step,
                action: &detail,
            });
            rep.actions.push(report_step(&s));
            let result = match &s.op {
                Op::Feature {
                    name,
                    action,
                    inputs,
                    ..
                } => self.run_feature(&state.desired, name, *action, inputs, progress),
                Op::Gateway { inputs, .. } => self.run_gateway(&state.desired, inputs, progress),
                Op::Script {
                    script,
                    files,
                    inputs,
                    ..
                } => self.run_script(&state.desired, script, files, inputs, progress),
                op => backend.execute(op),
            };
            if matches!(s.op, Op::Clone { .. }) {
                // The source's lock is free again: the next clone of it may start.
                release();
            }
            if let Err(e) = result {
                let e = if s.step == Step::Verify {
                    match backend.stop_after_failed_proof(id) {
                        Ok(()) => e,
                        Err(c) => e.with_cleanup(c),
                    }
                } else {
                    e
                };
                step_failed(&mut rep, s.step, &e, &detail);
                return rep;
            }
            progress(Event::StepFinished {
                vmid: id,
                step: s.step,
                action: &detail,
                error: None,
            });
            i += 1;
            // Right after define, the rest is planned from the conf Proxmox wrote.
            if !exact && s.step == Step::Define && s.mutates() {
                match self.replan(&state.desired, true, opts) {
                    Ok((fresh, w)) => {
                        let rest: Vec<PlannedStep> = fresh
                            .into_iter()
                            .filter(|x| x.step > Step::Define)
                            .collect();
                        let planned_rest: Vec<&PlannedStep> =
                            steps[i..].iter().filter(|x| x.mutates()).collect();
                        let fresh_rest: Vec<&PlannedStep> =
                            rest.iter().filter(|x| x.mutates()).collect();
                        if planned_rest != fresh_rest {
                            lock(notes).push(format!(
                                "{}: its steps after define were planned again from the conf Proxmox wrote",
                                g.guest
                            ));
                        }
                        rep.warnings.extend(
                            w.into_iter()
                                .filter(|x| !rep.warnings.contains(x))
                                .collect::<Vec<_>>(),
                        );
                        steps.truncate(i);
                        steps.extend(rest);
                    }
                    Err(e) => {
                        fail(&mut rep, Step::Configure, &e);
                        return rep;
                    }
                }
            }
        }
        rep
    }

    /// Plans one guest again from a fresh observation.
    fn replan(
        &self,
        d: &DesiredCt,
        defined_by_run: bool,
        opts: &RunOptions,
    ) -> Result<(Vec<PlannedStep>, Vec<String>), StepError> {
        let guest = GuestId::Ct(d.vmid);
        let pct = self.pct(self.runner);
        let err = |source| StepError::Pct {
            guest,
            what: "pct config".into(),
            source,
        };
        // Right after define, the conf Proxmox wrote is read from its file (no pct call on
        // the guest's critical path); else, or when the file is not readable here, pct's.
        let conf = match defined_by_run
            .then(|| crate::observe::conf_of_file(&self.root, d.vmid.get()))
            .flatten()
        {
            Some(conf) => Some(conf),
            None => pct.config_optional(d.vmid).map_err(err)?,
        };
        let seen = match conf {
            None => None,
            Some(conf) => {
                // A guest this run just created or cloned is stopped (phoenix passes no
                // `--start`): no `pct status` read for it.
                let running = !defined_by_run
                    && pct
                        .status_optional(d.vmid)
                        .map_err(err)?
                        .is_some_and(|s| s == phoenix_pct::CtStatus::Running);
                let snapshots = if (d.template_snapshot.is_some() || d.lifecycle_snapshots)
                    && !defined_by_run
                {
                    Some(
                        pct.listsnapshot(d.vmid)
                            .map_err(err)?
                            .into_iter()
                            .map(|s| s.name)
                            .collect(),
                    )
                } else {
                    None
                };
                let ledger = if running && !defined_by_run {
                    read_ledger(&pct, d.vmid).map_err(err)?
                } else {
                    None
                };
                Some(ObservedCt {
                    conf,
                    running,
                    conf_digest: conf_digest(&self.root, d.vmid.get()),
                    snapshots,
                    ledger,
                })
            }
        };
        let _ = observed_of(seen.as_ref());
        let gateway = self.gateway_step().and_then(Result::ok);
        let inputs = GuestInputs {
            root: &self.root,
            fs: self.fs.as_ref(),
            features: &self.features,
            fleet: self.fleet,
            source_conf: None,
            clone_base: None,
            reprove: opts.reprove,
            defined_by_run,
            only_missing: false,
            gateway: gateway.as_ref(),
            scripts_dir: self.scripts_dir.as_deref(),
            rerun_scripts: opts.rerun_scripts,
            host: self.host_facts(),
        };
        // Directories were handled by the plan's own volume steps.
        let mut dirs = PlannedDirs::new();
        match plan_ct(d, seen.as_ref(), &inputs, &mut dirs) {
            Ok(p) => Ok((p.steps, p.warnings)),
            Err(failed) => Err(failed.1),
        }
    }

    /// Probes a feature, installs it when the probe finds it missing (or the plan says
    /// install), verifies it and records it in the container's ledger.
    fn run_feature(
        &self,
        d: &DesiredCt,
        name: &str,
        action: FeatureAction,
        inputs: &str,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<(), StepError> {
        let guest = GuestId::Ct(d.vmid);
        let ferr = |source| StepError::Feature {
            guest,
            feature: name.to_owned(),
            source,
        };
        let Some(feature) = self.features.installer(name) else {
            return Ok(());
        };
        let Some(ct) = container(self.fleet, d.vmid.get()) else {
            return Ok(());
        };
        let request = Request {
            vmid: d.vmid.get(),
            container: ct,
            hypervisor: &self.fleet.hypervisor,
            lxc: &self.fleet.lxc,
            host: self.host_facts(),
        };
        let pct = self.pct(self.runner);
        let access = PctContainer {
            pct: &pct,
            vmid: d.vmid,
            run_id: &self.run_id,
            progress,
            root: &self.root,
        };
        phoenix_features::staging::wait_for_boot(&access).map_err(ferr)?;
        let probe = feature.probe(&request, &access).map_err(ferr)?;
        if action == FeatureAction::Install || probe != phoenix_features::Probe::Converged {
            feature.install(&request, &access).map_err(ferr)?;
        }
        feature.verify(&request, &access).map_err(ferr)?;
        record(&access, name, inputs)
    }

    fn container_access<'p>(
        &'p self,
        pct: &'p Pct<&'p dyn CommandRunner>,
        v: Vmid,
        progress: &'p (dyn Fn(Event<'_>) + Sync),
    ) -> PctContainer<'p, 'p> {
        PctContainer {
            pct,
            vmid: v,
            run_id: &self.run_id,
            progress,
            root: &self.root,
        }
    }

    /// phoenix's gateway step: the configuration rendered from the fleet, staged with
    /// gateway.sh, installed, tested and reloaded only when it changed.
    fn run_gateway(
        &self,
        d: &DesiredCt,
        inputs: &str,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<(), StepError> {
        let guest = GuestId::Ct(d.vmid);
        let ferr = |source| StepError::Feature {
            guest,
            feature: "gateway".into(),
            source,
        };
        let step = match self.gateway_step() {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                return Err(StepError::Refused(format!(
                    "the gateway configuration cannot be rendered: {e}"
                )));
            }
            None => return Ok(()),
        };
        let pct = self.pct(self.runner);
        let access = self.container_access(&pct, d.vmid, progress);
        phoenix_features::staging::wait_for_boot(&access).map_err(ferr)?;
        let staged = phoenix_features::staging::Staged {
            feature: "gateway".into(),
            script: phoenix_features::staging::GATEWAY_SH.into(),
            files: vec![phoenix_features::staging::StagedFile {
                path: phoenix_gateway::STAGED_CONF.into(),
                content: step.conf.clone().into_bytes(),
                mode: 0o644,
            }],
            env: step.env.clone(),
            ..Default::default()
        };
        phoenix_features::staging::run_staged(&access, &staged).map_err(ferr)?;
        record(&access, "gateway", inputs)
    }

    /// The application script with its files, from a staging directory, with the
    /// container id as its argument and the container's config beside it.
    fn run_script(
        &self,
        d: &DesiredCt,
        script: &str,
        files: &[String],
        inputs: &str,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<(), StepError> {
        let guest = GuestId::Ct(d.vmid);
        let ferr = |source| StepError::Feature {
            guest,
            feature: format!("application script {script}"),
            source,
        };
        let app = crate::application::read(self.scripts_dir.as_deref(), script, files)?;
        let config = container(self.fleet, d.vmid.get())
            .map(|c| serde_json::to_value(c).unwrap_or_default())
            .unwrap_or_default();
        if crate::application::digest(&app, &config) != inputs {
            return Err(StepError::Refused(format!(
                "application script {script}: it or its files changed since the plan was made; run phoenix plan again"
            )));
        }
        let pct = self.pct(self.runner);
        let access = self.container_access(&pct, d.vmid, progress);
        phoenix_features::staging::wait_for_boot(&access).map_err(ferr)?;
        let mut staged_files: Vec<phoenix_features::staging::StagedFile> = app
            .files
            .iter()
            .map(|(p, b)| phoenix_features::staging::StagedFile {
                path: p.clone(),
                content: b.clone(),
                mode: 0o644,
            })
            .collect();
        staged_files.push(phoenix_features::staging::StagedFile {
            path: "container.json".into(),
            content: serde_json::to_vec_pretty(&config).unwrap_or_default(),
            mode: 0o600,
        });
        let staged = phoenix_features::staging::Staged {
            feature: "application".into(),
            script: app.script.clone(),
            files: staged_files,
            env: vec![("PHOENIX_CONFIG_JSON".into(), "container.json".into())],
            args: vec![d.vmid.to_string()],
            ..Default::default()
        };
        phoenix_features::staging::run_staged(&access, &staged).map_err(ferr)?;
        record(&access, "application_script", inputs)
    }
}

/// Records a success in the container's ledger (read, updated, pushed back).
fn record(access: &PctContainer<'_, '_>, name: &str, inputs: &str) -> Result<(), StepError> {
    let guest = GuestId::Ct(access.vmid);
    let ledger_err = |reason: String| StepError::Ledger {
        guest,
        path: LEDGER_PATH,
        reason,
    };
    let mut ledger: Ledger = read_ledger(access.pct, access.vmid)
        .map_err(|e| ledger_err(e.to_string()))?
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ledger.record(name, env!("CARGO_PKG_VERSION"), inputs, now);
    access
        .exec(&["mkdir", "-p", "/var/lib/phoenix"])
        .map_err(|e| ledger_err(e.to_string()))?;
    access
        .push(ledger.render().as_bytes(), LEDGER_PATH, 0o644)
        .map_err(|e| ledger_err(e.to_string()))
}

/// A proof that runs inside the container together with the others of its guest.
fn is_proof(op: &Op) -> bool {
    matches!(op, Op::ProveMap { .. } | Op::ProveVolume { .. })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The report of a guest the scheduler did not run because `because` failed: it failed
/// itself when it was refused at planning, else it was skipped.
pub(crate) fn not_run(g: &GuestPlan, because: GuestId, node: Option<String>) -> CtReport {
    CtReport {
        guest: g.guest,
        vmid: g.guest.id(),
        hostname: g.hostname.clone(),
        node,
        result: match &g.refused {
            Some(e) => CtResult::Failed {
                step: Step::Define,
                error: e.clone(),
            },
            None => CtResult::Skipped { because },
        },
        actions: vec![],
        warnings: vec![],
    }
}

fn self_guest(plan: &Plan, id: u32) -> GuestId {
    plan.guests
        .iter()
        .map(|g| g.guest)
        .find(|g| g.id() == id)
        .unwrap_or_else(|| GuestId::Vm(Vmid::new(id.max(100)).unwrap_or_else(|_| unreachable!())))
}

impl PctContainer<'_, '_> {
    /// A command's output as a feature sees it; failing to run it at all is `Access`.
    fn result<E: std::error::Error + Send + Sync + 'static>(
        &self,
        out: Result<phoenix_pct::Output, E>,
    ) -> Result<ExecResult, FeatureError> {
        let out = out.map_err(|e| FeatureError::Access {
            vmid: self.vmid.get(),
            source: Box::new(e),
        })?;
        Ok(ExecResult {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

/// A running container reached through pct, for feature installers.
pub(crate) struct PctContainer<'a, 'r> {
    pub(crate) pct: &'a Pct<&'r dyn CommandRunner>,
    pub(crate) vmid: Vmid,
    pub(crate) run_id: &'a str,
    pub(crate) progress: &'a (dyn Fn(Event<'_>) + Sync),
    /// Host paths handed to pct are under the root (as every host path of phoenix's).
    pub(crate) root: &'a camino::Utf8Path,
}

impl Container for PctContainer<'_, '_> {
    fn vmid(&self) -> u32 {
        self.vmid.get()
    }

    fn run_id(&self) -> &str {
        self.run_id
    }

    fn output(&self, feature: &str, line: &str) {
        (self.progress)(Event::Output {
            vmid: self.vmid.get(),
            feature,
            line,
        });
    }

    fn exec_streaming(
        &self,
        argv: &[&str],
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<ExecResult, FeatureError> {
        let inv = phoenix_pct::argv::exec(self.pct.binary(), self.vmid, argv);
        self.result(self.pct.runner().run_streaming(&inv, on_line))
    }

    fn exec(&self, argv: &[&str]) -> Result<ExecResult, FeatureError> {
        self.result(self.pct.exec(self.vmid, argv))
    }

    fn secret(&self, secret: &phoenix_config::SecretRef) -> Result<String, FeatureError> {
        crate::hostfs::secret_value(self.root, secret).map_err(|e| FeatureError::Secret {
            vmid: self.vmid.get(),
            source: Box::new(e),
        })
    }

    fn push(&self, data: &[u8], dest: &str, mode: u32) -> Result<(), FeatureError> {
        let access = |e: Box<dyn std::error::Error + Send + Sync>| FeatureError::Access {
            vmid: self.vmid.get(),
            source: e,
        };
        // The file is written under the root's /tmp and named as on the host, so `pct`
        // (real, or the emulator, which resolves host paths under the root) finds it.
        let dir = self.root.join("tmp");
        std::fs::create_dir_all(&dir).map_err(|e| access(Box::new(e)))?;
        let tmp = tempfile::Builder::new()
            .prefix(".phoenix-push-")
            .tempfile_in(&dir)
            .map_err(|e| access(Box::new(e)))?;
        std::fs::write(tmp.path(), data).map_err(|e| access(Box::new(e)))?;
        let on_host = std::path::Path::new("/tmp").join(tmp.path().file_name().unwrap_or_default());
        let opts = FileOptions {
            perms: Some(mode),
            ..FileOptions::default()
        };
        self.pct
            .push(self.vmid, &on_host, dest, &opts)
            .map_err(|e| access(Box::new(e)))
    }
}
