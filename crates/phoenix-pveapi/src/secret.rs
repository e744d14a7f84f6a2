//! The API token and its secret, which is never shown.

use std::fmt;
use std::path::Path;

use camino::Utf8Path;

use crate::TokenId;
use crate::error::{ApiError, SecretProblem};

/// A token file is a line, never this big.
const SECRET_FILE_LIMIT: u64 = 4096;

/// An API token's secret (a UUID). `Debug` prints `<redacted>`; there is no `Display`,
/// no `Serialize`, and no error message ever holds it.
///
/// ```
/// use phoenix_pveapi::Secret;
/// let s = Secret::new("0c4a3e2b-1111-2222-3333-444455556666\n").unwrap();
/// assert_eq!(format!("{s:?}"), "<redacted>");
/// assert!(Secret::new("two words").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn checked(origin: impl FnOnce() -> String, text: &str) -> Result<Secret, ApiError> {
    let bad = |problem| ApiError::Secret {
        origin: origin(),
        problem,
    };
    // A file ends in a newline; an editor may leave spaces. Inside, nothing but visible
    // ASCII: it goes into a header, where a newline would start a header of its own.
    let value = text.trim();
    if value.is_empty() {
        return Err(bad(SecretProblem::Empty));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(SecretProblem::BadCharacters));
    }
    Ok(Secret(value.to_owned()))
}

impl Secret {
    /// A secret given as a value (white space around it is trimmed).
    pub fn new(value: impl Into<String>) -> Result<Secret, ApiError> {
        checked(|| "a value".into(), &value.into())
    }

    /// The secret in the file `path` (white space around it, such as the final newline,
    /// is trimmed). The file's mode is not checked. Errors name the file, never its text.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Secret, ApiError> {
        let path = path.as_ref();
        let origin = || format!("file {}", path.display());
        let text = read_small(path, origin)?;
        checked(origin, &text)
    }

    /// The secret in the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Secret, ApiError> {
        Self::from_var(var, std::env::var(var))
    }

    fn from_var(var: &str, value: Result<String, std::env::VarError>) -> Result<Secret, ApiError> {
        let origin = || format!("environment variable {var}");
        match value {
            Ok(text) => checked(origin, &text),
            Err(std::env::VarError::NotPresent) => Err(ApiError::Secret {
                origin: origin(),
                problem: SecretProblem::Unset,
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(ApiError::Secret {
                origin: origin(),
                problem: SecretProblem::BadCharacters,
            }),
        }
    }

    /// The secret itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

fn read_small(path: &Path, origin: impl Fn() -> String) -> Result<String, ApiError> {
    let bad = |problem| ApiError::Secret {
        origin: origin(),
        problem,
    };
    let bytes = match Utf8Path::from_path(path) {
        Some(p) => phoenix_hostpath::read_input(p, SECRET_FILE_LIMIT).map_err(|e| {
            bad(SecretProblem::Unreadable(match e {
                phoenix_hostpath::InputError::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            }))
        })?,
        None => match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(bad(SecretProblem::Unreadable(e.to_string()))),
        },
    };
    let bytes = bytes.ok_or_else(|| bad(SecretProblem::Missing))?;
    String::from_utf8(bytes).map_err(|_| bad(SecretProblem::BadCharacters))
}

/// An API token: its id and its secret. `Debug` shows the id only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// `USER@REALM!TOKENID`.
    pub id: TokenId,
    /// The secret.
    pub secret: Secret,
}

impl ApiToken {
    /// Parses `USER@REALM!TOKENID=SECRET` (what the API emulator's `--token-file` holds,
    /// and what follows `PVEAPIToken=` in the header). Errors never quote the text.
    ///
    /// ```
    /// use phoenix_pveapi::ApiToken;
    /// let t = ApiToken::parse("phoenix@pve!converge=0c4a3e2b").unwrap();
    /// assert_eq!(t.id.as_str(), "phoenix@pve!converge");
    /// assert!(!format!("{t:?}").contains("0c4a3e2b"));
    /// let e = ApiToken::parse("root@pam=0c4a3e2b").unwrap_err();
    /// assert!(!e.to_string().contains("0c4a3e2b"));
    /// ```
    pub fn parse(text: &str) -> Result<ApiToken, ApiError> {
        Self::parse_from(text, || "a value".into())
    }

    /// Reads a `USER@REALM!TOKENID=SECRET` token file (white space around it trimmed).
    pub fn from_file(path: impl AsRef<Path>) -> Result<ApiToken, ApiError> {
        let path = path.as_ref();
        let origin = || format!("file {}", path.display());
        let text = read_small(path, origin)?;
        Self::parse_from(&text, origin)
    }

    fn parse_from(text: &str, origin: impl Fn() -> String) -> Result<ApiToken, ApiError> {
        let not_a_token = || ApiError::Secret {
            origin: origin(),
            problem: SecretProblem::NotAToken,
        };
        // The token id has no `=`; the secret (a UUID) has none either.
        let (id, secret) = text.trim().split_once('=').ok_or_else(not_a_token)?;
        let id: TokenId = id.parse().map_err(|_| not_a_token())?;
        Ok(ApiToken {
            id,
            secret: checked(origin, secret)?,
        })
    }

    /// The `Authorization` header's value: `PVEAPIToken=USER@REALM!TOKENID=SECRET`.
    pub(crate) fn header_value(&self) -> String {
        format!("PVEAPIToken={}={}", self.id, self.secret.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "5e1c0a77-aaaa-bbbb-cccc-0123456789ab";

    #[test]
    fn file_is_trimmed_and_errors_name_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, format!("{S}\n")).unwrap();
        assert_eq!(Secret::from_file(&path).unwrap().expose(), S);

        std::fs::write(&path, "\n").unwrap();
        let e = Secret::from_file(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("API token secret from file {}: it is empty", path.display())
        );

        std::fs::write(&path, format!("{S} {S}\n")).unwrap();
        let e = Secret::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("white space"), "{e}");
        assert!(!e.contains(S), "{e}");

        let missing = dir.path().join("nope");
        let e = Secret::from_file(&missing).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "API token secret from file {}: the file does not exist",
                missing.display()
            )
        );
        let e = Secret::from_file(dir.path()).unwrap_err().to_string();
        assert!(e.contains("cannot read it"), "{e}");
    }

    #[test]
    fn env_var() {
        // A name no other test uses; only this test sets it.
        let var = "PHOENIX_PVEAPI_TEST_SECRET_ENV_VAR";
        assert_eq!(
            Secret::from_env(var).unwrap_err().to_string(),
            format!("API token secret from environment variable {var}: the variable is not set")
        );
        // `set_var` is unsafe in edition 2024 (and unsafe code is denied): the value part
        // is tested through the function `from_env` hands the variable's value to.
        let ok = Secret::from_var("V", Ok(format!("{S}\n"))).unwrap();
        assert_eq!(ok.expose(), S);
        let bad = std::env::VarError::NotUnicode("x".into());
        let e = Secret::from_var("V", Err(bad)).unwrap_err().to_string();
        assert!(
            e.starts_with("API token secret from environment variable V: it holds"),
            "{e}"
        );
    }

    #[test]
    fn token_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, format!("phoenix@pve!converge={S}\n")).unwrap();
        let t = ApiToken::from_file(&path).unwrap();
        assert_eq!(
            t.header_value(),
            format!("PVEAPIToken=phoenix@pve!converge={S}")
        );
        std::fs::write(&path, S).unwrap();
        let e = ApiToken::from_file(&path).unwrap_err().to_string();
        assert!(e.ends_with("expected USER@REALM!TOKENID=SECRET with a valid token id"));
        assert!(!e.contains(S));
    }
}
