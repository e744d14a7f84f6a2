//! Proxmox CT conf files (`/etc/pve/lxc/<CTID>.conf`), `lxc.idmap` user-namespace
//! maps and `/etc/subuid` / `/etc/subgid` delegations.

pub mod conf;
pub mod idmap;
pub mod props;
pub mod subid;
mod vmid;

pub use idmap::{
    IdKind, IdMap, IdMapEntry, IdMapError, IdMapWarning, ParseIdMapEntryError, validate_entries,
};
pub use vmid::{Vmid, VmidError};
