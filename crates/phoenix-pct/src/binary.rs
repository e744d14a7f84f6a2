//! Which `pct` / `pvesm` binary to run.

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variable naming the `pct` binary.
pub const PCT_ENV: &str = "PHOENIX_PCT";
/// Environment variable naming the `pvesm` binary.
pub const PVESM_ENV: &str = "PHOENIX_PVESM";

/// Picks a binary: an explicit path wins, then the environment variable's value
/// (when set and non-empty), then the bare `name`, which the OS looks up on
/// `PATH` when it runs. Pure: the caller passes the variable's value.
///
/// ```
/// use std::path::PathBuf;
/// use phoenix_pct::resolve_binary;
/// assert_eq!(resolve_binary(None, None, "pct"), PathBuf::from("pct"));
/// assert_eq!(resolve_binary(None, Some("/opt/emu/pct".into()), "pct"), PathBuf::from("/opt/emu/pct"));
/// assert_eq!(
///     resolve_binary(Some("/usr/sbin/pct".into()), Some("/opt/emu/pct".into()), "pct"),
///     PathBuf::from("/usr/sbin/pct"),
/// );
/// ```
pub fn resolve_binary(
    explicit: Option<PathBuf>,
    env_value: Option<OsString>,
    name: &str,
) -> PathBuf {
    explicit
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| env_value.filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_fall_through() {
        assert_eq!(
            resolve_binary(Some(PathBuf::new()), Some(OsString::new()), "pvesm"),
            PathBuf::from("pvesm")
        );
        assert_eq!(
            resolve_binary(Some(PathBuf::new()), Some("/e/pvesm".into()), "pvesm"),
            PathBuf::from("/e/pvesm")
        );
    }
}
