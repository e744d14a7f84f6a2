//! Characters no config string may hold, in any file, key or value.
//!
//! Config strings reach CT conf lines, host paths, argv, AppArmor profiles and the
//! terminal. A NUL ends a C string early; a newline starts a new conf line or
//! profile rule; an escape sequence (`ESC [`) rewrites what an operator sees; NEL,
//! U+2028 and U+2029 are line breaks to some readers and not to others; bidi
//! controls reorder what is displayed. None has a use in a config, so each is
//! refused where it is, before the schema pass. The one exception: a `description`
//! may hold newlines and tabs (Proxmox encodes them).

use std::fmt::Write as _;

use serde_json::Value;

use super::Finding;
use crate::diagnostic::push_segment;
use crate::schema::ConfigFile;

/// The name of a character phoenix refuses in a config string, `None` for the rest.
pub fn refused_char(c: char) -> Option<&'static str> {
    Some(match c {
        '\0' => "NUL",
        '\u{1b}' => "an escape (ESC)",
        '\n' | '\r' => "a line break",
        '\u{85}' => "NEL (next line)",
        '\u{2028}' => "U+2028 (line separator)",
        '\u{2029}' => "U+2029 (paragraph separator)",
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
            "a bidirectional text control"
        }
        '\u{feff}' => "a byte order mark",
        c if c.is_control() => "a control character",
        _ => return None,
    })
}

/// Every refused character in `value`'s strings and keys, one finding per string.
pub(crate) fn check(file: ConfigFile, value: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    walk(file, value, &mut String::new(), false, &mut out);
    out
}

fn bad(s: &str, multiline: bool) -> Option<(char, &'static str)> {
    s.chars()
        .filter(|c| !(multiline && matches!(c, '\n' | '\t')))
        .find_map(|c| refused_char(c).map(|why| (c, why)))
}

fn walk(
    file: ConfigFile,
    value: &Value,
    pointer: &mut String,
    multiline: bool,
    out: &mut Vec<Finding>,
) {
    match value {
        Value::String(s) => {
            if let Some((c, why)) = bad(s, multiline) {
                out.push(Finding::error(
                    file,
                    pointer.clone(),
                    format!(
                        "{why} (U+{:04X}) in the string at {}: config strings reach conf lines, paths, commands and the terminal, so control and line-break characters are refused",
                        u32::from(c),
                        crate::diagnostic::show_pointer(pointer)
                    ),
                ));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = pointer.len();
                let _ = write!(pointer, "/{i}");
                walk(file, v, pointer, multiline, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = pointer.len();
                pointer.push('/');
                push_segment(pointer, k);
                if let Some((c, why)) = bad(k, false) {
                    out.push(
                        Finding::error(
                            file,
                            pointer.clone(),
                            format!(
                                "{why} (U+{:04X}) in a key at {}: keys are names, so control and line-break characters are refused",
                                u32::from(c),
                                crate::diagnostic::show_pointer(&pointer[..len])
                            ),
                        )
                        .at_key(),
                    );
                }
                walk(file, v, pointer, k == "description", out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_with_their_pointer() {
        let v: Value = serde_json::from_str(
            r#"{"a": ["ok", "x\u001b[31m"], "b\u0000": 1, "description": "two\nlines", "c": "\u2028"}"#,
        )
        .unwrap();
        let f: Vec<String> = check(ConfigFile::Lxc, &v)
            .into_iter()
            .map(|f| format!("{} {}", f.pointer, f.message))
            .collect();
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(
            f[0].starts_with("/a/1 an escape (ESC) (U+001B) in the string at /a/1"),
            "{}",
            f[0]
        );
        assert!(
            f[1].starts_with("/b\u{0} NUL (U+0000) in a key at /"),
            "{}",
            f[1]
        );
        assert!(
            f[2].starts_with("/c U+2028 (line separator) (U+2028)"),
            "{}",
            f[2]
        );
    }
}
