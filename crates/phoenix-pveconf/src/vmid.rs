//! The Proxmox guest id (`VMID`/`CTID`), shared by containers and VMs.

use std::fmt;
use std::str::FromStr;

/// A Proxmox guest id: an integer from 100 to 999999999, unique across CTs and VMs.
///
/// ```
/// use phoenix_pveconf::Vmid;
///
/// let id: Vmid = "105".parse().unwrap();
/// assert_eq!(id.get(), 105);
/// assert_eq!(id.to_string(), "105");
/// assert!("99".parse::<Vmid>().is_err());
/// assert!("0105".parse::<Vmid>().is_err());
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct Vmid(u32);

impl Vmid {
    /// The smallest id Proxmox accepts.
    pub const MIN: u32 = 100;
    /// The largest id Proxmox accepts.
    pub const MAX: u32 = 999_999_999;

    /// Checks the range and wraps the id.
    pub fn new(id: u32) -> Result<Self, VmidError> {
        if (Self::MIN..=Self::MAX).contains(&id) {
            Ok(Self(id))
        } else {
            Err(VmidError::OutOfRange(id.to_string()))
        }
    }

    /// The id as an integer.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why a string or number is not a valid VMID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmidError {
    /// Not a plain decimal number (signs, spaces, leading zeros and other characters are refused).
    #[error("invalid vmid '{0}' - value does not look like a valid VM ID")]
    NotANumber(String),
    /// A number outside 100..=999999999.
    #[error("invalid vmid '{0}' - must be between 100 and 999999999")]
    OutOfRange(String),
}

impl FromStr for Vmid {
    type Err = VmidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Proxmox's `pve-vmid` format is `^[1-9][0-9]{2,8}$`: no leading zero, no sign.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
            return Err(VmidError::NotANumber(s.to_owned()));
        }
        match s.parse::<u32>() {
            Ok(id) => Vmid::new(id).map_err(|_| VmidError::OutOfRange(s.to_owned())),
            Err(_) => Err(VmidError::OutOfRange(s.to_owned())),
        }
    }
}

impl fmt::Display for Vmid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u32> for Vmid {
    type Error = VmidError;

    fn try_from(id: u32) -> Result<Self, Self::Error> {
        Vmid::new(id)
    }
}

impl From<Vmid> for u32 {
    fn from(id: Vmid) -> u32 {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_proxmox_range() {
        assert_eq!("100".parse::<Vmid>().unwrap().get(), 100);
        assert_eq!("999999999".parse::<Vmid>().unwrap().get(), 999_999_999);
        assert_eq!(Vmid::new(4242).unwrap().to_string(), "4242");
    }

    #[test]
    fn refuses_outside_the_range() {
        for bad in ["99", "1000000000", "99999999999999999999"] {
            assert!(
                matches!(bad.parse::<Vmid>(), Err(VmidError::OutOfRange(_))),
                "{bad}"
            );
        }
        assert!(Vmid::new(0).is_err());
    }

    #[test]
    fn refuses_non_numbers() {
        for bad in ["", "abc", "+100", "-100", " 100", "0100", "1e3"] {
            assert!(
                matches!(bad.parse::<Vmid>(), Err(VmidError::NotANumber(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            "x1".parse::<Vmid>().unwrap_err().to_string(),
            "invalid vmid 'x1' - value does not look like a valid VM ID"
        );
        assert_eq!(
            "42".parse::<Vmid>().unwrap_err().to_string(),
            "invalid vmid '42' - must be between 100 and 999999999"
        );
    }
}
