//! The host's APT sources: which Debian mirror(s) the host uses, read from
//! `/etc/apt/sources.list` (one-line format) and `/etc/apt/sources.list.d/*.list` /
//! `*.sources` (deb822), under the root.
//!
//! ```text
//! Types: deb
//! URIs: http://deb.debian.org/debian
//! Suites: bookworm bookworm-updates
//! Components: main
//! ```
//!
//! The Debian template builder passes the entries to `mmdebstrap` (so the template uses
//! the mirror this host is allowed to reach), and the uplink lets containers reach
//! only those mirrors' hosts.
//!
//! ```
//! use pct_emulator::apt_sources::{parse_deb822, SourceEntry};
//! let e = parse_deb822("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n");
//! assert_eq!(e[0].one_line(), "deb http://deb.debian.org/debian bookworm main");
//! assert_eq!(e[0].host(), Some("deb.debian.org"));
//! ```

use std::path::Path;

use crate::root::HostRoot;

/// One `deb` source: a URI, a suite and its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// The mirror URI (`http://deb.debian.org/debian`).
    pub uri: String,
    /// The suite (`bookworm`, `bookworm-security`).
    pub suite: String,
    /// The components (`main`).
    pub components: Vec<String>,
}

impl SourceEntry {
    /// The entry in one-line format, as `mmdebstrap` takes a mirror argument.
    pub fn one_line(&self) -> String {
        format!(
            "deb {} {} {}",
            self.uri,
            self.suite,
            self.components.join(" ")
        )
    }

    /// The URI's host name (no user, port or path).
    pub fn host(&self) -> Option<&str> {
        let rest = self.uri.split_once("://")?.1;
        let authority = rest.split('/').next()?;
        let host = authority.rsplit('@').next()?;
        let host = host.split(':').next()?;
        (!host.is_empty()).then_some(host)
    }

    /// The URI's port: explicit, else 80 for http and 443 for https.
    pub fn port(&self) -> Option<u16> {
        let (scheme, rest) = self.uri.split_once("://")?;
        let authority = rest.split('/').next()?.rsplit('@').next()?;
        if let Some((_, p)) = authority.split_once(':') {
            return p.parse().ok();
        }
        match scheme {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        }
    }
}

/// The `deb` entries of a deb822 `.sources` file (stanzas with `Enabled: no` and
/// `deb-src`-only stanzas are left out).
pub fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut out = vec![];
    for stanza in text.split("\n\n") {
        let field = |name: &str| -> Vec<String> {
            stanza
                .lines()
                .filter(|l| !l.starts_with('#'))
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.split_whitespace().map(str::to_owned).collect())
                })
                .unwrap_or_default()
        };
        let types = field("Types");
        let enabled = field("Enabled");
        if !types.iter().any(|t| t == "deb") || enabled.iter().any(|e| e == "no") {
            continue;
        }
        let components = field("Components");
        for uri in field("URIs") {
            for suite in field("Suites") {
                out.push(SourceEntry {
                    uri: uri.clone(),
                    suite,
                    components: components.clone(),
                });
            }
        }
    }
    out
}

/// The `deb` lines of a one-line `sources.list` (options in `[...]` are skipped).
pub fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next()?.trim();
            let rest = l.strip_prefix("deb ")?.trim_start();
            let rest = match rest.strip_prefix('[') {
                Some(r) => r.split_once(']')?.1,
                None => rest,
            };
            let mut words = rest.split_whitespace();
            let uri = words.next()?.to_owned();
            let suite = words.next()?.to_owned();
            Some(SourceEntry {
                uri,
                suite,
                components: words.map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// Every `deb` entry of the host's APT sources under `root`, in file-name order
/// (`sources.list` first). Files apt ignores (other extensions) are ignored too.
pub fn host_sources(root: &HostRoot) -> Vec<SourceEntry> {
    let mut out = vec![];
    if let Ok(t) = std::fs::read_to_string(root.join("/etc/apt/sources.list")) {
        out.extend(parse_one_line(&t));
    }
    let dir = root.join("/etc/apt/sources.list.d");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        let Ok(t) = std::fs::read_to_string(&f) else {
            continue;
        };
        match f.extension().and_then(|e| e.to_str()) {
            Some("list") => out.extend(parse_one_line(&t)),
            Some("sources") => out.extend(parse_deb822(&t)),
            _ => {}
        }
    }
    out
}

/// The host's entries for one Debian release: suites equal to `suite` or starting with
/// `<suite>-` (`bookworm-updates`, `bookworm-security`) whose URI path holds `debian`.
pub fn debian_entries(all: &[SourceEntry], suite: &str) -> Vec<SourceEntry> {
    all.iter()
        .filter(|e| e.suite == suite || e.suite.starts_with(&format!("{suite}-")))
        .filter(|e| e.uri.contains("debian"))
        .cloned()
        .collect()
}

/// The nameserver addresses of a `resolv.conf`.
pub fn nameservers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver"))
                .then(|| w.next().map(str::to_owned))
                .flatten()
        })
        .collect()
}

/// The host's nameservers, from `<root>/etc/resolv.conf`.
pub fn host_nameservers(root: &HostRoot) -> Vec<String> {
    std::fs::read_to_string(root.join(Path::new("/etc/resolv.conf")))
        .map(|t| nameservers(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_expands_uris_and_suites_and_skips_disabled_and_src() {
        let text = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n";
        let e = parse_deb822(text);
        let lines: Vec<String> = e.iter().map(SourceEntry::one_line).collect();
        assert_eq!(
            lines,
            [
                "deb http://deb.debian.org/debian bookworm main contrib",
                "deb http://deb.debian.org/debian bookworm-updates main contrib"
            ]
        );
    }

    #[test]
    fn one_line_skips_options_comments_and_src() {
        let e = parse_one_line(
            "# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://user@mirror.example:8443/debian bookworm main # x\ndeb-src http://a/debian bookworm main\n",
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].host(), Some("mirror.example"));
        assert_eq!(e[0].port(), Some(8443));
        assert_eq!(e[0].components, ["main"]);
    }

    #[test]
    fn host_sources_reads_list_and_sources_files_under_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = HostRoot::new(t.path());
        std::fs::create_dir_all(root.join("/etc/apt/sources.list.d")).unwrap();
        std::fs::write(
            root.join("/etc/apt/sources.list.d/debian.sources"),
            "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n",
        )
        .unwrap();
        std::fs::write(
            root.join("/etc/apt/sources.list.d/x.list.disabled"),
            "deb http://other.example/debian bookworm main\n",
        )
        .unwrap();
        std::fs::write(
            root.join("/etc/apt/sources.list.d/node.list"),
            "deb https://deb.nodesource.example/node nodistro main\n",
        )
        .unwrap();
        let all = host_sources(&root);
        assert_eq!(all.len(), 2);
        let deb = debian_entries(&all, "bookworm");
        assert_eq!(
            deb.iter().map(SourceEntry::one_line).collect::<Vec<_>>(),
            ["deb http://deb.debian.org/debian-security bookworm-security main"]
        );
        assert_eq!(deb[0].port(), Some(80));
    }

    #[test]
    fn nameservers_are_read_in_order() {
        assert_eq!(
            nameservers("search x\nnameserver 10.0.0.53\n# nameserver 1.1.1.1\nnameserver ::1\n"),
            ["10.0.0.53", "::1"]
        );
    }
}
