//! `rootfs` and `mpN`: the root file system and mount points.

use std::fmt;
use std::str::FromStr;

use super::{DiskSize, Format, Items, MountIdmap, PropError, PropValueError, flag, print};

/// What a mount's volume is, which decides what Proxmox allows with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A host directory (`/srv/share`): root only, blocks snapshot, clone and template.
    Bind,
    /// A host device (`/dev/...`): root only, blocks snapshot, clone and template.
    Device,
    /// A storage volume (`local-lvm:vm-100-disk-1`, or `STORAGE:GiB` to allocate).
    Volume,
}

impl MountKind {
    /// The kind of a volume string.
    pub fn of(volume: &str) -> Self {
        if volume.starts_with("/dev/") {
            MountKind::Device
        } else if volume.starts_with('/') {
            MountKind::Bind
        } else {
            MountKind::Volume
        }
    }
}

const MOUNT_OPTIONS: &[&str] = &[
    "discard", "lazytime", "noatime", "nodev", "noexec", "nosuid",
];

fn safe_path(key: &'static str) -> impl Fn(&str) -> Result<String, PropValueError> {
    move |v: &str| {
        let bad = v.contains("/./")
            || v.contains("/../")
            || v.ends_with("/.")
            || v.ends_with("/..")
            || v.starts_with("../");
        if bad || v.is_empty() {
            Err(PropValueError::IllegalSequence {
                key,
                value: v.to_owned(),
            })
        } else {
            Ok(v.to_owned())
        }
    }
}

/// The options `rootfs` and `mpN` share.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Shared {
    size: Option<DiskSize>,
    acl: Option<bool>,
    ro: Option<bool>,
    quota: Option<bool>,
    replicate: Option<bool>,
    shared: Option<bool>,
    mountoptions: Vec<String>,
    idmap: Option<MountIdmap>,
}

const SHARED_KEYS: [(&str, bool); 9] = [
    ("volume", false),
    ("size", false),
    ("acl", true),
    ("ro", true),
    ("quota", true),
    ("replicate", true),
    ("shared", true),
    ("mountoptions", false),
    ("idmap", false),
];

fn parse_shared(items: &mut Items) -> Result<(String, Shared), PropError> {
    let volume =
        safe_path("volume")(&items.required("volume")?).map_err(|reason| PropError::Invalid {
            key: "volume",
            reason,
        })?;
    let mountoptions = items
        .parsed("mountoptions", |v| {
            v.split(';')
                .map(|o| {
                    MOUNT_OPTIONS
                        .contains(&o)
                        .then(|| o.to_owned())
                        .ok_or_else(|| PropValueError::NotOneOf {
                            value: o.to_owned(),
                            allowed: MOUNT_OPTIONS,
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        })?
        .unwrap_or_default();
    Ok((
        volume,
        Shared {
            size: items.parsed("size", |v| v.parse::<DiskSize>())?,
            acl: items.bool("acl"),
            ro: items.bool("ro"),
            quota: items.bool("quota"),
            replicate: items.bool("replicate"),
            shared: items.bool("shared"),
            mountoptions,
            idmap: items.parsed("idmap", |v| v.parse())?,
        },
    ))
}

fn shared_items(volume: &str, s: &Shared) -> Vec<(&'static str, String)> {
    let mut items = vec![("volume", volume.to_owned())];
    let mut add = |k, v: Option<String>| items.extend(v.map(|v| (k, v)));
    add("size", s.size.map(|v| v.to_string()));
    add("acl", s.acl.map(flag));
    add("ro", s.ro.map(flag));
    add("quota", s.quota.map(flag));
    add("replicate", s.replicate.map(flag));
    add("shared", s.shared.map(flag));
    add(
        "mountoptions",
        (!s.mountoptions.is_empty()).then(|| s.mountoptions.join(";")),
    );
    add("idmap", s.idmap.as_ref().map(ToString::to_string));
    items
}

/// One `mpN` value.
///
/// ```
/// use phoenix_pveconf::props::{MountKind, MountPoint};
///
/// let mp: MountPoint = "mp=/data,/srv/share,ro=1".parse().unwrap();
/// assert_eq!(mp.kind(), MountKind::Bind);
/// assert_eq!(mp.to_string(), "/srv/share,mp=/data,ro=1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPoint {
    /// Storage volume, host directory or host device.
    pub volume: String,
    /// Path inside the container (required).
    pub mp: String,
    /// Size (informational; Proxmox manages it).
    pub size: Option<DiskSize>,
    /// POSIX ACLs.
    pub acl: Option<bool>,
    /// Read-only.
    pub ro: Option<bool>,
    /// User quotas.
    pub quota: Option<bool>,
    /// Included in storage replication (Proxmox's default is on).
    pub replicate: Option<bool>,
    /// Available on every node (for bind mounts on shared storage).
    pub shared: Option<bool>,
    /// Included in backups.
    pub backup: Option<bool>,
    /// Keep attributes of the mount point directory.
    pub keepattrs: Option<bool>,
    /// `mountoptions=` values, from discard, lazytime, noatime, nodev, noexec, nosuid.
    pub mountoptions: Vec<String>,
    /// `idmap=`: how ids on disk map to container ids.
    pub idmap: Option<MountIdmap>,
}

impl MountPoint {
    /// Bind, device or storage volume.
    pub fn kind(&self) -> MountKind {
        MountKind::of(&self.volume)
    }
}

const MP_FORMAT: Format = Format {
    default_key: Some("volume"),
    keys: &[
        SHARED_KEYS[0],
        SHARED_KEYS[1],
        SHARED_KEYS[2],
        SHARED_KEYS[3],
        SHARED_KEYS[4],
        SHARED_KEYS[5],
        SHARED_KEYS[6],
        SHARED_KEYS[7],
        SHARED_KEYS[8],
        ("mp", false),
        ("backup", true),
        ("keepattrs", true),
    ],
};

impl FromStr for MountPoint {
    type Err = PropError;

    fn from_str(s: &str) -> Result<Self, PropError> {
        let mut items = MP_FORMAT.parse(s)?;
        let mp = safe_path("mp")(&items.required("mp")?)
            .map_err(|reason| PropError::Invalid { key: "mp", reason })?;
        let (volume, shared) = parse_shared(&mut items)?;
        Ok(MountPoint {
            volume,
            mp,
            size: shared.size,
            acl: shared.acl,
            ro: shared.ro,
            quota: shared.quota,
            replicate: shared.replicate,
            shared: shared.shared,
            backup: items.bool("backup"),
            keepattrs: items.bool("keepattrs"),
            mountoptions: shared.mountoptions,
            idmap: shared.idmap,
        })
    }
}

impl fmt::Display for MountPoint {
    /// Proxmox's canonical form: the volume bare, `mp=`, then the rest sorted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = Shared {
            size: self.size,
            acl: self.acl,
            ro: self.ro,
            quota: self.quota,
            replicate: self.replicate,
            shared: self.shared,
            mountoptions: self.mountoptions.clone(),
            idmap: self.idmap.clone(),
        };
        let mut items = shared_items(&self.volume, &shared);
        items.push(("mp", self.mp.clone()));
        items.extend(self.backup.map(|v| ("backup", flag(v))));
        items.extend(self.keepattrs.map(|v| ("keepattrs", flag(v))));
        f.write_str(&print(Some("volume"), &["mp"], items))
    }
}

/// The `rootfs` value: like a mount point, without `mp`, `backup` or `keepattrs`.
///
/// ```
/// use phoenix_pveconf::props::RootFs;
///
/// let root: RootFs = "local-lvm:vm-100-disk-0,size=8G".parse().unwrap();
/// assert_eq!(root.size.unwrap().bytes(), 8 << 30);
/// assert_eq!(root.to_string(), "local-lvm:vm-100-disk-0,size=8G");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFs {
    /// Storage volume (or a host path for a bind-mounted root).
    pub volume: String,
    /// Size (informational; Proxmox manages it).
    pub size: Option<DiskSize>,
    /// POSIX ACLs.
    pub acl: Option<bool>,
    /// Read-only.
    pub ro: Option<bool>,
    /// User quotas.
    pub quota: Option<bool>,
    /// Included in storage replication.
    pub replicate: Option<bool>,
    /// Available on every node.
    pub shared: Option<bool>,
    /// `mountoptions=` values.
    pub mountoptions: Vec<String>,
    /// `idmap=`.
    pub idmap: Option<MountIdmap>,
}

impl RootFs {
    /// Bind, device or storage volume.
    pub fn kind(&self) -> MountKind {
        MountKind::of(&self.volume)
    }
}

const ROOTFS_FORMAT: Format = Format {
    default_key: Some("volume"),
    keys: &SHARED_KEYS,
};

impl FromStr for RootFs {
    type Err = PropError;

    fn from_str(s: &str) -> Result<Self, PropError> {
        let mut items = ROOTFS_FORMAT.parse(s)?;
        let (volume, s) = parse_shared(&mut items)?;
        Ok(RootFs {
            volume,
            size: s.size,
            acl: s.acl,
            ro: s.ro,
            quota: s.quota,
            replicate: s.replicate,
            shared: s.shared,
            mountoptions: s.mountoptions,
            idmap: s.idmap,
        })
    }
}

impl fmt::Display for RootFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = Shared {
            size: self.size,
            acl: self.acl,
            ro: self.ro,
            quota: self.quota,
            replicate: self.replicate,
            shared: self.shared,
            mountoptions: self.mountoptions.clone(),
            idmap: self.idmap.clone(),
        };
        f.write_str(&print(
            Some("volume"),
            &[],
            shared_items(&self.volume, &shared),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_idmap::IdKind;

    #[test]
    fn kinds() {
        assert_eq!(MountKind::of("/dev/sdb1"), MountKind::Device);
        assert_eq!(MountKind::of("/srv/share"), MountKind::Bind);
        assert_eq!(MountKind::of("local-lvm:vm-100-disk-1"), MountKind::Volume);
        assert_eq!(MountKind::of("local:8"), MountKind::Volume);
    }

    #[test]
    fn mount_point_canonical_order_from_the_reference() {
        let mp: MountPoint = "size=8G,backup=1,mp=/data,local-lvm:vm-100-disk-1"
            .parse()
            .unwrap();
        assert_eq!(
            mp.to_string(),
            "local-lvm:vm-100-disk-1,mp=/data,backup=1,size=8G"
        );
        let mp: MountPoint =
            "volume=/srv/a,mp=/a,mountoptions=noatime;nodev,idmap=u:0:100000:1000;g:0:100000:1000,keepattrs=yes"
                .parse()
                .unwrap();
        assert_eq!(
            mp.to_string(),
            "/srv/a,mp=/a,idmap=u:0:100000:1000;g:0:100000:1000,keepattrs=1,mountoptions=noatime;nodev"
        );
        assert!(
            matches!(mp.idmap, Some(MountIdmap::Entries(ref e)) if e.len() == 2 && e[1].kind == IdKind::Gid)
        );
        let mp: MountPoint = "/srv/a,mp=/a,idmap=passthrough".parse().unwrap();
        assert_eq!(mp.idmap, Some(MountIdmap::Passthrough));
    }

    #[test]
    fn mount_point_errors() {
        let err = |s: &str| s.parse::<MountPoint>().unwrap_err().to_string();
        assert_eq!(
            err("/srv/a"),
            "mp: property is missing and it is not optional"
        );
        assert_eq!(
            err("mp=/a"),
            "volume: property is missing and it is not optional"
        );
        assert_eq!(
            err("/srv/../etc,mp=/a"),
            "volume: volume '/srv/../etc' contains illegal character sequences"
        );
        assert_eq!(
            err("/srv/a,mp=/a/.."),
            "mp: mp '/a/..' contains illegal character sequences"
        );
        assert_eq!(
            err("/srv/a,mp=/a,mountoptions=rw"),
            "mountoptions: value 'rw' is not one of discard, lazytime, noatime, nodev, noexec, nosuid"
        );
        assert_eq!(
            err("/srv/a,mp=/a,idmap=u:0:1"),
            "idmap: value 'u:0:1' is not 'passthrough' or [ug]:ct:disk:len;..."
        );
        assert_eq!(
            err("/srv/a,mp=/a,size=big"),
            "size: value 'big' is not a valid disk size"
        );
    }

    #[test]
    fn rootfs_has_no_mp() {
        assert_eq!(
            "local:100/a.raw,mp=/"
                .parse::<RootFs>()
                .unwrap_err()
                .to_string(),
            "invalid key in comma-separated list property: mp"
        );
        let root: RootFs = "quota=1,local:100/a.raw,ro=0".parse().unwrap();
        assert_eq!(root.to_string(), "local:100/a.raw,quota=1,ro=0");
        assert_eq!(root.kind(), MountKind::Volume);
    }
}
