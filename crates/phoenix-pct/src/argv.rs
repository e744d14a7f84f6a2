//! Pure argv builders: one function per pct operation, returning the
//! [`Invocation`] that [`Pct`](crate::Pct) runs. Nothing here runs anything, so
//! a plan can show exactly what it would execute.
//!
//! ```
//! use phoenix_pveconf::Vmid;
//! use phoenix_pct::{argv, ShutdownOptions};
//! let inv = argv::shutdown(
//!     "pct".as_ref(),
//!     Vmid::new(100).unwrap(),
//!     &ShutdownOptions { timeout: Some(30), force_stop: true },
//! );
//! assert_eq!(inv.to_string(), "pct shutdown 100 --timeout 30 --forceStop 1");
//! ```

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;

use phoenix_pveconf::Vmid;

use crate::options::{
    CloneOptions, CreateOptions, DestroyOptions, FileOptions, SetOptions, ShutdownOptions, flag,
};
use crate::runner::{Effect, Invocation};
use phoenix_pveconf::SnapshotName;

fn pct(program: &Path, effect: Effect, sub: &str, vmid: Vmid) -> Invocation {
    Invocation::new(program, effect)
        .arg(sub)
        .arg(vmid.to_string())
}

/// `pct create <vmid> <ostemplate> --key value ... [--password <secret>]`.
///
/// `ostemplate` is a volume id (`local:vztmpl/debian-12.tar.zst`) or an
/// absolute path to a template tarball.
pub fn create(program: &Path, vmid: Vmid, ostemplate: &str, opts: &CreateOptions) -> Invocation {
    let mut keys: BTreeMap<String, String> = opts.config.pairs().into_iter().collect();
    keys.insert("unprivileged".into(), flag(opts.unprivileged).into());
    if let Some(storage) = &opts.storage {
        keys.insert("storage".into(), storage.clone());
    }
    if let Some(pool) = &opts.pool {
        keys.insert("pool".into(), pool.clone());
    }
    if opts.start {
        keys.insert("start".into(), flag(true).into());
    }
    if let Some(path) = &opts.ssh_public_keys {
        keys.insert(
            "ssh-public-keys".into(),
            path.to_string_lossy().into_owned(),
        );
    }
    let mut inv = pct(program, Effect::Mutation, "create", vmid).arg(ostemplate);
    for (k, v) in keys {
        inv = inv.arg(format!("--{k}")).arg(v);
    }
    if let Some(password) = &opts.password {
        inv = inv.arg("--password").secret_arg(password.expose());
    }
    inv
}

/// `pct clone <vmid> <newid> [--full 0|1] [--snapname s] ...`.
pub fn clone(program: &Path, vmid: Vmid, newid: Vmid, opts: &CloneOptions) -> Invocation {
    let mut args: Vec<OsString> = vec![newid.to_string().into()];
    let mut opt = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            args.extend([format!("--{k}").into(), v.into()]);
        }
    };
    opt("description", opts.description.as_deref());
    opt("full", opts.full.map(flag));
    opt("hostname", opts.hostname.as_deref());
    opt("pool", opts.pool.as_deref());
    opt("snapname", opts.snapname.as_ref().map(SnapshotName::as_str));
    opt("storage", opts.storage.as_deref());
    opt("target", opts.target.as_deref());
    pct(program, Effect::Mutation, "clone", vmid).args(args)
}

/// `pct set <vmid> --key value ... [--delete k1,k2] [--digest d]`: one call for
/// every change.
pub fn set(program: &Path, vmid: Vmid, opts: &SetOptions) -> Invocation {
    let mut args = Vec::new();
    opts.changes.push_args(&mut args);
    if !opts.delete.is_empty() {
        args.extend(["--delete".into(), opts.delete.join(",").into()]);
    }
    if let Some(digest) = &opts.digest {
        args.extend(["--digest".into(), digest.into()]);
    }
    pct(program, Effect::Mutation, "set", vmid).args(args)
}

/// `pct start <vmid>`.
pub fn start(program: &Path, vmid: Vmid) -> Invocation {
    pct(program, Effect::Mutation, "start", vmid)
}

/// `pct stop <vmid>`: a hard kill.
pub fn stop(program: &Path, vmid: Vmid) -> Invocation {
    pct(program, Effect::Mutation, "stop", vmid)
}

/// `pct shutdown <vmid> [--timeout N] [--forceStop 1]`.
pub fn shutdown(program: &Path, vmid: Vmid, opts: &ShutdownOptions) -> Invocation {
    let mut inv = pct(program, Effect::Mutation, "shutdown", vmid);
    if let Some(t) = opts.timeout {
        inv = inv.args(["--timeout".to_owned(), t.to_string()]);
    }
    if opts.force_stop {
        inv = inv.args(["--forceStop", "1"]);
    }
    inv
}

/// `pct status <vmid>`.
pub fn status(program: &Path, vmid: Vmid) -> Invocation {
    pct(program, Effect::Read, "status", vmid)
}

/// `pct config <vmid> [--current 1] [--snapshot s]`.
pub fn config(
    program: &Path,
    vmid: Vmid,
    current: bool,
    snapshot: Option<&SnapshotName>,
) -> Invocation {
    let mut inv = pct(program, Effect::Read, "config", vmid);
    if current {
        inv = inv.args(["--current", "1"]);
    }
    if let Some(s) = snapshot {
        inv = inv.args(["--snapshot", s.as_str()]);
    }
    inv
}

/// `pct list`.
pub fn list(program: &Path) -> Invocation {
    Invocation::read(program).arg("list")
}

/// `pct exec <vmid> -- <command...>`. The `--` stops pct from reading the
/// command's own dash options. A mutation: the command may change anything.
pub fn exec<S: AsRef<OsStr>>(program: &Path, vmid: Vmid, command: &[S]) -> Invocation {
    pct(program, Effect::Mutation, "exec", vmid)
        .arg("--")
        .args(command)
}

/// `pct push <vmid> <file> <destination> [--perms 0644] [--user u] [--group g]`.
pub fn push(
    program: &Path,
    vmid: Vmid,
    file: &Path,
    destination: &str,
    opts: &FileOptions,
) -> Invocation {
    let mut args: Vec<OsString> = vec![file.into(), destination.into()];
    opts.push_args(&mut args);
    pct(program, Effect::Mutation, "push", vmid).args(args)
}

/// `pct pull <vmid> <path> <destination> [--perms 0644] [--user u] [--group g]`.
pub fn pull(
    program: &Path,
    vmid: Vmid,
    path: &str,
    destination: &Path,
    opts: &FileOptions,
) -> Invocation {
    let mut args: Vec<OsString> = vec![path.into(), destination.into()];
    opts.push_args(&mut args);
    pct(program, Effect::Mutation, "pull", vmid).args(args)
}

/// `pct snapshot <vmid> <name> [--description text]`.
pub fn snapshot(
    program: &Path,
    vmid: Vmid,
    name: &SnapshotName,
    description: Option<&str>,
) -> Invocation {
    let inv = pct(program, Effect::Mutation, "snapshot", vmid).arg(name.as_str());
    match description {
        Some(d) => inv.args(["--description", d]),
        None => inv,
    }
}

/// `pct listsnapshot <vmid>`.
pub fn listsnapshot(program: &Path, vmid: Vmid) -> Invocation {
    pct(program, Effect::Read, "listsnapshot", vmid)
}

/// `pct delsnapshot <vmid> <name> [--force 1]`.
pub fn delsnapshot(program: &Path, vmid: Vmid, name: &SnapshotName, force: bool) -> Invocation {
    let inv = pct(program, Effect::Mutation, "delsnapshot", vmid).arg(name.as_str());
    if force {
        inv.args(["--force", "1"])
    } else {
        inv
    }
}

/// `pct rollback <vmid> <name> [--start 1]`. pct kills a running CT first.
pub fn rollback(program: &Path, vmid: Vmid, name: &SnapshotName, start: bool) -> Invocation {
    let inv = pct(program, Effect::Mutation, "rollback", vmid).arg(name.as_str());
    if start {
        inv.args(["--start", "1"])
    } else {
        inv
    }
}

/// `pct destroy <vmid> [--force 1] [--purge 1]`.
pub fn destroy(program: &Path, vmid: Vmid, opts: &DestroyOptions) -> Invocation {
    let mut inv = pct(program, Effect::Mutation, "destroy", vmid);
    if opts.force {
        inv = inv.args(["--force", "1"]);
    }
    if opts.purge {
        inv = inv.args(["--purge", "1"]);
    }
    inv
}

/// `pct template <vmid>`.
pub fn template(program: &Path, vmid: Vmid) -> Invocation {
    pct(program, Effect::Mutation, "template", vmid)
}

/// `pct unlock <vmid>`.
pub fn unlock(program: &Path, vmid: Vmid) -> Invocation {
    pct(program, Effect::Mutation, "unlock", vmid)
}

/// `pct resize <vmid> <disk> <size>`: `size` as pct takes it (`8G`, `+2G`;
/// without a unit it means bytes).
pub fn resize(program: &Path, vmid: Vmid, disk: &str, size: &str) -> Invocation {
    pct(program, Effect::Mutation, "resize", vmid).args([disk, size])
}

/// `pvesm status`.
pub fn pvesm_status(program: &Path) -> Invocation {
    Invocation::read(program).arg("status")
}
