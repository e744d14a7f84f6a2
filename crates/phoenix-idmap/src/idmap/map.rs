//! The effective map of a container, as Proxmox computes it.

use super::entry::{IdKind, IdMapEntry, ParseIdMapEntryError};
use super::validate::{IdMapError, validate_entries};

/// First host id of Proxmox's hard-coded map.
pub const DEFAULT_HOST_START: u32 = 100_000;
/// Number of ids in Proxmox's hard-coded map (container ids 0..65535).
pub const DEFAULT_COUNT: u32 = 65_536;

/// Where a container's map comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdMapSource {
    /// `lxc.idmap` entries in the conf. They replace the default completely and apply
    /// even without `unprivileged: 1`.
    Explicit,
    /// `unprivileged: 1` and no `lxc.idmap`: Proxmox's hard-coded `u 0 100000 65536` and
    /// `g 0 100000 65536` (it does not read `/etc/subuid`).
    UnprivilegedDefault,
    /// Neither: no user namespace, every id is itself on the host.
    Privileged,
}

impl IdMapSource {
    /// A short machine-friendly name: `explicit`, `default` or `privileged`.
    pub fn name(self) -> &'static str {
        match self {
            IdMapSource::Explicit => "explicit",
            IdMapSource::UnprivilegedDefault => "default",
            IdMapSource::Privileged => "privileged",
        }
    }
}

impl std::fmt::Display for IdMapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdMapSource::Explicit => "explicit lxc.idmap entries",
            IdMapSource::UnprivilegedDefault => {
                "proxmox's default map (unprivileged, no lxc.idmap entries)"
            }
            IdMapSource::Privileged => "no map (privileged, no lxc.idmap entries)",
        })
    }
}

/// The effective user-namespace map of one container.
///
/// ```
/// use phoenix_idmap::{IdMap, IdMapEntry};
/// let map = IdMap::new(true, Vec::new());
/// assert_eq!(map.root_host_uid(), 100000);
/// assert_eq!(map.host_uid_of(1000), Some(101000));
/// assert_eq!(map.ct_uid_of(101000), Some(1000));
///
/// // Explicit entries drop the default completely: no gid map here.
/// let only_u: Vec<IdMapEntry> = vec!["u 0 100000 65536".parse().unwrap()];
/// let map = IdMap::new(true, only_u);
/// assert_eq!(map.host_gid_of(0), None);
/// // Proxmox returns an id no entry maps unchanged.
/// assert_eq!(map.host_gid_of_or_unchanged(0), 0);
/// assert_eq!(map.root_host_gid(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    source: IdMapSource,
    unprivileged_flag: bool,
    entries: Vec<IdMapEntry>,
}

impl IdMap {
    /// Proxmox's hard-coded map for an unprivileged container.
    pub fn proxmox_default_entries() -> [IdMapEntry; 2] {
        [
            IdMapEntry::new(IdKind::Uid, 0, DEFAULT_HOST_START, DEFAULT_COUNT),
            IdMapEntry::new(IdKind::Gid, 0, DEFAULT_HOST_START, DEFAULT_COUNT),
        ]
    }

    /// The effective map from the `unprivileged` flag and the `lxc.idmap` entries, in
    /// file order.
    pub fn new(unprivileged: bool, explicit: Vec<IdMapEntry>) -> Self {
        let (source, entries) = if !explicit.is_empty() {
            (IdMapSource::Explicit, explicit)
        } else if unprivileged {
            (
                IdMapSource::UnprivilegedDefault,
                Self::proxmox_default_entries().to_vec(),
            )
        } else {
            (IdMapSource::Privileged, Vec::new())
        };
        Self {
            source,
            unprivileged_flag: unprivileged,
            entries,
        }
    }

    /// Parses the values of the conf's `lxc.idmap` lines (only that key counts, not the
    /// old `lxc.id_map`), failing on the first bad one as Proxmox does.
    pub fn from_lxc_values<'a>(
        unprivileged: bool,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ParseIdMapEntryError> {
        let entries = values
            .into_iter()
            .map(str::parse)
            .collect::<Result<Vec<IdMapEntry>, _>>()?;
        Ok(Self::new(unprivileged, entries))
    }

    /// Where the map comes from.
    pub fn source(&self) -> IdMapSource {
        self.source
    }

    /// The `unprivileged` flag the map was built with.
    pub fn unprivileged_flag(&self) -> bool {
        self.unprivileged_flag
    }

    /// The effective entries, in order (empty for a privileged container).
    pub fn entries(&self) -> &[IdMapEntry] {
        &self.entries
    }

    /// True when LXC runs the container in a user namespace: Proxmox's generated LXC
    /// config does so when the flag is set **or** any `lxc.idmap` entry exists.
    pub fn is_user_namespaced(&self) -> bool {
        self.source != IdMapSource::Privileged
    }

    /// Proxmox's validation of the effective entries.
    pub fn validate(&self) -> Result<(), IdMapError> {
        validate_entries(&self.entries)
    }

    /// The host uid of container root, as Proxmox computes it: the host start of the `u`
    /// entry whose container start is 0 (the last such entry, as Proxmox's loop
    /// overwrites), else 0.
    pub fn root_host_uid(&self) -> u32 {
        self.root_host_id(IdKind::Uid)
    }

    /// The host gid of container root, computed like [`root_host_uid`](Self::root_host_uid).
    pub fn root_host_gid(&self) -> u32 {
        self.root_host_id(IdKind::Gid)
    }

    /// The host id of container root for one kind (see [`root_host_uid`](Self::root_host_uid)).
    pub fn root_host_id(&self, kind: IdKind) -> u32 {
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == kind && e.ns_start == 0)
            .map_or(0, |e| e.host_start)
    }

    /// The host id a container id has, or `None` when the map does not map it (the
    /// first entry whose container range holds the id decides). A privileged container
    /// maps every id to itself.
    pub fn host_id_of(&self, kind: IdKind, ct_id: u32) -> Option<u32> {
        if self.source == IdMapSource::Privileged {
            return Some(ct_id);
        }
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.contains_container_id(ct_id))
            .and_then(|e| e.host_id_of_container_id(ct_id))
    }

    /// The container id a host id has, or `None` when no entry maps it (first match).
    pub fn ct_id_of(&self, kind: IdKind, host_id: u32) -> Option<u32> {
        if self.source == IdMapSource::Privileged {
            return Some(host_id);
        }
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.contains_host_id(host_id))
            .and_then(|e| e.container_id_of_host_id(host_id))
    }

    /// Proxmox's behaviour: like [`host_id_of`](Self::host_id_of), but an id no entry
    /// maps is returned unchanged (so an unmapped container uid 5 "is" host uid 5).
    pub fn host_id_of_or_unchanged(&self, kind: IdKind, ct_id: u32) -> u32 {
        self.host_id_of(kind, ct_id).unwrap_or(ct_id)
    }

    /// Like [`ct_id_of`](Self::ct_id_of), but an unmapped id is returned unchanged.
    pub fn ct_id_of_or_unchanged(&self, kind: IdKind, host_id: u32) -> u32 {
        self.ct_id_of(kind, host_id).unwrap_or(host_id)
    }

    /// [`host_id_of`](Self::host_id_of) for uids.
    pub fn host_uid_of(&self, ct_uid: u32) -> Option<u32> {
        self.host_id_of(IdKind::Uid, ct_uid)
    }

    /// [`host_id_of`](Self::host_id_of) for gids.
    pub fn host_gid_of(&self, ct_gid: u32) -> Option<u32> {
        self.host_id_of(IdKind::Gid, ct_gid)
    }

    /// [`ct_id_of`](Self::ct_id_of) for uids.
    pub fn ct_uid_of(&self, host_uid: u32) -> Option<u32> {
        self.ct_id_of(IdKind::Uid, host_uid)
    }

    /// [`ct_id_of`](Self::ct_id_of) for gids.
    pub fn ct_gid_of(&self, host_gid: u32) -> Option<u32> {
        self.ct_id_of(IdKind::Gid, host_gid)
    }

    /// [`host_id_of_or_unchanged`](Self::host_id_of_or_unchanged) for uids.
    pub fn host_uid_of_or_unchanged(&self, ct_uid: u32) -> u32 {
        self.host_id_of_or_unchanged(IdKind::Uid, ct_uid)
    }

    /// [`host_id_of_or_unchanged`](Self::host_id_of_or_unchanged) for gids.
    pub fn host_gid_of_or_unchanged(&self, ct_gid: u32) -> u32 {
        self.host_id_of_or_unchanged(IdKind::Gid, ct_gid)
    }

    /// [`ct_id_of_or_unchanged`](Self::ct_id_of_or_unchanged) for uids.
    pub fn ct_uid_of_or_unchanged(&self, host_uid: u32) -> u32 {
        self.ct_id_of_or_unchanged(IdKind::Uid, host_uid)
    }

    /// [`ct_id_of_or_unchanged`](Self::ct_id_of_or_unchanged) for gids.
    pub fn ct_gid_of_or_unchanged(&self, host_gid: u32) -> u32 {
        self.ct_id_of_or_unchanged(IdKind::Gid, host_gid)
    }
}
