//! Converging one container: the workflow steps, each computing its actions from
//! desired and observed state, then (unless this is a dry run) doing them.
//!
//! The order is chosen so that nothing runs on a wrong premise: the idmap is computed
//! and checked first (pure), the volume directories get their owners from it, the
//! container is created or cloned with every option in one call, the raw `lxc.*`
//! lines are written, one `pct set` carries the remaining differences, the map is
//! confirmed from the conf actually written, and only then does the container start.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_config::Fleet;
use phoenix_features::Registry;
use phoenix_idmap::IdMap;
use phoenix_pct::{CloneOptions, CommandRunner, CreateOptions, CtStatus, Pct, argv};
use phoenix_pveconf::conf::CtConf;
use phoenix_pveconf::conf::io::{lock_conf, read_optional_conf, write_conf_atomic};
use phoenix_pveconf::props::RootFs;

use crate::desired::{DesiredCt, Source};
use crate::diff::{apply_raw_lines, mount_slots, predicted_conf, set_options};
use crate::plan::{Action, Change, Detail, Step};
use crate::report::{CtReport, CtResult};
use crate::{customize, verify, volumes};

/// How long phoenix waits for Proxmox's per-CT config lock, as Proxmox does.
const CONF_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A container as found before the run.
#[derive(Debug, Clone)]
pub struct ObservedCt {
    /// `pct config` (pending values merged in).
    pub conf: CtConf,
    /// Running now.
    pub running: bool,
}

/// What every container's convergence shares.
pub struct Ctx<'a> {
    /// The config.
    pub fleet: &'a Fleet,
    /// Every host path is under this root.
    pub root: &'a Utf8Path,
    /// pct, through the run's runner.
    pub pct: Pct<&'a dyn CommandRunner>,
    /// Plan only: no pct mutation and no file is changed.
    pub dry_run: bool,
    /// Prove every running container again, changed or not (`--verify`).
    pub reprove: bool,
    /// Feature installers.
    pub features: &'a Registry,
    /// What existed when the run started.
    pub observed: &'a BTreeMap<u32, ObservedCt>,
    /// Confs predicted in a dry run for containers not created yet (for their clones).
    pub predicted: Mutex<BTreeMap<u32, CtConf>>,
    /// One lock per clone source: Proxmox locks the source (`lock: disk`) for the whole
    /// clone, so two clones of one source at once would fail with `CT is locked (disk)`.
    pub clone_sources: Mutex<BTreeMap<u32, Arc<Mutex<()>>>>,
    /// Host directories a dry run has already planned to create.
    pub planned_dirs: Mutex<std::collections::BTreeSet<Utf8PathBuf>>,
}

impl Ctx<'_> {
    /// A host path from the config, under the root.
    pub fn host_path(&self, path: &Utf8Path) -> Utf8PathBuf {
        self.root.join(path.as_str().trim_start_matches('/'))
    }
}

/// A step's failure: the step and the error with its causes.
pub type StepFailure = (Step, String);

/// Renders an error and its sources as `outer: inner: innermost`.
pub fn chain(err: &dyn Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let msg = e.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = e.source();
    }
    s
}

pub(crate) fn fail(step: Step) -> impl Fn(&dyn Error) -> StepFailure {
    move |e| (step, chain(e))
}

fn action_mutates(change: Change) -> bool {
    matches!(change, Change::Create | Change::Change)
}

/// One container's run state.
pub struct CtRun<'c, 'a> {
    /// Shared context.
    pub ctx: &'c Ctx<'a>,
    /// Desired state.
    pub d: &'c DesiredCt,
    /// Actions so far.
    pub actions: Vec<Action>,
    /// Warnings so far.
    pub warnings: Vec<String>,
    /// `pct config` as it is now (or as predicted in a dry run).
    pub conf: Option<CtConf>,
    /// Running now.
    pub running: bool,
    /// Something was changed by this run (so the proof must run again).
    pub changed: bool,
    /// Created or cloned by this run.
    pub created: bool,
}

impl<'c, 'a> CtRun<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, d: &'c DesiredCt) -> Self {
        let seen = ctx.observed.get(&d.vmid.get());
        CtRun {
            ctx,
            d,
            actions: Vec::new(),
            warnings: Vec::new(),
            conf: seen.map(|o| o.conf.clone()),
            running: seen.is_some_and(|o| o.running),
            changed: false,
            created: false,
        }
    }

    /// Records a pct call and, unless this is a dry run, makes it.
    pub fn pct_call<T>(
        &mut self,
        step: Step,
        change: Change,
        inv: phoenix_pct::Invocation,
        call: impl FnOnce(&Pct<&'a dyn CommandRunner>) -> Result<T, phoenix_pct::PctError>,
    ) -> Result<Option<T>, StepFailure> {
        self.pct_call_why(step, change, inv, Vec::new(), call)
    }

    /// [`pct_call`](Self::pct_call) with the differences it removes.
    pub fn pct_call_why<T>(
        &mut self,
        step: Step,
        change: Change,
        inv: phoenix_pct::Invocation,
        why: Vec<String>,
        call: impl FnOnce(&Pct<&'a dyn CommandRunner>) -> Result<T, phoenix_pct::PctError>,
    ) -> Result<Option<T>, StepFailure> {
        let mut action = Action::command(step, change, inv.argv());
        action.why = why;
        self.actions.push(action);
        if action_mutates(change) {
            self.changed = true;
        }
        if self.ctx.dry_run {
            return Ok(None);
        }
        call(&self.ctx.pct).map(Some).map_err(|e| fail(step)(&e))
    }

    fn refresh_conf(&mut self, step: Step) -> Result<(), StepFailure> {
        if !self.ctx.dry_run {
            self.conf = Some(
                self.ctx
                    .pct
                    .config(self.d.vmid)
                    .map_err(|e| fail(step)(&e))?,
            );
        }
        Ok(())
    }

    /// The effective map the config asks for, checked before anything is done.
    fn plan_idmap(&mut self) -> Result<IdMap, StepFailure> {
        let map = IdMap::new(self.d.unprivileged, self.d.id_maps.clone());
        map.validate()
            .map_err(|e| (Step::Idmap, format!("invalid id_maps: {e}")))?;
        if map.is_user_namespaced() {
            for kind in [phoenix_idmap::IdKind::Uid, phoenix_idmap::IdKind::Gid] {
                if map.host_id_of(kind, 0).is_none() {
                    return Err((
                        Step::Idmap,
                        format!(
                            "the map gives container root no host {}: an unprivileged container cannot start without it (add an id_maps entry for container id 0)",
                            kind.id_name()
                        ),
                    ));
                }
            }
        }
        for w in map.warnings(None) {
            self.warnings.push(format!("idmap: {w}"));
        }
        let entries: Vec<String> = if map.is_user_namespaced() {
            map.entries().iter().map(ToString::to_string).collect()
        } else {
            vec!["none (privileged: ids are the host's)".into()]
        };
        self.actions.push(Action::note(
            Step::Idmap,
            format!(
                "map {}; container root is host {}:{}",
                entries.join(", "),
                map.root_host_uid(),
                map.root_host_gid()
            ),
        ));
        Ok(map)
    }

    fn define(&mut self) -> Result<(), StepFailure> {
        if self.conf.is_some() {
            self.actions.push(Action::note(Step::Define, "exists"));
            return Ok(());
        }
        let d = self.d;
        let vmid = d.vmid;
        let binary = self.ctx.pct.binary().to_owned();
        match &d.source {
            Source::Template(template) => {
                let mut opts = CreateOptions {
                    unprivileged: d.unprivileged,
                    config: d.options.clone(),
                    ..CreateOptions::default()
                };
                opts.config.rootfs = Some(RootFs {
                    volume: format!("{}:{}", d.storage, d.rootfs_gb),
                    size: None,
                    acl: None,
                    ro: None,
                    quota: None,
                    replicate: None,
                    shared: None,
                    mountoptions: Vec::new(),
                    idmap: None,
                });
                opts.config.mount_points = mount_slots(d, &[]).0;
                let inv = argv::create(&binary, vmid, template, &opts);
                self.pct_call(Step::Define, Change::Create, inv, |p| {
                    p.create(vmid, template, &opts)
                })?;
                self.conf = Some(predicted_conf(&opts.config, d.unprivileged));
            }
            Source::Clone { from, snapshot } => {
                let opts = CloneOptions {
                    snapname: snapshot.clone(),
                    hostname: d.options.hostname.clone(),
                    ..CloneOptions::default()
                };
                let inv = argv::clone(&binary, *from, vmid, &opts);
                let source_lock = self
                    .ctx
                    .clone_sources
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(from.get())
                    .or_default()
                    .clone();
                let held = source_lock.lock().unwrap_or_else(|p| p.into_inner());
                self.pct_call(Step::Define, Change::Create, inv, |p| {
                    p.clone_ct(*from, vmid, &opts)
                })?;
                drop(held);
                let source = self
                    .ctx
                    .predicted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&from.get())
                    .cloned()
                    .or_else(|| self.ctx.observed.get(&from.get()).map(|o| o.conf.clone()));
                let mut conf = source.unwrap_or_default();
                if let Some(h) = &d.options.hostname {
                    let _ = conf.set("hostname", h);
                }
                self.conf = Some(conf);
            }
        }
        self.created = true;
        self.running = false;
        self.refresh_conf(Step::Define)
    }

    /// Raw `lxc.*` lines, edited in the conf file under Proxmox's lock; then one
    /// `pct set` with every remaining difference.
    fn configure(&mut self) -> Result<CtConf, StepFailure> {
        let vmid = self.d.vmid;
        let step = Step::Configure;
        let conf_file = Utf8PathBuf::from(format!("/etc/pve/lxc/{vmid}.conf"));
        let planned_only = self.ctx.dry_run && self.created;
        let file_conf = if planned_only {
            let mut conf = self.conf.clone().unwrap_or_default();
            let (removed, added) =
                apply_raw_lines(self.d, &mut conf).map_err(|e| fail(step)(&e))?;
            self.push_edit(&conf_file, removed, added);
            conf
        } else {
            let root = self.ctx.root.as_std_path();
            let _lock = lock_conf(root, vmid, CONF_LOCK_TIMEOUT).map_err(|e| fail(step)(&e))?;
            let (mut conf, digest) = read_optional_conf(root, vmid)
                .map_err(|e| fail(step)(&e))?
                .ok_or_else(|| {
                    (
                        step,
                        format!("{conf_file} does not exist under {}", self.ctx.root),
                    )
                })?;
            let (removed, added) =
                apply_raw_lines(self.d, &mut conf).map_err(|e| fail(step)(&e))?;
            let edited = !removed.is_empty() || !added.is_empty();
            self.push_edit(&conf_file, removed, added);
            if edited && !self.ctx.dry_run {
                write_conf_atomic(root, vmid, &conf, Some(digest)).map_err(|e| fail(step)(&e))?;
            }
            conf
        };

        let observed = self.conf.clone().unwrap_or_default();
        let (set, why) = set_options(self.d, &observed).map_err(|e| fail(step)(&e))?;
        if set.is_empty() {
            self.actions
                .push(Action::note(step, "options as configured"));
        } else {
            let inv = argv::set(self.ctx.pct.binary(), vmid, &set);
            let change = if self.created {
                Change::Create
            } else {
                Change::Change
            };
            self.pct_call_why(step, change, inv, why, |p| p.set(vmid, &set))?;
            if self.ctx.dry_run {
                let conf = self.conf.get_or_insert_with(CtConf::new);
                for (k, v) in set.changes.pairs() {
                    let _ = conf.set(&k, &v);
                }
            } else {
                self.refresh_conf(step)?;
                let pending = self.conf.as_ref().and_then(|c| c.pending()).is_some();
                if self.running && pending {
                    self.warnings.push(format!(
                        "some changes are pending until CT {vmid} restarts (phoenix restart {vmid})"
                    ));
                }
            }
        }
        Ok(file_conf)
    }

    fn push_edit(&mut self, path: &Utf8Path, removed: Vec<String>, added: Vec<String>) {
        if removed.is_empty() && added.is_empty() {
            self.actions.push(Action::note(
                Step::Configure,
                format!("{path}: raw lxc lines as configured"),
            ));
            return;
        }
        self.changed = true;
        self.actions.push(Action {
            step: Step::Configure,
            change: if self.created {
                Change::Create
            } else {
                Change::Change
            },
            detail: Detail::FileEdit {
                path: path.to_owned(),
                added,
                removed,
            },
            why: Vec::new(),
        });
    }

    /// The map Proxmox will use, read back from the conf as written, must be the one
    /// the volumes were chowned for.
    fn confirm_idmap(&mut self, planned: &IdMap, file_conf: &CtConf) -> Result<(), StepFailure> {
        let step = Step::Idmap;
        let actual = phoenix_pveconf::idmap::from_conf(file_conf).map_err(|e| fail(step)(&e))?;
        if actual.entries() != planned.entries()
            || actual.is_user_namespaced() != planned.is_user_namespaced()
        {
            let show = |m: &IdMap| {
                m.entries()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err((
                step,
                format!(
                    "the conf gives the map [{}] but the config asks for [{}]{}",
                    show(&actual),
                    show(planned),
                    if actual.unprivileged_flag() != self.d.unprivileged {
                        " (the container's `unprivileged` differs from the config and cannot change after create)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(())
    }

    fn start(&mut self) -> Result<(), StepFailure> {
        let vmid = self.d.vmid;
        if self.running {
            self.actions.push(Action::note(Step::Start, "running"));
            return Ok(());
        }
        // A Proxmox template (`pct template`) can never start: it is only cloned from.
        if self
            .conf
            .as_ref()
            .is_some_and(|c| c.template().unwrap_or(false))
        {
            self.actions
                .push(Action::note(Step::Start, "a Proxmox template: not started"));
            return Ok(());
        }
        let inv = argv::start(self.ctx.pct.binary(), vmid);
        self.pct_call(Step::Start, Change::Change, inv, |p| p.start(vmid))?;
        self.running = true;
        if !self.ctx.dry_run {
            let status = self
                .ctx
                .pct
                .status(vmid)
                .map_err(|e| fail(Step::Start)(&e))?;
            if status != CtStatus::Running {
                return Err((
                    Step::Start,
                    format!("CT {vmid} is {status} right after pct start"),
                ));
            }
        }
        Ok(())
    }

    fn all_steps(&mut self) -> Result<(), StepFailure> {
        let map = self.plan_idmap()?;
        volumes::ensure(self, &map)?;
        self.define()?;
        let file_conf = self.configure()?;
        self.confirm_idmap(&map, &file_conf)?;
        self.start()?;
        verify::prove(self, &map)?;
        customize::customize(self)?;
        if self.ctx.dry_run
            && let Some(conf) = &self.conf
        {
            self.ctx
                .predicted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.d.vmid.get(), conf.clone());
        }
        Ok(())
    }
}

/// Runs every step for one container and reports.
pub fn converge_ct(ctx: &Ctx<'_>, d: &DesiredCt, hostname: &str) -> CtReport {
    let mut run = CtRun::new(ctx, d);
    let result = match run.all_steps() {
        Ok(()) => CtResult::Completed,
        Err((step, error)) => CtResult::Failed { step, error },
    };
    CtReport {
        vmid: d.vmid.get(),
        hostname: hostname.to_owned(),
        result,
        actions: run.actions,
        warnings: run.warnings,
    }
}
