//! What an id map entry hands the container on the host: the rules phoenix refuses
//! (or asks an explicit opt-in for) in an unprivileged container, whatever Proxmox
//! accepts.
//!
//! - Host id 0 is host root: a container id mapped onto it owns, as root, every
//!   host file the container can reach. Refused.
//! - Id 4294967295 is `(uid_t)-1`, "no id": the kernel refuses a map that includes
//!   it, and a range past it wraps. Refused.
//! - Host ids below the first subordinate range ([`SUBID_FLOOR`], 100000 unless
//!   `/etc/subuid` says otherwise) are the host's own system and login users. A map
//!   onto them is sometimes wanted (a shared directory owned by uid 1000) but must
//!   be asked for by name.
//!
//! ```
//! use phoenix_idmap::idmap::{PrivilegeProblem, SUBID_FLOOR, privilege_problems};
//! let e = "u 0 0 1".parse().unwrap();
//! assert!(matches!(privilege_problems(&e, SUBID_FLOOR)[0], PrivilegeProblem::HostRoot { .. }));
//! assert!(privilege_problems(&"u 0 100000 65536".parse().unwrap(), SUBID_FLOOR).is_empty());
//! ```

use super::entry::IdMapEntry;
use super::validate::Side;

/// The first host id of the first subordinate range on a default Debian/Proxmox host
/// (`root:100000:65536` in `/etc/subuid`): the documented floor `validate` uses.
pub const SUBID_FLOOR: u32 = 100_000;

/// The id that means "no id" (`(uid_t)-1`); no map may include it.
pub const NO_ID: u32 = u32::MAX;

/// One reason an entry is dangerous in an unprivileged container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrivilegeProblem {
    /// The entry maps a container id onto host id 0 (host root).
    #[error("entry '{entry}' maps container {id} {} onto host {id} 0 (host root), so the container owns the host's root files", entry.ns_start, id = entry.kind.id_name())]
    HostRoot {
        /// The entry.
        entry: IdMapEntry,
    },
    /// The entry's range reaches id 4294967295 or wraps past it on one side.
    #[error("entry '{entry}' reaches {} id 4294967295 or beyond: that id means \"no id\" and the kernel refuses a map that includes it", side_name(*side))]
    ReachesNoId {
        /// The entry.
        entry: IdMapEntry,
        /// Which side.
        side: Side,
    },
    /// The entry maps onto host ids below the first subordinate range.
    #[error("entry '{entry}' maps onto host {}s below {floor}, the host's own system and login users", entry.kind.id_name())]
    BelowFloor {
        /// The entry.
        entry: IdMapEntry,
        /// The floor it goes below.
        floor: u32,
    },
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Container => "container",
        Side::Host => "host",
    }
}

impl PrivilegeProblem {
    /// True for the problems an opt-in can accept ([`PrivilegeProblem::BelowFloor`]);
    /// the others are always refused.
    pub fn needs_opt_in(&self) -> bool {
        matches!(self, PrivilegeProblem::BelowFloor { .. })
    }
}

/// Every problem of `entry` in an unprivileged container, with `floor` the first
/// host id of the subordinate ranges ([`SUBID_FLOOR`] by default).
pub fn privilege_problems(entry: &IdMapEntry, floor: u32) -> Vec<PrivilegeProblem> {
    let mut out = Vec::new();
    if entry.count == 0 {
        return out;
    }
    if entry.contains_host_id(0) {
        out.push(PrivilegeProblem::HostRoot { entry: *entry });
    }
    let limit = u64::from(NO_ID);
    for (side, end) in [
        (Side::Container, entry.container_end()),
        (Side::Host, entry.host_end()),
    ] {
        if end > limit {
            out.push(PrivilegeProblem::ReachesNoId {
                entry: *entry,
                side,
            });
        }
    }
    if entry.host_start < floor && !entry.contains_host_id(0) {
        out.push(PrivilegeProblem::BelowFloor {
            entry: *entry,
            floor,
        });
    }
    out
}

/// The first host id of the subordinate ranges `/etc/subuid` and `/etc/subgid`
/// delegate (to anyone), or [`SUBID_FLOOR`] when they delegate nothing: ids below it
/// are the host's own.
pub fn subid_floor(subuid: &crate::subid::SubIdFile, subgid: &crate::subid::SubIdFile) -> u32 {
    subuid
        .entries()
        .chain(subgid.entries())
        .filter(|e| e.count > 0)
        .map(|e| e.start)
        .min()
        .unwrap_or(SUBID_FLOOR)
}

impl super::map::IdMap {
    /// The privilege problems of every entry ([`privilege_problems`]); none for a
    /// privileged container, which has no map (and is root on the host anyway).
    pub fn privilege_problems(&self, floor: u32) -> Vec<PrivilegeProblem> {
        if self.source() == super::map::IdMapSource::Privileged {
            return Vec::new();
        }
        self.entries()
            .iter()
            .flat_map(|e| privilege_problems(e, floor))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(s: &str) -> Vec<String> {
        privilege_problems(&s.parse().unwrap(), SUBID_FLOOR)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn each_problem_says_what_the_container_gets() {
        assert_eq!(
            problems("u 0 0 65536"),
            [
                "entry 'u 0 0 65536' maps container uid 0 onto host uid 0 (host root), so the container owns the host's root files"
            ]
        );
        assert_eq!(
            problems("g 0 4294967200 96"),
            [
                "entry 'g 0 4294967200 96' reaches host id 4294967295 or beyond: that id means \"no id\" and the kernel refuses a map that includes it"
            ]
        );
        assert_eq!(
            problems("u 4294967295 100000 1"),
            [
                "entry 'u 4294967295 100000 1' reaches container id 4294967295 or beyond: that id means \"no id\" and the kernel refuses a map that includes it"
            ]
        );
        assert_eq!(
            problems("g 1000 1000 1"),
            [
                "entry 'g 1000 1000 1' maps onto host gids below 100000, the host's own system and login users"
            ]
        );
        assert!(problems("u 0 100000 65536").is_empty());
        assert!(problems("u 0 4294901759 65536").is_empty());
        let p = privilege_problems(&"u 5 5 1".parse().unwrap(), 1);
        assert!(p.is_empty());
        let p = privilege_problems(&"u 5 5 1".parse().unwrap(), SUBID_FLOOR);
        assert!(p[0].needs_opt_in());
    }

    #[test]
    fn the_floor_is_the_first_delegated_id() {
        use crate::subid::SubIdFile;
        let none = SubIdFile::parse("").unwrap();
        assert_eq!(subid_floor(&none, &none), SUBID_FLOOR);
        let u = SubIdFile::parse("root:200000:65536\nalice:165536:65536\n").unwrap();
        assert_eq!(subid_floor(&u, &none), 165536);
    }
}
