//! phoenix's checks beyond Proxmox's: things Proxmox accepts that break containers.

use std::fmt;

use super::entry::{IdKind, IdMapEntry};
use super::map::{DEFAULT_COUNT, IdMap, IdMapSource};
use crate::subid::SubIdFile;

/// The parsed `/etc/subuid` and `/etc/subgid` to check host ranges against.
#[derive(Debug, Clone, Copy)]
pub struct Delegations<'a> {
    /// `/etc/subuid`, checked for `u` entries.
    pub subuid: &'a SubIdFile,
    /// `/etc/subgid`, checked for `g` entries.
    pub subgid: &'a SubIdFile,
}

impl Delegations<'_> {
    fn file(&self, kind: IdKind) -> &SubIdFile {
        match kind {
            IdKind::Uid => self.subuid,
            IdKind::Gid => self.subgid,
        }
    }
}

/// Inclusive id ranges, printed `0-999, 1001-65535` (a single id prints alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRanges(pub Vec<(u64, u64)>);

impl fmt::Display for IdRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        Ok(())
    }
}

/// Something Proxmox accepts but phoenix reports, because it breaks or weakens a
/// container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdMapWarning {
    /// Some container ids 0..65535 have no host id: files they own show as `nobody` and
    /// processes cannot switch to them.
    #[error("container {}s {missing} are not mapped (phoenix expects 0-65535 mapped)", kind.id_name())]
    Unmapped {
        /// User or group ids.
        kind: IdKind,
        /// The unmapped container ids.
        missing: IdRanges,
    },
    /// Entries of one kind only: with explicit entries Proxmox adds no default, so the
    /// other kind has no map at all.
    #[error(
        "the map has {} entries but no {} entries, so no container {} is mapped",
        present.id_name(), missing.id_name(), missing.id_name()
    )]
    OneKindOnly {
        /// The kind that has entries.
        present: IdKind,
        /// The kind that has none.
        missing: IdKind,
    },
    /// An entry whose range runs past id 4294967295; the kernel refuses it.
    #[error("entry '{entry}' runs past the largest id 4294967295")]
    PastIdSpace {
        /// The entry.
        entry: IdMapEntry,
    },
    /// An entry maps host id 0 (host root's uid or gid) into the container: a container
    /// user then owns, as host root, every file the container can reach.
    #[error("entry '{entry}' maps host {} 0 (host root) into the container", entry.kind.id_name())]
    HostRootMapped {
        /// The entry.
        entry: IdMapEntry,
    },
    /// `lxc.idmap` entries without `unprivileged: 1`: LXC runs the container in a user
    /// namespace, but Proxmox's own logic (permissions, quota, `pct push`) treats it as
    /// privileged.
    #[error(
        "lxc.idmap entries without 'unprivileged: 1': lxc maps ids but proxmox treats the container as privileged"
    )]
    ExplicitWithoutFlag,
    /// `lxc.id_map` lines (the old key): Proxmox keeps them but maps ids only from
    /// `lxc.idmap`, so they change nothing it computes.
    #[error("{lines} lxc.id_map line(s) ignored: proxmox reads maps only from lxc.idmap")]
    LegacyKeyIgnored {
        /// How many such lines the current section has.
        lines: usize,
    },
    /// Host ids of an entry are not delegated to root in `/etc/subuid` or `/etc/subgid`.
    #[error("host {}s {missing} of entry '{entry}' are not delegated to root in /etc/{}", entry.kind.id_name(), subid_file(entry.kind))]
    NotDelegated {
        /// The entry.
        entry: IdMapEntry,
        /// The host ids root lacks.
        missing: IdRanges,
    },
}

fn subid_file(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Uid => "subuid",
        IdKind::Gid => "subgid",
    }
}

/// Container ids in `0..DEFAULT_COUNT` that no entry of `kind` covers, as inclusive ranges.
fn unmapped_container_ids(entries: &[IdMapEntry], kind: IdKind) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = entries
        .iter()
        .filter(|e| e.kind == kind && e.count > 0)
        .map(|e| (u64::from(e.ns_start), e.container_end()))
        .collect();
    ranges.sort_unstable();
    let end = u64::from(DEFAULT_COUNT);
    let mut next = 0;
    let mut missing = Vec::new();
    for (s, e) in ranges {
        if next >= end {
            break;
        }
        if s > next {
            missing.push((next, s.min(end) - 1));
        }
        next = next.max(e);
    }
    if next < end {
        missing.push((next, end - 1));
    }
    missing
}

impl IdMap {
    /// phoenix's stricter checks, in a stable order. `delegations` enables the check of
    /// host ranges against `/etc/subuid` and `/etc/subgid`. A privileged container has
    /// no map and gets no warnings.
    pub fn warnings(&self, delegations: Option<Delegations<'_>>) -> Vec<IdMapWarning> {
        let mut out = Vec::new();
        if self.source() == IdMapSource::Privileged {
            return out;
        }
        let entries = self.entries();
        if self.source() == IdMapSource::Explicit && !self.unprivileged_flag() {
            out.push(IdMapWarning::ExplicitWithoutFlag);
        }
        let has = |k: IdKind| entries.iter().any(|e| e.kind == k);
        for (present, missing) in [(IdKind::Uid, IdKind::Gid), (IdKind::Gid, IdKind::Uid)] {
            if has(present) && !has(missing) {
                out.push(IdMapWarning::OneKindOnly { present, missing });
            }
        }
        for kind in IdKind::ALL {
            if !has(kind) {
                continue;
            }
            let missing = unmapped_container_ids(entries, kind);
            if !missing.is_empty() {
                out.push(IdMapWarning::Unmapped {
                    kind,
                    missing: IdRanges(missing),
                });
            }
        }
        for entry in entries {
            if !entry.fits_id_space() {
                out.push(IdMapWarning::PastIdSpace { entry: *entry });
            }
            if entry.contains_host_id(0) {
                out.push(IdMapWarning::HostRootMapped { entry: *entry });
            }
        }
        if let Some(delegations) = delegations {
            for entry in entries.iter().filter(|e| e.count > 0) {
                let missing: Vec<(u64, u64)> = delegations
                    .file(entry.kind)
                    .uncovered_host_ids("root", entry.host_start, entry.count)
                    .into_iter()
                    .map(|(s, e)| (s, e - 1))
                    .collect();
                if !missing.is_empty() {
                    out.push(IdMapWarning::NotDelegated {
                        entry: *entry,
                        missing: IdRanges(missing),
                    });
                }
            }
        }
        out
    }
}
