//! A container's application script and its files, read from the scripts directory:
//! the script text, every file (a directory is taken with its files, four levels deep)
//! by its path relative to the scripts directory, and the digest that decides whether
//! the script runs again (script, files and the container's config).

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::StepError;

/// What the staging directory receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The script's text.
    pub script: String,
    /// Every file, by relative path.
    pub files: Vec<(String, Vec<u8>)>,
}

fn refused(what: String) -> StepError {
    StepError::Refused(what)
}

fn walk(
    base: &Utf8Path,
    rel: &str,
    depth: u32,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), StepError> {
    let full = base.join(rel);
    let meta = std::fs::symlink_metadata(&full)
        .map_err(|e| refused(format!("application file {full}: {e}")))?;
    if meta.is_dir() {
        if depth >= 4 {
            return Ok(());
        }
        let mut names: Vec<String> = std::fs::read_dir(&full)
            .map_err(|e| refused(format!("application file {full}: {e}")))?
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for n in names {
            walk(
                base,
                &format!("{}/{n}", rel.trim_end_matches('/')),
                depth + 1,
                out,
            )?;
        }
    } else if meta.is_file() {
        let bytes =
            std::fs::read(&full).map_err(|e| refused(format!("application file {full}: {e}")))?;
        out.push((rel.trim_start_matches('/').to_owned(), bytes));
    } else {
        return Err(refused(format!(
            "application file {full} is neither a file nor a directory (a link is not followed)"
        )));
    }
    Ok(())
}

/// Reads the script and its files; an error names the missing path.
pub fn read(
    dir: Option<&Utf8Path>,
    script: &str,
    files: &[String],
) -> Result<Application, StepError> {
    let Some(dir) = dir else {
        return Err(refused(format!(
            "application script {script}: no scripts directory (--scripts-dir, or bin/ beside the config directory)"
        )));
    };
    let path: Utf8PathBuf = dir.join(script);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| refused(format!("application script {path}: {e}")))?;
    let mut out = Vec::new();
    for f in files {
        walk(dir, f, 0, &mut out)?;
    }
    Ok(Application {
        script: text,
        files: out,
    })
}

/// The digest of the script, its files and the container's config.
pub fn digest(app: &Application, config: &serde_json::Value) -> String {
    let mut bytes = app.script.as_bytes().to_vec();
    for (p, b) in &app.files {
        bytes.extend_from_slice(p.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(b);
    }
    bytes.extend_from_slice(config.to_string().as_bytes());
    phoenix_pveconf::conf::Digest::of(&bytes).to_string()
}
