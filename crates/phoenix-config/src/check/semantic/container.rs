//! Per-container checks: resources, features, AppArmor and raw LXC keys, idmaps,
//! mounts and gateway routes.

use std::collections::HashMap;

use super::{Ctx, ct, elsewhere};
use crate::check::suggest;
use crate::diagnostic::escape_segment;
use crate::features;
use crate::model::apparmor::Capability;
use crate::model::container::{IdMapKind, IdMapSpec, mount_targets};
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
            let (key, value) = (option.key(), option.value());
            match key {
                "lxc.apparmor.profile" => match &c.apparmor_profile {
                    Some(p) if p.as_str() == value => ctx.warning(
                        Lxc,
                        &pointer,
                        format!("redundant {key} at {pointer}: apparmor_profile already sets \"{value}\"; remove this line"),
                    ),
                    Some(p) => ctx.error(
                        Lxc,
                        &pointer,
                        format!("{key} at {pointer}: sets \"{value}\" but apparmor_profile sets \"{p}\"; phoenix writes this key from apparmor_profile"),
                    ),
                    None if value == "unconfined" => ctx.warning(
                        Lxc,
                        &pointer,
                        format!("{key}=unconfined at {pointer}: the container runs without AppArmor confinement"),
                    ),
                    None => {}
                },
                "lxc.idmap" if !c.id_maps.is_empty() => ctx.error(
                    Lxc,
                    &pointer,
                    format!("{key} at {pointer}: phoenix writes lxc.idmap from id_maps; move this entry there"),
                ),
                "lxc.cap.keep" | "lxc.cap.drop" => {
                    // LXC splits the value on spaces and tabs only; each item must be a
                    // capability name or number, or the container fails to start.
                    for item in value.split([' ', '\t']).filter(|s| !s.is_empty()) {
                        let known = Capability::NAMES.contains(&item)
                            || item.bytes().all(|b| b.is_ascii_digit())
                            || (key == "lxc.cap.keep" && item == "none");
                        if !known {
                            ctx.error(
                                Lxc,
                                &pointer,
                                format!(
                                    "invalid capability \"{item}\" at {pointer}: {key} takes capability names separated by spaces, like \"sys_admin mknod\""
                                ),
                            );
                        }
                    }
                }
                "lxc.cgroup2.devices.allow" | "lxc.cgroup.devices.allow" if value == "a" => ctx.warning(
                    Lxc,
                    &pointer,
                    format!("{key}=a at {pointer}: gives the container access to every host device"),
                ),
                _ => {}
            }
        }
    }
}

pub(super) fn id_maps(ctx: &mut Ctx<'_>) {
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        if c.id_maps.is_empty() {
            continue;
        }
        let base = format!("{}/id_maps", ct(id));
        if !c.unprivileged {
            ctx.error(
                Lxc,
                &base,
                format!("id_maps at {base}: a privileged container (unprivileged: false) has no user namespace to map"),
            );
            continue;
        }
        let entries: Vec<_> = c.id_maps.iter().map(|m| m.to_entry()).collect();
        for (i, e) in entries.iter().enumerate() {
            if !e.fits_id_space() {
                let pointer = format!("{base}/{i}");
                ctx.error(
                    Lxc,
                    &pointer,
                    format!(
                        "invalid id map '{e}' at {pointer}: the range ends beyond id 4294967295"
                    ),
                );
            }
        }
        let maps_root = |kind: IdMapKind| {
            c.id_maps
                .iter()
                .any(|m| m.kind == kind && m.container_start == 0)
        };
        let missing = match (maps_root(IdMapKind::Uid), maps_root(IdMapKind::Gid)) {
            (false, false) => Some("uid 0 and no container gid 0"),
            (false, true) => Some("uid 0"),
            (true, false) => Some("gid 0"),
            (true, true) => None,
        };
        if let Some(missing) = missing {
            ctx.error(
                Lxc,
                &base,
                format!(
                    "id_maps at {base}: maps no container {missing}; id_maps replaces Proxmox's default map as a whole, so container root would have no host id and the container cannot start; map the rest too, like {}",
                    complete_map(&c.id_maps)
                ),
            );
        }
        if let Err(err) = phoenix_idmap::validate_entries(&entries) {
            let phoenix_idmap::IdMapError::Overlap { entry, .. } = &err;
            let i = entries.iter().rposition(|e| e == entry).unwrap_or(0);
            let pointer = format!("{base}/{i}");
            ctx.error(Lxc, &pointer, format!("id map at {pointer}: {err}"));
        }
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

/// The map `entries` describe, completed with Proxmox's default (container id `n`
/// to host id 100000 + `n`, for ids below 65536) wherever they leave a gap, as
/// `lxc.idmap` triples joined by "; ".
fn complete_map(entries: &[IdMapSpec]) -> String {
    let mut out = Vec::new();
    for (kind, letter) in [(IdMapKind::Uid, "u"), (IdMapKind::Gid, "g")] {
        let mut own: Vec<&IdMapSpec> = entries.iter().filter(|m| m.kind == kind).collect();
        own.sort_by_key(|m| m.container_start);
        let mut next: u64 = 0;
        for m in own {
            let start = u64::from(m.container_start);
            if start > next && next < 65536 {
                let end = start.min(65536);
                out.push(format!("{letter} {next} {} {}", 100_000 + next, end - next));
            }
            out.push(format!(
                "{letter} {} {} {}",
                m.container_start, m.host_start, m.count
            ));
            next = next.max(start + u64::from(m.count));
        }
        if next < 65536 {
            out.push(format!(
                "{letter} {next} {} {}",
                100_000 + next,
                65536 - next
            ));
        }
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_map_is_completed_with_the_default() {
        let entries = [IdMapSpec {
            kind: IdMapKind::Gid,
            container_start: 33,
            host_start: 33,
            count: 1,
        }];
        assert_eq!(
            complete_map(&entries),
            "u 0 100000 65536; g 0 100000 33; g 33 33 1; g 34 100034 65502"
        );
    }
}
