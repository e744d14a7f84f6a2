//! `pct listsnapshot <vmid>`: a tree, one line per snapshot, printed with
//! `printf "%s %-Ls %-23s %s\n"` where the prefix is `` `-> `` with one extra
//! leading space per depth and L = 30 - length(prefix). The fields are the name,
//! the local time `YYYY-MM-DD HH:MM:SS` (blank for `current`) and the first line
//! of the description (`no-description` when there is none). `current` ("You are
//! here!") is a child of the snapshot the container was last set to.
//!
//! ```text
//! `-> first                      2024-05-01 10:00:00     before upgrade
//!  `-> second                    2024-05-02 11:30:00     no-description
//!   `-> current                                          You are here!
//! ```

use std::fmt;
use std::str::FromStr;

use super::OutputError;

/// When a snapshot was taken, in the node's local time as pct prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotTime {
    /// Year.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second.
    pub second: u8,
}

impl fmt::Display for SnapshotTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Text that is not `YYYY-MM-DD HH:MM:SS`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid snapshot time '{0}', expected YYYY-MM-DD HH:MM:SS")]
pub struct SnapshotTimeError(pub String);

impl FromStr for SnapshotTime {
    type Err = SnapshotTimeError;

    /// ```
    /// use phoenix_pct::SnapshotTime;
    /// let t: SnapshotTime = "2024-05-01 10:00:07".parse().unwrap();
    /// assert_eq!((t.year, t.month, t.second), (2024, 5, 7));
    /// assert_eq!(t.to_string(), "2024-05-01 10:00:07");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || SnapshotTimeError(s.to_owned());
        let b = s.as_bytes();
        let shape_ok = b.len() == 19
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b' ',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().map_err(|_| err());
        let small = |r| num(r).and_then(|v| u8::try_from(v).map_err(|_| err()));
        let t = SnapshotTime {
            year: num(0..4)?,
            month: small(5..7)?,
            day: small(8..10)?,
            hour: small(11..13)?,
            minute: small(14..16)?,
            second: small(17..19)?,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=31).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 61;
        if valid { Ok(t) } else { Err(err()) }
    }
}

/// One line of `pct listsnapshot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// The snapshot name, or `current` for the "You are here!" line (a real
    /// snapshot can never be named `current`: pct reserves it).
    pub name: String,
    /// The snapshot this one was taken after (from the tree), if any.
    pub parent: Option<String>,
    /// Depth in the tree (0 for roots), from the line's indentation.
    pub depth: usize,
    /// When it was taken; `None` for `current` and for a snapshot without `snaptime`.
    pub taken: Option<SnapshotTime>,
    /// The description's first line as printed: `no-description` when empty,
    /// `You are here!` for `current`.
    pub description: String,
}

impl SnapshotEntry {
    /// Whether this is the `current` line rather than a snapshot.
    pub fn is_current(&self) -> bool {
        self.name == "current"
    }
}

const LINE: &str = "a tree line '`-> NAME [YYYY-MM-DD HH:MM:SS] DESCRIPTION'";

/// Reads `pct listsnapshot` output, in printed order.
pub(crate) fn parse_snapshots(stdout: &str) -> Result<Vec<SnapshotEntry>, OutputError> {
    // The open branch of the tree: (indent, name) from the root down. Depth is
    // read from relative indentation, so the width of one level does not matter.
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut entries = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = || OutputError::new(i + 1, line, LINE);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = line[indent..].strip_prefix("`-> ").ok_or_else(err)?;
        let name_end = rest.find(' ').unwrap_or(rest.len());
        let (name, rest) = rest.split_at(name_end);
        if name.is_empty() {
            return Err(err());
        }
        while path.last().is_some_and(|(at, _)| *at >= indent) {
            path.pop();
        }
        let rest = rest.trim_start();
        let (taken, description) = match rest.get(..19).map(str::parse::<SnapshotTime>) {
            Some(Ok(t)) if name != "current" => (Some(t), rest[19..].trim_start()),
            _ => (None, rest),
        };
        entries.push(SnapshotEntry {
            name: name.to_owned(),
            parent: path.last().map(|(_, n)| n.clone()),
            depth: path.len(),
            taken,
            description: description.trim_end().to_owned(),
        });
        path.push((indent, name.to_owned()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints a line exactly as pct does.
    fn line(depth: usize, name: &str, time: &str, desc: &str) -> String {
        let prefix = format!("{}`->", " ".repeat(depth));
        let l = 30 - prefix.len();
        format!("{prefix} {name:<l$} {time:<23} {desc}\n")
    }

    #[test]
    fn reads_a_tree_with_current_last() {
        let out = [
            line(0, "first", "2024-05-01 10:00:00", "before upgrade"),
            line(1, "second", "2024-05-02 11:30:00", "no-description"),
            line(2, "current", "", "You are here!"),
        ]
        .concat();
        let e = parse_snapshots(&out).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].name, "first");
        assert_eq!(e[0].parent, None);
        assert_eq!(e[0].description, "before upgrade");
        assert_eq!(e[0].taken.unwrap().to_string(), "2024-05-01 10:00:00");
        assert_eq!(e[1].parent.as_deref(), Some("first"));
        assert_eq!(e[1].description, "no-description");
        assert!(e[2].is_current());
        assert_eq!(e[2].parent.as_deref(), Some("second"));
        assert_eq!(e[2].taken, None);
        assert_eq!(e[2].description, "You are here!");
    }

    #[test]
    fn siblings_share_a_parent_and_a_long_name_still_parses() {
        let long = "a-very-long-snapshot-name-over-thirty";
        let out = [
            line(0, "base", "2024-01-01 00:00:00", "no-description"),
            line(1, long, "2024-01-02 00:00:00", "x"),
            line(1, "other", "2024-01-03 00:00:00", "y z"),
            line(2, "current", "", "You are here!"),
        ]
        .concat();
        let e = parse_snapshots(&out).unwrap();
        assert_eq!(e[1].name, long);
        assert_eq!(e[1].parent.as_deref(), Some("base"));
        assert_eq!(e[2].parent.as_deref(), Some("base"));
        assert_eq!(e[2].description, "y z");
        assert_eq!(e[3].parent.as_deref(), Some("other"));
    }

    #[test]
    fn no_snapshots_is_just_current() {
        let e = parse_snapshots(&line(0, "current", "", "You are here!")).unwrap();
        assert_eq!(e.len(), 1);
        assert!(e[0].is_current() && e[0].parent.is_none());
    }

    #[test]
    fn a_snapshot_without_snaptime_has_no_time() {
        let e = parse_snapshots(&line(0, "s1", "", "no-description")).unwrap();
        assert_eq!(e[0].taken, None);
        assert_eq!(e[0].description, "no-description");
    }

    #[test]
    fn refuses_lines_that_are_not_tree_lines() {
        assert_eq!(
            parse_snapshots("s1 2024-01-01\n").unwrap_err().to_string(),
            "line 1: expected a tree line '`-> NAME [YYYY-MM-DD HH:MM:SS] DESCRIPTION', found 's1 2024-01-01'"
        );
        assert_eq!(parse_snapshots("`->\n").unwrap_err().line, 1);
    }

    #[test]
    fn depth_follows_relative_indentation() {
        // two spaces per level instead of one: same tree
        let out = "`-> a 2024-01-01 00:00:00 x\n  `-> b 2024-01-02 00:00:00 y\n    `-> current You are here!\n  `-> c 2024-01-03 00:00:00 z\n";
        let e = parse_snapshots(out).unwrap();
        let shape: Vec<_> = e
            .iter()
            .map(|e| (e.name.as_str(), e.depth, e.parent.as_deref()))
            .collect();
        assert_eq!(
            shape,
            [
                ("a", 0, None),
                ("b", 1, Some("a")),
                ("current", 2, Some("b")),
                ("c", 1, Some("a"))
            ]
        );
    }

    #[test]
    fn snapshot_time_refuses_other_shapes() {
        for bad in [
            "2024-13-01 00:00:00",
            "2024-01-01T00:00:00",
            "2024-01-01",
            "",
        ] {
            assert!(bad.parse::<SnapshotTime>().is_err(), "{bad}");
        }
        assert_eq!(
            "x".parse::<SnapshotTime>().unwrap_err().to_string(),
            "invalid snapshot time 'x', expected YYYY-MM-DD HH:MM:SS"
        );
    }
}
