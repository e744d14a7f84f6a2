//! Proxmox's idmap validation (`validate_id_maps` in pve-container), rule for rule.

use std::fmt;

use super::entry::{IdKind, IdMapEntry};

/// Which side of a map a conflict is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Ids inside the container (the namespace).
    Container,
    /// Ids on the host.
    Host,
}

impl Side {
    /// Both sides, in the order Proxmox checks them.
    pub const ALL: [Side; 2] = [Side::Container, Side::Host];

    fn start(self, e: &IdMapEntry) -> u32 {
        match self {
            Side::Container => e.ns_start,
            Side::Host => e.host_start,
        }
    }

    fn end(self, e: &IdMapEntry) -> u64 {
        match self {
            Side::Container => e.container_end(),
            Side::Host => e.host_end(),
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Container => "container",
            Side::Host => "host",
        })
    }
}

/// Why a set of `lxc.idmap` entries is refused, with Proxmox's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdMapError {
    /// One id is mapped by two entries on one side.
    #[error(
        "invalid map entry '{entry}': {side} {}id {id} is also mapped by entry '{previous}'",
        entry.kind.letter()
    )]
    Overlap {
        /// The entry that comes second after sorting by start on `side`.
        entry: IdMapEntry,
        /// The entry before it, whose range reaches into `entry`.
        previous: IdMapEntry,
        /// The side the two entries overlap on.
        side: Side,
        /// `entry`'s start on that side (the id Proxmox names).
        id: u32,
    },
}

/// Checks entries exactly as Proxmox does; the first conflict found is returned.
///
/// Per kind (`u`, then `g`) and per side (container, then host): sort the entries by
/// their start on that side (a stable sort, so ties keep their order in the file), then
/// compare each entry with the one before it; if `prev.start + prev.count > cur.start`
/// the pair conflicts. Consequences: an identical duplicate conflicts, an empty entry
/// placed before another never conflicts, and only adjacent pairs are reported.
/// Nothing else is checked (not root, gaps, subuid or both kinds); phoenix's stricter
/// checks are separate warnings.
///
/// ```
/// use phoenix_idmap::{validate_entries, IdMapEntry};
/// let e = |s: &str| s.parse::<IdMapEntry>().unwrap();
/// assert!(validate_entries(&[e("u 0 100000 1000"), e("u 1000 1000 1")]).is_ok());
/// let err = validate_entries(&[e("u 0 100000 65536"), e("u 1000 1000 1")]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid map entry 'u 1000 1000 1': container uid 1000 is also mapped by entry 'u 0 100000 65536'"
/// );
/// ```
pub fn validate_entries(entries: &[IdMapEntry]) -> Result<(), IdMapError> {
    for kind in IdKind::ALL {
        for side in Side::ALL {
            let mut sorted: Vec<&IdMapEntry> = entries.iter().filter(|e| e.kind == kind).collect();
            sorted.sort_by_key(|e| side.start(e));
            for pair in sorted.windows(2) {
                let (previous, entry) = (pair[0], pair[1]);
                // Perl adds without limit; u64 holds any u32 + u32 exactly.
                if side.end(previous) > u64::from(side.start(entry)) {
                    return Err(IdMapError::Overlap {
                        entry: *entry,
                        previous: *previous,
                        side,
                        id: side.start(entry),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(lines: &[&str]) -> Vec<IdMapEntry> {
        lines.iter().map(|l| l.parse().unwrap()).collect()
    }

    fn check(lines: &[&str]) -> Result<(), String> {
        validate_entries(&entries(lines)).map_err(|e| e.to_string())
    }

    #[test]
    fn side_names() {
        assert_eq!(Side::Container.to_string(), "container");
        assert_eq!(Side::Host.to_string(), "host");
    }

    #[test]
    fn overlap_display_names_side_kind_and_both_entries() {
        let err = IdMapError::Overlap {
            entry: "g 5 200005 1".parse().unwrap(),
            previous: "g 0 200000 10".parse().unwrap(),
            side: Side::Host,
            id: 200005,
        };
        assert_eq!(
            err.to_string(),
            "invalid map entry 'g 5 200005 1': host gid 200005 is also mapped by entry 'g 0 200000 10'"
        );
    }

    #[test]
    fn empty_and_single_entries_are_valid() {
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&["u 0 100000 65536"]), Ok(()));
    }

    #[test]
    fn split_default_around_a_passthrough_is_valid() {
        assert_eq!(
            check(&[
                "u 0 100000 1000",
                "g 0 100000 1000",
                "u 1000 1000 1",
                "g 1000 1000 1",
                "u 1001 101001 64535",
                "g 1001 101001 64535",
            ]),
            Ok(())
        );
    }

    #[test]
    fn touching_ranges_do_not_conflict() {
        assert_eq!(check(&["u 0 100 10", "u 10 110 10"]), Ok(()));
    }
}
