//! Proxmox property strings (`k=v` pairs joined by commas) for `netN`, `rootfs`, `mpN`,
//! `devN`, `features` and `startup`, parsed into typed structs and printed back in Proxmox's order.
//!
//! Printing order (pve-common `print_property_string`): the default key first and bare, then
//! the required keys sorted, then the rest sorted. So a parsed value prints canonically:
//!
//! ```
//! use phoenix_pveconf::props::NetConfig;
//!
//! let net: NetConfig = "ip=10.0.0.5/24,bridge=vmbr0,name=eth0,firewall=yes".parse().unwrap();
//! assert_eq!(net.to_string(), "name=eth0,bridge=vmbr0,firewall=1,ip=10.0.0.5/24,type=veth");
//! ```

mod device;
mod features;
mod mount;
mod mount_idmap;
mod net;
mod size;
mod startup;

use std::collections::BTreeMap;

pub use device::Device;
pub use features::Features;
pub use mount::{MountKind, MountPoint, RootFs};
pub use mount_idmap::{MountIdmap, MountIdmapError};
pub use net::{CidrError, Ipv4Config, Ipv6Config, MacAddr, MacAddrError, NetConfig};
pub use size::{DiskSize, DiskSizeError};
pub use startup::Startup;

/// Why a property string could not be read. The texts are Proxmox's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropError {
    /// A key given twice (or the bare default value given twice).
    #[error("duplicate key in comma-separated list property: {0}")]
    DuplicateKey(String),
    /// A key the format does not have.
    #[error("invalid key in comma-separated list property: {0}")]
    InvalidKey(String),
    /// A bare value where the format has no default key.
    #[error("value without key, but schema does not define a default key")]
    NoDefaultKey,
    /// `key=` with nothing after it.
    #[error("missing value for key '{0}'")]
    MissingValue(String),
    /// A required key is absent.
    #[error("{0}: property is missing and it is not optional")]
    Missing(&'static str),
    /// A value of the wrong form.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong, with the value (quoted in the message, so not a `source`).
        reason: PropValueError,
    },
    /// `startup` is not `[order=]N,up=N,down=N` (Proxmox's message).
    #[error("unable to parse startup options")]
    Startup,
}

/// What is wrong with one value of a property string. The texts are Proxmox's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropValueError {
    /// Not one of Proxmox's boolean spellings.
    #[error("type check ('boolean') failed - got '{0}'")]
    NotBoolean(String),
    /// Not a decimal integer.
    #[error("type check ('integer') failed - got '{0}'")]
    NotInteger(String),
    /// Not a decimal number.
    #[error("type check ('number') failed - got '{0}'")]
    NotNumber(String),
    /// Below the key's minimum.
    #[error("value must have a minimum value of {0}")]
    Minimum(u64),
    /// Above the key's maximum.
    #[error("value must have a maximum value of {0}")]
    Maximum(u64),
    /// Not of the key's pattern.
    #[error("value '{0}' does not match the regex pattern")]
    Pattern(String),
    /// Not `\d+(;\d+)*` (VLAN trunks).
    #[error("value '{0}' does not match \\d+(;\\d+)*")]
    Trunks(String),
    /// Not one of the key's words.
    #[error("value '{value}' is not one of {}", .allowed.join(", "))]
    NotOneOf {
        /// The refused word.
        value: String,
        /// The accepted ones.
        allowed: &'static [&'static str],
    },
    /// Not in the key's enumeration (one word).
    #[error("value '{value}' does not have a value in the enumeration '{allowed}'")]
    Enumeration {
        /// The refused word.
        value: String,
        /// The accepted one.
        allowed: &'static str,
    },
    /// A path with `.` or `..` components.
    #[error("{key} '{value}' contains illegal character sequences")]
    IllegalSequence {
        /// `volume` or `mp`.
        key: &'static str,
        /// The path.
        value: String,
    },
    /// Not a path under `/dev/` without `.` or `..`.
    #[error("{0} is not a valid device path")]
    DevicePath(String),
    /// Not an address/prefix Proxmox accepts.
    #[error(transparent)]
    Cidr(#[from] crate::props::CidrError),
    /// Not a unicast MAC address.
    #[error(transparent)]
    Mac(#[from] crate::props::MacAddrError),
    /// Not an IP address.
    #[error(transparent)]
    Addr(#[from] std::net::AddrParseError),
    /// Not a disk size.
    #[error(transparent)]
    DiskSize(#[from] crate::props::DiskSizeError),
    /// Not a mount `idmap=`.
    #[error(transparent)]
    MountIdmap(#[from] crate::props::MountIdmapError),
}

/// The keys of one property-string format.
pub(crate) struct Format {
    /// The key a bare value belongs to.
    pub default_key: Option<&'static str>,
    /// Every key, each with whether it is a boolean.
    pub keys: &'static [(&'static str, bool)],
}

/// Parsed `k=v` pairs; values taken out one by one by the typed parsers.
pub(crate) struct Items(BTreeMap<&'static str, String>);

impl Format {
    /// pve-common `parse_property_string`: split on commas, skip blank parts, `k=v` or a bare
    /// value for the default key; booleans normalised to `1`/`0` when they are valid.
    pub fn parse(&self, s: &str) -> Result<Items, PropError> {
        let mut items = BTreeMap::new();
        for part in s.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            let (key, value) = match part.split_once('=') {
                Some(("", _)) => return Err(PropError::InvalidKey(part.into())),
                Some((k, "")) => return Err(PropError::MissingValue(k.to_owned())),
                Some((k, v)) => (k, v),
                None => match self.default_key {
                    Some(k) => (k, part),
                    None => return Err(PropError::NoDefaultKey),
                },
            };
            let Some(&(name, is_bool)) = self.keys.iter().find(|(n, _)| *n == key) else {
                return Err(PropError::InvalidKey(key.to_owned()));
            };
            if items.contains_key(name) {
                return Err(PropError::DuplicateKey(name.to_owned()));
            }
            let value = match crate::conf::parse_bool(value) {
                Some(b) if is_bool => if b { "1" } else { "0" }.to_owned(),
                _ if is_bool => {
                    return Err(PropError::Invalid {
                        key: name,
                        reason: PropValueError::NotBoolean(value.to_owned()),
                    });
                }
                _ => value.to_owned(),
            };
            items.insert(name, value);
        }
        Ok(Items(items))
    }
}

impl Items {
    /// Takes a raw value out.
    pub fn take(&mut self, key: &'static str) -> Option<String> {
        self.0.remove(key)
    }

    /// Takes a required value out.
    pub fn required(&mut self, key: &'static str) -> Result<String, PropError> {
        self.take(key).ok_or(PropError::Missing(key))
    }

    /// Takes a boolean out (already checked by [`Format::parse`]).
    pub fn bool(&mut self, key: &'static str) -> Option<bool> {
        self.take(key).map(|v| v == "1")
    }

    /// Takes a value out and parses it with `parse`, naming the key on failure.
    pub fn parsed<T, E: Into<PropValueError>>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, PropError> {
        self.take(key)
            .map(|v| {
                parse(&v).map_err(|e| PropError::Invalid {
                    key,
                    reason: e.into(),
                })
            })
            .transpose()
    }
}

/// An integer within a range, or the reason it is not.
pub(crate) fn int_in<T: TryFrom<u64>>(
    value: &str,
    min: u64,
    max: u64,
) -> Result<T, PropValueError> {
    let n: u64 = value
        .parse()
        .ok()
        .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| PropValueError::NotInteger(value.to_owned()))?;
    if n < min {
        return Err(PropValueError::Minimum(min));
    }
    if n > max {
        return Err(PropValueError::Maximum(max));
    }
    T::try_from(n).map_err(|_| PropValueError::Maximum(max))
}

/// A value matching `[-_.\w\d]+` (names, bridges).
pub(crate) fn word(value: &str) -> Result<String, PropValueError> {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(value.to_owned())
    } else {
        Err(PropValueError::Pattern(value.to_owned()))
    }
}

/// pve-common `print_property_string`: the default key bare, then required keys sorted, then
/// the rest sorted. `items` are `(key, value)` for the keys that are set.
pub(crate) fn print(
    default_key: Option<&str>,
    required: &[&str],
    mut items: Vec<(&'static str, String)>,
) -> String {
    items.sort_by(|a, b| a.0.cmp(b.0));
    let mut parts = Vec::with_capacity(items.len());
    if let Some(pos) = items.iter().position(|(k, _)| Some(*k) == default_key) {
        parts.push(items.remove(pos).1);
    }
    let (req, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(k, _)| required.contains(k));
    parts.extend(req.into_iter().chain(rest).map(|(k, v)| format!("{k}={v}")));
    parts.join(",")
}

/// A boolean as Proxmox prints it.
pub(crate) fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FMT: Format = Format {
        default_key: Some("volume"),
        keys: &[("volume", false), ("mp", false), ("ro", true)],
    };

    #[test]
    fn generic_errors_use_proxmox_texts() {
        let err = |s| FMT.parse(s).err().unwrap().to_string();
        assert_eq!(
            err("a,b"),
            "duplicate key in comma-separated list property: volume"
        );
        assert_eq!(
            err("a,mp=/x,mp=/y"),
            "duplicate key in comma-separated list property: mp"
        );
        assert_eq!(
            err("a,bogus=1"),
            "invalid key in comma-separated list property: bogus"
        );
        assert_eq!(
            err("a,=1"),
            "invalid key in comma-separated list property: =1"
        );
        assert_eq!(err("a,mp="), "missing value for key 'mp'");
        assert_eq!(
            err("a,ro=maybe"),
            "ro: type check ('boolean') failed - got 'maybe'"
        );
        let no_default = Format {
            default_key: None,
            keys: &[],
        };
        assert_eq!(
            no_default.parse("x").err().unwrap().to_string(),
            "value without key, but schema does not define a default key"
        );
        assert_eq!(
            PropError::Missing("mp").to_string(),
            "mp: property is missing and it is not optional"
        );
        assert_eq!(
            PropError::Startup.to_string(),
            "unable to parse startup options"
        );
    }

    #[test]
    fn blank_parts_are_skipped_and_booleans_normalised() {
        let mut items = FMT.parse(",a,, ,ro=YES,").unwrap();
        assert_eq!(items.take("volume").as_deref(), Some("a"));
        assert_eq!(items.bool("ro"), Some(true));
    }

    #[test]
    fn integer_ranges() {
        assert_eq!(int_in::<u16>("20", 1, 4094), Ok(20));
        let err = |v: &str| int_in::<u16>(v, 1, 4094).unwrap_err().to_string();
        assert_eq!(err("0"), "value must have a minimum value of 1");
        assert_eq!(err("5000"), "value must have a maximum value of 4094");
        assert_eq!(err("+1"), "type check ('integer') failed - got '+1'");
        for (e, text) in [
            (
                PropValueError::NotBoolean("maybe".into()),
                "type check ('boolean') failed - got 'maybe'",
            ),
            (
                PropValueError::Trunks("1;x".into()),
                "value '1;x' does not match \\d+(;\\d+)*",
            ),
            (
                PropValueError::IllegalSequence {
                    key: "mp",
                    value: "/a/../b".into(),
                },
                "mp '/a/../b' contains illegal character sequences",
            ),
            (
                PropValueError::DevicePath("/tmp/x".into()),
                "/tmp/x is not a valid device path",
            ),
            (
                PropValueError::Enumeration {
                    value: "tap".into(),
                    allowed: "veth",
                },
                "value 'tap' does not have a value in the enumeration 'veth'",
            ),
        ] {
            assert_eq!(e.to_string(), text);
        }
    }
}
