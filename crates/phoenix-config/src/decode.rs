//! Config bytes to text: UTF-8 only, without a byte order mark. A file saved as
//! UTF-16 or with a BOM by an editor is refused naming the file and where, rather
//! than reported as a confusing JSON syntax error at 1:1.

use crate::diagnostic::{Diagnostic, Severity};
use crate::schema::ConfigFile;

fn refuse(file: ConfigFile, line: usize, column: usize, message: String) -> Box<Diagnostic> {
    Box::new(Diagnostic {
        severity: Severity::Error,
        file: file.file_name().to_owned(),
        pointer: String::new(),
        line: Some(line),
        column: Some(column),
        message,
    })
}

/// The text of `bytes`, or an error diagnostic naming the file and the position.
pub(crate) fn decode(file: ConfigFile, bytes: Vec<u8>) -> Result<String, Box<Diagnostic>> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(refuse(
            file,
            1,
            1,
            "the file starts with a UTF-8 byte order mark; save it as UTF-8 without a BOM".into(),
        ));
    }
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || (bytes.len() >= 2 && (bytes[0] == 0 || bytes[1] == 0));
    if utf16 {
        return Err(refuse(
            file,
            1,
            1,
            "the file is UTF-16 (or holds NUL bytes); phoenix reads UTF-8 JSON only".into(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let good = &e.as_bytes()[..at];
        // `good` is valid UTF-8 by construction.
        let before = std::str::from_utf8(good).unwrap_or_default();
        let pos = crate::locate::position_of(before, before.len());
        refuse(
            file,
            pos.line,
            pos.column,
            format!("invalid UTF-8 at byte {at}; phoenix reads UTF-8 JSON only"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_utf16_and_bad_bytes_name_the_position() {
        let f = ConfigFile::Lxc;
        let e = decode(f, b"\xEF\xBB\xBF{}".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "phoenix_lxc_configs.json:1:1: the file starts with a UTF-8 byte order mark; save it as UTF-8 without a BOM"
        );
        let e = decode(f, b"\xFF\xFE{\x00}\x00".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "phoenix_lxc_configs.json:1:1: the file is UTF-16 (or holds NUL bytes); phoenix reads UTF-8 JSON only"
        );
        let e = decode(f, b"{\n  \"a\": \"\xC3(\"}".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "phoenix_lxc_configs.json:2:9: invalid UTF-8 at byte 10; phoenix reads UTF-8 JSON only"
        );
        assert_eq!(decode(f, b"{}".to_vec()).unwrap(), "{}");
    }
}
