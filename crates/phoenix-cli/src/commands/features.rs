//! `phoenix features list`: every feature phoenix knows, what it requires, what it
//! changes in Proxmox and what it installs.

use phoenix_orchestrator::config::{Container, HypervisorFile, LxcFile};
use phoenix_orchestrator::features::{HostFacts, Registry, Request};
use serde_json::json;

use crate::global::Global;

/// Arguments of `phoenix features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Every known feature.
    List,
}

/// Prints the list.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let Sub::List = args.command;
    let registry = Registry::builtin();
    let hypervisor: HypervisorFile = serde_json::from_value(json!({}))?;
    let lxc: LxcFile = serde_json::from_value(json!({"lxc_configs": {}}))?;
    // No host is looked at: what depends on it (GPU nodes) is said, not listed.
    let host = HostFacts::default();
    let mut rows = Vec::new();
    let names = phoenix_orchestrator::config::features::KNOWN
        .iter()
        .chain(phoenix_orchestrator::config::features::WITHOUT_INSTALLER);
    for name in names {
        // A container with only this feature and default settings.
        let ct: Container = serde_json::from_value(json!({
            "name": "example", "memory_mb": 512, "cores": 1, "storage_pool": "local",
            "storage_size_gb": 4, "template": "local:vztmpl/debian-12.tar.zst",
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.2/24"},
            "features": [name]
        }))?;
        let req = Request {
            vmid: 100,
            container: &ct,
            hypervisor: &hypervisor,
            lxc: &lxc,
            host: &host,
        };
        let r = registry.requirements(name, &req)?.unwrap_or_default();
        let installer = registry.installer(name);
        let mut proxmox = Vec::new();
        let f = &r.pct_features;
        for (k, v) in [
            ("nesting", f.nesting),
            ("keyctl", f.keyctl),
            ("fuse", f.fuse),
            ("mknod", f.mknod),
        ] {
            if v == Some(true) {
                proxmox.push(format!("features {k}=1"));
            }
        }
        proxmox.extend(r.devices.iter().map(|d| format!("devN {d}")));
        proxmox.extend(r.lxc_lines.iter().map(|(k, v)| format!("{k}: {v}")));
        if let Some(a) = &r.apparmor {
            proxmox.push(format!(
                "lxc.apparmor.profile {}{}",
                a.profile,
                if a.overrides_config {
                    " (overrides the config's)"
                } else {
                    ""
                }
            ));
        }
        rows.push(json!({
            "name": name,
            "installer": installer.is_some(),
            "requires": r.features,
            "proxmox": proxmox,
            "installs": installer.map(|i| i.describe()).unwrap_or("nothing yet: no installer in this phoenix version"),
            "why": r.reasons,
        }));
    }
    if global.json() {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for r in &rows {
        println!(
            "{}{}",
            r["name"].as_str().unwrap_or_default(),
            if r["installer"] == true {
                ""
            } else {
                " (known, no installer yet)"
            }
        );
        let list = |v: &serde_json::Value| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default()
        };
        if !list(&r["requires"]).is_empty() {
            println!("  requires  {}", list(&r["requires"]));
        }
        if !list(&r["proxmox"]).is_empty() {
            println!("  proxmox   {}", list(&r["proxmox"]));
        }
        println!("  installs  {}", r["installs"].as_str().unwrap_or_default());
    }
    Ok(())
}
