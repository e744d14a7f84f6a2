//! The features phoenix knows how to install: one list in one place until
//! phoenix-features owns it.

/// Every known feature name, in the order they are usually installed.
pub const KNOWN: &[&str] = &["base_setup", "nvidia", "docker", "vllm", "ollama"];

/// True when `name` is a known feature.
///
/// ```
/// assert!(phoenix_config::features::is_known("docker"));
/// assert!(!phoenix_config::features::is_known("dokcer"));
/// ```
pub fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
}
