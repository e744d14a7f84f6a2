//! Feature installers: what the orchestrator's customize step runs in a container once
//! it is created, started and proven (idmap and volumes).
//!
//! A feature is a named plug-in (`docker`, `nvidia`, `vllm`, ...) with two halves, as
//! youki's `Executor` splits checking from doing:
//! - [`Feature::validate`] is side-effect free: it looks at the request (the container's
//!   id and privilege) and says whether the feature can be installed there;
//! - [`Feature::install`] does the work through a [`Container`], which the orchestrator
//!   implements over `pct exec` and `pct push`, so every call goes through phoenix-pct's
//!   `CommandRunner` (recorded in tests, only recorded in a dry run).
//!
//! The [`Registry`] maps names to installers. It starts empty: installers arrive one
//! issue at a time, and the orchestrator reports a configured feature with no installer
//! as not installed rather than pretending.
//!
//! ```
//! use phoenix_features::{Container, ExecResult, Feature, FeatureError, Registry, Request};
//!
//! struct Motd;
//! impl Feature for Motd {
//!     fn name(&self) -> &'static str { "motd" }
//!     fn validate(&self, _req: &Request) -> Result<(), FeatureError> { Ok(()) }
//!     fn install(&self, _req: &Request, ct: &dyn Container) -> Result<(), FeatureError> {
//!         ct.push(b"hello\n", "/etc/motd", 0o644)?;
//!         Ok(())
//!     }
//! }
//!
//! let mut registry = Registry::new();
//! registry.register(Box::new(Motd));
//! assert!(registry.get("motd").is_some());
//! assert!(registry.get("docker").is_none());
//! ```

use std::collections::BTreeMap;

/// The outcome of a command run inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code.
    pub code: i32,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
}

/// Access to one running container, implemented by the orchestrator over pct.
pub trait Container {
    /// The container's id.
    fn vmid(&self) -> u32;
    /// Runs `argv` inside the container (no shell unless argv names one).
    fn exec(&self, argv: &[&str]) -> Result<ExecResult, FeatureError>;
    /// Writes `data` to `dest` inside the container, owned by container root, with `mode`.
    fn push(&self, data: &[u8], dest: &str, mode: u32) -> Result<(), FeatureError>;
}

/// What a feature is asked to install on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The container id.
    pub vmid: u32,
    /// Whether the container is unprivileged.
    pub unprivileged: bool,
}

/// Why a feature could not be validated or installed.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The feature cannot be installed on this container.
    #[error("feature {feature} cannot be installed on CT {vmid}: {reason}")]
    Unsupported {
        /// The feature.
        feature: String,
        /// The container.
        vmid: u32,
        /// Why.
        reason: String,
    },
    /// A command inside the container failed.
    #[error("`{command}` failed in CT {vmid} with exit code {code}: {stderr}")]
    CommandFailed {
        /// The container.
        vmid: u32,
        /// The command, for reading.
        command: String,
        /// Its exit code.
        code: i32,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Reaching the container failed (the pct call itself).
    #[error("cannot reach CT {vmid}")]
    Access {
        /// The container.
        vmid: u32,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A feature installer.
pub trait Feature: Send + Sync {
    /// The name used in the config's `features` list.
    fn name(&self) -> &'static str;
    /// Checks, without side effects, that the feature fits this container.
    fn validate(&self, request: &Request) -> Result<(), FeatureError>;
    /// Installs the feature; must be idempotent (a second run changes nothing).
    fn install(&self, request: &Request, container: &dyn Container) -> Result<(), FeatureError>;
}

/// The installers phoenix knows, by name.
#[derive(Default)]
pub struct Registry {
    features: BTreeMap<&'static str, Box<dyn Feature>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an installer, replacing one of the same name.
    pub fn register(&mut self, feature: Box<dyn Feature>) {
        self.features.insert(feature.name(), feature);
    }

    /// The installer for `name`, if phoenix has one.
    pub fn get(&self, name: &str) -> Option<&dyn Feature> {
        self.features.get(name).map(|f| f.as_ref())
    }

    /// The names of the installers present.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.features.keys().copied()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.features.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_the_container_and_the_command() {
        let e = FeatureError::CommandFailed {
            vmid: 102,
            command: "docker info".into(),
            code: 1,
            stderr: "no daemon".into(),
        };
        assert_eq!(
            e.to_string(),
            "`docker info` failed in CT 102 with exit code 1: no daemon"
        );
        let u = FeatureError::Unsupported {
            feature: "nvidia".into(),
            vmid: 950,
            reason: "no GPU on this host".into(),
        };
        assert_eq!(
            u.to_string(),
            "feature nvidia cannot be installed on CT 950: no GPU on this host"
        );
        let a = FeatureError::Access {
            vmid: 7,
            source: "x".into(),
        };
        assert_eq!(a.to_string(), "cannot reach CT 7");
    }
}
