//! Shared volumes and bind mounts: each host directory exists and belongs to the host
//! ids its owner inside the container maps to.
//!
//! Why this matters: in an unprivileged container, container root is an ordinary host
//! user (100000 under Proxmox's default map). A directory owned by host root appears
//! inside as `nobody` and container root cannot write to it. phoenix therefore chowns
//! each directory to `map(owner_uid):map(owner_gid)`, never to host root, and refuses
//! an owner the map does not cover rather than guessing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use phoenix_idmap::IdMap;

use crate::converge::{CtRun, StepFailure};
use crate::plan::{Action, Change, Detail, Step};

/// What one host directory must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSpec {
    /// Host uid.
    pub uid: u32,
    /// Host gid.
    pub gid: u32,
    /// Permission bits, when the config sets them.
    pub mode: Option<u32>,
}

/// The host ids a mount's owner maps to, or why it cannot.
pub fn owner_on_host(map: &IdMap, owner_uid: u32, owner_gid: u32) -> Result<(u32, u32), String> {
    let uid = if map.is_user_namespaced() {
        map.host_uid_of(owner_uid)
    } else {
        Some(owner_uid)
    };
    let gid = if map.is_user_namespaced() {
        map.host_gid_of(owner_gid)
    } else {
        Some(owner_gid)
    };
    match (uid, gid) {
        (Some(u), Some(g)) => Ok((u, g)),
        (None, _) => Err(format!(
            "owner uid {owner_uid} is not mapped by the container's idmap"
        )),
        (_, None) => Err(format!(
            "owner gid {owner_gid} is not mapped by the container's idmap"
        )),
    }
}

/// Creates, chowns and chmods every bind-mount directory of the container.
pub fn ensure(run: &mut CtRun<'_, '_>, map: &IdMap) -> Result<(), StepFailure> {
    let step = Step::Volumes;
    for m in &run.d.mounts {
        let (uid, gid) = owner_on_host(map, m.owner_uid, m.owner_gid)
            .map_err(|e| (step, format!("{} ({}): {e}", m.origin, m.host_path)))?;
        let path = run.ctx.host_path(&m.host_path);
        let mut differs = Vec::new();
        // In a dry run an earlier container of this run may already have planned this
        // directory: the plan shows it once, as a real run would do it once.
        let planned = run.ctx.dry_run
            && !run
                .ctx
                .planned_dirs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path.clone());
        let change = match std::fs::symlink_metadata(&path) {
            Err(_) if planned => Change::NoOp,
            Err(_) => {
                differs.push("missing".to_owned());
                Change::Create
            }
            Ok(meta) if !meta.is_dir() => {
                return Err((
                    step,
                    format!(
                        "{}: {} exists and is not a directory",
                        m.origin, m.host_path
                    ),
                ));
            }
            Ok(meta) => {
                if (meta.uid(), meta.gid()) != (uid, gid) {
                    differs.push(format!("owner {}:{}", meta.uid(), meta.gid()));
                }
                if let Some(mode) = m.mode
                    && meta.mode() & 0o7777 != mode
                {
                    differs.push(format!("mode {:04o}", meta.mode() & 0o7777));
                }
                if differs.is_empty() {
                    Change::NoOp
                } else {
                    Change::Change
                }
            }
        };
        let mode = m.mode.unwrap_or(0o755);
        run.actions.push(Action {
            step,
            change,
            detail: Detail::Directory {
                path: m.host_path.clone(),
                uid,
                gid,
                mode,
                differs: differs.clone(),
            },
            why: Vec::new(),
        });
        if change == Change::NoOp || run.ctx.dry_run {
            continue;
        }
        run.changed = true;
        let io = |what: &str, e: std::io::Error| (step, format!("cannot {what} {path}: {e}"));
        if change == Change::Create {
            std::fs::create_dir_all(&path).map_err(|e| io("create", e))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| io("chmod", e))?;
        } else if let Some(mode) = m.mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| io("chmod", e))?;
        }
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).map_err(|e| io("chown", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_idmap::{IdKind, IdMapEntry};

    #[test]
    fn owners_map_through_the_container_map() {
        let default = IdMap::new(true, vec![]);
        assert_eq!(owner_on_host(&default, 0, 0), Ok((100000, 100000)));
        assert_eq!(owner_on_host(&default, 1000, 1000), Ok((101000, 101000)));
        let privileged = IdMap::new(false, vec![]);
        assert_eq!(owner_on_host(&privileged, 33, 33), Ok((33, 33)));
        let custom = IdMap::new(
            true,
            vec![
                IdMapEntry {
                    kind: IdKind::Uid,
                    ns_start: 0,
                    host_start: 100000,
                    count: 1000,
                },
                IdMapEntry {
                    kind: IdKind::Gid,
                    ns_start: 0,
                    host_start: 100000,
                    count: 1000,
                },
            ],
        );
        assert_eq!(
            owner_on_host(&custom, 1000, 0),
            Err("owner uid 1000 is not mapped by the container's idmap".into())
        );
    }
}
