//! Host prerequisites, checked (and where needed fixed) before any pct call:
//! root's subordinate id ranges, the storage pools, and the AppArmor profiles.

use std::collections::BTreeSet;

use camino::Utf8Path;
use phoenix_apparmor::install::{self, Reload};
use phoenix_apparmor::{Profile, ShippedProfile};
use phoenix_idmap::subid::{Ensured, SubIdEntry, SubIdPaths, ensure_file};
use phoenix_idmap::{IdKind, IdMap};
use phoenix_pct::{CommandRunner, Pvesm};

use crate::converge::chain;
use crate::desired::{DesiredCt, Source};
use crate::host_apparmor::HostProfileLoader;
use crate::plan::{Action, Change, Detail, Step};

/// What the host step did or would do.
#[derive(Debug, Default)]
pub struct HostOutcome {
    /// Actions, in order.
    pub actions: Vec<Action>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// The subordinate id ranges root needs for every map of the fleet: Proxmox's default
/// range for default-mapped containers, and every host range of explicit entries.
pub fn delegations(cts: &[&DesiredCt]) -> (Vec<SubIdEntry>, Vec<SubIdEntry>) {
    let mut uids = BTreeSet::new();
    let mut gids = BTreeSet::new();
    for d in cts {
        let map = IdMap::new(d.unprivileged, d.id_maps.clone());
        if !map.is_user_namespaced() {
            continue;
        }
        for e in map.entries() {
            let set = if e.kind == IdKind::Uid {
                &mut uids
            } else {
                &mut gids
            };
            set.insert((e.host_start, e.count));
        }
    }
    let to = |s: BTreeSet<(u32, u32)>| {
        s.into_iter()
            .map(|(start, count)| SubIdEntry::new("root", start, count))
            .collect()
    };
    (to(uids), to(gids))
}

fn subid(
    root: &Utf8Path,
    dry_run: bool,
    cts: &[&DesiredCt],
    out: &mut HostOutcome,
) -> Result<(), String> {
    let (uids, gids) = delegations(cts);
    let paths = SubIdPaths::under(root.as_std_path());
    for (file, path, wanted) in [
        ("/etc/subuid", &paths.subuid, uids),
        ("/etc/subgid", &paths.subgid, gids),
    ] {
        let ensured = if dry_run {
            let text = std::fs::read_to_string(path).ok();
            let mut parsed = match &text {
                Some(t) => phoenix_idmap::subid::SubIdFile::parse(t)
                    .map_err(|e| format!("{file}: {}", chain(&e)))?,
                None => Default::default(),
            };
            let mut added = parsed.ensure_root_default();
            added.extend(parsed.ensure_delegations(&wanted));
            match (text.is_some(), added.is_empty()) {
                (_, true) => Ensured::Found,
                (false, false) => Ensured::Created { added },
                (true, false) => Ensured::Extended { added },
            }
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("{file}: cannot create {}: {e}", dir.display()))?;
            }
            ensure_file(path, &wanted).map_err(|e| format!("{file}: {}", chain(&e)))?
        };
        let (change, added, verb) = match ensured {
            Ensured::Found => (Change::NoOp, vec![], "found"),
            Ensured::Created { added } => (Change::Create, added, "created"),
            Ensured::Extended { added } => (Change::Change, added, "extended"),
        };
        out.actions.push(if added.is_empty() {
            Action::note(
                Step::Host,
                format!("{file}: {verb}, root's ranges cover every map"),
            )
        } else {
            Action {
                step: Step::Host,
                change,
                detail: Detail::FileEdit {
                    path: file.into(),
                    added: added.iter().map(ToString::to_string).collect(),
                    removed: vec![],
                },
                why: Vec::new(),
            }
        });
    }
    Ok(())
}

fn storage(
    pvesm: &Pvesm<&dyn CommandRunner>,
    cts: &[&DesiredCt],
    out: &mut HostOutcome,
) -> Result<(), String> {
    let mut needed = BTreeSet::new();
    for d in cts {
        needed.insert(d.storage.clone());
        if let Source::Template(t) = &d.source
            && !t.starts_with('/')
            && let Some((storage, _)) = t.split_once(':')
        {
            needed.insert(storage.to_owned());
        }
    }
    let status = pvesm
        .status()
        .map_err(|e| format!("pvesm status: {}", chain(&e)))?;
    let mut missing = Vec::new();
    for s in &needed {
        match status.iter().find(|st| &st.name == s) {
            None => missing.push(format!("{s} (not defined)")),
            Some(st) if st.state.to_string() != "active" => {
                missing.push(format!("{s} ({})", st.state))
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "storage the fleet uses is not available: {} (see `pvesm status` and /etc/pve/storage.cfg)",
            missing.join(", ")
        ));
    }
    let list: Vec<&str> = needed.iter().map(String::as_str).collect();
    out.actions.push(Action::note(
        Step::Host,
        format!("storage active: {}", list.join(", ")),
    ));
    Ok(())
}

fn apparmor(
    root: &Utf8Path,
    runner: &dyn CommandRunner,
    dry_run: bool,
    cts: &[&DesiredCt],
    out: &mut HostOutcome,
) -> Result<(), String> {
    let mut profiles: Vec<Profile> = ShippedProfile::ALL.iter().map(|p| p.profile()).collect();
    profiles.extend(cts.iter().filter_map(|d| d.own_profile.clone()));
    let plan = install::plan(root, &profiles).map_err(|e| format!("apparmor: {}", chain(&e)))?;
    for f in &plan.files {
        let change = match f.change {
            install::Change::Unchanged => Change::NoOp,
            install::Change::Create => Change::Create,
            install::Change::Update => Change::Change,
        };
        let rel = f
            .path
            .strip_prefix(root)
            .map(|p| format!("/{p}"))
            .unwrap_or_else(|_| f.path.to_string());
        out.actions.push(Action {
            step: Step::Host,
            change,
            detail: Detail::Note {
                text: format!("apparmor {rel}"),
            },
            why: Vec::new(),
        });
    }
    if dry_run {
        return Ok(());
    }
    let loader = HostProfileLoader::new(runner, root.to_owned());
    let report = install::apply(&plan, &loader).map_err(|e| format!("apparmor: {}", chain(&e)))?;
    match report.reload {
        Reload::NotNeeded => {}
        Reload::Skipped { reason, .. } => out
            .warnings
            .push(format!("apparmor profiles written, not loaded: {reason}")),
        Reload::Done { failed, .. } => {
            for f in failed {
                out.warnings.push(format!(
                    "apparmor: reloading {} failed: {}",
                    f.path, f.error
                ));
            }
        }
    }
    Ok(())
}

/// Runs the host step: subuid/subgid, storage, AppArmor.
pub fn prepare(
    root: &Utf8Path,
    runner: &dyn CommandRunner,
    pvesm: &Pvesm<&dyn CommandRunner>,
    dry_run: bool,
    cts: &[&DesiredCt],
) -> Result<HostOutcome, (HostOutcome, String)> {
    let mut out = HostOutcome::default();
    if let Err(e) = subid(root, dry_run, cts, &mut out) {
        return Err((out, e));
    }
    if let Err(e) = storage(pvesm, cts, &mut out) {
        return Err((out, e));
    }
    if let Err(e) = apparmor(root, runner, dry_run, cts, &mut out) {
        return Err((out, e));
    }
    Ok(out)
}
