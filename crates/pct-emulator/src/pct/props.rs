//! The few property-string readings the emulator needs (netN, rootfs, mpN, features).

/// Splits a property string into `(key, value)` pairs; a bare first item is given the
/// `default_key` (`volume` for rootfs/mpN).
pub fn split(s: &str, default_key: Option<&str>) -> Vec<(String, String)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .enumerate()
        .map(|(i, part)| match part.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None if i == 0 && default_key.is_some() => {
                (default_key.unwrap_or_default().to_owned(), part.to_owned())
            }
            None => (part.to_owned(), String::new()),
        })
        .collect()
}

/// The value of `key` in a property string.
pub fn get(s: &str, default_key: Option<&str>, key: &str) -> Option<String> {
    split(s, default_key)
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Replaces (or adds) `key` in a property string, keeping the order of the rest.
pub fn with(s: &str, default_key: Option<&str>, key: &str, value: &str) -> String {
    let mut pairs = split(s, default_key);
    match pairs.iter_mut().find(|(k, _)| k == key) {
        Some(p) => p.1 = value.to_owned(),
        None => pairs.push((key.to_owned(), value.to_owned())),
    }
    join(&pairs, default_key)
}

fn join(pairs: &[(String, String)], default_key: Option<&str>) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            if Some(k.as_str()) == default_key {
                v.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A boolean in a property string (`ro=1`, `nesting=yes`).
pub fn flag(s: &str, default_key: Option<&str>, key: &str) -> bool {
    get(s, default_key, key).and_then(|v| crate::pct::args::parse_bool(&v)) == Some("1")
}

/// What a rootfs/mpN volume is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A storage volume.
    Volume(crate::storage::VolId),
    /// A host directory or file (`/srv/share`).
    Bind(String),
    /// A host device (`/dev/…`).
    Device(String),
}

impl MountKind {
    /// Classifies a volume string as Proxmox does (§2).
    pub fn of(volume: &str) -> Option<Self> {
        if volume.starts_with("/dev/") {
            Some(Self::Device(volume.to_owned()))
        } else if volume.starts_with('/') {
            Some(Self::Bind(volume.to_owned()))
        } else {
            crate::storage::VolId::parse(volume).map(Self::Volume)
        }
    }

    /// `bind`, `device` or `volume`, as clone's message names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Volume(_) => "volume",
            Self::Bind(_) => "bind",
            Self::Device(_) => "device",
        }
    }
}

/// Canonical MAC generation: Proxmox's default prefix `BC:24:11`, then three random bytes.
pub fn random_hwaddr() -> String {
    let mut b = [0u8; 3];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut b);
    }
    format!("BC:24:11:{:02X}:{:02X}:{:02X}", b[0], b[1], b[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_and_edits() {
        let s = "local-zfs:subvol-100-disk-0,size=8G";
        assert_eq!(
            get(s, Some("volume"), "volume").as_deref(),
            Some("local-zfs:subvol-100-disk-0")
        );
        assert_eq!(
            with(s, Some("volume"), "volume", "local-zfs:base-100-disk-0"),
            "local-zfs:base-100-disk-0,size=8G"
        );
        assert_eq!(
            with("name=eth0,bridge=vmbr0", None, "hwaddr", "X"),
            "name=eth0,bridge=vmbr0,hwaddr=X"
        );
        assert!(flag("/srv,mp=/data,ro=1", Some("volume"), "ro"));
        assert!(!flag("nesting=0", None, "nesting"));
    }

    #[test]
    fn mount_kinds() {
        assert_eq!(MountKind::of("/srv/x").unwrap().type_name(), "bind");
        assert_eq!(MountKind::of("/dev/sdb").unwrap().type_name(), "device");
        assert_eq!(
            MountKind::of("local:100/vm-100-disk-0.raw")
                .unwrap()
                .type_name(),
            "volume"
        );
        assert!(MountKind::of("garbage").is_none());
        let mac = random_hwaddr();
        assert!(mac.starts_with("BC:24:11:") && mac.len() == 17);
    }
}
