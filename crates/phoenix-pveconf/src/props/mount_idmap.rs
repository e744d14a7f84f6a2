//! `idmap=` on a mount point: how ids on disk map to container ids.

use std::fmt;
use std::str::FromStr;

use phoenix_idmap::{IdKind, IdMapEntry};

/// `idmap=` on a mount: passthrough, or `[ug]:ct:disk:len;...` entries (the host side of each
/// entry is the id on disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountIdmap {
    /// `passthrough`: ids on disk are the container's ids.
    Passthrough,
    /// Explicit ranges, `host_start` being the id on disk.
    Entries(Vec<IdMapEntry>),
}

/// Not a mount `idmap=` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value '{0}' is not 'passthrough' or [ug]:ct:disk:len;...")]
pub struct MountIdmapError(pub String);

impl FromStr for MountIdmap {
    type Err = MountIdmapError;

    fn from_str(s: &str) -> Result<Self, MountIdmapError> {
        if s == "passthrough" {
            return Ok(MountIdmap::Passthrough);
        }
        let bad = || MountIdmapError(s.to_owned());
        s.split(';')
            .map(|part| {
                let f: Vec<&str> = part.split(':').collect();
                let kind = match f.first() {
                    Some(&"u") => IdKind::Uid,
                    Some(&"g") => IdKind::Gid,
                    _ => return Err(bad()),
                };
                let num = |i: usize| -> Result<u32, MountIdmapError> {
                    let v = f.get(i).ok_or_else(bad)?;
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad());
                    }
                    v.parse().map_err(|_| bad())
                };
                if f.len() != 4 {
                    return Err(bad());
                }
                Ok(IdMapEntry::new(kind, num(1)?, num(2)?, num(3)?))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(MountIdmap::Entries)
    }
}

impl fmt::Display for MountIdmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountIdmap::Passthrough => f.write_str("passthrough"),
            MountIdmap::Entries(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}:{}:{}:{}",
                            e.kind.letter(),
                            e.ns_start,
                            e.host_start,
                            e.count
                        )
                    })
                    .collect();
                f.write_str(&parts.join(";"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            "passthrough".parse::<MountIdmap>(),
            Ok(MountIdmap::Passthrough)
        );
        let m: MountIdmap = "u:0:100000:1000;g:1000:1000:1".parse().unwrap();
        assert_eq!(
            m,
            MountIdmap::Entries(vec![
                IdMapEntry::new(IdKind::Uid, 0, 100000, 1000),
                IdMapEntry::new(IdKind::Gid, 1000, 1000, 1),
            ])
        );
        assert_eq!(m.to_string(), "u:0:100000:1000;g:1000:1000:1");
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "x:0:1:1",
            "u:0:1",
            "u:0:1:1:1",
            "u:-1:1:1",
            "u:0:1:1;",
            "u:a:1:1",
        ] {
            assert_eq!(
                bad.parse::<MountIdmap>().unwrap_err().to_string(),
                format!("value '{bad}' is not 'passthrough' or [ug]:ct:disk:len;...")
            );
        }
    }
}
