//! Pass (b): semantic checks on the typed model, the rules a schema cannot say.

mod container;
mod graph;
mod host;
mod network;

use std::collections::BTreeMap;

use super::Finding;
use crate::ids::Ctid;
use crate::model::Fleet;
use crate::model::container::Container;
use crate::model::vm::Vm;
use crate::schema::ConfigFile;

/// A guest by id: a container, or a VM with its index in `vms`.
#[derive(Clone, Copy)]
pub(super) enum Guest<'a> {
    Container(&'a Container),
    Vm(usize, &'a Vm),
}

/// What every check reads: the fleet, an index of guests by id, and the findings.
pub(super) struct Ctx<'a> {
    pub fleet: &'a Fleet,
    pub guests: BTreeMap<Ctid, Guest<'a>>,
    pub out: Vec<Finding>,
}

impl<'a> Ctx<'a> {
    pub fn containers(&self) -> impl Iterator<Item = (Ctid, &'a Container)> + use<'a> {
        self.fleet.lxc.lxc_configs.iter().map(|(id, c)| (*id, c))
    }

    pub fn vms(&self) -> impl Iterator<Item = (usize, &'a Vm)> + use<'a> {
        self.fleet.vm.iter().flat_map(|f| f.vms.iter().enumerate())
    }

    pub fn error(
        &mut self,
        file: ConfigFile,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.out.push(Finding::error(file, pointer, message));
    }

    pub fn warning(
        &mut self,
        file: ConfigFile,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.out.push(Finding::warning(file, pointer, message));
    }
}

/// The pointer of a container.
pub(super) fn ct(id: Ctid) -> String {
    format!("/lxc_configs/{id}")
}

/// "in phoenix_vm_configs.json" when `other` differs from `here`, else nothing.
pub(super) fn elsewhere(here: ConfigFile, other: ConfigFile) -> String {
    if here == other {
        String::new()
    } else {
        format!(" in {}", other.file_name())
    }
}

/// Every semantic finding of a fleet.
pub(crate) fn check(fleet: &Fleet) -> Vec<Finding> {
    let mut guests = BTreeMap::new();
    for (id, c) in &fleet.lxc.lxc_configs {
        guests.insert(*id, Guest::Container(c));
    }
    let mut ctx = Ctx {
        fleet,
        guests,
        out: Vec::new(),
    };
    graph::unique_ids(&mut ctx);
    graph::creation(&mut ctx);
    graph::references(&mut ctx);
    graph::cycles(&mut ctx);
    graph::boot_order(&mut ctx);
    network::addresses(&mut ctx);
    network::subnets(&mut ctx);
    container::resources(&mut ctx);
    container::features(&mut ctx);
    container::security(&mut ctx);
    container::id_maps(&mut ctx);
    container::mounts(&mut ctx);
    container::gateways(&mut ctx);
    host::shared_volumes(&mut ctx);
    host::shared_volume_owners(&mut ctx);
    host::storage(&mut ctx);
    host::nvidia(&mut ctx);
    ctx.out
}
