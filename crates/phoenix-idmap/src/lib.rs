//! Proxmox CT conf files (`/etc/pve/lxc/<CTID>.conf`), `lxc.idmap` user-namespace
//! maps and `/etc/subuid` / `/etc/subgid` delegations.

pub mod idmap;

pub use idmap::{IdKind, IdMapEntry, IdMapError, ParseIdMapEntryError, validate_entries};
