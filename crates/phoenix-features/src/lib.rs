//! Features: what phoenix installs inside a container once it is created, started and
//! proven, and what each one needs from Proxmox and the host first.
//!
//! A feature is a named plug-in (`docker`, `nvidia`, `vllm`, ...). It is asked about one
//! container through a [`Request`] (the container's whole config and the hypervisor
//! globals) and answers in two kinds of ways, as youki's `Executor` splits checking
//! from doing:
//! - purely: [`Feature::requirements`] (Proxmox feature flags, `devN` entries, raw
//!   `lxc.*` lines, the AppArmor profile, host steps, other features it needs) and
//!   [`Feature::inputs`] (what, when it changes, means the feature must be installed
//!   again);
//! - through a [`Container`] (implemented by the orchestrator over `pct exec` and
//!   `pct push`): [`Feature::probe`] (read-only), [`Feature::install`] and
//!   [`Feature::verify`].
//!
//! The orchestrator reads the requirements when it computes a container's desired
//! state, so nothing feature-specific is hard-coded there; it installs a feature when
//! the container's ledger (`/var/lib/phoenix/ledger.json`) says the feature is not
//! converged with the same inputs.
//!
//! A feature may be known (its requirements declared) before phoenix has an installer
//! for it: [`Registry::installer`] is then `None` and the orchestrator says so.
//!
//! ```
//! use phoenix_features::{Container, Feature, FeatureError, Probe, Registry, Request, Requirements};
//!
//! struct Motd;
//! impl Feature for Motd {
//!     fn name(&self) -> &'static str { "motd" }
//!     fn requirements(&self, _req: &Request<'_>) -> Result<Requirements, FeatureError> {
//!         Ok(Requirements::default())
//!     }
//!     fn inputs(&self, _req: &Request<'_>) -> serde_json::Value { serde_json::json!({"text": "hello"}) }
//!     fn probe(&self, _req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
//!         let out = ct.exec(&["cat", "/etc/motd"])?;
//!         Ok(if out.code == 0 && out.stdout == b"hello\n" { Probe::Converged } else { Probe::Missing("no motd".into()) })
//!     }
//!     fn install(&self, _req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
//!         ct.push(b"hello\n", "/etc/motd", 0o644)
//!     }
//!     fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
//!         match self.probe(req, ct)? {
//!             Probe::Converged => Ok(()),
//!             Probe::Missing(why) => Err(FeatureError::Verify { feature: "motd".into(), vmid: ct.vmid(), reason: why }),
//!         }
//!     }
//! }
//!
//! let mut registry = Registry::builtin();
//! registry.register(Box::new(Motd));
//! assert!(registry.installer("motd").is_some());
//! assert!(registry.installer("docker").is_some());
//! assert!(registry.installer("nvidia").is_some());
//! assert!(registry.installer("vllm").is_some());
//! ```

mod base_setup;
mod builtin;
mod docker;
mod error;
mod feature;
pub mod host_facts;
mod nvidia;
mod nvidia_devices;
pub mod ollama;
pub mod portainer;
mod registry;
pub mod staging;
pub mod units;
pub mod vllm;

pub use base_setup::{BASE_PACKAGES, BaseSetup, LOCALE};
pub use builtin::{DOCKER, NVIDIA};
pub use docker::{
    DAEMON_JSON, DaemonJsonError, Docker, merged_daemon_json, settings as docker_settings,
};
pub use error::FeatureError;
pub use feature::{
    AppArmorRequirement, Check, CheckRun, Container, ExecResult, Feature, HostRequirement, Probe,
    Request, Requirements, Suite,
};
pub use host_facts::HostFacts;
pub use nvidia::{
    NVIDIA_CTK_CONFIG, Nvidia, NvidiaRuntimeError, SmiError, merged_nvidia_daemon_json,
};
pub use ollama::Ollama;
pub use portainer::Portainer;
pub use registry::Registry;
pub use vllm::Vllm;
