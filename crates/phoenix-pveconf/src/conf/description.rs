//! The description's `#` line encoding (pve-common `encode_text` / `decode_text`).

/// Encodes one description line: every byte outside 0x20-0x24, 0x26-0x39 and 0x3b-0x7e
/// becomes `%XX` (uppercase). So `%`, `:`, control characters and non-ASCII UTF-8 bytes are
/// encoded, while spaces and `#` are not.
pub fn encode_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if matches!(b, 0x20..=0x24 | 0x26..=0x39 | 0x3b..=0x7e) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (either case) and reads the bytes as UTF-8; invalid sequences become
/// U+FFFD, as Perl's lax `Encode::decode` does. A `%` not followed by two hex digits stays.
pub fn decode_text(data: &str) -> String {
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| hex_pair(bytes[i + 1], bytes[i + 2]))
            .flatten();
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    Some((digit(hi)? * 16 + digit(lo)?) as u8)
}

/// The `#` lines Proxmox writes for a description: one per line of text (Perl's `split /\n/`,
/// so trailing empty lines vanish and inner empty lines become a bare `#`).
pub fn comment_lines(description: &str) -> Vec<String> {
    let mut parts: Vec<&str> = description.split('\n').collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .iter()
        .map(|p| format!("#{}", encode_text(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxmox_example() {
        assert_eq!(encode_text("Owner: me 100% ä"), "Owner%3A me 100%25 %C3%A4");
        assert_eq!(decode_text("Owner%3A me 100%25 %C3%A4"), "Owner: me 100% ä");
        assert_eq!(encode_text("# tab\there"), "# tab%09here");
    }

    #[test]
    fn decoding_is_lenient() {
        assert_eq!(decode_text("100%"), "100%");
        assert_eq!(decode_text("%zz%4"), "%zz%4");
        assert_eq!(decode_text("%c3%a4"), "ä");
        assert_eq!(decode_text("%FF"), "\u{FFFD}");
    }

    #[test]
    fn comment_lines_split_like_perl() {
        assert_eq!(comment_lines("a\n\nb:\n\n"), ["#a", "#", "#b%3A"]);
        assert!(comment_lines("").is_empty());
    }
}
