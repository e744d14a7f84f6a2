//! `exec`, `push` and `pull`: through `lxc-attach`, so owners inside the CT are the
//! CT's own and the id map shifts them on the host.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Stdio;

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;

fn host_path(node: &Node, p: &str) -> PathBuf {
    if p.starts_with('/') {
        node.root.join(p)
    } else {
        PathBuf::from(p)
    }
}

fn running(node: &Node, vmid: u32) -> Result<bool> {
    Ok(node.exists(vmid) && node.state(vmid)? == State::Running)
}

pub(crate) fn exec(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &|_| None, true)?;
    if p.pos.is_empty() {
        return Err(Failure::Usage("400 not enough arguments".into()));
    }
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let mut cmd: Vec<String> = p.pos[1..].to_vec();
    cmd.extend(p.extra.iter().cloned());
    node.load(vmid)?;
    if cmd.is_empty() {
        return Err(Failure::Die(
            "missing command at /usr/share/perl5/PVE/CLI/pct.pm line 207.".into(),
        ));
    }
    crate::pct::need_host()?;
    if node.state(vmid)? != State::Running {
        return Err(Failure::Die(format!("container '{vmid}' not running!")));
    }
    node.lxc
        .attach(vmid, &cmd)
        .map_err(|e| Failure::Die(e.to_string()))
}

fn kind(name: &str) -> Option<OptKind> {
    matches!(name, "user" | "group" | "perms").then_some(OptKind::Value)
}

fn perms(p: &args::Parsed) -> Result<Option<u32>> {
    p.get("perms")
        .map(|v| {
            let parsed = match v.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16),
                None => u32::from_str_radix(v, 8),
            };
            parsed.map_err(|_| Failure::Task(format!("invalid permissions: '{v}'")))
        })
        .transpose()
}

pub(crate) fn push(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &kind, false)?;
    args::positionals(&p, &["vmid", "file", "destination"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    crate::pct::need_host()?;
    if !running(node, vmid)? {
        return Err(Failure::Task("can only push files to a running CT".into()));
    }
    let src = host_path(node, &p.pos[1]);
    let dest = p.pos[2].clone();
    let file = std::fs::File::open(&src)
        .map_err(|e| Failure::Task(format!("failed to open {}: {e}", src.display())))?;
    let mode = perms(&p)?.unwrap_or(file.metadata()?.mode() & 0o7777);
    let task = |e: crate::lxc::LxcError| Failure::Task(e.to_string());
    // Written by the CT's root inside the CT, so the id map shifts the owner on the host.
    node.lxc
        .attach_io(
            vmid,
            &["tee".into(), dest.clone()],
            Stdio::from(file),
            Stdio::null(),
        )
        .map_err(task)?;
    let owner = format!(
        "{}:{}",
        p.get("user").unwrap_or("0"),
        p.get("group").unwrap_or("0")
    );
    node.lxc
        .attach_io(
            vmid,
            &["chown".into(), owner, dest.clone()],
            Stdio::null(),
            Stdio::null(),
        )
        .map_err(task)?;
    node.lxc
        .attach_io(
            vmid,
            &["chmod".into(), format!("{mode:o}"), dest],
            Stdio::null(),
            Stdio::null(),
        )
        .map_err(task)?;
    Ok(0)
}

pub(crate) fn pull(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &kind, false)?;
    args::positionals(&p, &["vmid", "path", "destination"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    crate::pct::need_host()?;
    if !running(node, vmid)? {
        return Err(Failure::Task(
            "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 457."
                .into(),
        ));
    }
    let dest = host_path(node, &p.pos[2]);
    let tmp = dest.with_file_name(format!(
        ".{}.pull.{}",
        dest.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    if let Some(d) = dest.parent() {
        std::fs::create_dir_all(d)?;
    }
    let out = std::fs::File::create(&tmp)?;
    let copied = node.lxc.attach_io(
        vmid,
        &["cat".into(), p.pos[1].clone()],
        Stdio::null(),
        Stdio::from(out),
    );
    let finish = (|| -> Result<()> {
        copied.map_err(|e| Failure::Task(e.to_string()))?;
        let id = |v: Option<&str>, what: &str| -> Result<Option<u32>> {
            match v {
                None | Some("root") => Ok(v.map(|_| 0)),
                Some(n) => n
                    .parse()
                    .map(Some)
                    .map_err(|_| Failure::Task(format!("unknown {what} '{n}' on the host"))),
            }
        };
        std::os::unix::fs::chown(
            &tmp,
            id(p.get("user"), "user")?,
            id(p.get("group"), "group")?,
        )?;
        std::fs::set_permissions(
            &tmp,
            std::fs::Permissions::from_mode(perms(&p)?.unwrap_or(0o644)),
        )?;
        std::fs::rename(&tmp, &dest)?;
        Ok(())
    })();
    if finish.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    finish.map(|()| 0)
}
