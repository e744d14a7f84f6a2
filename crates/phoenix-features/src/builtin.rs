//! Features phoenix knows the requirements of, whether or not it has their installer
//! yet. What they need is said here, once, with the reason, instead of in the
//! orchestrator.

use crate::feature::{Request, Requirements};

/// Docker (its installer, with its requirements, is [`crate::Docker`]).
pub const DOCKER: &str = "docker";

/// NVIDIA GPUs (its installer, with its requirements, is [`crate::Nvidia`]).
pub const NVIDIA: &str = "nvidia";

/// The requirements of a known feature without an installer, `None` for a name it
/// does not know.
pub fn requirements(name: &str, _request: &Request<'_>) -> Option<Requirements> {
    match name {
        "vllm" => Some(Requirements {
            features: vec![NVIDIA.into()],
            reasons: vec!["vllm runs on the NVIDIA driver".into()],
            ..Requirements::default()
        }),
        n if phoenix_config::features::is_known(n)
            || phoenix_config::features::lacks_installer(n) =>
        {
            Some(Requirements::default())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    /// Every name of the config's one list has requirements here, and no requirement
    /// names a feature outside it or forms a cycle.
    #[test]
    fn every_known_feature_is_declared_and_requirements_have_no_cycle() {
        let hypervisor: phoenix_config::HypervisorFile =
            serde_json::from_value(serde_json::json!({})).unwrap();
        let ct: phoenix_config::Container = serde_json::from_value(serde_json::json!({
            "name": "a", "memory_mb": 64, "cores": 1, "storage_pool": "local-zfs",
            "storage_size_gb": 1, "template": "local:vztmpl/x.tar.zst",
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24"},
            "features": ["nvidia", "docker"], "portainer_role": "agent"
        }))
        .unwrap();
        let lxc: phoenix_config::LxcFile =
            serde_json::from_value(serde_json::json!({"lxc_configs": {}})).unwrap();
        let host = crate::HostFacts::default();
        let req = Request {
            vmid: 100,
            container: &ct,
            hypervisor: &hypervisor,
            lxc: &lxc,
            host: &host,
        };
        let reg = Registry::builtin();
        let all: Vec<String> = phoenix_config::features::KNOWN
            .iter()
            .chain(phoenix_config::features::WITHOUT_INSTALLER)
            .map(|n| n.to_string())
            .collect();
        for n in &all {
            let r = reg
                .requirements(n, &req)
                .unwrap()
                .unwrap_or_else(|| panic!("{n} undeclared"));
            for needed in &r.features {
                assert!(all.contains(needed), "{n} requires unknown {needed}");
            }
        }
        assert!(reg.install_order(&all, &req).is_ok());
        let order = reg
            .install_order(&["vllm".into(), "docker".into()], &req)
            .unwrap();
        assert_eq!(order, ["nvidia", "vllm", "docker"]);
        assert!(!reg.is_known("dokcer"));
    }
}
