//! Deciding that a call failed, and which [`PctError`] its messages mean.

use phoenix_pveconf::Vmid;

use super::PctError;
use crate::runner::Output;

/// How a command reports failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitRule {
    /// Non-zero means failure.
    Status,
    /// Also exits 0 when its task failed (push, pull, template, resize): a task
    /// error line on stderr means failure.
    TaskErrorOnStderr,
}

/// Whether a finished call failed.
pub(crate) fn failed(output: &Output, rule: ExitRule) -> bool {
    if !output.success() {
        return true;
    }
    match rule {
        ExitRule::Status => false,
        ExitRule::TaskErrorOnStderr => String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(str::trim)
            .any(|l| !l.is_empty() && !is_warning_summary(l) && !is_conf_warning(l)),
    }
}

/// A warning Proxmox's `load_config` prints on stderr on every read of a conf it finds
/// fault with, before push, pull, template, resize and exec do their work. Every one
/// starts `vm <id> - ` (pve-container `PVE/LXC/Config.pm`, `parse_pct_config` and
/// `is_valid_lxc_conf_key`), for example:
///
/// ```text
/// vm 100 - unable to parse value of 'foo' - unknown setting 'foo'
/// vm 100 - unable to parse config: lxc.bogus: 1
/// vm 100 - lxc.id_map is deprecated and was renamed to lxc.idmap
/// vm 100 - lxc.limit.nofile: lxc.limit.* was renamed to lxc.prlimit.*
/// vm 100 - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs
/// ```
///
/// None of pct's own errors has that shape, so such a line is never a failure.
pub(crate) fn is_conf_warning(line: &str) -> bool {
    line.strip_prefix("vm ")
        .and_then(|r| r.split_once(" - "))
        .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// `stderr` without the conf warnings at its start: what `pct exec`'s command itself
/// wrote, since load_config warns before `lxc-attach` runs the command.
pub(crate) fn strip_leading_conf_warnings(stderr: &[u8]) -> Vec<u8> {
    let mut rest = stderr;
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..end]);
        if !is_conf_warning(line.trim()) {
            break;
        }
        rest = &rest[end + 1..];
    }
    rest.to_vec()
}

/// Stderr without the conf warnings, which say nothing about the call's outcome.
pub(crate) fn without_conf_warnings(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !is_conf_warning(l.trim()))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `Task finished with N warning(s)!`: printed on stderr by a task that succeeded.
fn is_warning_summary(line: &str) -> bool {
    line.strip_prefix("Task finished with ")
        .and_then(|r| r.strip_suffix(" warning(s)!"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Turns a failed call into the most specific error its messages allow.
/// `vmid` is the container the call was about, used when the message names none.
///
/// Only stderr is read: pct prints its own errors there (a `die` before the
/// worker, or the task error line), while stdout carries the worker's log,
/// which may quote anything.
pub(crate) fn classify(vmid: Option<Vmid>, argv: Vec<String>, output: &Output) -> PctError {
    let stderr = output.stderr_lossy();
    let stdout = output.stdout_lossy();
    for line in stderr.lines().filter(|l| !is_conf_warning(l.trim())) {
        if let Some(err) = classify_line(vmid, line.trim()) {
            return err;
        }
    }
    PctError::CommandFailed {
        argv,
        status: output.status,
        stdout,
        stderr,
    }
}

/// Reads the word between `prefix` and `close`, trying every occurrence of
/// `prefix` (task errors may carry a prefix such as `clone failed: `). The word
/// has no whitespace: ids, locks, option and snapshot names never do.
fn between<'a>(line: &'a str, prefix: &str, close: &str) -> Option<&'a str> {
    line.match_indices(prefix).find_map(|(at, _)| {
        let rest = &line[at + prefix.len()..];
        let word = &rest[..rest.find(close)?];
        (!word.is_empty() && !word.contains(char::is_whitespace)).then_some(word)
    })
}

fn classify_line(vmid: Option<Vmid>, line: &str) -> Option<PctError> {
    let id = |s: &str| s.parse::<Vmid>().ok();
    // `CT 100 already exists on node 'pve'` / `VM 100 already exists on node 'pve'`
    for guest in ["CT ", "VM "] {
        if let Some(n) = between(line, guest, " already exists on node '").and_then(id) {
            return Some(PctError::AlreadyExists { vmid: n });
        }
    }
    // `Configuration file 'nodes/pve/lxc/100.conf' does not exist`
    if line.contains("Configuration file '") && line.contains("' does not exist") {
        let n = between(line, "/lxc/", ".conf' does not exist")
            .and_then(id)
            .or(vmid)?;
        return Some(PctError::NotFound { vmid: n });
    }
    for prefix in [
        "unable to modify read-only option: '",
        "unable to delete read-only option: '",
    ] {
        if let (Some(option), Some(vmid)) = (between(line, prefix, "'"), vmid) {
            return Some(PctError::ReadOnlyOption {
                vmid,
                option: option.to_owned(),
            });
        }
    }
    if let (Some(lock), Some(vmid)) = (between(line, "CT is locked (", ")"), vmid) {
        let lock = lock.parse().unwrap_or_else(|never| match never {});
        return Some(PctError::Locked { vmid, lock });
    }
    // `can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout` (PVE::Tools
    // lock_file_full, around every change of the conf).
    if let Some(path) = between(line, "can't lock file '", "' - got timeout") {
        let named = path
            .rsplit_once("pve-config-")
            .and_then(|(_, rest)| rest.strip_suffix(".lock"))
            .and_then(id);
        if let Some(vmid) = named.or(vmid) {
            return Some(PctError::ConfLockTimeout {
                vmid,
                path: path.to_owned(),
            });
        }
    }
    if let Some(n) = between(line, "CT ", " already running").and_then(id) {
        return Some(PctError::AlreadyRunning { vmid: n });
    }
    for (prefix, suffix) in [("CT ", " not running"), ("VM ", " not running")] {
        if let Some(n) = between(line, prefix, suffix).and_then(id) {
            return Some(PctError::NotRunning { vmid: n });
        }
    }
    if let Some(n) = between(line, "container '", "' not running!").and_then(id) {
        return Some(PctError::NotRunning { vmid: n });
    }
    let stopped = line.contains("can only push files to a running CT")
        || line.contains("can only pull files from a running VM");
    if let (true, Some(vmid)) = (stopped, vmid) {
        return Some(PctError::NotRunning { vmid });
    }
    if let (Some(name), Some(vmid)) = (between(line, "snapshot name '", "' already used"), vmid) {
        return Some(PctError::SnapshotExists {
            vmid,
            name: name.to_owned(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::ExitStatus;
    use crate::state::Lock;

    fn vmid(n: u32) -> Vmid {
        Vmid::new(n).unwrap()
    }

    fn fail(stderr: &str) -> PctError {
        classify(
            Some(vmid(100)),
            vec!["pct".into(), "x".into(), "100".into()],
            &Output::failed(255, stderr),
        )
    }

    #[test]
    fn already_exists_for_cts_and_vms() {
        let e = fail("CT 101 already exists on node 'pve'\n");
        assert!(matches!(e, PctError::AlreadyExists { vmid: v } if v.get() == 101));
        let e = fail("unable to create CT 100 - VM 100 already exists on node 'pve'\n");
        assert!(matches!(e, PctError::AlreadyExists { vmid: v } if v.get() == 100));
        let e = fail("unable to create CT 100 - CT 107 already exists on node 'pve'\n");
        assert!(matches!(e, PctError::AlreadyExists { vmid: v } if v.get() == 107));
        let e = fail("VM 100 already exists on node 'pve'\n");
        assert!(matches!(e, PctError::AlreadyExists { vmid: v } if v.get() == 100));
        assert_eq!(e.to_string(), "guest 100 already exists");
    }

    #[test]
    fn missing_config_is_not_found() {
        let e = fail("Configuration file 'nodes/pve/lxc/105.conf' does not exist\n");
        assert!(matches!(e, PctError::NotFound { vmid: v } if v.get() == 105));
        assert_eq!(e.to_string(), "container 105 does not exist");
        // inside a clone task, with its prefix
        let e = fail("clone failed: Configuration file 'nodes/n1/lxc/100.conf' does not exist\n");
        assert!(matches!(e, PctError::NotFound { .. }));
    }

    #[test]
    fn read_only_options() {
        let e = fail("unable to modify read-only option: 'unprivileged'\n");
        assert!(matches!(&e, PctError::ReadOnlyOption { option, .. } if option == "unprivileged"));
        assert_eq!(
            e.to_string(),
            "option 'unprivileged' of container 100 is read-only"
        );
        let e = fail("unable to delete read-only option: 'unprivileged'\n");
        assert!(matches!(e, PctError::ReadOnlyOption { .. }));
    }

    #[test]
    fn locked() {
        let e = fail("CT is locked (create)\n");
        assert!(matches!(
            &e,
            PctError::Locked {
                lock: Lock::Create,
                ..
            }
        ));
        assert_eq!(e.to_string(), "container 100 is locked (create)");
        let e = fail("clone failed: CT is locked (snapshot-delete)\n");
        assert!(matches!(
            e,
            PctError::Locked {
                lock: Lock::SnapshotDelete,
                ..
            }
        ));
    }

    #[test]
    fn a_config_lock_timeout_names_the_lock_file() {
        let e = fail("can't lock file '/run/lock/lxc/pve-config-107.lock' - got timeout\n");
        assert!(
            matches!(&e, PctError::ConfLockTimeout { vmid, path }
                if vmid.get() == 107 && path == "/run/lock/lxc/pve-config-107.lock"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "container 107: another process holds the config lock \
             /run/lock/lxc/pve-config-107.lock (got timeout)"
        );
        // Another lock file: the container the call was about.
        let e = fail("can't lock file '/var/lock/other.lock' - got timeout\n");
        assert!(matches!(&e, PctError::ConfLockTimeout { vmid, .. } if vmid.get() == 100));
    }

    #[test]
    fn still_locked_says_how_long_it_waited() {
        let e = PctError::StillLocked {
            last: Box::new(fail("CT is locked (backup)\n")),
            waited: std::time::Duration::from_millis(2500),
            tries: 4,
        };
        assert_eq!(
            e.to_string(),
            "container 100 is locked (backup), still after waiting 2.5s (4 tries)"
        );
    }

    #[test]
    fn power_state_messages() {
        let e = fail("CT 100 not running\n");
        assert!(matches!(e, PctError::NotRunning { .. }));
        assert_eq!(e.to_string(), "container 100 is not running");
        assert!(matches!(
            fail("VM 100 not running\n"),
            PctError::NotRunning { .. }
        ));
        let e = fail("container '102' not running!\n");
        assert!(matches!(e, PctError::NotRunning { vmid: v } if v.get() == 102));
        assert!(matches!(
            fail("can only push files to a running CT\n"),
            PctError::NotRunning { .. }
        ));
        assert!(matches!(
            fail(
                "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 397.\n"
            ),
            PctError::NotRunning { .. }
        ));
        let e = fail("CT 100 already running\n");
        assert!(matches!(e, PctError::AlreadyRunning { .. }));
        assert_eq!(e.to_string(), "container 100 is already running");
    }

    #[test]
    fn the_worker_log_on_stdout_is_not_classified() {
        let out = Output::failed(255, "unable to create CT 100 - disk full\n")
            .with_stdout("checking CT 100 already running state\nCT is locked (backup)\n");
        let e = classify(Some(vmid(100)), vec!["pct".into()], &out);
        assert!(matches!(e, PctError::CommandFailed { .. }), "{e:?}");
    }

    #[test]
    fn snapshot_exists() {
        let e = fail("snapshot name 'before' already used\n");
        assert!(matches!(&e, PctError::SnapshotExists { name, .. } if name == "before"));
        assert_eq!(
            e.to_string(),
            "container 100 already has a snapshot named 'before'"
        );
    }

    #[test]
    fn anything_else_keeps_argv_status_and_output() {
        let out = Output::failed(
            255,
            "400 Parameter verification failed.\nmemory: value must have a minimum value of 16\n\nUSAGE: pct set <vmid> [OPTIONS]\n",
        )
        .with_stdout("some task output\n");
        let e = classify(
            Some(vmid(100)),
            vec!["pct".into(), "set".into(), "100".into()],
            &out,
        );
        let PctError::CommandFailed {
            argv,
            status,
            stdout,
            stderr,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(argv, &["pct", "set", "100"]);
        assert_eq!(*status, ExitStatus::Code(255));
        assert_eq!(stdout, "some task output\n");
        assert!(stderr.starts_with("400 "));
        assert_eq!(
            e.to_string(),
            "`pct set 100` failed (exit code 255): 400 Parameter verification failed. \
             memory: value must have a minimum value of 16"
        );
    }

    #[test]
    fn failure_summary_falls_back_to_stdout_then_says_no_output() {
        let e = classify(
            None,
            vec!["pvesm".into()],
            &Output::failed(1, "").with_stdout("a\nlast\n"),
        );
        assert_eq!(e.to_string(), "`pvesm` failed (exit code 1): last");
        let e = classify(None, vec!["pvesm".into()], &Output::failed(2, ""));
        assert_eq!(e.to_string(), "`pvesm` failed (exit code 2): no output");
    }

    const WARNINGS: &str = "\
vm 100 - unable to parse value of 'foo' - unknown setting 'foo'
vm 100 - lxc.id_map is deprecated and was renamed to lxc.idmap
vm 100 - lxc.cgroup.devices.allow: lxc.cgroup.* keys only apply to cgroup v1, use lxc.cgroup2.*
vm 100 - unable to parse config: CT is locked (backup)
";

    #[test]
    fn conf_warnings_before_the_work_are_not_failures() {
        for rule in [ExitRule::Status, ExitRule::TaskErrorOnStderr] {
            assert!(
                !failed(&Output::ok("").with_stderr(WARNINGS), rule),
                "{rule:?}"
            );
        }
        // a real task error after the warnings still is one, and is what gets classified
        let hidden =
            Output::ok("").with_stderr(format!("{WARNINGS}failed to open /nope for reading\n"));
        assert!(failed(&hidden, ExitRule::TaskErrorOnStderr));
        let e = fail(&format!("{WARNINGS}CT 100 not running\n"));
        assert!(matches!(e, PctError::NotRunning { .. }), "{e:?}");
        // a warning quoting an error text is not read as that error
        let e = fail(WARNINGS);
        assert!(matches!(e, PctError::CommandFailed { .. }), "{e:?}");
        assert!(is_conf_warning(
            "vm 9100 - property 'delete' is only allowed in [pve:pending]"
        ));
        assert!(!is_conf_warning("vm - x"));
        assert!(!is_conf_warning("vmid 100 - x"));
        assert!(!is_conf_warning("can only push files to a running CT"));
        assert_eq!(
            strip_leading_conf_warnings(format!("{WARNINGS}oops\nvm 1 - x\n").as_bytes()),
            b"oops\nvm 1 - x\n"
        );
        assert_eq!(
            without_conf_warnings(&format!("{WARNINGS}container '100' not running!\n")),
            "container '100' not running!\n"
        );
    }

    #[test]
    fn exit_rules_and_the_zero_exit_quirk() {
        let ok = Output::ok("");
        assert!(!failed(&ok, ExitRule::Status));
        assert!(!failed(&ok, ExitRule::TaskErrorOnStderr));
        let warned = Output::ok("").with_stderr("Task finished with 2 warning(s)!\n");
        assert!(!failed(&warned, ExitRule::Status));
        assert!(!failed(&warned, ExitRule::TaskErrorOnStderr));
        // pct template exits 0 when its worker fails (reference §5)
        let hidden =
            Output::ok("").with_stderr("Template feature is not available for '/srv/share'\n");
        assert!(!failed(&hidden, ExitRule::Status));
        assert!(failed(&hidden, ExitRule::TaskErrorOnStderr));
        // any non-zero exit is a failure, not only 255
        assert!(failed(&Output::failed(2, ""), ExitRule::Status));
        assert!(failed(&Output::failed(13, ""), ExitRule::TaskErrorOnStderr));
    }
}
