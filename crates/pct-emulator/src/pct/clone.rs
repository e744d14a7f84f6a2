//! `clone`, `template` and `destroy` (§5 of the reference).

use phoenix_pveconf::conf::{CtConf, Section};

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::create::set;
use crate::pct::ctx::Node;
use crate::pct::props::{self, MountKind};
use crate::storage::VolId;

fn kind(cmd: &str) -> impl Fn(&str) -> Option<OptKind> + '_ {
    move |name| match (cmd, name) {
        ("clone", "full") | ("destroy", "force" | "purge" | "destroy-unreferenced-disks") => {
            Some(OptKind::Bool)
        }
        (
            "clone",
            "snapname" | "hostname" | "description" | "storage" | "pool" | "target" | "bwlimit",
        ) => Some(OptKind::Value),
        _ => None,
    }
}

pub(crate) fn run(node: &Node, cmd: &str, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &kind(cmd), false)?;
    match cmd {
        "clone" => {
            args::positionals(&p, &["vmid", "newid"])?;
            let vmid = args::vmid(&p.pos[0], "vmid")?;
            let newid = args::vmid(&p.pos[1], "newid")?;
            clone(node, vmid, newid, &p)
        }
        "template" => {
            args::positionals(&p, &["vmid"])?;
            template(node, args::vmid(&p.pos[0], "vmid")?)
        }
        _ => {
            args::positionals(&p, &["vmid"])?;
            destroy(node, args::vmid(&p.pos[0], "vmid")?, p.flag("force"))
        }
    }
    .map(|()| 0)
}

fn running(node: &Node, vmid: u32) -> bool {
    node.lxc.state(vmid).is_ok_and(|s| s == State::Running)
}

fn clone(node: &Node, vmid: u32, newid: u32, p: &args::Parsed) -> Result<()> {
    let guard = node.lock(vmid)?;
    let target_guard = (newid != vmid).then(|| node.lock(newid)).transpose()?;
    let src = node.load(vmid)?;
    Node::check_lock(&src, false)?;
    node.check_free(newid)?;
    let is_template = src.get("template") == Some("1");
    let full = match p.get("full") {
        Some(f) => f == "1",
        None => !is_template,
    };
    let storage = p.get("storage");
    if storage.is_some() && !full {
        return Err(Failure::Die(
            "parameter 'storage' not allowed for linked clones".into(),
        ));
    }
    let section: &Section = match p.get("snapname") {
        Some(s) => src
            .snapshot(s)
            .ok_or_else(|| Failure::Die(format!("snapshot '{s}' does not exist")))?,
        None => src.main(),
    };
    if full && p.get("snapname").is_none() && running(node, vmid) {
        return Err(Failure::Die(
            "Full clone of a running container is only possible from a snapshot".into(),
        ));
    }
    let storages = node.storages()?;
    if let Some(s) = storage {
        let st = storages
            .storage(s)
            .map_err(|e| Failure::Die(e.to_string()))?;
        if !st.has_content("rootdir") {
            return Err(Failure::Die(format!(
                "storage '{s}' does not support container directories"
            )));
        }
    }
    let mut mounts = Node::mounts(section);
    mounts.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, vol, kind, _) in &mounts {
        match kind {
            Some(MountKind::Volume(v)) if !full => {
                if !storages
                    .storage(&v.storage)
                    .is_ok_and(|s| s.kind == crate::storage::StorageType::ZfsPool)
                    || !v.is_base()
                {
                    return Err(Failure::Die(format!(
                        "Linked clone feature for '{vol}' is not available"
                    )));
                }
            }
            Some(MountKind::Volume(_)) => {}
            Some(m) => {
                return Err(Failure::Die(format!(
                    "unable to clone mountpoint '{key}' (type {})",
                    m.type_name()
                )));
            }
            None => return Err(Failure::Die(format!("unable to parse volume ID '{vol}'"))),
        }
    }
    if let Some(t) = p.get("target").filter(|t| *t != node.name) {
        return Err(Failure::Die(format!(
            "can't clone CT to node '{t}' (CT uses local storage)"
        )));
    }
    // Lock the target (`create`) and the source (`disk`) for the copy.
    let mut target = CtConf::new();
    set(&mut target, "lock", "create")?;
    node.store(newid, &target)?;
    let mut src_locked = src.clone();
    set(&mut src_locked, "lock", "disk")?;
    node.store(vmid, &src_locked)?;
    drop(target_guard);
    drop(guard);

    let mut made: Vec<VolId> = vec![];
    let result = (|| -> Result<CtConf> {
        let mut conf = CtConf::new();
        let dropped = |k: &str| {
            [
                "parent",
                "snaptime",
                "snapstate",
                "template",
                "lock",
                "digest",
            ]
            .contains(&k)
                || k.starts_with("unused")
        };
        for (k, v) in section.entries().filter(|(k, _)| !dropped(k)) {
            let v = if k.starts_with("net") && k[3..].bytes().all(|b| b.is_ascii_digit()) {
                props::with(v, None, "hwaddr", &props::random_hwaddr())
            } else {
                v.to_owned()
            };
            set(&mut conf, k, &v)?;
        }
        for (k, v) in section.lxc() {
            conf.add_lxc(k, v)
                .map_err(|e| Failure::Die(e.to_string()))?;
        }
        match p.get("description") {
            Some(d) => conf.set_description(d),
            None => {
                if let Some(d) = section.description() {
                    conf.set_description(d.strip_suffix('\n').unwrap_or(&d));
                }
            }
        }
        if let Some(h) = p.get("hostname") {
            set(
                &mut conf,
                "hostname",
                &crate::pct::schema::normalize("hostname", h)?,
            )?;
        }
        for (key, _, kind, value) in &mounts {
            let Some(MountKind::Volume(v)) = kind else {
                continue;
            };
            let new = if full {
                let from = match p.get("snapname") {
                    Some(s) => storages.snapshot_path(v, s),
                    None => storages.path(v),
                }
                .map_err(|e| Failure::Die(e.to_string()))?;
                storages.copy_to_new(&from, storage.unwrap_or(&v.storage), newid)
            } else {
                storages.linked_clone(v, newid)
            }
            .map_err(|e| Failure::Die(e.to_string()))?;
            made.push(new.clone());
            set(
                &mut conf,
                key,
                &props::with(value, Some("volume"), "volume", &new.to_string()),
            )?;
        }
        Ok(conf)
    })();
    let _g = node.lock(vmid)?;
    let mut src_now = node.load(vmid)?;
    src_now.remove("lock");
    node.store(vmid, &src_now)?;
    match result {
        Ok(conf) => node.store(newid, &conf),
        Err(e) => {
            for v in &made {
                let _ = storages.free(v);
            }
            let _ = std::fs::remove_file(node.root.conf_path(newid));
            Err(Failure::Task(format!("clone failed: {e}")))
        }
    }
}

fn template(node: &Node, vmid: u32) -> Result<()> {
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    Node::check_lock(&conf, false)?;
    if !conf.snapshots().is_empty() {
        return Err(Failure::Die(
            "unable to create template, because CT contains snapshots".into(),
        ));
    }
    if conf.get("template") == Some("1") {
        return Err(Failure::Die(
            "you can't convert a template to a template".into(),
        ));
    }
    if running(node, vmid) {
        return Err(Failure::Die(
            "you can't convert a CT to template if the CT is running".into(),
        ));
    }
    let storages = node.storages()?;
    let mounts = Node::mounts(&conf);
    if let Some((_, vol, ..)) = mounts
        .iter()
        .find(|(_, _, k, _)| !matches!(k, Some(MountKind::Volume(_))))
    {
        return Err(Failure::Task(format!(
            "Template feature is not available for '{vol}'"
        )));
    }
    for (key, _, kind, value) in mounts {
        let Some(MountKind::Volume(v)) = kind else {
            continue;
        };
        let base = storages
            .create_base(&v)
            .map_err(|e| Failure::Task(e.to_string()))?;
        set(
            &mut conf,
            &key,
            &props::with(&value, Some("volume"), "volume", &base.to_string()),
        )?;
    }
    set(&mut conf, "template", "1")?;
    node.store(vmid, &conf)?;
    let _ = std::fs::remove_file(node.root.lxc_dir(vmid).join("config"));
    Ok(())
}

fn destroy(node: &Node, vmid: u32, force: bool) -> Result<()> {
    let _g = node.lock(vmid)?;
    let conf = node.load(vmid)?;
    Node::check_lock(&conf, false)?;
    if conf.get("protection") == Some("1") {
        return Err(Failure::Die(format!(
            "can't remove CT {vmid} - protection mode enabled"
        )));
    }
    if running(node, vmid) {
        if !force {
            return Err(Failure::Die(format!(
                "unable to destroy CT {vmid} - container is running"
            )));
        }
        node.lxc
            .stop(vmid, true, 0, false)
            .map_err(|e| Failure::Task(e.to_string()))?;
    }
    let storages = node.storages()?;
    let mut vols: Vec<VolId> = vec![];
    for s in std::iter::once(conf.main()).chain(conf.snapshots()) {
        for (k, v) in s.entries() {
            let is_disk = k == "rootfs" || k.starts_with("mp") || k.starts_with("unused");
            if let Some(MountKind::Volume(vol)) = is_disk
                .then(|| {
                    MountKind::of(&props::get(v, Some("volume"), "volume").unwrap_or_default())
                })
                .flatten()
                && !vols.contains(&vol)
            {
                vols.push(vol);
            }
        }
    }
    for v in vols.iter().filter(|v| v.is_base() && v.name == v.leaf()) {
        let marker = format!("{}:{}/", v.storage, v.name);
        let in_use = std::fs::read_dir(node.root.conf_dir())?
            .filter_map(|e| e.ok())
            .any(|e| {
                e.path() != node.root.conf_path(vmid)
                    && std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&marker))
            });
        if in_use {
            return Err(Failure::Task(format!(
                "base volume '{}' is still in use by linked clones",
                v.name
            )));
        }
    }
    for v in &vols {
        // Snapshots of the volume go with it.
        storages.free(v).map_err(|e| Failure::Task(e.to_string()))?;
    }
    let _ = std::fs::remove_dir_all(node.root.lxc_dir(vmid));
    std::fs::remove_file(node.root.conf_path(vmid))?;
    Ok(())
}
