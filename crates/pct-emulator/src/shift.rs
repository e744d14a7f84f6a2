//! Shifting file owners by a container's id map, as Proxmox does when it extracts a
//! template through `lxc-usernsexec`: a file owned by container uid 0 is owned by host
//! uid 100000 under the default unprivileged map.

use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown};
use std::path::Path;

use phoenix_idmap::{IdKind, IdMapEntry};

/// The effective map of a container (§4 of the reference): its explicit `lxc.idmap`
/// entries, else the hard-coded default when unprivileged, else nothing (root is 0:0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnerMap {
    entries: Vec<IdMapEntry>,
}

impl OwnerMap {
    /// The map Proxmox uses: `custom` when any entry exists (the default is then dropped
    /// completely), else `u 0 100000 65536` / `g 0 100000 65536` when unprivileged.
    pub fn effective(unprivileged: bool, custom: Vec<IdMapEntry>) -> Self {
        if !custom.is_empty() {
            Self { entries: custom }
        } else if unprivileged {
            Self {
                entries: vec![
                    IdMapEntry::new(IdKind::Uid, 0, 100_000, 65_536),
                    IdMapEntry::new(IdKind::Gid, 0, 100_000, 65_536),
                ],
            }
        } else {
            Self::default()
        }
    }

    /// True when the map changes nothing (a privileged container).
    pub fn is_identity(&self) -> bool {
        self.entries.is_empty()
    }

    fn to_host(&self, kind: IdKind, ct: u32) -> u32 {
        // The first matching entry wins; an unmapped id is returned unchanged (§4).
        self.entries
            .iter()
            .filter(|e| e.kind == kind)
            .find_map(|e| e.host_id_of_container_id(ct))
            .unwrap_or(ct)
    }

    fn to_ct(&self, kind: IdKind, host: u32) -> u32 {
        self.entries
            .iter()
            .filter(|e| e.kind == kind)
            .find_map(|e| e.container_id_of_host_id(host))
            .unwrap_or(host)
    }

    /// The host uid of container uid `ct`.
    pub fn host_uid(&self, ct: u32) -> u32 {
        self.to_host(IdKind::Uid, ct)
    }

    /// The host gid of container gid `ct`.
    pub fn host_gid(&self, ct: u32) -> u32 {
        self.to_host(IdKind::Gid, ct)
    }

    /// The container uid of host uid `host`.
    pub fn ct_uid(&self, host: u32) -> u32 {
        self.to_ct(IdKind::Uid, host)
    }

    /// The container gid of host gid `host`.
    pub fn ct_gid(&self, host: u32) -> u32 {
        self.to_ct(IdKind::Gid, host)
    }
}

/// An owner the map does not cover: Proxmox's `lxc-usernsexec` extraction cannot create
/// such a file either, and leaving it would hand a host id to a container file.
#[derive(Debug, thiserror::Error)]
pub enum ShiftError {
    /// A file owned by a container id outside the map.
    #[error("'{path}' is owned by {kind} {id}, which the container's id map does not cover")]
    Unmapped {
        /// The file.
        path: std::path::PathBuf,
        /// `uid` or `gid`.
        kind: &'static str,
        /// The container id.
        id: u32,
    },
    /// A filesystem call failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Re-owns every entry under `dir` (itself included, symlinks not followed) from
/// container ids to host ids. Set-id bits, which `chown` clears, are put back. A file
/// with several hard links is shifted once. An id the map does not cover is an error.
pub fn shift_tree(dir: &Path, map: &OwnerMap) -> Result<(), ShiftError> {
    if map.is_identity() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    walk(dir, map, &mut seen)
}

fn walk(
    dir: &Path,
    map: &OwnerMap,
    seen: &mut std::collections::HashSet<(u64, u64)>,
) -> Result<(), ShiftError> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.nlink() < 2 || meta.is_dir() || seen.insert((meta.dev(), meta.ino())) {
        shift_one(dir, &meta, map)?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            walk(&entry?.path(), map, seen)?;
        }
    }
    Ok(())
}

fn covered(map: &OwnerMap, kind: IdKind, id: u32) -> bool {
    map.entries
        .iter()
        .any(|e| e.kind == kind && e.host_id_of_container_id(id).is_some())
}

fn shift_one(path: &Path, meta: &std::fs::Metadata, map: &OwnerMap) -> Result<(), ShiftError> {
    for (kind, name, id) in [
        (IdKind::Uid, "uid", meta.uid()),
        (IdKind::Gid, "gid", meta.gid()),
    ] {
        if !covered(map, kind, id) {
            return Err(ShiftError::Unmapped {
                path: path.to_owned(),
                kind: name,
                id,
            });
        }
    }
    lchown(
        path,
        Some(map.host_uid(meta.uid())),
        Some(map.host_gid(meta.gid())),
    )?;
    if !meta.file_type().is_symlink() && meta.mode() & 0o6000 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_map_only_when_unprivileged_without_custom_entries() {
        let m = OwnerMap::effective(true, vec![]);
        assert_eq!((m.host_uid(0), m.host_gid(33)), (100_000, 100_033));
        assert_eq!(m.ct_uid(100_000), 0);
        assert!(OwnerMap::effective(false, vec![]).is_identity());
        let custom = vec!["u 0 200000 1000".parse().unwrap()];
        let m = OwnerMap::effective(true, custom);
        assert_eq!(m.host_uid(5), 200_005);
        // no g entry: gids are left as they are
        assert_eq!(m.host_gid(5), 5);
        // unmapped uids too
        assert_eq!(m.host_uid(5000), 5000);
    }

    #[test]
    fn first_matching_entry_wins() {
        let m = OwnerMap::effective(
            false,
            vec![
                "u 0 100000 10".parse().unwrap(),
                "u 5 1005 1".parse().unwrap(),
            ],
        );
        assert_eq!(m.host_uid(5), 100_005);
    }

    #[test]
    fn unmapped_owners_are_refused_and_hard_links_shift_once() {
        // lchown to other owners needs root
        if !phoenix_testkit::require(&[phoenix_testkit::Need::Root]) {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::hard_link(&f, t.path().join("g")).unwrap();
        let m = OwnerMap::effective(
            false,
            vec![
                "u 0 1000 200000".parse().unwrap(),
                "g 0 1000 200000".parse().unwrap(),
            ],
        );
        shift_tree(t.path(), &m).unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().uid(), 1000);
        let small = OwnerMap::effective(
            false,
            vec![
                "u 0 100000 10".parse().unwrap(),
                "g 0 100000 10".parse().unwrap(),
            ],
        );
        let e = shift_tree(t.path(), &small).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is owned by uid 1000, which the container's id map does not cover"),
            "{e}"
        );
    }
}
