//! Plan and converge a phoenix fleet: compose the config, idmap, pct, AppArmor and
//! feature crates into `plan` and `up`.
//!
//! A run selects containers (with the clone sources and dependencies they need),
//! observes them through `pct list` and `pct config`, refuses what cannot work before
//! changing anything (a clone whose source has another privilege, a clone source with
//! bind mounts, a host directory two maps disagree on), prepares the host
//! (`/etc/subuid`, `/etc/subgid`, storage, AppArmor), then converges each container in
//! dependency order, independent branches in parallel:
//!
//! ```text
//! idmap      compute and check the map the config asks for
//! volumes    host directories owned by map(owner)
//! define     pct create (every option in one call) or pct clone --snapname
//! configure  raw lxc.* lines in the conf (under Proxmox's lock), then one pct set
//! idmap      confirm the map from the conf as written
//! start      pct start
//! verify     /proc/self/uid_map and gid_map equal the map; a probe file per volume
//! customize  features, then the template snapshot clones are made from
//! ```
//!
//! Every step computes its actions from desired and observed state first; a dry run
//! stops there, so `phoenix plan` shows the exact argv and file edits. A second run
//! finds nothing to do and makes no mutating pct call.
//!
//! ```
//! use phoenix_orchestrator::{dag::Dag, plan::{Action, Change, Step}};
//! let dag = Dag::new([(900u32, vec![]), (901, vec![900])]);
//! assert_eq!(dag.topological_order(), Some(vec![900, 901]));
//! let a = Action::command(Step::Start, Change::Change, vec!["pct".into(), "start".into(), "901".into()]);
//! assert_eq!(a.to_string(), "start     change pct start 901");
//! ```
//!
//! The crates it builds on are re-exported so embedders get the same versions.

pub mod apparmor_rules;
pub mod converge;
pub mod customize;
pub mod dag;
pub mod desired;
pub mod diff;
pub mod engine;
pub mod host;
pub mod host_apparmor;
pub mod lifecycle;
pub mod lock;
pub mod plan;
pub mod preflight;
pub mod report;
#[cfg(test)]
mod testutil;
pub mod verify;
pub mod volumes;

pub use engine::{Event, Orchestrator, RunError, RunOptions, Selection};
pub use report::{CtReport, CtResult, RunReport};

pub use phoenix_apparmor as apparmor;
pub use phoenix_config as config;
pub use phoenix_features as features;
pub use phoenix_idmap as idmap;
pub use phoenix_pct as pct;
pub use phoenix_pveconf as pveconf;
