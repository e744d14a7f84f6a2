//! Planning one guest: its steps, computed from desired and observed state only.
//!
//! The order is chosen so that nothing runs on a wrong premise: the idmap is computed
//! and checked first (pure), the volume directories get their owners from it, the
//! container is created or cloned with every option in one call, the raw `lxc.*`
//! lines are written, one `pct set` carries the remaining differences, the map is
//! confirmed from the conf as it will be written, and only then does it start. What
//! exists only after an earlier step (the conf a create writes, a clone's conf) is
//! predicted from Proxmox's rules; a clone's generated MACs are left out of the
//! prediction (known after apply), and the executor plans the guest's later steps
//! again from the real conf right after it defines the guest.

use std::collections::BTreeSet;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_features::Registry;
use phoenix_idmap::proc_map;
use phoenix_idmap::{IdKind, IdMap};
use phoenix_pveconf::conf::CtConf;
use phoenix_pveconf::props::RootFs;

use crate::desired::{DesiredCt, Source};
use crate::diff::{apply_raw_lines, mount_slots, predicted_conf, set_options};
use crate::error::StepError;
use crate::guest::GuestId;
use crate::hostfs::{HostFs, dir_digest, under_root};
use crate::ledger::{EntryState, Ledger, inputs_digest};
use crate::observe::{ObservedCt, conf_file};
use crate::plan::{Change, FeatureAction, FileRead, Op, PlannedStep, Step};

/// What planning a guest needs besides its desired and observed state.
pub struct GuestInputs<'a> {
    /// Every host path is under this root.
    pub root: &'a Utf8Path,
    /// Host directories.
    pub fs: &'a dyn HostFs,
    /// The features phoenix knows.
    pub features: &'a Registry,
    /// The config (for feature requests).
    pub fleet: &'a phoenix_config::Fleet,
    /// The conf of the clone source as it will be when this guest is cloned.
    pub source_conf: Option<&'a CtConf>,
    /// [`clone_base`] of `source_conf`, when the caller keeps it for all the clones of
    /// one source (else it is computed from `source_conf`).
    pub clone_base: Option<&'a CtConf>,
    /// Prove and verify everything again (`--verify`).
    pub reprove: bool,
    /// The guest was defined by this run (a re-plan after define).
    pub defined_by_run: bool,
    /// Only create what is missing.
    pub only_missing: bool,
    /// The gateway step of the fleet, when one is configured.
    pub gateway: Option<&'a phoenix_gateway::GatewayStep>,
    /// Where application scripts and their files are.
    pub scripts_dir: Option<&'a Utf8Path>,
    /// Run application scripts even when their inputs did not change.
    pub rerun_scripts: bool,
    /// What the host shows (for feature requests).
    pub host: &'a phoenix_features::HostFacts,
}

/// A guest's planned steps, with what planning read and what it predicts.
#[derive(Debug, Default)]
pub struct Planned {
    /// The steps.
    pub steps: Vec<PlannedStep>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Files read (volume directories).
    pub reads: Vec<FileRead>,
    /// The conf as it will be after the guest's steps (for its clones).
    pub final_conf: Option<CtConf>,
}

/// Volume directories already planned by an earlier guest of this plan.
pub type PlannedDirs = BTreeSet<Utf8PathBuf>;

/// A mount owner the container's id map does not send to any host id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("owner {} {id} is not mapped by the container's idmap", .kind.id_name())]
pub struct UnmappedOwner {
    /// Which kind of id.
    pub kind: IdKind,
    /// The id inside the container.
    pub id: u32,
}

/// The host ids a mount's owner maps to, or why it cannot.
pub fn owner_on_host(
    map: &IdMap,
    owner_uid: u32,
    owner_gid: u32,
) -> Result<(u32, u32), UnmappedOwner> {
    let (uid, gid) = if map.is_user_namespaced() {
        (map.host_uid_of(owner_uid), map.host_gid_of(owner_gid))
    } else {
        (Some(owner_uid), Some(owner_gid))
    };
    match (uid, gid) {
        (Some(u), Some(g)) => Ok((u, g)),
        (None, _) => Err(UnmappedOwner {
            kind: IdKind::Uid,
            id: owner_uid,
        }),
        (_, None) => Err(UnmappedOwner {
            kind: IdKind::Gid,
            id: owner_gid,
        }),
    }
}

/// The effective map the config asks for, checked before anything is done.
pub fn plan_idmap(d: &DesiredCt, out: &mut Planned) -> Result<IdMap, StepError> {
    let guest = GuestId::Ct(d.vmid);
    let map = IdMap::new(d.unprivileged, d.id_maps.clone());
    map.validate().map_err(|e| StepError::IdMap {
        guest,
        reason: format!("invalid id_maps: {e}"),
    })?;
    if map.is_user_namespaced() {
        for kind in [IdKind::Uid, IdKind::Gid] {
            if map.host_id_of(kind, 0).is_none() {
                return Err(StepError::IdMap {
                    guest,
                    reason: format!(
                        "the map gives container root no host {}: an unprivileged container cannot start without it (add an id_maps entry for container id 0)",
                        kind.id_name()
                    ),
                });
            }
        }
    }
    for w in map.warnings(None) {
        out.warnings.push(format!("idmap: {w}"));
    }
    let entries: Vec<String> = if map.is_user_namespaced() {
        map.entries().iter().map(ToString::to_string).collect()
    } else {
        vec!["none (privileged: ids are the host's)".into()]
    };
    out.steps.push(PlannedStep::note(
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

fn plan_volumes(
    d: &DesiredCt,
    map: &IdMap,
    inputs: &GuestInputs<'_>,
    dirs: &mut PlannedDirs,
    out: &mut Planned,
) -> Result<(), StepError> {
    let guest = GuestId::Ct(d.vmid);
    for m in &d.mounts {
        let (uid, gid) =
            owner_on_host(map, m.owner_uid, m.owner_gid).map_err(|source| StepError::Owner {
                guest,
                mount: format!("{} ({})", m.origin, m.host_path),
                source,
            })?;
        let path = under_root(inputs.root, &m.host_path);
        let meta = inputs.fs.stat(&path).map_err(|source| StepError::Io {
            what: "cannot read",
            path: path.clone(),
            source,
        })?;
        out.reads.push(FileRead {
            path: m.host_path.clone(),
            digest: dir_digest(meta),
        });
        let first = dirs.insert(m.host_path.clone());
        let mut differs = Vec::new();
        let change = match meta {
            // An earlier guest of this plan creates it: the plan shows it once.
            None if !first => Change::NoOp,
            None => {
                differs.push("missing".to_owned());
                Change::Create
            }
            Some(meta) if !meta.is_dir => {
                return Err(StepError::Refused(format!(
                    "{}: {} exists and is not a directory",
                    m.origin, m.host_path
                )));
            }
            Some(meta) => {
                if (meta.uid, meta.gid) != (uid, gid) {
                    differs.push(format!("owner {}:{}", meta.uid, meta.gid));
                }
                if let Some(mode) = m.mode
                    && meta.mode != mode
                {
                    differs.push(format!("mode {:04o}", meta.mode));
                }
                if differs.is_empty() || !first {
                    Change::NoOp
                } else {
                    Change::Change
                }
            }
        };
        out.steps.push(PlannedStep::new(
            Step::Volumes,
            change,
            Op::EnsureDir {
                path: m.host_path.clone(),
                uid,
                gid,
                mode: m.mode.unwrap_or(0o755),
                set_mode: m.mode.is_some(),
                differs,
            },
        ));
    }
    Ok(())
}

/// The `pct create` options of a container.
fn create_op(d: &DesiredCt) -> (Op, CtConf) {
    let mut options = d.options.clone();
    options.rootfs = Some(RootFs {
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
    options.mount_points = mount_slots(d, &[]).0;
    let conf = predicted_conf(&options, d.unprivileged);
    let mut params: std::collections::BTreeMap<String, String> =
        options.pairs().into_iter().collect();
    params.insert("unprivileged".into(), u8::from(d.unprivileged).to_string());
    let Source::Template(template) = &d.source else {
        unreachable!("create_op is called for template sources")
    };
    (
        Op::Create {
            vmid: d.vmid.get(),
            ostemplate: template.clone(),
            params,
        },
        conf,
    )
}

/// What a clone's conf will be: the source's (its snapshot's when cloned from one),
/// with the new hostname and without the source's MACs, which Proxmox replaces with
/// generated ones (known after apply). The template flag and snapshots are not copied.
fn predicted_clone_conf(source: Option<&CtConf>, hostname: Option<&str>) -> CtConf {
    with_hostname(clone_base(source), hostname)
}

/// `conf` with `hostname` set last, as `pct clone --hostname` does.
fn with_hostname(mut conf: CtConf, hostname: Option<&str>) -> CtConf {
    if let Some(h) = hostname {
        let _ = conf.set("hostname", h);
    }
    conf
}

/// What every clone of `source` starts from, before its hostname: the same for all
/// the clones of one source (a fleet of 10,000 clones computes it once).
pub fn clone_base(source: Option<&CtConf>) -> CtConf {
    let mut conf = CtConf::new();
    if let Some(src) = source {
        for (k, v) in src.main().entries() {
            if k.starts_with("lxc.") || matches!(k, "template" | "parent" | "lock" | "snaptime") {
                continue;
            }
            let v = if k.starts_with("net") {
                v.split(',')
                    .filter(|p| !p.starts_with("hwaddr="))
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                v.to_owned()
            };
            let _ = conf.set(k, &v);
        }
        for (k, v) in src.main().lxc() {
            let _ = conf.add_lxc(k, v);
        }
    }
    conf
}

/// Plans one container.
pub fn plan_ct(
    d: &DesiredCt,
    seen: Option<&ObservedCt>,
    inputs: &GuestInputs<'_>,
    dirs: &mut PlannedDirs,
) -> Result<Planned, Box<(Planned, StepError)>> {
    let mut out = Planned::default();
    match plan_ct_steps(d, seen, inputs, dirs, &mut out) {
        Ok(()) => Ok(out),
        Err(e) => Err(Box::new((out, e))),
    }
}

fn plan_ct_steps(
    d: &DesiredCt,
    seen: Option<&ObservedCt>,
    inputs: &GuestInputs<'_>,
    dirs: &mut PlannedDirs,
    out: &mut Planned,
) -> Result<(), StepError> {
    let guest = GuestId::Ct(d.vmid);
    let vmid = d.vmid.get();
    if inputs.only_missing && seen.is_some() {
        out.steps.push(PlannedStep::note(
            Step::Define,
            "exists (not converged: use phoenix converge)",
        ));
        return Ok(());
    }
    let map = plan_idmap(d, out)?;
    plan_volumes(d, &map, inputs, dirs, out)?;
    let volumes_changed = out.steps.iter().any(PlannedStep::mutates);

    // define
    let created = seen.is_none() || inputs.defined_by_run;
    let mut conf = match seen {
        Some(o) => {
            out.steps.push(PlannedStep::note(Step::Define, "exists"));
            o.conf.clone()
        }
        None => match &d.source {
            Source::Template(_) => {
                let (op, conf) = create_op(d);
                out.steps
                    .push(PlannedStep::new(Step::Define, Change::Create, op));
                conf
            }
            Source::Clone { from, snapshot } => {
                let mut params = std::collections::BTreeMap::new();
                if let Some(h) = &d.options.hostname {
                    params.insert("hostname".to_owned(), h.clone());
                }
                if let Some(s) = snapshot {
                    params.insert("snapname".to_owned(), s.as_str().to_owned());
                }
                out.steps.push(PlannedStep::new(
                    Step::Define,
                    Change::Create,
                    Op::Clone {
                        source: from.get(),
                        vmid,
                        params,
                    },
                ));
                match inputs.clone_base {
                    Some(base) => with_hostname(base.clone(), d.options.hostname.as_deref()),
                    None => predicted_clone_conf(inputs.source_conf, d.options.hostname.as_deref()),
                }
            }
        },
    };
    let change_kind = if created {
        Change::Create
    } else {
        Change::Change
    };

    // configure: the raw lines in the file, then one pct set. An existing guest's
    // file is what pct config showed (pending values are a pct matter, not the file's).
    if seen.is_some() {
        crate::hostfs::under_root_checked(
            inputs.root,
            Utf8Path::new(&format!("etc/pve/lxc/{vmid}.conf")),
        )
        .map_err(|e| StepError::Refused(e.to_string()))?;
    }
    let mut file_conf = match seen {
        Some(_) => phoenix_pveconf::conf::io::read_optional_conf(inputs.root.as_std_path(), d.vmid)
            .map_err(|source| StepError::Conf { guest, source })?
            .map(|(c, _)| c)
            .unwrap_or_else(|| conf.clone()),
        None => conf.clone(),
    };
    let (removed, added) =
        apply_raw_lines(d, &mut file_conf).map_err(|source| StepError::Edit { guest, source })?;
    let path = Utf8PathBuf::from(conf_file(vmid));
    if removed.is_empty() && added.is_empty() {
        out.steps.push(PlannedStep::note(
            Step::Configure,
            format!("{path}: raw lxc lines as configured"),
        ));
    } else {
        out.steps.push(PlannedStep::new(
            Step::Configure,
            change_kind,
            Op::EditConf {
                vmid,
                path,
                managed: crate::diff::raw_lines(d),
                removed,
                added,
            },
        ));
        let _ = apply_raw_lines(d, &mut conf);
    }
    let (set, why) = set_options(d, &conf)?;
    if set.is_empty() {
        out.steps
            .push(PlannedStep::note(Step::Configure, "options as configured"));
    } else {
        let why = if created {
            why
        } else {
            why.into_iter()
                .chain(d.requirement_reasons.iter().cloned())
                .collect()
        };
        let pairs = set.changes.pairs();
        for (k, v) in &pairs {
            let _ = conf.set(k, v);
        }
        let params = pairs.into_iter().collect();
        out.steps.push(
            PlannedStep::new(
                Step::Configure,
                change_kind,
                Op::Set {
                    vmid,
                    params,
                    delete: set.delete.clone(),
                },
            )
            .because(why),
        );
        if seen.is_some_and(|o| o.running) {
            out.warnings.push(format!(
                "some changes may stay pending until CT {vmid} restarts (phoenix restart {vmid})"
            ));
        }
    }

    plan_firewall(d, inputs, change_kind, out)?;

    // The map Proxmox will use, read from the conf as it will be written, must be the
    // one the volumes were chowned for.
    confirm_idmap(d, &map, &file_conf)?;

    // start
    let template = conf.main().template().unwrap_or(false);
    let running = seen.is_some_and(|o| o.running) && !inputs.defined_by_run;
    if running {
        out.steps.push(PlannedStep::note(Step::Start, "running"));
    } else if template {
        out.steps.push(PlannedStep::note(
            Step::Start,
            "a Proxmox template: not started",
        ));
    } else {
        out.steps.push(PlannedStep::new(
            Step::Start,
            Change::Change,
            Op::Start { vmid },
        ));
    }

    // prove
    let changed = volumes_changed || created || out.steps.iter().any(PlannedStep::mutates);
    if template {
        out.steps.push(PlannedStep::note(
            Step::Verify,
            "not running (a Proxmox template): nothing to prove",
        ));
    } else if !changed && !inputs.reprove {
        out.steps.push(PlannedStep::note(
            Step::Verify,
            "unchanged since its last proof (--verify proves it again)",
        ));
    } else {
        for (kind, name) in [(IdKind::Uid, "uid"), (IdKind::Gid, "gid")] {
            out.steps.push(PlannedStep::new(
                Step::Verify,
                Change::Check,
                Op::ProveMap {
                    vmid,
                    kind: name.into(),
                    expect: proc_map::expected(&map, kind)
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                },
            ));
        }
        for m in &d.mounts {
            let host_owner = owner_on_host(&map, m.owner_uid, m.owner_gid).map_err(|source| {
                StepError::Owner {
                    guest,
                    mount: format!("{} ({})", m.origin, m.host_path),
                    source,
                }
            })?;
            out.steps.push(PlannedStep::new(
                Step::Verify,
                Change::Check,
                Op::ProveVolume {
                    vmid,
                    origin: m.origin.clone(),
                    host_path: m.host_path.clone(),
                    ct_path: m.ct_path.clone(),
                    owner: (m.owner_uid, m.owner_gid),
                    host_owner,
                    read_only: m.read_only,
                },
            ));
        }
    }

    // customize: features, then the template snapshot (with lifecycle snapshots
    // `pre-configured` before the features and `final-form` at the end)
    let has_snapshot = |name: &str| {
        !created
            && seen
                .and_then(|o| o.snapshots.as_ref())
                .is_some_and(|s| s.iter().any(|n| n == name))
    };
    let lifecycle = d.lifecycle_snapshots && !template;
    if lifecycle
        && !has_snapshot("pre-configured")
        && d.template_snapshot
            .as_ref()
            .is_none_or(|t| t.as_str() != "pre-configured")
    {
        out.steps.push(
            PlannedStep::new(
                Step::Customize,
                Change::Create,
                Op::Snapshot {
                    vmid,
                    name: "pre-configured".into(),
                },
            )
            .because(vec![
                "enable_lifecycle_snapshots: before the features".into(),
            ]),
        );
    }
    plan_features(d, seen, inputs, template, out);
    plan_gateway_and_script(d, seen, inputs, template, out)?;
    if let Some(snap) = &d.template_snapshot {
        let exists = !created
            && seen
                .and_then(|o| o.snapshots.as_ref())
                .is_some_and(|s| s.iter().any(|n| n.eq_ignore_ascii_case(snap.as_str())));
        if exists {
            out.steps.push(PlannedStep::note(
                Step::Customize,
                format!("snapshot {snap} exists"),
            ));
        } else {
            out.steps.push(PlannedStep::new(
                Step::Customize,
                Change::Create,
                Op::Snapshot {
                    vmid,
                    name: snap.as_str().to_owned(),
                },
            ));
        }
    }
    if lifecycle && !has_snapshot("final-form") {
        out.steps.push(
            PlannedStep::new(
                Step::Customize,
                Change::Create,
                Op::Snapshot {
                    vmid,
                    name: "final-form".into(),
                },
            )
            .because(vec!["enable_lifecycle_snapshots: provisioned".into()]),
        );
    }
    out.final_conf = Some(conf);
    Ok(())
}

/// The guest firewall file: the desired rules in `[RULES]` (other sections kept) and
/// `enable` in `[OPTIONS]`, written only when the text differs.
fn plan_firewall(
    d: &DesiredCt,
    inputs: &GuestInputs<'_>,
    change_kind: Change,
    out: &mut Planned,
) -> Result<(), StepError> {
    use phoenix_pveconf::firewall::FwFile;
    let Some((enabled, rules)) = &d.firewall else {
        return Ok(());
    };
    let vmid = d.vmid.get();
    let path = Utf8PathBuf::from(format!("/etc/pve/firewall/{vmid}.fw"));
    let full = crate::hostfs::under_root_checked(inputs.root, &path)
        .map_err(|e| StepError::Refused(e.to_string()))?;
    let current = match crate::hostfs::read_host_file(&full) {
        Ok(b) => b,
        Err(source) => {
            return Err(StepError::Io {
                what: "cannot read",
                path: full,
                source,
            });
        }
    };
    out.reads.push(FileRead {
        path: path.clone(),
        digest: current
            .as_ref()
            .map(|b| phoenix_pveconf::conf::Digest::of(b).to_string()),
    });
    let enable = format!("enable: {}", u8::from(*enabled));
    let before = current
        .as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let content = match &before {
        None => format!(
            "[OPTIONS]\n\n{enable}\n\n{}",
            phoenix_pveconf::firewall::render_rules(rules)
        ),
        Some(text) => {
            let file = FwFile::parse(text).map_err(|e| {
                StepError::Refused(format!(
                    "{path}: cannot be read as a Proxmox firewall file: {e}"
                ))
            })?;
            let mut text = file.with_rules(rules).render();
            match file.option("enable") {
                Some(v) if v == enable.trim_start_matches("enable: ") => {}
                Some(_) => {
                    text = text
                        .lines()
                        .map(|l| {
                            if l.starts_with("enable:") {
                                enable.as_str()
                            } else {
                                l
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                        + "\n";
                }
                None if text.starts_with("[OPTIONS]") => {
                    text = text.replacen("[OPTIONS]\n", &format!("[OPTIONS]\n\n{enable}\n"), 1);
                }
                None => text = format!("[OPTIONS]\n\n{enable}\n\n{text}"),
            }
            text
        }
    };
    if before.as_deref() == Some(content.as_str()) {
        out.steps.push(PlannedStep::note(
            Step::Configure,
            format!("{path}: firewall rules as configured"),
        ));
        return Ok(());
    }
    let (removed, added) = crate::diff::line_diff(before.as_deref().unwrap_or(""), &content);
    out.steps.push(PlannedStep::new(
        Step::Configure,
        if before.is_none() {
            Change::Create
        } else {
            change_kind
        },
        Op::EditFirewall {
            vmid,
            path,
            content,
            removed,
            added,
        },
    ));
    Ok(())
}

fn confirm_idmap(d: &DesiredCt, planned: &IdMap, file_conf: &CtConf) -> Result<(), StepError> {
    let guest = GuestId::Ct(d.vmid);
    let actual = phoenix_pveconf::idmap::from_conf(file_conf).map_err(|e| StepError::IdMap {
        guest,
        reason: e.to_string(),
    })?;
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
        return Err(StepError::IdMap {
            guest,
            reason: format!(
                "the conf gives the map [{}] but the config asks for [{}]{}",
                show(&actual),
                show(planned),
                if actual.unprivileged_flag() != d.unprivileged {
                    " (the container's `unprivileged` differs from the config and cannot change after create)"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(())
}

/// Feature steps: installed when the ledger says they are not converged with these
/// inputs (or with `--verify`), skipped with the reason otherwise.
fn plan_features(
    d: &DesiredCt,
    seen: Option<&ObservedCt>,
    inputs: &GuestInputs<'_>,
    template: bool,
    out: &mut Planned,
) {
    let vmid = d.vmid.get();
    let Some(ct) = crate::desired::container(inputs.fleet, vmid) else {
        return;
    };
    let request = phoenix_features::Request {
        vmid,
        container: ct,
        hypervisor: &inputs.fleet.hypervisor,
        lxc: &inputs.fleet.lxc,
        host: inputs.host,
    };
    let empty = Ledger::default();
    let ledger = seen
        .filter(|_| !inputs.defined_by_run)
        .and_then(|o| o.ledger.as_ref())
        .unwrap_or(&empty);
    let version = env!("CARGO_PKG_VERSION");
    for name in &d.features {
        if let Some((_, why)) = d.not_installed.iter().find(|(n, _)| n == name) {
            out.warnings
                .push(format!("feature '{name}' is not installed: {why}"));
            continue;
        }
        let Some(feature) = inputs.features.installer(name) else {
            out.warnings.push(format!(
                "feature '{name}' has no installer in this phoenix version; it was not installed"
            ));
            continue;
        };
        if template {
            out.warnings.push(format!(
                "feature '{name}': a Proxmox template does not run, so nothing is installed in it"
            ));
            continue;
        }
        let digest = inputs_digest(&feature.inputs(&request));
        let state = ledger.state(name, version, &digest);
        let (action, reason) = match (&state, inputs.reprove) {
            (EntryState::Current { phoenix }, false) => {
                out.steps.push(PlannedStep::note(
                    Step::Customize,
                    format!("skip {name}: converged at phoenix {phoenix}, inputs unchanged"),
                ));
                continue;
            }
            (EntryState::Current { .. }, true) => (FeatureAction::Verify, "--verify".to_owned()),
            (EntryState::Missing, _) => (FeatureAction::Install, "not installed".to_owned()),
            (EntryState::Stale(why), _) => (FeatureAction::Install, why.clone()),
        };
        out.steps.push(
            PlannedStep::new(
                Step::Customize,
                if action == FeatureAction::Install {
                    Change::Change
                } else {
                    Change::Check
                },
                Op::Feature {
                    vmid,
                    name: name.clone(),
                    action,
                    inputs: digest,
                    commands: feature.commands(&request),
                },
            )
            .because(vec![reason]),
        );
    }
}

/// phoenix's gateway step (in the gateway container) and the application script, each
/// run when the ledger says its inputs changed (the rendered configuration follows the
/// whole fleet, so an added or readdressed container runs it again).
fn plan_gateway_and_script(
    d: &DesiredCt,
    seen: Option<&ObservedCt>,
    inputs: &GuestInputs<'_>,
    template: bool,
    out: &mut Planned,
) -> Result<(), StepError> {
    if template {
        return Ok(());
    }
    let vmid = d.vmid.get();
    let empty = Ledger::default();
    let ledger = seen
        .filter(|_| !inputs.defined_by_run)
        .and_then(|o| o.ledger.as_ref())
        .unwrap_or(&empty);
    let version = env!("CARGO_PKG_VERSION");
    if let Some(g) = inputs.gateway.filter(|g| g.ctid.get() == vmid) {
        let digest = inputs_digest(&serde_json::json!({"conf": g.conf, "env": g.env}));
        match ledger.state("gateway", version, &digest) {
            EntryState::Current { .. } => out.steps.push(PlannedStep::note(
                Step::Customize,
                "gateway: configuration unchanged since its last reload",
            )),
            state => out.steps.push(
                PlannedStep::new(
                    Step::Customize,
                    Change::Change,
                    Op::Gateway {
                        vmid,
                        inputs: digest,
                    },
                )
                .because(vec![match state {
                    EntryState::Missing => "gateway not installed".into(),
                    EntryState::Stale(_) => "the fleet's routes changed".into(),
                    EntryState::Current { .. } => unreachable!(),
                }]),
            ),
        }
    }
    let Some((script, files)) = &d.application else {
        return Ok(());
    };
    // Without a scripts directory `validate` could not check the script either (it says
    // so): it is not run, and the run says why, instead of refusing the container.
    if inputs.scripts_dir.is_none() {
        out.warnings.push(format!(
            "application script {script} not run: no scripts directory (--scripts-dir, or bin/ beside the config directory)"
        ));
        return Ok(());
    }
    let app = crate::application::read(inputs.scripts_dir, script, files)?;
    let config = crate::desired::container(inputs.fleet, vmid)
        .map(|c| serde_json::to_value(c).unwrap_or_default())
        .unwrap_or_default();
    let digest = crate::application::digest(&app, &config);
    let state = ledger.state("application_script", version, &digest);
    if matches!(state, EntryState::Current { .. }) && !inputs.rerun_scripts {
        out.steps.push(PlannedStep::note(
            Step::Customize,
            format!("application script {script}: inputs unchanged since its last success"),
        ));
        return Ok(());
    }
    let why = match state {
        _ if inputs.rerun_scripts => "--rerun-scripts".to_owned(),
        EntryState::Missing => "never run".to_owned(),
        EntryState::Stale(_) => "its script, files or the container's config changed".to_owned(),
        EntryState::Current { .. } => unreachable!(),
    };
    out.steps.push(
        PlannedStep::new(
            Step::Customize,
            Change::Change,
            Op::Script {
                vmid,
                script: script.clone(),
                files: files.clone(),
                inputs: digest,
            },
        )
        .because(vec![why]),
    );
    Ok(())
}
