//! The `/etc/subuid` and `/etc/subgid` format, parsed losslessly.

use std::fmt;
use std::str::FromStr;

/// One delegation: `user` may use host ids `start..start+count` in user namespaces.
///
/// ```
/// use phoenix_idmap::subid::SubIdEntry;
/// let e: SubIdEntry = "root:100000:65536".parse().unwrap();
/// assert_eq!((e.user.as_str(), e.start, e.count), ("root", 100000, 65536));
/// assert_eq!(e.to_string(), "root:100000:65536");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubIdEntry {
    /// The user (a name or a numeric uid) the ids are delegated to.
    pub user: String,
    /// First host id of the range.
    pub start: u32,
    /// Number of ids.
    pub count: u32,
}

impl SubIdEntry {
    /// Builds an entry.
    pub fn new(user: impl Into<String>, start: u32, count: u32) -> Self {
        Self {
            user: user.into(),
            start,
            count,
        }
    }

    /// Proxmox's default delegation, `root:100000:65536`, which its hard-coded
    /// `u 0 100000 65536` / `g 0 100000 65536` map relies on.
    pub fn root_default() -> Self {
        Self::new("root", 100_000, 65_536)
    }

    /// One past the last host id (exclusive end), in `u64` so it never overflows.
    pub fn host_end(&self) -> u64 {
        u64::from(self.start) + u64::from(self.count)
    }
}

/// What is wrong with a line of a subid file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubIdLineProblem {
    /// Not exactly three `:`-separated fields.
    #[error("expected name:start:count")]
    Fields,
    /// The name field is empty.
    #[error("empty user name")]
    EmptyUser,
    /// The start field is not a decimal number up to 4294967295.
    #[error("start is not a number from 0 to 4294967295")]
    Start,
    /// The count field is not a decimal number up to 4294967295.
    #[error("count is not a number from 0 to 4294967295")]
    Count,
}

/// A line that is neither `name:start:count`, a `#` comment nor blank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}: '{}'", excerpt(text))]
pub struct SubIdParseError {
    /// 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What is wrong with it.
    pub problem: SubIdLineProblem,
}

/// At most 60 characters of a host file's line, control characters written as
/// `\u{..}`: an error never floods the terminal with a binary file or drives it
/// with escape sequences.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_number(field: &str, problem: SubIdLineProblem) -> Result<u32, SubIdLineProblem> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem);
    }
    field.parse().map_err(|_| problem)
}

fn parse_entry(text: &str) -> Result<SubIdEntry, SubIdLineProblem> {
    let fields: Vec<&str> = text.split(':').collect();
    let [user, start, count] = fields[..] else {
        return Err(SubIdLineProblem::Fields);
    };
    if user.is_empty() {
        return Err(SubIdLineProblem::EmptyUser);
    }
    Ok(SubIdEntry::new(
        user,
        parse_number(start, SubIdLineProblem::Start)?,
        parse_number(count, SubIdLineProblem::Count)?,
    ))
}

impl FromStr for SubIdEntry {
    type Err = SubIdParseError;

    /// Parses one `name:start:count` line (reported as line 1 on error).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_entry(s).map_err(|problem| SubIdParseError {
            line: 1,
            text: s.to_string(),
            problem,
        })
    }
}

impl fmt::Display for SubIdEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.user, self.start, self.count)
    }
}

/// One line of a subid file, with its exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubIdLine {
    /// A `name:start:count` delegation.
    Entry {
        /// The line as written.
        text: String,
        /// What it says.
        entry: SubIdEntry,
    },
    /// A line whose first non-blank character is `#`.
    Comment(String),
    /// An empty or whitespace-only line.
    Blank(String),
}

impl SubIdLine {
    /// The line as written, without its newline.
    pub fn text(&self) -> &str {
        match self {
            SubIdLine::Entry { text, .. } | SubIdLine::Comment(text) | SubIdLine::Blank(text) => {
                text
            }
        }
    }
}

/// A whole `/etc/subuid` or `/etc/subgid` file. `render(parse(x)) == x` byte for byte;
/// edits only append lines.
///
/// ```
/// use phoenix_idmap::subid::{SubIdEntry, SubIdFile};
/// let mut file = SubIdFile::parse("# delegations\nalice:165536:65536\n").unwrap();
/// assert!(!file.covers("root", 100000, 65536));
/// assert_eq!(file.ensure_root_default(), vec![SubIdEntry::root_default()]);
/// assert_eq!(file.render(), "# delegations\nalice:165536:65536\nroot:100000:65536\n");
/// assert!(file.ensure_root_default().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubIdFile {
    lines: Vec<SubIdLine>,
    trailing_newline: bool,
}

impl SubIdFile {
    /// Parses a file. A line that is not an entry, a comment or blank is an error with
    /// its line number; nothing is skipped.
    pub fn parse(src: &str) -> Result<Self, SubIdParseError> {
        let (body, trailing_newline) = match src.strip_suffix('\n') {
            Some(body) => (body, true),
            None => (src, false),
        };
        let mut lines = Vec::new();
        if !src.is_empty() {
            for (index, text) in body.split('\n').enumerate() {
                lines.push(parse_line(text).map_err(|problem| SubIdParseError {
                    line: index + 1,
                    text: text.to_string(),
                    problem,
                })?);
            }
        }
        Ok(Self {
            lines,
            trailing_newline,
        })
    }

    /// The file's text: every line as it was read, then the appended ones.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(line.text());
        }
        if self.trailing_newline {
            out.push('\n');
        }
        out
    }

    /// Every line, in file order.
    pub fn lines(&self) -> &[SubIdLine] {
        &self.lines
    }

    /// Every delegation, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &SubIdEntry> {
        self.lines.iter().filter_map(|l| match l {
            SubIdLine::Entry { entry, .. } => Some(entry),
            _ => None,
        })
    }

    /// The parts of host ids `start..start+count` that no range of `user` covers, as
    /// `(start, exclusive end)` pairs in `u64`, in order.
    pub fn uncovered_host_ids(&self, user: &str, start: u32, count: u32) -> Vec<(u64, u64)> {
        let mut ranges: Vec<(u64, u64)> = self
            .entries()
            .filter(|e| e.user == user && e.count > 0)
            .map(|e| (u64::from(e.start), e.host_end()))
            .collect();
        ranges.sort_unstable();
        let end = u64::from(start) + u64::from(count);
        let mut next = u64::from(start);
        let mut missing = Vec::new();
        for (s, e) in ranges {
            if next >= end {
                break;
            }
            if e <= next {
                continue;
            }
            if s > next {
                missing.push((next, s.min(end)));
            }
            next = next.max(e);
        }
        if next < end {
            missing.push((next, end));
        }
        missing
    }

    /// True when `user`'s ranges (together) cover host ids `start..start+count`.
    pub fn covers(&self, user: &str, start: u32, count: u32) -> bool {
        self.uncovered_host_ids(user, start, count).is_empty()
    }

    /// Appends `root:100000:65536` when root has no range at all; returns what it added.
    ///
    /// A root range elsewhere is left alone: the admin chose it.
    pub fn ensure_root_default(&mut self) -> Vec<SubIdEntry> {
        if self.entries().any(|e| e.user == "root") {
            return Vec::new();
        }
        let entry = SubIdEntry::root_default();
        self.append(entry.clone());
        vec![entry]
    }

    /// Appends, for each wanted delegation, the parts its user's ranges do not cover
    /// yet; returns what it added. Other lines are never removed or reordered.
    pub fn ensure_delegations(&mut self, wanted: &[SubIdEntry]) -> Vec<SubIdEntry> {
        let mut added = Vec::new();
        for want in wanted {
            for (start, end) in self.uncovered_host_ids(&want.user, want.start, want.count) {
                // Both bounds come from a u32 start plus a u32 count clipped to the
                // wanted range, so `start` fits u32; the count may not when the wanted
                // range itself runs past the id space, so clip it there.
                let Ok(start) = u32::try_from(start) else {
                    continue;
                };
                let count = u32::try_from(end - u64::from(start)).unwrap_or(u32::MAX);
                let entry = SubIdEntry::new(want.user.clone(), start, count);
                self.append(entry.clone());
                added.push(entry);
            }
        }
        added
    }

    fn append(&mut self, entry: SubIdEntry) {
        self.lines.push(SubIdLine::Entry {
            text: entry.to_string(),
            entry,
        });
        self.trailing_newline = true;
    }
}

fn parse_line(text: &str) -> Result<SubIdLine, SubIdLineProblem> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Ok(SubIdLine::Blank(text.to_string()))
    } else if trimmed.starts_with('#') {
        Ok(SubIdLine::Comment(text.to_string()))
    } else {
        Ok(SubIdLine::Entry {
            text: text.to_string(),
            entry: parse_entry(text)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display_names_line_problem_and_text() {
        let err = SubIdFile::parse("root:100000:65536\nalice:x:1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: start is not a number from 0 to 4294967295: 'alice:x:1'"
        );
        let cases = [
            ("root:1", "line 1: expected name:start:count: 'root:1'"),
            (
                "\u{0}\u{1b}[2J",
                "line 1: expected name:start:count: '\\u{0}\\u{1b}[2J'",
            ),
            (
                "root:1:2:3",
                "line 1: expected name:start:count: 'root:1:2:3'",
            ),
            (":1:2", "line 1: empty user name: ':1:2'"),
            (
                "root::2",
                "line 1: start is not a number from 0 to 4294967295: 'root::2'",
            ),
            (
                "root:1:4294967296",
                "line 1: count is not a number from 0 to 4294967295: 'root:1:4294967296'",
            ),
            (
                "root:1:-2",
                "line 1: count is not a number from 0 to 4294967295: 'root:1:-2'",
            ),
        ];
        for (src, msg) in cases {
            assert_eq!(SubIdFile::parse(src).unwrap_err().to_string(), msg, "{src}");
        }
    }

    #[test]
    fn round_trips_edge_shapes() {
        for src in [
            "",
            "\n",
            "\n\n",
            "root:1:2",
            "root:1:2\n",
            "# c\n\n  \nroot:1:2\n\n",
        ] {
            assert_eq!(SubIdFile::parse(src).unwrap().render(), src, "{src:?}");
        }
    }

    #[test]
    fn appending_to_a_file_without_final_newline_adds_one_between() {
        let mut f = SubIdFile::parse("alice:1:2").unwrap();
        f.ensure_root_default();
        assert_eq!(f.render(), "alice:1:2\nroot:100000:65536\n");
    }

    #[test]
    fn uncovered_parts_are_exact() {
        let f = SubIdFile::parse("root:100:10\nroot:115:5\nroot:105:2\nbob:110:5\n").unwrap();
        assert_eq!(
            f.uncovered_host_ids("root", 95, 30),
            vec![(95, 100), (110, 115), (120, 125)]
        );
        assert!(f.covers("root", 100, 10));
        assert!(f.covers("root", 0, 0));
        assert!(!f.covers("bob", 100, 11));
    }
}
