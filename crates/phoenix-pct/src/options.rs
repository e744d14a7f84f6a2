//! Option structs for the operations that take many options, and how they turn
//! into `--key value` arguments.
//!
//! Rules that hold for every operation:
//! - booleans always carry an explicit value (`--onboot 1`, `--unprivileged 0`),
//!   so "off" can be said and a parser never has to guess whether the next word
//!   is a value;
//! - config keys are passed in byte order of their names, the order
//!   `pct config` prints them, so argv snapshots are stable;
//! - property strings (netN, rootfs, mpN, features, startup) are rendered by
//!   `phoenix_pveconf::props`, in Proxmox's canonical form.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use phoenix_pveconf::props::{Features, MountPoint, NetConfig, RootFs, Startup};

use crate::names::{Arch, OsType, Password};
use phoenix_pveconf::SnapshotName;

/// `1` or `0`, the way pct takes booleans.
pub(crate) fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// Settable container config keys, shared by `create` and `set`. `None` (or an
/// empty map) means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CtOptions {
    /// `--hostname`: a DNS name, at most 255 characters.
    pub hostname: Option<String>,
    /// `--description`: free text, shown as `#` lines in the conf.
    pub description: Option<String>,
    /// `--memory`: MiB, at least 16.
    pub memory: Option<u64>,
    /// `--swap`: MiB.
    pub swap: Option<u64>,
    /// `--cores`: 1 to 8192.
    pub cores: Option<u32>,
    /// `--cpulimit`: 0 to 8192 (0 means no limit).
    pub cpulimit: Option<f64>,
    /// `--cpuunits`: 0 to 500000.
    pub cpuunits: Option<u32>,
    /// `--ostype`.
    pub ostype: Option<OsType>,
    /// `--arch`.
    pub arch: Option<Arch>,
    /// `--rootfs`.
    pub rootfs: Option<RootFs>,
    /// `--mpN`, keyed by N (0 to 255).
    pub mount_points: BTreeMap<u8, MountPoint>,
    /// `--netN`, keyed by N (0 to 31).
    pub nets: BTreeMap<u8, NetConfig>,
    /// `--features`.
    pub features: Option<Features>,
    /// `--startup`.
    pub startup: Option<Startup>,
    /// `--onboot`.
    pub onboot: Option<bool>,
    /// `--protection`.
    pub protection: Option<bool>,
    /// `--nameserver`: space-separated addresses.
    pub nameserver: Option<String>,
    /// `--searchdomain`.
    pub searchdomain: Option<String>,
    /// `--tags`: passed joined with `;` (pct normalises them).
    pub tags: Option<Vec<String>>,
    /// `--timezone`.
    pub timezone: Option<String>,
    /// Any other config key, as `--<key> <value>` (for example `hookscript`).
    pub other: BTreeMap<String, String>,
}

impl CtOptions {
    /// Whether no option is given (what [`CtOptions::pairs`] would return nothing for,
    /// without rendering them).
    pub fn is_empty(&self) -> bool {
        let CtOptions {
            hostname,
            description,
            memory,
            swap,
            cores,
            cpulimit,
            cpuunits,
            ostype,
            arch,
            rootfs,
            mount_points,
            nets,
            features,
            startup,
            onboot,
            protection,
            nameserver,
            searchdomain,
            tags,
            timezone,
            other,
        } = self;
        hostname.is_none()
            && description.is_none()
            && memory.is_none()
            && swap.is_none()
            && cores.is_none()
            && cpulimit.is_none()
            && cpuunits.is_none()
            && ostype.is_none()
            && arch.is_none()
            && rootfs.is_none()
            && mount_points.is_empty()
            && nets.is_empty()
            && features.is_none()
            && startup.is_none()
            && onboot.is_none()
            && protection.is_none()
            && nameserver.is_none()
            && searchdomain.is_none()
            && tags.is_none()
            && timezone.is_none()
            && other.is_empty()
    }

    /// Every given option as (key, value), in byte order of the keys.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                map.insert(k.to_owned(), v);
            }
        };
        put("hostname", self.hostname.clone());
        put("description", self.description.clone());
        put("memory", self.memory.map(|v| v.to_string()));
        put("swap", self.swap.map(|v| v.to_string()));
        put("cores", self.cores.map(|v| v.to_string()));
        put("cpulimit", self.cpulimit.map(|v| v.to_string()));
        put("cpuunits", self.cpuunits.map(|v| v.to_string()));
        put("ostype", self.ostype.map(|v| v.to_string()));
        put("arch", self.arch.map(|v| v.to_string()));
        put("rootfs", self.rootfs.as_ref().map(ToString::to_string));
        put("features", self.features.as_ref().map(ToString::to_string));
        put("startup", self.startup.as_ref().map(ToString::to_string));
        put("onboot", self.onboot.map(|b| flag(b).to_owned()));
        put("protection", self.protection.map(|b| flag(b).to_owned()));
        put("nameserver", self.nameserver.clone());
        put("searchdomain", self.searchdomain.clone());
        put("tags", self.tags.as_ref().map(|t| t.join(";")));
        put("timezone", self.timezone.clone());
        for (n, mp) in &self.mount_points {
            put(&format!("mp{n}"), Some(mp.to_string()));
        }
        for (n, net) in &self.nets {
            put(&format!("net{n}"), Some(net.to_string()));
        }
        for (k, v) in &self.other {
            put(k, Some(v.clone()));
        }
        map.into_iter().collect()
    }

    pub(crate) fn push_args(&self, args: &mut Vec<OsString>) {
        for (k, v) in self.pairs() {
            args.push(format!("--{k}").into());
            args.push(v.into());
        }
    }
}

/// Options of `pct create <vmid> <ostemplate>`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOptions {
    /// `--unprivileged`: always passed explicitly, so the result never depends
    /// on pct's default (1 on create, 0 in the schema).
    pub unprivileged: bool,
    /// The container's config keys.
    pub config: CtOptions,
    /// `--storage`: where a bare-size rootfs is allocated (pct's default: `local`).
    pub storage: Option<String>,
    /// `--password`: root's password. Passed as a secret argument: never
    /// shown in transcripts, messages or `Debug` output.
    pub password: Option<Password>,
    /// `--ssh-public-keys`: a file of public keys for root.
    pub ssh_public_keys: Option<PathBuf>,
    /// `--start`: start the container once created.
    pub start: bool,
    /// `--pool`: resource pool.
    pub pool: Option<String>,
}

impl Default for CreateOptions {
    /// Unprivileged (the safe choice, and Proxmox's create default), nothing else.
    fn default() -> Self {
        CreateOptions {
            unprivileged: true,
            config: CtOptions::default(),
            storage: None,
            password: None,
            ssh_public_keys: None,
            start: false,
            pool: None,
        }
    }
}

/// Options of `pct set <vmid>`: every change in one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetOptions {
    /// Keys to set.
    pub changes: CtOptions,
    /// `--delete k1,k2`: keys to remove.
    pub delete: Vec<String>,
    /// `--digest`: refuse if the config changed since it was read with this digest.
    pub digest: Option<String>,
}

impl SetOptions {
    /// Whether there is nothing to change (pct would say `no options specified`).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.delete.is_empty()
    }
}

/// Options of `pct clone <vmid> <newid>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneOptions {
    /// `--full`: `None` leaves pct's default (linked for a template, full otherwise).
    pub full: Option<bool>,
    /// `--snapname`: clone from this snapshot.
    pub snapname: Option<SnapshotName>,
    /// `--hostname` of the new container (otherwise the source's).
    pub hostname: Option<String>,
    /// `--description` of the new container (otherwise the source's).
    pub description: Option<String>,
    /// `--storage` for a full clone.
    pub storage: Option<String>,
    /// `--pool`.
    pub pool: Option<String>,
    /// `--target`: another cluster node.
    pub target: Option<String>,
}

/// Options of `pct shutdown <vmid>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownOptions {
    /// `--timeout`: seconds to wait (pct's default: 60).
    pub timeout: Option<u32>,
    /// `--forceStop`: kill the container when the timeout expires.
    pub force_stop: bool,
}

/// Options of `pct destroy <vmid>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestroyOptions {
    /// `--purge`: also remove the id from backup jobs, replication and HA.
    pub purge: bool,
    /// `--force`: destroy even when referenced by backups or replication.
    pub force: bool,
}

/// Options of `pct push` and `pct pull`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// `--user`: owner, a name or uid as seen inside the container.
    pub user: Option<String>,
    /// `--group`: group, a name or gid as seen inside the container.
    pub group: Option<String>,
    /// `--perms`: mode bits, passed in octal (`0644`).
    pub perms: Option<u32>,
}

impl FileOptions {
    pub(crate) fn push_args(&self, args: &mut Vec<OsString>) {
        if let Some(perms) = self.perms {
            args.extend(["--perms".into(), format!("{perms:04o}").into()]);
        }
        if let Some(user) = &self.user {
            args.extend(["--user".into(), user.into()]);
        }
        if let Some(group) = &self.group {
            args.extend(["--group".into(), group.into()]);
        }
    }
}
