//! Guest ids: one id space for LXC containers and VMs, as in Proxmox.
//!
//! The type is phoenix-pveconf's [`Vmid`] (the conf model owns it); this module names
//! it `Ctid` where the config means a container and words its errors the way
//! `phoenix validate` reports every other value.
//!
//! ```
//! use phoenix_config::Ctid;
//! let id: Ctid = "900".parse().unwrap();
//! assert_eq!(id.get(), 900);
//! assert!("99".parse::<Ctid>().is_err());
//! assert_eq!(serde_json::from_str::<Ctid>("\"901\"").unwrap().get(), 901);
//! assert_eq!(serde_json::from_str::<Ctid>("902").unwrap().get(), 902);
//! ```

pub use phoenix_pveconf::{Vmid, VmidError};

use crate::value::InvalidValue;

/// A container id: the same type as [`Vmid`] (containers and VMs share one id space).
pub type Ctid = Vmid;

/// Why `value` is not a guest id, in `phoenix validate`'s words.
pub(crate) fn explain(value: &str) -> Option<InvalidValue> {
    let err = value.parse::<Vmid>().err()?;
    let reason = match err {
        VmidError::NotANumber(_) => "must be a decimal number in 100..=999999999",
        VmidError::OutOfRange(_) => "must be in 100..=999999999",
    };
    Some(InvalidValue::new("guest id", value, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_words_the_errors() {
        assert_eq!(
            explain("99").unwrap().to_string(),
            "invalid guest id \"99\": must be in 100..=999999999"
        );
        assert_eq!(
            explain("0900").unwrap().to_string(),
            "invalid guest id \"0900\": must be a decimal number in 100..=999999999"
        );
        assert!(explain("9x0").is_some());
        assert!(explain("").is_some());
        assert!(explain("99999999999").is_some());
        assert!(explain("900").is_none());
    }
}
