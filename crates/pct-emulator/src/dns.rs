//! The guest's `/etc/resolv.conf`, written before every start as Proxmox's setup does:
//! from the conf's `nameserver` and `searchdomain` (space- or comma-separated lists),
//! or, when the conf sets neither, from the host's own `resolv.conf` (under the root).
//!
//! ```text
//! search example.org
//! nameserver 10.255.255.53
//! ```

use std::path::Path;

use phoenix_pveconf::conf::CtConf;

use crate::apt_sources::nameservers;
use crate::guest::{GuestWriteError, write_file};
use crate::root::HostRoot;
use crate::shift::OwnerMap;

fn list(v: &str) -> Vec<String> {
    v.split([' ', ',', ';'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The text of the guest's resolv.conf, or `None` when there is nothing to write (the
/// conf sets no DNS and the host has no resolv.conf).
pub fn guest_resolv_conf(
    nameserver: Option<&str>,
    searchdomain: Option<&str>,
    host_resolv_conf: Option<&str>,
) -> Option<String> {
    let (search, servers) = if nameserver.is_some() || searchdomain.is_some() {
        (
            searchdomain.map(list).unwrap_or_default(),
            nameserver.map(list).unwrap_or_default(),
        )
    } else {
        let host = host_resolv_conf?;
        let search = host
            .lines()
            .filter_map(|l| l.strip_prefix("search "))
            .flat_map(list)
            .collect();
        (search, nameservers(host).into_iter().take(3).collect())
    };
    let mut t = String::new();
    if !search.is_empty() {
        t.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        t.push_str(&format!("nameserver {s}\n"));
    }
    Some(t)
}

/// Writes the guest's resolv.conf into `rootfs` (owned by the CT's root); a rootfs whose
/// resolv.conf is a symlink (systemd-resolved) is left alone, as its resolver owns it.
pub fn write_guest_resolv_conf(
    root: &HostRoot,
    conf: &CtConf,
    rootfs: &Path,
    map: &OwnerMap,
) -> Result<(), GuestWriteError> {
    let target = rootfs.join("etc/resolv.conf");
    if !rootfs.join("etc").is_dir() || target.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
        return Ok(());
    }
    let host = std::fs::read_to_string(root.join("/etc/resolv.conf")).ok();
    let Some(text) = guest_resolv_conf(
        conf.get("nameserver"),
        conf.get("searchdomain"),
        host.as_deref(),
    ) else {
        return Ok(());
    };
    write_file(
        rootfs,
        "/etc/resolv.conf",
        text.as_bytes(),
        (0o644, 0o755),
        map,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_values_win_over_the_host() {
        assert_eq!(
            guest_resolv_conf(
                Some("10.0.0.53 10.0.0.54"),
                Some("a.example"),
                Some("nameserver 1.2.3.4\n")
            ),
            Some("search a.example\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n".into())
        );
        assert_eq!(
            guest_resolv_conf(
                None,
                None,
                Some("search h.example\nnameserver 10.255.255.53\n")
            ),
            Some("search h.example\nnameserver 10.255.255.53\n".into())
        );
        assert_eq!(guest_resolv_conf(None, None, None), None);
    }
}
