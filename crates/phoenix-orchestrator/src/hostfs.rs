//! Host directories behind a small trait: what the planner reads (owner and mode of a
//! volume directory) and what the executor does (create, chown, chmod). The real one
//! works on the file system under the root; tests without root use one that keeps
//! owners in memory (a chown to 100000 needs root).

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use camino::{Utf8Path, Utf8PathBuf};

/// What the host shows of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMeta {
    /// A directory (a symlink is never followed, so it is not one).
    pub is_dir: bool,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
}

/// Host directories (paths are already under the root).
pub trait HostFs: Send + Sync {
    /// The path's metadata, without following a final symlink; `None` when absent.
    fn stat(&self, path: &Utf8Path) -> io::Result<Option<PathMeta>>;
    /// Creates the directory (and its parents) with `mode`.
    fn create_dir(&self, path: &Utf8Path, mode: u32) -> io::Result<()>;
    /// Sets the permission bits.
    fn chmod(&self, path: &Utf8Path, mode: u32) -> io::Result<()>;
    /// Sets the owner.
    fn chown(&self, path: &Utf8Path, uid: u32, gid: u32) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl HostFs for RealFs {
    fn stat(&self, path: &Utf8Path) -> io::Result<Option<PathMeta>> {
        match std::fs::symlink_metadata(path) {
            Ok(m) => Ok(Some(PathMeta {
                is_dir: m.is_dir(),
                uid: m.uid(),
                gid: m.gid(),
                mode: m.mode() & 0o7777,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn create_dir(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        std::fs::create_dir_all(path)?;
        self.chmod(path, mode)
    }

    fn chmod(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    fn chown(&self, path: &Utf8Path, uid: u32, gid: u32) -> io::Result<()> {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
    }
}

/// A host path from the config, under `root`.
pub fn under_root(root: &Utf8Path, path: &Utf8Path) -> Utf8PathBuf {
    root.join(path.as_str().trim_start_matches('/'))
}

/// The digest a plan records for a directory's state.
pub fn dir_digest(meta: Option<PathMeta>) -> Option<String> {
    meta.map(|m| {
        if m.is_dir {
            format!("dir {}:{} {:04o}", m.uid, m.gid, m.mode)
        } else {
            "not a directory".to_owned()
        }
    })
}

/// SHA-1 (hex) of a file's content, `None` when it does not exist.
pub fn file_digest(path: &Utf8Path) -> io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(phoenix_pveconf::conf::Digest::of(&bytes).to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
