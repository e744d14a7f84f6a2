//! The typed wrapper over real processes: a stand-in `pct` script proves that
//! arguments reach the binary exactly as built (no shell in between) and that
//! real exit codes and streams are classified as with the recording runner.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use phoenix_pct::{CreateOptions, CtOptions, CtStatus, ExitStatus, Pct, PctError, ProcessRunner};
use phoenix_pveconf::Vmid;

fn id(n: u32) -> Vmid {
    Vmid::new(n).unwrap()
}

/// Tests that write and run scripts take turns: a script written while another
/// thread forks can fail to exec with ETXTBSY (the child briefly holds the
/// write descriptor), a known Linux race unrelated to what is tested here.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes an executable `pct` that runs `body` (POSIX sh).
fn fake_pct(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("pct");
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn arguments_reach_pct_unchanged_without_a_shell() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("argv");
    // One argument per line, so spaces, quotes and `$` survive visibly.
    let bin = fake_pct(
        dir.path(),
        &format!("printf '%s\\n' \"$@\" > '{}'", log.display()),
    );
    let pct = Pct::with_binary(&bin, ProcessRunner::new());
    let opts = CreateOptions {
        config: CtOptions {
            hostname: Some("web1".into()),
            description: Some("it's $HOME; `rm -rf /`".into()),
            ..Default::default()
        },
        password: Some("pa ss!".parse().unwrap()),
        ..CreateOptions::default()
    };
    pct.create(id(100), "local:vztmpl/t.tar.gz", &opts).unwrap();
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "create\n100\nlocal:vztmpl/t.tar.gz\n--description\nit's $HOME; `rm -rf /`\n\
         --hostname\nweb1\n--unprivileged\n1\n--password\npa ss!\n"
    );
}

#[test]
fn status_and_exec_through_a_real_process() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_pct(
        dir.path(),
        r#"case "$1" in
  status) echo "status: running" ;;
  exec) shift 3; echo "ran $*"; echo oops >&2; exit 42 ;;
esac"#,
    );
    let pct = Pct::with_binary(&bin, ProcessRunner::new());
    assert_eq!(pct.status(id(100)).unwrap(), CtStatus::Running);
    let out = pct.exec(id(100), &["ls", "-l", "/"]).unwrap();
    assert_eq!(out.status, ExitStatus::Code(42));
    assert_eq!(out.stdout, b"ran ls -l /\n");
    assert_eq!(out.stderr, b"oops\n");
}

#[test]
fn a_real_task_failure_is_classified() {
    let _turn = serial();
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_pct(dir.path(), "echo 'CT is locked (backup)' >&2; exit 255");
    let pct = Pct::with_binary(&bin, ProcessRunner::new());
    let err = pct.start(id(100)).unwrap_err();
    assert!(matches!(err, PctError::Locked { .. }), "{err:?}");
}

#[test]
fn a_missing_pct_names_the_command() {
    let pct = Pct::with_binary("/nonexistent/pct", ProcessRunner::new());
    let err = pct.list().unwrap_err();
    assert!(matches!(err, PctError::Run(_)));
    assert_eq!(err.to_string(), "cannot start `/nonexistent/pct list`");
}
