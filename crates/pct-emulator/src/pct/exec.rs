//! `exec`, `push` and `pull` (pve-container `PVE/CLI/pct.pm`).
//!
//! `exec` runs `lxc-attach --keep-env` (or `--clear-env` with `--keep-env 0`) in the
//! environment [`crate::lxc::attach_env`] describes. `push` and `pull` need no binary in
//! the container (see [`super::files`]).
//!
//! The refusals Proxmox makes before any worker, so they exit non-zero: a stopped CT for
//! push (`can only push files to a running CT`) and pull (`can only pull files from a
//! running VM at … line N.`, a `die` without a newline); exec on a stopped CT
//! (`container '<id>' not running!`). Failures inside the push/pull worker are task
//! errors, printed on stderr with exit 0 (reference §3: push and pull have no
//! `$upid_exit`).

use std::path::PathBuf;

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;
use crate::pct::files::{self, Ownership};

/// A host path under the root; a relative one stays relative to pct's working directory.
fn host_path(node: &Node, p: &str) -> PathBuf {
    if p.starts_with('/') {
        node.root.join(p)
    } else {
        PathBuf::from(p)
    }
}

fn exec_kind(name: &str) -> Option<OptKind> {
    (name == "keep-env").then_some(OptKind::Bool)
}

pub(crate) fn exec(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &exec_kind, true)?;
    if p.pos.is_empty() {
        return Err(Failure::Usage("400 not enough arguments".into()));
    }
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let mut cmd: Vec<String> = p.pos[1..].to_vec();
    cmd.extend(p.extra.iter().cloned());
    // `--keep-env` defaults to 1 (the FIXME to make it 0 "with PVE 9" is still open
    // in the pve-container the reference read, which execs `--keep-env`).
    let keep_env = p.get("keep-env") != Some("0");
    node.load(vmid)?;
    crate::pct::need_host()?;
    if node.state(vmid)? != State::Running {
        return Err(Failure::Die(format!("container '{vmid}' not running!")));
    }
    if cmd.is_empty() {
        return Err(Failure::Die(
            "missing command at /usr/share/perl5/PVE/CLI/pct.pm line 234.".into(),
        ));
    }
    node.lxc
        .attach(vmid, keep_env, &cmd)
        .map_err(|e| Failure::Die(e.to_string()))
}

fn file_kind(name: &str) -> Option<OptKind> {
    matches!(name, "user" | "group" | "perms").then_some(OptKind::Value)
}

fn ownership(p: &args::Parsed) -> Ownership {
    Ownership {
        user: p.get("user").map(str::to_owned),
        group: p.get("group").map(str::to_owned),
        perms: p.get("perms").map(str::to_owned),
    }
}

/// `/proc/<pid>/root` of a running CT: its root as the host reaches it.
fn ct_root(node: &Node, vmid: u32) -> Result<PathBuf> {
    let pid = node
        .lxc
        .init_pid(vmid)
        .map_err(|e| Failure::Task(e.to_string()))?
        .ok_or_else(|| Failure::Task(format!("unable to get PID for CT {vmid} (not running?)")))?;
    Ok(PathBuf::from(format!("/proc/{pid}/root")))
}

fn is_running(node: &Node, vmid: u32) -> Result<bool> {
    Ok(node.exists(vmid) && node.state(vmid)? == State::Running)
}

pub(crate) fn push(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &file_kind, false)?;
    args::positionals(&p, &["vmid", "file", "destination"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    crate::pct::need_host()?;
    let _lock = node.lock(vmid)?;
    if !is_running(node, vmid)? {
        return Err(Failure::Die("can only push files to a running CT".into()));
    }
    let conf = node.load(vmid)?;
    let unprivileged = conf.get("unprivileged") == Some("1");
    let root = ct_root(node, vmid)?;
    files::push(
        &host_path(node, &p.pos[1]),
        &p.pos[1],
        &root,
        &p.pos[2],
        &ownership(&p),
        unprivileged,
        &Node::owner_map(&conf),
    )?;
    Ok(0)
}

pub(crate) fn pull(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &file_kind, false)?;
    args::positionals(&p, &["vmid", "path", "destination"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    crate::pct::need_host()?;
    let _lock = node.lock(vmid)?;
    // Proxmox's pull loads no config: no conf warnings here.
    if !is_running(node, vmid)? {
        return Err(Failure::Die(
            "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 531."
                .into(),
        ));
    }
    let root = ct_root(node, vmid)?;
    files::pull(
        &root,
        &p.pos[1],
        &host_path(node, &p.pos[2]),
        &p.pos[2],
        &ownership(&p),
    )?;
    Ok(0)
}
