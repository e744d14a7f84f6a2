//! Snapshot names (`[snapshot-name]` sections in a guest conf, `pct snapshot <name>`).

use std::fmt;
use std::str::FromStr;

/// A snapshot name: `[a-z][a-z0-9_-]+`, 2 to 40 characters, and not one of the
/// names Proxmox reserves (`current`, `vzdump`).
///
/// ```
/// use phoenix_pveconf::SnapshotName;
/// let name: SnapshotName = "before-upgrade".parse().unwrap();
/// assert_eq!(name.as_str(), "before-upgrade");
/// assert!("current".parse::<SnapshotName>().is_err());
/// assert!("1st".parse::<SnapshotName>().is_err());
/// assert_eq!(serde_json::to_string(&name).unwrap(), "\"before-upgrade\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotName(String);

/// Why a snapshot name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotNameError {
    /// More than 40 characters.
    #[error(
        "invalid snapshot name '{0}' - use 2 to 40 characters a-z, 0-9, '_' or '-', starting with a letter"
    )]
    TooLong(String),
    /// Fewer than 2 characters.
    #[error(
        "invalid snapshot name '{0}' - use 2 to 40 characters a-z, 0-9, '_' or '-', starting with a letter"
    )]
    TooShort(String),
    /// Not `[a-z][a-z0-9_-]+`.
    #[error(
        "invalid snapshot name '{0}' - use 2 to 40 characters a-z, 0-9, '_' or '-', starting with a letter"
    )]
    Invalid(String),
    /// `current` or `vzdump`.
    #[error("unable to use snapshot name '{0}' (reserved name)")]
    Reserved(String),
}

impl SnapshotName {
    /// The pattern a snapshot name matches (also in the JSON Schema of the config files;
    /// the length and the reserved names are checked apart).
    pub const PATTERN: &'static str = "^[a-z][a-z0-9_-]+$";
    /// The longest name Proxmox accepts.
    pub const MAX_LEN: usize = 40;
    /// The shortest name Proxmox accepts.
    pub const MIN_LEN: usize = 2;
    /// Names Proxmox keeps for itself.
    pub const RESERVED: [&'static str; 2] = ["current", "vzdump"];

    /// The name as pct takes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SnapshotName {
    type Err = SnapshotNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let len = s.chars().count();
        if len > Self::MAX_LEN {
            return Err(SnapshotNameError::TooLong(s.to_owned()));
        }
        if len < Self::MIN_LEN {
            return Err(SnapshotNameError::TooShort(s.to_owned()));
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !first_ok || !rest_ok {
            return Err(SnapshotNameError::Invalid(s.to_owned()));
        }
        if Self::RESERVED.contains(&s) {
            return Err(SnapshotNameError::Reserved(s.to_owned()));
        }
        Ok(SnapshotName(s.to_owned()))
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for SnapshotName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SnapshotName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SnapshotName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SnapshotName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": SnapshotName::PATTERN,
            "maxLength": SnapshotName::MAX_LEN,
            "minLength": SnapshotName::MIN_LEN,
            "not": { "enum": SnapshotName::RESERVED },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names() {
        for ok in ["s1", "before-upgrade", "a_b", &"a".repeat(40)] {
            assert!(ok.parse::<SnapshotName>().is_ok(), "{ok}");
        }
        for bad in ["S1", "1s", "a b", "a.b"] {
            assert!(
                matches!(
                    bad.parse::<SnapshotName>(),
                    Err(SnapshotNameError::Invalid(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            "s".parse::<SnapshotName>(),
            Err(SnapshotNameError::TooShort(_))
        ));
        assert!(matches!(
            "".parse::<SnapshotName>(),
            Err(SnapshotNameError::TooShort(_))
        ));
        assert!(matches!(
            "a".repeat(41).parse::<SnapshotName>(),
            Err(SnapshotNameError::TooLong(_))
        ));
        assert_eq!(
            "A".parse::<SnapshotName>().unwrap_err().to_string(),
            "invalid snapshot name 'A' - use 2 to 40 characters a-z, 0-9, '_' or '-', starting with a letter"
        );
        assert_eq!(
            "vzdump".parse::<SnapshotName>().unwrap_err().to_string(),
            "unable to use snapshot name 'vzdump' (reserved name)"
        );
        assert_eq!("s1".parse::<SnapshotName>().unwrap().to_string(), "s1");
    }

    #[test]
    fn serde_goes_through_from_str() {
        assert!(serde_json::from_str::<SnapshotName>("\"current\"").is_err());
        let n: SnapshotName = serde_json::from_str("\"final-form\"").unwrap();
        assert_eq!(n.as_str(), "final-form");
    }
}
