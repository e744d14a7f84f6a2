//! `startup`: boot order and delays (`[order=]N,up=N,down=N`). Proxmox stores it verbatim.

use std::fmt;
use std::str::FromStr;

use super::PropError;

/// The `startup` value.
///
/// ```
/// use phoenix_pveconf::props::Startup;
///
/// let s: Startup = "2,up=30".parse().unwrap();
/// assert_eq!((s.order, s.up, s.down), (Some(2), Some(30), None));
/// assert_eq!(s.to_string(), "order=2,up=30");
/// assert!("order=first".parse::<Startup>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Startup {
    /// Position in the start order (lower starts first).
    pub order: Option<u64>,
    /// Seconds to wait after starting before the next guest starts.
    pub up: Option<u64>,
    /// Seconds to wait for shutdown before stopping.
    pub down: Option<u64>,
}

impl FromStr for Startup {
    type Err = PropError;

    /// pve-common `parse_startup`: comma-separated `[order=]N`, `up=N`, `down=N`; blank parts
    /// are skipped and a repeated key overrides; anything else is an error.
    fn from_str(s: &str) -> Result<Self, PropError> {
        let number = |v: &str| {
            (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse().ok())
                .flatten()
                .ok_or(PropError::Startup)
        };
        let mut res = Startup::default();
        for part in s.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            if let Some(v) = part.strip_prefix("up=") {
                res.up = Some(number(v)?);
            } else if let Some(v) = part.strip_prefix("down=") {
                res.down = Some(number(v)?);
            } else {
                res.order = Some(number(part.strip_prefix("order=").unwrap_or(part))?);
            }
        }
        Ok(res)
    }
}

impl fmt::Display for Startup {
    /// `order=N,up=N,down=N`, leaving out what is unset.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [("order", self.order), ("up", self.up), ("down", self.down)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let s: Startup = "order=1,up=60,down=30".parse().unwrap();
        assert_eq!(s.to_string(), "order=1,up=60,down=30");
        let s: Startup = "down=5,,3".parse().unwrap();
        assert_eq!((s.order, s.down), (Some(3), Some(5)));
    }

    #[test]
    fn errors() {
        for bad in ["up=", "up=-1", "order=1 ", "x=1", "1,2a"] {
            assert_eq!(
                bad.parse::<Startup>().unwrap_err(),
                PropError::Startup,
                "{bad}"
            );
        }
    }
}
