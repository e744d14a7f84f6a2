//! Plan and converge a phoenix fleet: compose the config, idmap, pct, AppArmor and
//! feature crates into `plan` and `up`.
//!
//! The crates it builds on are re-exported so embedders get the same versions.

pub mod host_apparmor;

pub use phoenix_apparmor as apparmor;
pub use phoenix_config as config;
pub use phoenix_features as features;
pub use phoenix_idmap as idmap;
pub use phoenix_pct as pct;
