//! Host paths resolved beneath a root, and bounded reads of input files.
//!
//! phoenix runs as root on a hypervisor. Every host path it reads, writes, creates or
//! chowns comes from a config (`host_path: "/srv/share"`) or a fixed location
//! (`/etc/subuid`), and is placed under `--root`. Joining strings is not enough: a
//! directory on the way (`<root>/srv -> /`) or the last component may be a symlink
//! that leads out of the root, and a chown through it lands on the real host.
//! [`resolve_beneath`] walks the path one component at a time with
//! `symlink_metadata`, expands each symlink itself and refuses, naming the path, any
//! step that would leave the root (the rule of Linux's `openat2(RESOLVE_BENEATH)`):
//! a `..` above the root, or an absolute symlink target when the root is not `/`.
//! What it returns holds no symlink, so the kernel follows nothing the caller did
//! not see.
//!
//! ```
//! use camino::Utf8Path;
//! use phoenix_hostpath::{EscapeError, resolve_beneath};
//! let dir = tempfile::tempdir().unwrap();
//! let root = Utf8Path::from_path(dir.path()).unwrap().canonicalize_utf8().unwrap();
//! std::fs::create_dir(root.join("srv")).unwrap();
//! std::os::unix::fs::symlink("/etc", root.join("srv/out")).unwrap();
//! assert_eq!(resolve_beneath(&root, "/srv/share".into()).unwrap(), root.join("srv/share"));
//! let err = resolve_beneath(&root, "/srv/out/passwd".into()).unwrap_err();
//! assert!(matches!(err, EscapeError::Escapes { .. }));
//! assert!(err.to_string().starts_with("host path /srv/out/passwd escapes the root"));
//! ```
//!
//! [`read_input`] reads a file given on the command line or in a config directory:
//! only a regular file (a FIFO, device or directory is refused before it is opened
//! for reading, so nothing blocks), at most [`INPUT_LIMIT`] bytes.
//!
//! [`temp`] names the temp files of atomic writes and sweeps the ones a killed run left.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

use camino::{Utf8Component, Utf8Path, Utf8PathBuf};

pub mod temp;

/// Symlinks expanded in one resolution before it is refused as a loop (Linux's limit).
pub const MAX_SYMLINKS: usize = 40;

/// The largest input file phoenix reads (64 MiB): a config is kilobytes, so more is
/// a mistake (a link to `/dev/zero`, a log) and reading it would only use memory.
pub const INPUT_LIMIT: u64 = 64 * 1024 * 1024;

/// Why a host path cannot be used beneath the root.
#[derive(Debug, thiserror::Error)]
pub enum EscapeError {
    /// `--root ""`: no root at all, which would put every path in the working directory.
    #[error("the root is empty: give --root a directory (\"/\" for the real host)")]
    EmptyRoot,
    /// The root itself cannot be resolved.
    #[error("cannot resolve the root {root}")]
    Root {
        /// The root as given.
        root: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A `..` or a symlink leads out of the root.
    #[error("host path {path} escapes the root {root} at {at}: {why}")]
    Escapes {
        /// The path as given.
        path: Utf8PathBuf,
        /// The root.
        root: Utf8PathBuf,
        /// The component (under the root) where it would leave.
        at: Utf8PathBuf,
        /// What leads out.
        why: String,
    },
    /// More than [`MAX_SYMLINKS`] symlinks.
    #[error("host path {path}: more than {MAX_SYMLINKS} symlinks (a loop?)")]
    Loop {
        /// The path as given.
        path: Utf8PathBuf,
    },
    /// A component could not be examined.
    #[error("host path {path}: cannot examine {at}")]
    Io {
        /// The path as given.
        path: Utf8PathBuf,
        /// The component.
        at: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A symlink target is not UTF-8.
    #[error("host path {path}: the symlink {at} points at a name that is not UTF-8")]
    NotUtf8 {
        /// The path as given.
        path: Utf8PathBuf,
        /// The symlink.
        at: Utf8PathBuf,
    },
}

/// Checks a `--root` value: refuses the empty string.
pub fn check_root(root: &Utf8Path) -> Result<(), EscapeError> {
    if root.as_str().is_empty() {
        Err(EscapeError::EmptyRoot)
    } else {
        Ok(())
    }
}

/// `path` (absolute or relative, always taken as relative to `root`) resolved beneath
/// `root`: every symlink on the way is expanded and none may leave the root. The
/// components that do not exist yet are appended as given (so the result can be
/// created). The result starts with the canonical root and contains no symlink.
pub fn resolve_beneath(root: &Utf8Path, path: &Utf8Path) -> Result<Utf8PathBuf, EscapeError> {
    check_root(root)?;
    let base = root
        .canonicalize_utf8()
        .map_err(|source| EscapeError::Root {
            root: root.to_owned(),
            source,
        })?;
    let host_root = base == "/";
    let escapes = |at: &Utf8Path, why: String| EscapeError::Escapes {
        path: path.to_owned(),
        root: root.to_owned(),
        at: at.to_owned(),
        why,
    };
    let mut queue: VecDeque<String> = components(path);
    let mut cur = base.clone();
    let mut links = 0;
    while let Some(name) = queue.pop_front() {
        if name == ".." {
            if cur == base {
                return Err(escapes(&cur, "\"..\" above the root".into()));
            }
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(EscapeError::Loop {
                        path: path.to_owned(),
                    });
                }
                let target = std::fs::read_link(&next).map_err(|source| EscapeError::Io {
                    path: path.to_owned(),
                    at: next.clone(),
                    source,
                })?;
                let target =
                    Utf8PathBuf::from_path_buf(target).map_err(|_| EscapeError::NotUtf8 {
                        path: path.to_owned(),
                        at: next.clone(),
                    })?;
                if target.is_absolute() {
                    if !host_root {
                        return Err(escapes(
                            &next,
                            format!("a symlink to the absolute path {target}"),
                        ));
                    }
                    cur = base.clone();
                }
                for c in components(&target).into_iter().rev() {
                    queue.push_front(c);
                }
            }
            Ok(_) => cur = next,
            Err(e) if e.kind() == io::ErrorKind::NotFound => cur = next,
            Err(e) if e.raw_os_error() == Some(20) => {
                // ENOTDIR: a file on the way; the caller's operation fails on it.
                cur = next;
            }
            Err(source) => {
                return Err(EscapeError::Io {
                    path: path.to_owned(),
                    at: next,
                    source,
                });
            }
        }
    }
    debug_assert!(cur.starts_with(&base));
    Ok(cur)
}

/// The normal and `..` components of `path`, relative (a root or `.` is dropped).
fn components(path: &Utf8Path) -> VecDeque<String> {
    path.components()
        .filter_map(|c| match c {
            Utf8Component::Normal(n) => Some(n.to_owned()),
            Utf8Component::ParentDir => Some("..".to_owned()),
            _ => None,
        })
        .collect()
}

/// Why an input file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not a regular file: a FIFO would block, a device would never end.
    #[error("{path} is {kind}, not a regular file")]
    NotRegular {
        /// The file.
        path: Utf8PathBuf,
        /// "a directory", "a FIFO", "a character device", ...
        kind: &'static str,
    },
    /// Larger than the limit.
    #[error("{path} is larger than {limit} bytes; a config is never that big")]
    TooLarge {
        /// The file.
        path: Utf8PathBuf,
        /// The limit.
        limit: u64,
    },
    /// Any other I/O error.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// What kind of thing a non-regular file is, for messages.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// [`read_input`] for callers whose errors carry an `io::Error`: a refusal (not a
/// regular file, too large) is an `InvalidInput` error with its message. A path that is
/// not UTF-8 (phoenix's roots always are) is read as it is.
pub fn read_input_io(path: &std::path::Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let Some(upath) = Utf8Path::from_path(path) else {
        return match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        };
    };
    match read_input(upath, limit) {
        Ok(bytes) => Ok(bytes),
        Err(InputError::Io { source, .. }) => Err(source),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())),
    }
}

/// The bytes of the regular file `path` (a symlink to one is followed), at most
/// `limit` of them; `None` when it does not exist. A FIFO, device, socket or
/// directory is refused before reading; the file is opened non-blocking, so a FIFO
/// swapped in after the check does not block either.
pub fn read_input(path: &Utf8Path, limit: u64) -> Result<Option<Vec<u8>>, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let not_regular = |t| InputError::NotRegular {
        path: path.to_owned(),
        kind: kind_of(t),
    };
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > limit {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    // O_NONBLOCK (0o4000 on Linux): opening a FIFO for reading never waits for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(0o4000)
        .open(path)
        .map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path())
            .unwrap()
            .canonicalize_utf8()
            .unwrap();
        (dir, root)
    }

    #[test]
    fn links_inside_the_root_are_followed_and_links_out_refused() {
        let (_d, r) = root();
        std::fs::create_dir_all(r.join("data/real")).unwrap();
        std::os::unix::fs::symlink("real", r.join("data/alias")).unwrap();
        std::os::unix::fs::symlink("../..", r.join("data/up")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert_eq!(
            resolve_beneath(&r, "/data/alias/x".into()).unwrap(),
            r.join("data/real/x")
        );
        let e = resolve_beneath(&r, "/data/up/etc".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("host path /data/up/etc escapes the root {r} at {r}: \"..\" above the root")
        );
        assert!(matches!(
            resolve_beneath(&r, "/loop".into()),
            Err(EscapeError::Loop { .. })
        ));
        assert!(matches!(
            resolve_beneath(&r, "/../etc".into()),
            Err(EscapeError::Escapes { .. })
        ));
        assert!(matches!(
            resolve_beneath("".into(), "/etc".into()),
            Err(EscapeError::EmptyRoot)
        ));
    }

    #[test]
    fn every_error_names_the_path() {
        let texts = [
            EscapeError::EmptyRoot.to_string(),
            EscapeError::Root {
                root: "/nope".into(),
                source: io::Error::other("x"),
            }
            .to_string(),
            EscapeError::Loop { path: "/a".into() }.to_string(),
            EscapeError::Io {
                path: "/a/b".into(),
                at: "/r/a".into(),
                source: io::Error::other("x"),
            }
            .to_string(),
            EscapeError::NotUtf8 {
                path: "/a".into(),
                at: "/r/a".into(),
            }
            .to_string(),
        ];
        assert_eq!(
            texts,
            [
                "the root is empty: give --root a directory (\"/\" for the real host)",
                "cannot resolve the root /nope",
                "host path /a: more than 40 symlinks (a loop?)",
                "host path /a/b: cannot examine /r/a",
                "host path /a: the symlink /r/a points at a name that is not UTF-8",
            ]
        );
    }

    #[test]
    fn the_host_root_follows_absolute_links() {
        assert!(resolve_beneath("/".into(), "/proc/self/root/etc".into()).is_ok());
    }

    #[test]
    fn special_files_are_refused_at_once() {
        let (_d, r) = root();
        let e = read_input(&r, 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{r} is a directory, not a regular file")
        );
        let e = read_input("/dev/zero".into(), 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero is a character device, not a regular file"
        );
        std::fs::write(r.join("big"), [b' '; 11]).unwrap();
        let e = read_input(&r.join("big"), 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{r}/big is larger than 10 bytes; a config is never that big")
        );
        assert!(read_input(&r.join("none"), 10).unwrap().is_none());
        let e = InputError::Io {
            path: "/x".into(),
            source: io::Error::other("boom"),
        };
        assert_eq!(e.to_string(), "cannot read /x");
    }
}
