//! Proof after start: the kernel's view of the container's user namespace equals the
//! computed map, and every shared volume is usable by its owner.
//!
//! The proof runs when this run created, changed or started the container. A container
//! that fails it is stopped: a wrong map can expose host files under the wrong owner,
//! and a stopped container makes the next run start, and prove, it again.

use std::os::unix::fs::MetadataExt;

use phoenix_idmap::proc_map::{self, show};
use phoenix_idmap::{IdKind, IdMap};
use phoenix_pct::argv;

use crate::converge::{CtRun, StepFailure, chain};
use crate::plan::{Action, Change, Step};
use crate::volumes::owner_on_host;

/// Runs the proof (or plans it in a dry run).
pub fn prove(run: &mut CtRun<'_, '_>, map: &IdMap) -> Result<(), StepFailure> {
    let step = Step::Verify;
    if !run.changed && !run.ctx.reprove {
        run.actions.push(Action::note(
            step,
            "unchanged since its last proof (--verify proves it again)",
        ));
        return Ok(());
    }
    if !run.running {
        run.actions.push(Action::note(
            step,
            "not running (a Proxmox template): nothing to prove",
        ));
        return Ok(());
    }
    match check(run, map) {
        Ok(()) => Ok(()),
        Err(msg) if run.ctx.dry_run => Err((step, msg)),
        Err(msg) => {
            let vmid = run.d.vmid;
            let stopped = match run.ctx.pct.stop(vmid) {
                Ok(()) => "it was stopped".to_owned(),
                Err(e) => format!("stopping it failed too: {}", chain(&e)),
            };
            Err((step, format!("{msg}; {stopped}")))
        }
    }
}

fn exec(
    run: &mut CtRun<'_, '_>,
    argv_in: &[&str],
) -> Result<Option<(i32, String, String)>, String> {
    let vmid = run.d.vmid;
    let inv = argv::exec(run.ctx.pct.binary(), vmid, argv_in);
    run.actions
        .push(Action::command(Step::Verify, Change::Check, inv.argv()));
    if run.ctx.dry_run {
        return Ok(None);
    }
    let out = run.ctx.pct.exec(vmid, argv_in).map_err(|e| chain(&e))?;
    Ok(Some((
        out.status.code().unwrap_or(-1),
        out.stdout_lossy(),
        out.stderr_lossy(),
    )))
}

/// Runs a command inside; a non-zero exit is an error naming `what` (`None` in a dry run).
fn exec_ok(
    run: &mut CtRun<'_, '_>,
    argv_in: &[&str],
    what: &str,
) -> Result<Option<String>, String> {
    match exec(run, argv_in)? {
        Some((0, out, _)) => Ok(Some(out)),
        Some((code, _, err)) => Err(format!(
            "{what}: `{}` inside failed ({code}): {}",
            argv_in.join(" "),
            err.trim()
        )),
        None => Ok(None),
    }
}

fn check(run: &mut CtRun<'_, '_>, map: &IdMap) -> Result<(), String> {
    for (kind, file) in [
        (IdKind::Uid, "/proc/self/uid_map"),
        (IdKind::Gid, "/proc/self/gid_map"),
    ] {
        let Some(out) = exec_ok(run, &["cat", file], "reading the kernel's map")? else {
            continue;
        };
        let seen = proc_map::parse(&out).map_err(|e| e.to_string())?;
        let want = proc_map::expected(map, kind);
        if seen != want {
            return Err(format!(
                "the kernel maps {}s as [{}] but phoenix computed [{}]",
                kind.id_name(),
                show(&seen),
                show(&want)
            ));
        }
    }
    let mounts = run.d.mounts.clone();
    for m in &mounts {
        let (uid, gid) = owner_on_host(map, m.owner_uid, m.owner_gid)?;
        let where_ = format!("{} ({} at {})", m.origin, m.host_path, m.ct_path);
        let want = format!("{} {}", m.owner_uid, m.owner_gid);
        if let Some(out) = exec_ok(run, &["stat", "-c", "%u %g", &m.ct_path], &where_)?
            && out.trim() != want
        {
            return Err(format!(
                "{where_}: inside it belongs to {} but should belong to {want}",
                out.trim()
            ));
        }
        if m.read_only {
            continue;
        }
        // Written as container root, then given to the owner: the host must see the
        // owner's mapped ids, which proves the map end to end on this volume.
        let probe = format!(
            "{}/.phoenix-probe-{}",
            m.ct_path.trim_end_matches('/'),
            run.d.vmid
        );
        let owner = format!("{}:{}", m.owner_uid, m.owner_gid);
        exec_ok(run, &["touch", &probe], &where_)?;
        exec_ok(run, &["chown", &owner, &probe], &where_)?;
        if !run.ctx.dry_run {
            let host_probe = run
                .ctx
                .host_path(&m.host_path)
                .join(format!(".phoenix-probe-{}", run.d.vmid));
            // Never follow a link the container could have put there.
            let meta = std::fs::symlink_metadata(&host_probe).map_err(|e| {
                format!("{where_}: the probe file is not visible on the host at {host_probe}: {e}")
            })?;
            if (meta.uid(), meta.gid()) != (uid, gid) {
                return Err(format!(
                    "{where_}: a file owned by {owner} inside is owned by {}:{} on the host, expected {uid}:{gid}",
                    meta.uid(),
                    meta.gid()
                ));
            }
        }
        exec_ok(run, &["rm", "-f", &probe], &where_)?;
    }
    Ok(())
}
