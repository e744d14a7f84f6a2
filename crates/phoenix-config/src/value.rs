//! The error every config newtype returns, and the macro that builds the
//! pattern-checked string newtypes.
//!
//! Each newtype has one regular expression (`PATTERN`) that is used twice: by its
//! `FromStr` and in the generated JSON Schema, so an editor and `phoenix validate`
//! agree on what is valid. When the schema pass finds a value that does not match a
//! pattern, it asks the newtype why ([`explain`]) to print a precise reason.

use std::fmt;

/// A value that does not fit its type: `invalid hostname "web_1": value does not look
/// like a valid DNS name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} \"{value}\": {reason}")]
pub struct InvalidValue {
    /// What the value should have been (`hostname`, `MAC address`, ...).
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl InvalidValue {
    /// Builds the error.
    pub fn new(what: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> Self {
        InvalidValue {
            what,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Builds a string newtype checked by one regular expression (plus an optional
/// extra check), with `FromStr`, `Display`, serde and schemars implementations.
macro_rules! string_newtype {
    (
        $(#[$meta:meta])*
        $name:ident {
            what: $what:literal,
            pattern: $pattern:expr,
            reason: $reason:expr,
            $(max_len: $max:literal,)?
            $(min_len: $min:literal,)?
            $(check: $check:expr,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The regular expression this type's values match (also in the schema).
            pub const PATTERN: &'static str = $pattern;

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            fn regex() -> &'static regex::Regex {
                static RE: std::sync::LazyLock<regex::Regex> =
                    std::sync::LazyLock::new(|| regex::Regex::new($pattern).expect("valid pattern"));
                &RE
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::value::InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let fail = |reason: String| $crate::value::InvalidValue::new($what, s, reason);
                $(
                    if s.chars().count() > $max {
                        return Err(fail(format!("longer than {} characters", $max)));
                    }
                )?
                $(
                    if s.chars().count() < $min {
                        return Err(fail(format!("shorter than {} characters", $min)));
                    }
                )?
                $(
                    let check: fn(&str) -> Result<(), String> = $check;
                    check(s).map_err(fail)?;
                )?
                if !Self::regex().is_match(s) {
                    return Err(fail(String::from($reason)));
                }
                Ok($name(s.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                #[allow(unused_mut)]
                let mut schema = schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                });
                $( schema.insert("maxLength".into(), $max.into()); )?
                $( schema.insert("minLength".into(), $min.into()); )?
                schema
            }
        }
    };
}

pub(crate) use string_newtype;

/// Explains why `value` does not match `pattern`, when `pattern` belongs to one of
/// the config newtypes. Used to turn a schema `pattern` error into a precise message.
pub fn explain(pattern: &str, value: &str) -> Option<InvalidValue> {
    use crate::model::apparmor::{AppArmorPath, FileAccess, FsType, ProfileName};
    use crate::names::*;
    use crate::net::{Ipv4, Ipv4Cidr, MacAddr};
    use std::str::FromStr;

    use crate::ids::Vmid;

    fn err<T: FromStr<Err = InvalidValue>>(value: &str) -> Option<InvalidValue> {
        T::from_str(value).err()
    }
    type Explain = fn(&str) -> Option<InvalidValue>;
    let explainers: &[(&str, Explain)] = &[
        (Vmid::PATTERN, crate::ids::explain),
        (Hostname::PATTERN, err::<Hostname>),
        (Bridge::PATTERN, err::<Bridge>),
        (InterfaceName::PATTERN, err::<InterfaceName>),
        (StorageId::PATTERN, err::<StorageId>),
        (SnapshotName::PATTERN, crate::names::explain_snapshot_name),
        (ScriptPath::PATTERN, err::<ScriptPath>),
        (AbsPath::PATTERN, err::<AbsPath>),
        (FileMode::PATTERN, err::<FileMode>),
        (OsTemplate::PATTERN, err::<OsTemplate>),
        (LxcOption::PATTERN, err::<LxcOption>),
        (PctOption::PATTERN, err::<PctOption>),
        (PortMapping::PATTERN, err::<PortMapping>),
        (GpuAssignment::PATTERN, err::<GpuAssignment>),
        (FeatureName::PATTERN, err::<FeatureName>),
        (TimeZone::PATTERN, err::<TimeZone>),
        (DatasetPath::PATTERN, err::<DatasetPath>),
        (HttpUrl::PATTERN, err::<HttpUrl>),
        (VersionString::PATTERN, err::<VersionString>),
        (Sha256Hex::PATTERN, err::<Sha256Hex>),
        (UrlPath::PATTERN, err::<UrlPath>),
        (PortList::PATTERN, err::<PortList>),
        (RuleComment::PATTERN, err::<RuleComment>),
        (EnvVarName::PATTERN, err::<EnvVarName>),
        (StackName::PATTERN, err::<StackName>),
        (Ipv4::PATTERN, err::<Ipv4>),
        (Ipv4Cidr::PATTERN, err::<Ipv4Cidr>),
        (MacAddr::PATTERN, crate::net::explain_mac),
        (
            crate::model::dns::MacOrEmpty::PATTERN,
            crate::net::explain_mac,
        ),
        (ApiUrl::PATTERN, err::<ApiUrl>),
        (LoginName::PATTERN, err::<LoginName>),
        (RemoteCommand::PATTERN, err::<RemoteCommand>),
        (
            api_pattern("TokenId"),
            explain_api::<phoenix_pveconf::api::TokenId>,
        ),
        (
            api_pattern("NodeName"),
            explain_api::<phoenix_pveconf::api::NodeName>,
        ),
        (
            api_pattern("Fingerprint"),
            explain_api::<phoenix_pveconf::api::Fingerprint>,
        ),
        (ProfileName::PATTERN, err::<ProfileName>),
        (AppArmorPath::PATTERN, err::<AppArmorPath>),
        (FileAccess::PATTERN, err::<FileAccess>),
        (FsType::PATTERN, err::<FsType>),
    ];
    if pattern == crate::model::dns::NameserverList::TEXT_PATTERN {
        return crate::model::dns::NameserverList::explain_text(value);
    }
    explainers
        .iter()
        .find(|(p, _)| *p == pattern)
        .and_then(|(_, f)| f(value))
}

/// The schema pattern of one of `phoenix_pveconf::api`'s names (their schemas live there).
fn api_pattern(name: &str) -> &'static str {
    use std::sync::LazyLock;
    static PATTERNS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
        fn pattern<T: schemars::JsonSchema>() -> &'static str {
            let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
            let p = schema
                .get("pattern")
                .and_then(|p| p.as_str())
                .expect("an api name has a pattern");
            Box::leak(p.to_owned().into_boxed_str())
        }
        vec![
            ("TokenId", pattern::<phoenix_pveconf::api::TokenId>()),
            ("NodeName", pattern::<phoenix_pveconf::api::NodeName>()),
            (
                "Fingerprint",
                pattern::<phoenix_pveconf::api::Fingerprint>(),
            ),
        ]
    });
    PATTERNS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .expect("a known api name")
}

/// Why `value` is not a token id, node name or fingerprint, in `phoenix validate`'s words.
fn explain_api<T>(value: &str) -> Option<InvalidValue>
where
    T: std::str::FromStr<Err = phoenix_pveconf::api::ApiNameError>,
{
    use phoenix_pveconf::api::ApiNameError as E;
    let (what, reason) = match T::from_str(value).err()? {
        E::TokenId(_) => (
            "API token id",
            "expected USER@REALM!TOKENID, like phoenix@pve!converge",
        ),
        E::Node(_) => (
            "node name",
            "a node name is letters, digits and '-' (a host name label, at most 63 characters)",
        ),
        E::Fingerprint(_) => (
            "certificate fingerprint",
            "expected the SHA-256 fingerprint as 32 hex bytes (AB:CD:...)",
        ),
    };
    Some(InvalidValue::new(what, value, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_value_display() {
        let e = InvalidValue::new(
            "hostname",
            "web_1",
            "value does not look like a valid DNS name",
        );
        assert_eq!(
            e.to_string(),
            "invalid hostname \"web_1\": value does not look like a valid DNS name"
        );
    }

    #[test]
    fn explain_names_the_newtype_reason() {
        let e = explain(crate::names::Hostname::PATTERN, "web_1").unwrap();
        assert_eq!(e.what, "hostname");
        assert!(explain("^nothing-we-know$", "x").is_none());
    }
}
