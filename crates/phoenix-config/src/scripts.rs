//! Where application scripts live, and the list of them the semantic checks read
//! (I/O here, so the checks stay pure).

use camino::{Utf8Path, Utf8PathBuf};

use crate::check::semantic::ScriptIndex;
use crate::load::ConfigError;

/// What validation reads besides the config files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// The directory holding application scripts. When `None`, the old layout's
    /// `bin/` beside the config directory is used if it exists.
    pub scripts_dir: Option<Utf8PathBuf>,
}

/// The scripts directory for `dir`: the one given, else `bin/` beside `dir` when it
/// exists (the old system kept its config in `<base>/etc` and its scripts in
/// `<base>/bin`).
pub fn scripts_dir_for(dir: &Utf8Path, options: &ValidateOptions) -> Option<Utf8PathBuf> {
    if let Some(d) = &options.scripts_dir {
        return Some(d.clone());
    }
    let beside = dir.parent()?.join("bin");
    beside.is_dir().then_some(beside)
}

/// Every file under `dir` (four levels deep at most), by relative path.
pub(crate) fn list_scripts(dir: &Utf8Path) -> Result<ScriptIndex, ConfigError> {
    let mut files = std::collections::BTreeSet::new();
    let mut todo = vec![(dir.to_owned(), String::new(), 0)];
    while let Some((path, prefix, depth)) = todo.pop() {
        let entries = std::fs::read_dir(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let rel = format!("{prefix}{name}");
            let full = path.join(&name);
            if full.is_dir() && depth < 4 {
                todo.push((full, format!("{rel}/"), depth + 1));
            } else if full.is_file() {
                files.insert(rel);
            }
        }
    }
    Ok(ScriptIndex {
        dir: dir.to_string(),
        files,
    })
}
