//! `phoenix config upgrade`: rewrite a config directory into phoenix's canonical
//! shape. What moves:
//!
//! - `id_maps` entries in the old shape `{type, container_id, host_id, size}` become
//!   `{kind, container_start, host_start, count}`;
//! - the flat bash-era `vllm_*` keys and `vllm_parameters` move into
//!   `vllm_engine_config` (ModelConfig, CacheConfig, ParallelConfig, SchedulerConfig,
//!   ServerConfig);
//! - the old test sections (`vllm` test lists, `integration_tests: {script}` with
//!   `run_integration_tests`) move into `tests.integration_tests`;
//! - nameserver strings become arrays, a VM's `nameserver` joins `nameservers`,
//!   `"mac_address": ""` is dropped, and a host firewall under `shared_volumes`
//!   moves to the top-level `firewall` section.
//!
//! The rewrite is pure ([`upgrade_text`]); a file with nothing to change comes back
//! byte for byte, so a second run changes nothing.
//!
//! ```
//! use phoenix_config::{ConfigFile, upgrade::upgrade_text};
//! let src = r#"{"lxc_configs": {"101": {"mac_address": "", "id_maps": [
//!     {"type": "gid", "container_id": 33, "host_id": 33, "size": 1}]}}}"#;
//! let up = upgrade_text(ConfigFile::Lxc, src).unwrap();
//! assert_eq!(up.changes.len(), 2);
//! assert!(up.text.contains(r#""kind": "g""#));
//! assert!(up.text.contains(r#""allow_host_ids": true"#));
//! assert_eq!(upgrade_text(ConfigFile::Lxc, &up.text).unwrap().text, up.text);
//! ```

mod io;
mod rules;

use serde_json::Value;

pub use io::{FileUpgrade, UpgradeError, upgrade_dir};

use crate::schema::ConfigFile;

/// One file after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    /// The new text (the old text, unchanged, when there was nothing to do).
    pub text: String,
    /// What changed, one line per change, each naming its JSON pointer.
    pub changes: Vec<String>,
}

/// The indentation the file uses (the first indented line's), four spaces by default.
fn indent_of(src: &str) -> String {
    src.lines()
        .find_map(|l| {
            let n = l.len() - l.trim_start_matches([' ', '\t']).len();
            (n > 0).then(|| l[..n].to_owned())
        })
        .unwrap_or_else(|| "    ".to_owned())
}

/// Rewrites one file's text into phoenix's canonical shape.
pub fn upgrade_text(file: ConfigFile, src: &str) -> Result<Upgraded, serde_json::Error> {
    let mut value: Value = serde_json::from_str(src)?;
    let changes = rules::apply(file, &mut value);
    if changes.is_empty() {
        return Ok(Upgraded {
            text: src.to_owned(),
            changes,
        });
    }
    let indent = indent_of(src);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&value, &mut ser)?;
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    if src.ends_with('\n') {
        text.push('\n');
    }
    Ok(Upgraded { text, changes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_vllm_keys_move_into_the_engine_config() {
        let src = r#"{"lxc_configs": {"950": {
            "vllm_model": "m", "vllm_max_model_len": 1024, "vllm_port": 8000,
            "vllm_parameters": {"dtype": "float16", "max_model_len": 1024, "max_num_seqs": 1},
            "vllm_args": ["--x"]}}}"#;
        let up = upgrade_text(ConfigFile::Lxc, src).unwrap();
        let v: Value = serde_json::from_str(&up.text).unwrap();
        assert_eq!(
            v["lxc_configs"]["950"],
            serde_json::json!({"vllm_engine_config": {
                "ModelConfig": {"model": "m", "max_model_len": 1024, "dtype": "float16"},
                "ServerConfig": {"port": 8000, "extra_args": ["--x"]},
                "SchedulerConfig": {"max_num_seqs": 1}
            }})
        );
    }

    #[test]
    fn conflicting_values_stay_where_they_are() {
        let src = r#"{"lxc_configs": {"950": {"vllm_max_model_len": 1024,
            "vllm_parameters": {"max_model_len": 2048}}}}"#;
        let up = upgrade_text(ConfigFile::Lxc, src).unwrap();
        let v: Value = serde_json::from_str(&up.text).unwrap();
        assert_eq!(
            v["lxc_configs"]["950"]["vllm_parameters"]["max_model_len"],
            2048
        );
        assert!(up.changes[1].contains("left in place"), "{:?}", up.changes);
    }

    #[test]
    fn a_disabled_integration_test_is_left_alone() {
        let src = r#"{"lxc_configs": {"1": {"integration_tests": {"script": "t.sh"},
            "run_integration_tests": false}}}"#;
        let up = upgrade_text(ConfigFile::Lxc, src).unwrap();
        assert!(up.changes.is_empty());
        assert_eq!(up.text, src);
    }

    #[test]
    fn indentation_is_kept() {
        assert_eq!(indent_of("{\n  \"a\": 1\n}"), "  ");
        assert_eq!(indent_of("{}"), "    ");
    }
}
