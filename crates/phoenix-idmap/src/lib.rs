//! User-namespace id maps: `lxc.idmap` entries (`u 0 100000 65536`), Proxmox's
//! validation of them, the effective map of a container, phoenix's stricter warnings,
//! the planner, the kernel's `/proc/<pid>/uid_map` and `gid_map`, and the
//! `/etc/subuid` / `/etc/subgid` delegations.
//!
//! ```text
//! lxc.idmap: u 0 100000 65536       <- container uids 0..65535 are host 100000..165535
//! /proc/1/uid_map:          0     100000      65536
//! /etc/subuid:  root:100000:65536   <- root may map host ids 100000..165535
//! ```
//!
//! ```
//! use phoenix_idmap::{IdMap, IdKind, proc_map};
//! let map = IdMap::new(true, vec![]);
//! assert_eq!(map.host_uid_of(1000), Some(101000));
//! let kernel = proc_map::parse("         0     100000      65536\n").unwrap();
//! assert_eq!(kernel, proc_map::expected(&map, IdKind::Uid));
//! ```
//!
//! How a Proxmox conf's lines become an [`IdMap`] is `phoenix-pveconf`'s
//! (`phoenix_pveconf::idmap::from_conf`).

pub mod idmap;
pub mod proc_map;
pub mod subid;

pub use idmap::{
    Delegations, IDMAP_KEY, IdKind, IdMap, IdMapEntry, IdMapError, IdMapWarning, LEGACY_IDMAP_KEY,
    ParseIdMapEntryError, PrivilegeProblem, SUBID_FLOOR, privilege_problems, validate_entries,
};
