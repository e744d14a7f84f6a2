//! `netN`: a container network interface.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::{Format, PropError, PropValueError, int_in, word};

/// A unicast MAC address (`^[a-f0-9][02468ace](:[a-f0-9]{2}){5}$`, any case), kept as written.
///
/// ```
/// use phoenix_pveconf::props::MacAddr;
///
/// let mac: MacAddr = "BC:24:11:AA:BB:CC".parse().unwrap();
/// assert_eq!(mac.to_string(), "BC:24:11:AA:BB:CC");
/// assert_eq!(mac.normalized(), "bc:24:11:aa:bb:cc");
/// assert!("01:00:5e:00:00:01".parse::<MacAddr>().is_err()); // multicast
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(String);

/// Not a unicast MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacAddrError {
    /// Not six hex octets joined by `:`.
    #[error("invalid MAC address '{0}' - expected a unicast address like BC:24:11:AA:BB:CC")]
    Malformed(String),
    /// Six hex octets, but the multicast bit (the low bit of the first octet) is set.
    #[error("invalid MAC address '{0}' - expected a unicast address like BC:24:11:AA:BB:CC")]
    Multicast(String),
}

impl MacAddr {
    /// The pattern a MAC address matches (also in the JSON Schema of the config files).
    pub const PATTERN: &'static str = "^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$";

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address in lower case, for comparisons (`52:54:00:AA:BB:CC` and
    /// `52:54:00:aa:bb:cc` are the same NIC address).
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl FromStr for MacAddr {
    type Err = MacAddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let hex2 = |p: &&str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit());
        if parts.len() != 6 || !parts.iter().all(hex2) {
            return Err(MacAddrError::Malformed(s.to_owned()));
        }
        // The second hex digit must be even: the I/G bit set means a multicast address.
        let unicast = s
            .as_bytes()
            .get(1)
            .is_some_and(|b| b"02468aceACE".contains(b));
        if unicast {
            Ok(MacAddr(s.to_owned()))
        } else {
            Err(MacAddrError::Multicast(s.to_owned()))
        }
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for MacAddr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MacAddr".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": MacAddr::PATTERN })
    }
}

/// `ip=`: DHCP, manual, or an address with its prefix length (8 to 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Config {
    /// `dhcp`.
    Dhcp,
    /// `manual`: configured inside the container.
    Manual,
    /// `a.b.c.d/len`.
    Cidr(Ipv4Addr, u8),
}

/// `ip6=`: SLAAC, DHCP, manual, or an address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Config {
    /// `auto` (SLAAC).
    Auto,
    /// `dhcp`.
    Dhcp,
    /// `manual`.
    Manual,
    /// `addr/len`.
    Cidr(Ipv6Addr, u8),
}

/// An address/prefix Proxmox refuses: not `address/len`, or a prefix length outside
/// its range (8..=32 for IPv4, 0..=128 for IPv6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value '{value}' is not a valid CIDR (address/{min}..{max})")]
pub struct CidrError {
    /// The refused text.
    pub value: String,
    /// The shortest prefix length accepted.
    pub min: u8,
    /// The longest prefix length accepted.
    pub max: u8,
}

fn cidr<A: FromStr>(value: &str, min: u8, max: u8) -> Result<(A, u8), CidrError> {
    let bad = || CidrError {
        value: value.to_owned(),
        min,
        max,
    };
    let (addr, len) = value.split_once('/').ok_or_else(bad)?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| (min..=max).contains(l))
        .ok_or_else(bad)?;
    Ok((addr.parse().map_err(|_| bad())?, len))
}

impl Ipv4Config {
    /// The prefix lengths Proxmox accepts for a container's IPv4 address.
    pub const PREFIX_LENGTHS: std::ops::RangeInclusive<u8> = 8..=32;

    /// `addr/prefix`, when Proxmox accepts the prefix length.
    ///
    /// ```
    /// use phoenix_pveconf::props::Ipv4Config;
    /// let ip = Ipv4Config::cidr([10, 0, 0, 5].into(), 24).unwrap();
    /// assert_eq!(ip.to_string(), "10.0.0.5/24");
    /// assert_eq!(
    ///     Ipv4Config::cidr([10, 0, 0, 5].into(), 4).unwrap_err().to_string(),
    ///     "value '10.0.0.5/4' is not a valid CIDR (address/8..32)"
    /// );
    /// ```
    pub fn cidr(addr: Ipv4Addr, prefix: u8) -> Result<Self, CidrError> {
        if Self::PREFIX_LENGTHS.contains(&prefix) {
            Ok(Ipv4Config::Cidr(addr, prefix))
        } else {
            Err(CidrError {
                value: format!("{addr}/{prefix}"),
                min: *Self::PREFIX_LENGTHS.start(),
                max: *Self::PREFIX_LENGTHS.end(),
            })
        }
    }
}

impl FromStr for Ipv4Config {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        match s {
            "dhcp" => Ok(Ipv4Config::Dhcp),
            "manual" => Ok(Ipv4Config::Manual),
            _ => cidr(
                s,
                *Self::PREFIX_LENGTHS.start(),
                *Self::PREFIX_LENGTHS.end(),
            )
            .map(|(a, l)| Ipv4Config::Cidr(a, l)),
        }
    }
}

impl fmt::Display for Ipv4Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv4Config::Dhcp => f.write_str("dhcp"),
            Ipv4Config::Manual => f.write_str("manual"),
            Ipv4Config::Cidr(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

impl FromStr for Ipv6Config {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        match s {
            "auto" => Ok(Ipv6Config::Auto),
            "dhcp" => Ok(Ipv6Config::Dhcp),
            "manual" => Ok(Ipv6Config::Manual),
            _ => cidr(s, 0, 128).map(|(a, l)| Ipv6Config::Cidr(a, l)),
        }
    }
}

impl fmt::Display for Ipv6Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv6Config::Auto => f.write_str("auto"),
            Ipv6Config::Dhcp => f.write_str("dhcp"),
            Ipv6Config::Manual => f.write_str("manual"),
            Ipv6Config::Cidr(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

/// One `netN` value. `type` is always `veth` and always printed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetConfig {
    /// Interface name inside the container (required).
    pub name: String,
    /// Host bridge.
    pub bridge: Option<String>,
    /// MAC address; Proxmox generates one when absent.
    pub hwaddr: Option<MacAddr>,
    /// IPv4 setup.
    pub ip: Option<Ipv4Config>,
    /// IPv4 gateway.
    pub gw: Option<Ipv4Addr>,
    /// IPv6 setup.
    pub ip6: Option<Ipv6Config>,
    /// IPv6 gateway.
    pub gw6: Option<Ipv6Addr>,
    /// VLAN tag, 1 to 4094.
    pub tag: Option<u16>,
    /// VLAN trunks.
    pub trunks: Vec<u16>,
    /// Rate limit in MB/s, kept as written (`^\d+(\.\d+)?$`).
    pub rate: Option<String>,
    /// Proxmox firewall on this interface.
    pub firewall: Option<bool>,
    /// Interface starts disconnected.
    pub link_down: Option<bool>,
    /// The host manages the interface (`host-managed`).
    pub host_managed: Option<bool>,
    /// MTU, 64 to 65535.
    pub mtu: Option<u16>,
}

const FORMAT: Format = Format {
    default_key: None,
    keys: &[
        ("name", false),
        ("bridge", false),
        ("hwaddr", false),
        ("ip", false),
        ("gw", false),
        ("ip6", false),
        ("gw6", false),
        ("tag", false),
        ("trunks", false),
        ("rate", false),
        ("firewall", true),
        ("link_down", true),
        ("host-managed", true),
        ("mtu", false),
        ("type", false),
    ],
};

impl FromStr for NetConfig {
    type Err = PropError;

    fn from_str(s: &str) -> Result<Self, PropError> {
        let mut items = FORMAT.parse(s)?;
        if let Some(kind) = items.take("type")
            && kind != "veth"
        {
            return Err(PropError::Invalid {
                key: "type",
                reason: PropValueError::Enumeration {
                    value: kind,
                    allowed: "veth",
                },
            });
        }
        let trunks = items
            .parsed("trunks", |v| {
                v.split(';')
                    .map(|t| {
                        t.parse::<u16>()
                            .map_err(|_| PropValueError::Trunks(v.to_owned()))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?
            .unwrap_or_default();
        let rate = items.parsed("rate", |v| {
            let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if digits(int) && digits(frac) {
                Ok(v.to_owned())
            } else {
                Err(PropValueError::NotNumber(v.to_owned()))
            }
        })?;
        Ok(NetConfig {
            name: word(&items.required("name")?).map_err(|reason| PropError::Invalid {
                key: "name",
                reason,
            })?,
            bridge: items.parsed("bridge", word)?,
            hwaddr: items.parsed("hwaddr", |v| v.parse::<MacAddr>())?,
            ip: items.parsed("ip", |v| v.parse::<Ipv4Config>())?,
            gw: items.parsed("gw", |v| v.parse::<Ipv4Addr>())?,
            ip6: items.parsed("ip6", |v| v.parse::<Ipv6Config>())?,
            gw6: items.parsed("gw6", |v| v.parse::<Ipv6Addr>())?,
            tag: items.parsed("tag", |v| int_in(v, 1, 4094))?,
            trunks,
            rate,
            firewall: items.bool("firewall"),
            link_down: items.bool("link_down"),
            host_managed: items.bool("host-managed"),
            mtu: items.parsed("mtu", |v| int_in(v, 64, 65535))?,
        })
    }
}

impl fmt::Display for NetConfig {
    /// Proxmox's canonical form: `name` first, then the rest sorted, `type=veth` included
    /// (what `props::print` makes of them, written out in that order: a plan of 10,000
    /// containers prints some 50,000 of these).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn kv(
            f: &mut fmt::Formatter<'_>,
            key: &str,
            value: Option<impl fmt::Display>,
        ) -> fmt::Result {
            match value {
                Some(v) => write!(f, ",{key}={v}"),
                None => Ok(()),
            }
        }
        let flag = |b: Option<bool>| b.map(|b| if b { "1" } else { "0" });
        write!(f, "name={}", self.name)?;
        kv(f, "bridge", self.bridge.as_ref())?;
        kv(f, "firewall", flag(self.firewall))?;
        kv(f, "gw", self.gw)?;
        kv(f, "gw6", self.gw6)?;
        kv(f, "host-managed", flag(self.host_managed))?;
        kv(f, "hwaddr", self.hwaddr.as_ref())?;
        kv(f, "ip", self.ip)?;
        kv(f, "ip6", self.ip6)?;
        kv(f, "link_down", flag(self.link_down))?;
        kv(f, "mtu", self.mtu)?;
        kv(f, "rate", self.rate.as_ref())?;
        kv(f, "tag", self.tag)?;
        if let Some((first, rest)) = self.trunks.split_first() {
            write!(f, ",trunks={first}")?;
            for t in rest {
                write!(f, ";{t}")?;
            }
        }
        f.write_str(",type=veth")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::{flag, print};

    /// The canonical form as [`print`] makes it (what `Display` writes out directly).
    fn printed(n: &NetConfig) -> String {
        let mut items = vec![("name", n.name.clone()), ("type", "veth".to_owned())];
        let mut add = |k, v: Option<String>| items.extend(v.map(|v| (k, v)));
        add("bridge", n.bridge.clone());
        add("hwaddr", n.hwaddr.as_ref().map(ToString::to_string));
        add("ip", n.ip.map(|v| v.to_string()));
        add("gw", n.gw.map(|v| v.to_string()));
        add("ip6", n.ip6.map(|v| v.to_string()));
        add("gw6", n.gw6.map(|v| v.to_string()));
        add("tag", n.tag.map(|v| v.to_string()));
        let trunks: Vec<String> = n.trunks.iter().map(u16::to_string).collect();
        add("trunks", (!trunks.is_empty()).then(|| trunks.join(";")));
        add("rate", n.rate.clone());
        add("firewall", n.firewall.map(flag));
        add("link_down", n.link_down.map(flag));
        add("host-managed", n.host_managed.map(flag));
        add("mtu", n.mtu.map(|v| v.to_string()));
        print(None, &["name"], items)
    }

    #[test]
    fn display_writes_what_print_makes_of_every_key() {
        for text in [
            "name=eth0",
            "name=eth0,bridge=vmbr0,ip=dhcp",
            "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,gw6=fe80::1,host-managed=0,hwaddr=52:54:00:12:34:56,ip=10.0.0.2/24,ip6=auto,link_down=1,mtu=1400,rate=12.5,tag=7,trunks=1;2;30,type=veth",
            "name=e1,trunks=5,firewall=0,link_down=0,host-managed=1",
        ] {
            let n: NetConfig = text.parse().unwrap();
            assert_eq!(n.to_string(), printed(&n), "{text}");
        }
    }

    #[test]
    fn canonical_form_from_the_reference() {
        let src = "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=BC:24:11:AA:BB:CC,ip=10.0.0.5/24,tag=20,type=veth";
        let net: NetConfig = src.parse().unwrap();
        assert_eq!(net.to_string(), src);
        assert_eq!(
            net.ip,
            Some(Ipv4Config::Cidr(Ipv4Addr::new(10, 0, 0, 5), 24))
        );
        assert_eq!(net.tag, Some(20));
    }

    #[test]
    fn reordered_input_prints_canonically_with_type() {
        let net: NetConfig = "ip6=auto,trunks=10;20,name=eth1,mtu=1500,link_down=on,host-managed=no,rate=12.5,gw6=fe80::1,ip=dhcp".parse().unwrap();
        assert_eq!(
            net.to_string(),
            "name=eth1,gw6=fe80::1,host-managed=0,ip=dhcp,ip6=auto,link_down=1,mtu=1500,rate=12.5,trunks=10;20,type=veth"
        );
    }

    #[test]
    fn field_errors() {
        let err = |s: &str| s.parse::<NetConfig>().unwrap_err().to_string();
        assert_eq!(
            err("bridge=vmbr0"),
            "name: property is missing and it is not optional"
        );
        assert_eq!(
            err("name=eth0,ip=10.0.0.5"),
            "ip: value '10.0.0.5' is not a valid CIDR (address/8..32)"
        );
        assert_eq!(
            err("name=eth0,ip=10.0.0.5/4"),
            "ip: value '10.0.0.5/4' is not a valid CIDR (address/8..32)"
        );
        assert_eq!(
            err("name=eth0,tag=0"),
            "tag: value must have a minimum value of 1"
        );
        assert_eq!(
            err("name=eth0,mtu=63"),
            "mtu: value must have a minimum value of 64"
        );
        assert_eq!(
            err("name=eth0,type=macvlan"),
            "type: value 'macvlan' does not have a value in the enumeration 'veth'"
        );
        assert_eq!(
            err("name=eth 0"),
            "name: value 'eth 0' does not match the regex pattern"
        );
        assert_eq!(
            err("name=eth0,trunks=1;x"),
            "trunks: value '1;x' does not match \\d+(;\\d+)*"
        );
        assert_eq!(
            err("name=eth0,rate=fast"),
            "rate: type check ('number') failed - got 'fast'"
        );
        assert_eq!(err("name=eth0,gw=x"), "gw: invalid IPv4 address syntax");
        assert_eq!(
            err("name=eth0,hwaddr=01:00:00:00:00:00"),
            "hwaddr: invalid MAC address '01:00:00:00:00:00' - expected a unicast address like BC:24:11:AA:BB:CC"
        );
    }

    #[test]
    fn mac_addresses() {
        assert!("bc:24:11:aa:bb:cc".parse::<MacAddr>().is_ok());
        assert!("BC:24:11:AA:BB".parse::<MacAddr>().is_err());
        assert!("BC:24:11:AA:BB:CCC".parse::<MacAddr>().is_err());
        assert!("BC-24-11-AA-BB-CC".parse::<MacAddr>().is_err());
    }
}
