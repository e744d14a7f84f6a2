//! The filtered uplink behind `pct-emulator-net up|down`: a bridge with a gateway
//! address whose containers may reach the host's DNS server(s) (port 53, udp and tcp)
//! and the Debian mirror(s) the host's APT uses (tcp 80 and 443), masqueraded out of
//! the host, and nothing else.
//!
//! Everything lives in one nftables table per bridge, `table inet phoenix_uplink_<bridge>`
//! ([`nft::render`]), so `down` is `nft delete table …` and no other rule of the host is
//! touched. The rules match only packets entering or leaving that bridge:
//! - forward: bridge-local traffic passes; from the subnet to a DNS server's port 53 or
//!   a mirror address's port 80/443 is accepted, replies (established) come back; every
//!   other packet from or to the bridge is counted and dropped;
//! - input: from the bridge to the host itself only replies pass (the containers use the
//!   host's DNS server directly, not a proxy on the host), the rest is counted and dropped;
//! - postrouting: the subnet is masqueraded when it leaves through another interface.
//!
//! `net.ipv4.ip_forward` is turned on only when it is off; the first `up` that changed it
//! records the old value and the last `down` (no `phoenix_uplink_*` table left) restores
//! it. What `up` created (the bridge, the gateway address) is recorded in the state
//! directory (`/run/phoenix-uplink` by default: the kernel's network state is host-wide
//! and gone after a reboot, like this directory), so `down` removes exactly that.
//!
//! ```
//! use pct_emulator::uplink::{Subnet, UplinkSpec};
//! let subnet: Subnet = "10.0.3.0/24".parse().unwrap();
//! assert_eq!(subnet.gateway().to_string(), "10.0.3.1");
//! let spec = UplinkSpec::new("vmbr0", subnet, vec!["10.255.255.53".parse().unwrap()], vec![]);
//! assert_eq!(spec.table(), "phoenix_uplink_vmbr0");
//! assert!(pct_emulator::uplink::nft::render(&spec).contains("masquerade"));
//! ```

pub mod host;
pub mod nft;

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network: its address (host bits zero) and prefix length (8 to 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The network address.
    pub network: Ipv4Addr,
    /// The prefix length.
    pub prefix: u8,
}

/// A subnet that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid subnet '{0}': expected a.b.c.d/N with N from 8 to 30 and no host bits set")]
pub struct SubnetError(pub String);

impl Subnet {
    fn mask(&self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    /// The first host address, given to the bridge as the containers' gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// True when `ip` lies in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network)
    }
}

impl FromStr for Subnet {
    type Err = SubnetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SubnetError(s.to_owned());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let network: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(bad());
        }
        let subnet = Subnet { network, prefix };
        if u32::from(network) & !subnet.mask() != 0 {
            return Err(bad());
        }
        Ok(subnet)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A mirror host and the IPv4 addresses it resolved to when the uplink came up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The host name from the APT sources.
    pub host: String,
    /// Its addresses.
    pub addrs: Vec<Ipv4Addr>,
}

/// What one uplink allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkSpec {
    /// The bridge.
    pub bridge: String,
    /// The container subnet.
    pub subnet: Subnet,
    /// The bridge's address, the containers' gateway.
    pub gateway: Ipv4Addr,
    /// DNS servers the containers may query (port 53).
    pub dns: Vec<Ipv4Addr>,
    /// Mirrors the containers may fetch from (tcp 80 and 443).
    pub mirrors: Vec<Mirror>,
}

impl UplinkSpec {
    /// An uplink on `bridge` for `subnet`, the gateway being its first address.
    pub fn new(bridge: &str, subnet: Subnet, dns: Vec<Ipv4Addr>, mirrors: Vec<Mirror>) -> Self {
        Self {
            bridge: bridge.to_owned(),
            gateway: subnet.gateway(),
            subnet,
            dns,
            mirrors,
        }
    }

    /// The nftables table: `phoenix_uplink_<bridge>`, other characters than letters,
    /// digits and `_` written as `_`.
    pub fn table(&self) -> String {
        table_name(&self.bridge)
    }

    /// Every mirror address, sorted and without duplicates.
    pub fn mirror_addrs(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = self.mirrors.iter().flat_map(|m| m.addrs.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The table name for `bridge` (see [`UplinkSpec::table`]).
pub fn table_name(bridge: &str) -> String {
    let safe: String = bridge
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("phoenix_uplink_{safe}")
}

/// The prefix every uplink table name starts with.
pub const TABLE_PREFIX: &str = "phoenix_uplink_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_strictly() {
        let s: Subnet = "10.0.3.0/24".parse().unwrap();
        assert_eq!(s.to_string(), "10.0.3.0/24");
        assert!(s.contains("10.0.3.200".parse().unwrap()));
        assert!(!s.contains("10.0.4.1".parse().unwrap()));
        for bad in [
            "10.0.3.1/24",
            "10.0.3.0",
            "10.0.3.0/31",
            "x/24",
            "10.0.0.0/7",
        ] {
            assert_eq!(
                bad.parse::<Subnet>().unwrap_err().to_string(),
                format!(
                    "invalid subnet '{bad}': expected a.b.c.d/N with N from 8 to 30 and no host bits set"
                )
            );
        }
    }

    #[test]
    fn table_names_are_nft_identifiers() {
        assert_eq!(table_name("vmbr0"), "phoenix_uplink_vmbr0");
        assert_eq!(table_name("br-x.1"), "phoenix_uplink_br_x_1");
    }
}
