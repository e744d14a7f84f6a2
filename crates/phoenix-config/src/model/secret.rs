//! Secrets in a config: a password or token, either written in the file (a
//! plaintext value, which `validate` warns about) or referenced from a file or an
//! environment variable.
//!
//! ```json
//! "admin_password": { "file": "/etc/phoenix/portainer.pass" }
//! "admin_password": { "env": "PORTAINER_PASSWORD" }
//! "admin_password": "written-here"        (accepted, with a warning)
//! ```
//!
//! phoenix never prints a secret value: [`SecretRef`]'s `Debug` and `Serialize`
//! redact a plaintext value, and diagnostics never quote it. Only
//! [`SecretRef::plaintext`] hands the value out, for the code that must use it.
//!
//! ```
//! use phoenix_config::model::secret::SecretRef;
//! let s: SecretRef = serde_json::from_str(r#""hunter2""#).unwrap();
//! assert_eq!(format!("{s:?}"), "SecretRef::Plaintext(<redacted>)");
//! assert_eq!(serde_json::to_string(&s).unwrap(), r#""<redacted>""#);
//! assert_eq!(s.plaintext(), Some("hunter2"));
//! let e: SecretRef = serde_json::from_str(r#"{"env": "PASS"}"#).unwrap();
//! assert_eq!(format!("{e:?}"), r#"SecretRef::Env("PASS")"#);
//! ```

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::{AbsPath, EnvVarName};

/// What every redacted value prints as.
pub const REDACTED: &str = "<redacted>";

/// A secret: written in the config, or where to read it from.
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretRef {
    /// A reference: `{"file": "/path"}` (the file's content, trailing newline cut)
    /// or `{"env": "VAR"}`.
    Reference(SecretSource),
    /// The value itself, written in the config file (a warning: anyone who can read
    /// the config can read the secret).
    Plaintext(PlainSecret),
}

/// Where a referenced secret is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretSource {
    /// A file on the host holding the secret (resolved under `--root`).
    File(AbsPath),
    /// An environment variable of the phoenix process.
    Env(EnvVarName),
}

/// A secret written in the config. Its `Debug`, `Display` and `Serialize` redact it.
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// The secret itself; the one way to read it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl SecretRef {
    /// The plaintext value when the config writes it in; `None` for a reference.
    pub fn plaintext(&self) -> Option<&str> {
        match self {
            SecretRef::Plaintext(p) => Some(p.expose()),
            SecretRef::Reference(_) => None,
        }
    }

    /// True when the secret is written in the config file.
    pub fn is_plaintext(&self) -> bool {
        matches!(self, SecretRef::Plaintext(_))
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Plaintext(_) => write!(f, "SecretRef::Plaintext({REDACTED})"),
            SecretRef::Reference(SecretSource::File(p)) => write!(f, "SecretRef::File({p:?})"),
            SecretRef::Reference(SecretSource::Env(v)) => {
                write!(f, "SecretRef::Env({:?})", v.as_str())
            }
        }
    }
}

impl Serialize for SecretRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SecretRef::Plaintext(_) => s.serialize_str(REDACTED),
            SecretRef::Reference(r) => r.serialize(s),
        }
    }
}

/// True when a JSON pointer names a secret (its last segment mentions a password,
/// token or secret), so diagnostics must not quote the value there.
pub(crate) fn is_secret_pointer(pointer: &str) -> bool {
    let last = pointer
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    ["password", "token", "secret"]
        .iter()
        .any(|w| last.contains(w))
        && !last.ends_with("_file")
        && !last.ends_with("_hash")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_plaintext_read() {
        let f: SecretRef = serde_json::from_str(r#"{"file": "/etc/p"}"#).unwrap();
        assert!(!f.is_plaintext());
        assert_eq!(format!("{f:?}"), r#"SecretRef::File(AbsPath("/etc/p"))"#);
        let p: SecretRef = serde_json::from_str(r#""s3cret""#).unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
        assert!(serde_json::from_str::<SecretRef>(r#"{"vault": "x"}"#).is_err());
    }

    #[test]
    fn secret_pointers() {
        assert!(is_secret_pointer("/portainer_api/admin_password"));
        assert!(is_secret_pointer("/x/api_token"));
        assert!(!is_secret_pointer("/core_paths/hf_token_file"));
        assert!(!is_secret_pointer("/users/password_hash"));
        assert!(!is_secret_pointer("/users/username"));
    }
}
