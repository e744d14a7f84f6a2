//! The CT config keys `create` and `set` accept, and how their values are checked and
//! normalised before they are written (§2 of the reference).

use crate::error::{Failure, Result};
use crate::pct::args::{OptKind, parse_bool};
use phoenix_pveconf::conf::{KeyType, is_dns_name, key_type};
use phoenix_pveconf::props::{Features, MountPoint, NetConfig, RootFs, Startup};

use crate::pct::props;

/// Keys of the conf that `create` and `set` do not take: Proxmox writes them itself.
const NOT_SETTABLE: &[&str] = &["parent", "snaptime"];

/// The kind of a config key, or `None` when pct knows no such key (phoenix-idmap holds
/// Proxmox's key list; the emulator only splits booleans from the rest).
pub fn config_key(key: &str) -> Option<OptKind> {
    if NOT_SETTABLE.contains(&key) {
        return None;
    }
    match key_type(key)? {
        KeyType::Boolean => Some(OptKind::Bool),
        _ => Some(OptKind::Value),
    }
}

fn int(key: &str, v: &str, min: u64, max: Option<u64>) -> Result<String> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::param(
            key,
            format!("type check ('integer') failed - got '{v}'"),
        ));
    }
    let n: u64 = v
        .parse()
        .map_err(|_| Failure::param(key, format!("type check ('integer') failed - got '{v}'")))?;
    if n < min {
        return Err(Failure::param(
            key,
            format!("value must have a minimum value of {min}"),
        ));
    }
    if let Some(max) = max.filter(|m| n > *m) {
        return Err(Failure::param(
            key,
            format!("value must have a maximum value of {max}"),
        ));
    }
    Ok(n.to_string())
}

fn invalid(key: &str, e: impl std::fmt::Display) -> Failure {
    Failure::param(key, format!("invalid format - {e}"))
}

/// A netN value in Proxmox's canonical form (printed by `phoenix_pveconf::props`), with a
/// generated `hwaddr` when none is given.
pub fn canonical_net(key: &str, value: &str) -> Result<String> {
    let mut net: NetConfig = value.parse().map_err(|e| invalid(key, e))?;
    if net.hwaddr.is_none() {
        net.hwaddr = Some(
            props::random_hwaddr()
                .parse()
                .map_err(|e| invalid(key, e))?,
        );
    }
    Ok(net.to_string())
}

/// A rootfs/mpN value in canonical form: the volume bare, then `mp`, then the rest sorted.
pub fn canonical_mount(key: &str, value: &str) -> Result<String> {
    if key == "rootfs" {
        value
            .parse::<RootFs>()
            .map(|r| r.to_string())
            .map_err(|e| invalid(key, e))
    } else {
        value
            .parse::<MountPoint>()
            .map(|m| m.to_string())
            .map_err(|e| invalid(key, e))
    }
}

/// Checks one config value and returns what is stored.
pub fn normalize(key: &str, value: &str) -> Result<String> {
    if config_key(key) == Some(OptKind::Bool) {
        return parse_bool(value).map(str::to_owned).ok_or_else(|| {
            Failure::param(
                key,
                format!("type check ('boolean') failed - got '{value}'"),
            )
        });
    }
    match key {
        "memory" => int(key, value, 16, None),
        "swap" => int(key, value, 0, None),
        "cores" => int(key, value, 1, Some(8192)),
        "tty" => int(key, value, 0, Some(6)),
        "cpuunits" => int(key, value, 0, Some(500_000)),
        "hostname" if !is_dns_name(value) => Err(Failure::param(
            key,
            "invalid format - value does not look like a valid DNS name",
        )),
        "arch" if !["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"].contains(&value) => {
            Err(Failure::param(
                key,
                format!(
                    "value '{value}' does not have a value in the enumeration 'amd64, i386, arm64, armhf, riscv32, riscv64'"
                ),
            ))
        }
        // Stored verbatim once they parse (§2).
        "startup" => value
            .parse::<Startup>()
            .map(|_| value.to_owned())
            .map_err(|e| Failure::param(key, e.to_string())),
        "features" => value
            .parse::<Features>()
            .map(|_| value.to_owned())
            .map_err(|e| invalid(key, e)),
        "tags" => {
            let mut tags: Vec<String> = value
                .split([',', ';', ' '])
                .filter(|t| !t.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            tags.sort();
            tags.dedup();
            for t in &tags {
                let b = t.as_bytes();
                let ok = (b[0].is_ascii_alphanumeric() || b[0] == b'_')
                    && b.iter()
                        .all(|c| c.is_ascii_alphanumeric() || b"_-+.".contains(c));
                if !ok {
                    return Err(Failure::param(
                        key,
                        format!("invalid format - invalid characters in tag '{t}'"),
                    ));
                }
            }
            Ok(tags.join(";"))
        }
        k if k.starts_with("net") => canonical_net(k, value),
        k if k.starts_with("mp") => canonical_mount(k, value),
        // devN is stored as given once it parses (update_pct_config keeps $value).
        k if k.starts_with("dev") => value
            .parse::<phoenix_pveconf::props::Device>()
            .map(|_| value.to_owned())
            .map_err(|e| invalid(key, e)),
        _ if value.is_empty() && key != "description" => {
            Err(Failure::param(key, "value may not be empty"))
        }
        _ => Ok(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(config_key("net31"), Some(OptKind::Value));
        assert_eq!(config_key("net32"), None);
        assert_eq!(config_key("mp0"), Some(OptKind::Value));
        assert_eq!(config_key("unprivileged"), Some(OptKind::Bool));
        assert_eq!(config_key("lxc.idmap"), None);
    }

    #[test]
    fn values_are_checked_with_proxmox_messages() {
        assert_eq!(
            normalize("memory", "8").unwrap_err().to_string(),
            "400 Parameter verification failed.\nmemory: value must have a minimum value of 16"
        );
        assert_eq!(
            normalize("memory", "x").unwrap_err().to_string(),
            "400 Parameter verification failed.\nmemory: type check ('integer') failed - got 'x'"
        );
        assert_eq!(
            normalize("hostname", "bad_name").unwrap_err().to_string(),
            "400 Parameter verification failed.\nhostname: invalid format - value does not look like a valid DNS name"
        );
        assert_eq!(
            normalize("startup", "order=1, up=2")
                .unwrap_err()
                .to_string(),
            "400 Parameter verification failed.\nstartup: unable to parse startup options"
        );
        assert_eq!(normalize("tags", "web,Prod web").unwrap(), "prod;web");
        assert_eq!(normalize("onboot", "yes").unwrap(), "1");
        assert_eq!(
            normalize("tty", "7").unwrap_err().to_string(),
            "400 Parameter verification failed.\ntty: value must have a maximum value of 6"
        );
        assert!(normalize("arch", "sparc").is_err());
        assert_eq!(
            normalize("dev0", "/dev/null,mode=0666").unwrap(),
            "/dev/null,mode=0666"
        );
        assert_eq!(
            normalize("dev0", "/tmp/x").unwrap_err().to_string(),
            "400 Parameter verification failed.\ndev0: invalid format - path: /tmp/x is not a valid device path"
        );
    }

    #[test]
    fn net_and_mount_are_reprinted_canonically() {
        let v = normalize(
            "net0",
            "bridge=vmbr0,ip=10.0.0.5/24,name=eth0,hwaddr=BC:24:11:AA:BB:CC,gw=10.0.0.1",
        )
        .unwrap();
        assert_eq!(
            v,
            "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:AA:BB:CC,ip=10.0.0.5/24,type=veth"
        );
        assert!(
            normalize("net0", "name=eth0")
                .unwrap()
                .contains("hwaddr=BC:24:11:")
        );
        assert_eq!(
            normalize("net0", "bridge=vmbr0").unwrap_err().to_string(),
            "400 Parameter verification failed.\nnet0: invalid format - name: property is missing and it is not optional"
        );
        assert_eq!(
            normalize("net0", "name=eth0,foo=1")
                .unwrap_err()
                .to_string(),
            "400 Parameter verification failed.\nnet0: invalid format - invalid key in comma-separated list property: foo"
        );
        assert_eq!(
            normalize("mp0", "/srv/share,ro=1,mp=/data").unwrap(),
            "/srv/share,mp=/data,ro=1"
        );
        assert!(normalize("mp0", "/srv/share").is_err());
        assert!(normalize("mp1", "/srv/../etc,mp=/x").is_err());
    }
}
