//! `phoenix idmap check|show|plan`: user-namespace maps of Proxmox CTs.

use anyhow::Context;
use camino::Utf8PathBuf;
use phoenix_orchestrator::idmap::IdMap;
use phoenix_orchestrator::idmap::idmap::{
    Delegations, MapIntent, PrivilegeProblem, SUBID_FLOOR, plan, privilege_problems, subid_floor,
};
use phoenix_orchestrator::idmap::subid::{SubIdFile, SubIdPaths, read_optional};
use phoenix_orchestrator::pveconf::Vmid;
use phoenix_orchestrator::pveconf::conf::{CtConf, io::conf_path, io::read_optional_conf};
use phoenix_orchestrator::pveconf::idmap::{ConfIdMapCheck, check_conf};
use serde_json::{Value, json};

use phoenix_orchestrator::hostfs::read_input;

use crate::exit::{Reported, invalid};
use crate::global::Global;

/// Arguments of `phoenix idmap`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Validate the lxc.idmap entries of a CT conf file exactly as Proxmox does
    /// (exit 2 with Proxmox's message when invalid); phoenix's warnings go to stderr.
    Check {
        /// The conf file (`/etc/pve/lxc/<CTID>.conf` or a copy).
        file: Utf8PathBuf,
    },
    /// Show a CT's effective map, root's host uid/gid and where the owners of its
    /// shared volumes land on the host.
    Show {
        /// The container id; reads `<root>/etc/pve/lxc/<CTID>.conf`.
        ctid: Vmid,
    },
    /// Plan a complete lxc.idmap from intents, plus the /etc/subuid and /etc/subgid
    /// lines it needs.
    Plan {
        /// `u`, `g` or `b` (both), container id, host id, count: `b:1000:1000:1`.
        #[arg(long = "map", value_name = "[ugb]:CT:HOST:COUNT")]
        maps: Vec<MapIntent>,
        /// Allow maps onto host ids below 100000 (the host's own system and login
        /// users); without it such a map is refused.
        #[arg(long)]
        allow_host_ids: bool,
    },
}

/// Runs `phoenix idmap`.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    match &args.command {
        Sub::Check { file } => check(file, global),
        Sub::Show { ctid } => show(*ctid, global),
        Sub::Plan {
            maps,
            allow_host_ids,
        } => {
            let p = plan(maps).map_err(invalid)?;
            refuse_privilege(
                p.entries
                    .iter()
                    .flat_map(|e| privilege_problems(e, SUBID_FLOOR)),
                *allow_host_ids,
                "pass --allow-host-ids if that is intended",
            )?;
            let subid = |ds: &[_]| ds.iter().map(ToString::to_string).collect::<Vec<String>>();
            if global.json() {
                let entries: Vec<String> = p.entries.iter().map(ToString::to_string).collect();
                let out = json!({"entries": entries, "subuid": subid(&p.subuid), "subgid": subid(&p.subgid)});
                println!("{out:#}");
            } else {
                p.conf_lines().iter().for_each(|l| println!("{l}"));
                subid(&p.subuid)
                    .iter()
                    .for_each(|l| println!("/etc/subuid: {l}"));
                subid(&p.subgid)
                    .iter()
                    .for_each(|l| println!("/etc/subgid: {l}"));
            }
            Ok(())
        }
    }
}

/// `<root>/etc/subuid` and `subgid` (a missing file delegates nothing); `None` with a
/// warning when one cannot be read.
fn subid_files(global: &Global) -> Option<(SubIdFile, SubIdFile)> {
    let paths = SubIdPaths::under(global.root().as_std_path());
    let read = |p: &std::path::Path| read_optional(p).map(Option::unwrap_or_default);
    match (read(&paths.subuid), read(&paths.subgid)) {
        (Ok(u), Ok(g)) => Some((u, g)),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!(
                "warning: delegations not checked: {:#}",
                anyhow::Error::new(e)
            );
            None
        }
    }
}

fn checked(conf: &CtConf, global: &Global) -> anyhow::Result<ConfIdMapCheck> {
    let files = subid_files(global);
    let delegations = files
        .as_ref()
        .map(|(subuid, subgid)| Delegations { subuid, subgid });
    Ok(check_conf(conf, delegations)?)
}

fn map_json(map: &IdMap, c: &ConfIdMapCheck) -> Value {
    json!({
        "source": map.source().name(),
        "unprivileged": map.unprivileged_flag(),
        "entries": map.entries().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "root": {"uid": map.root_host_uid(), "gid": map.root_host_gid()},
        "valid": c.error.is_none(),
        "error": c.error.as_ref().map(ToString::to_string),
        "warnings": c.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Refuses host root and id 4294967295 always, host ids below the floor unless
/// `allowed` (then they are listed on stderr).
fn refuse_privilege(
    problems: impl Iterator<Item = PrivilegeProblem>,
    allowed: bool,
    hint: &str,
) -> anyhow::Result<()> {
    for p in problems {
        if !p.needs_opt_in() {
            return Err(invalid(anyhow::anyhow!("phoenix refuses {p}")));
        }
        if !allowed {
            return Err(invalid(anyhow::anyhow!("phoenix refuses {p}; {hint}")));
        }
        eprintln!("note: {p} (allowed)");
    }
    Ok(())
}

fn check(file: &Utf8PathBuf, global: &Global) -> anyhow::Result<()> {
    // A regular file of at most 1 MiB (Proxmox's own limit for a conf): a FIFO or
    // device is refused at once instead of blocking.
    let bytes = read_input(file, 1024 * 1024)
        .map_err(anyhow::Error::new)
        .and_then(|b| {
            b.ok_or_else(|| {
                anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound))
                    .context(format!("cannot read {file}"))
            })
        })
        .map_err(invalid)?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("cannot read {file}: not UTF-8"))
        .map_err(invalid)?;
    let c = checked(&CtConf::parse(&text).conf, global).map_err(invalid)?;
    // A conf file cannot carry allow_host_ids: host ids below the floor are
    // listed, host root and id 4294967295 refused.
    let floor = subid_files(global).map_or(SUBID_FLOOR, |(u, g)| subid_floor(&u, &g));
    let problems = c.map.privilege_problems(floor);
    if let Some(p) = problems.iter().find(|p| !p.needs_opt_in()) {
        return Err(invalid(anyhow::anyhow!("{file}: phoenix refuses {p}")));
    }
    problems
        .iter()
        .for_each(|p| eprintln!("warning: {p} (a conf file cannot say allow_host_ids)"));
    if global.json() {
        println!("{:#}", json!({"file": file, "check": map_json(&c.map, &c)}));
        return if c.error.is_some() {
            Err(Reported::invalid())
        } else {
            Ok(())
        };
    }
    c.warnings.iter().for_each(|w| eprintln!("warning: {w}"));
    match c.error {
        Some(err) => Err(invalid(err)),
        None => {
            let n = c.map.entries().len();
            let noun = if n == 1 { "entry" } else { "entries" };
            println!("{file}: valid, {} ({n} {noun})", c.map.source());
            Ok(())
        }
    }
}

fn show(ctid: Vmid, global: &Global) -> anyhow::Result<()> {
    let root = global.root().as_std_path();
    let Some((conf, _)) = read_optional_conf(root, ctid)? else {
        anyhow::bail!(
            "configuration file '{}' does not exist",
            conf_path(root, ctid).display()
        );
    };
    let c = checked(&conf, global)?;
    let volumes = volume_owners(ctid, &c.map, global);
    if global.json() {
        println!(
            "{:#}",
            json!({"ctid": ctid.get(), "map": map_json(&c.map, &c), "volumes": volumes})
        );
        return Ok(());
    }
    c.error
        .iter()
        .for_each(|e| eprintln!("warning: proxmox: {e}"));
    c.warnings.iter().for_each(|w| eprintln!("warning: {w}"));
    println!("CT {ctid}: {}", c.map.source());
    c.map.entries().iter().for_each(|e| println!("  {e}"));
    println!(
        "root: host uid {}, host gid {}",
        c.map.root_host_uid(),
        c.map.root_host_gid()
    );
    for v in &volumes {
        // `-`: the config leaves this id alone; `unmapped`: the map has no host id for it.
        let ids = |ct: Option<u32>, host: Option<u32>| match (ct, host) {
            (None, _) => ("-".to_string(), "-".to_string()),
            (Some(ct), None) => (ct.to_string(), "unmapped".to_string()),
            (Some(ct), Some(host)) => (ct.to_string(), host.to_string()),
        };
        let ((uid, host_uid), (gid, host_gid)) = (ids(v.uid, v.host_uid), ids(v.gid, v.host_gid));
        println!(
            "{}: {} -> {}: owner {uid}:{gid} in the CT is {host_uid}:{host_gid} on the host",
            v.source, v.host_path, v.container_path
        );
    }
    Ok(())
}

/// A directory the config mounts into the CT, and where its owner lands on the host.
#[derive(Debug, serde::Serialize)]
struct VolumeOwner {
    source: String,
    host_path: String,
    container_path: String,
    uid: Option<u32>,
    gid: Option<u32>,
    host_uid: Option<u32>,
    host_gid: Option<u32>,
}

/// The CT's shared volumes and mount points from the config dir; empty, with a
/// warning, when the config cannot be loaded.
fn volume_owners(ctid: Vmid, map: &IdMap, global: &Global) -> Vec<VolumeOwner> {
    let fleet = match phoenix_config::load_dir(&global.config_dir) {
        Ok(v) => v.fleet,
        Err(e) => {
            eprintln!(
                "warning: shared volumes not shown: {:#}",
                anyhow::Error::new(e)
            );
            return Vec::new();
        }
    };
    let owner = |source: String, host: String, ct: String, uid: Option<u32>, gid: Option<u32>| {
        VolumeOwner {
            source,
            host_path: host,
            container_path: ct,
            host_uid: uid.and_then(|u| map.host_uid_of(u)),
            host_gid: gid.and_then(|g| map.host_gid_of(g)),
            uid,
            gid,
        }
    };
    let mut out = Vec::new();
    for (name, vol) in &fleet.hypervisor.shared_volumes {
        let paths = vol.mounts.iter().filter(|(id, _)| id.get() == ctid.get());
        for (_, path) in paths {
            out.push(owner(
                format!("shared volume {name}"),
                vol.host_path.to_string(),
                path.to_string(),
                vol.owner_uid,
                vol.owner_gid,
            ));
        }
    }
    let container = fleet
        .lxc
        .lxc_configs
        .iter()
        .find(|(id, _)| id.get() == ctid.get());
    for mp in container
        .map(|(_, c)| &c.mount_points)
        .into_iter()
        .flatten()
    {
        out.push(owner(
            "mount point".into(),
            mp.host_path.to_string(),
            mp.container_path.to_string(),
            Some(mp.owner_uid),
            Some(mp.owner_gid),
        ));
    }
    out
}
