//! `/etc/pve/storage.cfg`: the `dir` and `zfspool` sections the emulator honours.
//!
//! (Property lines are indented with a tab in the real file.)
//!
//! ```text
//! dir: local
//!     path /var/lib/vz
//!     content iso,vztmpl,backup
//!
//! zfspool: local-zfs
//!     pool rpool/data
//!     sparse
//!     content images,rootdir
//! ```

/// The storage types the emulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    /// A directory (`dir`): raw volumes, no snapshots, no linked clones.
    Dir,
    /// A ZFS pool (`zfspool`), emulated with directories: snapshots, base volumes and
    /// linked clones from them.
    ZfsPool,
}

impl StorageType {
    /// The name in storage.cfg and in `pvesm status`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dir => "dir",
            Self::ZfsPool => "zfspool",
        }
    }
}

/// One storage section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// The storage id (`local`).
    pub id: String,
    /// Its type.
    pub kind: StorageType,
    /// For dir: `path`. For zfspool: the mountpoint (`mountpoint`, else `/<pool>`).
    pub path: String,
    /// The content types (`rootdir`, `images`, `vztmpl`, ...).
    pub content: Vec<String>,
    /// `disable` was set.
    pub disabled: bool,
}

impl Storage {
    /// True when `content` lists `what`.
    pub fn has_content(&self, what: &str) -> bool {
        self.content.iter().any(|c| c == what)
    }
}

/// A parse failure, with the line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage.cfg line {line}: {msg}")]
pub struct StorageCfgError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

/// The parsed file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageCfg {
    /// The sections the emulator understood (other types are skipped).
    pub storages: Vec<Storage>,
}

/// What a fresh Proxmox install on ZFS has when storage.cfg is missing.
pub const DEFAULT_STORAGE_CFG: &str = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n";

impl StorageCfg {
    /// Parses storage.cfg text. Sections of other types are skipped.
    pub fn parse(src: &str) -> Result<Self, StorageCfgError> {
        let mut storages = Vec::new();
        let mut cur: Option<(Storage, Option<String>, Option<String>)> = None;
        let finish = |cur: Option<(Storage, Option<String>, Option<String>)>,
                      out: &mut Vec<Storage>| {
            if let Some((mut s, pool, mountpoint)) = cur {
                if s.kind == StorageType::ZfsPool {
                    s.path = mountpoint.unwrap_or_else(|| format!("/{}", pool.unwrap_or_default()));
                }
                out.push(s);
            }
        };
        let mut skipping = false;
        for (i, line) in src.lines().enumerate() {
            let err = |msg: String| StorageCfgError { line: i + 1, msg };
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            if !line.starts_with([' ', '\t']) {
                finish(cur.take(), &mut storages);
                let (ty, id) = line
                    .split_once(':')
                    .ok_or_else(|| err(format!("unable to parse section header '{line}'")))?;
                let id = id.trim().to_owned();
                skipping = false;
                let kind = match ty.trim() {
                    "dir" => StorageType::Dir,
                    "zfspool" => StorageType::ZfsPool,
                    _ => {
                        skipping = true;
                        continue;
                    }
                };
                cur = Some((
                    Storage {
                        id,
                        kind,
                        path: String::new(),
                        content: vec![],
                        disabled: false,
                    },
                    None,
                    None,
                ));
                continue;
            }
            if skipping {
                continue;
            }
            let Some((s, pool, mountpoint)) = cur.as_mut() else {
                return Err(err("property outside a section".into()));
            };
            let t = line.trim();
            let (k, v) = t
                .split_once([' ', '\t'])
                .map(|(k, v)| (k, v.trim()))
                .unwrap_or((t, ""));
            match k {
                "path" => s.path = v.to_owned(),
                "pool" => *pool = Some(v.to_owned()),
                "mountpoint" => *mountpoint = Some(v.to_owned()),
                "content" => {
                    s.content = v
                        .split(',')
                        .map(|c| c.trim().to_owned())
                        .filter(|c| !c.is_empty())
                        .collect()
                }
                "disable" => s.disabled = v.is_empty() || v == "1",
                _ => {}
            }
        }
        finish(cur.take(), &mut storages);
        for s in &storages {
            if s.path.is_empty() {
                return Err(StorageCfgError {
                    line: 0,
                    msg: format!("storage '{}' has no path", s.id),
                });
            }
        }
        Ok(Self { storages })
    }

    /// The storage named `id`.
    pub fn get(&self, id: &str) -> Option<&Storage> {
        self.storages.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_local_and_local_zfs() {
        let cfg = StorageCfg::parse(DEFAULT_STORAGE_CFG).unwrap();
        let local = cfg.get("local").unwrap();
        assert_eq!(
            (local.kind, local.path.as_str()),
            (StorageType::Dir, "/var/lib/vz")
        );
        assert!(local.has_content("vztmpl") && !local.has_content("rootdir"));
        let zfs = cfg.get("local-zfs").unwrap();
        assert_eq!(
            (zfs.kind, zfs.path.as_str()),
            (StorageType::ZfsPool, "/rpool/data")
        );
        assert!(zfs.has_content("rootdir"));
    }

    #[test]
    fn unknown_types_are_skipped_and_mountpoint_wins() {
        let cfg = StorageCfg::parse(
            "lvmthin: local-lvm\n\tthinpool data\n\nzfspool: tank\n\tpool tank/ct\n\tmountpoint /mnt/tank\n\tcontent rootdir\n\tdisable\n",
        )
        .unwrap();
        assert_eq!(cfg.storages.len(), 1);
        let t = cfg.get("tank").unwrap();
        assert_eq!(t.path, "/mnt/tank");
        assert!(t.disabled);
    }

    #[test]
    fn errors_name_the_line() {
        let e = StorageCfg::parse("\tpath /x\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "storage.cfg line 1: property outside a section"
        );
        let e = StorageCfg::parse("garbage\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "storage.cfg line 1: unable to parse section header 'garbage'"
        );
        let e = StorageCfg::parse("dir: x\n\tcontent rootdir\n").unwrap_err();
        assert_eq!(e.to_string(), "storage.cfg line 0: storage 'x' has no path");
    }
}
