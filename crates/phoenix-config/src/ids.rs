//! Guest ids: one id space for LXC containers and VMs, as in Proxmox.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::value::InvalidValue;

/// A Proxmox guest id (container or VM), `100..=999999999`.
///
/// The bash-era files write ids as strings (`"clone_from_ctid": "900"`, map keys) and
/// sometimes as integers (`"vmid": 8000`); both deserialize. It serializes as an integer.
///
/// ```
/// use phoenix_config::Ctid;
/// let id: Ctid = "900".parse().unwrap();
/// assert_eq!(id.get(), 900);
/// assert!("99".parse::<Ctid>().is_err());
/// assert_eq!(serde_json::from_str::<Ctid>("\"901\"").unwrap().get(), 901);
/// assert_eq!(serde_json::from_str::<Ctid>("902").unwrap().get(), 902);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ctid(u32);

/// VM ids share the container id space.
pub type Vmid = Ctid;

impl Ctid {
    /// The smallest id Proxmox allows.
    pub const MIN: u32 = 100;
    /// The largest id Proxmox allows.
    pub const MAX: u32 = 999_999_999;
    /// The pattern of the string form (exactly the decimal numbers `100..=999999999`).
    pub const STRING_PATTERN: &'static str = "^[1-9][0-9]{2,8}$";

    /// Checks the range.
    pub fn new(id: u64) -> Result<Self, InvalidValue> {
        if (u64::from(Self::MIN)..=u64::from(Self::MAX)).contains(&id) {
            Ok(Ctid(id as u32))
        } else {
            Err(InvalidValue::new(
                "guest id",
                id,
                "must be in 100..=999999999",
            ))
        }
    }

    /// The id as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for Ctid {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits || s.starts_with('0') {
            return Err(InvalidValue::new(
                "guest id",
                s,
                "must be a decimal number in 100..=999999999",
            ));
        }
        Ctid::new(s.parse::<u64>().expect("checked digits"))
    }
}

impl fmt::Display for Ctid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for Ctid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Ctid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Ctid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a guest id (integer or decimal string) in 100..=999999999")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Ctid, E> {
                Ctid::new(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Ctid, E> {
                Ctid::new(u64::try_from(v).unwrap_or(0)).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Ctid, E> {
                // JSON Schema counts 900.0 as an integer; accept it the same way.
                if v.fract() == 0.0 && v >= 0.0 && v <= f64::from(u32::MAX) {
                    Ctid::new(v as u64).map_err(E::custom)
                } else {
                    Err(E::custom(InvalidValue::new(
                        "guest id",
                        v,
                        "must be a whole number",
                    )))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Ctid, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for Ctid {
    fn schema_name() -> Cow<'static, str> {
        "Ctid".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Proxmox guest id (container or VM) in 100..=999999999, as an integer or a decimal string.",
            "type": ["integer", "string"],
            "minimum": Ctid::MIN,
            "maximum": Ctid::MAX,
            "pattern": Ctid::STRING_PATTERN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_checked() {
        assert_eq!(Ctid::new(100).unwrap().get(), 100);
        assert_eq!(Ctid::new(999_999_999).unwrap().get(), 999_999_999);
        assert_eq!(
            Ctid::new(99).unwrap_err().to_string(),
            "invalid guest id \"99\": must be in 100..=999999999"
        );
        assert!(Ctid::new(1_000_000_000).is_err());
    }

    #[test]
    fn string_form() {
        assert_eq!("900".parse::<Ctid>().unwrap().get(), 900);
        assert_eq!(
            "0900".parse::<Ctid>().unwrap_err().to_string(),
            "invalid guest id \"0900\": must be a decimal number in 100..=999999999"
        );
        assert!("9x0".parse::<Ctid>().is_err());
        assert!("".parse::<Ctid>().is_err());
        assert!("99999999999".parse::<Ctid>().is_err());
    }

    #[test]
    fn map_keys_deserialize() {
        let m: std::collections::BTreeMap<Ctid, u8> =
            serde_json::from_str(r#"{"901": 1}"#).unwrap();
        assert_eq!(m.keys().next().unwrap().get(), 901);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"901":1}"#);
        assert_eq!(serde_json::from_str::<Ctid>("900.0").unwrap().get(), 900);
        assert_eq!(
            serde_json::from_str::<Ctid>("900.5")
                .unwrap_err()
                .to_string(),
            "invalid guest id \"900.5\": must be a whole number at line 1 column 5"
        );
    }
}
