//! User-namespace id maps: `lxc.idmap` entries, Proxmox's validation, the effective
//! map of a container, phoenix's stricter warnings and the planner.
//!
//! An entry reads `u 0 100000 65536`: container uids 0..65535 are host uids
//! 100000..165535. Why this matters: a container's files and processes are owned, on
//! the host, by the ids this map gives them, and a wrong map hands host ids (root's,
//! or another container's) to the container.

mod entry;
mod map;
mod plan;
mod privilege;
mod validate;
mod warnings;

pub use entry::{IdKind, IdMapEntry, ParseIdMapEntryError};
pub use map::{DEFAULT_COUNT, DEFAULT_HOST_START, IdMap, IdMapSource};
pub use plan::{IdMapPlan, IntentKind, MapIntent, MapIntentError, PlanError, plan};
pub use privilege::{NO_ID, PrivilegeProblem, SUBID_FLOOR, privilege_problems, subid_floor};
pub use validate::{IdMapError, Side, validate_entries};
pub use warnings::{Delegations, IdMapWarning, IdRanges};

/// The only key Proxmox reads maps from; the old `lxc.id_map` is accepted in the conf
/// but ignored by its idmap logic.
pub const IDMAP_KEY: &str = "lxc.idmap";

/// The old spelling of [`IDMAP_KEY`], which Proxmox keeps but does not map from.
pub const LEGACY_IDMAP_KEY: &str = "lxc.id_map";
