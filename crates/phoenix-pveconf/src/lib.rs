//! Proxmox guest config files (`/etc/pve/lxc/<CTID>.conf`; qemu-server confs next) and
//! the property strings in them (`net0`, `mp0`, `rootfs`, `features`, `startup`, ...).
//!
//! # The CT conf format
//!
//! ```text
//! #Owner%3A me 100%25 %C3%A4          <- description, URI-encoded, one `#` line per line
//! arch: amd64                         <- `key: value`, key matching [a-z][a-z_]*\d*
//! net0: name=eth0,bridge=vmbr0,ip=dhcp,type=veth   <- property strings (see `props`)
//! unprivileged: 1
//! lxc.idmap: u 0 100000 65536         <- raw lxc keys, `:` form ...
//! lxc.idmap = g 0 100000 65536        <- ... or `=` form
//!
//! [pve:pending]                       <- changes not applied yet
//! delete: onboot
//!
//! [before-upgrade]                    <- a snapshot: the config at snapshot time
//! snaptime: 1735689600
//! ```
//!
//! [`conf::CtConf`] reads any file losslessly (lines Proxmox would drop are kept and
//! reported as warnings), edits only the lines it must, and can render Proxmox's own rewrite:
//!
//! ```
//! use phoenix_pveconf::conf::CtConf;
//!
//! let src = "memory: 512\nlxc.idmap = u 0 100000 65536\nonboot: yes\n";
//! let parsed = CtConf::parse(src);
//! assert!(parsed.warnings.is_empty());
//! let mut conf = parsed.conf;
//! assert_eq!(conf.memory().unwrap(), Some(512));
//! conf.set("memory", "1024").unwrap();
//! conf.add_lxc("lxc.idmap", "g 0 100000 65536").unwrap();
//! assert_eq!(
//!     conf.render(),
//!     "memory: 1024\nlxc.idmap = u 0 100000 65536\nlxc.idmap: g 0 100000 65536\nonboot: yes\n"
//! );
//! assert_eq!(
//!     conf.render_canonical(),
//!     "memory: 1024\nonboot: 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n"
//! );
//! ```
//!
//! Files are read and written under a root directory with [`conf::io`].

//!
//! The effective user-namespace map of a conf is [`idmap::from_conf`]; the map itself
//! (entries, validation, subordinate ids) is `phoenix-idmap`'s.
//!
//! Guest firewall files (`/etc/pve/firewall/<vmid>.fw`) are [`firewall::FwFile`].

pub mod api;
pub mod conf;
pub mod firewall;
pub mod idmap;
pub mod props;
mod snapshot;
mod vmid;

pub use snapshot::{SnapshotName, SnapshotNameError};
pub use vmid::{Vmid, VmidError};
