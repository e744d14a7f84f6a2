//! Reading a config directory for an upgrade, the unified diff of each file, and
//! the atomic write (temp file in the same directory, `<file>.bak`, rename).

use std::io::{self, Write};

use camino::{Utf8Path, Utf8PathBuf};

use super::upgrade_text;
use crate::schema::ConfigFile;

/// Why an upgrade could not read or write a file.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The directory does not exist.
    #[error("config directory {path} does not exist")]
    NoDirectory {
        /// The directory.
        path: Utf8PathBuf,
    },
    /// A required file is missing.
    #[error("missing file {path}")]
    Missing {
        /// The file.
        path: Utf8PathBuf,
    },
    /// A file is not a regular file or is too large; refused before reading it.
    #[error("refusing config file")]
    Input(#[source] phoenix_hostpath::InputError),
    /// A file is not UTF-8 text (a BOM, UTF-16, bad bytes).
    #[error("{message}")]
    Undecodable {
        /// The diagnostic, with file and position.
        message: String,
    },
    /// A file is not JSON; nothing can be rewritten.
    #[error("{path} is not valid JSON")]
    InvalidJson {
        /// The file.
        path: Utf8PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// Reading or writing failed.
    #[error("cannot {action} {path}")]
    Io {
        /// `read`, `write` or `rename`.
        action: &'static str,
        /// The file.
        path: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file changed between reading and writing; nothing was written.
    #[error("{path} changed since it was read; run the upgrade again")]
    Changed {
        /// The file.
        path: Utf8PathBuf,
    },
}

/// One file of a directory, before and after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpgrade {
    /// Which file.
    pub file: ConfigFile,
    /// Its path.
    pub path: Utf8PathBuf,
    /// The text as read.
    pub original: String,
    /// The rewritten text (equal to `original` when nothing changes).
    pub upgraded: String,
    /// What changed.
    pub changes: Vec<String>,
}

/// Reads and rewrites every file of `dir` (the VM file when present).
pub fn upgrade_dir(dir: &Utf8Path) -> Result<Vec<FileUpgrade>, UpgradeError> {
    if !dir.is_dir() {
        return Err(UpgradeError::NoDirectory {
            path: dir.to_owned(),
        });
    }
    let mut out = Vec::new();
    for file in ConfigFile::ALL {
        let path = dir.join(file.file_name());
        let original = match phoenix_hostpath::read_input(&path, phoenix_hostpath::INPUT_LIMIT) {
            Ok(Some(bytes)) => {
                crate::decode::decode(file, bytes).map_err(|d| UpgradeError::Undecodable {
                    message: d.to_string(),
                })?
            }
            Ok(None) if file == ConfigFile::Vm => continue,
            Ok(None) => return Err(UpgradeError::Missing { path }),
            Err(phoenix_hostpath::InputError::Io { source, .. }) => {
                return Err(UpgradeError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
            Err(e) => return Err(UpgradeError::Input(e)),
        };
        let up = upgrade_text(file, &original).map_err(|source| UpgradeError::InvalidJson {
            path: path.clone(),
            source,
        })?;
        out.push(FileUpgrade {
            file,
            path,
            original,
            upgraded: up.text,
            changes: up.changes,
        });
    }
    Ok(out)
}

/// Replaces a secret's value on a diff line (`"admin_password": "..."`) by
/// `<redacted>`: the diff shows that a secret is there, never what it is.
fn redact(line: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"("[A-Za-z0-9_]*(?i:password|token|secret)[A-Za-z0-9_]*"\s*:\s*)"(?:[^"\\]|\\.)*""#,
        )
        .expect("valid pattern")
    });
    RE.replace_all(line, |c: &regex::Captures<'_>| {
        let key = &c[1];
        if key.contains("_file\"") || key.contains("_hash\"") {
            c[0].to_owned()
        } else {
            format!("{key}\"{}\"", crate::model::secret::REDACTED)
        }
    })
    .into_owned()
}

impl FileUpgrade {
    /// True when the rewrite changes the file.
    pub fn is_changed(&self) -> bool {
        self.original != self.upgraded
    }

    /// The unified diff (`a/<file>`, `b/<file>`, three lines of context), secrets
    /// redacted; empty when nothing changes.
    pub fn diff(&self) -> String {
        if !self.is_changed() {
            return String::new();
        }
        let name = self.file.file_name();
        let diff = similar::TextDiff::from_lines(&self.original, &self.upgraded);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        text.lines().map(|l| redact(l) + "\n").collect()
    }

    /// Writes the rewrite: the old text to `<file>.bak`, the new one to a temp file
    /// in the same directory renamed over the file, so a reader sees the old file or
    /// the new one, never a part. Refuses when the file changed since it was read.
    pub fn write(&self) -> Result<(), UpgradeError> {
        if !self.is_changed() {
            return Ok(());
        }
        let now = std::fs::read_to_string(&self.path).map_err(|source| UpgradeError::Io {
            action: "read",
            path: self.path.clone(),
            source,
        })?;
        if now != self.original {
            return Err(UpgradeError::Changed {
                path: self.path.clone(),
            });
        }
        let backup = Utf8PathBuf::from(format!("{}.bak", self.path));
        write_atomically(&backup, &self.original)?;
        write_atomically(&self.path, &self.upgraded)
    }
}

/// Writes `text` to a temp file beside `path` and renames it over `path`.
fn write_atomically(path: &Utf8Path, text: &str) -> Result<(), UpgradeError> {
    let io_err = |action, source| UpgradeError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Utf8Path::new("."));
    let name = path.file_name().unwrap_or("config");
    let tmp = dir.join(format!("{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err("write", e));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        // Keep the file's permissions: a config may hold secrets.
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err("rename", e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_diffs() {
        assert_eq!(
            redact(r#"-        "admin_password": "NewKick@$$2025","#),
            r#"-        "admin_password": "<redacted>","#
        );
        assert_eq!(
            redact(r#" "password_hash": "NOT_SET""#),
            r#" "password_hash": "NOT_SET""#
        );
        assert_eq!(
            redact(r#" "hf_token_file": "/a""#),
            r#" "hf_token_file": "/a""#
        );
    }

    #[test]
    fn write_keeps_a_backup_and_refuses_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let path = dir.join("phoenix_lxc_configs.json");
        std::fs::write(&path, "old").unwrap();
        let up = FileUpgrade {
            file: ConfigFile::Lxc,
            path: path.clone(),
            original: "old".into(),
            upgraded: "new".into(),
            changes: vec![],
        };
        up.write().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_to_string(dir.join("phoenix_lxc_configs.json.bak")).unwrap(),
            "old"
        );
        let names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp file left: {names:?}");
        let err = up.write().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{path} changed since it was read; run the upgrade again")
        );
    }

    #[test]
    fn error_displays() {
        let e = UpgradeError::Missing {
            path: "/d/phoenix_lxc_configs.json".into(),
        };
        assert_eq!(e.to_string(), "missing file /d/phoenix_lxc_configs.json");
        let e = UpgradeError::NoDirectory { path: "/d".into() };
        assert_eq!(e.to_string(), "config directory /d does not exist");
        let e = UpgradeError::Io {
            action: "rename",
            path: "/d/x".into(),
            source: io::Error::other("boom"),
        };
        assert_eq!(e.to_string(), "cannot rename /d/x");
        let e = UpgradeError::InvalidJson {
            path: "/d/x".into(),
            source: serde_json::from_str::<serde_json::Value>("{").unwrap_err(),
        };
        assert_eq!(e.to_string(), "/d/x is not valid JSON");
        let e = UpgradeError::Input(phoenix_hostpath::InputError::TooLarge {
            path: "/d/x".into(),
            limit: 10,
        });
        assert_eq!(e.to_string(), "refusing config file");
        let e = UpgradeError::Undecodable {
            message: "phoenix_lxc_configs.json:1:1: the file starts with a UTF-8 byte order mark; save it as UTF-8 without a BOM".into(),
        };
        assert!(e.to_string().ends_with("without a BOM"));
    }
}
