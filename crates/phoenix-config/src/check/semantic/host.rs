//! Checks on the hypervisor file: shared volumes, storage declarations and the
//! NVIDIA driver version containers must match.

use super::{Ctx, Guest};
use crate::diagnostic::escape_segment;
use crate::ids::Ctid;
use crate::model::container::IdMapKind;
use crate::schema::ConfigFile::{Hypervisor, Lxc};

pub(super) fn shared_volumes(ctx: &mut Ctx<'_>) {
    let volumes = &ctx.fleet.hypervisor.shared_volumes;
    for (name, volume) in volumes {
        for id in volume.mounts.keys() {
            let pointer = format!("/shared_volumes/{}/mounts/{id}", escape_segment(name));
            match ctx.guests.get(id) {
                Some(Guest::Container(_)) => {}
                Some(Guest::Vm(..)) => ctx.error(
                    Hypervisor,
                    &pointer,
                    format!("shared volume mount at {pointer}: {id} is a VM; shared volumes are bind mounts into containers"),
                ),
                None => ctx.error(
                    Hypervisor,
                    &pointer,
                    format!("unknown container {id} at {pointer}: no container has this id"),
                ),
            }
        }
    }
}

/// The host uid a container uid maps to: identity for a privileged container,
/// Proxmox's default map (0..65536 to 100000..) or the container's `id_maps`.
fn host_id(c: &crate::model::container::Container, kind: IdMapKind, id: u32) -> Option<u32> {
    if !c.unprivileged {
        return Some(id);
    }
    if c.id_maps.is_empty() {
        return (id < 65536).then(|| 100_000 + id);
    }
    c.id_maps
        .iter()
        .filter(|m| m.kind == kind)
        .find_map(|m| m.to_entry().host_id_of_container_id(id))
}

/// A shared volume's owner is one host id: every container mounting it must map
/// `owner_uid`/`owner_gid` to the same host id, or the owner is right in one
/// container and `nobody` in the others.
pub(super) fn shared_volume_owners(ctx: &mut Ctx<'_>) {
    let volumes = &ctx.fleet.hypervisor.shared_volumes;
    for (name, volume) in volumes {
        for (field, kind, owner) in [
            ("owner_uid", IdMapKind::Uid, volume.owner_uid),
            ("owner_gid", IdMapKind::Gid, volume.owner_gid),
        ] {
            let Some(owner) = owner else { continue };
            let pointer = format!("/shared_volumes/{}/{field}", escape_segment(name));
            let mut first: Option<(Ctid, u32)> = None;
            for id in volume.mounts.keys() {
                let Some(Guest::Container(c)) = ctx.guests.get(id).copied() else {
                    continue;
                };
                match (host_id(c, kind, owner), first) {
                    (None, _) => ctx.error(
                        Hypervisor,
                        &pointer,
                        format!("{field} {owner} at {pointer}: container {id} does not map it to any host id"),
                    ),
                    (Some(h), None) => first = Some((*id, h)),
                    (Some(h), Some((first_id, first_h))) if h != first_h => ctx.error(
                        Hypervisor,
                        &pointer,
                        format!(
                            "{field} {owner} at {pointer}: container {first_id} maps it to host id {first_h} but container {id} to {h}, so one of them sees the wrong owner"
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// Datasets name declared pools; Samba shares name declared datasets.
pub(super) fn storage(ctx: &mut Ctx<'_>) {
    let h = &ctx.fleet.hypervisor;
    let Some(zfs) = &h.zfs else { return };
    for (i, d) in zfs.datasets.iter().enumerate() {
        if !zfs.pools.iter().any(|p| p.name == d.pool) {
            let pointer = format!("/zfs/datasets/{i}/pool");
            ctx.error(
                Hypervisor,
                &pointer,
                format!(
                    "unknown pool \"{}\" at {pointer}: zfs.pools declares no such pool",
                    d.pool
                ),
            );
        }
    }
    let Some(samba) = &h.samba else { return };
    for (i, share) in samba.shares.iter().enumerate() {
        let declared = zfs
            .datasets
            .iter()
            .any(|d| format!("{}/{}", d.pool, d.name) == share.path.as_str());
        if !declared {
            let pointer = format!("/samba/shares/{i}/path");
            ctx.error(
                Hypervisor,
                &pointer,
                format!(
                    "unknown dataset {} at {pointer}: zfs.datasets declares no such dataset, so the share would point at a directory phoenix never creates",
                    share.path
                ),
            );
        }
    }
}

/// The NVIDIA user-space driver in containers must be the host kernel module's version;
/// a container with the `nvidia` feature and `gpu_assignment` `none` says two things.
pub(super) fn nvidia(ctx: &mut Ctx<'_>) {
    let contradicting: Vec<String> = ctx
        .containers()
        .filter(|(_, c)| {
            c.features.iter().any(|f| f.as_str() == "nvidia")
                && c.gpu_assignment
                    .as_ref()
                    .is_some_and(|g| g.selection() == crate::GpuSelection::None)
        })
        .map(|(id, _)| format!("{}/gpu_assignment", super::ct(id)))
        .collect();
    for pointer in contradicting {
        ctx.error(
            Lxc,
            &pointer,
            format!(
                "gpu_assignment \"none\" at {pointer}: the container lists the nvidia feature, which passes GPUs through; set \"0\", \"0,1\" or \"all\", or remove the feature"
            ),
        );
    }
    let (Some(ct_version), Some(host)) = (
        &ctx.fleet.lxc.nvidia_driver_version,
        &ctx.fleet.hypervisor.nvidia_driver,
    ) else {
        return;
    };
    if *ct_version != host.version {
        ctx.error(
            Lxc,
            "/nvidia_driver_version",
            format!(
                "NVIDIA driver {ct_version} at /nvidia_driver_version: the host installs {} (nvidia_driver.version in {}); containers must use the host's version",
                host.version,
                Hypervisor.file_name()
            ),
        );
    }
}
