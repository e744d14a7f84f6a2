//! `features`: optional container capabilities. Proxmox stores the value verbatim.

use std::fmt;
use std::str::FromStr;

use super::{Format, PropError, flag, print};

/// The `features` value. Every flag defaults to off.
///
/// ```
/// use phoenix_pveconf::props::Features;
///
/// let f: Features = "nesting=1,keyctl=1,mount=nfs;cifs".parse().unwrap();
/// assert_eq!(f.nesting, Some(true));
/// assert_eq!(f.mount, ["nfs", "cifs"]);
/// assert_eq!(f.to_string(), "keyctl=1,mount=nfs;cifs,nesting=1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    /// Allow nested containers (and AppArmor nesting).
    pub nesting: Option<bool>,
    /// Allow the keyctl() system call (only has an effect on unprivileged containers).
    pub keyctl: Option<bool>,
    /// Allow FUSE mounts.
    pub fuse: Option<bool>,
    /// Allow mknod() of some device nodes (kernel 5.3 or later).
    pub mknod: Option<bool>,
    /// Mount /sys read-write in an unprivileged container.
    pub force_rw_sys: Option<bool>,
    /// File system types the container may mount (`mount=nfs;cifs`).
    pub mount: Vec<String>,
}

const FORMAT: Format = Format {
    default_key: None,
    keys: &[
        ("nesting", true),
        ("keyctl", true),
        ("fuse", true),
        ("mknod", true),
        ("force_rw_sys", true),
        ("mount", false),
    ],
};

impl FromStr for Features {
    type Err = PropError;

    fn from_str(s: &str) -> Result<Self, PropError> {
        let mut items = FORMAT.parse(s)?;
        Ok(Features {
            nesting: items.bool("nesting"),
            keyctl: items.bool("keyctl"),
            fuse: items.bool("fuse"),
            mknod: items.bool("mknod"),
            force_rw_sys: items.bool("force_rw_sys"),
            mount: items
                .take("mount")
                .map(|m| {
                    m.split(';')
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

impl fmt::Display for Features {
    /// Keys sorted, booleans as `1`/`0`; unset flags are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        let mut add = |k, v: Option<bool>| items.extend(v.map(|v| (k, flag(v))));
        add("nesting", self.nesting);
        add("keyctl", self.keyctl);
        add("fuse", self.fuse);
        add("mknod", self.mknod);
        add("force_rw_sys", self.force_rw_sys);
        if !self.mount.is_empty() {
            items.push(("mount", self.mount.join(";")));
        }
        f.write_str(&print(None, &[], items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_flags() {
        let f: Features = "force_rw_sys=on,fuse=0,mknod=yes".parse().unwrap();
        assert_eq!(f.force_rw_sys, Some(true));
        assert_eq!(f.fuse, Some(false));
        assert_eq!(f.nesting, None);
        assert_eq!(f.to_string(), "force_rw_sys=1,fuse=0,mknod=1");
        assert_eq!(Features::default().to_string(), "");
    }

    #[test]
    fn errors() {
        let err = |s: &str| s.parse::<Features>().unwrap_err().to_string();
        assert_eq!(
            err("nesting=2"),
            "nesting: type check ('boolean') failed - got '2'"
        );
        assert_eq!(
            err("nesting"),
            "value without key, but schema does not define a default key"
        );
        assert_eq!(
            err("apparmor=1"),
            "invalid key in comma-separated list property: apparmor"
        );
    }
}
