//! How one line of a CT conf is classified: Proxmox's `parse_pct_config` rules, first match wins.

use std::ops::Range;

use super::lxc_keys::{LxcKeyValidity, lxc_key_validity};
use super::warning::WarningKind;

/// Perl's `\s` on a byte string: space, tab, newline, carriage return, form feed, vertical tab.
pub(crate) fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// What a line is. Ranges index into the line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Whitespace only: skipped by Proxmox.
    Blank,
    /// `[pve:pending]` or `[snapshot]`: opens a section.
    Header,
    /// `#text`: a description line; the range is the encoded text after `#`.
    Comment(Range<usize>),
    /// A raw `lxc.*` entry Proxmox keeps (whitelisted, possibly with a warning).
    Lxc {
        key: Range<usize>,
        value: Range<usize>,
    },
    /// `description: text`.
    Description(Range<usize>),
    /// `key: value`, including `snapstate:` and (in `[pve:pending]`) `delete:`.
    Key {
        key: Range<usize>,
        value: Range<usize>,
    },
    /// A line Proxmox warns about and drops on its next rewrite.
    Dropped,
}

/// A section header found on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderKind {
    /// `[pve:pending]`, any case.
    Pending,
    /// `[name]`, the name as written.
    Snapshot(String),
}

/// Rule 2: `^\[pve:pending\]\s*$`i or `^\[([a-z][a-z0-9_\-]+)\]\s*$`i.
pub(crate) fn header(text: &str) -> Option<HeaderKind> {
    let rest = text.strip_prefix('[')?;
    let close = rest.find(']')?;
    let (name, tail) = (&rest[..close], &rest[close + 1..]);
    if !tail.chars().all(is_perl_space) {
        return None;
    }
    if name.eq_ignore_ascii_case("pve:pending") {
        return Some(HeaderKind::Pending);
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok =
        name.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (first_ok && rest_ok).then(|| HeaderKind::Snapshot(name.to_owned()))
}

/// The range of `text[from..]` with Perl whitespace trimmed on both sides.
fn trimmed(text: &str, from: usize) -> Range<usize> {
    let rest = &text[from..];
    let start = from + (rest.len() - rest.trim_start_matches(is_perl_space).len());
    let end = from + rest.trim_end_matches(is_perl_space).len();
    start..end.max(start)
}

/// `:\s*(.*\S)\s*$` after a key: the trimmed value, which must hold a non-space.
fn nonblank_value(text: &str, colon: usize) -> Option<Range<usize>> {
    let r = trimmed(text, colon + 1);
    (!r.is_empty()).then_some(r)
}

/// `:\s*(.+?)\s*$` after a key. Like [`nonblank_value`], but a value of only whitespace
/// still matches: Perl backtracks and captures its last character.
fn key_value(text: &str, colon: usize) -> Option<Range<usize>> {
    if colon + 1 >= text.len() {
        return None;
    }
    match nonblank_value(text, colon) {
        Some(r) => Some(r),
        None => {
            let last = text[colon + 1..].chars().next_back()?;
            Some(text.len() - last.len_utf8()..text.len())
        }
    }
}

/// Rule 8's key: `^[a-z][a-z_]*\d*:`; returns the index of the colon.
fn plain_key(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_lowercase() {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() && (bytes[i].is_ascii_lowercase() || bytes[i] == b'_') {
        i += 1;
    }
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    (bytes.get(i) == Some(&b':')).then_some(i)
}

/// Rule 4: `^(lxc\.[a-z0-9_\-\.]+)(:|\s*=)\s*(.*?)\s*$`; returns key and value ranges.
pub(crate) fn lxc_entry(text: &str) -> Option<(Range<usize>, Range<usize>)> {
    let rest = text.strip_prefix("lxc.")?;
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(b))
        .count();
    if name_len == 0 {
        return None;
    }
    let key_end = 4 + name_len;
    let after = &text[key_end..];
    let sep_end = if after.starts_with(':') {
        key_end + 1
    } else {
        let spaces = after.len() - after.trim_start_matches(is_perl_space).len();
        if !after[spaces..].starts_with('=') {
            return None;
        }
        key_end + spaces + 1
    };
    Some((0..key_end, trimmed(text, sep_end)))
}

/// Classifies one line (without its `\n`). `in_pending` tells whether `delete:` is allowed.
pub(crate) fn classify(text: &str, in_pending: bool) -> (LineKind, Option<WarningKind>) {
    if text.chars().all(is_perl_space) {
        return (LineKind::Blank, None);
    }
    if header(text).is_some() {
        return (LineKind::Header, None);
    }
    if text.starts_with('#') {
        return (LineKind::Comment(1..text.len()), None);
    }
    if let Some((key, value)) = lxc_entry(text) {
        let name = &text[key.clone()];
        return match lxc_key_validity(name) {
            LxcKeyValidity::Accepted => (LineKind::Lxc { key, value }, None),
            LxcKeyValidity::Warned(kind) => (LineKind::Lxc { key, value }, Some(kind)),
            LxcKeyValidity::Rejected(kind) => (LineKind::Dropped, Some(kind)),
            LxcKeyValidity::Unknown => (LineKind::Dropped, Some(unparsable(text))),
        };
    }
    if let Some(value) = text
        .strip_prefix("description:")
        .and_then(|_| nonblank_value(text, "description".len()))
    {
        return (LineKind::Description(value), None);
    }
    if text.starts_with("snapstate:") {
        let value = trimmed(text, "snapstate:".len());
        if matches!(&text[value.clone()], "prepare" | "delete") {
            return (LineKind::Key { key: 0..9, value }, None);
        }
    }
    if let Some(value) = text
        .strip_prefix("delete:")
        .and_then(|_| nonblank_value(text, "delete".len()))
    {
        if in_pending {
            return (LineKind::Key { key: 0..6, value }, None);
        }
        return (LineKind::Dropped, Some(WarningKind::DeleteOutsidePending));
    }
    if let Some((colon, value)) =
        plain_key(text).and_then(|colon| Some((colon, key_value(text, colon)?)))
    {
        let warning = super::schema::check_value(&text[..colon], &text[value.clone()]).err();
        return (
            LineKind::Key {
                key: 0..colon,
                value,
            },
            warning,
        );
    }
    (LineKind::Dropped, Some(unparsable(text)))
}

fn unparsable(text: &str) -> WarningKind {
    WarningKind::UnparsableLine {
        line: text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Option<(String, String)> {
        match classify(text, false).0 {
            LineKind::Key { key, value } | LineKind::Lxc { key, value } => {
                Some((text[key].to_owned(), text[value].to_owned()))
            }
            _ => None,
        }
    }

    #[test]
    fn plain_keys_are_trimmed() {
        assert_eq!(kv("memory:  512 \r"), Some(("memory".into(), "512".into())));
        assert_eq!(
            kv("net0:name=eth0"),
            Some(("net0".into(), "name=eth0".into()))
        );
        // Perl backtracking: a whitespace-only value captures its last character.
        assert_eq!(kv("foo:  \t"), Some(("foo".into(), "\t".into())));
        assert_eq!(kv("memory:"), None);
        assert_eq!(kv("Memory: 5"), None);
        assert_eq!(kv("net0a: x"), None);
        assert_eq!(kv(" memory: 5"), None);
    }

    #[test]
    fn lxc_keys_in_both_forms() {
        let want = Some(("lxc.idmap".into(), "u 0 100000 65536".into()));
        assert_eq!(kv("lxc.idmap: u 0 100000 65536"), want);
        assert_eq!(kv("lxc.idmap = u 0 100000 65536"), want);
        assert_eq!(kv("lxc.idmap=u 0 100000 65536  "), want);
        assert_eq!(kv("lxc.idmap\t=\tu 0 100000 65536"), want);
        assert_eq!(kv("lxc.idmap:"), Some(("lxc.idmap".into(), String::new())));
        assert_eq!(kv("lxc.idmap u 0 1 1"), None);
        assert_eq!(kv("LXC.idmap: u 0 1 1"), None);
    }

    #[test]
    fn headers() {
        assert_eq!(header("[PVE:Pending]  "), Some(HeaderKind::Pending));
        assert_eq!(
            header("[Snap_1-a]"),
            Some(HeaderKind::Snapshot("Snap_1-a".into()))
        );
        assert_eq!(header("[a]"), None);
        assert_eq!(header("[1abc]"), None);
        assert_eq!(header(" [abc]"), None);
        assert_eq!(header("[abc] x"), None);
    }

    #[test]
    fn special_keys() {
        assert_eq!(
            classify("delete: a,b", true).0,
            LineKind::Key {
                key: 0..6,
                value: 8..11
            }
        );
        let (kind, warning) = classify("delete: a,b", false);
        assert_eq!(kind, LineKind::Dropped);
        assert_eq!(warning, Some(WarningKind::DeleteOutsidePending));
        assert_eq!(
            classify("snapstate: prepare", false).0,
            LineKind::Key {
                key: 0..9,
                value: 11..18
            }
        );
        assert_eq!(
            classify("description: hi ", false).0,
            LineKind::Description(13..15)
        );
        assert_eq!(classify("#x", false).0, LineKind::Comment(1..2));
        assert_eq!(classify("  #x", false).0, LineKind::Dropped);
        assert_eq!(classify(" \t\r", false).0, LineKind::Blank);
    }
}
