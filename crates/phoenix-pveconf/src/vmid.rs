//! The Proxmox guest id (`VMID`/`CTID`), shared by containers and VMs.

use std::fmt;
use std::str::FromStr;

/// A Proxmox guest id: an integer from 100 to 999999999, unique across CTs and VMs.
///
/// Config files write ids as strings (`"clone_from_ctid": "900"`, map keys) and
/// sometimes as integers (`"vmid": 8000`); both deserialize. It serializes as an integer.
///
/// ```
/// use phoenix_pveconf::Vmid;
///
/// let id: Vmid = "105".parse().unwrap();
/// assert_eq!(id.get(), 105);
/// assert_eq!(id.to_string(), "105");
/// assert!("99".parse::<Vmid>().is_err());
/// assert!("0105".parse::<Vmid>().is_err());
/// assert_eq!(serde_json::from_str::<Vmid>("\"901\"").unwrap().get(), 901);
/// assert_eq!(serde_json::from_str::<Vmid>("902").unwrap().get(), 902);
/// assert_eq!(serde_json::to_string(&id).unwrap(), "105");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vmid(u32);

impl Vmid {
    /// The smallest id Proxmox accepts.
    pub const MIN: u32 = 100;
    /// The largest id Proxmox accepts.
    pub const MAX: u32 = 999_999_999;
    /// The pattern of the string form, Proxmox's `pve-vmid` (exactly the decimal numbers
    /// `100..=999999999`).
    pub const PATTERN: &'static str = "^[1-9][0-9]{2,8}$";

    /// Checks the range and wraps the id.
    pub fn new(id: u32) -> Result<Self, VmidError> {
        if (Self::MIN..=Self::MAX).contains(&id) {
            Ok(Self(id))
        } else {
            Err(VmidError::OutOfRange(id.to_string()))
        }
    }

    /// The id as an integer.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why a string or number is not a valid VMID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmidError {
    /// Not a plain decimal number (signs, spaces, leading zeros and other characters are refused).
    #[error("invalid vmid '{0}' - value does not look like a valid VM ID")]
    NotANumber(String),
    /// A number outside 100..=999999999.
    #[error("invalid vmid '{0}' - must be between 100 and 999999999")]
    OutOfRange(String),
}

impl FromStr for Vmid {
    type Err = VmidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Proxmox's `pve-vmid` format is `^[1-9][0-9]{2,8}$`: no leading zero, no sign.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
            return Err(VmidError::NotANumber(s.to_owned()));
        }
        match s.parse::<u32>() {
            Ok(id) => Vmid::new(id).map_err(|_| VmidError::OutOfRange(s.to_owned())),
            Err(_) => Err(VmidError::OutOfRange(s.to_owned())),
        }
    }
}

impl fmt::Display for Vmid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u32> for Vmid {
    type Error = VmidError;

    fn try_from(id: u32) -> Result<Self, Self::Error> {
        Vmid::new(id)
    }
}

impl From<Vmid> for u32 {
    fn from(id: Vmid) -> u32 {
        id.0
    }
}

impl serde::Serialize for Vmid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Vmid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Vmid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a guest id (integer or decimal string) in 100..=999999999")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Vmid, E> {
                u32::try_from(v)
                    .map_err(|_| VmidError::OutOfRange(v.to_string()))
                    .and_then(Vmid::new)
                    .map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Vmid, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(VmidError::OutOfRange(v.to_string()))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Vmid, E> {
                // JSON Schema counts 900.0 as an integer; accept it the same way.
                if v.fract() == 0.0 && v >= 0.0 && v <= f64::from(u32::MAX) {
                    self.visit_u64(v as u64)
                } else {
                    Err(E::custom(VmidError::NotANumber(v.to_string())))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vmid, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Vmid {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        // The name the committed config schemas have always used for guest ids.
        "Ctid".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Proxmox guest id (container or VM) in 100..=999999999, as an integer or a decimal string.",
            "type": ["integer", "string"],
            "minimum": Vmid::MIN,
            "maximum": Vmid::MAX,
            "pattern": Vmid::PATTERN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_proxmox_range() {
        assert_eq!("100".parse::<Vmid>().unwrap().get(), 100);
        assert_eq!("999999999".parse::<Vmid>().unwrap().get(), 999_999_999);
        assert_eq!(Vmid::new(4242).unwrap().to_string(), "4242");
    }

    #[test]
    fn refuses_outside_the_range() {
        for bad in ["99", "1000000000", "99999999999999999999"] {
            assert!(
                matches!(bad.parse::<Vmid>(), Err(VmidError::OutOfRange(_))),
                "{bad}"
            );
        }
        assert!(Vmid::new(0).is_err());
    }

    #[test]
    fn refuses_non_numbers() {
        for bad in ["", "abc", "+100", "-100", " 100", "0100", "1e3"] {
            assert!(
                matches!(bad.parse::<Vmid>(), Err(VmidError::NotANumber(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn serde_reads_integers_strings_and_map_keys() {
        let m: std::collections::BTreeMap<Vmid, u8> =
            serde_json::from_str(r#"{"901": 1}"#).unwrap();
        assert_eq!(m.keys().next().unwrap().get(), 901);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"901":1}"#);
        assert_eq!(serde_json::from_str::<Vmid>("900.0").unwrap().get(), 900);
        assert!(serde_json::from_str::<Vmid>("900.5").is_err());
        assert!(serde_json::from_str::<Vmid>("-5").is_err());
        assert!(serde_json::from_str::<Vmid>("99").is_err());
        assert!(serde_json::from_str::<Vmid>("4294967296").is_err());
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            "x1".parse::<Vmid>().unwrap_err().to_string(),
            "invalid vmid 'x1' - value does not look like a valid VM ID"
        );
        assert_eq!(
            "42".parse::<Vmid>().unwrap_err().to_string(),
            "invalid vmid '42' - must be between 100 and 999999999"
        );
    }
}
