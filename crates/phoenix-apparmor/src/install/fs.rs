//! Reading and atomically writing the installed files.

use std::io::Write as _;

use camino::Utf8Path;

use super::InstallError;

/// A profile or tunable is kilobytes; more is not one.
const READ_LIMIT: u64 = 1024 * 1024;

/// The file's text, `None` when it does not exist. A FIFO or device is refused (it
/// would block or never end), as is a file over 1 MiB or one that is not UTF-8.
pub(super) fn read_optional(path: &Utf8Path) -> Result<Option<String>, InstallError> {
    let err = |source| InstallError::Read {
        path: path.to_owned(),
        source,
    };
    let bytes = match phoenix_hostpath::read_input(path, READ_LIMIT) {
        Ok(b) => b,
        Err(phoenix_hostpath::InputError::Io { source, .. }) => return Err(err(source)),
        Err(e) => return Err(err(std::io::Error::other(e.to_string()))),
    };
    bytes
        .map(|b| {
            String::from_utf8(b).map_err(|e| {
                err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
                ))
            })
        })
        .transpose()
}

/// Refuses a path with a symlink in it: the plan resolved every path beneath the
/// root, so a symlink here appeared since and may lead out of it.
fn refuse_symlinks(path: &Utf8Path) -> std::io::Result<()> {
    for a in path.ancestors() {
        if std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{a} is a symlink; phoenix does not write through symlinks"),
            ));
        }
    }
    Ok(())
}

/// Writes `content` to a hidden temp file in the same directory and renames it over
/// `path`. The temp name starts with `.`: AppArmor skips dot files when it includes a
/// directory, so a crash never leaves a half-written profile that gets loaded; it is
/// named for this process ([`phoenix_hostpath::temp`]), so the next run removes it.
/// On any error the temp is removed and `path` keeps its old content.
pub(super) fn write_atomic(path: &Utf8Path, content: &str) -> Result<(), InstallError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |source| InstallError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Utf8Path::new("."));
    refuse_symlinks(path).map_err(err)?;
    std::fs::create_dir_all(dir).map_err(err)?;
    let _ = phoenix_hostpath::temp::sweep_stale_temps(dir.as_std_path());
    let tmp = phoenix_hostpath::temp::temp_path_for(path.as_std_path());
    let result = (|| -> std::io::Result<()> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        out.write_all(content.as_bytes())?;
        // The umask may have narrowed 0644; apparmor_parser and tools read profiles as users.
        out.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        out.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}
