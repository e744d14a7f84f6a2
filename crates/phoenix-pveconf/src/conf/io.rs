//! Reading and writing `<root>/etc/pve/lxc/<vmid>.conf`, and Proxmox's config lock.
//!
//! Every path is resolved under a root directory (`/` on a real host, a temporary directory
//! in tests). Writes go to a temporary file in the same directory that is renamed into
//! place, and refuse to replace a file that changed since it was read.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{CtConf, Digest};
use crate::Vmid;

/// How long Proxmox waits for the config lock before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// pmxcfs refuses files above 1 MiB.
pub const MAX_CONF_SIZE: usize = 1024 * 1024;

/// Why reading, writing or locking a conf failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfIoError {
    /// The file exists but could not be read.
    #[error("unable to read '{}'", path.display())]
    Read {
        /// The conf file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("'{}' is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The conf file.
        path: PathBuf,
        /// Where the bad bytes start.
        #[source]
        source: std::str::Utf8Error,
    },
    /// Writing the temporary file or renaming it into place failed.
    #[error("unable to write '{}'", path.display())]
    Write {
        /// The file being written (the conf or its temporary file).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not what was read: someone else changed (or removed) it meanwhile.
    #[error("'{}' changed since it was read (digest {expected}, now {}) - read it again", path.display(), found.map_or_else(|| "missing".to_owned(), |d| d.to_string()))]
    Changed {
        /// The conf file.
        path: PathBuf,
        /// The digest of what was read.
        expected: Digest,
        /// The digest of what is there now, `None` when the file is gone.
        found: Option<Digest>,
    },
    /// The rendered file is larger than pmxcfs accepts.
    #[error("'{}' would be {size} bytes, above the 1 MiB limit of /etc/pve", path.display())]
    TooLarge {
        /// The conf file.
        path: PathBuf,
        /// The rendered size in bytes.
        size: usize,
    },
    /// The lock file could not be created, opened or locked.
    #[error("can't lock file '{}'", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The conf to modify does not exist.
    #[error("configuration file '{}' does not exist", path.display())]
    Missing {
        /// The conf file.
        path: PathBuf,
    },
    /// Someone else held the lock for the whole timeout (Proxmox's message).
    #[error("can't lock file '{}' - got timeout", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
    },
}

/// `<root>/etc/pve/lxc/<vmid>.conf`.
pub fn conf_path(root: &Path, vmid: Vmid) -> PathBuf {
    root.join("etc/pve/lxc").join(format!("{vmid}.conf"))
}

/// `<root>/run/lock/lxc/pve-config-<vmid>.lock`, the file Proxmox flocks around every change.
pub fn lock_path(root: &Path, vmid: Vmid) -> PathBuf {
    root.join("run/lock/lxc")
        .join(format!("pve-config-{vmid}.lock"))
}

/// Reads and parses a conf. `Ok(None)` when the file does not exist. The digest is that of
/// the bytes read: pass it to [`write_conf_atomic`] to refuse overwriting a newer file.
/// Parse warnings are not lost: [`CtConf::warnings`] recomputes them.
pub fn read_optional_conf(
    root: &Path,
    vmid: Vmid,
) -> Result<Option<(CtConf, Digest)>, ConfIoError> {
    let path = conf_path(root, vmid);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes).map_err(|source| ConfIoError::NotUtf8 {
        path: path.clone(),
        source,
    })?;
    Ok(Some((CtConf::parse(text).conf, Digest::of(&bytes))))
}

/// A CT conf on pmxcfs is at most 1 MiB; 16 MiB bounds a local copy too.
const READ_LIMIT: u64 = 16 * 1024 * 1024;

/// The conf's bytes, `None` when it does not exist. A FIFO or device in its place is
/// refused at once (it would block or never end), as is a file over [`READ_LIMIT`].
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ConfIoError> {
    phoenix_hostpath::read_input_io(path, READ_LIMIT).map_err(|source| ConfIoError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Writes `conf.render()` atomically: a temporary file in the same directory (with the old
/// file's permissions and owner) is synced and renamed over the conf. With `expected`, the write is
/// refused unless the file on disk still has that digest. `None` skips the check (like
/// `pct set` without `--digest`). Hold [`lock_conf`] around the read, edit and write.
/// Returns the digest of what was written.
pub fn write_conf_atomic(
    root: &Path,
    vmid: Vmid,
    conf: &CtConf,
    expected: Option<Digest>,
) -> Result<Digest, ConfIoError> {
    let path = conf_path(root, vmid);
    if let Some(expected) = expected {
        let found = read_optional(&path)?.map(|b| Digest::of(&b));
        if found != Some(expected) {
            return Err(ConfIoError::Changed {
                path,
                expected,
                found,
            });
        }
    }
    let text = conf.render();
    if text.len() > MAX_CONF_SIZE {
        return Err(ConfIoError::TooLarge {
            path,
            size: text.len(),
        });
    }
    let dir = path.parent().unwrap_or(root);
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| ConfIoError::Write { path, source }
    };
    fs::create_dir_all(dir).map_err(write_err(dir))?;
    // Proxmox writes `<file>.tmp.<pid>` next to the file and renames it (file_set_contents);
    // phoenix's temp is the same shape, hidden and marked as its own
    // (`.<vmid>.conf.tmp.<pid>.phoenix-<n>`), so a later run sweeps one a crash left behind.
    let _ = phoenix_hostpath::temp::sweep_stale_temps(dir);
    let tmp = phoenix_hostpath::temp::temp_path_for(&path);
    let result = write_new_file(&tmp, text.as_bytes(), fs::metadata(&path).ok())
        .and_then(|()| fs::rename(&tmp, &path));
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(ConfIoError::Write { path, source });
    }
    // Make the rename durable; some file systems (pmxcfs) cannot sync a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Digest::of(text.as_bytes()))
}

fn write_new_file(path: &Path, bytes: &[u8], old: Option<fs::Metadata>) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    if let Some(old) = old {
        file.set_permissions(old.permissions())?;
        // Keep the owner too; only root can give a file away, so only try when it differs.
        let new = file.metadata()?;
        if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
            std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()))?;
        }
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Proxmox's config lock on one CT, held until dropped.
#[derive(Debug)]
pub struct ConfLock {
    _file: File,
    path: PathBuf,
}

impl ConfLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the flock Proxmox takes around every change of a CT's conf, waiting at most
/// `timeout` (Proxmox waits [`LOCK_TIMEOUT`]). The lock file and its directory are created
/// if needed. The lock is released when the returned guard is dropped.
pub fn lock_conf(root: &Path, vmid: Vmid, timeout: Duration) -> Result<ConfLock, ConfIoError> {
    let path = lock_path(root, vmid);
    let lock_err = |source| ConfIoError::Lock {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(lock_err)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(lock_err)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(ConfLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => {
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(ConfIoError::LockTimeout { path });
                }
                std::thread::sleep((timeout - waited).min(Duration::from_millis(20)));
            }
            Err(TryLockError::Error(source)) => return Err(lock_err(source)),
        }
    }
}

/// Read, edit and write one CT's conf the way Proxmox does every change: under the config
/// lock (waiting at most `timeout`), refusing to overwrite a file changed behind the lock's
/// back, and writing only when `edit` changed something. Returns what `edit` returned.
///
/// ```
/// use std::time::Duration;
/// use phoenix_pveconf::Vmid;
/// use phoenix_pveconf::conf::{CtConf, io};
///
/// let root = tempfile::tempdir().unwrap();
/// let id = Vmid::new(100).unwrap();
/// io::write_conf_atomic(root.path(), id, &CtConf::parse("memory: 512\n").conf, None).unwrap();
/// io::modify_conf(root.path(), id, Duration::from_secs(10), |conf| conf.set("memory", "1024"))
///     .unwrap()
///     .unwrap();
/// let (conf, _) = io::read_optional_conf(root.path(), id).unwrap().unwrap();
/// assert_eq!(conf.render(), "memory: 1024\n");
/// ```
pub fn modify_conf<T>(
    root: &Path,
    vmid: Vmid,
    timeout: Duration,
    edit: impl FnOnce(&mut CtConf) -> T,
) -> Result<T, ConfIoError> {
    let _lock = lock_conf(root, vmid, timeout)?;
    let Some((mut conf, digest)) = read_optional_conf(root, vmid)? else {
        return Err(ConfIoError::Missing {
            path: conf_path(root, vmid),
        });
    };
    let before = conf.render();
    let out = edit(&mut conf);
    if conf.render() != before {
        write_conf_atomic(root, vmid, &conf, Some(digest))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
