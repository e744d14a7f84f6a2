//! [`LxcConfig`]: `GET /nodes/{node}/lxc/{vmid}/config`, and the conf text it stands for.

use std::collections::BTreeMap;

use phoenix_pveconf::conf::encode_text;
use serde_json::Value;

use crate::error::ApiError;
use crate::response::{self, decode};

/// A container's current configuration as the API returns it.
///
/// ```
/// use phoenix_pveapi::LxcConfig;
/// use phoenix_pveconf::conf::CtConf;
///
/// let mut cfg = LxcConfig::default();
/// cfg.options.insert("memory".into(), "512".into());
/// cfg.options.insert("hostname".into(), "web".into());
/// cfg.options.insert("description".into(), "front end\nowner: ops\n".into());
/// cfg.raw.push(("lxc.idmap".into(), "u 0 100000 65536".into()));
/// let text = cfg.to_conf_text();
/// assert_eq!(text, "#front end\n#owner%3A ops\nhostname: web\nmemory: 512\nlxc.idmap: u 0 100000 65536\n");
/// let conf = CtConf::parse(&text).conf;
/// assert_eq!(conf.get("memory"), Some("512"));
/// assert_eq!(conf.description().as_deref(), Some("front end\nowner: ops\n"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LxcConfig {
    /// Every conf key and its value as the conf file writes it (numbers from the API are
    /// written out; booleans as `1`/`0`). `description` is the decoded text.
    pub options: BTreeMap<String, String>,
    /// The raw `lxc.*` lines, in file order.
    pub raw: Vec<(String, String)>,
    /// The SHA-1 of the conf file (for a `PUT` that must not overwrite someone else's change).
    pub digest: String,
}

/// Keys of the GET answer that are not conf lines of the current section.
const NOT_CONF_KEYS: &[&str] = &["digest", "lxc", "description", "pending", "snapshots"];

impl LxcConfig {
    pub(crate) fn from_value(path: &str, v: &Value) -> Result<Self, ApiError> {
        let Value::Object(obj) = v else {
            return Err(decode(
                path,
                format!(
                    "expected the config as an object, got {}",
                    response::kind(v)
                ),
            ));
        };
        let mut cfg = LxcConfig::default();
        for (key, value) in obj {
            match key.as_str() {
                "digest" => {
                    cfg.digest = value
                        .as_str()
                        .ok_or_else(|| decode(path, "`digest` of the config is not a string"))?
                        .to_owned();
                }
                "lxc" => cfg.raw = raw_pairs(path, value)?,
                _ if value.is_null() => {}
                _ => {
                    let text = response::scalar(value).ok_or_else(|| {
                        decode(
                            path,
                            format!(
                                "`{key}` of the config is {}, expected a string or a number",
                                response::short(value)
                            ),
                        )
                    })?;
                    cfg.options.insert(key.clone(), text);
                }
            }
        }
        if cfg.digest.is_empty() {
            return Err(decode(path, "the config has no `digest`"));
        }
        Ok(cfg)
    }

    /// The conf file text Proxmox would write for this config (its current section:
    /// the API shows no snapshot sections): the description as `#` lines, every key as
    /// `key: value` in key order, then the raw `lxc.*` lines in their order. What
    /// [`phoenix_pveconf::conf::CtConf::parse`] reads back to the same keys and values.
    ///
    /// Values never hold a line break (Proxmox's schema refuses them); one that does
    /// anyway is cut at it, so it cannot make a line of its own.
    pub fn to_conf_text(&self) -> String {
        let mut out = String::new();
        if let Some(description) = self.options.get("description") {
            let mut lines: Vec<&str> = description.split('\n').collect();
            while lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
            for line in lines {
                out.push('#');
                out.push_str(&encode_text(line));
                out.push('\n');
            }
        }
        let one_line = |v: &str| v.split(['\n', '\r']).next().unwrap_or_default().to_owned();
        for (key, value) in &self.options {
            if !NOT_CONF_KEYS.contains(&key.as_str()) {
                out.push_str(&format!("{key}: {}\n", one_line(value)));
            }
        }
        for (key, value) in &self.raw {
            out.push_str(&format!("{key}: {}\n", one_line(value)));
        }
        out
    }
}

/// `"lxc": [["lxc.idmap", "u 0 100000 65536"], ...]`.
fn raw_pairs(path: &str, v: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let bad = || {
        decode(
            path,
            format!(
                "`lxc` of the config is {}, expected [[key, value], ...]",
                response::short(v)
            ),
        )
    };
    let Value::Array(items) = v else {
        return Err(bad());
    };
    items
        .iter()
        .map(|item| match item.as_array().map(Vec::as_slice) {
            Some([k, v]) => Some((k.as_str()?.to_owned(), response::scalar(v)?)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_or_strings() {
        let v = json!({
            "memory": 512, "swap": "256", "onboot": 1, "cpulimit": 1.5, "unprivileged": true,
            "hostname": "web", "digest": "abc",
            "lxc": [["lxc.apparmor.profile", "unconfined"]],
        });
        let cfg = LxcConfig::from_value("/p", &v).unwrap();
        assert_eq!(cfg.options["memory"], "512");
        assert_eq!(cfg.options["swap"], "256");
        assert_eq!(cfg.options["cpulimit"], "1.5");
        assert_eq!(cfg.options["unprivileged"], "1");
        assert_eq!(
            cfg.raw,
            [("lxc.apparmor.profile".into(), "unconfined".into())]
        );
        assert_eq!(cfg.digest, "abc");

        let bad = json!({"digest": "abc", "net0": {"x": 1}});
        assert_eq!(
            LxcConfig::from_value("/p", &bad).unwrap_err().to_string(),
            "cannot read the answer to /p: `net0` of the config is {\"x\":1}, expected a string or a number"
        );
        let bad = json!({"digest": "abc", "lxc": [["k"]]});
        assert!(
            LxcConfig::from_value("/p", &bad)
                .unwrap_err()
                .to_string()
                .contains("[[key, value], ...]")
        );
        assert!(LxcConfig::from_value("/p", &json!({"memory": 1})).is_err());
    }

    #[test]
    fn a_line_break_cannot_add_a_line() {
        let mut cfg = LxcConfig::default();
        cfg.options
            .insert("hostname".into(), "web\nlxc.cap.drop: ".into());
        assert_eq!(cfg.to_conf_text(), "hostname: web\n");
    }
}
