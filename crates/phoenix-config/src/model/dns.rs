//! Two value shapes the old files write loosely: DNS server lists (a JSON array, or
//! the bash era's one string of addresses separated by spaces or commas) and the
//! MAC address `""` (let Proxmox choose one).
//!
//! ```
//! use phoenix_config::model::dns::NameserverList;
//! let a: NameserverList = serde_json::from_str(r#""10.0.0.13 8.8.8.8""#).unwrap();
//! let b: NameserverList = serde_json::from_str(r#"["10.0.0.13", "8.8.8.8"]"#).unwrap();
//! assert_eq!(a, b);
//! assert_eq!(serde_json::to_string(&a).unwrap(), r#"["10.0.0.13","8.8.8.8"]"#);
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};

use crate::net::{Ipv4, MacAddr};

/// DNS servers, in order. Reads an array of addresses or one string of addresses
/// separated by spaces or commas; writes the array.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct NameserverList(pub Vec<Ipv4>);

impl NameserverList {
    /// The pattern of the string form.
    pub const TEXT_PATTERN: &'static str = r"^[0-9.]+([ ,]+[0-9.]+)*$";

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The addresses.
    pub fn addresses(&self) -> &[Ipv4] {
        &self.0
    }

    /// Why `text` is not a string of DNS servers (for the schema pass's messages).
    pub(crate) fn explain_text(text: &str) -> Option<crate::value::InvalidValue> {
        let words: Vec<&str> = text.split([' ', ',']).filter(|s| !s.is_empty()).collect();
        if words.is_empty() {
            return Some(crate::value::InvalidValue::new(
                "nameserver list",
                text,
                "expected IPv4 addresses separated by spaces, like 10.0.0.13 8.8.8.8",
            ));
        }
        words.iter().find_map(|w| w.parse::<Ipv4>().err())
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListForm<'a> {
    List(Vec<Ipv4>),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

impl<'de> Deserialize<'de> for NameserverList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match ListForm::deserialize(d)? {
            ListForm::List(v) => Ok(NameserverList(v)),
            ListForm::Text(t) => t
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(serde::de::Error::custom))
                .collect::<Result<_, _>>()
                .map(NameserverList),
        }
    }
}

impl schemars::JsonSchema for NameserverList {
    fn schema_name() -> Cow<'static, str> {
        "NameserverList".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<Ipv4>();
        schemars::json_schema!({
            "description": "DNS servers: an array of IPv4 addresses, or (bash era) one string of addresses separated by spaces or commas.",
            "anyOf": [
                { "type": "array", "items": item },
                { "type": "string", "pattern": Self::TEXT_PATTERN }
            ]
        })
    }
}

/// The JSON Schema of `mac_address`: a unicast MAC, or `""` for "let Proxmox choose".
/// One pattern (not an `anyOf`), so a malformed MAC gets [`MacAddr`]'s precise reason.
pub(crate) struct MacOrEmpty;

impl MacOrEmpty {
    /// `""` or [`MacAddr::PATTERN`].
    pub const PATTERN: &'static str = "^$|^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$";
}

impl schemars::JsonSchema for MacOrEmpty {
    fn schema_name() -> Cow<'static, str> {
        "MacOrEmpty".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A unicast MAC address, or \"\" to let Proxmox choose one (as if absent).",
            "type": "string",
            "pattern": Self::PATTERN
        })
    }
}

/// Reads `mac_address`: `""` is no address (Proxmox generates one, phoenix writes
/// no `hwaddr`), anything else must be a unicast MAC.
pub(crate) fn mac_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MacAddr>, D::Error> {
    let s = Option::<Cow<'de, str>>::deserialize(d)?;
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct M {
        #[serde(default, deserialize_with = "mac_or_empty")]
        mac: Option<MacAddr>,
    }

    #[test]
    fn empty_mac_is_none() {
        let m: M = serde_json::from_str(r#"{"mac": ""}"#).unwrap();
        assert!(m.mac.is_none());
        let m: M = serde_json::from_str(r#"{}"#).unwrap();
        assert!(m.mac.is_none());
        let m: M = serde_json::from_str(r#"{"mac": "52:54:00:12:34:56"}"#).unwrap();
        assert_eq!(m.mac.unwrap().as_str(), "52:54:00:12:34:56");
        assert!(serde_json::from_str::<M>(r#"{"mac": "01:00:5e:00:00:01"}"#).is_err());
    }

    #[test]
    fn mac_or_empty_pattern_is_the_mac_pattern() {
        assert_eq!(MacOrEmpty::PATTERN, format!("^$|{}", MacAddr::PATTERN));
    }

    #[test]
    fn nameserver_forms() {
        let a: NameserverList = serde_json::from_str(r#""8.8.8.8""#).unwrap();
        assert_eq!(a.addresses().len(), 1);
        let b: NameserverList = serde_json::from_str(r#""1.1.1.1,8.8.8.8""#).unwrap();
        assert_eq!(b.addresses().len(), 2);
        assert!(serde_json::from_str::<NameserverList>(r#""dns.example""#).is_err());
    }
}
