//! Test support for phoenix's crates: the gate for tests that need the real system.
//!
//! A test that needs root, LXC or `apparmor_parser` asks [`require`] first. Outside CI
//! a missing requirement skips the test with a reason on stderr; with
//! `PHOENIX_REQUIRE_SYSTEM_TESTS=1` (set by `.ci/run`) it fails the test instead, so CI
//! never passes by skipping.
//!
//! ```
//! use phoenix_testkit::{require, Need};
//! if !require(&[Need::Command("sh")]) {
//!     return; // skipped, and said why
//! }
//! ```

use std::path::Path;

/// Something a system test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Running as uid 0.
    Root,
    /// An executable of this name on `PATH`.
    Command(&'static str),
}

impl Need {
    /// Whether this machine has it.
    pub fn is_met(&self) -> bool {
        match self {
            Need::Root => is_root(),
            Need::Command(name) => find_on_path(name).is_some(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Need::Root => "root".to_owned(),
            Need::Command(name) => format!("`{name}` on PATH"),
        }
    }
}

/// True when `PHOENIX_REQUIRE_SYSTEM_TESTS=1`: missing requirements fail tests.
pub fn system_tests_required() -> bool {
    std::env::var("PHOENIX_REQUIRE_SYSTEM_TESTS").is_ok_and(|v| v == "1")
}

/// Returns true when every need is met. Otherwise panics when system tests are
/// required, or prints why the test is skipped and returns false.
#[track_caller]
pub fn require(needs: &[Need]) -> bool {
    let missing: Vec<String> = needs
        .iter()
        .filter(|n| !n.is_met())
        .map(Need::describe)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if system_tests_required() {
        panic!("PHOENIX_REQUIRE_SYSTEM_TESTS=1 but this machine lacks {what}");
    }
    eprintln!(
        "skipped at {}: needs {what} (set PHOENIX_REQUIRE_SYSTEM_TESTS=1 to make this fail)",
        std::panic::Location::caller()
    );
    false
}

/// True when the process runs as root.
pub fn is_root() -> bool {
    // /proc/self/status has "Uid:\treal\teffective..."; avoids a libc dependency.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The full path of an executable found on `PATH`.
pub fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Writes an executable stand-in `bin/name` for scripts run under test: it appends its
/// name and its argv (each `%q`-quoted) as one line to the file `$CALLS`, then runs
/// `body` (bash) for its behaviour.
pub fn recording_stand_in(bin: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let text = format!(
        "#!/bin/bash\nprintf '%s' \"{name}\" >> \"$CALLS\"; printf ' %q' \"$@\" >> \"$CALLS\"; echo >> \"$CALLS\"\n{body}\n"
    );
    let path = bin.join(name);
    std::fs::write(&path, text).expect("the stand-in is written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("the stand-in is made executable");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_is_found_and_a_made_up_command_is_not() {
        assert!(Need::Command("sh").is_met());
        assert!(!Need::Command("phoenix-no-such-command-xyz").is_met());
    }
}
