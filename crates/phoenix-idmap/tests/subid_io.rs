//! Atomic, append-only editing of <root>/etc/subuid and <root>/etc/subgid on disk.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use phoenix_idmap::subid::{
    Ensured, SubIdEntry, SubIdIoError, SubIdPaths, ensure_file, read_optional, write_atomic,
};

const SEVERAL: &str = "# delegations\nalice:165536:65536\n\nbob:231072:65536\nroot:100000:65536\n";

fn root_with(subuid: Option<&str>) -> (tempfile::TempDir, SubIdPaths) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    let paths = SubIdPaths::under(dir.path());
    if let Some(text) = subuid {
        fs::write(&paths.subuid, text).unwrap();
    }
    (dir, paths)
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn paths_are_under_the_root() {
    let paths = SubIdPaths::under(Path::new("/tmp/r"));
    assert_eq!(paths.subuid, Path::new("/tmp/r/etc/subuid"));
    assert_eq!(paths.subgid, Path::new("/tmp/r/etc/subgid"));
}

#[test]
fn a_missing_file_reads_as_none_and_is_created_0644() {
    let (dir, paths) = root_with(None);
    assert_eq!(read_optional(&paths.subgid).unwrap(), None);
    let outcome = ensure_file(&paths.subgid, &[SubIdEntry::new("root", 1000, 1)]).unwrap();
    assert_eq!(
        outcome,
        Ensured::Created {
            added: vec![SubIdEntry::root_default(), SubIdEntry::new("root", 1000, 1)]
        }
    );
    assert_eq!(
        fs::read_to_string(&paths.subgid).unwrap(),
        "root:100000:65536\nroot:1000:1\n"
    );
    assert_eq!(fs::metadata(&paths.subgid).unwrap().mode() & 0o7777, 0o644);
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn several_users_keep_every_line_byte_for_byte() {
    let (dir, paths) = root_with(Some(SEVERAL));
    let outcome = ensure_file(&paths.subuid, &[SubIdEntry::new("root", 1000, 1)]).unwrap();
    assert_eq!(
        outcome,
        Ensured::Extended {
            added: vec![SubIdEntry::new("root", 1000, 1)]
        }
    );
    assert_eq!(
        fs::read_to_string(&paths.subuid).unwrap(),
        format!("{SEVERAL}root:1000:1\n")
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_second_ensure_changes_nothing_and_does_not_write() {
    let (_dir, paths) = root_with(Some(SEVERAL));
    let wanted = [SubIdEntry::new("root", 1000, 1)];
    ensure_file(&paths.subuid, &wanted).unwrap();
    let before = fs::metadata(&paths.subuid).unwrap();
    assert_eq!(ensure_file(&paths.subuid, &wanted).unwrap(), Ensured::Found);
    let after = fs::metadata(&paths.subuid).unwrap();
    // Same inode: no rename happened.
    assert_eq!(before.ino(), after.ino());
    assert_eq!(before.mtime_nsec(), after.mtime_nsec());
}

#[test]
fn an_existing_file_keeps_its_mode() {
    let (_dir, paths) = root_with(Some("alice:165536:65536\n"));
    fs::set_permissions(&paths.subuid, fs::Permissions::from_mode(0o600)).unwrap();
    ensure_file(&paths.subuid, &[]).unwrap();
    assert_eq!(fs::metadata(&paths.subuid).unwrap().mode() & 0o7777, 0o600);
}

#[test]
fn an_existing_file_keeps_its_owner_and_a_new_one_is_roots() {
    if !phoenix_testkit::require(&[phoenix_testkit::Need::Root]) {
        return;
    }
    let (_dir, paths) = root_with(Some("alice:165536:65536\n"));
    std::os::unix::fs::chown(&paths.subuid, Some(1234), Some(4321)).unwrap();
    ensure_file(&paths.subuid, &[]).unwrap();
    let meta = fs::metadata(&paths.subuid).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 4321));
    // A file phoenix creates (running as root, as on a host) is root's.
    ensure_file(&paths.subgid, &[]).unwrap();
    let meta = fs::metadata(&paths.subgid).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o644)
    );
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    let (dir, paths) = root_with(Some("root:100000:65536\n"));
    let err = write_atomic(&paths.subuid, b"x", Some(b"something else")).unwrap_err();
    assert!(matches!(err, SubIdIoError::Changed { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{} changed while phoenix was editing it; nothing was written",
            paths.subuid.display()
        )
    );
    assert_eq!(
        fs::read_to_string(&paths.subuid).unwrap(),
        "root:100000:65536\n"
    );
    // A file that appeared after we saw it missing is not overwritten either.
    assert!(matches!(
        write_atomic(&paths.subuid, b"x", None),
        Err(SubIdIoError::Changed { .. })
    ));
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_bad_file_is_reported_with_path_and_line_and_left_alone() {
    let (_dir, paths) = root_with(Some("root:100000:65536\nbroken\n"));
    let err = ensure_file(&paths.subuid, &[SubIdEntry::new("root", 1000, 1)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot parse {}", paths.subuid.display())
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(source, "line 2: expected name:start:count: 'broken'");
    assert_eq!(
        fs::read_to_string(&paths.subuid).unwrap(),
        "root:100000:65536\nbroken\n"
    );
}

#[test]
fn io_errors_name_the_path() {
    let (_dir, paths) = root_with(None);
    fs::write(&paths.subuid, [0xff, 0xfe, b'\n']).unwrap();
    let err = read_optional(&paths.subuid).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{} is not utf-8 text", paths.subuid.display())
    );
    // A directory in place of the file cannot be read.
    let dir_path = paths.subgid.clone();
    fs::create_dir(&dir_path).unwrap();
    let err = read_optional(&dir_path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot read {}", dir_path.display())
    );
    // A missing parent directory cannot be written.
    let nowhere = paths.subuid.parent().unwrap().join("missing/subuid");
    let err = write_atomic(&nowhere, b"root:1:1\n", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot write {}", nowhere.display())
    );
}
