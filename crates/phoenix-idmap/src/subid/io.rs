//! Reading and atomically rewriting `<root>/etc/subuid` and `<root>/etc/subgid`.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::file::{SubIdEntry, SubIdFile, SubIdParseError};

/// Where the two files live under a root directory (`/` on a real host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubIdPaths {
    /// `<root>/etc/subuid`.
    pub subuid: PathBuf,
    /// `<root>/etc/subgid`.
    pub subgid: PathBuf,
}

impl SubIdPaths {
    /// The paths under `root`.
    pub fn under(root: &Path) -> Self {
        Self {
            subuid: root.join("etc/subuid"),
            subgid: root.join("etc/subgid"),
        }
    }
}

/// Reading, parsing or writing a subid file failed.
#[derive(Debug, thiserror::Error)]
pub enum SubIdIoError {
    /// The file exists but cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{} is not utf-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A line is bad.
    #[error("cannot parse {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line and what is wrong with it.
        #[source]
        source: SubIdParseError,
    },
    /// Writing the temporary file or renaming it into place failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Someone else changed the file between phoenix's read and its write.
    #[error("{} changed while phoenix was editing it; nothing was written", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

/// What [`ensure_file`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// Every wanted delegation was already there; the file was not written.
    Found,
    /// The file did not exist; it was created with these lines.
    Created {
        /// The lines written.
        added: Vec<SubIdEntry>,
    },
    /// These lines were appended; every other line is as it was.
    Extended {
        /// The lines appended.
        added: Vec<SubIdEntry>,
    },
}

/// A subid file is a few lines; 16 MiB is far beyond any real one.
const READ_LIMIT: u64 = 16 * 1024 * 1024;

/// The file's bytes; a FIFO or device is refused at once (it would block or never
/// end), as is a file over [`READ_LIMIT`].
fn read_bytes_optional(path: &Path) -> Result<Option<Vec<u8>>, SubIdIoError> {
    phoenix_hostpath::read_input_io(path, READ_LIMIT).map_err(|source| SubIdIoError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<SubIdFile, SubIdIoError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SubIdIoError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    SubIdFile::parse(text).map_err(|source| SubIdIoError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and parses a subid file; `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<SubIdFile>, SubIdIoError> {
    read_bytes_optional(path)?
        .map(|bytes| parse_bytes(path, &bytes))
        .transpose()
}

/// Ensures root has a range (`root:100000:65536` when it has none, or the file is
/// missing) and every wanted delegation, appending only what is missing. Writes only
/// when something changed, atomically, and refuses to write if the file changed since
/// it was read.
pub fn ensure_file(path: &Path, wanted: &[SubIdEntry]) -> Result<Ensured, SubIdIoError> {
    let original = read_bytes_optional(path)?;
    let mut file = match &original {
        Some(bytes) => parse_bytes(path, bytes)?,
        None => SubIdFile::default(),
    };
    let mut added = file.ensure_root_default();
    added.extend(file.ensure_delegations(wanted));
    if added.is_empty() {
        return Ok(Ensured::Found);
    }
    write_atomic(path, file.render().as_bytes(), original.as_deref())?;
    Ok(match original {
        None => Ensured::Created { added },
        Some(_) => Ensured::Extended { added },
    })
}

/// Replaces `path` with `contents`: a temporary file in the same directory, written,
/// synced and renamed into place, so readers see the old file or the new one, never a
/// half-written one. An existing file keeps its mode and owner; a new file is mode
/// 0644, owned by the caller (root on a host). `expected` is what the caller read
/// (`None`: the file did not exist); if the file no longer matches it, nothing is
/// written.
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    expected: Option<&[u8]>,
) -> Result<(), SubIdIoError> {
    let write_err = |source| SubIdIoError::Write {
        path: path.to_path_buf(),
        source,
    };
    if read_bytes_optional(path)?.as_deref() != expected {
        return Err(SubIdIoError::Changed {
            path: path.to_path_buf(),
        });
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    // A temp a killed run left here goes first (best effort: the write reports real trouble).
    let _ = phoenix_hostpath::temp::sweep_stale_temps(dir);
    let tmp = phoenix_hostpath::temp::temp_path_for(path);
    let meta = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(write_err(source)),
    };
    let result = (|| -> io::Result<()> {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        out.write_all(contents)?;
        match &meta {
            Some(meta) => {
                std::os::unix::fs::fchown(&out, Some(meta.uid()), Some(meta.gid()))?;
                out.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
            }
            // The umask may have narrowed 0644; /etc/subuid must stay world-readable.
            None => out.set_permissions(fs::Permissions::from_mode(0o644))?,
        }
        out.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}
