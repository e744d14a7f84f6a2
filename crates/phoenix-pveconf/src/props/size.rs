//! Disk sizes as Proxmox writes them (`8G`, `512M`).

use std::fmt;
use std::str::FromStr;

/// A disk size in bytes; parsed from `\d+(\.\d+)?[KMGT]?` (no unit means bytes) and printed
/// the way Proxmox does (`8G`, `512M`, or bytes when not a whole KiB).
///
/// ```
/// use phoenix_pveconf::props::DiskSize;
///
/// let size: DiskSize = "1.5G".parse().unwrap();
/// assert_eq!(size.bytes(), 1536 * 1024 * 1024);
/// assert_eq!(size.to_string(), "1536M");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DiskSize(u64);

impl DiskSize {
    /// A size of `bytes` bytes.
    pub fn from_bytes(bytes: u64) -> Self {
        DiskSize(bytes)
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// Not a disk size Proxmox would read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value '{0}' is not a valid disk size")]
pub struct DiskSizeError(pub String);

impl FromStr for DiskSize {
    type Err = DiskSizeError;

    fn from_str(s: &str) -> Result<Self, DiskSizeError> {
        let bad = || DiskSizeError(s.to_owned());
        let (number, shift) = match s.as_bytes().last() {
            Some(b'K') => (&s[..s.len() - 1], 10),
            Some(b'M') => (&s[..s.len() - 1], 20),
            Some(b'G') => (&s[..s.len() - 1], 30),
            Some(b'T') => (&s[..s.len() - 1], 40),
            _ => (s, 0),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || number.ends_with('.') {
            return Err(bad());
        }
        let whole: u64 = int.parse().map_err(|_| bad())?;
        let mut bytes = whole
            .checked_shl(shift)
            .filter(|b| b >> shift == whole)
            .ok_or_else(bad)?;
        if !frac.is_empty() {
            // Perl's int($n * 2**shift): exact enough for the fractions sizes are written with.
            let frac: f64 = format!("0.{frac}").parse().map_err(|_| bad())?;
            bytes = bytes
                .checked_add((frac * (1u64 << shift) as f64) as u64)
                .ok_or_else(bad)?;
        }
        Ok(DiskSize(bytes))
    }
}

impl fmt::Display for DiskSize {
    /// pve-common `format_size`: the largest unit that divides the size exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        for unit in ["", "K", "M", "G"] {
            if !value.is_multiple_of(1024) || value == 0 {
                return write!(f, "{value}{unit}");
            }
            value /= 1024;
        }
        write!(f, "{value}T")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_like_proxmox() {
        let show = |s: &str| s.parse::<DiskSize>().unwrap().to_string();
        assert_eq!(show("8G"), "8G");
        assert_eq!(show("8192M"), "8G");
        assert_eq!(show("512M"), "512M");
        assert_eq!(show("1024"), "1K");
        assert_eq!(show("1000"), "1000");
        assert_eq!(show("0"), "0");
        assert_eq!(show("2048G"), "2T");
        assert_eq!(show("0.5K"), "512");
        for bad in ["", "G", "1.G", "-1", "1X", "99999999999999999999T", "1 G"] {
            assert!(bad.parse::<DiskSize>().is_err(), "{bad}");
        }
        assert_eq!(
            "1x".parse::<DiskSize>().unwrap_err().to_string(),
            "value '1x' is not a valid disk size"
        );
    }
}
