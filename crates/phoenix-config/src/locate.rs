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

/// Places many pointers in one text: the first call indexes every member and
/// element once (pointer to offsets) and the line starts, so each later lookup is a
/// hash lookup and a binary search. Without it, a file with thousands of errors
/// would be rescanned from the start for each one.
pub struct Locator<'a> {
    text: &'a str,
    index: std::cell::OnceCell<Option<Index>>,
}

/// Offsets of every pointer: (key or element start, value start), and line starts.
struct Index {
    spans: std::collections::HashMap<String, (usize, usize)>,
    root: usize,
    lines: Vec<usize>,
}

impl<'a> Locator<'a> {
    /// A locator over `text` (nothing is scanned until the first lookup).
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            index: std::cell::OnceCell::new(),
        }
    }

    /// As [`locate`], the same answers.
    pub fn locate(&self, pointer: &str, target: Target) -> Option<Position> {
        let Some(index) = self.index.get_or_init(|| Index::build(self.text)) else {
            return locate(self.text, pointer, target);
        };
        let offset = match index.spans.get(pointer) {
            Some(&(key, value)) => {
                if target == Target::Key {
                    key
                } else {
                    value
                }
            }
            None => {
                // The nearest ancestor that exists, at its key.
                let mut p = pointer;
                loop {
                    match p.rfind('/') {
                        Some(i) => p = &p[..i],
                        None => break index.root,
                    }
                    if p.is_empty() {
                        break index.root;
                    }
                    if let Some(&(key, _)) = index.spans.get(p) {
                        break key;
                    }
                }
            }
        };
        let line = index.lines.partition_point(|&start| start <= offset);
        let start = index.lines[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Some(Position { line, column })
    }
}

impl Index {
    fn build(text: &str) -> Option<Index> {
        let mut s = Scanner {
            b: text.as_bytes(),
            i: 0,
        };
        s.ws();
        s.peek()?;
        let root = s.i;
        let mut spans = std::collections::HashMap::new();
        index_value(&mut s, &mut String::new(), &mut spans)?;
        let mut lines = vec![0];
        lines.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Some(Index { spans, root, lines })
    }
}

/// Records the members and elements of the value at `s` (after whitespace); the
/// text has parsed as JSON, which bounds the nesting depth.
fn index_value(
    s: &mut Scanner<'_>,
    pointer: &mut String,
    spans: &mut std::collections::HashMap<String, (usize, usize)>,
) -> Option<()> {
    match s.peek()? {
        b'{' => {
            s.i += 1;
            loop {
                s.ws();
                if s.peek()? == b'}' {
                    s.i += 1;
                    return Some(());
                }
                let key_at = s.i;
                let key = s.string()?;
                s.ws();
                s.expect(b':')?;
                s.ws();
                let len = pointer.len();
                pointer.push('/');
                crate::diagnostic::push_segment(pointer, &key);
                // The first of duplicate keys wins, as in `locate`.
                spans.entry(pointer.clone()).or_insert((key_at, s.i));
                index_value(s, pointer, spans)?;
                pointer.truncate(len);
                s.ws();
                if s.peek()? == b',' {
                    s.i += 1;
                }
            }
        }
        b'[' => {
            s.i += 1;
            let mut n = 0usize;
            loop {
                s.ws();
                if s.peek()? == b']' {
                    s.i += 1;
                    return Some(());
                }
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&n.to_string());
                spans.entry(pointer.clone()).or_insert((s.i, s.i));
                index_value(s, pointer, spans)?;
                pointer.truncate(len);
                n += 1;
                s.ws();
                if s.peek()? == b',' {
                    s.i += 1;
                }
            }
        }
        _ => s.skip_value(),
    }
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
                    if *key == **seg {
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
    let _ = duplicates_in(&mut s, &mut Vec::new(), &mut out);
    out
}

/// One step of a path: an object key or an array index.
enum Step<'a> {
    Key(std::borrow::Cow<'a, str>),
    Index(usize),
}

fn pointer_of(path: &[Step<'_>]) -> String {
    let mut p = String::new();
    for step in path {
        p.push('/');
        match step {
            Step::Key(k) => crate::diagnostic::push_segment(&mut p, k),
            Step::Index(i) => p.push_str(&i.to_string()),
        }
    }
    p
}

fn duplicates_in<'a>(
    s: &mut Scanner<'a>,
    path: &mut Vec<Step<'a>>,
    out: &mut Vec<(String, usize)>,
) -> Option<()> {
    s.ws();
    match s.peek()? {
        b'{' => {
            s.i += 1;
            // Most objects are small and a linear scan is fastest; a map of ten
            // thousand containers needs a hash set.
            let mut seen: Vec<std::borrow::Cow<'a, str>> = Vec::new();
            let mut many: std::collections::HashSet<std::borrow::Cow<'a, str>> = Default::default();
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
                let duplicate = if seen.len() < 16 {
                    let dup = seen.contains(&key);
                    seen.push(key.clone());
                    dup
                } else {
                    if many.is_empty() {
                        many.extend(seen.iter().cloned());
                    }
                    !many.insert(key.clone())
                };
                path.push(Step::Key(key));
                if duplicate {
                    out.push((pointer_of(path), at));
                }
                duplicates_in(s, path, out)?;
                path.pop();
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
                path.push(Step::Index(index));
                duplicates_in(s, path, out)?;
                path.pop();
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

impl<'a> Scanner<'a> {
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

    /// Reads a string starting at `"` and returns the text between the quotes,
    /// undecoded.
    fn raw_string(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return std::str::from_utf8(&self.b[start + 1..self.i - 1]).ok();
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
    }

    /// Reads a string starting at `"` and returns its decoded text.
    fn string(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        let raw = self.raw_string()?;
        if raw.contains('\\') {
            serde_json::from_str::<String>(&format!("\"{raw}\""))
                .ok()
                .map(Into::into)
        } else {
            Some(raw.into())
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.raw_string().map(|_| ()),
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
    fn the_locator_gives_the_same_answers_as_locate() {
        let text = "{\n  \"a\": [1, {\"b\": 2}],\n  \"c~/d\": {\"e\": \"x\"}, \"a\": 3\n}";
        let l = Locator::new(text);
        for p in [
            "",
            "/a",
            "/a/0",
            "/a/1",
            "/a/1/b",
            "/a/7",
            "/a/1/zz/y",
            "/c~0~1d/e",
            "/nope",
        ] {
            for t in [Target::Key, Target::Value] {
                assert_eq!(l.locate(p, t), locate(text, p, t), "{p} {t:?}");
            }
        }
    }

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
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\": 1", i % 30)).collect();
        let dups = duplicate_keys(&format!("{{{}}}", many.join(", ")));
        assert_eq!(dups.len(), 10);
        assert_eq!(dups[0].0, "/k0");
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
