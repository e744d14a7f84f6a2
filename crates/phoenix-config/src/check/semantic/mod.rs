//! Pass (b): semantic checks on the typed model, the rules a schema cannot say.

mod cluster;
mod container;
mod firewall;
mod gateway;
mod graph;
mod host;
mod host_paths;
mod lxc_options;
mod network;
mod not_applied;
mod privilege;
mod scripts;

pub use privilege::host_id_grants;
pub(crate) use scripts::ScriptIndex;

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

/// Every semantic finding of a fleet; application scripts are checked against
/// `scripts` when a scripts directory was found.
pub(crate) fn check(fleet: &Fleet, scripts: Option<&ScriptIndex>) -> Vec<Finding> {
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
    privilege::id_maps(&mut ctx);
    container::mounts(&mut ctx);
    container::gateways(&mut ctx);
    gateway::checks(&mut ctx);
    host::shared_volumes(&mut ctx);
    host_paths::host_paths(&mut ctx);
    host::shared_volume_owners(&mut ctx);
    host::storage(&mut ctx);
    host::nvidia(&mut ctx);
    cluster::checks(&mut ctx);
    firewall::duplicate_rules(&mut ctx);
    scripts::application_scripts(&mut ctx, scripts);
    scripts::health_checks(&mut ctx);
    not_applied::keys(&mut ctx);
    not_applied::plaintext_secrets(&mut ctx);
    not_applied::settings_without_feature(&mut ctx);
    ctx.out
}

#[cfg(test)]
mod tests {
    use crate::{load_dir, validate_fleet};

    fn example() -> crate::Fleet {
        let dir =
            camino::Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
        load_dir(&dir).unwrap().fleet
    }

    #[test]
    fn fleets_built_in_code_get_the_range_checks_too() {
        let mut fleet = example();
        let c = fleet.lxc.lxc_configs.values_mut().next().unwrap();
        c.memory_mb = 8;
        c.cores = 0;
        let messages: Vec<String> = validate_fleet(&fleet)
            .into_iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            messages,
            vec![
                "phoenix_lxc_configs.json: invalid value 8 at /lxc_configs/101/memory_mb: must be at least 16",
                "phoenix_lxc_configs.json: invalid value 0 at /lxc_configs/101/cores: must be at least 1",
            ]
        );
    }

    #[test]
    fn risky_settings_are_warnings() {
        let mut fleet = example();
        let c = fleet.lxc.lxc_configs.values_mut().next().unwrap();
        c.apparmor_profile = Some("unconfined".parse().unwrap());
        c.lxc_options = vec![
            "lxc.apparmor.profile=unconfined".parse().unwrap(),
            "lxc.cgroup2.devices.allow=a".parse().unwrap(),
        ];
        let d = validate_fleet(&fleet);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "apparmor_profile unconfined at /lxc_configs/101/apparmor_profile: the container runs without AppArmor confinement",
                "redundant lxc.apparmor.profile at /lxc_configs/101/lxc_options/0: apparmor_profile already sets \"unconfined\"; remove this line",
                "lxc.cgroup2.devices.allow=a at /lxc_configs/101/lxc_options/1: gives the container access to every host device",
            ]
        );
    }

    #[test]
    fn a_dependency_that_does_not_start_at_boot_is_a_warning() {
        let mut fleet = example();
        let gw = fleet.lxc.lxc_configs.values_mut().next().unwrap();
        gw.start_at_boot = false;
        let d = validate_fleet(&fleet);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[0].message,
            "dependency 101 at /lxc_configs/102/dependencies/0: 102 starts at boot but 101 does not"
        );
    }
    #[test]
    fn settings_of_a_feature_the_container_does_not_list_are_warnings() {
        let mut fleet = example();
        let vllm = fleet
            .lxc
            .lxc_configs
            .values_mut()
            .find(|c| c.features.iter().any(|f| f.as_str() == "vllm"))
            .expect("the example has a vllm container");
        vllm.features.clear();
        let d = validate_fleet(&fleet);
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "vllm_model at /lxc_configs/950/vllm_model: not applied: the container's features do not list 'vllm'"
            ]
        );
    }
}
