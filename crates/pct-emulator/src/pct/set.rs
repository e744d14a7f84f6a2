//! `pct set`: one call with every change and `--delete`; on a running CT some keys apply
//! at once, some are hot-plugged and the rest waits in `[pve:pending]`, exactly as
//! pve-container's `vmconfig_hotplug_pending` decides (`PVE/LXC/Config.pm`):
//!
//! - set: the fast-plug keys (below), `cpulimit`, `cpuunits`, `memory`, `swap`, `netN`,
//!   and an `mpN` or `devN` that does not exist yet; anything else is pending;
//! - delete: the fast-plug keys, `unusedN` (the volume is freed), `swap`, `cpulimit`,
//!   `cpuunits` and `netN`; anything else (`mpN`, `devN`, `features`, …) is pending.
//!
//! A volume that leaves the config becomes `unusedN` ([`crate::pct::apply`]).

use phoenix_pveconf::conf::CtConf;

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;
use crate::pct::props::{self, MountKind};
use crate::pct::schema;

/// `$LXC_FASTPLUG_OPTIONS`: keys a running CT takes at once.
const IMMEDIATE: &[&str] = &[
    "description",
    "onboot",
    "startup",
    "protection",
    "hostname",
    "hookscript",
    "cores",
    "tags",
    "lock",
];
/// Set on a running CT through its cgroup.
const HOTPLUG: &[&str] = &["memory", "swap", "cpulimit", "cpuunits"];
/// Deleted on a running CT at once (memory cannot be deleted at all).
const HOT_DELETE: &[&str] = &["swap", "cpulimit", "cpuunits"];

fn indexed(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn set_kind(name: &str) -> Option<OptKind> {
    match name {
        "delete" | "revert" | "digest" => Some(OptKind::Value),
        _ => schema::config_key(name),
    }
}

pub use crate::pct::apply::apply_pending;

/// An `mpN` or `devN` that does not exist yet: hot-plugged (an existing one is pending).
fn is_new_mount_or_device(conf: &CtConf, key: &str) -> bool {
    (indexed(key, "mp") || indexed(key, "dev")) && conf.get(key).is_none()
}

/// Frees volumes a delete of `unusedN` released.
pub(crate) fn free_volumes(node: &Node, vols: &[crate::storage::VolId]) -> Result<()> {
    if vols.is_empty() {
        return Ok(());
    }
    let storages = node.storages()?;
    for v in vols {
        storages.free(v).map_err(|e| Failure::Die(e.to_string()))?;
    }
    Ok(())
}

pub(crate) fn set(node: &Node, rest: &[String]) -> Result<()> {
    let p = args::parse(rest, &set_kind, false)?;
    args::positionals(&p, &["vmid"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    if p.opts.is_empty() {
        return Err(Failure::Die("no options specified".into()));
    }
    let mut changes: Vec<(String, String)> = vec![];
    for (k, v) in &p.opts {
        if k == "unprivileged" {
            return Err(Failure::Die(
                "unable to modify read-only option: 'unprivileged'".into(),
            ));
        }
        if schema::config_key(k).is_some() {
            changes.push((k.clone(), schema::normalize(k, v)?));
        }
    }
    let deletes: Vec<String> = p
        .get("delete")
        .map(|d| {
            d.split([',', ';', ' '])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for d in &deletes {
        let key = d.trim_start_matches('!');
        if key == "unprivileged" {
            return Err(Failure::Die(
                "unable to delete read-only option: 'unprivileged'".into(),
            ));
        }
        if ["memory", "rootfs", "ostype"].contains(&key) {
            return Err(Failure::Die(format!(
                "unable to delete required option '{key}'"
            )));
        }
        if schema::config_key(key).is_none() {
            return Err(Failure::param(
                "delete",
                format!("invalid configuration ID '{key}'"),
            ));
        }
    }
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    if let Some(d) = p.get("digest") {
        let current =
            phoenix_pveconf::conf::Digest::of(std::fs::read(node.root.conf_path(vmid))?.as_slice())
                .to_string();
        if d != current {
            return Err(Failure::Die(
                "detected modified configuration - file changed by other user? Try again.".into(),
            ));
        }
    }
    if !changes.iter().any(|(k, _)| k == "lock") {
        Node::check_lock(&conf, false)?;
    }
    let running = conf.get("template") != Some("1")
        && node.exists(vmid)
        && node.lxc.state(vmid).is_ok_and(|s| s == State::Running);
    let map = Node::owner_map(&conf);
    for (k, v) in changes.iter_mut() {
        if !(k.starts_with("mp") || k == "rootfs") {
            continue;
        }
        // `STORAGE:GiB` allocates a new volume, owned by the CT's root.
        let vol = props::get(v, Some("volume"), "volume").unwrap_or_default();
        if let Some((store, size)) = vol
            .split_once(':')
            .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            let storages = node.storages()?;
            let st = storages
                .storage(store)
                .map_err(|e| Failure::Die(e.to_string()))?;
            if !st.has_content("rootdir") {
                return Err(Failure::Die(format!(
                    "storage '{store}' does not support container directories"
                )));
            }
            let new = storages
                .alloc(store, vmid)
                .map_err(|e| Failure::Die(e.to_string()))?;
            let dir = storages
                .path(&new)
                .map_err(|e| Failure::Die(e.to_string()))?;
            std::os::unix::fs::chown(&dir, Some(map.host_uid(0)), Some(map.host_gid(0)))?;
            let with_vol = props::with(v, Some("volume"), "volume", &new.to_string());
            *v = schema::canonical_mount(
                k,
                &props::with(&with_vol, Some("volume"), "size", &format!("{size}G")),
            )?;
        } else if let Some(MountKind::Bind(_) | MountKind::Device(_)) = MountKind::of(&vol) {
            // bind and device mounts are root-only in Proxmox; the emulator runs as root
        }
    }
    // update_pct_config checks every devN against the host before anything changes.
    let mut hot_devices = Vec::new();
    for (k, v) in &changes {
        if indexed(k, "dev") {
            let spec = node.device(vmid, k, v, &map)?;
            if running && conf.get(k).is_none() {
                hot_devices.push(spec);
            }
        }
    }
    let mut to_free = Vec::new();
    for (k, v) in &changes {
        let direct = !running
            || IMMEDIATE.contains(&k.as_str())
            || HOTPLUG.contains(&k.as_str())
            || indexed(k, "net")
            || is_new_mount_or_device(&conf, k);
        if k == "description" {
            conf.set_description(v);
        } else if direct {
            crate::pct::apply::set_current(&mut conf, k, v);
            if let Some(p) = conf.pending().is_some().then(|| conf.pending_mut()) {
                p.remove(k);
            }
        } else {
            conf.pending_mut()
                .set(k, v)
                .map_err(|e| Failure::Die(e.to_string()))?;
        }
    }
    let mut pending_deletes: Vec<String> = conf
        .pending()
        .map(|p| p.deletes().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    // a key set now is no longer to be deleted (remove_from_pending_delete)
    pending_deletes.retain(|d| !changes.iter().any(|(k, _)| k == d.trim_start_matches('!')));
    for d in &deletes {
        let key = d.trim_start_matches('!');
        let in_pending = conf.pending().is_some_and(|p| p.get(key).is_some());
        if conf.get(key).is_none()
            && !in_pending
            && !(key == "description" && conf.description().is_some())
        {
            eprintln!("cannot delete '{key}' - not set in current configuration!");
            continue;
        }
        if in_pending {
            conf.pending_mut().remove(key);
        }
        let hot = IMMEDIATE.contains(&key)
            || HOT_DELETE.contains(&key)
            || indexed(key, "unused")
            || indexed(key, "net");
        if !running || hot {
            if key == "description" {
                conf.set_description("");
            } else {
                to_free.extend(crate::pct::apply::delete_current(&mut conf, key));
            }
        } else if conf.get(key).is_some()
            && !pending_deletes
                .iter()
                .any(|x| x.trim_start_matches('!') == key)
        {
            pending_deletes.push(d.clone());
        }
    }
    // --revert drops pending changes (values and deletes) of the named keys.
    let reverts: Vec<&str> = p
        .get("revert")
        .map(|r| r.split([',', ';', ' ']).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    pending_deletes.retain(|d| !reverts.contains(&d.trim_start_matches('!')));
    if conf.pending().is_some() {
        let pending = conf.pending_mut();
        for k in &reverts {
            pending.remove(k);
        }
        pending.remove("delete");
    }
    if !pending_deletes.is_empty() {
        pending_deletes.sort();
        conf.pending_mut()
            .set("delete", &pending_deletes.join(","))
            .map_err(|e| Failure::Die(e.to_string()))?;
    }
    if conf.pending().is_some_and(|p| p.entries().next().is_none()) {
        conf.remove_section(phoenix_pveconf::conf::PENDING);
    }
    if running && changes.iter().any(|(k, _)| k == "memory" || k == "swap") {
        hotplug_memory(node, vmid, &conf)?;
    }
    for d in &hot_devices {
        hotplug_device(node, vmid, d)?;
    }
    if running {
        for (_, v) in changes.iter().filter(|(k, _)| indexed(k, "net")) {
            hotplug_net_address(node, vmid, v)?;
        }
    }
    node.store(vmid, &conf)?;
    free_volumes(node, &to_free)?;
    // Every set regenerates the LXC config of a CT that has one.
    if node.root.lxc_dir(vmid).join("config").is_file() {
        let _ = node.update_lxc_config(vmid, &conf);
    }
    Ok(())
}

/// pve-container's `update_net` on a running CT: a changed `ip=`/`gw=` is applied to
/// the interface inside at once (here with `ip` in the CT's network namespace). Other
/// changes of the NIC (bridge, MAC) need a restart in the emulator.
fn hotplug_net_address(node: &Node, vmid: u32, value: &str) -> Result<()> {
    let field = |name: &str| {
        value
            .split(',')
            .find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    let (Some(dev), Some(ip)) = (field("name"), field("ip")) else {
        return Ok(());
    };
    if ip == "dhcp" || ip == "manual" {
        return Ok(());
    }
    let Ok(Some(pid)) = node.lxc.init_pid(vmid) else {
        return Ok(());
    };
    let pid = pid.to_string();
    let run = |args: &[&str]| -> Result<()> {
        let out = std::process::Command::new("nsenter")
            .args(["-t", &pid, "-n", "ip"])
            .args(args)
            .output()
            .map_err(|e| Failure::Die(format!("unable to hotplug net: {e}")))?;
        if !out.status.success() {
            return Err(Failure::Die(format!(
                "unable to hotplug net: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    };
    run(&["addr", "flush", "dev", &dev])?;
    run(&["addr", "add", &ip, "dev", &dev])?;
    if let Some(gw) = field("gw") {
        run(&["route", "replace", "default", "via", &gw, "dev", &dev])?;
    }
    Ok(())
}

/// `device_passthrough_hotplug`: the node in the running CT's `/dev` and the cgroup rule.
fn hotplug_device(node: &Node, vmid: u32, d: &crate::lxc::devices::DeviceSpec) -> Result<()> {
    let die = |e: String| Failure::Die(format!("unable to hotplug device {}: {e}", d.path));
    let pid = node
        .lxc
        .init_pid(vmid)
        .map_err(|e| die(e.to_string()))?
        .ok_or_else(|| die("no init pid".into()))?;
    let conf = node.load(vmid)?;
    let map = Node::owner_map(&conf);
    let rootfs = node.start_spec(vmid, &conf)?.rootfs;
    crate::lxc::devices::hotplug_node(
        std::path::Path::new(&format!("/proc/{pid}/root")),
        &rootfs,
        d,
        (map.host_uid(0), map.host_gid(0)),
    )
    .map_err(die)?;
    node.lxc
        .cgroup_set(vmid, "devices.allow", &d.allow_rule())
        .map_err(|e| die(e.to_string()))
}

/// Applies memory and swap to a running CT's cgroup, as Proxmox's hot-plug does. On a
/// cgroup v1 host the memory+swap limit must stay at or above the memory limit, so the
/// order depends on whether the limit grows.
fn hotplug_memory(node: &Node, vmid: u32, conf: &CtConf) -> Result<()> {
    let num = |k: &str, d: u64| conf.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (mem, swap) = (num("memory", 512) << 20, num("swap", 0) << 20);
    let die = |e: crate::lxc::LxcError| Failure::Die(e.to_string());
    match crate::lxc::config::CgroupMode::detect() {
        crate::lxc::config::CgroupMode::V2 => {
            node.lxc
                .cgroup_set(vmid, "memory.max", &mem.to_string())
                .map_err(die)?;
            node.lxc
                .cgroup_set(vmid, "memory.swap.max", &swap.to_string())
                .map_err(die)
        }
        crate::lxc::config::CgroupMode::V1 { swap_accounting } => {
            let steps = [
                ("memory.limit_in_bytes", mem.to_string()),
                ("memory.memsw.limit_in_bytes", (mem + swap).to_string()),
            ];
            let current = node
                .lxc
                .cgroup_get(vmid, "memory.limit_in_bytes")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let ordered: Vec<_> = if mem > current {
                steps.iter().rev().collect()
            } else {
                steps.iter().collect()
            };
            for (k, v) in ordered {
                if !swap_accounting && k.contains("memsw") {
                    continue;
                }
                node.lxc.cgroup_set(vmid, k, v).map_err(die)?;
            }
            Ok(())
        }
    }
}
