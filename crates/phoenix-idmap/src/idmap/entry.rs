//! One `lxc.idmap` entry: `u 0 100000 65536`.

use std::fmt;
use std::str::FromStr;

/// Which kind of id an entry maps: user ids (`u`) or group ids (`g`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    /// User ids, written `u`.
    Uid,
    /// Group ids, written `g`.
    Gid,
}

impl IdKind {
    /// Both kinds, in the order Proxmox checks them (`u`, then `g`).
    pub const ALL: [IdKind; 2] = [IdKind::Uid, IdKind::Gid];

    /// The letter used in `lxc.idmap` values: `u` or `g`.
    pub fn letter(self) -> char {
        match self {
            IdKind::Uid => 'u',
            IdKind::Gid => 'g',
        }
    }

    /// The name used in messages: `uid` or `gid`.
    pub fn id_name(self) -> &'static str {
        match self {
            IdKind::Uid => "uid",
            IdKind::Gid => "gid",
        }
    }
}

/// Written as its letter, `"u"` or `"g"`, as in `lxc.idmap` lines.
impl serde::Serialize for IdKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            IdKind::Uid => "u",
            IdKind::Gid => "g",
        })
    }
}

impl<'de> serde::Deserialize<'de> for IdKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        match &*s {
            "u" => Ok(IdKind::Uid),
            "g" => Ok(IdKind::Gid),
            other => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(other),
                &"\"u\" or \"g\"",
            )),
        }
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for IdKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        // The name the committed config schemas have always used.
        "IdMapKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "oneOf": [
                { "type": "string", "const": "u", "description": "User ids." },
                { "type": "string", "const": "g", "description": "Group ids." }
            ],
            "description": "Which ids an id map entry maps.",
        })
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// One line of a user-namespace map: container ids `ns_start..ns_start+count` are host
/// ids `host_start..host_start+count`.
///
/// Parsed with Proxmox's rule (`[ug] <ct> <host> <len>`, whitespace-separated
/// non-negative integers) and printed the way Proxmox prints it in messages.
///
/// ```
/// use phoenix_idmap::{IdKind, IdMapEntry};
/// let e: IdMapEntry = "u 0 100000 65536".parse().unwrap();
/// assert_eq!(e.kind, IdKind::Uid);
/// assert_eq!(e.host_id_of_container_id(1000), Some(101000));
/// assert_eq!(e.to_string(), "u 0 100000 65536");
/// assert!("x 0 1 2".parse::<IdMapEntry>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdMapEntry {
    /// User or group ids.
    pub kind: IdKind,
    /// First container (namespace) id of the range.
    pub ns_start: u32,
    /// First host id of the range.
    pub host_start: u32,
    /// Number of ids in the range (0 is allowed and maps nothing).
    pub count: u32,
}

/// An `lxc.idmap` value that does not match `[ug] <ct> <host> <len>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse idmap: {value}")]
pub struct ParseIdMapEntryError {
    /// The value as given.
    pub value: String,
}

/// The largest id plus one: ranges end at most here.
const ID_LIMIT: u64 = 1 << 32;

impl IdMapEntry {
    /// Builds an entry.
    pub fn new(kind: IdKind, ns_start: u32, host_start: u32, count: u32) -> Self {
        Self {
            kind,
            ns_start,
            host_start,
            count,
        }
    }

    /// One past the last container id (exclusive end). Computed in `u64`, so it never
    /// overflows; it exceeds `u32::MAX` when the range runs past the last id.
    pub fn container_end(&self) -> u64 {
        u64::from(self.ns_start) + u64::from(self.count)
    }

    /// One past the last host id (exclusive end), computed in `u64` like
    /// [`container_end`](Self::container_end).
    pub fn host_end(&self) -> u64 {
        u64::from(self.host_start) + u64::from(self.count)
    }

    /// The last container id of the range, or `None` when the range is empty or runs
    /// past `u32::MAX` (`ns_start + count` overflows).
    pub fn checked_container_last(&self) -> Option<u32> {
        self.ns_start.checked_add(self.count.checked_sub(1)?)
    }

    /// The last host id of the range, or `None` when the range is empty or runs past
    /// `u32::MAX` (`host_start + count` overflows).
    pub fn checked_host_last(&self) -> Option<u32> {
        self.host_start.checked_add(self.count.checked_sub(1)?)
    }

    /// True when both ranges stay within the 32-bit id space.
    pub fn fits_id_space(&self) -> bool {
        self.container_end() <= ID_LIMIT && self.host_end() <= ID_LIMIT
    }

    /// True when the container id lies in this entry's container range.
    pub fn contains_container_id(&self, ct_id: u32) -> bool {
        ct_id >= self.ns_start && u64::from(ct_id) < self.container_end()
    }

    /// True when the host id lies in this entry's host range.
    pub fn contains_host_id(&self, host_id: u32) -> bool {
        host_id >= self.host_start && u64::from(host_id) < self.host_end()
    }

    /// The host id this entry gives a container id; `None` when the id is outside the
    /// container range or the result would pass `u32::MAX`.
    pub fn host_id_of_container_id(&self, ct_id: u32) -> Option<u32> {
        if !self.contains_container_id(ct_id) {
            return None;
        }
        self.host_start.checked_add(ct_id - self.ns_start)
    }

    /// The container id this entry gives a host id; `None` when the id is outside the
    /// host range or the result would pass `u32::MAX`.
    pub fn container_id_of_host_id(&self, host_id: u32) -> Option<u32> {
        if !self.contains_host_id(host_id) {
            return None;
        }
        self.ns_start.checked_add(host_id - self.host_start)
    }
}

impl FromStr for IdMapEntry {
    type Err = ParseIdMapEntryError;

    /// Proxmox's rule: `[ug]`, then three non-negative decimal integers, separated by
    /// whitespace (Perl's `\s` on bytes: space, tab, `\n`, `\r`, form feed and vertical
    /// tab). The conf parser hands over trimmed values, so surrounding whitespace is
    /// ignored here too. Values above `u32::MAX` are rejected with the same message
    /// (Perl would accept them; LXC and the kernel would not).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseIdMapEntryError {
            value: s.to_string(),
        };
        let perl_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b');
        let mut fields = s.split(perl_space).filter(|f| !f.is_empty());
        let kind = match fields.next() {
            Some("u") => IdKind::Uid,
            Some("g") => IdKind::Gid,
            _ => return Err(err()),
        };
        let mut number = || -> Result<u32, ParseIdMapEntryError> {
            let field = fields.next().ok_or_else(err)?;
            if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            field.parse::<u32>().map_err(|_| err())
        };
        let ns_start = number()?;
        let host_start = number()?;
        let count = number()?;
        if fields.next().is_some() {
            return Err(err());
        }
        Ok(Self::new(kind, ns_start, host_start, count))
    }
}

impl fmt::Display for IdMapEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.kind, self.ns_start, self.host_start, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_serde_is_the_letter() {
        assert_eq!(serde_json::to_string(&IdKind::Gid).unwrap(), "\"g\"");
        assert_eq!(
            serde_json::from_str::<IdKind>("\"u\"").unwrap(),
            IdKind::Uid
        );
        assert_eq!(
            serde_json::from_str::<IdKind>("\"x\"")
                .unwrap_err()
                .to_string(),
            "invalid value: string \"x\", expected \"u\" or \"g\""
        );
    }

    fn e(s: &str) -> IdMapEntry {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_both_kinds() {
        assert_eq!(
            e("u 0 100000 65536"),
            IdMapEntry::new(IdKind::Uid, 0, 100000, 65536)
        );
        assert_eq!(
            e("g 1000 1000 1"),
            IdMapEntry::new(IdKind::Gid, 1000, 1000, 1)
        );
        assert_eq!(e("g 1000 1000 1").to_string(), "g 1000 1000 1");
    }

    #[test]
    fn any_whitespace_separates_fields() {
        assert_eq!(e("u\t0   100000\t65536"), e("u 0 100000 65536"));
        assert_eq!(e("  u 0 1 2  "), e("u 0 1 2"));
        // Perl's \s includes vertical tab and form feed; non-ASCII spaces are not \s.
        assert_eq!(e("u\x0b0\x0c1 2"), e("u 0 1 2"));
        assert!("u\u{a0}0 1 2".parse::<IdMapEntry>().is_err());
    }

    #[test]
    fn rejects_what_proxmox_rejects_with_its_message() {
        for bad in [
            "",
            "u",
            "u 0 100000",
            "u 0 100000 65536 7",
            "x 0 100000 65536",
            "U 0 100000 65536",
            "b 0 100000 65536",
            "u -1 100000 65536",
            "u +1 100000 65536",
            "u 0x10 100000 65536",
            "u 0:100000:65536",
            "u0 100000 65536",
            "u 4294967296 0 1",
        ] {
            let err = bad.parse::<IdMapEntry>().unwrap_err();
            assert_eq!(err.to_string(), format!("failed to parse idmap: {bad}"));
        }
    }

    #[test]
    fn range_arithmetic_is_checked() {
        let top = IdMapEntry::new(IdKind::Uid, 0, u32::MAX, 2);
        assert_eq!(top.host_end(), u64::from(u32::MAX) + 2);
        assert_eq!(top.checked_host_last(), None);
        assert!(!top.fits_id_space());
        assert_eq!(top.host_id_of_container_id(0), Some(u32::MAX));
        assert_eq!(top.host_id_of_container_id(1), None);
        assert_eq!(top.checked_container_last(), Some(1));
        let empty = IdMapEntry::new(IdKind::Gid, 5, 5, 0);
        assert_eq!(empty.checked_container_last(), None);
        assert!(!empty.contains_container_id(5));
        let d = e("u 0 100000 65536");
        assert!(d.fits_id_space());
        assert_eq!(d.checked_host_last(), Some(165535));
        assert_eq!(d.container_id_of_host_id(165535), Some(65535));
        assert_eq!(d.container_id_of_host_id(165536), None);
        assert_eq!(d.container_id_of_host_id(99999), None);
        assert_eq!(d.host_id_of_container_id(65536), None);
    }

    #[test]
    fn kind_names() {
        assert_eq!(IdKind::Uid.to_string(), "u");
        assert_eq!(IdKind::Gid.id_name(), "gid");
    }
}
