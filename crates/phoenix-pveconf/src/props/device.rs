//! `devN` (PVE 8.1 and later): a host device passed through to the container.
//!
//! The format is pve-container's `$dev_desc` (`PVE/LXC/Config.pm`): `path` (the default
//! key, so it may be given bare) must start with `/dev/` and hold no `/./` or `/../`
//! (`verify_lxc_dev_string`); `mode` matches `0[0-7]{3}`; `uid` and `gid` are integers of
//! at least 0; `deny-write` is a boolean.

use std::fmt;
use std::str::FromStr;

use super::{Format, PropError, PropValueError, flag, int_in, print};

/// A `devN` value.
///
/// ```
/// use phoenix_pveconf::props::Device;
///
/// let d: Device = "/dev/ttyUSB0,mode=0660,gid=20".parse().unwrap();
/// assert_eq!(d.path, "/dev/ttyUSB0");
/// assert_eq!(d.mode, Some(0o660));
/// assert_eq!(d.to_string(), "/dev/ttyUSB0,gid=20,mode=0660");
/// assert!("/tmp/x".parse::<Device>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device node on the host, also its path inside the container.
    pub path: String,
    /// The node's access mode inside the container (`0660` when unset).
    pub mode: Option<u32>,
    /// The node's owner inside the container (0 when unset).
    pub uid: Option<u32>,
    /// The node's group inside the container (0 when unset).
    pub gid: Option<u32>,
    /// Deny the container writing to the device.
    pub deny_write: Option<bool>,
}

const FORMAT: Format = Format {
    default_key: Some("path"),
    keys: &[
        ("path", false),
        ("mode", false),
        ("uid", false),
        ("gid", false),
        ("deny-write", true),
    ],
};

/// `verify_lxc_dev_string`: under `/dev/`, no `.` or `..` component.
fn dev_path(p: &str) -> Result<String, PropValueError> {
    let dots = p.split('/').any(|c| c == "." || c == "..");
    if dots || !p.starts_with("/dev/") {
        return Err(PropValueError::DevicePath(p.to_owned()));
    }
    Ok(p.to_owned())
}

/// `0[0-7]{3}`.
fn mode(m: &str) -> Result<u32, PropValueError> {
    let ok = m.len() == 4 && m.starts_with('0') && m.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if !ok {
        return Err(PropValueError::Pattern(m.to_owned()));
    }
    u32::from_str_radix(m, 8).map_err(|_| PropValueError::Pattern(m.to_owned()))
}

impl FromStr for Device {
    type Err = PropError;

    fn from_str(s: &str) -> Result<Self, PropError> {
        let mut items = FORMAT.parse(s)?;
        Ok(Device {
            // parse_device: "Path has to be defined"
            path: items
                .parsed("path", dev_path)?
                .ok_or(PropError::Missing("path"))?,
            mode: items.parsed("mode", mode)?,
            uid: items.parsed("uid", |v| int_in(v, 0, u32::MAX as u64))?,
            gid: items.parsed("gid", |v| int_in(v, 0, u32::MAX as u64))?,
            deny_write: items.bool("deny-write"),
        })
    }
}

impl fmt::Display for Device {
    /// `path` bare, then the rest sorted (pve-common `print_property_string`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = vec![("path", self.path.clone())];
        items.extend(self.deny_write.map(|d| ("deny-write", flag(d))));
        items.extend(self.gid.map(|g| ("gid", g.to_string())));
        items.extend(self.mode.map(|m| ("mode", format!("{m:04o}"))));
        items.extend(self.uid.map(|u| ("uid", u.to_string())));
        f.write_str(&print(Some("path"), &[], items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips_in_proxmox_order() {
        let d: Device = "mode=0600,deny-write=yes,uid=1000,path=/dev/dri/renderD128,gid=44"
            .parse()
            .unwrap();
        assert_eq!(
            d,
            Device {
                path: "/dev/dri/renderD128".into(),
                mode: Some(0o600),
                uid: Some(1000),
                gid: Some(44),
                deny_write: Some(true),
            }
        );
        assert_eq!(
            d.to_string(),
            "/dev/dri/renderD128,deny-write=1,gid=44,mode=0600,uid=1000"
        );
        assert_eq!(d.to_string().parse::<Device>().unwrap(), d);
    }

    #[test]
    fn proxmox_refuses_what_verify_lxc_dev_string_and_the_schema_refuse() {
        let err = |s: &str| s.parse::<Device>().unwrap_err().to_string();
        assert_eq!(err("/tmp/x"), "path: /tmp/x is not a valid device path");
        assert_eq!(
            err("/dev/../etc/passwd"),
            "path: /dev/../etc/passwd is not a valid device path"
        );
        assert_eq!(
            err("/dev/./null"),
            "path: /dev/./null is not a valid device path"
        );
        assert_eq!(
            err("/dev/null,mode=660"),
            "mode: value '660' does not match the regex pattern"
        );
        assert_eq!(
            err("/dev/null,mode=0800"),
            "mode: value '0800' does not match the regex pattern"
        );
        assert_eq!(
            err("/dev/null,uid=-1"),
            "uid: type check ('integer') failed - got '-1'"
        );
        assert_eq!(
            err("mode=0600"),
            "path: property is missing and it is not optional"
        );
        assert_eq!(
            err("/dev/null,bogus=1"),
            "invalid key in comma-separated list property: bogus"
        );
    }
}
