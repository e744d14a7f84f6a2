//! IPv4 addresses, address/prefix pairs and MAC addresses.

use std::net::Ipv4Addr;

use crate::value::string_newtype;

#[cfg(test)]
const OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

string_newtype! {
    /// An IPv4 address in dotted-quad form: `10.0.0.1`.
    ///
    /// ```
    /// let ip: phoenix_config::Ipv4 = "10.0.0.1".parse().unwrap();
    /// assert_eq!(ip.addr().octets(), [10, 0, 0, 1]);
    /// assert!("10.0.0.256".parse::<phoenix_config::Ipv4>().is_err());
    /// ```
    Ipv4 {
        what: "IPv4 address",
        pattern: "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$",
        reason: "expected four decimal numbers 0-255 joined by dots, like 10.0.0.1",
    }
}

string_newtype! {
    /// An IPv4 address with its prefix length: `10.0.0.5/24`.
    ///
    /// ```
    /// let c: phoenix_config::Ipv4Cidr = "10.0.0.5/24".parse().unwrap();
    /// assert_eq!(c.prefix(), 24);
    /// assert_eq!(c.network().to_string(), "10.0.0.0");
    /// assert!(c.contains("10.0.0.1".parse().unwrap()));
    /// assert!("10.0.0.5".parse::<phoenix_config::Ipv4Cidr>().is_err());
    /// ```
    Ipv4Cidr {
        what: "IPv4 address/prefix",
        pattern: "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$",
        reason: "expected an IPv4 address and a prefix length 0-32, like 10.0.0.5/24",
    }
}

/// A unicast MAC address (Proxmox's `hwaddr` rule): the conf model's type.
///
/// ```
/// assert!("52:54:00:12:34:56".parse::<phoenix_config::MacAddr>().is_ok());
/// assert!("01:00:5e:00:00:01".parse::<phoenix_config::MacAddr>().is_err());
/// ```
pub use phoenix_pveconf::props::MacAddr;

/// Why `value` is not a MAC address, in `phoenix validate`'s words.
pub(crate) fn explain_mac(value: &str) -> Option<crate::value::InvalidValue> {
    use phoenix_pveconf::props::MacAddrError as E;
    let reason = match value.parse::<MacAddr>().err()? {
        E::Malformed(_) => {
            "expected six hex octets joined by ':' with an even first octet (unicast), like 52:54:00:12:34:56"
        }
        E::Multicast(_) => {
            "is a multicast address (the low bit of the first octet is set); a NIC needs a unicast address"
        }
    };
    Some(crate::value::InvalidValue::new(
        "MAC address",
        value,
        reason,
    ))
}

impl Ipv4 {
    /// The parsed address.
    pub fn addr(&self) -> Ipv4Addr {
        self.0.parse().expect("checked by the pattern")
    }
}

impl Ipv4Cidr {
    /// The address part.
    pub fn addr(&self) -> Ipv4Addr {
        self.0
            .split_once('/')
            .and_then(|(a, _)| a.parse().ok())
            .expect("checked by the pattern")
    }

    /// The prefix length, 0..=32.
    pub fn prefix(&self) -> u8 {
        self.0
            .split_once('/')
            .and_then(|(_, p)| p.parse().ok())
            .expect("checked by the pattern")
    }

    fn mask(&self) -> u32 {
        match self.prefix() {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p)),
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr()) & self.mask())
    }

    /// The broadcast address (host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr()) | !self.mask())
    }

    /// True when `ip` lies in this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octet_constant_matches_the_patterns() {
        assert!(Ipv4::PATTERN.contains(OCTET));
        assert!(Ipv4Cidr::PATTERN.contains(OCTET));
    }

    #[test]
    fn ipv4_errors() {
        assert_eq!(
            "10.0.0".parse::<Ipv4>().unwrap_err().to_string(),
            "invalid IPv4 address \"10.0.0\": expected four decimal numbers 0-255 joined by dots, like 10.0.0.1"
        );
    }

    #[test]
    fn cidr_math() {
        let c: Ipv4Cidr = "10.0.0.200/24".parse().unwrap();
        assert_eq!(c.addr(), Ipv4Addr::new(10, 0, 0, 200));
        assert_eq!(c.network(), Ipv4Addr::new(10, 0, 0, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        assert!(!c.contains(Ipv4Addr::new(10, 0, 1, 1)));
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(
            "10.0.0.5/33".parse::<Ipv4Cidr>().unwrap_err().to_string(),
            "invalid IPv4 address/prefix \"10.0.0.5/33\": expected an IPv4 address and a prefix length 0-32, like 10.0.0.5/24"
        );
    }

    #[test]
    fn mac_errors() {
        assert_eq!(
            explain_mac("01:00:5e:00:00:01").unwrap().to_string(),
            "invalid MAC address \"01:00:5e:00:00:01\": is a multicast address (the low bit of the first octet is set); a NIC needs a unicast address"
        );
        assert_eq!(
            explain_mac("52:54:00:zz:00:01").unwrap().reason,
            "expected six hex octets joined by ':' with an even first octet (unicast), like 52:54:00:12:34:56"
        );
        let m: MacAddr = "52:54:00:AA:BB:CC".parse().unwrap();
        assert_eq!(m.normalized(), "52:54:00:aa:bb:cc");
    }
}
