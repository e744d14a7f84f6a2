//! Storage: `storage.cfg` and volumes, one directory per volume under the root.
//!
//! Volume names follow Proxmox: a dir storage holds `<id>/vm-<id>-disk-<n>.raw` under
//! `<path>/images/` (a directory here, not a raw image), a zfspool holds
//! `subvol-<id>-disk-<n>`, `base-<id>-disk-<n>` and linked clones
//! `base-<a>-disk-<n>/subvol-<b>-disk-<m>` under its mountpoint. ZFS snapshots are full
//! copies under `<mountpoint>/.snapshots/<volume>/<snap>`.

pub mod cfg;

use std::path::PathBuf;
use std::process::Command;

pub use cfg::{DEFAULT_STORAGE_CFG, Storage, StorageCfg, StorageCfgError, StorageType};

use crate::root::HostRoot;

/// A storage operation failed; the messages are Proxmox's (pve-storage).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// storage.cfg does not parse.
    #[error(transparent)]
    Cfg(#[from] StorageCfgError),
    /// No such storage id.
    #[error("storage '{0}' does not exist")]
    NoStorage(String),
    /// A volume id that does not parse.
    #[error("unable to parse volume ID '{0}'")]
    BadVolume(String),
    /// Rollback to a snapshot that is not the newest (ZFS).
    #[error("can't rollback, '{snap}' is not most recent snapshot on '{volname}'")]
    NotMostRecent {
        /// The snapshot asked for.
        snap: String,
        /// The volume name.
        volname: String,
    },
    /// The storage cannot make a linked clone of this volume.
    #[error("Linked clone feature for '{0}' is not available")]
    NoLinkedClone(String),
    /// The storage cannot snapshot this volume.
    #[error("snapshot feature is not available")]
    NoSnapshot,
    /// The storage cannot turn this volume into a base volume.
    #[error("Template feature is not available for '{0}'")]
    NoTemplate(String),
    /// A copy failed.
    #[error("{argv} failed: {stderr}")]
    Copy {
        /// The argv, space-joined.
        argv: String,
        /// Its stderr.
        stderr: String,
    },
    /// A filesystem call failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A volume id `<storage>:<volname>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolId {
    /// The storage id.
    pub storage: String,
    /// The name inside the storage.
    pub name: String,
}

impl VolId {
    /// Parses `store:name`.
    ///
    /// ```
    /// let v = pct_emulator::storage::VolId::parse("local-zfs:subvol-100-disk-0").unwrap();
    /// assert_eq!((v.storage.as_str(), v.name.as_str()), ("local-zfs", "subvol-100-disk-0"));
    /// assert!(pct_emulator::storage::VolId::parse("/srv/x").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        let (storage, name) = s.split_once(':')?;
        let ok = !storage.is_empty()
            && storage
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.is_empty();
        ok.then(|| Self {
            storage: storage.into(),
            name: name.into(),
        })
    }

    /// The last path component of the name (`subvol-101-disk-0` of a linked clone).
    pub fn leaf(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// True for a base (template) volume, `base-…` as its own leaf.
    pub fn is_base(&self) -> bool {
        self.leaf().starts_with("base-")
    }
}

impl std::fmt::Display for VolId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.storage, self.name)
    }
}

/// The configured storages, bound to a root.
#[derive(Debug, Clone)]
pub struct Storages {
    root: HostRoot,
    cfg: StorageCfg,
}

impl Storages {
    /// Reads `etc/pve/storage.cfg`, or uses a fresh install's when it is missing.
    pub fn load(root: &HostRoot) -> Result<Self, StorageError> {
        let path = root.join("/etc/pve/storage.cfg");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DEFAULT_STORAGE_CFG.to_owned(),
            Err(e) => return Err(StorageError::Io { path, source: e }),
        };
        Ok(Self {
            root: root.clone(),
            cfg: StorageCfg::parse(&text)?,
        })
    }

    /// All storages in file order.
    pub fn all(&self) -> &[Storage] {
        &self.cfg.storages
    }

    /// The storage named `id`.
    pub fn storage(&self, id: &str) -> Result<&Storage, StorageError> {
        self.cfg
            .get(id)
            .ok_or_else(|| StorageError::NoStorage(id.to_owned()))
    }

    /// The host directory of a storage, under the root.
    pub fn storage_dir(&self, id: &str) -> Result<PathBuf, StorageError> {
        Ok(self.root.join(&self.storage(id)?.path))
    }

    /// The host path of a volume (a directory), or of a `vztmpl/` file.
    pub fn path(&self, vol: &VolId) -> Result<PathBuf, StorageError> {
        let s = self.storage(&vol.storage)?;
        let base = self.root.join(&s.path);
        if vol.name.split('/').any(|c| c == ".." || c == ".") {
            return Err(StorageError::BadVolume(vol.to_string()));
        }
        Ok(match (s.kind, vol.name.split_once('/')) {
            (_, Some(("vztmpl", file))) => base.join("template/cache").join(file),
            (StorageType::Dir, _) => base.join("images").join(&vol.name),
            (StorageType::ZfsPool, _) => base.join(vol.leaf()),
        })
    }

    fn disk_name(kind: StorageType, prefix: &str, vmid: u32, n: u32) -> String {
        match kind {
            StorageType::Dir => format!("{vmid}/{prefix}-{vmid}-disk-{n}.raw"),
            StorageType::ZfsPool => format!("{prefix}-{vmid}-disk-{n}"),
        }
    }

    /// The first free `vm-`/`subvol-` name for `vmid` on `storage` (linked to `base` when
    /// given), created as an empty directory.
    fn alloc_name(
        &self,
        storage: &str,
        vmid: u32,
        base: Option<&VolId>,
    ) -> Result<VolId, StorageError> {
        let s = self.storage(storage)?;
        let prefix = match s.kind {
            StorageType::Dir => "vm",
            StorageType::ZfsPool => "subvol",
        };
        for n in 0.. {
            let leaf = Self::disk_name(s.kind, prefix, vmid, n);
            let taken = ["vm", "subvol", "base"].iter().any(|pre| {
                let alt = VolId {
                    storage: storage.into(),
                    name: Self::disk_name(s.kind, pre, vmid, n),
                };
                self.path(&alt).is_ok_and(|p| p.exists())
            });
            if taken {
                continue;
            }
            let name = match base {
                Some(b) => format!("{}/{leaf}", b.name),
                None => leaf,
            };
            let vol = VolId {
                storage: storage.into(),
                name,
            };
            let path = self.path(&vol)?;
            std::fs::create_dir_all(&path).map_err(io(&path))?;
            return Ok(vol);
        }
        unreachable!("the loop above returns")
    }

    /// Allocates a new empty volume for `vmid`.
    pub fn alloc(&self, storage: &str, vmid: u32) -> Result<VolId, StorageError> {
        self.alloc_name(storage, vmid, None)
    }

    /// True when the storage can snapshot `vol` (ZFS yes, dir raw no).
    pub fn can_snapshot(&self, vol: &VolId) -> Result<bool, StorageError> {
        Ok(self.storage(&vol.storage)?.kind == StorageType::ZfsPool)
    }

    fn snap_dir(&self, vol: &VolId) -> Result<PathBuf, StorageError> {
        Ok(self
            .root
            .join(&self.storage(&vol.storage)?.path)
            .join(".snapshots")
            .join(vol.leaf()))
    }

    fn snap_order(&self, vol: &VolId) -> Result<Vec<String>, StorageError> {
        let p = self.snap_dir(vol)?.join(".order");
        match std::fs::read_to_string(&p) {
            Ok(t) => Ok(t.lines().map(str::to_owned).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
            Err(e) => Err(StorageError::Io { path: p, source: e }),
        }
    }

    fn write_order(&self, vol: &VolId, order: &[String]) -> Result<(), StorageError> {
        let p = self.snap_dir(vol)?.join(".order");
        let text: String = order.iter().map(|s| format!("{s}\n")).collect();
        crate::root::write_atomic(&p, text.as_bytes()).map_err(io(&p))
    }

    /// The directory holding snapshot `snap` of `vol`.
    pub fn snapshot_path(&self, vol: &VolId, snap: &str) -> Result<PathBuf, StorageError> {
        Ok(self.snap_dir(vol)?.join(snap))
    }

    /// Takes snapshot `snap` of `vol` (a copy that keeps owners).
    pub fn snapshot(&self, vol: &VolId, snap: &str) -> Result<(), StorageError> {
        if !self.can_snapshot(vol)? {
            return Err(StorageError::NoSnapshot);
        }
        let dst = self.snapshot_path(vol, snap)?;
        let _ = std::fs::remove_dir_all(&dst);
        copy_tree(&self.path(vol)?, &dst)?;
        let mut order = self.snap_order(vol)?;
        order.retain(|s| s != snap);
        order.push(snap.to_owned());
        self.write_order(vol, &order)
    }

    /// Checks that `vol` can roll back to `snap`: it must be the newest snapshot (ZFS).
    pub fn rollback_check(&self, vol: &VolId, snap: &str) -> Result<(), StorageError> {
        let order = self.snap_order(vol)?;
        if order.last().map(String::as_str) != Some(snap) {
            return Err(StorageError::NotMostRecent {
                snap: snap.into(),
                volname: vol.name.clone(),
            });
        }
        Ok(())
    }

    /// Rolls `vol` back to `snap`, which must be its newest snapshot (as ZFS demands).
    pub fn rollback(&self, vol: &VolId, snap: &str) -> Result<(), StorageError> {
        self.rollback_check(vol, snap)?;
        let path = self.path(vol)?;
        std::fs::remove_dir_all(&path).map_err(io(&path))?;
        copy_tree(&self.snapshot_path(vol, snap)?, &path)
    }

    /// Deletes snapshot `snap` of `vol`; a missing one is not an error.
    pub fn delete_snapshot(&self, vol: &VolId, snap: &str) -> Result<(), StorageError> {
        let p = self.snapshot_path(vol, snap)?;
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        }
        let mut order = self.snap_order(vol)?;
        order.retain(|s| s != snap);
        if order.is_empty() {
            let dir = self.snap_dir(vol)?;
            return match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::Io {
                    path: dir,
                    source: e,
                }),
                _ => Ok(()),
            };
        }
        self.write_order(vol, &order)
    }

    /// Renames `vol` to its base name (`base-<id>-disk-<n>`), as `pct template` does.
    pub fn create_base(&self, vol: &VolId) -> Result<VolId, StorageError> {
        if vol.is_base() {
            return Ok(vol.clone());
        }
        let leaf = vol.leaf();
        let new_leaf = leaf
            .replacen("vm-", "base-", 1)
            .replacen("subvol-", "base-", 1);
        let name = match vol.name.rsplit_once('/') {
            Some((dir, _)) if self.storage(&vol.storage)?.kind == StorageType::Dir => {
                format!("{dir}/{new_leaf}")
            }
            _ => new_leaf,
        };
        let new = VolId {
            storage: vol.storage.clone(),
            name,
        };
        let (from, to) = (self.path(vol)?, self.path(&new)?);
        std::fs::rename(&from, &to).map_err(io(&from))?;
        Ok(new)
    }

    /// A linked clone of base volume `base` for `vmid` (ZFS only, from a base volume).
    pub fn linked_clone(&self, base: &VolId, vmid: u32) -> Result<VolId, StorageError> {
        if self.storage(&base.storage)?.kind != StorageType::ZfsPool || !base.is_base() {
            return Err(StorageError::NoLinkedClone(base.to_string()));
        }
        let vol = self.alloc_name(
            &base.storage,
            vmid,
            Some(&VolId {
                storage: base.storage.clone(),
                name: base.leaf().to_owned(),
            }),
        )?;
        let dst = self.path(&vol)?;
        std::fs::remove_dir(&dst).map_err(io(&dst))?;
        copy_tree(&self.path(base)?, &dst)?;
        Ok(vol)
    }

    /// A full copy of the directory `src` as a new volume of `vmid` on `storage`.
    pub fn copy_to_new(
        &self,
        src: &std::path::Path,
        storage: &str,
        vmid: u32,
    ) -> Result<VolId, StorageError> {
        let vol = self.alloc(storage, vmid)?;
        let dst = self.path(&vol)?;
        std::fs::remove_dir(&dst).map_err(io(&dst))?;
        copy_tree(src, &dst)?;
        Ok(vol)
    }

    /// Removes a volume and its snapshots.
    pub fn free(&self, vol: &VolId) -> Result<(), StorageError> {
        let p = self.path(vol)?;
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        }
        let s = self.snap_dir(vol)?;
        if s.exists() {
            std::fs::remove_dir_all(&s).map_err(io(&s))?;
        }
        Ok(())
    }
}

/// Copies the directory `src` to the new path `dst`, keeping owners, modes, links and
/// special files (`cp -a`, as Proxmox's `rsync --numeric-ids` keeps shifted owners).
pub fn copy_tree(src: &std::path::Path, dst: &std::path::Path) -> Result<(), StorageError> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let argv = copy_argv(src, dst);
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(io(src))?;
    if !out.status.success() {
        return Err(StorageError::Copy {
            argv: argv.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

/// The argv of [`copy_tree`].
pub fn copy_argv(src: &std::path::Path, dst: &std::path::Path) -> Vec<String> {
    vec![
        "cp".into(),
        "-a".into(),
        "--reflink=auto".into(),
        "--no-target-directory".into(),
        src.display().to_string(),
        dst.display().to_string(),
    ]
}

#[cfg(test)]
mod tests;
