//! One user-namespace map entry of a container (`id_maps[]`), read in phoenix's
//! shape or the old system's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One user-namespace map entry, as in `lxc.idmap: u 0 100000 65536`.
///
/// Read in phoenix's shape or the old system's (`{"type": "gid", "container_id": 33,
/// "host_id": 33, "size": 1}`), always written in phoenix's:
///
/// ```
/// use phoenix_config::{IdMapKind, IdMapSpec};
/// let old: IdMapSpec = serde_json::from_str(
///     r#"{"type": "gid", "container_id": 33, "host_id": 33, "size": 1}"#).unwrap();
/// assert_eq!((old.kind, old.container_start, old.host_start, old.count), (IdMapKind::Gid, 33, 33, 1));
/// assert!(old.old_shape && old.allow_host_ids);
/// assert_eq!(serde_json::to_string(&old).unwrap(),
///     r#"{"kind":"g","container_start":33,"host_start":33,"count":1,"allow_host_ids":true}"#);
/// ```
///
/// Security: a map sends container ids to host ids. Host ids below
/// [`phoenix_idmap::SUBID_FLOOR`] (100000) belong to the host's own system and
/// login users, so mapping onto them lets the container act as that user on every
/// host file it can reach. phoenix refuses such an entry unless it says
/// `"allow_host_ids": true`; an entry in the old system's shape cannot say it, so it
/// reads as opted in (the old system asked nothing) with a warning listing the
/// entry, and `phoenix config upgrade` writes the opt-in, which keeps the meaning.
#[derive(Debug, Clone, Copy, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(from = "IdMapForm")]
#[schemars(with = "IdMapForm")]
pub struct IdMapSpec {
    /// `u` for user ids, `g` for group ids.
    pub kind: IdMapKind,
    /// First id inside the container.
    pub container_start: u32,
    /// First id on the host.
    pub host_start: u32,
    /// Number of ids mapped (at least 1).
    #[schemars(range(min = 1))]
    pub count: u32,
    /// The explicit opt-in for host ids below 100000 (the host's system and login
    /// users, below the first subordinate range): without it such an entry is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_host_ids: bool,
    /// Read in the old system's shape, which has no `allow_host_ids`: the old system
    /// mapped any host id without asking, so such an entry reads as opted in and is
    /// listed with a warning. Where an entry was read is not part of its meaning:
    /// never written, and ignored by `==`.
    #[serde(skip)]
    pub old_shape: bool,
}

impl PartialEq for IdMapSpec {
    fn eq(&self, other: &Self) -> bool {
        (
            self.kind,
            self.container_start,
            self.host_start,
            self.count,
            self.allow_host_ids,
        ) == (
            other.kind,
            other.container_start,
            other.host_start,
            other.count,
            other.allow_host_ids,
        )
    }
}

/// Which ids an [`IdMapSpec`] maps: phoenix-idmap's kind (`"u"` or `"g"`).
pub use phoenix_idmap::IdKind as IdMapKind;

/// The two shapes an id map entry is read in.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum IdMapForm {
    /// phoenix's shape.
    Phoenix(PhoenixIdMap),
    /// The old system's shape.
    Old(OldIdMap),
}

/// phoenix's shape of an id map entry.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PhoenixIdMap {
    /// `u` for user ids, `g` for group ids.
    kind: IdMapKind,
    /// First id inside the container.
    container_start: u32,
    /// First id on the host.
    host_start: u32,
    /// Number of ids mapped (at least 1).
    #[schemars(range(min = 1))]
    count: u32,
    /// Maps onto host ids below 100000 (the host's system and login users) on
    /// purpose; without it such an entry is refused. Each such entry is listed by
    /// `phoenix validate`.
    #[serde(default)]
    allow_host_ids: bool,
}

/// The old system's shape of an id map entry (read, rewritten by `phoenix config upgrade`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OldIdMap {
    /// `uid` or `gid` (also `u` / `g`).
    #[serde(rename = "type")]
    kind: OldIdKind,
    /// First id inside the container.
    container_id: u32,
    /// First id on the host.
    host_id: u32,
    /// Number of ids mapped (at least 1).
    #[schemars(range(min = 1))]
    size: u32,
}

/// Old spellings of the id kind.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum OldIdKind {
    /// User ids.
    #[serde(alias = "u")]
    Uid,
    /// Group ids.
    #[serde(alias = "g")]
    Gid,
}

impl From<IdMapForm> for IdMapSpec {
    fn from(form: IdMapForm) -> Self {
        match form {
            IdMapForm::Phoenix(p) => IdMapSpec {
                kind: p.kind,
                container_start: p.container_start,
                host_start: p.host_start,
                count: p.count,
                allow_host_ids: p.allow_host_ids,
                old_shape: false,
            },
            IdMapForm::Old(o) => IdMapSpec {
                kind: match o.kind {
                    OldIdKind::Uid => IdMapKind::Uid,
                    OldIdKind::Gid => IdMapKind::Gid,
                },
                container_start: o.container_id,
                host_start: o.host_id,
                count: o.size,
                allow_host_ids: o.host_id < phoenix_idmap::SUBID_FLOOR,
                old_shape: true,
            },
        }
    }
}

impl IdMapSpec {
    /// The phoenix-idmap entry this spec describes.
    pub fn to_entry(&self) -> phoenix_idmap::IdMapEntry {
        phoenix_idmap::IdMapEntry::new(self.kind, self.container_start, self.host_start, self.count)
    }
}
