//! Writing files into a container's rootfs from the host, safely.
//!
//! Why this matters: the host writes as real root. A rootfs (from a template, or from a
//! container that ran) can hold symlinks such as `etc/hostname -> /etc/shadow`; following
//! one would overwrite a host file. So every component below the rootfs is checked with
//! `symlink_metadata` and a symlink anywhere refuses the write. The container is not
//! running while the emulator writes (create, start before `lxc-start`), so nothing inside
//! can swap a component between the check and the write.

use std::os::unix::fs::{PermissionsExt, lchown};
use std::path::{Component, Path, PathBuf};

use crate::shift::OwnerMap;

/// A guest write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum GuestWriteError {
    /// A component of the path is a symlink (or not a directory).
    #[error(
        "refusing to write '{rel}' in the container: '{component}' is a symlink or not a directory"
    )]
    Unsafe {
        /// The path inside the container.
        rel: String,
        /// The offending component, inside the container.
        component: String,
    },
    /// The path is not a plain relative path.
    #[error("refusing to write '{0}' in the container: not a plain path")]
    BadPath(String),
    /// A filesystem call failed.
    #[error("cannot write '{rel}' in the container: {source}")]
    Io {
        /// The path inside the container.
        rel: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `contents` to `rel` (a path inside the container, like `/etc/hostname`) under
/// `rootfs`, creating missing directories with `dir_mode`, owned by the container's root through
/// `map`, with file mode `mode`.
pub fn write_file(
    rootfs: &Path,
    rel: &str,
    contents: &[u8],
    (mode, dir_mode): (u32, u32),
    map: &OwnerMap,
) -> Result<(), GuestWriteError> {
    let io = |source| GuestWriteError::Io {
        rel: rel.to_owned(),
        source,
    };
    let parts: Vec<&std::ffi::OsStr> = Path::new(rel)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(Ok(p)),
            Component::RootDir | Component::CurDir => None,
            _ => Some(Err(())),
        })
        .collect::<Result<_, _>>()
        .map_err(|()| GuestWriteError::BadPath(rel.to_owned()))?;
    let Some((file, dirs)) = parts.split_last() else {
        return Err(GuestWriteError::BadPath(rel.to_owned()));
    };
    let mut cur = rootfs.to_path_buf();
    let mut shown = PathBuf::from("/");
    for d in dirs {
        cur.push(d);
        shown.push(d);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(GuestWriteError::Unsafe {
                    rel: rel.to_owned(),
                    component: shown.display().to_string(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&cur).map_err(io)?;
                std::fs::set_permissions(&cur, std::fs::Permissions::from_mode(dir_mode))
                    .map_err(io)?;
                lchown(&cur, Some(map.host_uid(0)), Some(map.host_gid(0))).map_err(io)?;
            }
            Err(e) => return Err(io(e)),
        }
    }
    let target = cur.join(file);
    shown.push(file);
    if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.is_file()) {
        return Err(GuestWriteError::Unsafe {
            rel: rel.to_owned(),
            component: shown.display().to_string(),
        });
    }
    // Written beside the target and renamed over it: a rename replaces a path, it never
    // follows a link.
    let tmp = cur.join(format!(".{}.pct-emulator.tmp", file.to_string_lossy()));
    let result = (|| {
        std::fs::write(&tmp, contents)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        lchown(&tmp, Some(map.host_uid(0)), Some(map.host_gid(0)))?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_creates_directories() {
        let t = tempfile::tempdir().unwrap();
        write_file(
            t.path(),
            "/root/.ssh/authorized_keys",
            b"k\n",
            (0o600, 0o700),
            &OwnerMap::default(),
        )
        .unwrap();
        let p = t.path().join("root/.ssh/authorized_keys");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "k\n");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn symlinks_are_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::write(&outside, "host file").unwrap();
        let root = t.path().join("rootfs");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("etc/hostname")).unwrap();
        let e = write_file(
            &root,
            "/etc/hostname",
            b"evil\n",
            (0o644, 0o755),
            &OwnerMap::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to write '/etc/hostname' in the container: '/etc/hostname' is a symlink or not a directory"
        );
        std::os::unix::fs::symlink(t.path(), root.join("root")).unwrap();
        let e =
            write_file(&root, "/root/x", b"", (0o644, 0o755), &OwnerMap::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to write '/root/x' in the container: '/root' is a symlink or not a directory"
        );
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "host file");
        let e = write_file(&root, "/../x", b"", (0o644, 0o755), &OwnerMap::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to write '/../x' in the container: not a plain path"
        );
        let e = GuestWriteError::Io {
            rel: "/x".into(),
            source: std::io::Error::other("full"),
        };
        assert_eq!(e.to_string(), "cannot write '/x' in the container: full");
    }
}
