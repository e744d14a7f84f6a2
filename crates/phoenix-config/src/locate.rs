//! Finds the line and column of a JSON pointer in the raw text of a document.
//!
//! serde_json's `Value` forgets positions, so diagnostics found on values are
//! placed by walking the text again: a small scanner that skips values without
//! building them. It only runs for diagnostics, never on the happy path.

/// A 1-based line and column (the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Which part of an object member to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value.
    Value,
    /// The member's key (the value for array elements and the root).
    Key,
}

/// The position of `pointer` in `text`, or of its nearest ancestor that exists.
/// `None` only when `text` is not JSON.
///
/// ```
/// use phoenix_config::locate::{locate, Position, Target};
/// let text = "{\n  \"a\": [1, {\"b\": 2}]\n}";
/// assert_eq!(locate(text, "/a/1/b", Target::Key), Some(Position { line: 2, column: 13 }));
/// assert_eq!(locate(text, "/a/1/b", Target::Value), Some(Position { line: 2, column: 18 }));
/// assert_eq!(locate(text, "/a/7", Target::Value), Some(Position { line: 2, column: 3 }));
/// ```
pub fn locate(text: &str, pointer: &str, target: Target) -> Option<Position> {
    let offset = locate_offset(text, pointer, target)?;
    Some(position_of(text, offset))
}

/// The line and column of a byte offset.
pub fn position_of(text: &str, offset: usize) -> Position {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn locate_offset(text: &str, pointer: &str, target: Target) -> Option<usize> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    s.ws();
    s.peek()?;
    // Where the deepest segment found so far starts (its key, for object members):
    // a missing child is reported there.
    let mut fallback = s.i;
    if pointer.is_empty() {
        return Some(fallback);
    }
    let segments: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
    for (n, seg) in segments.iter().enumerate() {
        let last = n + 1 == segments.len();
        s.ws();
        match s.peek()? {
            b'{' => {
                s.i += 1;
                let mut hit = None;
                loop {
                    s.ws();
                    if s.peek()? == b'}' {
                        break;
                    }
                    let key_at = s.i;
                    let key = s.string()?;
                    s.ws();
                    s.expect(b':')?;
                    s.ws();
                    if key == *seg {
                        hit = Some(key_at);
                        break;
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? == b',' {
                        s.i += 1;
                    }
                }
                let Some(key_at) = hit else {
                    return Some(fallback);
                };
                if last {
                    return Some(if target == Target::Key { key_at } else { s.i });
                }
                fallback = key_at;
            }
            b'[' => {
                s.i += 1;
                let Ok(index) = seg.parse::<usize>() else {
                    return Some(fallback);
                };
                for _ in 0..index {
                    s.ws();
                    if s.peek()? == b']' {
                        return Some(fallback);
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? == b',' {
                        s.i += 1;
                    }
                }
                s.ws();
                if s.peek()? == b']' {
                    return Some(fallback);
                }
                if last {
                    return Some(s.i);
                }
                fallback = s.i;
            }
            _ => return Some(fallback),
        }
    }
    Some(fallback)
}

/// Keys that appear twice in one object, as (pointer, byte offset of the second
/// key). A JSON parser keeps only the last value, so the first is silently lost;
/// `text` must already have parsed as JSON (which bounds its nesting depth).
///
/// ```
/// let dups = phoenix_config::locate::duplicate_keys(r#"{"a": {"x": 1, "x": 2}}"#);
/// assert_eq!(dups, vec![("/a/x".to_string(), 15)]);
/// ```
pub fn duplicate_keys(text: &str) -> Vec<(String, usize)> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    let _ = duplicates_in(&mut s, &mut String::new(), &mut out);
    out
}

fn duplicates_in(
    s: &mut Scanner<'_>,
    path: &mut String,
    out: &mut Vec<(String, usize)>,
) -> Option<()> {
    s.ws();
    match s.peek()? {
        b'{' => {
            s.i += 1;
            let mut seen = std::collections::HashSet::new();
            loop {
                s.ws();
                if s.peek()? == b'}' {
                    s.i += 1;
                    return Some(());
                }
                let at = s.i;
                let key = s.string()?;
                s.ws();
                s.expect(b':')?;
                let len = path.len();
                path.push('/');
                path.push_str(&crate::diagnostic::escape_segment(&key));
                if !seen.insert(key) {
                    out.push((path.clone(), at));
                }
                duplicates_in(s, path, out)?;
                path.truncate(len);
                s.ws();
                if s.peek()? == b',' {
                    s.i += 1;
                }
            }
        }
        b'[' => {
            s.i += 1;
            let mut index = 0usize;
            loop {
                s.ws();
                if s.peek()? == b']' {
                    s.i += 1;
                    return Some(());
                }
                let len = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                duplicates_in(s, path, out)?;
                path.truncate(len);
                index += 1;
                s.ws();
                if s.peek()? == b',' {
                    s.i += 1;
                }
            }
        }
        _ => s.skip_value(),
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Reads a string starting at `"` and returns its decoded text.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    let raw = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                    return serde_json::from_str(raw).ok();
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                loop {
                    self.ws();
                    match self.peek()? {
                        c if c == close => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' | b':' => self.i += 1,
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
    "lxc_configs": {
        "101": {
            "name": "gw",
            "memroy_mb": 64,
            "tags": ["a,]", "b\"}"],
            "x/y": {"~": true}
        }
    }
}"#;

    #[test]
    fn finds_keys_and_values() {
        let at = |p, t| locate(DOC, p, t).map(|p| (p.line, p.column));
        assert_eq!(at("/lxc_configs/101/memroy_mb", Target::Key), Some((5, 13)));
        assert_eq!(
            at("/lxc_configs/101/memroy_mb", Target::Value),
            Some((5, 26))
        );
        assert_eq!(at("/lxc_configs/101/tags/1", Target::Value), Some((6, 29)));
        assert_eq!(at("/lxc_configs/101/x~1y/~0", Target::Key), Some((7, 21)));
        assert_eq!(at("", Target::Key), Some((1, 1)));
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let at = |p| locate(DOC, p, Target::Key).map(|p| (p.line, p.column));
        assert_eq!(at("/lxc_configs/101/unprivileged"), Some((3, 9)));
        assert_eq!(at("/lxc_configs/101/tags/9"), Some((6, 13)));
        assert_eq!(at("/lxc_configs/101/name/0"), Some((4, 13)));
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        let text = r#"{"l": {"101": {"a": [1, {"k": 1, "k": 2}]}, "101": {}}, "l": 1}"#;
        let dups: Vec<String> = duplicate_keys(text).into_iter().map(|(p, _)| p).collect();
        assert_eq!(dups, vec!["/l/101/a/1/k", "/l/101", "/l"]);
        assert!(duplicate_keys(DOC).is_empty());
    }

    #[test]
    fn columns_count_characters() {
        let text = "{\"é\": 1, \"b\": 2}";
        assert_eq!(
            locate(text, "/b", Target::Key),
            Some(Position {
                line: 1,
                column: 10
            })
        );
    }
}
