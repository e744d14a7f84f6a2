//! User-namespace id maps: `lxc.idmap` entries, Proxmox's validation, the effective
//! map of a container, phoenix's stricter warnings and the planner.
//!
//! An entry reads `u 0 100000 65536`: container uids 0..65535 are host uids
//! 100000..165535. Why this matters: a container's files and processes are owned, on
//! the host, by the ids this map gives them, and a wrong map hands host ids (root's,
//! or another container's) to the container.

mod entry;
mod from_conf;
mod map;
mod plan;
mod validate;
mod warnings;

pub use entry::{IdKind, IdMapEntry, ParseIdMapEntryError};
pub use from_conf::{ConfIdMapCheck, IDMAP_KEY, LEGACY_IDMAP_KEY, check_conf, legacy_idmap_lines};
pub use map::{DEFAULT_COUNT, DEFAULT_HOST_START, IdMap, IdMapSource};
pub use plan::{IdMapPlan, IntentKind, MapIntent, MapIntentError, PlanError, plan};
pub use validate::{IdMapError, Side, validate_entries};
pub use warnings::{Delegations, IdMapWarning, IdRanges};
