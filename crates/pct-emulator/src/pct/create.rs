//! `pct create <vmid> <ostemplate>`: a volume, the extracted template with shifted
//! owners, and the conf with Proxmox's create defaults.

use std::path::{Path, PathBuf};
use std::process::Command;

use phoenix_pveconf::conf::CtConf;

use crate::error::{Failure, Result};
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;
use crate::pct::{props, schema};
use crate::shift::{OwnerMap, shift_tree};
use crate::storage::VolId;

const CREATE_ONLY: &[(&str, OptKind)] = &[
    ("storage", OptKind::Value),
    ("password", OptKind::Value),
    ("ssh-public-keys", OptKind::Value),
    ("pool", OptKind::Value),
    ("bwlimit", OptKind::Value),
    ("start", OptKind::Bool),
    ("force", OptKind::Bool),
    ("unique", OptKind::Bool),
    ("restore", OptKind::Bool),
    ("ignore-unpack-errors", OptKind::Bool),
    ("ha-managed", OptKind::Bool),
];

fn kind(name: &str) -> Option<OptKind> {
    CREATE_ONLY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
        .or_else(|| schema::config_key(name))
}

/// The argv that extracts a template (gzip, xz or zstd, detected by tar) into `dir`,
/// keeping the archive's numeric owners and leaving out device nodes, as Proxmox does.
pub fn extract_argv(archive: &Path, dir: &Path) -> Vec<String> {
    vec![
        "tar".into(),
        "-xpf".into(),
        archive.display().to_string(),
        "--numeric-owner".into(),
        "--xattrs".into(),
        "--exclude=./dev/*".into(),
        "-C".into(),
        dir.display().to_string(),
    ]
}

pub(crate) fn run(node: &Node, rest: &[String]) -> Result<i32> {
    let p = args::parse(rest, &kind, false)?;
    args::positionals(&p, &["vmid", "ostemplate"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let template = p.pos[1].clone();
    let mut conf_opts: Vec<(String, String)> = vec![];
    for (k, v) in &p.opts {
        if schema::config_key(k).is_some() && k != "unprivileged" {
            conf_opts.push((k.clone(), schema::normalize(k, v)?));
        }
    }
    let unprivileged = p.get("unprivileged") != Some("0");
    if let Some(pw) = p.get("password").filter(|pw| pw.len() < 5) {
        let _ = pw;
        return Err(Failure::param(
            "password",
            "value must be at least 5 characters long",
        ));
    }
    // Proxmox checks the id before the storage (check_vmid_unused comes first).
    node.check_free(vmid)?;
    let storages = node.storages()?;
    let storage = p.get("storage").unwrap_or("local").to_owned();
    let rootfs = p
        .get("rootfs")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{storage}:4"));
    let rootfs = if rootfs
        .split(',')
        .next()
        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit()))
    {
        format!("{storage}:{rootfs}")
    } else {
        rootfs
    };
    let volume = props::get(&rootfs, Some("volume"), "volume").unwrap_or_default();
    let (store, size) = volume
        .split_once(':')
        .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| Failure::param("rootfs", format!("invalid format - volume '{volume}' is not a new allocation (STORAGE:SIZE_IN_GiB)")))?;
    let st = storages
        .storage(store)
        .map_err(|e| Failure::param("storage", e.to_string()))?;
    if !st.has_content("rootdir") {
        return Err(Failure::param(
            "storage",
            format!("storage '{store}' does not support container directories"),
        ));
    }
    let archive: PathBuf = match VolId::parse(&template) {
        Some(v) => storages.path(&v).map_err(|e| Failure::Die(e.to_string()))?,
        None if template.starts_with('/') => node.root.join(&template),
        None => {
            return Err(Failure::Die(format!(
                "unable to parse volume ID '{template}'"
            )));
        }
    };
    if !archive.is_file() {
        return Err(Failure::Die(format!("volume '{template}' does not exist")));
    }
    // `--ssh-public-keys <file>`: a host path, so under the root.
    let ssh_keys = match p.get("ssh-public-keys") {
        Some(f) => Some(std::fs::read_to_string(node.root.join(f)).map_err(|e| {
            Failure::param("ssh-public-keys", format!("unable to read '{f}': {e}"))
        })?),
        None => None,
    };
    crate::pct::need_host()?;

    let guard = node.lock(vmid)?;
    node.check_free(vmid)?;
    let mut conf = CtConf::new();
    set(&mut conf, "lock", "create")?;
    node.store(vmid, &conf)?;
    drop(guard);

    let result = (|| -> Result<()> {
        let vol = storages
            .alloc(store, vmid)
            .map_err(|e| Failure::Die(e.to_string()))?;
        let dir = storages
            .path(&vol)
            .map_err(|e| Failure::Die(e.to_string()))?;
        let cleanup = |e: Failure| {
            let _ = storages.free(&vol);
            e
        };
        let argv = extract_argv(&archive, &dir);
        crate::out::line(format!("extracting archive '{}'", archive.display()));
        let out = Command::new(&argv[0]).args(&argv[1..]).output()?;
        if !out.status.success() {
            return Err(cleanup(Failure::Die(format!(
                "command '{}' failed: {}",
                argv.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))));
        }
        let map = OwnerMap::effective(unprivileged, vec![]);
        shift_tree(&dir, &map).map_err(|e| cleanup(Failure::Die(e.to_string())))?;
        // PVE::LXC::Setup->new: detected, and the detected type wins over --ostype.
        let requested = conf_opts
            .iter()
            .find(|(k, _)| k == "ostype")
            .map(|(_, o)| o.as_str());
        let (ostype, warnings) =
            crate::setup::choose_ostype(&dir, requested).map_err(|e| cleanup(Failure::Die(e)))?;
        for w in warnings {
            crate::out::line(w);
        }
        let hostname = conf_opts
            .iter()
            .find(|(k, _)| k == "hostname")
            .map(|(_, h)| h.clone());
        let hostname = hostname.unwrap_or_else(|| format!("CT{vmid}"));
        if let Some(keys) = &ssh_keys {
            crate::guest::write_file(
                &dir,
                "/root/.ssh/authorized_keys",
                keys.as_bytes(),
                (0o600, 0o700),
                &map,
            )
            .map_err(|e| cleanup(Failure::Die(e.to_string())))?;
        }
        let rootfs_value = props::with(&rootfs, Some("volume"), "volume", &vol.to_string());
        let rootfs_value = props::with(&rootfs_value, Some("volume"), "size", &format!("{size}G"));
        let mut conf = CtConf::new();
        set(&mut conf, "arch", p.get("arch").unwrap_or("amd64"))?;
        set(&mut conf, "ostype", &ostype)?;
        set(&mut conf, "hostname", &hostname)?;
        set(&mut conf, "memory", "512")?;
        set(&mut conf, "swap", "512")?;
        for (k, v) in &conf_opts {
            if k == "description" {
                conf.set_description(v);
            } else if k != "rootfs" && k != "ostype" {
                set(&mut conf, k, v)?;
            }
        }
        set(
            &mut conf,
            "rootfs",
            &schema::canonical_mount("rootfs", &rootfs_value)?,
        )?;
        if unprivileged {
            set(&mut conf, "unprivileged", "1")?;
        }
        // post_create_hook: hostname, /etc/hosts and /etc/resolv.conf in the guest.
        crate::setup::apply(&dir, &conf, &map, &node.host_resolv())
            .map_err(|e| cleanup(Failure::Die(e.to_string())))?;
        let _g = node.lock(vmid)?;
        node.store(vmid, &conf)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(node.root.conf_path(vmid));
        return Err(Failure::Task(format!("unable to create CT {vmid} - {e}")));
    }
    if p.flag("start") {
        return crate::pct::power::start(node, vmid, false).map(|()| 0);
    }
    Ok(0)
}

pub(crate) fn set(conf: &mut CtConf, k: &str, v: &str) -> Result<()> {
    conf.set(k, v).map_err(|e| Failure::Die(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_keeps_numeric_owners_and_skips_dev() {
        assert_eq!(
            extract_argv(Path::new("/r/t.tar.zst"), Path::new("/r/vol")).join(" "),
            "tar -xpf /r/t.tar.zst --numeric-owner --xattrs --exclude=./dev/* -C /r/vol"
        );
    }
}
