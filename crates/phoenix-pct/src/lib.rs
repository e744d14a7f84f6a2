//! A typed wrapper around Proxmox's `pct` and `pvesm` commands.
