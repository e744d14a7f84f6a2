//! An emulator of Proxmox's `pct` and `pvesm` that runs real unprivileged LXC containers.
pub mod error;
pub mod lxc;
pub mod net;
pub mod pct;
pub mod pvesm;
pub mod root;
pub mod shift;
pub mod storage;
pub mod template;
