//! What validation reports: one [`Diagnostic`] per problem, with file, JSON
//! pointer, line and column.

use std::fmt;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config cannot be used (exit 2).
    Error,
    /// Legal but risky (printed, exit 0).
    Warning,
}

/// One problem found in a config directory.
///
/// ```
/// use phoenix_config::{Diagnostic, Severity};
/// let d = Diagnostic {
///     severity: Severity::Error,
///     file: "phoenix_lxc_configs.json".into(),
///     pointer: "/lxc_configs/101".into(),
///     line: Some(14),
///     column: Some(13),
///     message: "unknown field \"memroy_mb\" at /lxc_configs/101: did you mean \"memory_mb\"?".into(),
/// };
/// assert_eq!(
///     d.to_string(),
///     "phoenix_lxc_configs.json:14:13: unknown field \"memroy_mb\" at /lxc_configs/101: did you mean \"memory_mb\"?"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file name inside the config directory.
    pub file: String,
    /// JSON pointer to the value concerned (`""` for the whole document).
    pub pointer: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What is wrong; it names the pointer.
    pub message: String,
}

impl Diagnostic {
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&escape_for_terminal(&self.message))
    }
}

/// `text` with every character a config string may not hold (control characters,
/// line breaks, bidi controls: the strings check) written as `\u{..}`, so
/// what phoenix prints from input cannot move the cursor, recolour the terminal or
/// fake a second line.
///
/// ```
/// assert_eq!(phoenix_config::diagnostic::escape_for_terminal("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\u{a}");
/// ```
pub fn escape_for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| crate::check::strings::refused_char(c).is_some())
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if crate::check::strings::refused_char(c).is_some() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Renders a JSON pointer for messages: the pointer itself, or `/` for the
/// document root (whose pointer is the empty string).
pub(crate) fn show_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// Escapes one JSON pointer segment (`~` and `/`).
pub(crate) fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    push_segment(&mut out, segment);
    out
}

/// [`escape_segment`] appended to `out` (a config of 10,000 containers has some
/// 200,000 keys, nearly none with `~` or `/`).
pub(crate) fn push_segment(out: &mut String, segment: &str) {
    if !segment.contains(['~', '/']) {
        out.push_str(segment);
        return;
    }
    for c in segment.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(severity: Severity, line: Option<usize>, column: Option<usize>) -> Diagnostic {
        Diagnostic {
            severity,
            file: "f.json".into(),
            pointer: "/a".into(),
            line,
            column,
            message: "m".into(),
        }
    }

    #[test]
    fn display_forms() {
        assert_eq!(
            diag(Severity::Error, Some(1), Some(2)).to_string(),
            "f.json:1:2: m"
        );
        assert_eq!(
            diag(Severity::Warning, Some(1), None).to_string(),
            "f.json:1: warning: m"
        );
        assert_eq!(diag(Severity::Error, None, None).to_string(), "f.json: m");
    }

    #[test]
    fn json_form() {
        let v = serde_json::to_value(diag(Severity::Warning, Some(3), Some(4))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"severity": "warning", "file": "f.json", "pointer": "/a", "line": 3, "column": 4, "message": "m"})
        );
    }

    #[test]
    fn pointer_helpers() {
        assert_eq!(show_pointer(""), "/");
        assert_eq!(escape_segment("a/b~c"), "a~1b~0c");
    }
}
