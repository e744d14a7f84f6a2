//! Per-container checks: resources, features, AppArmor and raw LXC keys, idmaps,
//! mounts and gateway routes.

use std::collections::HashMap;

use super::{Ctx, ct, elsewhere};
use crate::check::suggest;
use crate::diagnostic::escape_segment;
use crate::features;
use crate::model::container::mount_targets;
use crate::schema::ConfigFile::{self, Hypervisor, Lxc, Vm};

/// The schema checks these too; repeated here for fleets built in code.
pub(super) fn resources(ctx: &mut Ctx<'_>) {
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        for (field, value, min) in [
            ("memory_mb", c.memory_mb, 16),
            ("cores", c.cores, 1),
            ("storage_size_gb", c.storage_size_gb, 1),
        ] {
            if value < min {
                let pointer = format!("{}/{field}", ct(id));
                ctx.error(
                    Lxc,
                    &pointer,
                    format!("invalid value {value} at {pointer}: must be at least {min}"),
                );
            }
        }
    }
}

pub(super) fn features(ctx: &mut Ctx<'_>) {
    let mut uses: Vec<(ConfigFile, String, String)> = Vec::new();
    for (id, c) in ctx.containers() {
        for (i, f) in c.features.iter().enumerate() {
            uses.push((Lxc, format!("{}/features/{i}", ct(id)), f.to_string()));
        }
    }
    for (n, vm) in ctx.vms() {
        for (i, f) in vm.features.iter().enumerate() {
            uses.push((Vm, format!("/vms/{n}/features/{i}"), f.to_string()));
        }
    }
    for (file, pointer, name) in uses {
        if features::is_known(&name) {
            continue;
        }
        if features::lacks_installer(&name) {
            ctx.warning(
                file,
                &pointer,
                format!(
                    "feature \"{name}\" at {pointer}: an old system's feature this phoenix version has no installer for; it is not installed"
                ),
            );
            continue;
        }
        let names = features::KNOWN.iter().chain(features::WITHOUT_INSTALLER);
        let hint = suggest(&name, names.copied())
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        ctx.error(
            file,
            &pointer,
            format!(
                "unknown feature \"{name}\" at {pointer}: known features are {}{hint}",
                features::KNOWN.join(", ")
            ),
        );
    }
}

/// AppArmor, privileges and raw `lxc.*` lines.
pub(super) fn security(ctx: &mut Ctx<'_>) {
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        let base = ct(id);
        if let Some(profile) = &c.apparmor_profile
            && profile.is_unconfined()
        {
            let pointer = format!("{base}/apparmor_profile");
            ctx.warning(
                Lxc,
                &pointer,
                format!("apparmor_profile unconfined at {pointer}: the container runs without AppArmor confinement"),
            );
        }
        if !c.unprivileged {
            let pointer = format!("{base}/unprivileged");
            ctx.warning(
                Lxc,
                &pointer,
                format!(
                    "privileged container at {pointer}: root in the container is root on the host"
                ),
            );
        }
        for (i, option) in c.lxc_options.iter().enumerate() {
            let pointer = format!("{base}/lxc_options/{i}");
            super::lxc_options::check(ctx, c, &pointer, option.key(), option.value());
        }
        super::lxc_options::extra_rules(ctx, c, &base);
    }
}

/// No two mounts of a container at the same path (one would hide the other).
pub(super) fn mounts(ctx: &mut Ctx<'_>) {
    let mut by_container: HashMap<crate::ids::Ctid, Vec<(ConfigFile, String, String)>> =
        HashMap::new();
    for (id, c) in ctx.containers() {
        let list = by_container.entry(id).or_default();
        for (suffix, path) in mount_targets(c) {
            list.push((Lxc, format!("{}/{suffix}", ct(id)), path.to_string()));
        }
    }
    for (name, v) in &ctx.fleet.hypervisor.shared_volumes {
        for (id, path) in &v.mounts {
            if let Some(list) = by_container.get_mut(id) {
                let pointer = format!("/shared_volumes/{}/mounts/{id}", escape_segment(name));
                list.push((Hypervisor, pointer, path.to_string()));
            }
        }
    }
    let mut ids: Vec<_> = by_container.keys().copied().collect();
    ids.sort();
    for id in ids {
        let list = &by_container[&id];
        let mut first: HashMap<&str, (ConfigFile, &str)> = HashMap::new();
        let mut found = Vec::new();
        for (file, pointer, path) in list {
            match first.get(path.as_str()) {
                Some((f0, p0)) => found.push((
                    *file,
                    pointer.clone(),
                    format!(
                        "duplicate mount target {path} at {pointer}: container {id} also mounts a volume there ({p0}{})",
                        elsewhere(*file, *f0)
                    ),
                )),
                None => {
                    first.insert(path, (*file, pointer));
                }
            }
        }
        for (file, pointer, message) in found {
            ctx.error(file, pointer, message);
        }
    }
}

/// Gateway sections say how to reach the container, and no two claim one route.
pub(super) fn gateways(ctx: &mut Ctx<'_>) {
    let mut routes: HashMap<(String, String), crate::ids::Ctid> = HashMap::new();
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        let Some(g) = &c.gateway else { continue };
        let pointer = format!("{}/gateway", ct(id));
        if g.hostnames.is_empty() && g.path_prefix.is_none() {
            ctx.error(
                Lxc,
                &pointer,
                format!("gateway at {pointer}: needs hostnames or a path_prefix to route to the container"),
            );
            continue;
        }
        let path = g
            .path_prefix
            .as_ref()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let hosts: Vec<String> = if g.hostnames.is_empty() {
            vec![String::from("*")]
        } else {
            g.hostnames
                .iter()
                .map(|h| h.as_str().to_ascii_lowercase())
                .collect()
        };
        for host in hosts {
            match routes.get(&(host.clone(), path.clone())) {
                Some(other) => ctx.error(
                    Lxc,
                    &pointer,
                    format!("gateway route at {pointer}: host {host} path {path} is already routed to container {other}"),
                ),
                None => {
                    routes.insert((host, path.clone()), id);
                }
            }
        }
    }
}
