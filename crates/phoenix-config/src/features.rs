//! The one list of feature names phoenix knows. phoenix-features holds what each one
//! needs and installs (and tests that it covers exactly this list); validation checks
//! names against it.

/// Every known feature name, in the order they are usually installed.
pub const KNOWN: &[&str] = &["base_setup", "nvidia", "docker", "vllm", "ollama"];

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
