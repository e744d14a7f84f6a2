//! What Proxmox's `PVE::LXC::Setup` does to a guest's files, for the emulator's create
//! and start (pve-container `src/PVE/LXC/Setup.pm` and `Setup/Base.pm`).
//!
//! - OS detection: `/etc/os-release` `ID` (or `/usr/lib/os-release`) when it names a
//!   plugin, then its aliases (`arch`, `sles`, `opensuse-leap`, `opensuse-tumbleweed`),
//!   then the old marker files; `unable to detect OS distribution` when an os-release
//!   exists but nothing matched, and `unmanaged` (with a warning) when there is no
//!   os-release at all. `ostype: unmanaged` skips detection; otherwise the detected type
//!   wins over `--ostype` (`got unexpected ostype (<detected> != <given>)`), since each
//!   plugin sets `$conf->{ostype}` itself.
//! - `set_hostname`: `/etc/hostname` holds the first label of `hostname` (default
//!   `localhost`), and `/etc/hosts` gets a `# --- BEGIN PVE ---` section with the
//!   localhost lines the file lacks and the primary IP (or 127.0.1.1) with the names.
//! - `set_dns`: `/etc/resolv.conf` gets `search`/`nameserver` from the conf's
//!   `searchdomain`/`nameserver`, else from the host's resolv.conf (first three
//!   nameservers).
//!
//! Both run at create (`post_create_hook`) and at every start (`pre_start_hook`);
//! an `unmanaged` CT is left alone. `.pve-ignore.<name>` beside a file protects it.

use std::collections::BTreeMap;
use std::path::Path;

use phoenix_pveconf::conf::CtConf;

use crate::guest::{GuestWriteError, write_file};
use crate::shift::OwnerMap;

/// The ostypes with a setup plugin (Setup.pm `$plugins`).
const PLUGINS: &[&str] = &[
    "alpine",
    "archlinux",
    "centos",
    "debian",
    "devuan",
    "fedora",
    "gentoo",
    "opensuse",
    "ubuntu",
    "nixos",
    "unmanaged",
];

/// `$plugin_alias`.
const ALIASES: &[(&str, &str)] = &[
    ("opensuse-leap", "opensuse"),
    ("opensuse-tumbleweed", "opensuse"),
    ("arch", "archlinux"),
    ("sles", "opensuse"),
];

/// Setup.pm's `$parse_os_release`: `VAR=value`, `VAR='value'` or `VAR="value"`.
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some((var, content)) = line.split_once('=') else {
            continue;
        };
        let ok_var = var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok_var {
            continue;
        }
        let value = if let Some(rest) = content.strip_prefix('\'') {
            rest.split('\'').next().unwrap_or_default().to_owned()
        } else if let Some(rest) = content.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        } else {
            content
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        };
        vars.insert(var.to_owned(), value);
    }
    vars
}

/// Setup.pm's `$autodetect_type` on a rootfs: the type and the warnings printed.
pub fn detect(rootfs: &Path) -> Result<(String, Vec<String>), String> {
    let mut warnings = Vec::new();
    let os_release = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .map(|p| rootfs.join(p))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok());
    if let Some(id) = os_release
        .as_deref()
        .map(parse_os_release)
        .and_then(|v| v.get("ID").cloned())
        .filter(|id| !id.is_empty())
    {
        if let Some(p) = PLUGINS.iter().find(|p| **p == id) {
            return Ok(((*p).to_owned(), warnings));
        }
        if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == id) {
            return Ok(((*to).to_owned(), warnings));
        }
        warnings.push(format!(
            "unknown ID '{id}' in /etc/os-release file, trying fallback detection"
        ));
    }
    let file = |p: &str| rootfs.join(p).is_file();
    if std::fs::read_to_string(rootfs.join("etc/lsb-release")).is_ok_and(|d| {
        d.lines()
            .any(|l| l.eq_ignore_ascii_case("DISTRIB_ID=Ubuntu"))
    }) {
        return Ok(("ubuntu".into(), warnings));
    }
    let found = if file("etc/debian_version") {
        "debian"
    } else if file("etc/devuan_version") {
        "devuan"
    } else if file("etc/SuSE-brand") || file("etc/SuSE-release") {
        "opensuse"
    } else if file("etc/fedora-release") {
        "fedora"
    } else if file("etc/centos-release") || file("etc/redhat-release") {
        "centos"
    } else if file("etc/arch-release") {
        "archlinux"
    } else if file("etc/alpine-release") {
        "alpine"
    } else if file("etc/gentoo-release") {
        "gentoo"
    } else if rootfs.join("nix/store").is_dir() {
        "nixos"
    } else if file("etc/os-release") {
        return Err("unable to detect OS distribution".into());
    } else {
        warnings.push(
            "/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'"
                .into(),
        );
        "unmanaged"
    };
    Ok((found.to_owned(), warnings))
}

/// `PVE::LXC::Setup->new`: the ostype a CT gets from its rootfs and `--ostype`.
pub fn choose_ostype(
    rootfs: &Path,
    requested: Option<&str>,
) -> Result<(String, Vec<String>), String> {
    if requested == Some("unmanaged") {
        return Ok(("unmanaged".into(), Vec::new()));
    }
    let (detected, mut warnings) = detect(rootfs)?;
    if let Some(r) = requested.filter(|r| *r != detected) {
        if !rootfs.join("etc").exists() {
            warnings.push("WARNING: /etc not present in CT, is the rootfs mounted?".into());
        }
        warnings.push(format!("got unexpected ostype ({detected} != {r})"));
    }
    Ok((detected, warnings))
}

const HEAD: &str = "# --- BEGIN PVE ---\n";
const TAIL: &str = "# --- END PVE ---\n";

/// Base.pm's `ct_modify_file`: the new text of a file whose marked section becomes
/// `data`, or `None` when nothing is written. `replace` replaces an unmarked file
/// whole; otherwise the section is appended.
pub fn modify_section(old: Option<&str>, data: &str, replace: bool) -> Option<String> {
    let mut data = data.to_owned();
    if !data.is_empty() && !data.ends_with('\n') {
        data.push('\n');
    }
    let Some(old) = old else {
        return (!data.is_empty()).then(|| format!("{HEAD}{data}{TAIL}"));
    };
    let lines: Vec<&str> = old.split('\n').collect();
    let lines = if old.ends_with('\n') {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let is = |l: &str, word: &str| {
        l.strip_prefix('#')
            .map(|r| r.trim_start())
            .and_then(|r| r.strip_prefix("---"))
            .map(|r| r.trim_start())
            .is_some_and(|r| r.to_ascii_uppercase().starts_with(word))
    };
    let beg = lines.iter().position(|l| is(l, "BEGIN"));
    let end = beg.and_then(|b| lines[b..].iter().position(|l| is(l, "END")).map(|e| b + e));
    if let (Some(b), Some(e)) = (beg, end) {
        let mut out: Vec<String> = lines[..b].iter().map(|s| (*s).to_owned()).collect();
        out.push(format!("{HEAD}{data}{}", TAIL.trim_end()));
        out.extend(lines[e + 1..].iter().map(|s| (*s).to_owned()));
        return Some(out.join("\n") + "\n");
    }
    if data.is_empty() {
        return None;
    }
    let section = format!("{HEAD}{data}{TAIL}");
    if replace {
        return Some(section);
    }
    let content = lines.join("\n");
    Some(format!("{}\n{section}", content.trim_end_matches('\n')))
}

/// Base.pm's `remove_pve_sections`.
pub fn remove_pve_sections(data: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for l in data.lines() {
        let t = l.trim_start();
        if !inside && t.starts_with(HEAD.trim_end()) {
            inside = true;
            continue;
        }
        if inside {
            if t.starts_with(TAIL.trim_end()) {
                inside = false;
            }
            continue;
        }
        out.push(l);
    }
    out.join("\n")
}

/// Base.pm's `update_etc_hosts`: the section for `/etc/hosts`.
pub fn hosts_section(
    existing: Option<&str>,
    hostname: &str,
    hostip: Option<&str>,
    searchdomains: Option<&str>,
) -> String {
    let namepart = hostname.split('.').next().unwrap_or(hostname);
    let all_names = if hostname.contains('.') {
        format!("{hostname} {namepart}")
    } else {
        let mut names: Vec<String> = split_list(searchdomains.unwrap_or(""))
            .map(|d| format!("{hostname}.{d}"))
            .collect();
        names.push(hostname.to_owned());
        names.join(" ")
    };
    let lo4 = "127.0.0.1 localhost.localnet localhost\n";
    let lo6 = "::1 localhost.localnet localhost\n";
    let mut section = String::new();
    match existing {
        Some(data) => {
            let data = remove_pve_sections(data);
            let has = |ip: &str| {
                data.lines().any(|l| {
                    l.trim_start_matches([' ', '\t'])
                        .strip_prefix(ip)
                        .is_some_and(|r| r.starts_with([' ', '\t']))
                })
            };
            if !has("127.0.0.1") {
                section.push_str(lo4);
            }
            if !has("::1") {
                section.push_str(lo6);
            }
        }
        None => {
            section.push_str(lo4);
            section.push_str(lo6);
        }
    }
    match hostip {
        Some(ip) => section.push_str(&format!("{ip} {all_names}\n")),
        None if namepart != "localhost" => section.push_str(&format!("127.0.1.1 {all_names}\n")),
        None => section.push_str(&format!("127.0.1.1 {namepart}\n")),
    }
    section
}

/// `PVE::Tools::split_list`: items split on commas, semicolons and whitespace.
fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', ';', ' ', '\t', '\0'])
        .filter(|x| !x.is_empty())
}

/// The host's `/etc/resolv.conf` as `PVE::INotify` reads it: the search list and the
/// first three nameservers.
pub fn parse_host_resolv(text: &str) -> (Option<String>, Vec<String>) {
    let mut search = None;
    let mut dns = Vec::new();
    for l in text.lines() {
        let mut w = l.split_whitespace();
        match w.next() {
            Some("search" | "domain") if search.is_none() => {
                search = Some(w.collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty());
            }
            Some("nameserver") if dns.len() < 3 => dns.extend(w.next().map(str::to_owned)),
            _ => {}
        }
    }
    (search, dns)
}

/// Base.pm's `set_dns` data: `search …` and one `nameserver` line each.
pub fn resolv_section(conf: &CtConf, host: &(Option<String>, Vec<String>)) -> String {
    let search = conf
        .get("searchdomain")
        .map(str::to_owned)
        .or_else(|| host.0.clone());
    let nameserver = conf
        .get("nameserver")
        .map(str::to_owned)
        .unwrap_or_else(|| host.1.join(" "));
    let mut data = String::new();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        data.push_str(&format!(
            "search {}\n",
            split_list(&s).collect::<Vec<_>>().join(" ")
        ));
    }
    for ns in split_list(&nameserver) {
        data.push_str(&format!("nameserver {ns}\n"));
    }
    data
}

/// `get_primary_ips`: net0's address without the prefix length (not dhcp/manual/auto).
fn primary_ip(conf: &CtConf) -> Option<String> {
    let net0 = conf.get("net0")?;
    let get = |k: &str| crate::pct::props::get(net0, None, k);
    let strip = |ip: String| ip.split('/').next().unwrap_or_default().to_owned();
    get("ip")
        .filter(|ip| ip != "dhcp" && ip != "manual")
        .map(strip)
        .or_else(|| {
            get("ip6")
                .filter(|ip| !matches!(ip.as_str(), "auto" | "dhcp" | "manual"))
                .map(|ip| ip.split('/').next().unwrap_or_default().to_owned())
        })
}

fn ignored(rootfs: &Path, rel: &str) -> bool {
    let p = Path::new(rel);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = p
        .parent()
        .map(|d| d.to_string_lossy().trim_start_matches('/').to_owned())
        .unwrap_or_default();
    rootfs
        .join(dir)
        .join(format!(".pve-ignore.{name}"))
        .is_file()
}

fn read(rootfs: &Path, rel: &str) -> Option<String> {
    let p = rootfs.join(rel.trim_start_matches('/'));
    // never through a link: the guest's files may point anywhere on the host
    if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
        std::fs::read_to_string(p).ok()
    } else {
        None
    }
}

/// `set_hostname` and `set_dns` on a rootfs (nothing for an `unmanaged` CT).
pub fn apply(
    rootfs: &Path,
    conf: &CtConf,
    map: &OwnerMap,
    host_resolv: &(Option<String>, Vec<String>),
) -> Result<(), GuestWriteError> {
    if conf.get("ostype") == Some("unmanaged") || !rootfs.join("etc").is_dir() {
        return Ok(());
    }
    let write = |rel: &str, text: &str| {
        if ignored(rootfs, rel) {
            return Ok(());
        }
        write_file(rootfs, rel, text.as_bytes(), (0o644, 0o755), map)
    };
    let hostname = conf.get("hostname").unwrap_or("localhost");
    let search = conf
        .get("searchdomain")
        .map(str::to_owned)
        .or_else(|| host_resolv.0.clone());
    let hosts = read(rootfs, "/etc/hosts");
    let section = hosts_section(
        hosts.as_deref(),
        hostname,
        primary_ip(conf).as_deref(),
        search.as_deref(),
    );
    if let Some(text) = modify_section(hosts.as_deref(), &section, false) {
        write("/etc/hosts", &text)?;
    }
    let namepart = hostname.split('.').next().unwrap_or(hostname);
    write("/etc/hostname", &format!("{namepart}\n"))?;
    let resolv = read(rootfs, "/etc/resolv.conf");
    if let Some(text) = modify_section(resolv.as_deref(), &resolv_section(conf, host_resolv), true)
    {
        write("/etc/resolv.conf", &text)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
