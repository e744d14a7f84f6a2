//! The LXC layer: the generated config ([`config`]) and the real `lxc-*` commands
//! ([`Lxc`]), always with `-P <root>/var/lib/lxc`.

pub mod config;
pub mod devices;
mod run;

pub use run::{
    CGROUP_ROOT, Lxc, LxcError, PROXMOX_PATH, State, attach_env, host_can_run_containers,
    remove_cgroups,
};
