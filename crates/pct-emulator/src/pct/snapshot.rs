//! `snapshot`, `rollback`, `listsnapshot` and `delsnapshot`.

use phoenix_pveconf::conf::CtConf;

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;
use crate::pct::props::MountKind;
use crate::storage::VolId;

fn kind(name: &str) -> Option<OptKind> {
    match name {
        "description" => Some(OptKind::Value),
        "force" | "start" => Some(OptKind::Bool),
        _ => None,
    }
}

pub(crate) fn run(node: &Node, cmd: &str, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &kind, false)?;
    if cmd == "listsnapshot" {
        args::positionals(&p, &["vmid"])?;
        return list(node, args::vmid(&p.pos[0], "vmid")?).map(|()| 0);
    }
    args::positionals(&p, &["vmid", "snapname"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let name = p.pos[1].clone();
    match cmd {
        "snapshot" => create(node, vmid, &name, p.get("description")),
        "rollback" => rollback(node, vmid, &name, p.flag("start")),
        _ => delete(node, vmid, &name, p.flag("force")),
    }
    .map(|()| 0)
}

/// `pve-snapshot-name`: format `pve-configid` (`^[a-z][a-z0-9_-]+$` matched with `/i`, so
/// either case; pve-common `pve_verify_configid`), at most 40 characters. Names are
/// compared exactly: `S1` and `s1` are two snapshots (`defined($snapshots->{$snapname})`
/// in pve-guest-common's `__snapshot_prepare`).
fn check_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (2..=40).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-');
    if !ok {
        return Err(Failure::param(
            "snapname",
            format!("invalid format - invalid configuration ID '{name}'"),
        ));
    }
    if name == "current" || name == "vzdump" {
        return Err(Failure::Die(format!(
            "unable to use snapshot name '{name}' (reserved name)"
        )));
    }
    Ok(())
}

/// The storage volumes (rootfs, mpN) of a section.
fn volumes(section: &phoenix_pveconf::conf::Section) -> Vec<VolId> {
    Node::mounts(section)
        .into_iter()
        .filter_map(|(_, _, kind, _)| match kind {
            Some(MountKind::Volume(v)) => Some(v),
            _ => None,
        })
        .collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn create(node: &Node, vmid: u32, name: &str, description: Option<&str>) -> Result<()> {
    check_name(name)?;
    let task = Failure::into_task;
    let guard = node.lock(vmid)?;
    let mut conf = node.load(vmid).map_err(task)?;
    Node::check_lock(&conf, false).map_err(task)?;
    if conf.get("template") == Some("1") {
        return Err(Failure::Task(
            "you can't take a snapshot if it's a template".into(),
        ));
    }
    if conf.snapshot(name).is_some() {
        return Err(Failure::Task(format!(
            "snapshot name '{name}' already used"
        )));
    }
    let storages = node.storages()?;
    if Node::first_bind(&conf).is_some() {
        return Err(Failure::Task("snapshot feature is not available".into()));
    }
    for v in volumes(&conf) {
        if !storages
            .can_snapshot(&v)
            .map_err(|e| Failure::Task(e.to_string()))?
        {
            return Err(Failure::Task("snapshot feature is not available".into()));
        }
    }
    // Prepare, as Proxmox does: `lock: snapshot` and the new section with
    // `snapstate: prepare`, then the storage snapshots, then the commit.
    let skip = |k: &str| {
        ["lock", "snaptime", "snapstate", "digest"].contains(&k) || k.starts_with("unused")
    };
    let keys: Vec<(String, String)> = conf
        .entries()
        .filter(|(k, _)| !skip(k))
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let lxc: Vec<(String, String)> = conf.lxc().map(|(k, v)| (k.into(), v.into())).collect();
    crate::pct::create::set(&mut conf, "lock", "snapshot")?;
    let tf = |e: phoenix_pveconf::conf::EditError| Failure::Task(e.to_string());
    let section = conf.snapshot_mut(name).map_err(tf)?;
    if let Some(d) = description {
        section.set_description(d);
    }
    for (k, v) in keys {
        section.set(&k, &v).map_err(tf)?;
    }
    section.set("snapstate", "prepare").map_err(tf)?;
    section.set("snaptime", &now().to_string()).map_err(tf)?;
    for (k, v) in lxc {
        section.add_lxc(&k, &v).map_err(tf)?;
    }
    node.store(vmid, &conf)?;
    drop(guard);

    let result = (|| -> Result<()> {
        for v in volumes(&conf) {
            storages
                .snapshot(&v, name)
                .map_err(|e| Failure::Task(e.to_string()))?;
        }
        Ok(())
    })();
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    conf.remove("lock");
    if let Err(e) = result {
        for v in volumes(&conf) {
            let _ = storages.delete_snapshot(&v, name);
        }
        conf.remove_section(name);
        node.store(vmid, &conf)?;
        return Err(e);
    }
    conf.snapshot_mut(name).map_err(tf)?.remove("snapstate");
    crate::pct::create::set(&mut conf, "parent", name)?;
    node.store(vmid, &conf)
}

fn rollback(node: &Node, vmid: u32, name: &str, start: bool) -> Result<()> {
    let task = Failure::into_task;
    let guard = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    let snap = conf
        .snapshot(name)
        .ok_or_else(|| Failure::Task(format!("snapshot '{name}' does not exist")))?;
    if let Some(state) = snap.get("snapstate") {
        return Err(Failure::Task(format!(
            "unable to rollback to incomplete snapshot (snapstate = {state})"
        )));
    }
    Node::check_lock(&conf, false).map_err(task)?;
    let storages = node.storages()?;
    for v in volumes(snap) {
        let order_ok = storages.rollback_check(&v, name);
        order_ok.map_err(|e| Failure::Task(e.to_string()))?;
    }
    if node.exists(vmid) && node.lxc.state(vmid).is_ok_and(|s| s == State::Running) {
        node.lxc
            .stop(vmid, true, 0, false)
            .map_err(|e| Failure::Task(e.to_string()))?;
    }
    crate::pct::create::set(&mut conf, "lock", "rollback")?;
    node.store(vmid, &conf)?;
    drop(guard);
    let snap_keys: Vec<(String, String)> = conf
        .snapshot(name)
        .map(|s| {
            s.entries()
                .filter(|(k, _)| !["snaptime", "snapstate"].contains(k))
                .map(|(k, v)| (k.into(), v.into()))
                .collect()
        })
        .unwrap_or_default();
    let snap_lxc: Vec<(String, String)> = conf
        .snapshot(name)
        .map(|s| s.lxc().map(|(k, v)| (k.into(), v.into())).collect())
        .unwrap_or_default();
    for v in volumes(conf.snapshot(name).unwrap_or(conf.main())) {
        storages
            .rollback(&v, name)
            .map_err(|e| Failure::Task(e.to_string()))?;
    }
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    // The current keys become the snapshot's; only the description and unusedN stay.
    let current: Vec<String> = conf
        .entries()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !k.starts_with("unused"))
        .collect();
    for k in current {
        conf.remove(&k);
    }
    let lxc_keys: Vec<String> = conf.lxc().map(|(k, _)| k.to_owned()).collect();
    for k in lxc_keys {
        conf.remove_lxc(&k);
    }
    for (k, v) in snap_keys {
        crate::pct::create::set(&mut conf, &k, &v)?;
    }
    for (k, v) in snap_lxc {
        conf.add_lxc(&k, &v)
            .map_err(|e| Failure::Task(e.to_string()))?;
    }
    crate::pct::create::set(&mut conf, "parent", name)?;
    node.store(vmid, &conf)?;
    node.update_lxc_config(vmid, &conf).ok();
    drop(_g);
    if start {
        crate::pct::power::start(node, vmid, false)?;
    }
    Ok(())
}

fn delete(node: &Node, vmid: u32, name: &str, force: bool) -> Result<()> {
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    let snap = conf
        .snapshot(name)
        .ok_or_else(|| Failure::Task(format!("snapshot '{name}' does not exist")))?;
    if !force {
        Node::check_lock(&conf, false).map_err(Failure::into_task)?;
    }
    let parent = snap.get("parent").map(str::to_owned);
    let vols = volumes(snap);
    let storages = node.storages()?;
    // `lock: snapshot-delete` and `snapstate: delete` while the volumes go.
    crate::pct::create::set(&mut conf, "lock", "snapshot-delete")?;
    conf.snapshot_mut(name)
        .map_err(|e| Failure::Task(e.to_string()))?
        .set("snapstate", "delete")
        .map_err(|e| Failure::Task(e.to_string()))?;
    node.store(vmid, &conf)?;
    conf.remove("lock");
    for v in vols {
        storages
            .delete_snapshot(&v, name)
            .map_err(|e| Failure::Task(e.to_string()))?;
    }
    conf.remove_section(name);
    let children: Vec<String> = conf
        .snapshots()
        .iter()
        .filter(|s| s.get("parent") == Some(name))
        .filter_map(|s| s.name().map(str::to_owned))
        .collect();
    for c in children
        .iter()
        .map(String::as_str)
        .chain((conf.get("parent") == Some(name)).then_some(""))
    {
        let section = if c.is_empty() {
            conf.main_mut()
        } else {
            conf.snapshot_mut(c)
                .map_err(|e| Failure::Task(e.to_string()))?
        };
        match &parent {
            Some(p) => section
                .set("parent", p)
                .map_err(|e| Failure::Task(e.to_string()))?,
            None => {
                section.remove("parent");
            }
        }
    }
    node.store(vmid, &conf)
}

/// `YYYY-MM-DD HH:MM:SS` of an epoch, in UTC (the emulator does not read time zones).
pub fn format_time(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The lines of `pct listsnapshot` (§3): a tree by parent, siblings by snaptime,
/// `current` last under the CT's parent.
pub fn tree_lines(conf: &CtConf) -> Vec<String> {
    struct Node_ {
        name: String,
        parent: Option<String>,
        time: Option<u64>,
        descr: String,
    }
    let mut nodes: Vec<Node_> = conf
        .snapshots()
        .iter()
        .map(|s| Node_ {
            name: s.name().unwrap_or_default().to_owned(),
            parent: s.get("parent").map(str::to_owned),
            time: s.get("snaptime").and_then(|t| t.parse().ok()),
            descr: s
                .description()
                .and_then(|d| d.lines().next().map(str::to_owned))
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "no-description".into()),
        })
        .collect();
    nodes.sort_by_key(|n| n.time.unwrap_or(0));
    nodes.push(Node_ {
        name: "current".into(),
        parent: conf.get("parent").map(str::to_owned),
        time: None,
        descr: "You are here!".into(),
    });
    let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let mut out = vec![];
    fn walk(
        nodes: &[Node_],
        names: &[String],
        parent: Option<&str>,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        for n in nodes {
            let p = n
                .parent
                .as_deref()
                .filter(|p| names.iter().any(|x| x == p) && *p != "current");
            if p != parent {
                continue;
            }
            let prefix = format!("{}`->", " ".repeat(depth));
            let width = 30usize.saturating_sub(prefix.len());
            let time = n.time.map(format_time).unwrap_or_default();
            out.push(format!(
                "{prefix} {:<width$} {:<23} {}",
                n.name, time, n.descr
            ));
            if n.name != "current" {
                walk(nodes, names, Some(&n.name), depth + 1, out);
            }
        }
    }
    walk(&nodes, &names, None, 0, &mut out);
    out
}

fn list(node: &Node, vmid: u32) -> Result<()> {
    let conf = node.load(vmid)?;
    for l in tree_lines(&conf) {
        crate::out::line(l);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_formatted() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn tree_puts_current_under_the_parent() {
        let c = CtConf::parse(
            "parent: s2\nmemory: 512\n\n[s1]\n#first one\nsnaptime: 1700000000\n\n[s2]\nparent: s1\nsnaptime: 1700000100\n",
        )
        .conf;
        insta::assert_snapshot!(tree_lines(&c).join("\n"));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(
            check_name("current").unwrap_err().to_string(),
            "unable to use snapshot name 'current' (reserved name)"
        );
        // pve-configid is matched with /i (pve-common pve_verify_configid)
        assert!(check_name("S1").is_ok());
        assert!(check_name("1s").is_err());
        assert!(check_name("s.1").is_err());
        assert!(check_name("s").is_err());
        assert!(check_name("s1_ok-2").is_ok());
    }
}
