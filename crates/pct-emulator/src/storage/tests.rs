use super::*;

fn setup() -> (tempfile::TempDir, Storages) {
    let t = tempfile::tempdir().unwrap();
    let s = Storages::load(&HostRoot::new(t.path())).unwrap();
    (t, s)
}

#[test]
fn volumes_are_named_as_proxmox_names_them() {
    let (t, s) = setup();
    let a = s.alloc("local-zfs", 100).unwrap();
    let b = s.alloc("local-zfs", 100).unwrap();
    assert_eq!(
        (a.to_string(), b.to_string()),
        (
            "local-zfs:subvol-100-disk-0".into(),
            "local-zfs:subvol-100-disk-1".into()
        )
    );
    assert_eq!(
        s.path(&a).unwrap(),
        t.path().join("rpool/data/subvol-100-disk-0")
    );
    let d = s.alloc("local", 100).unwrap();
    assert_eq!(d.to_string(), "local:100/vm-100-disk-0.raw");
    assert_eq!(
        s.path(&d).unwrap(),
        t.path().join("var/lib/vz/images/100/vm-100-disk-0.raw")
    );
    let tmpl = VolId::parse("local:vztmpl/x.tar.gz").unwrap();
    assert_eq!(
        s.path(&tmpl).unwrap(),
        t.path().join("var/lib/vz/template/cache/x.tar.gz")
    );
    assert!(s.path(&VolId::parse("local:../x").unwrap()).is_err());
}

#[test]
fn zfs_rolls_back_only_to_the_newest_snapshot() {
    let (_t, s) = setup();
    let v = s.alloc("local-zfs", 101).unwrap();
    let p = s.path(&v).unwrap();
    std::fs::write(p.join("f"), "one").unwrap();
    s.snapshot(&v, "s1").unwrap();
    std::fs::write(p.join("f"), "two").unwrap();
    s.snapshot(&v, "s2").unwrap();
    std::fs::write(p.join("f"), "three").unwrap();
    let e = s.rollback(&v, "s1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "can't rollback, 's1' is not most recent snapshot on 'subvol-101-disk-0'"
    );
    s.rollback(&v, "s2").unwrap();
    assert_eq!(std::fs::read_to_string(p.join("f")).unwrap(), "two");
    s.delete_snapshot(&v, "s2").unwrap();
    s.rollback(&v, "s1").unwrap();
    assert_eq!(std::fs::read_to_string(p.join("f")).unwrap(), "one");
}

#[test]
fn dir_storage_has_no_snapshots_or_linked_clones() {
    let (_t, s) = setup();
    let v = s.alloc("local", 102).unwrap();
    assert_eq!(
        s.snapshot(&v, "s1").unwrap_err().to_string(),
        "snapshot feature is not available"
    );
    let base = s.create_base(&v).unwrap();
    assert_eq!(base.to_string(), "local:102/base-102-disk-0.raw");
    assert_eq!(
        s.linked_clone(&base, 103).unwrap_err().to_string(),
        "Linked clone feature for 'local:102/base-102-disk-0.raw' is not available"
    );
}

#[test]
fn zfs_linked_clone_comes_from_a_base_volume() {
    let (_t, s) = setup();
    let v = s.alloc("local-zfs", 104).unwrap();
    std::fs::write(s.path(&v).unwrap().join("f"), "x").unwrap();
    assert!(s.linked_clone(&v, 105).is_err());
    let base = s.create_base(&v).unwrap();
    assert_eq!(base.to_string(), "local-zfs:base-104-disk-0");
    let c = s.linked_clone(&base, 105).unwrap();
    assert_eq!(c.to_string(), "local-zfs:base-104-disk-0/subvol-105-disk-0");
    assert_eq!(
        std::fs::read_to_string(s.path(&c).unwrap().join("f")).unwrap(),
        "x"
    );
    s.free(&c).unwrap();
    assert!(!s.path(&c).unwrap().exists());
}

#[test]
fn error_texts() {
    let (_t, s) = setup();
    assert_eq!(
        s.storage("nope").unwrap_err().to_string(),
        "storage 'nope' does not exist"
    );
    assert_eq!(
        StorageError::BadVolume("x".into()).to_string(),
        "unable to parse volume ID 'x'"
    );
    assert_eq!(
        StorageError::NoTemplate("/srv".into()).to_string(),
        "Template feature is not available for '/srv'"
    );
    assert_eq!(
        StorageError::Copy {
            argv: "cp -a".into(),
            stderr: "e".into()
        }
        .to_string(),
        "cp -a failed: e"
    );
    let io = StorageError::Io {
        path: "/p".into(),
        source: std::io::Error::other("x"),
    };
    assert_eq!(io.to_string(), "/p: x");
}
