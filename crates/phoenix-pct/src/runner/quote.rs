//! Shell-style quoting for reading only: transcripts and error messages show a
//! command as one line a person could paste, but phoenix never hands that line
//! to a shell. Commands always run from their argv.

use std::ffi::OsStr;
use std::fmt::Write as _;

/// Characters that never need quoting in a POSIX shell word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-+=/.,:@%^".contains(c)
}

/// Quotes one word: bare when it is made of plain characters, otherwise inside
/// single quotes (an embedded `'` becomes `'\''`), or as `$'...'` with escapes
/// when it holds control characters, so a command always stays on one line.
/// Non-UTF-8 bytes are shown as U+FFFD: the line is for reading, not running.
pub(crate) fn quote_word(word: &OsStr) -> String {
    let mut out = String::new();
    let _ = write_word(&mut out, &word.to_string_lossy());
    out
}

/// [`quote_word`] written to `out` (a plain word is copied as it is, without a
/// `String` of its own).
pub(crate) fn write_word(out: &mut impl std::fmt::Write, word: &str) -> std::fmt::Result {
    if !word.is_empty() && word.chars().all(is_plain) {
        return out.write_str(word);
    }
    if word.chars().any(char::is_control) {
        out.write_str("$'")?;
        for c in word.chars() {
            match c {
                '\n' => out.write_str("\\n")?,
                '\t' => out.write_str("\\t")?,
                '\r' => out.write_str("\\r")?,
                '\\' => out.write_str("\\\\")?,
                '\'' => out.write_str("\\'")?,
                c if c.is_control() => write!(out, "\\x{:02x}", u32::from(c))?,
                c => out.write_char(c)?,
            }
        }
        return out.write_char('\'');
    }
    out.write_char('\'')?;
    for c in word.chars() {
        if c == '\'' {
            out.write_str("'\\''")?;
        } else {
            out.write_char(c)?;
        }
    }
    out.write_char('\'')
}

/// Joins words into one shell-quoted line.
pub(crate) fn quote_line<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut out = String::new();
    for (i, w) in words.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{}", quote_word(w.as_ref()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(
            quote_line(["pct", "set", "100", "--net0", "name=eth0,bridge=vmbr0"]),
            "pct set 100 --net0 name=eth0,bridge=vmbr0"
        );
    }

    #[test]
    fn spaces_quotes_and_empty_words_are_quoted() {
        assert_eq!(
            quote_line(["echo", "a b", "it's", "", "$HOME"]),
            r#"echo 'a b' 'it'\''s' '' '$HOME'"#
        );
    }

    #[test]
    fn control_characters_keep_the_command_on_one_line() {
        assert_eq!(
            quote_line([
                "pct",
                "set",
                "100",
                "--description",
                "Owner: me\nit's\t\\ \u{1b}"
            ]),
            r#"pct set 100 --description $'Owner: me\nit\'s\t\\ \x1b'"#
        );
    }
}
