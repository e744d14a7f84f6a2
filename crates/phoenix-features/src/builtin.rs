//! Features phoenix knows the requirements of, whether or not it has their installer
//! yet. What they need is said here, once, with the reason, instead of in the
//! orchestrator.

use crate::feature::{AppArmorRequirement, Request, Requirements};

/// Docker (its installer, with its requirements, is [`crate::Docker`]).
pub const DOCKER: &str = "docker";

/// NVIDIA GPUs: the `lxc-phoenix-gpu` profile (device access) unless the config
/// names another one.
pub const NVIDIA: &str = "nvidia";

/// Names of features the old system used that phoenix knows but cannot install yet.
pub const KNOWN_WITHOUT_INSTALLER: &[&str] = &[
    DOCKER,
    NVIDIA,
    "base_setup",
    "vllm",
    "ollama",
    "portainer",
    "python_ai",
    "trusted_ca",
    "step_cli",
    "step_ca",
    "traefik",
];

/// The requirements of a known feature without an installer, `None` for a name it
/// does not know.
pub fn requirements(name: &str, _request: &Request<'_>) -> Option<Requirements> {
    match name {
        NVIDIA => Some(Requirements {
            apparmor: Some(AppArmorRequirement {
                profile: "lxc-phoenix-gpu".into(),
                overrides_config: false,
            }),
            reasons: vec!["apparmor lxc-phoenix-gpu: access to the NVIDIA device nodes".into()],
            ..Requirements::default()
        }),
        "vllm" => Some(Requirements {
            features: vec![NVIDIA.into()],
            reasons: vec!["vllm runs on the NVIDIA driver".into()],
            ..Requirements::default()
        }),
        n if KNOWN_WITHOUT_INSTALLER.contains(&n) => Some(Requirements::default()),
        _ => None,
    }
}
