//! Host steps as values: each is planned (reading only), applied, and scoped to the
//! guests that need it, so a failing host step fails only those guests.
//!
//! - `subid`: root's subordinate id ranges in `/etc/subuid` and `/etc/subgid`, for
//!   every user-namespaced container;
//! - `storage`: the pools the fleet uses are active (`pvesm status`), for the
//!   containers on them;
//! - `apparmor`: phoenix's profiles and the nesting tunable, for the containers that
//!   run under one of them.

use std::collections::BTreeSet;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_apparmor::install::{self, Reload};
use phoenix_apparmor::{Profile, ShippedProfile};
use phoenix_idmap::subid::{SubIdEntry, SubIdFile, SubIdPaths, ensure_file};
use phoenix_idmap::{IdKind, IdMap};
use phoenix_pct::{CommandRunner, PctError, StorageStatus};

use crate::desired::{DesiredCt, Source};
use crate::error::{ErrorReport, StepError};
use crate::guest::GuestId;
use crate::host_apparmor::HostProfileLoader;
use crate::plan::{Change, FileRead, HostStepPlan, Op, PlannedStep, Step};

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

const SUBID_FILES: [&str; 2] = ["/etc/subuid", "/etc/subgid"];

fn plan_subid(
    root: &Utf8Path,
    cts: &[&DesiredCt],
    reads: &mut Vec<FileRead>,
) -> Result<Vec<PlannedStep>, StepError> {
    let (uids, gids) = delegations(cts);
    let paths = SubIdPaths::under(root.as_std_path());
    let mut steps = Vec::new();
    for (file, path, wanted) in [
        (SUBID_FILES[0], &paths.subuid, uids),
        (SUBID_FILES[1], &paths.subgid, gids),
    ] {
        crate::hostfs::under_root_checked(root, Utf8Path::new(file))
            .map_err(|e| StepError::Refused(e.to_string()))?;
        let upath = Utf8PathBuf::from_path_buf(path.clone()).unwrap_or_default();
        // Regular files only, bounded, never blocking on a FIFO.
        let bytes = match crate::hostfs::read_host_file(&upath) {
            Ok(b) => b,
            Err(source) => {
                return Err(StepError::Io {
                    what: "cannot read",
                    path: upath,
                    source,
                });
            }
        };
        reads.push(FileRead {
            path: file.into(),
            digest: bytes
                .as_ref()
                .map(|b| phoenix_pveconf::conf::Digest::of(b).to_string()),
        });
        let mut parsed = match &bytes {
            Some(b) => {
                let text = std::str::from_utf8(b).map_err(|_| StepError::Io {
                    what: "cannot read (not UTF-8)",
                    path: upath.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
                })?;
                SubIdFile::parse(text).map_err(|source| StepError::SubIdParse { file, source })?
            }
            None => SubIdFile::default(),
        };
        let mut added = parsed.ensure_root_default();
        added.extend(parsed.ensure_delegations(&wanted));
        if added.is_empty() {
            steps.push(PlannedStep::note(
                Step::Host,
                format!("{file}: found, root's ranges cover every map"),
            ));
        } else {
            steps.push(PlannedStep::new(
                Step::Host,
                if bytes.is_some() {
                    Change::Change
                } else {
                    Change::Create
                },
                Op::SubIds {
                    file: file.into(),
                    add: added.iter().map(ToString::to_string).collect(),
                },
            ));
        }
    }
    Ok(steps)
}

/// The storage pools each guest uses (its root disk, and the storage of its template).
fn pools_of(d: &DesiredCt) -> Vec<String> {
    let mut out = vec![d.storage.clone()];
    if let Source::Template(t) = &d.source
        && !t.starts_with('/')
        && let Some((storage, _)) = t.split_once(':')
    {
        out.push(storage.to_owned());
    }
    out
}

/// The pools that are missing or inactive, and the error.
struct StorageFailure(Vec<String>, StepError);

fn plan_storage(
    status: Result<Vec<StorageStatus>, PctError>,
    cts: &[&DesiredCt],
) -> Result<Vec<PlannedStep>, Box<StorageFailure>> {
    let needed: BTreeSet<String> = cts.iter().flat_map(|d| pools_of(d)).collect();
    let status = status.map_err(|source| {
        Box::new(StorageFailure(
            needed.iter().cloned().collect::<Vec<_>>(),
            StepError::HostCommand {
                what: "pvesm status".into(),
                source,
            },
        ))
    })?;
    let mut missing = Vec::new();
    let mut bad = Vec::new();
    for s in &needed {
        match status.iter().find(|st| &st.name == s) {
            None => {
                missing.push(format!("{s} (not defined)"));
                bad.push(s.clone());
            }
            Some(st) if st.state.to_string() != "active" => {
                missing.push(format!("{s} ({})", st.state));
                bad.push(s.clone());
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Err(Box::new(StorageFailure(
            bad,
            StepError::Storage { missing },
        )));
    }
    let pools: Vec<String> = needed.into_iter().collect();
    Ok(vec![PlannedStep::new(
        Step::Host,
        Change::NoOp,
        Op::CheckStorage { pools },
    )])
}

fn profiles(cts: &[&DesiredCt]) -> Vec<Profile> {
    let mut profiles: Vec<Profile> = ShippedProfile::ALL.iter().map(|p| p.profile()).collect();
    profiles.extend(cts.iter().filter_map(|d| d.own_profile.clone()));
    profiles
}

fn as_host_path(root: &Utf8Path, path: &Utf8Path) -> Utf8PathBuf {
    path.strip_prefix(root)
        .map(|p| Utf8PathBuf::from(format!("/{p}")))
        .unwrap_or_else(|_| path.to_owned())
}

fn plan_apparmor(
    root: &Utf8Path,
    cts: &[&DesiredCt],
    reads: &mut Vec<FileRead>,
) -> Result<Vec<PlannedStep>, StepError> {
    let plan =
        install::plan(root, &profiles(cts)).map_err(|source| StepError::AppArmor { source })?;
    let mut steps = Vec::new();
    for f in &plan.files {
        let change = match f.change {
            install::Change::Unchanged => Change::NoOp,
            install::Change::Create => Change::Create,
            install::Change::Update => Change::Change,
        };
        let path = as_host_path(root, &f.path);
        reads.push(FileRead {
            path: path.clone(),
            digest: f
                .previous
                .as_ref()
                .map(|p| phoenix_pveconf::conf::Digest::of(p.as_bytes()).to_string()),
        });
        steps.push(PlannedStep::new(
            Step::Host,
            change,
            Op::AppArmorFile { path },
        ));
    }
    Ok(steps)
}

/// Plans every host step for `cts`, recording the files read; `storage_status` is what
/// `pvesm status` said (read by the caller, beside the node's other reads).
pub fn plan_host(
    root: &Utf8Path,
    storage_status: Result<Vec<StorageStatus>, PctError>,
    cts: &[&DesiredCt],
    reads: &mut Vec<FileRead>,
) -> Vec<HostStepPlan> {
    let step = |name: &str, scope: Option<Vec<GuestId>>| HostStepPlan {
        name: name.into(),
        scope,
        steps: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let ids = |f: &dyn Fn(&DesiredCt) -> bool| -> Vec<GuestId> {
        cts.iter()
            .filter(|d| f(d))
            .map(|d| GuestId::Ct(d.vmid))
            .collect()
    };
    let mut out = Vec::new();

    let mut subid = step(
        "subid",
        Some(ids(&|d| {
            IdMap::new(d.unprivileged, d.id_maps.clone()).is_user_namespaced()
        })),
    );
    match plan_subid(root, cts, reads) {
        Ok(s) => subid.steps = s,
        Err(e) => subid.error = Some(ErrorReport::of(&e)),
    }
    out.push(subid);

    let mut storage = step("storage", None);
    match plan_storage(storage_status, cts) {
        Ok(s) => storage.steps = s,
        Err(failed) => {
            let StorageFailure(bad, e) = *failed;
            storage.scope = Some(ids(&|d| pools_of(d).iter().any(|p| bad.contains(p))));
            storage.error = Some(ErrorReport::of(&e));
        }
    }
    out.push(storage);

    let mut apparmor = step("apparmor", Some(ids(&|d| d.apparmor.is_some())));
    match plan_apparmor(root, cts, reads) {
        Ok(s) => apparmor.steps = s,
        Err(e) => apparmor.error = Some(ErrorReport::of(&e)),
    }
    out.push(apparmor);
    out
}

/// Applies one host step; returns its warnings.
pub fn apply_host_step(
    root: &Utf8Path,
    runner: &dyn CommandRunner,
    step: &HostStepPlan,
    cts: &[&DesiredCt],
) -> Result<Vec<String>, StepError> {
    let mut warnings = Vec::new();
    if !step.steps.iter().any(PlannedStep::mutates) {
        return Ok(warnings);
    }
    match step.name.as_str() {
        "subid" => {
            // Written only beneath the root, never through a link out of it.
            for f in SUBID_FILES {
                crate::hostfs::under_root_checked(root, Utf8Path::new(f))
                    .map_err(|e| StepError::Refused(e.to_string()))?;
            }
            let (uids, gids) = delegations(cts);
            let paths = SubIdPaths::under(root.as_std_path());
            for (file, path, wanted) in [
                (SUBID_FILES[0], &paths.subuid, uids),
                (SUBID_FILES[1], &paths.subgid, gids),
            ] {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| StepError::Io {
                        what: "cannot create",
                        path: Utf8PathBuf::from_path_buf(dir.to_owned()).unwrap_or_default(),
                        source,
                    })?;
                }
                ensure_file(path, &wanted).map_err(|source| StepError::SubId { file, source })?;
            }
        }
        "apparmor" => {
            let plan = install::plan(root, &profiles(cts))
                .map_err(|source| StepError::AppArmor { source })?;
            let loader = HostProfileLoader::new(runner, root.to_owned());
            let report =
                install::apply(&plan, &loader).map_err(|source| StepError::AppArmor { source })?;
            match report.reload {
                Reload::NotNeeded => {}
                Reload::Skipped { reason, .. } => {
                    warnings.push(format!("apparmor profiles written, not loaded: {reason}"))
                }
                Reload::Done { failed, .. } => {
                    for f in failed {
                        warnings.push(format!(
                            "apparmor: reloading {} failed: {}",
                            f.path, f.error
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(warnings)
}
