//! The phoenix config model: typed serde structs for a config directory
//! (`phoenix_lxc_configs.json`, `phoenix_hypervisor_config.json` and the optional
//! `phoenix_vm_configs.json`), the JSON Schema generated from them, and validation.
//!
//! A container in `phoenix_lxc_configs.json` looks like this:
//!
//! ```json
//! { "lxc_configs": { "101": {
//!     "name": "gateway", "memory_mb": 128, "cores": 1,
//!     "clone_from_ctid": 900, "storage_pool": "local-zfs", "storage_size_gb": 1,
//!     "network_config": { "name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.101/24", "gw": "10.0.0.1" }
//! } } }
//! ```
//!
//! Validation runs in two passes. (a) Each file's raw JSON against its generated
//! schema, reporting every error with file, JSON pointer, line and column. (b) When
//! every file fits its schema, semantic checks on the typed [`Fleet`]: references,
//! cycles, unique ids, addresses and MACs, subnets, clone rules, mounts, idmaps,
//! AppArmor and boot order.
//!
//! ```
//! use phoenix_config::{validate_texts, Severity};
//! let lxc = r#"{"lxc_configs": {"101": {"name": "web_1", "memory_mb": 64, "cores": 1,
//!   "template": "local:vztmpl/x.tar.gz", "storage_pool": "local", "storage_size_gb": 1,
//!   "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24"}}}}"#;
//! let report = validate_texts(lxc, "{}", None);
//! assert_eq!(
//!     report.errors[0].to_string(),
//!     "phoenix_lxc_configs.json:1:34: invalid hostname \"web_1\" at /lxc_configs/101/name: value does not look like a valid DNS name"
//! );
//! assert!(report.fleet.is_none());
//! ```

pub mod diagnostic;
pub mod features;
pub mod ids;
pub mod locate;
pub mod model;
pub mod names;
pub mod net;
pub mod schema;
pub mod upgrade;
pub mod value;

mod check;
mod decode;
mod load;
mod scripts;

pub use check::semantic::host_id_grants;
pub use diagnostic::{Diagnostic, Severity};
pub use ids::{Ctid, Vmid};
pub use load::{
    ConfigError, Report, ValidateOptions, Validated, load_dir, scripts_dir_for, validate_bytes,
    validate_dir, validate_dir_with, validate_fleet, validate_texts,
};
pub use model::Fleet;
pub use model::container::{
    Container, ContainerTests, Gateway, IdMapKind, IdMapSpec, MountPoint, NetworkConfig, TestScript,
};
pub use model::docker::{DockerEngine, DockerSettings, DockerStorageDriver};
pub use model::hypervisor::{HypervisorFile, SharedVolume};
pub use model::lxc::LxcFile;
pub use model::secret::SecretRef;
pub use model::vm::VmFile;
pub use names::{
    AbsPath, ApiUrl, Bridge, EnvVarName, FeatureName, FileMode, GpuAssignment, GpuSelection,
    Hostname, LxcOption, OsTemplate, PortList, RuleComment, ScriptPath, Sha256Hex, SnapshotName,
    StackName, StorageId,
};
pub use net::{Ipv4, Ipv4Cidr, MacAddr};
pub use schema::ConfigFile;
pub use value::InvalidValue;
