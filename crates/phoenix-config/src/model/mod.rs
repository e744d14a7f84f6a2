//! The typed model of a config directory.

pub mod apparmor;
pub mod cluster;
pub mod container;
pub mod dns;
pub mod docker;
pub mod gateway;
pub mod hypervisor;
pub mod idmap;
pub mod legacy;
pub mod lxc;
pub mod ollama;
pub mod secret;
pub mod services;
pub mod storage;
pub mod vllm;
pub mod vm;

use serde::Serialize;

pub use container::Container;
pub use hypervisor::HypervisorFile;
pub use lxc::LxcFile;
pub use vm::VmFile;

/// A whole config directory, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fleet {
    /// `phoenix_lxc_configs.json`.
    pub lxc: LxcFile,
    /// `phoenix_hypervisor_config.json`.
    pub hypervisor: HypervisorFile,
    /// `phoenix_vm_configs.json`, when present.
    pub vm: Option<VmFile>,
}
