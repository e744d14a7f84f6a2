//! The kernel's view of a user namespace: `/proc/<pid>/uid_map` and `gid_map`.
//!
//! Each line is `ns_start host_start count`, right-aligned in columns:
//!
//! ```text
//!          0     100000      65536
//! ```
//!
//! A privileged container (no user namespace) shows `0 0 4294967295`.

use std::fmt;

use crate::{IdKind, IdMap};

/// One line of a kernel map: container ids `ns..ns+count` are host ids `host..host+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcMapLine {
    /// First id inside the namespace.
    pub ns_start: u32,
    /// First id on the host.
    pub host_start: u32,
    /// How many ids.
    pub count: u32,
}

impl fmt::Display for ProcMapLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.ns_start, self.host_start, self.count)
    }
}

/// A line of a kernel map that is not three unsigned numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected line in the kernel's map: {line:?}")]
pub struct ProcMapError {
    /// The line as read (at most 80 characters of it).
    pub line: String,
}

/// Parses a `/proc/<pid>/uid_map` or `gid_map`, sorted by container id.
///
/// ```
/// use phoenix_idmap::proc_map::{parse, ProcMapLine};
/// assert_eq!(
///     parse("0 100000 65536\n").unwrap(),
///     vec![ProcMapLine { ns_start: 0, host_start: 100000, count: 65536 }]
/// );
/// assert!(parse("0 x 1\n").is_err());
/// ```
pub fn parse(text: &str) -> Result<Vec<ProcMapLine>, ProcMapError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let bad = || ProcMapError {
            line: line.chars().take(80).collect(),
        };
        let n: Vec<u32> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        match n[..] {
            [ns_start, host_start, count] => out.push(ProcMapLine {
                ns_start,
                host_start,
                count,
            }),
            _ => return Err(bad()),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The lines the kernel shows for `kind` when a container runs under `map`.
pub fn expected(map: &IdMap, kind: IdKind) -> Vec<ProcMapLine> {
    if !map.is_user_namespaced() {
        return vec![ProcMapLine {
            ns_start: 0,
            host_start: 0,
            count: u32::MAX,
        }];
    }
    let mut v: Vec<_> = map
        .entries()
        .iter()
        .filter(|e| e.kind == kind && e.count > 0)
        .map(|e| ProcMapLine {
            ns_start: e.ns_start,
            host_start: e.host_start,
            count: e.count,
        })
        .collect();
    v.sort_unstable();
    v
}

/// `a b c, d e f` for messages.
pub fn show(lines: &[ProcMapLine]) -> String {
    lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_maps_parse_and_match_the_default_map() {
        let map = IdMap::new(true, vec![]);
        assert_eq!(
            parse("         0     100000      65536\n").unwrap(),
            expected(&map, IdKind::Uid)
        );
        let privileged = IdMap::new(false, vec![]);
        assert_eq!(
            parse("0 0 4294967295\n").unwrap(),
            expected(&privileged, IdKind::Gid)
        );
        assert_eq!(
            parse("0 x 1").unwrap_err().to_string(),
            "unexpected line in the kernel's map: \"0 x 1\""
        );
        assert!(parse("0 1\n").is_err());
        assert_eq!(show(&expected(&map, IdKind::Gid)), "0 100000 65536");
    }
}
