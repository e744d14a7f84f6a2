//! Host directories behind a small trait: what the planner reads (owner and mode of a
//! volume directory) and what the executor does (create, chown, chmod). The real one
//! works on the file system under the root; tests without root use one that keeps
//! owners in memory (a chown to 100000 needs root).
//!
//! Security: phoenix runs as root, so a symlink on the way to a host path (a
//! volume's parent `<root>/srv -> /etc`) would turn a chown of a volume into a chown
//! of the host. [`resolve_beneath`] resolves a config path beneath the root and
//! refuses one that leaves it; [`RealFs`] refuses any path that still has a symlink
//! in it (a resolved path has none), so even a path built with [`under_root`] never
//! reaches outside through a link.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use camino::{Utf8Path, Utf8PathBuf};

pub use phoenix_hostpath::{
    EscapeError, INPUT_LIMIT, InputError, check_root, read_input, resolve_beneath,
};

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
    /// Removes a file (not a directory); an absent file is no error.
    fn remove_file(&self, path: &Utf8Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

/// Refuses `path` when one of its components that exist is a symlink: the last one
/// too when `last` is set (chmod and chown follow it; stat does not).
fn refuse_symlinks(path: &Utf8Path, last: bool) -> io::Result<()> {
    let mut ancestors: Vec<&Utf8Path> = path.ancestors().collect();
    if !last {
        ancestors.remove(0);
    }
    for a in ancestors {
        match std::fs::symlink_metadata(a) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{a} is a symlink; phoenix does not follow symlinks in host paths (it could lead out of the root)"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

impl HostFs for RealFs {
    fn stat(&self, path: &Utf8Path) -> io::Result<Option<PathMeta>> {
        refuse_symlinks(path, false)?;
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
        refuse_symlinks(path, true)?;
        std::fs::create_dir_all(path)?;
        self.chmod(path, mode)
    }

    fn chmod(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        refuse_symlinks(path, true)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    fn chown(&self, path: &Utf8Path, uid: u32, gid: u32) -> io::Result<()> {
        refuse_symlinks(path, true)?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
    }

    fn remove_file(&self, path: &Utf8Path) -> io::Result<()> {
        // unlink removes a final symlink itself, never what it points to.
        refuse_symlinks(path, false)?;
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// A host path from the config, under `root`, by joining: no symlink is resolved.
/// Prefer [`under_root_checked`].
pub fn under_root(root: &Utf8Path, path: &Utf8Path) -> Utf8PathBuf {
    root.join(path.as_str().trim_start_matches('/'))
}

/// A host path from the config resolved beneath `root` ([`resolve_beneath`]): the
/// result holds no symlink, and a path that would leave the root (a `..` or a
/// symlink on the way) is refused with its path.
pub fn under_root_checked(root: &Utf8Path, path: &Utf8Path) -> Result<Utf8PathBuf, EscapeError> {
    resolve_beneath(root, path)
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

/// The largest host file phoenix reads (`/etc/subuid`, a CT conf): Proxmox's own
/// limit for a conf is 1 MiB; 16 MiB leaves room and still bounds memory.
pub const HOST_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// The bytes of a host file phoenix reads (already under the root), `None` when it
/// does not exist. Refused at once, as an error naming the path: a FIFO or device
/// (it would block or never end), a directory, a file over [`HOST_FILE_LIMIT`].
/// Symlinks are followed (`/etc/pve/lxc` is one on every Proxmox host): resolve a
/// config path with [`resolve_beneath`] first, or use [`read_beneath`]. Use this
/// instead of `std::fs::read` for every host file.
pub fn read_host_file(path: &Utf8Path) -> io::Result<Option<Vec<u8>>> {
    match read_input(path, HOST_FILE_LIMIT) {
        Ok(bytes) => Ok(bytes),
        Err(InputError::Io { source, .. }) => Err(source),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())),
    }
}

/// The text of a host file: [`read_host_file`], and an error (not a lossy decode)
/// when it is not UTF-8, naming the byte offset.
pub fn read_host_text(path: &Utf8Path) -> io::Result<Option<String>> {
    read_host_file(path)?
        .map(|b| {
            String::from_utf8(b).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{path} is not UTF-8 text (byte {})",
                        e.utf8_error().valid_up_to()
                    ),
                )
            })
        })
        .transpose()
}

/// `rel` resolved beneath `root` ([`resolve_beneath`]) and read with
/// [`read_host_file`]: an escape is an error naming the path.
pub fn read_beneath(root: &Utf8Path, rel: &Utf8Path) -> io::Result<Option<Vec<u8>>> {
    let path = resolve_beneath(root, rel)
        .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()))?;
    read_host_file(&path)
}

/// SHA-1 (hex) of a file's content, `None` when it does not exist. Read with
/// [`read_host_file`]: a FIFO or device in place of a CT conf is an error, not a hang.
pub fn file_digest(path: &Utf8Path) -> io::Result<Option<String>> {
    Ok(read_host_file(path)?.map(|bytes| phoenix_pveconf::conf::Digest::of(&bytes).to_string()))
}

/// [`HostFs`] beneath a root: each path (already joined under the root, as
/// [`under_root`] does) is resolved with [`resolve_beneath`] before it is touched,
/// so symlinks inside the root are followed and one leading out is refused with its
/// path. With the root `/` nothing can escape and every symlink is followed. The
/// orchestrator should use this instead of [`RealFs`] (which, not knowing the root,
/// refuses every symlink).
#[derive(Debug, Clone)]
pub struct BeneathFs {
    root: Utf8PathBuf,
}

impl BeneathFs {
    /// A file system beneath `root`.
    pub fn new(root: impl Into<Utf8PathBuf>) -> Self {
        BeneathFs { root: root.into() }
    }

    /// `path` (under the root) resolved beneath it.
    fn resolve(&self, path: &Utf8Path) -> io::Result<Utf8PathBuf> {
        let canonical = self.root.canonicalize_utf8().ok();
        let rel = path
            .strip_prefix(&self.root)
            .ok()
            .or_else(|| canonical.as_deref().and_then(|c| path.strip_prefix(c).ok()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{path} is not under the root {}", self.root),
                )
            })?;
        resolve_beneath(&self.root, rel)
            .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()))
    }
}

impl HostFs for BeneathFs {
    fn stat(&self, path: &Utf8Path) -> io::Result<Option<PathMeta>> {
        RealFs.stat(&self.resolve(path)?)
    }

    fn create_dir(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        RealFs.create_dir(&self.resolve(path)?, mode)
    }

    fn chmod(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        RealFs.chmod(&self.resolve(path)?, mode)
    }

    fn chown(&self, path: &Utf8Path, uid: u32, gid: u32) -> io::Result<()> {
        RealFs.chown(&self.resolve(path)?, uid, gid)
    }

    fn remove_file(&self, path: &Utf8Path) -> io::Result<()> {
        // The directory is resolved; the name is unlinked as it is (a link the container
        // put there is removed, never what it points to).
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path} names no file"),
            ));
        };
        RealFs.remove_file(&self.resolve(dir)?.join(name))
    }
}

/// Why a config secret cannot be read. It names the reference, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// An `{"env"}` reference whose variable is not set (or not UTF-8).
    #[error("the secret's environment variable {var} is not set")]
    EnvUnset {
        /// The variable.
        var: String,
    },
    /// A `{"file"}` reference that does not resolve beneath the root.
    #[error("the secret file {path}")]
    Escape {
        /// The file as the config names it.
        path: String,
        /// Why it does not resolve.
        #[source]
        source: EscapeError,
    },
    /// A `{"file"}` reference to a file that does not exist.
    #[error("the secret file {path} does not exist")]
    Missing {
        /// The file as the config names it.
        path: String,
    },
    /// A `{"file"}` reference that cannot be read.
    #[error("the secret file {path}")]
    Read {
        /// The file as the config names it.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// The value of a config secret: a `{"file"}` reference read beneath `root` (its
/// trailing newline cut), an `{"env"}` one from this process's environment, a
/// plaintext one as written. The error names the reference, never a value.
pub fn secret_value(
    root: &Utf8Path,
    secret: &phoenix_config::SecretRef,
) -> Result<String, SecretError> {
    use phoenix_config::model::secret::{SecretRef, SecretSource};
    match secret {
        SecretRef::Plaintext(p) => Ok(p.expose().to_owned()),
        SecretRef::Reference(SecretSource::Env(var)) => {
            std::env::var(var.as_str()).map_err(|_| SecretError::EnvUnset {
                var: var.as_str().to_owned(),
            })
        }
        SecretRef::Reference(SecretSource::File(path)) => {
            let path = path.as_str();
            let host = resolve_beneath(root, Utf8Path::new(path)).map_err(|source| {
                SecretError::Escape {
                    path: path.to_owned(),
                    source,
                }
            })?;
            match read_host_text(&host) {
                Ok(Some(text)) => Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned()),
                Ok(None) => Err(SecretError::Missing {
                    path: path.to_owned(),
                }),
                Err(source) => Err(SecretError::Read {
                    path: path.to_owned(),
                    source,
                }),
            }
        }
    }
}

/// The directories, relative to the root, that phoenix writes host files into with an
/// atomic rename: `/etc/subuid` and `/etc/subgid`, the CT confs, the guest firewall files,
/// the AppArmor profiles, the nesting tunable and its hook.
pub const WRITTEN_DIRS: &[&str] = &[
    "etc",
    "etc/pve/lxc",
    "etc/pve/firewall",
    "etc/apparmor.d/lxc",
    "etc/apparmor.d/tunables",
    "etc/apparmor.d/tunables/home.d",
];

/// Removes the temp files a killed phoenix run left in [`WRITTEN_DIRS`] under `root`
/// ([`phoenix_hostpath::temp`]: only phoenix's own names, only of processes that are gone)
/// and returns them. Each directory is resolved beneath the root first; one that leads
/// out of it, or cannot be read, is skipped (the writers refuse it themselves).
pub fn sweep_stale_temps(root: &Utf8Path) -> Vec<std::path::PathBuf> {
    WRITTEN_DIRS
        .iter()
        .filter_map(|dir| resolve_beneath(root, Utf8Path::new(dir)).ok())
        .filter_map(|dir| phoenix_hostpath::temp::sweep_stale_temps(dir.as_std_path()).ok())
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_fs_refuses_a_symlinked_parent_that_leads_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path())
            .unwrap()
            .canonicalize_utf8()
            .unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("srv")).unwrap();
        let path = under_root(&root, Utf8Path::new("/srv/share"));
        let e = RealFs.create_dir(&path, 0o755).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{root}/srv is a symlink; phoenix does not follow symlinks in host paths (it could lead out of the root)"
            )
        );
        assert!(RealFs.stat(&path).is_err());
        assert!(RealFs.chown(&root.join("srv"), 0, 0).is_err());
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/subuid"), b"\xff\xfe").unwrap();
        let e = read_host_text(&root.join("etc/subuid")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{root}/etc/subuid is not UTF-8 text (byte 0)")
        );
        let fifo = root.join("etc/fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(fifo.as_str())
                .status()
                .unwrap()
                .success()
        );
        let e = read_host_file(&fifo).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{fifo} is a FIFO, not a regular file")
        );
        assert!(read_host_file(&root.join("etc/none")).unwrap().is_none());
        let beneath = BeneathFs::new(root.clone());
        let e = beneath.create_dir(&path, 0o755).unwrap_err();
        assert!(e.to_string().contains("escapes the root"), "{e}");
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("alias")).unwrap();
        beneath.create_dir(&root.join("alias/vol"), 0o750).unwrap();
        assert!(root.join("real/vol").is_dir());
        assert!(
            beneath
                .stat(&root.join("alias/vol"))
                .unwrap()
                .unwrap()
                .is_dir
        );
        let e = under_root_checked(&root, Utf8Path::new("/srv/share")).unwrap_err();
        assert!(e.to_string().contains("escapes the root"), "{e}");
        std::fs::create_dir(root.join("data")).unwrap();
        assert_eq!(
            under_root_checked(&root, Utf8Path::new("/data/x")).unwrap(),
            root.join("data/x")
        );
    }

    #[test]
    fn secrets_are_read_beneath_the_root_and_errors_name_the_reference() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/token"), "hf_x\n").unwrap();
        let file: phoenix_config::SecretRef =
            serde_json::from_str(r#"{"file": "/etc/token"}"#).unwrap();
        assert_eq!(secret_value(root, &file).unwrap(), "hf_x");
        let missing: phoenix_config::SecretRef =
            serde_json::from_str(r#"{"file": "/etc/nope"}"#).unwrap();
        assert_eq!(
            secret_value(root, &missing).unwrap_err().to_string(),
            "the secret file /etc/nope does not exist"
        );
        let env: phoenix_config::SecretRef =
            serde_json::from_str(r#"{"env": "PHOENIX_TEST_UNSET_SECRET_VAR"}"#).unwrap();
        assert_eq!(
            secret_value(root, &env).unwrap_err().to_string(),
            "the secret's environment variable PHOENIX_TEST_UNSET_SECRET_VAR is not set"
        );
        // Read errors keep the OS error as the source: `the secret file X: <os error>`.
        std::fs::create_dir_all(root.join("etc/dir")).unwrap();
        let dir: phoenix_config::SecretRef =
            serde_json::from_str(r#"{"file": "/etc/dir"}"#).unwrap();
        let e = secret_value(root, &dir).unwrap_err();
        assert!(matches!(&e, SecretError::Read { path, .. } if path == "/etc/dir"));
        assert_eq!(e.to_string(), "the secret file /etc/dir");
        assert!(std::error::Error::source(&e).is_some());
        let empty: phoenix_config::SecretRef =
            serde_json::from_str(r#"{"file": "/etc/token"}"#).unwrap();
        let e = secret_value(Utf8Path::new(""), &empty).unwrap_err();
        assert!(matches!(&e, SecretError::Escape { path, .. } if path == "/etc/token"));
        assert_eq!(e.to_string(), "the secret file /etc/token");
        assert_eq!(
            std::error::Error::source(&e).unwrap().to_string(),
            "the root is empty: give --root a directory (\"/\" for the real host)"
        );
    }

    #[test]
    fn sweep_removes_only_stale_phoenix_temps_in_written_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        for d in WRITTEN_DIRS {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let stale = [
            root.join("etc/.subuid.tmp.999999999.phoenix-1"),
            root.join("etc/pve/lxc/.101.conf.tmp.999999999.phoenix-2"),
            root.join("etc/apparmor.d/tunables/.nesting.tmp.999999999.phoenix-3"),
        ];
        let kept = [
            root.join("etc/pve/lxc/101.conf.tmp.999999999"),
            root.join("srv/.x.tmp.999999999.phoenix-4"),
        ];
        for f in stale.iter().chain(&kept) {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "half").unwrap();
        }
        let mut removed = sweep_stale_temps(root);
        removed.sort();
        let mut want: Vec<_> = stale.iter().map(|p| p.as_std_path().to_owned()).collect();
        want.sort();
        assert_eq!(removed, want);
        assert!(kept.iter().all(|f| f.exists()));
    }
}
