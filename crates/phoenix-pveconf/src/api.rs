//! Names the PVE REST API uses that phoenix's config names too: API token ids
//! (`USER@REALM!TOKENID`), node names, and TLS certificate fingerprints (Proxmox nodes
//! use self-signed certificates, so a client pins the SHA-256 fingerprint the GUI shows).

use std::fmt;
use std::str::FromStr;

/// Why a token id, node name or fingerprint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiNameError {
    /// Not `USER@REALM!TOKENID`.
    #[error("invalid API token id '{0}' - expected USER@REALM!TOKENID (like phoenix@pve!converge)")]
    TokenId(String),
    /// Not a node name.
    #[error(
        "invalid node name '{0}' - use letters, digits and '-' (a host name label, at most 63 characters)"
    )]
    Node(String),
    /// Not 32 hex bytes.
    #[error(
        "invalid certificate fingerprint '{0}' - expected the SHA-256 fingerprint as 32 hex bytes (AB:CD:...)"
    )]
    Fingerprint(String),
}

fn realm_or_token_ok(s: &str) -> bool {
    // Proxmox: `[A-Za-z][A-Za-z\d\.\-_]+`.
    let mut c = s.chars();
    s.len() >= 2
        && c.next().is_some_and(|c| c.is_ascii_alphabetic())
        && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// An API token id: `USER@REALM!TOKENID`, the part before `=` in
/// `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`.
///
/// ```
/// use phoenix_pveconf::api::TokenId;
/// let t: TokenId = "phoenix@pve!converge".parse().unwrap();
/// assert_eq!((t.user(), t.realm(), t.name()), ("phoenix", "pve", "converge"));
/// assert_eq!(t.userid(), "phoenix@pve");
/// assert!("root@pam".parse::<TokenId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId {
    full: String,
    at: usize,
    bang: usize,
}

impl TokenId {
    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.full
    }
    /// The user name (before `@`).
    pub fn user(&self) -> &str {
        &self.full[..self.at]
    }
    /// The realm (`pam`, `pve`, ...).
    pub fn realm(&self) -> &str {
        &self.full[self.at + 1..self.bang]
    }
    /// The token's own name (after `!`).
    pub fn name(&self) -> &str {
        &self.full[self.bang + 1..]
    }
    /// `USER@REALM`, the user the token belongs to.
    pub fn userid(&self) -> &str {
        &self.full[..self.bang]
    }
}

impl FromStr for TokenId {
    type Err = ApiNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ApiNameError::TokenId(s.to_owned());
        let bang = s.rfind('!').ok_or_else(bad)?;
        let at = s[..bang].rfind('@').ok_or_else(bad)?;
        let user = &s[..at];
        let user_ok = !user.is_empty()
            && user.len() <= 60
            && user
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, ':' | '/' | '='));
        if !user_ok
            || !realm_or_token_ok(&s[at + 1..bang])
            || !realm_or_token_ok(&s[bang + 1..])
            || s.len() > 128
        {
            return Err(bad());
        }
        Ok(TokenId {
            full: s.to_owned(),
            at,
            bang,
        })
    }
}

/// A cluster node's name (a host name label, as `pvecm` requires).
///
/// ```
/// use phoenix_pveconf::api::NodeName;
/// assert_eq!("pve1".parse::<NodeName>().unwrap().as_str(), "pve1");
/// assert!("pve 1".parse::<NodeName>().is_err());
/// assert!("-pve".parse::<NodeName>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeName(String);

impl NodeName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeName {
    type Err = ApiNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(NodeName(s.to_owned()))
        } else {
            Err(ApiNameError::Node(s.to_owned()))
        }
    }
}

/// The SHA-256 fingerprint of a TLS certificate (of its DER encoding), shown as
/// `AB:CD:...`; parsed from upper or lower case hex, with or without colons.
///
/// ```
/// use phoenix_pveconf::api::Fingerprint;
/// let hex = "ab".repeat(32);
/// let f: Fingerprint = hex.parse().unwrap();
/// assert!(f.to_string().starts_with("AB:AB:"));
/// assert_eq!(f.to_string().parse::<Fingerprint>().unwrap(), f);
/// assert!("AB:CD".parse::<Fingerprint>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// From the 32 digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }
    /// The 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl FromStr for Fingerprint {
    type Err = ApiNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ApiNameError::Fingerprint(s.to_owned());
        let hex: Vec<u8> = s.bytes().filter(|b| *b != b':').collect();
        if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
        // With colons, they separate every byte.
        if s.contains(':') && (s.len() != 95 || s.split(':').any(|p| p.len() != 2)) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

macro_rules! string_serde {
    ($t:ty, $name:literal, $pattern:expr, $desc:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $desc,
                })
            }
        }
    };
}

string_serde!(
    TokenId,
    "TokenId",
    r"^[^\s:/=@!]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+$",
    "A PVE API token id: USER@REALM!TOKENID"
);
string_serde!(
    NodeName,
    "NodeName",
    "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
    "A Proxmox cluster node's name"
);

impl Fingerprint {
    fn as_str(&self) -> String {
        self.to_string()
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Fingerprint {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Fingerprint".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9A-Fa-f]{64}|([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$",
            "description": "The SHA-256 fingerprint of the node's TLS certificate (AB:CD:...)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids() {
        for ok in ["phoenix@pve!converge", "root@pam!ci", "a.b-c@pve!t_1"] {
            assert_eq!(ok.parse::<TokenId>().unwrap().as_str(), ok);
        }
        for bad in [
            "root@pam",
            "phoenix!x",
            "@pve!x",
            "a b@pve!x",
            "a@p!x",
            "a@pve!",
            "a@pve!1x",
            "a@pve!x=secret",
        ] {
            assert!(bad.parse::<TokenId>().is_err(), "{bad}");
        }
        assert_eq!(
            "root@pam".parse::<TokenId>().unwrap_err().to_string(),
            "invalid API token id 'root@pam' - expected USER@REALM!TOKENID (like phoenix@pve!converge)"
        );
        let t: TokenId = serde_json::from_str("\"u@pam!t1\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"u@pam!t1\"");
    }

    #[test]
    fn node_names() {
        for ok in ["pve1", "a", "node-7", &"a".repeat(63)] {
            assert!(ok.parse::<NodeName>().is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.b", "a_b", &"a".repeat(64)] {
            assert!(bad.parse::<NodeName>().is_err(), "{bad}");
        }
        assert_eq!(
            "a.b".parse::<NodeName>().unwrap_err().to_string(),
            "invalid node name 'a.b' - use letters, digits and '-' (a host name label, at most 63 characters)"
        );
    }

    #[test]
    fn fingerprints() {
        let colon = (0..32)
            .map(|i| format!("{i:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        let f: Fingerprint = colon.parse().unwrap();
        assert_eq!(f.as_bytes()[31], 31);
        assert_eq!(f.to_string(), colon.to_uppercase());
        assert_eq!(colon.replace(':', "").parse::<Fingerprint>().unwrap(), f);
        for bad in ["", "zz".repeat(32).as_str(), &"ab".repeat(31), "a:bab"] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
        let odd = format!("{}a:b", &colon[..colon.len() - 3]);
        assert!(odd.parse::<Fingerprint>().is_err());
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), f);
        assert_eq!(
            "x".parse::<Fingerprint>().unwrap_err().to_string(),
            "invalid certificate fingerprint 'x' - expected the SHA-256 fingerprint as 32 hex bytes (AB:CD:...)"
        );
    }
}
