//! `start`, `stop`, `shutdown` and `status`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;
use crate::pct::set::{apply_pending, free_volumes};

fn kind(cmd: &str) -> impl Fn(&str) -> Option<OptKind> + '_ {
    move |name| match (cmd, name) {
        ("start" | "stop", "skiplock") | ("start", "debug") | ("status", "verbose") => {
            Some(OptKind::Bool)
        }
        ("shutdown", "forceStop") => Some(OptKind::Bool),
        ("shutdown", "timeout") | ("stop", "overrule-shutdown") => Some(OptKind::Value),
        _ => None,
    }
}

pub(crate) fn run(node: &Node, cmd: &str, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &kind(cmd), false)?;
    args::positionals(&p, &["vmid"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    match cmd {
        "start" => start(node, vmid, p.flag("skiplock")).map(|()| 0),
        "stop" => stop(node, vmid, p.flag("skiplock"), None).map(|()| 0),
        "shutdown" => {
            let timeout = match p.get("timeout") {
                Some(t) => t.parse::<u64>().map_err(|_| {
                    Failure::param(
                        "timeout",
                        format!("type check ('integer') failed - got '{t}'"),
                    )
                })?,
                None => 60,
            };
            stop(node, vmid, false, Some((timeout, p.flag("forceStop")))).map(|()| 0)
        }
        _ => status(node, vmid, p.flag("verbose")).map(|()| 0),
    }
}

fn status(node: &Node, vmid: u32, verbose: bool) -> Result<()> {
    let conf = node.load(vmid)?;
    let running = conf.get("template") != Some("1") && node.state(vmid)? == State::Running;
    let status = if running { "running" } else { "stopped" };
    if !verbose {
        crate::out::line(format!("status: {status}"));
        return Ok(());
    }
    let mut kv = vec![
        (
            "maxmem".to_owned(),
            (conf
                .get("memory")
                .and_then(|m| m.parse::<u64>().ok())
                .unwrap_or(512)
                * 1024
                * 1024)
                .to_string(),
        ),
        (
            "maxswap".to_owned(),
            (conf
                .get("swap")
                .and_then(|m| m.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
                * 1024)
                .to_string(),
        ),
        (
            "name".to_owned(),
            conf.get("hostname")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("CT{vmid}")),
        ),
        ("status".to_owned(), status.to_owned()),
        ("type".to_owned(), "lxc".to_owned()),
        ("vmid".to_owned(), vmid.to_string()),
    ];
    if running && let Ok(Some(pid)) = node.lxc.init_pid(vmid) {
        kv.push(("pid".into(), pid.to_string()));
    }
    if let Some(l) = conf.get("lock") {
        kv.push(("lock".into(), l.to_owned()));
    }
    if conf.get("template") == Some("1") {
        kv.push(("template".into(), "1".into()));
    }
    kv.sort();
    for (k, v) in kv {
        crate::out::line(format!("{k}: {v}"));
    }
    Ok(())
}

/// Unprivileged LXC enters the root's directories as the mapped root (uid 100000):
/// give every directory from the root down to `target` the search bit for others.
fn make_traversable(root: &Path, target: &Path) -> Result<()> {
    let Ok(rel) = target.strip_prefix(root) else {
        return Ok(());
    };
    let mut dir = root.to_path_buf();
    let mut dirs = vec![dir.clone()];
    for c in rel
        .parent()
        .map(|p| p.components().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        dir.push(c);
        dirs.push(dir.clone());
    }
    for d in dirs {
        let meta = std::fs::metadata(&d)?;
        let mode = meta.permissions().mode();
        if meta.is_dir() && mode & 0o001 == 0 {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode | 0o011))?;
        }
    }
    Ok(())
}

/// Starts a CT: checks, pending changes, the generated config, bridges, `lxc-start`.
pub(crate) fn start(node: &Node, vmid: u32, skiplock: bool) -> Result<()> {
    let guard = node.lock(vmid)?;
    let mut conf = node.load(vmid).map_err(Failure::into_task)?;
    if conf.get("template") == Some("1") {
        return Err(Failure::Die(
            "you can't start a CT if it's a template".into(),
        ));
    }
    if !skiplock {
        Node::check_lock(&conf, true)?;
    }
    crate::pct::need_host()?;
    if node.state(vmid)? == State::Running {
        return Err(Failure::Die(format!("CT {vmid} already running")));
    }
    if conf.pending().is_some() {
        let free = apply_pending(&mut conf);
        node.store(vmid, &conf)?;
        free_volumes(node, &free)?;
    }
    let spec = node.start_spec(vmid, &conf).map_err(Failure::into_task)?;
    // Proxmox's lxcnetaddbr hook dies when a NIC's bridge is missing; it never creates
    // one (bridges come from the host's network setup: `pct-emulator-net bridge add`).
    if let Some(b) = spec
        .nets
        .iter()
        .find_map(|n| n.bridge.as_ref().filter(|b| !crate::net::exists(b)))
    {
        println!("bridge '{b}' does not exist");
        return Err(Failure::Task(format!(
            "startup for container '{vmid}' failed"
        )));
    }
    node.update_lxc_config(vmid, &conf)
        .map_err(Failure::into_task)?;
    // pre_start_hook: hostname, /etc/hosts and /etc/resolv.conf before every start (a
    // clone's new --hostname shows up inside this way).
    crate::setup::apply(
        &spec.rootfs,
        &conf,
        &Node::owner_map(&conf),
        &node.host_resolv(),
    )
    .map_err(|e| Failure::Task(e.to_string()))?;
    let root = node.root.dir().to_path_buf();
    make_traversable(&root, &node.root.lxc_dir(vmid).join("config"))?;
    make_traversable(&root, &spec.rootfs.join("x"))?;
    for m in &spec.mounts {
        make_traversable(&root, &m.source)?;
    }
    let map = Node::owner_map(&conf);
    crate::lxc::devices::prepare(
        &spec.devices,
        spec.fuse.as_deref(),
        &node.root.lxc_dir(vmid),
        (map.host_uid(0), map.host_gid(0)),
    )
    .map_err(Failure::Task)?;
    drop(guard);
    if let Err(e) = node.lxc.start(vmid) {
        crate::out::line(e.to_string());
        return Err(Failure::Task(format!(
            "startup for container '{vmid}' failed"
        )));
    }
    Ok(())
}

/// `stop` (a kill) or, with `shutdown = Some((timeout, force))`, a clean shutdown; then
/// the post-stop rewrite of the conf that Proxmox always does.
fn stop(node: &Node, vmid: u32, skiplock: bool, shutdown: Option<(u64, bool)>) -> Result<()> {
    crate::pct::need_host()?;
    if !node.exists(vmid) || node.state(vmid)? != State::Running {
        return Err(Failure::Die(format!("CT {vmid} not running")));
    }
    let conf = node.load(vmid)?;
    if !skiplock {
        Node::check_lock(&conf, true)?;
    }
    let result = match shutdown {
        None => node.lxc.stop(vmid, true, 0, false),
        Some((timeout, force)) => node.lxc.stop(vmid, false, timeout, !force),
    };
    if node.state(vmid)? == State::Running {
        if let Err(e) = result {
            crate::out::line(e.to_string());
        }
        return Err(Failure::Task("container did not stop".into()));
    }
    post_stop(node, vmid)
}

/// What Proxmox's post-stop hook does: apply pending changes, rewrite the conf
/// canonically, regenerate the LXC config. It never adds `lxc.idmap` to the conf.
pub(crate) fn post_stop(node: &Node, vmid: u32) -> Result<()> {
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    let free = apply_pending(&mut conf);
    node.store(vmid, &conf)?;
    free_volumes(node, &free)?;
    node.update_lxc_config(vmid, &conf).or_else(|e| match e {
        Failure::Die(_) => Ok(()),
        other => Err(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_bits_are_added_inside_the_root_only() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(root.join("a"), std::fs::Permissions::from_mode(0o700)).unwrap();
        make_traversable(&root, &root.join("a/b/c")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o711);
        assert_eq!(mode(&root.join("a")), 0o711);
        assert_eq!(mode(t.path()) & 0o077, mode(t.path()) & 0o077);
    }
}
