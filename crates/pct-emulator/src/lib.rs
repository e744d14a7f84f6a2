//! An emulator of Proxmox's `pct` and `pvesm` that runs real unprivileged LXC containers,
//! so phoenix's tests and demo drive the same command line they drive on a Proxmox host.
//!
//! Binaries: `pct`, `pvesm`, `pveversion` (`PCT_EMU_PVE_VERSION=8|9`, see [`pve`]),
//! `phoenix-mktemplate` (the busybox OS template, or with `--distro debian-12` a Debian
//! 12 one built by mmdebstrap: [`debian`]) and `pct-emulator-net` (host bridges and the
//! filtered uplink: [`uplink`]). All state
//! lives in Proxmox's own formats under `$PHOENIX_ROOT` (default `/`):
//!
//! ```text
//! etc/pve/lxc/<id>.conf                 the CT conf, rewritten canonically on every write
//! etc/pve/storage.cfg                   dir and zfspool storages (missing: local + local-zfs)
//! var/lib/vz/template/cache/*.tar.*     templates (local:vztmpl/NAME)
//! var/lib/vz/images/<id>/vm-<id>-disk-N.raw/   dir volumes (directories here)
//! rpool/data/subvol-<id>-disk-N/        zfspool volumes; .snapshots/<vol>/<snap> holds snapshots
//! var/lib/lxc/<id>/config               the generated LXC config (lxc-start -P var/lib/lxc)
//! run/lock/lxc/pve-config-<id>.lock     Proxmox's config flock
//! var/lib/pct-emulator/calls-<cmd>      PCT_EMU_FAIL counters
//! ```
//!
//! Errors, outputs and exit codes follow `shared/reference/proxmox-pct.md`: a `die` before
//! any worker prints its text on stderr and exits 255, task errors print one line and exit
//! 255 (0 for push, pull, template and resize), Getopt and schema failures print usage.
//! Commands that need real containers exit 1 with a message when the machine lacks root or
//! LXC. How the generated LXC config differs from Proxmox's is documented in
//! [`lxc::config`].
//!
//! ```
//! use pct_emulator::storage::{Storages, VolId};
//! use pct_emulator::root::HostRoot;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let storages = Storages::load(&HostRoot::new(dir.path())).unwrap(); // no storage.cfg: fresh install
//! let vol = storages.alloc("local-zfs", 100).unwrap();
//! assert_eq!(vol.to_string(), "local-zfs:subvol-100-disk-0");
//! assert!(storages.can_snapshot(&vol).unwrap());
//! assert!(!storages.can_snapshot(&VolId::parse("local:100/vm-100-disk-0.raw").unwrap()).unwrap());
//! ```

pub mod apt_sources;
pub mod debian;
pub mod error;
pub mod guest;
pub mod lxc;
pub mod net;
pub mod out;
pub mod pct;
pub mod pve;
pub mod pvesm;
pub mod root;
pub mod setup;
pub mod shift;
pub mod storage;
pub mod template;
pub mod uplink;
