//! The type of each plain CT conf key (pve-container's `$confdesc`), as far as parsing checks it.

use super::warning::WarningKind;

/// How Proxmox's `check_type` treats a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `1 0 on off yes no true false`, any case; normalised to `1`/`0`.
    Boolean,
    /// `^\d+$`; normalised by Perl's `int()` (leading zeros go).
    Integer,
    /// `^\d+(\.\d+)?$`; kept as written.
    Number,
    /// Any text (formats are not checked here).
    String,
}

const BOOLEANS: &[&str] = &[
    "console",
    "debug",
    "onboot",
    "protection",
    "template",
    "unprivileged",
];
const INTEGERS: &[&str] = &["cores", "cpuunits", "memory", "snaptime", "swap", "tty"];
const NUMBERS: &[&str] = &["cpulimit"];
const STRINGS: &[&str] = &[
    "arch",
    "cmode",
    "description",
    "entrypoint",
    "env",
    "features",
    "hookscript",
    "hostname",
    "lock",
    "nameserver",
    "ostype",
    "parent",
    "rootfs",
    "searchdomain",
    "startup",
    "tags",
    "timezone",
];
/// Indexed keys and how many of each exist (`net0`..`net31`, `mp0`..`mp255`, ...).
const INDEXED: &[(&str, u32)] = &[("net", 32), ("mp", 256), ("unused", 256), ("dev", 256)];

/// The type of `key`, or `None` for a key Proxmox does not know.
pub fn key_type(key: &str) -> Option<KeyType> {
    if BOOLEANS.contains(&key) {
        return Some(KeyType::Boolean);
    }
    if INTEGERS.contains(&key) {
        return Some(KeyType::Integer);
    }
    if NUMBERS.contains(&key) {
        return Some(KeyType::Number);
    }
    if STRINGS.contains(&key) {
        return Some(KeyType::String);
    }
    let digits = key.len() - key.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (base, index) = key.split_at(key.len() - digits);
    let (_, count) = INDEXED.iter().find(|(b, _)| *b == base)?;
    // `net00` is not `net0`: Proxmox's keys are generated as "net$i".
    let index_ok = !index.is_empty() && (index == "0" || !index.starts_with('0'));
    let n: u32 = index.parse().ok()?;
    (index_ok && n < *count).then_some(KeyType::String)
}

/// Proxmox's boolean reading: `Some(true|false)` for the accepted spellings.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `check_type`: the normalised value, or the warning Proxmox prints (the raw value is then kept).
pub(crate) fn check_value(key: &str, value: &str) -> Result<String, WarningKind> {
    let Some(ty) = key_type(key) else {
        return Err(WarningKind::UnknownSetting {
            key: key.to_owned(),
        });
    };
    if value.contains(['\n', '\r']) {
        return Err(WarningKind::LineFeed {
            key: key.to_owned(),
        });
    }
    let type_error = |expected| WarningKind::TypeCheck {
        key: key.to_owned(),
        expected,
        value: value.to_owned(),
    };
    match ty {
        KeyType::Boolean => match parse_bool(value) {
            Some(b) => Ok(if b { "1" } else { "0" }.to_owned()),
            None => Err(type_error("boolean")),
        },
        KeyType::Integer if is_digits(value) => {
            let trimmed = value.trim_start_matches('0');
            Ok(if trimmed.is_empty() { "0" } else { trimmed }.to_owned())
        }
        KeyType::Integer => Err(type_error("integer")),
        KeyType::Number => {
            let (int, frac) = value.split_once('.').unwrap_or((value, "1"));
            if is_digits(int) && is_digits(frac) {
                Ok(value.to_owned())
            } else {
                Err(type_error("number"))
            }
        }
        KeyType::String => check_format(key, value).map(|()| value.to_owned()),
    }
}

/// A DNS name as Proxmox's `dns-name` format reads it: labels of letters, digits and inner
/// hyphens, joined by dots (no `_`, no trailing dot, no label length limit).
pub fn is_dns_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// The string formats Proxmox checks while parsing (`check_format`) for the keys phoenix
/// reads. The value is kept either way; only a warning results.
fn check_format(key: &str, value: &str) -> Result<(), WarningKind> {
    use crate::props::{Device, Features, MountPoint, NetConfig, PropError, RootFs, Startup};
    let prop = |r: Result<(), PropError>| {
        r.map_err(|e| WarningKind::Format {
            key: key.to_owned(),
            reason: e.to_string(),
        })
    };
    let digits_after = |prefix: &str| {
        key.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    match key {
        "hostname" if !is_dns_name(value) => Err(WarningKind::Format {
            key: key.to_owned(),
            reason: "value does not look like a valid DNS name".to_owned(),
        }),
        "rootfs" => prop(value.parse::<RootFs>().map(drop)),
        "features" => prop(value.parse::<Features>().map(drop)),
        "startup" => prop(value.parse::<Startup>().map(drop)),
        _ if digits_after("net") => prop(value.parse::<NetConfig>().map(drop)),
        _ if digits_after("mp") => prop(value.parse::<MountPoint>().map(drop)),
        _ if digits_after("dev") => prop(value.parse::<Device>().map(drop)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys() {
        assert_eq!(key_type("net31"), Some(KeyType::String));
        assert_eq!(key_type("net32"), None);
        assert_eq!(key_type("mp255"), Some(KeyType::String));
        assert_eq!(key_type("mp256"), None);
        assert_eq!(key_type("mp01"), None);
        assert_eq!(key_type("net"), None);
        assert_eq!(key_type("memory"), Some(KeyType::Integer));
        assert_eq!(key_type("foo"), None);
        assert_eq!(key_type("dev0"), Some(KeyType::String));
        assert_eq!(check_format("dev0", "/dev/null,mode=0666"), Ok(()));
        assert!(check_format("dev0", "/tmp/x").is_err());
    }

    #[test]
    fn values_are_normalised_like_proxmox() {
        assert_eq!(check_value("onboot", "YES").unwrap(), "1");
        assert_eq!(check_value("onboot", "Off").unwrap(), "0");
        assert_eq!(check_value("memory", "0512").unwrap(), "512");
        assert_eq!(check_value("memory", "000").unwrap(), "0");
        assert_eq!(check_value("cpulimit", "1.5").unwrap(), "1.5");
        assert!(check_value("cpulimit", "1.").is_err());
        assert!(check_value("memory", "-1").is_err());
        assert!(check_value("onboot", "2").is_err());
        assert!(matches!(
            check_value("hostname", "a\r"),
            Err(WarningKind::LineFeed { .. })
        ));
        assert!(matches!(
            check_value("bogus", "1"),
            Err(WarningKind::UnknownSetting { .. })
        ));
    }

    #[test]
    fn string_formats_are_checked() {
        let text = |k, v| check_value(k, v).unwrap_err().proxmox_text();
        assert_eq!(
            text("hostname", "web_01"),
            "unable to parse value of 'hostname' - value does not look like a valid DNS name"
        );
        assert!(check_value("hostname", "web-01.example.com").is_ok());
        assert!(check_value("hostname", "a.").is_err());
        assert_eq!(
            text("net0", "bridge=vmbr0"),
            "unable to parse value of 'net0' - name: property is missing and it is not optional"
        );
        assert_eq!(
            text("mp3", "/srv/a,mp=/a,foo=1"),
            "unable to parse value of 'mp3' - invalid key in comma-separated list property: foo"
        );
        assert_eq!(
            text("startup", "first"),
            "unable to parse value of 'startup' - unable to parse startup options"
        );
        assert!(check_value("rootfs", "local-lvm:vm-100-disk-0,size=8G").is_ok());
        assert!(check_value("features", "nesting=1").is_ok());
        assert!(check_value("unused0", "anything").is_ok());
    }
}
