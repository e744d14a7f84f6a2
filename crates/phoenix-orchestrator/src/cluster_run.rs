//! A fleet across the nodes of a Proxmox cluster, through the PVE REST API and the
//! node path.
//!
//! With a `cluster` section in the hypervisor config, `phoenix plan` and `phoenix up`
//! run here instead of on one node:
//!
//! 1. **Where.** One `GET /cluster/resources` says which node each guest is on, which
//!    nodes are online and how loaded, which storages are shared; every selected guest
//!    gets a node ([`crate::placement`]: where it is, else its `node`, else the policy).
//! 2. **Plan.** Each node plans its own guests (`phoenix node`, over SSH): only the node
//!    can read its `/etc/subuid`, AppArmor profiles, volume directories and the ledgers
//!    inside its containers, so the plan of a guest is the same plan a single node
//!    makes. Every step is then routed ([`crate::route`]): create, clone, options,
//!    start and snapshots go through the API (`POST /nodes/{node}/lxc ...`); what the
//!    API reserves to `root@pam` or cannot do at all goes through the node path, shown
//!    with the reason (`node pve2 (bind mount mp0: root@pam only): pct set ...`).
//! 3. **Apply.** Host steps per node over the node path; then the guests in dependency
//!    order, `--jobs` at a time, at most `max_jobs_per_node` per node, clones of one
//!    source one after the other cluster-wide (Proxmox locks the source for a clone).
//!    API calls follow their task to the end and are retried with backoff when Proxmox
//!    says a lock timed out (`phoenix_pveapi`); consecutive node-path steps of a guest
//!    go in one SSH call. Right after a create or clone, the node plans the guest again
//!    from the conf Proxmox wrote, as a single-node run does.
//!
//! A run that finds nothing to do makes one `GET` to the API and one plan call per
//! node; it sends no mutating request. The API token's secret is read from a file or
//! the environment and never printed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_config::model::cluster::{Cluster, Placement};
use phoenix_pveapi::{ApiError, Client, Resource};
use phoenix_pveconf::api::NodeName;

use crate::engine::{Event, Orchestrator, RunError, RunOptions, Selection};
use crate::error::{ErrorReport, StepError};
use crate::guest::GuestId;
use crate::lifecycle::{Lifecycle, LifecycleEntry};
use crate::node_path::{Bundle, NodePathError, NodeRequest, NodeResponse, SshTarget, bundle_of};
use crate::placement::{GuestWant, NodeLoad, Policy, place};
use crate::plan::{GuestPlan, Op, Plan, PlannedStep, Step};
use crate::report::{CtReport, CtResult, HostReport, ReportStep, RunReport};
use crate::route::{Via, api_call, route};

/// A cluster run: the orchestrator of the config, the API client, a node path per node.
pub struct ClusterRun<'o, 'a> {
    orch: &'o Orchestrator<'a>,
    cluster: &'a Cluster,
    api: Client,
    targets: BTreeMap<String, SshTarget>,
    config_dir: Utf8PathBuf,
    scripts_dir: Option<Utf8PathBuf>,
}

/// The cluster's plan: where each guest goes and each node's plan of its share.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// Each selected guest's node.
    pub placement: BTreeMap<u32, String>,
    /// Each node's plan (its host steps and its guests).
    pub nodes: BTreeMap<String, Plan>,
}

/// One step as the cluster runs it.
#[derive(Debug, Clone)]
struct Routed {
    via: Via,
    step: PlannedStep,
}

fn node_failed(node: &str, source: NodePathError) -> RunError {
    RunError::NodePath {
        node: node.to_owned(),
        source: Box::new(source),
    }
}

impl<'o, 'a> ClusterRun<'o, 'a> {
    /// A cluster run over `orch`'s config (which must have a `cluster` section), with
    /// its API client and `ssh` as the node path's client. `config_dir` and
    /// `scripts_dir` are sent to the nodes.
    pub fn new(
        orch: &'o Orchestrator<'a>,
        api: Client,
        ssh: std::path::PathBuf,
        config_dir: &Utf8Path,
        scripts_dir: Option<&Utf8Path>,
    ) -> Result<Self, RunError> {
        let cluster = orch
            .fleet
            .hypervisor
            .cluster
            .as_ref()
            .ok_or(RunError::NotACluster)?;
        let known_hosts =
            crate::hostfs::under_root(&orch.root, Utf8Path::new(cluster.ssh_known_hosts.as_str()));
        let targets = cluster
            .nodes
            .iter()
            .map(|(name, n)| {
                (
                    name.as_str().to_owned(),
                    SshTarget {
                        node: name.as_str().to_owned(),
                        ssh: ssh.clone(),
                        user: cluster.ssh_user.as_str().to_owned(),
                        host: n.ssh_host.as_str().to_owned(),
                        port: n.ssh_port,
                        known_hosts: known_hosts.clone(),
                        phoenix: n.phoenix.as_str().to_owned(),
                    },
                )
            })
            .collect();
        Ok(ClusterRun {
            orch,
            cluster,
            api,
            targets,
            config_dir: config_dir.to_owned(),
            scripts_dir: scripts_dir.map(Utf8Path::to_owned),
        })
    }

    fn target(&self, node: &str) -> Result<&SshTarget, RunError> {
        self.targets
            .get(node)
            .ok_or_else(|| RunError::UnknownNode(node.to_owned()))
    }

    fn bundle(&self, request: NodeRequest) -> Result<Bundle, RunError> {
        bundle_of(&self.config_dir, self.scripts_dir.as_deref(), request).map_err(|source| {
            RunError::Bundle {
                dir: self.config_dir.clone(),
                source,
            }
        })
    }

    /// Where every selected guest goes: one `GET /cluster/resources`.
    fn placement(&self, ids: &[u32]) -> Result<BTreeMap<u32, String>, RunError> {
        let resources = self.api.cluster_resources(None).map_err(RunError::Api)?;
        let mut existing: BTreeMap<u32, NodeName> = BTreeMap::new();
        let mut vms: BTreeMap<u32, String> = BTreeMap::new();
        let mut loads = Vec::new();
        let mut shared = BTreeSet::new();
        for r in &resources {
            match r {
                Resource::Guest(g) => {
                    if g.kind == phoenix_pveapi::GuestKind::Qemu {
                        vms.insert(g.vmid, g.node.clone());
                    } else if let Ok(n) = g.node.parse() {
                        existing.insert(g.vmid, n);
                    }
                }
                Resource::Node(n) => {
                    if let Ok(node) = n.node.parse() {
                        loads.push(NodeLoad {
                            node,
                            online: n.status == "online",
                            mem: n.mem.unwrap_or(0),
                            maxmem: n.maxmem.unwrap_or(0),
                            cpu: n.cpu.unwrap_or(0.0),
                            maxcpu: n.maxcpu.unwrap_or(0.0) as u32,
                        });
                    }
                }
                Resource::Storage(s) => {
                    if s.shared {
                        shared.insert(s.storage.clone());
                    }
                }
                Resource::Other { .. } => {}
            }
        }
        let wants: Vec<GuestWant> = ids
            .iter()
            .map(|id| {
                let ct = crate::desired::container(self.orch.fleet, *id);
                GuestWant {
                    vmid: *id,
                    node: ct.and_then(|c| c.node.clone()),
                    existing: existing.get(id).cloned(),
                    clone_of: ct.and_then(|c| c.clone_from_ctid).map(|s| s.get()),
                    storage: ct.map(|c| c.storage_pool.to_string()),
                    memory_mb: ct.map(|c| u64::from(c.memory_mb)),
                }
            })
            .collect();
        let policy = match self.cluster.placement {
            Placement::Local => Policy::Local,
            Placement::LeastLoaded => Policy::LeastLoaded,
        };
        let local = self.local_node();
        let placed: BTreeMap<u32, String> = place(&wants, &loads, &shared, policy, &local)
            .map(|m| {
                m.into_iter()
                    .map(|(id, n)| (id, n.as_str().to_owned()))
                    .collect()
            })
            .map_err(|errors| RunError::Placement {
                errors: errors.iter().map(ToString::to_string).collect(),
            })?;
        // Guest ids are cluster-wide: a container of the config whose id is a VM's.
        let taken: Vec<String> = ids
            .iter()
            .filter(|id| crate::desired::container(self.orch.fleet, **id).is_some())
            .filter_map(|id| {
                vms.get(id).map(|n| {
                    format!("CT {id}: id {id} is a VM (qemu) on {n}; guest ids are unique across the cluster")
                })
            })
            .collect();
        if !taken.is_empty() {
            return Err(RunError::Placement { errors: taken });
        }
        let split = split_volumes(self.orch.fleet, &placed);
        if !split.is_empty() {
            return Err(RunError::Placement { errors: split });
        }
        Ok(placed)
    }

    fn local_node(&self) -> NodeName {
        if let Some(n) = &self.cluster.local_node {
            return n.clone();
        }
        crate::cluster::local_node(&self.orch.root)
            .and_then(|n| n.parse().ok())
            .filter(|n: &NodeName| self.cluster.nodes.contains_key(n))
            .or_else(|| self.cluster.nodes.keys().next().cloned())
            .unwrap_or_else(|| "localhost".parse().unwrap_or_else(|_| unreachable!()))
    }

    /// Plans the selection: placement, then each node plans its share (in parallel).
    pub fn plan(&self, opts: &RunOptions) -> Result<ClusterPlan, RunError> {
        let ids = self.orch.select(&opts.selection)?;
        let placement = self.placement(&ids)?;
        let mut by_node: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (id, node) in &placement {
            by_node.entry(node.clone()).or_default().push(*id);
        }
        let results: Vec<(String, Result<Plan, RunError>)> = std::thread::scope(|s| {
            let handles: Vec<_> = by_node
                .iter()
                .map(|(node, ids)| {
                    s.spawn(move || (node.clone(), self.node_plan(node, ids.clone(), opts)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| unreachable!("a node plan panicked"))
                })
                .collect()
        });
        let mut nodes = BTreeMap::new();
        for (node, r) in results {
            // A node that cannot plan (SSH refused, phoenix missing there) fails its own
            // guests, and the guests that need them; the other nodes go on.
            let plan = match r {
                Ok(p) => p,
                Err(e) => self.unplanned(&by_node[&node], &e),
            };
            nodes.insert(node, plan);
        }
        Ok(ClusterPlan { placement, nodes })
    }

    /// The plan of a node that could not plan: each of its guests refused with why.
    fn unplanned(&self, ids: &[u32], e: &RunError) -> Plan {
        let why = crate::error::chain(e);
        let guests = ids
            .iter()
            .filter_map(|id| {
                let guest = GuestId::Ct(phoenix_pveconf::Vmid::new(*id).ok()?);
                Some(GuestPlan {
                    guest,
                    hostname: crate::desired::container(self.orch.fleet, *id)
                        .map(|c| c.name.as_str().to_owned())
                        .unwrap_or_default(),
                    needs: vec![],
                    host_steps: vec![],
                    observed: crate::plan::GuestObserved {
                        exists: false,
                        running: false,
                        conf_digest: None,
                    },
                    steps: vec![],
                    refused: Some(ErrorReport::of(&StepError::Cluster {
                        guest,
                        message: format!("not planned: {why}"),
                    })),
                    warnings: vec![],
                })
            })
            .collect();
        Plan {
            format: crate::plan::PLAN_FORMAT.into(),
            phoenix_version: env!("CARGO_PKG_VERSION").into(),
            root: Utf8PathBuf::from("/"),
            config_digest: self.orch.config_digest(),
            reads: vec![],
            host: vec![],
            guests,
        }
    }

    fn node_plan(&self, node: &str, ids: Vec<u32>, opts: &RunOptions) -> Result<Plan, RunError> {
        let bundle = self.bundle(NodeRequest::Plan {
            ids,
            reprove: opts.reprove,
            rerun_scripts: opts.rerun_scripts,
            only_missing: opts.only_missing,
        })?;
        match self.target(node)?.call(&bundle) {
            Ok(NodeResponse::Plan { plan }) => Ok(*plan),
            Ok(_) => Err(node_failed(
                node,
                NodePathError::Refused {
                    node: node.to_owned(),
                    message: "answered a plan request with something else".into(),
                },
            )),
            Err(e) => Err(node_failed(node, e)),
        }
    }

    /// How a step reads in the cluster's plan.
    fn detail(&self, node: &str, r: &Routed) -> String {
        let backend = self.orch.backend();
        match &r.via {
            Via::Api => {
                let name: Option<NodeName> = node.parse().ok();
                name.and_then(|n| api_call(&r.step.op, &n))
                    .map(|c| format!("api: {c}"))
                    .unwrap_or_else(|| backend.render(&r.step.op))
            }
            Via::NodePath(why) => {
                format!("node {node} ({why}): {}", backend.render(&r.step.op))
            }
            Via::Nowhere => backend.render(&r.step.op),
        }
    }

    fn routed(steps: &[PlannedStep]) -> Vec<Routed> {
        steps
            .iter()
            .flat_map(|s| {
                route(&s.op).into_iter().map(move |r| Routed {
                    via: r.via,
                    step: PlannedStep {
                        op: r.op,
                        ..s.clone()
                    },
                })
            })
            .collect()
    }

    fn report_step(&self, node: &str, r: &Routed) -> ReportStep {
        ReportStep {
            step: r.step.step,
            change: r.step.change,
            detail: self.detail(node, r),
            op: r.step.op.clone(),
            why: r.step.why.clone(),
        }
    }

    /// The plan as a report (`phoenix plan`, `up --dry-run`).
    pub fn report_of_plan(&self, plan: &ClusterPlan) -> RunReport {
        let mut host = Vec::new();
        let mut containers = Vec::new();
        for (node, p) in &plan.nodes {
            for h in &p.host {
                host.push(HostReport {
                    name: format!("{node}: {}", h.name),
                    actions: h
                        .steps
                        .iter()
                        .map(|s| ReportStep {
                            step: s.step,
                            change: s.change,
                            detail: host_detail(node, &s.op, &self.orch.backend().render(&s.op)),
                            op: s.op.clone(),
                            why: s.why.clone(),
                        })
                        .collect(),
                    warnings: h.warnings.clone(),
                    error: h.error.clone(),
                });
            }
            for g in &p.guests {
                containers.push(CtReport {
                    guest: g.guest,
                    vmid: g.guest.id(),
                    hostname: g.hostname.clone(),
                    node: Some(node.to_owned()),
                    result: match &g.refused {
                        Some(e) => CtResult::Failed {
                            step: Step::Define,
                            error: e.clone(),
                        },
                        None => CtResult::Completed,
                    },
                    actions: Self::routed(&g.steps)
                        .iter()
                        .map(|r| self.report_step(node, r))
                        .collect(),
                    warnings: g.warnings.clone(),
                });
            }
        }
        containers.sort_by_key(|c| c.vmid);
        RunReport {
            dry_run: true,
            host,
            containers,
            notes: vec![],
        }
    }

    /// Converges the selection: plan, then apply (or report the plan with `dry_run`).
    pub fn converge(
        &self,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<RunReport, RunError> {
        if opts.dry_run {
            let plan = self.plan(opts)?;
            return Ok(self.report_of_plan(&plan));
        }
        let _lock = crate::lock::FleetLock::acquire(&self.orch.root, opts.wait)?;
        let plan = self.plan(opts)?;
        self.apply(&plan, opts, progress)
    }

    fn apply(
        &self,
        plan: &ClusterPlan,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<RunReport, RunError> {
        // Host steps, per node; a failed one fails that node's guests that need it.
        let mut host = Vec::new();
        let mut failed_host: BTreeSet<(String, String)> = BTreeSet::new();
        for (node, p) in &plan.nodes {
            let reports = if p
                .host
                .iter()
                .any(|h| h.steps.iter().any(PlannedStep::mutates))
            {
                let ids: Vec<u32> = p.guests.iter().map(|g| g.guest.id()).collect();
                let bundle = self.bundle(NodeRequest::ApplyHost {
                    ids,
                    steps: p.host.clone(),
                })?;
                match self.target(node)?.call(&bundle) {
                    Ok(NodeResponse::Host { reports }) => reports,
                    Ok(_) => {
                        return Err(node_failed(
                            node,
                            NodePathError::Refused {
                                node: node.clone(),
                                message: "answered a host request with something else".into(),
                            },
                        ));
                    }
                    Err(e) => return Err(node_failed(node, e)),
                }
            } else {
                p.host
                    .iter()
                    .map(|h| HostReport {
                        name: h.name.clone(),
                        actions: vec![],
                        warnings: h.warnings.clone(),
                        error: h.error.clone(),
                    })
                    .collect()
            };
            for mut r in reports {
                if r.error.is_some() {
                    failed_host.insert((node.clone(), r.name.clone()));
                }
                for a in &mut r.actions {
                    a.detail = host_detail(node, &a.op, &a.detail);
                }
                r.name = format!("{node}: {}", r.name);
                host.push(r);
            }
        }
        progress(Event::HostReady);

        let mut guests: BTreeMap<u32, (&str, &GuestPlan)> = BTreeMap::new();
        for (node, p) in &plan.nodes {
            for g in &p.guests {
                guests.insert(g.guest.id(), (node.as_str(), g));
            }
        }
        let ids: Vec<u32> = guests.keys().copied().collect();
        let dag = self.orch.dag(&ids);
        let leases: BTreeMap<u32, u32> = guests
            .iter()
            .filter_map(|(id, (_, g))| {
                g.steps.iter().find_map(|s| match s.op {
                    Op::Clone { source, .. } => Some((*id, source)),
                    _ => None,
                })
            })
            .collect();
        let notes = Mutex::new(Vec::new());
        let mut limits = crate::dag::Limits::new();
        for (id, (node, g)) in &guests {
            limits = limits.uses(*id, format!("node:{node}"));
            if let Some(max) = self.cluster.max_jobs_per_node {
                limits = limits.cap(format!("node:{node}"), max as usize);
            }
            if let (Some(max), Some(pool)) = (
                self.cluster.max_jobs_per_storage,
                crate::desired::container(self.orch.fleet, g.guest.id())
                    .map(|c| c.storage_pool.to_string()),
            ) {
                limits = limits
                    .uses(*id, format!("storage:{pool}"))
                    .cap(format!("storage:{pool}"), max as usize);
            }
        }
        let results = dag.run_limited(opts.jobs, &leases, &limits, |id, release| {
            progress(Event::Started(id));
            let (node, g) = guests[&id];
            let report = self.apply_guest(node, g, &failed_host, opts, progress, release, &notes);
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
                let (node, g) = guests.get(&id)?;
                Some(match r {
                    crate::dag::NodeRun::Ran(Ok(rep)) => rep,
                    crate::dag::NodeRun::Ran(Err(rep)) => *rep,
                    crate::dag::NodeRun::Skipped { because } => {
                        // Every DAG node is a planned guest.
                        let because = guests[&because].1.guest;
                        let rep = crate::apply::not_run(g, because, Some((*node).to_owned()));
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

    /// Runs one guest's steps: API steps here, node-path steps on its node.
    #[allow(clippy::too_many_arguments)]
    fn apply_guest(
        &self,
        node: &str,
        g: &GuestPlan,
        failed_host: &BTreeSet<(String, String)>,
        opts: &RunOptions,
        progress: &(dyn Fn(Event<'_>) + Sync),
        release: &(dyn Fn() + Sync),
        notes: &Mutex<Vec<String>>,
    ) -> CtReport {
        let id = g.guest.id();
        let mut rep = CtReport {
            guest: g.guest,
            vmid: id,
            hostname: g.hostname.clone(),
            node: Some(node.to_owned()),
            result: CtResult::Completed,
            actions: vec![],
            warnings: g.warnings.clone(),
        };
        if let Some(e) = &g.refused {
            rep.result = CtResult::Failed {
                step: Step::Define,
                error: e.clone(),
            };
            return rep;
        }
        if let Some(h) = g
            .host_steps
            .iter()
            .find(|h| failed_host.contains(&(node.to_owned(), (*h).clone())))
        {
            rep.result = CtResult::Failed {
                step: Step::Host,
                error: ErrorReport::of(&StepError::HostNotReady {
                    step: format!("{node}: {h}"),
                    reason: "it failed".into(),
                }),
            };
            return rep;
        }
        let mut steps = Self::routed(&g.steps);
        let mut i = 0;
        while i < steps.len() {
            let r = steps[i].clone();
            if matches!(r.via, Via::NodePath(_)) {
                // Consecutive node-path steps go in one call; only when one of them
                // does something (a no-op needs no node).
                let n = steps[i..]
                    .iter()
                    .take_while(|x| matches!(x.via, Via::NodePath(_)))
                    .count();
                let group: Vec<Routed> = steps[i..i + n].to_vec();
                i += n;
                if !group
                    .iter()
                    .any(|x| x.step.mutates() || x.step.change == crate::plan::Change::Check)
                {
                    rep.actions
                        .extend(group.iter().map(|x| self.report_step(node, x)));
                    continue;
                }
                let details: Vec<String> = group.iter().map(|x| self.detail(node, x)).collect();
                let shown = details.join("; ");
                progress(Event::StepStarted {
                    vmid: id,
                    step: r.step.step,
                    action: &shown,
                });
                let mut share = g.clone();
                share.steps = group.iter().map(|x| x.step.clone()).collect();
                let answer = self
                    .bundle(NodeRequest::ApplyGuest {
                        guest: Box::new(share),
                        reprove: opts.reprove,
                        rerun_scripts: opts.rerun_scripts,
                    })
                    .map_err(|e| StepError::Cluster {
                        guest: g.guest,
                        message: e.to_string(),
                    })
                    .and_then(|b| {
                        self.target(node)
                            .map_err(|e| StepError::Cluster {
                                guest: g.guest,
                                message: e.to_string(),
                            })
                            .and_then(|t| {
                                t.call(&b).map_err(|source| StepError::NodePath {
                                    guest: g.guest,
                                    source: Box::new(source),
                                })
                            })
                    });
                match answer {
                    Ok(NodeResponse::Guest { report }) => {
                        for (a, x) in report.actions.iter().zip(&group) {
                            let mut a = a.clone();
                            if let Via::NodePath(why) = &x.via {
                                a.detail = format!("node {node} ({why}): {}", a.detail);
                            }
                            rep.actions.push(a);
                        }
                        rep.warnings.extend(
                            report
                                .warnings
                                .iter()
                                .filter(|w| !rep.warnings.contains(w))
                                .cloned()
                                .collect::<Vec<_>>(),
                        );
                        if let CtResult::Failed { step, error } = &report.result {
                            progress(Event::StepFinished {
                                vmid: id,
                                step: *step,
                                action: &shown,
                                error: Some(error),
                            });
                            rep.result = report.result.clone();
                            return rep;
                        }
                        progress(Event::StepFinished {
                            vmid: id,
                            step: r.step.step,
                            action: &shown,
                            error: None,
                        });
                    }
                    Ok(_) => {
                        let e = StepError::Cluster {
                            guest: g.guest,
                            message: format!(
                                "node {node} answered a guest request with something else"
                            ),
                        };
                        return failed(rep, r.step.step, &e, &shown, progress);
                    }
                    Err(e) => return failed(rep, r.step.step, &e, &shown, progress),
                }
                continue;
            }
            // An API step.
            i += 1;
            let detail = self.detail(node, &r);
            if !r.step.mutates() {
                rep.actions.push(self.report_step(node, &r));
                continue;
            }
            progress(Event::StepStarted {
                vmid: id,
                step: r.step.step,
                action: &detail,
            });
            rep.actions.push(self.report_step(node, &r));
            let result = self.api_execute(node, g.guest, &r.step.op);
            if matches!(r.step.op, Op::Clone { .. }) {
                release();
            }
            if let Err(e) = result {
                return failed(rep, r.step.step, &e, &detail, progress);
            }
            progress(Event::StepFinished {
                vmid: id,
                step: r.step.step,
                action: &detail,
                error: None,
            });
            // Right after define, the node plans the rest from the conf Proxmox wrote.
            if r.step.step == Step::Define {
                let mut ids = vec![id];
                if let Some(Op::Clone { source, .. }) = Some(&r.step.op)
                    && g.needs.iter().any(|n| n.id() == *source)
                {
                    ids.insert(0, *source);
                }
                match self.node_plan(
                    node,
                    ids,
                    &RunOptions {
                        selection: Selection::Exactly(vec![id]),
                        ..opts.clone()
                    },
                ) {
                    Ok(fresh) => {
                        let Some(fg) = fresh.guests.into_iter().find(|x| x.guest.id() == id) else {
                            let e = StepError::Cluster {
                                guest: g.guest,
                                message: format!("node {node} did not plan it again after define"),
                            };
                            return failed(rep, Step::Configure, &e, &detail, progress);
                        };
                        if let Some(e) = fg.refused {
                            rep.result = CtResult::Failed {
                                step: Step::Configure,
                                error: e,
                            };
                            return rep;
                        }
                        let rest: Vec<PlannedStep> = fg
                            .steps
                            .into_iter()
                            .filter(|x| x.step > Step::Define)
                            .collect();
                        // Noted when the operations differ (not their order or reasons:
                        // a split create's node-path set becomes a configure step).
                        let ops = |v: &[Routed]| -> Vec<Op> {
                            v.iter()
                                .filter(|x| x.step.mutates())
                                .map(|x| x.step.op.clone())
                                .collect()
                        };
                        let fresh_rest = Self::routed(&rest);
                        let (planned, fresh_ops) = (ops(&steps[i..]), ops(&fresh_rest));
                        let same = planned.len() == fresh_ops.len()
                            && planned.iter().all(|o| fresh_ops.contains(o));
                        if !same {
                            lock(notes).push(format!(
                                "{}: its steps after define were planned again from the conf Proxmox wrote",
                                g.guest
                            ));
                        }
                        steps.truncate(i);
                        steps.extend(fresh_rest);
                    }
                    Err(e) => {
                        let e = StepError::Cluster {
                            guest: g.guest,
                            message: e.to_string(),
                        };
                        return failed(rep, Step::Configure, &e, &detail, progress);
                    }
                }
            }
        }
        rep
    }

    /// One API-routed operation.
    fn api_execute(&self, node: &str, guest: GuestId, op: &Op) -> Result<(), StepError> {
        let err = |what: &str| {
            let what = what.to_owned();
            move |source: ApiError| StepError::Api {
                guest,
                what,
                source: Box::new(source),
            }
        };
        match op {
            Op::Create {
                vmid,
                ostemplate,
                params,
            } => self
                .api
                .lxc_create(node, *vmid, ostemplate, params)
                .map(drop)
                .map_err(err("create")),
            Op::Clone {
                source,
                vmid,
                params,
            } => self
                .api
                .lxc_clone(node, *source, *vmid, params)
                .map(drop)
                .map_err(err("clone")),
            Op::Set {
                vmid,
                params,
                delete,
            } => self
                .api
                .lxc_set_config(node, *vmid, params, delete, None)
                .map_err(err("config")),
            Op::Start { vmid } => self
                .api
                .lxc_start(node, *vmid)
                .map(drop)
                .map_err(err("start")),
            Op::Snapshot { vmid, name } => self
                .api
                .lxc_snapshot(node, *vmid, name)
                .map(drop)
                .map_err(err("snapshot")),
            Op::Note { .. } => Ok(()),
            other => Err(StepError::Cluster {
                guest,
                message: format!(
                    "the API backend cannot run {}",
                    self.orch.backend().render(other)
                ),
            }),
        }
    }
}

/// Shared volumes whose containers were placed on different nodes: a host path is one
/// directory per node, so they would not share it.
fn split_volumes(fleet: &phoenix_config::Fleet, placed: &BTreeMap<u32, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, v) in &fleet.hypervisor.shared_volumes {
        let on: Vec<(u32, &String)> = v
            .mounts
            .keys()
            .filter_map(|id| placed.get(&id.get()).map(|n| (id.get(), n)))
            .collect();
        let nodes: BTreeSet<&String> = on.iter().map(|(_, n)| *n).collect();
        if nodes.len() > 1 {
            let who: Vec<String> = on.iter().map(|(id, n)| format!("CT {id} on {n}")).collect();
            out.push(format!(
                "shared volume {name} ({}) is mounted by {}: a host path is one directory per node, so they would not share it; put them on one node (their `node`)",
                v.host_path.as_str(),
                who.join(", ")
            ));
        }
    }
    out
}

/// A host step's line: it runs on the node, and why (the API has no way to do it).
fn host_detail(node: &str, op: &Op, rendered: &str) -> String {
    let why = route(op)
        .into_iter()
        .find_map(|r| match r.via {
            Via::NodePath(why) => Some(why.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "a host check: pvesm on the node".into());
    format!("node {node} ({why}): {rendered}")
}

impl ClusterRun<'_, '_> {
    /// Start, stop, restart or delete guests of the cluster through the API, each on
    /// the node `/cluster/resources` says it is on: starts in dependency order, stops
    /// and deletes in reverse. Holds the fleet lock unless `dry_run`.
    pub fn lifecycle(
        &self,
        what: Lifecycle,
        ids: &[u32],
        dry_run: bool,
        wait: bool,
    ) -> Result<Vec<LifecycleEntry>, RunError> {
        let (order, _lock) = self.orch.lifecycle_order(what, ids, dry_run, wait)?;
        let resources = self.api.cluster_resources(None).map_err(RunError::Api)?;
        let mut out = Vec::new();
        for id in order {
            let guest = GuestId::Ct(crate::engine::vmid(id)?);
            let found = resources.iter().find_map(|r| match r {
                Resource::Guest(g) if g.vmid == id => Some(g),
                _ => None,
            });
            let mut commands = Vec::new();
            let outcome = (|| -> Result<String, StepError> {
                let Some(g) = found else {
                    return if what == Lifecycle::Delete {
                        Ok("does not exist".into())
                    } else {
                        Err(StepError::Missing { guest })
                    };
                };
                let node = g.node.as_str();
                let running = g.status == phoenix_pveapi::GuestState::Running;
                let call = |verb: &str, commands: &mut Vec<String>| {
                    commands.push(match verb {
                        "destroy" => format!("DELETE /nodes/{node}/lxc/{id} purge=1"),
                        v => format!("POST /nodes/{node}/lxc/{id}/status/{v}"),
                    });
                };
                let err = |what: &str| {
                    let what = what.to_owned();
                    move |source: ApiError| StepError::Api {
                        guest,
                        what,
                        source: Box::new(source),
                    }
                };
                let mut did = Vec::new();
                if running && what != Lifecycle::Start {
                    call("shutdown", &mut commands);
                    if !dry_run {
                        self.api.lxc_shutdown(node, id).map_err(err("shutdown"))?;
                    }
                    did.push("stopped");
                }
                if what == Lifecycle::Restart || (what == Lifecycle::Start && !running) {
                    call("start", &mut commands);
                    if !dry_run {
                        self.api.lxc_start(node, id).map_err(err("start"))?;
                    }
                    did.push("started");
                }
                if what == Lifecycle::Delete {
                    call("destroy", &mut commands);
                    if !dry_run {
                        self.api.lxc_destroy(node, id).map_err(err("destroy"))?;
                    }
                    did.push("destroyed");
                }
                Ok(if did.is_empty() {
                    format!(
                        "already {} on {node}",
                        if running { "running" } else { "stopped" }
                    )
                } else {
                    format!("{} on {node}", did.join(", "))
                })
            })()
            .map_err(|e| ErrorReport::of(&e));
            out.push(LifecycleEntry {
                vmid: id,
                commands,
                outcome,
            });
        }
        Ok(out)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn failed(
    mut rep: CtReport,
    step: Step,
    e: &StepError,
    action: &str,
    progress: &(dyn Fn(Event<'_>) + Sync),
) -> CtReport {
    let error = ErrorReport::of(e);
    progress(Event::StepFinished {
        vmid: rep.vmid,
        step,
        action,
        error: Some(&error),
    });
    rep.result = CtResult::Failed { step, error };
    rep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ct, fleet};

    fn cluster_section() -> &'static str {
        r#""cluster": {"api_url": "https://127.0.0.1:8006", "token_id": "phoenix@pve!t1",
            "token_secret_env": "X", "fingerprint": "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB",
            "ssh_known_hosts": "/etc/phoenix/known_hosts", "local_node": "pve1",
            "nodes": {"pve1": {"ssh_host": "pve1"}, "pve2": {"ssh_host": "pve2"}}}"#
    }

    #[test]
    fn a_container_whose_id_is_a_vm_elsewhere_in_the_cluster_is_refused_before_any_node_is_asked() {
        use phoenix_pveapi::fake::ScriptedTransport;
        use phoenix_pveapi::{Method, RawResponse, RetryPolicy};
        let lxc = format!(
            r#"{{"lxc_configs": {{"101": {}}}}}"#,
            ct(r#""template": "local:vztmpl/t.tar.zst""#)
        );
        let f = fleet(&lxc, &format!("{{{}}}", cluster_section()));
        let runner = phoenix_pct::RecordingRunner::new();
        let orch = Orchestrator::new(&f, "/nonexistent-root", &runner);
        let t = std::sync::Arc::new(ScriptedTransport::new());
        t.reply(
            Method::Get,
            "/cluster/resources",
            RawResponse::data(serde_json::json!([
                {"id": "qemu/101", "type": "qemu", "vmid": 101, "node": "pve2", "status": "running"},
                {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online"},
                {"id": "node/pve2", "type": "node", "node": "pve2", "status": "online"}
            ])),
        );
        let api = Client::with_transport(t.clone(), RetryPolicy::none());
        // No ssh: the run must stop before it asks a node anything.
        let run = ClusterRun::new(
            &orch,
            api,
            "/nonexistent/ssh".into(),
            Utf8Path::new("/nonexistent"),
            None,
        )
        .unwrap();
        let err = run.plan(&RunOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot place every guest on a node: CT 101: id 101 is a VM (qemu) on pve2; guest ids are unique across the cluster"
        );
        assert!(err.is_invalid_input());
        assert_eq!(t.remaining(), 0);
    }

    #[test]
    fn a_shared_volume_split_across_nodes_is_refused_naming_each_container() {
        let lxc = format!(
            r#"{{"lxc_configs": {{"101": {}, "102": {}}}}}"#,
            ct(r#""template": "local:vztmpl/t.tar.zst""#),
            ct(
                r#""template": "local:vztmpl/t.tar.zst", "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.6/24"}"#
            ),
        );
        let hv = r#"{"shared_volumes": {"data": {"host_path": "/srv/data", "mounts": {"101": "/data", "102": "/data"}}}}"#;
        let f = fleet(&lxc, hv);
        let same: BTreeMap<u32, String> = [(101, "pve1".into()), (102, "pve1".into())].into();
        assert!(split_volumes(&f, &same).is_empty());
        let split: BTreeMap<u32, String> = [(101, "pve1".into()), (102, "pve2".into())].into();
        assert_eq!(
            split_volumes(&f, &split),
            [
                "shared volume data (/srv/data) is mounted by CT 101 on pve1, CT 102 on pve2: a host path is one directory per node, so they would not share it; put them on one node (their `node`)"
            ]
        );
    }
}
