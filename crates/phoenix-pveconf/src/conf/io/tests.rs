use std::path::Path;

use super::*;

fn vmid() -> Vmid {
    Vmid::new(100).unwrap()
}

fn conf(src: &str) -> CtConf {
    CtConf::parse(src).conf
}

#[test]
fn paths_are_under_the_root() {
    let root = Path::new("/tmp/r");
    assert_eq!(
        conf_path(root, vmid()),
        Path::new("/tmp/r/etc/pve/lxc/100.conf")
    );
    assert_eq!(
        lock_path(root, vmid()),
        Path::new("/tmp/r/run/lock/lxc/pve-config-100.lock")
    );
    assert_eq!(
        conf_path(Path::new("/"), vmid()),
        Path::new("/etc/pve/lxc/100.conf")
    );
}

#[test]
fn missing_file_reads_as_none() {
    let root = tempfile::tempdir().unwrap();
    assert!(read_optional_conf(root.path(), vmid()).unwrap().is_none());
}

#[test]
fn write_then_read_round_trips_and_returns_the_digest() {
    let root = tempfile::tempdir().unwrap();
    let src = "memory: 512\nlxc.idmap = u 0 100000 65536\n";
    let written = write_conf_atomic(root.path(), vmid(), &conf(src), None).unwrap();
    let (read, digest) = read_optional_conf(root.path(), vmid()).unwrap().unwrap();
    assert_eq!(read.render(), src);
    assert_eq!(digest, written);
    assert_eq!(digest, Digest::of(src.as_bytes()));
    let on_disk = fs::read_to_string(conf_path(root.path(), vmid())).unwrap();
    assert_eq!(on_disk, src);
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(root.path().join("etc/pve/lxc"))
        .unwrap()
        .collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    let root = tempfile::tempdir().unwrap();
    write_conf_atomic(root.path(), vmid(), &conf("memory: 512\n"), None).unwrap();
    let (mut edited, digest) = read_optional_conf(root.path(), vmid()).unwrap().unwrap();
    // Someone else writes in between.
    fs::write(conf_path(root.path(), vmid()), "memory: 1024\n").unwrap();
    edited.set("memory", "2048").unwrap();
    let err = write_conf_atomic(root.path(), vmid(), &edited, Some(digest)).unwrap_err();
    assert!(matches!(err, ConfIoError::Changed { found: Some(_), .. }));
    let on_disk = fs::read_to_string(conf_path(root.path(), vmid())).unwrap();
    assert_eq!(on_disk, "memory: 1024\n");
    // With the right digest it goes through.
    let now = Digest::of(b"memory: 1024\n");
    write_conf_atomic(root.path(), vmid(), &edited, Some(now)).unwrap();
    assert_eq!(
        fs::read_to_string(conf_path(root.path(), vmid())).unwrap(),
        "memory: 2048\n"
    );
}

#[test]
fn a_removed_file_counts_as_changed() {
    let root = tempfile::tempdir().unwrap();
    let err =
        write_conf_atomic(root.path(), vmid(), &conf(""), Some(Digest::of(b"x"))).unwrap_err();
    assert!(matches!(err, ConfIoError::Changed { found: None, .. }));
    assert!(
        err.to_string().ends_with(
            "(digest 11f6ad8ec52a2984abaafd7c3b516503785c2072, now missing) - read it again"
        ),
        "{err}"
    );
}

#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    write_conf_atomic(root.path(), vmid(), &conf("a: 1\n"), None).unwrap();
    let path = conf_path(root.path(), vmid());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    write_conf_atomic(root.path(), vmid(), &conf("a: 2\n"), None).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn owner_is_kept_when_running_as_root() {
    use phoenix_testkit::{Need, require};
    use std::os::unix::fs::MetadataExt;
    if !require(&[Need::Root]) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    write_conf_atomic(root.path(), vmid(), &conf("a: 1\n"), None).unwrap();
    let path = conf_path(root.path(), vmid());
    std::os::unix::fs::chown(&path, Some(12345), Some(23456)).unwrap();
    write_conf_atomic(root.path(), vmid(), &conf("a: 2\n"), None).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (12345, 23456));
}

#[test]
fn non_utf8_is_an_error_with_the_path() {
    let root = tempfile::tempdir().unwrap();
    let path = conf_path(root.path(), vmid());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"a: \xff\n").unwrap();
    let err = read_optional_conf(root.path(), vmid()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("'{}' is not valid UTF-8", path.display())
    );
}

#[test]
fn unreadable_file_error_names_the_path() {
    let root = tempfile::tempdir().unwrap();
    let path = conf_path(root.path(), vmid());
    fs::create_dir_all(&path).unwrap(); // a directory where the file should be
    let err = read_optional_conf(root.path(), vmid()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("unable to read '{}'", path.display())
    );
    let err = write_conf_atomic(root.path(), vmid(), &conf(""), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("unable to write '{}'", path.display())
    );
}

#[test]
fn oversized_files_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let big = format!("#{}\n", "a".repeat(MAX_CONF_SIZE));
    let err = write_conf_atomic(root.path(), vmid(), &conf(&big), None).unwrap_err();
    let path = conf_path(root.path(), vmid());
    assert_eq!(
        err.to_string(),
        format!(
            "'{}' would be {} bytes, above the 1 MiB limit of /etc/pve",
            path.display(),
            big.len()
        )
    );
}

#[test]
fn the_lock_times_out_with_proxmox_message_and_is_released_on_drop() {
    let root = tempfile::tempdir().unwrap();
    let held = lock_conf(root.path(), vmid(), LOCK_TIMEOUT).unwrap();
    assert_eq!(held.path(), lock_path(root.path(), vmid()));
    let err = lock_conf(root.path(), vmid(), Duration::from_millis(50)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "can't lock file '{}' - got timeout",
            lock_path(root.path(), vmid()).display()
        )
    );
    // Another CT's lock is independent.
    lock_conf(root.path(), Vmid::new(101).unwrap(), Duration::ZERO).unwrap();
    drop(held);
    lock_conf(root.path(), vmid(), Duration::ZERO).unwrap();
}

#[test]
fn a_lock_that_cannot_be_created_names_the_file() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("run"), "not a directory").unwrap();
    let err = lock_conf(root.path(), vmid(), Duration::ZERO).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "can't lock file '{}'",
            lock_path(root.path(), vmid()).display()
        )
    );
}

#[test]
fn modify_writes_only_when_something_changed() {
    use std::os::unix::fs::MetadataExt;
    let root = tempfile::tempdir().unwrap();
    let path = conf_path(root.path(), vmid());
    write_conf_atomic(root.path(), vmid(), &conf("memory: 512\n"), None).unwrap();
    let ino = fs::metadata(&path).unwrap().ino();
    let seen = modify_conf(root.path(), vmid(), LOCK_TIMEOUT, |c| {
        c.get("memory").map(str::to_owned)
    })
    .unwrap();
    assert_eq!(seen.as_deref(), Some("512"));
    // Nothing changed, so the file was not replaced.
    assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
    modify_conf(root.path(), vmid(), LOCK_TIMEOUT, |c| c.set("swap", "0"))
        .unwrap()
        .unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "memory: 512\nswap: 0\n");
}

#[test]
fn modify_needs_an_existing_conf_and_the_lock() {
    let root = tempfile::tempdir().unwrap();
    let err = modify_conf(root.path(), vmid(), LOCK_TIMEOUT, |_| ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "configuration file '{}' does not exist",
            conf_path(root.path(), vmid()).display()
        )
    );
    write_conf_atomic(root.path(), vmid(), &conf("memory: 512\n"), None).unwrap();
    let _held = lock_conf(root.path(), vmid(), LOCK_TIMEOUT).unwrap();
    let err = modify_conf(root.path(), vmid(), Duration::from_millis(30), |_| ()).unwrap_err();
    assert!(matches!(err, ConfIoError::LockTimeout { .. }));
}

#[test]
fn a_fifo_in_place_of_a_conf_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc/pve/lxc")).unwrap();
    let path = conf_path(dir.path(), vmid());
    let ok = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    let err = read_optional_conf(dir.path(), vmid()).unwrap_err();
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        source.ends_with("100.conf is a FIFO, not a regular file"),
        "{source}"
    );
}
