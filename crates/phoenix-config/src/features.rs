//! The one list of feature names phoenix knows. phoenix-features holds what each one
//! needs and installs (and tests that it covers exactly this list); validation checks
//! names against it.

/// Every known feature name, in the order they are usually installed.
pub const KNOWN: &[&str] = &[
    "base_setup",
    "nvidia",
    "docker",
    "vllm",
    "ollama",
    "portainer",
];

/// The vLLM version the `vllm` feature installs when a container names none
/// (`vllm_version`); the plan's commands show the pin (`pip install vllm==...`).
pub const VLLM_DEFAULT_VERSION: &str = "0.33.0";

/// The feature a container's `portainer_role` implies (`server` or `agent`), even
/// when its `features` do not list it (the old files never did).
pub fn implied_by_role(c: &crate::Container) -> Option<&'static str> {
    use crate::model::container::PortainerRole;
    matches!(
        c.portainer_role,
        Some(PortainerRole::Server | PortainerRole::Agent)
    )
    .then_some("portainer")
}

/// Feature names the old bash system installed and phoenix has no installer for
/// yet: known names (a warning, the feature is not installed), not typos.
pub const WITHOUT_INSTALLER: &[&str] = &["trusted_ca", "step_cli", "step_ca", "traefik"];

/// True when `name` is an old system's feature phoenix cannot install yet.
///
/// ```
/// assert!(phoenix_config::features::lacks_installer("traefik"));
/// assert!(!phoenix_config::features::lacks_installer("docker"));
/// ```
pub fn lacks_installer(name: &str) -> bool {
    WITHOUT_INSTALLER.contains(&name)
}

/// True when `name` is a known feature.
///
/// ```
/// assert!(phoenix_config::features::is_known("docker"));
/// assert!(!phoenix_config::features::is_known("dokcer"));
/// ```
pub fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
}
