//! Reading a config directory and running both passes. The passes work on text
//! ([`validate_texts`]); [`validate_dir`] and [`load_dir`] are the small loader
//! around them.

use std::io;

use camino::{Utf8Path, Utf8PathBuf};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::check::semantic::ScriptIndex;
use crate::check::{Finding, schema_pass, semantic};
use crate::diagnostic::{Diagnostic, Severity};
use crate::locate::Locator;
use crate::model::{Fleet, HypervisorFile, LxcFile, VmFile};
use crate::schema::ConfigFile;
use crate::scripts::list_scripts;
pub use crate::scripts::{ValidateOptions, scripts_dir_for};

/// Everything validation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Problems that make the config unusable.
    pub errors: Vec<Diagnostic>,
    /// Legal but risky settings.
    pub warnings: Vec<Diagnostic>,
    /// The typed fleet, when there are no errors.
    pub fleet: Option<Fleet>,
    /// The scripts directory application scripts were checked against; `None` when
    /// none was given or found, and the scripts were not checked.
    pub scripts_dir: Option<Utf8PathBuf>,
}

/// A config directory that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The typed fleet.
    pub fleet: Fleet,
    /// Warnings to show the user.
    pub warnings: Vec<Diagnostic>,
}

/// Why a config directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The directory does not exist.
    #[error("config directory {path} does not exist")]
    NoDirectory {
        /// The directory.
        path: Utf8PathBuf,
    },
    /// A file exists but could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: Utf8PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A config file is not a regular file (a FIFO, a device, a directory) or is
    /// larger than [`phoenix_hostpath::INPUT_LIMIT`]; refused before reading it.
    #[error("refusing config file")]
    Input(#[source] phoenix_hostpath::InputError),
    /// The scripts directory given does not exist.
    #[error("scripts directory {path} does not exist")]
    NoScriptsDirectory {
        /// The directory.
        path: Utf8PathBuf,
    },
    /// Validation found errors; every error of both passes is here.
    #[error("invalid config: {} error(s), the first: {}", diagnostics.len(), diagnostics.first().map(ToString::to_string).unwrap_or_default())]
    Invalid {
        /// Every error (warnings are not included).
        diagnostics: Vec<Diagnostic>,
    },
}

/// Loads and validates a config directory; errors of both passes come back together
/// in [`ConfigError::Invalid`].
pub fn load_dir(dir: &Utf8Path) -> Result<Validated, ConfigError> {
    let report = validate_dir(dir)?;
    match report.fleet {
        Some(fleet) if report.errors.is_empty() => Ok(Validated {
            fleet,
            warnings: report.warnings,
        }),
        _ => Err(ConfigError::Invalid {
            diagnostics: report.errors,
        }),
    }
}

/// Validates a config directory. Only I/O problems are `Err`; a missing required
/// file is an error diagnostic.
pub fn validate_dir(dir: &Utf8Path) -> Result<Report, ConfigError> {
    validate_dir_with(dir, &ValidateOptions::default())
}

/// [`validate_dir`] with options: application scripts are checked against the
/// scripts directory ([`scripts_dir_for`]) when there is one.
pub fn validate_dir_with(dir: &Utf8Path, options: &ValidateOptions) -> Result<Report, ConfigError> {
    if !dir.is_dir() {
        return Err(ConfigError::NoDirectory {
            path: dir.to_owned(),
        });
    }
    let mut undecodable = Vec::new();
    let mut read = |file: ConfigFile| -> Result<Option<String>, ConfigError> {
        let path = dir.join(file.file_name());
        let bytes = match phoenix_hostpath::read_input(&path, phoenix_hostpath::INPUT_LIMIT) {
            Ok(b) => b,
            Err(phoenix_hostpath::InputError::Io { path, source }) => {
                return Err(ConfigError::Read { path, source });
            }
            Err(e) => return Err(ConfigError::Input(e)),
        };
        match bytes.map(|b| crate::decode::decode(file, b)).transpose() {
            Ok(text) => Ok(text),
            Err(d) => {
                undecodable.push(*d);
                Ok(None)
            }
        }
    };
    let (lxc, hypervisor, vm) = (
        read(ConfigFile::Lxc)?,
        read(ConfigFile::Hypervisor)?,
        read(ConfigFile::Vm)?,
    );
    if !undecodable.is_empty() {
        // A file that is not UTF-8 text has no JSON to check; say so alone rather
        // than also call it missing.
        return Ok(Report {
            errors: undecodable,
            warnings: Vec::new(),
            fleet: None,
            scripts_dir: None,
        });
    }
    let scripts = match scripts_dir_for(dir, options) {
        Some(d) if d.is_dir() => Some(list_scripts(&d)?),
        Some(d) => return Err(ConfigError::NoScriptsDirectory { path: d }),
        None => None,
    };
    let mut report = run(
        lxc.as_deref(),
        hypervisor.as_deref(),
        vm.as_deref(),
        scripts.as_ref(),
    );
    report.scripts_dir = scripts.map(|s| Utf8PathBuf::from(s.dir));
    Ok(report)
}

/// Validates the texts of the three files (`vm` is optional).
pub fn validate_texts(lxc: &str, hypervisor: &str, vm: Option<&str>) -> Report {
    run(Some(lxc), Some(hypervisor), vm, None)
}

/// Validates the raw bytes of the three files (`vm` is optional), as
/// [`validate_dir`] reads them: a BOM, UTF-16 or bad UTF-8 is an error diagnostic
/// naming the file and position (the fuzz target's entry point).
///
/// ```
/// let r = phoenix_config::validate_bytes(b"\xEF\xBB\xBF{}", b"{}", None);
/// assert!(r.errors[0].message.contains("byte order mark"));
/// ```
pub fn validate_bytes(lxc: &[u8], hypervisor: &[u8], vm: Option<&[u8]>) -> Report {
    let decode = |file, b: &[u8]| crate::decode::decode(file, b.to_vec());
    let texts = (
        decode(ConfigFile::Lxc, lxc),
        decode(ConfigFile::Hypervisor, hypervisor),
        vm.map(|b| decode(ConfigFile::Vm, b)).transpose(),
    );
    match texts {
        (Ok(l), Ok(h), Ok(v)) => run(Some(&l), Some(&h), v.as_deref(), None),
        (l, h, v) => Report {
            errors: [l.err(), h.err(), v.err()]
                .into_iter()
                .flatten()
                .map(|d| *d)
                .collect(),
            warnings: Vec::new(),
            fleet: None,
            scripts_dir: None,
        },
    }
}

/// Runs pass (b) alone on a fleet built in code. Diagnostics carry pointers but no
/// line or column.
pub fn validate_fleet(fleet: &Fleet) -> Vec<Diagnostic> {
    semantic::check(fleet, None)
        .into_iter()
        .map(|f| place(f, None))
        .collect()
}

fn place(f: Finding, text: Option<&Locator<'_>>) -> Diagnostic {
    let pos = text.and_then(|t| t.locate(&f.pointer, f.target));
    Diagnostic {
        severity: f.severity,
        file: f.file.file_name().to_owned(),
        pointer: f.pointer,
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        message: f.message,
    }
}

/// One file after parsing, pass (a) and typing.
struct Parsed<T> {
    /// The typed file; when pass (a) only found removable problems, the typing of
    /// what remains after cutting them out.
    typed: Option<T>,
    /// Pointers cut out before typing; pass (b) findings under them are dropped.
    removed: Vec<String>,
}

/// One file through parsing, pass (a) and typing.
fn parse_file<T: DeserializeOwned>(
    file: ConfigFile,
    text: &str,
    out: &mut Vec<Diagnostic>,
) -> Parsed<T> {
    let none = Parsed {
        typed: None,
        removed: Vec::new(),
    };
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            out.push(Diagnostic {
                severity: Severity::Error,
                file: file.file_name().to_owned(),
                pointer: String::new(),
                line: Some(e.line()),
                column: Some(e.column()),
                message: format!("invalid JSON: {message}"),
            });
            return none;
        }
    };
    for (pointer, offset) in crate::locate::duplicate_keys(text) {
        let pos = crate::locate::position_of(text, offset);
        let key = pointer
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace("~1", "/")
            .replace("~0", "~");
        out.push(Diagnostic {
            severity: Severity::Error,
            file: file.file_name().to_owned(),
            message: format!(
                "duplicate key \"{key}\" at {pointer}: JSON keeps only the last one, so the earlier one is silently lost"
            ),
            pointer,
            line: Some(pos.line),
            column: Some(pos.column),
        });
    }
    let strings = crate::check::strings::check(file, &value);
    let strings_ok = strings.is_empty();
    let locator = Locator::new(text);
    out.extend(strings.into_iter().map(|f| place(f, Some(&locator))));
    let findings = schema_pass::check(file, &value);
    let schema_ok = findings.is_empty();
    let removable = findings.iter().all(|f| f.removable);
    let removed: Vec<String> = findings.iter().map(|f| f.pointer.clone()).collect();
    out.extend(findings.into_iter().map(|f| place(f, Some(&locator))));
    if !schema_ok {
        // Cut out unknown fields and misplaced objects so the semantic pass can
        // still report on the rest; anything else leaves the file untyped.
        if !removable || !removed.iter().all(|p| remove(&mut value, p)) {
            return none;
        }
        if !crate::schema::is_valid(file, &value) {
            return none;
        }
    }
    if !strings_ok {
        // A string with a control character never reaches the model.
        return none;
    }
    match T::deserialize(&value) {
        Ok(typed) => Parsed {
            typed: Some(typed),
            removed,
        },
        Err(e) => {
            // The schema is generated from the same types, so this means a bug in
            // phoenix; still report it rather than pass a config we cannot read.
            out.push(Diagnostic {
                severity: Severity::Error,
                file: file.file_name().to_owned(),
                pointer: String::new(),
                line: None,
                column: None,
                message: format!(
                    "the config model refuses this file although its schema accepts it: {e}"
                ),
            });
            none
        }
    }
}

/// Removes the object member at `pointer`; false when it is not an object member.
fn remove(value: &mut Value, pointer: &str) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => map.shift_remove(&key).is_some(),
        _ => false,
    }
}

fn missing(file: ConfigFile) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.file_name().to_owned(),
        pointer: String::new(),
        line: None,
        column: None,
        message: format!(
            "missing file: a config directory needs {}",
            file.file_name()
        ),
    }
}

/// A required file, typed; a missing one is an error diagnostic.
fn typed<T: DeserializeOwned>(
    file: ConfigFile,
    text: Option<&str>,
    diags: &mut Vec<Diagnostic>,
    removed: &mut Vec<(ConfigFile, String)>,
) -> Option<T> {
    match text {
        Some(t) => {
            let parsed = parse_file(file, t, diags);
            removed.extend(parsed.removed.into_iter().map(|p| (file, p)));
            parsed.typed
        }
        None => {
            diags.push(missing(file));
            None
        }
    }
}

fn run(
    lxc_text: Option<&str>,
    hyp_text: Option<&str>,
    vm_text: Option<&str>,
    scripts: Option<&ScriptIndex>,
) -> Report {
    let mut diags = Vec::new();
    let mut removed: Vec<(ConfigFile, String)> = Vec::new();
    let lxc: Option<LxcFile> = typed(ConfigFile::Lxc, lxc_text, &mut diags, &mut removed);
    let hypervisor: Option<HypervisorFile> =
        typed(ConfigFile::Hypervisor, hyp_text, &mut diags, &mut removed);
    let vm: Option<Option<VmFile>> = match vm_text {
        Some(_) => typed(ConfigFile::Vm, vm_text, &mut diags, &mut removed).map(Some),
        None => Some(None),
    };
    let mut fleet = None;
    if let (Some(lxc), Some(hypervisor), Some(vm)) = (lxc, hypervisor, vm) {
        let f = Fleet {
            lxc,
            hypervisor,
            vm,
        };
        let schema_errors: std::collections::HashSet<(String, String)> = diags
            .iter()
            .map(|d| (d.file.clone(), d.pointer.clone()))
            .collect();
        let locators = [lxc_text, hyp_text, vm_text].map(|t| t.map(Locator::new));
        for finding in semantic::check(&f, scripts) {
            let cut = removed.iter().any(|(file, p)| {
                *file == finding.file
                    && (finding.pointer == *p || finding.pointer.starts_with(&format!("{p}/")))
            });
            let text = match finding.file {
                ConfigFile::Lxc => &locators[0],
                ConfigFile::Hypervisor => &locators[1],
                ConfigFile::Vm => &locators[2],
            };
            let d = place(finding, text.as_ref());
            // A value the schema already refused (a range) is reported once.
            if !cut && !schema_errors.contains(&(d.file.clone(), d.pointer.clone())) {
                diags.push(d);
            }
        }
        fleet = Some(f);
    }
    let order = |d: &Diagnostic| {
        let file = ConfigFile::ALL
            .iter()
            .position(|f| f.file_name() == d.file)
            .unwrap_or(9);
        (file, d.line, d.column)
    };
    diags.sort_by(|a, b| {
        order(a)
            .cmp(&order(b))
            .then_with(|| a.message.cmp(&b.message))
    });
    let (errors, warnings): (Vec<_>, Vec<_>) = diags.into_iter().partition(Diagnostic::is_error);
    Report {
        fleet: if errors.is_empty() { fleet } else { None },
        errors,
        warnings,
        scripts_dir: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_line_and_column() {
        let r = validate_texts("{\n  \"lxc_configs\": {,\n}", "{}", None);
        assert_eq!(
            r.errors[0].to_string(),
            "phoenix_lxc_configs.json:2:19: invalid JSON: key must be a string"
        );
    }

    #[test]
    fn error_displays() {
        let e = ConfigError::NoDirectory {
            path: "/nope".into(),
        };
        assert_eq!(e.to_string(), "config directory /nope does not exist");
        let e = ConfigError::NoScriptsDirectory {
            path: "/nope/bin".into(),
        };
        assert_eq!(e.to_string(), "scripts directory /nope/bin does not exist");
        let e = ConfigError::Read {
            path: "/x/phoenix_lxc_configs.json".into(),
            source: io::Error::other("boom"),
        };
        assert_eq!(e.to_string(), "cannot read /x/phoenix_lxc_configs.json");
        let e = ConfigError::Input(phoenix_hostpath::InputError::NotRegular {
            path: "/x/phoenix_lxc_configs.json".into(),
            kind: "a FIFO",
        });
        assert_eq!(e.to_string(), "refusing config file");
        assert_eq!(
            std::error::Error::source(&e).unwrap().to_string(),
            "/x/phoenix_lxc_configs.json is a FIFO, not a regular file"
        );
        let e = ConfigError::Invalid {
            diagnostics: vec![missing(ConfigFile::Lxc)],
        };
        assert_eq!(
            e.to_string(),
            "invalid config: 1 error(s), the first: phoenix_lxc_configs.json: missing file: a config directory needs phoenix_lxc_configs.json"
        );
    }

    #[test]
    fn missing_files_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(dir.path()).unwrap();
        let r = validate_dir(path).unwrap();
        assert_eq!(r.errors.len(), 2);
        assert!(matches!(load_dir(path), Err(ConfigError::Invalid { .. })));
        assert!(matches!(
            validate_dir(&path.join("nope")),
            Err(ConfigError::NoDirectory { .. })
        ));
    }
}
