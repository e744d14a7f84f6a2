//! Names and paths with a fixed shape: hostnames, bridges, storage ids, snapshot
//! names, script paths, host paths and the other pattern-checked strings.

use crate::value::string_newtype;

string_newtype! {
    /// A hostname by Proxmox's `dns-name` rule: labels of letters, digits and inner
    /// hyphens joined by dots; no `_`, no trailing dot, at most 255 characters, and (stricter
    /// than Proxmox, as DNS requires) at most 63 characters per label.
    ///
    /// ```
    /// use phoenix_config::Hostname;
    /// assert!("vllm-qwen2.5-7b".parse::<Hostname>().is_ok());
    /// let err = "web_1".parse::<Hostname>().unwrap_err();
    /// assert_eq!(err.reason, "value does not look like a valid DNS name");
    /// ```
    Hostname {
        what: "hostname",
        pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
        reason: "value does not look like a valid DNS name",
        max_len: 255,
    }
}

string_newtype! {
    /// A Linux bridge name, Proxmox's `bridge` rule: `vmbr0`.
    Bridge {
        what: "bridge name",
        pattern: "^[-_.a-zA-Z0-9]+$",
        reason: "a bridge name is letters, digits, '-', '_' and '.'",
        max_len: 15,
    }
}

string_newtype! {
    /// A network interface name inside the container, Proxmox's `name` rule: `eth0`.
    InterfaceName {
        what: "interface name",
        pattern: "^[a-zA-Z0-9_.-]+$",
        reason: "an interface name is letters, digits, '-', '_' and '.'",
        max_len: 15,
    }
}

string_newtype! {
    /// A Proxmox storage id: `local-zfs`, `quickOS-lxc-disks`.
    StorageId {
        what: "storage id",
        pattern: "^[a-zA-Z][a-zA-Z0-9._-]*[a-zA-Z0-9]$",
        reason: "a storage id starts with a letter, ends with a letter or digit and holds letters, digits, '-', '_' and '.'",
    }
}

/// A snapshot name, Proxmox's rule: the conf model's type.
pub use phoenix_pveconf::SnapshotName;

/// Why `value` is not a snapshot name, in `phoenix validate`'s words.
pub(crate) fn explain_snapshot_name(value: &str) -> Option<crate::value::InvalidValue> {
    use phoenix_pveconf::SnapshotNameError as E;
    let reason = match value.parse::<SnapshotName>().err()? {
        E::TooLong(_) => format!("longer than {} characters", SnapshotName::MAX_LEN),
        E::TooShort(_) => format!("shorter than {} characters", SnapshotName::MIN_LEN),
        E::Invalid(_) => "a snapshot name starts with a lower-case letter and holds lower-case letters, digits, '-' and '_'".into(),
        E::Reserved(_) => "is a name Proxmox reserves (current, vzdump)".into(),
    };
    Some(crate::value::InvalidValue::new(
        "snapshot name",
        value,
        reason,
    ))
}

string_newtype! {
    /// A script path relative to phoenix's script directory: a plain relative path,
    /// subdirectories allowed (`docker/check.sh`); no `..`, not absolute, no shell
    /// metacharacters. Scripts are run by path as argv, never through a shell.
    ///
    /// ```
    /// use phoenix_config::ScriptPath;
    /// assert!("docker/check_docker.sh".parse::<ScriptPath>().is_ok());
    /// assert_eq!("../x.sh".parse::<ScriptPath>().unwrap_err().reason, "must not contain '..'");
    /// ```
    ScriptPath {
        what: "script path",
        pattern: "^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$",
        reason: "a script path is relative: names of letters, digits, '_', '.', '+' and '-' joined by '/', none starting with '.'",
        check: |s| {
            if s.starts_with('/') {
                return Err("must be relative, not absolute".into());
            }
            if s.split('/').any(|seg| seg == "..") {
                return Err("must not contain '..'".into());
            }
            if let Some(c) = s.chars().find(|c| "$`;&|<>()*?[]{}!~'\"\\ \t\n#".contains(*c)) {
                return Err(format!("must not contain the shell metacharacter {c:?}"));
            }
            Ok(())
        },
    }
}

string_newtype! {
    /// An absolute path: `/srv/share`. No `.` or `..` components, no empty
    /// components, no trailing `/`, and no whitespace, `,` or `=` (they would break
    /// Proxmox's `mpN: <path>,mp=<path>` property strings).
    AbsPath {
        what: "absolute path",
        pattern: "^(/([^/\\s,=.][^/\\s,=]*|\\.[^/\\s,=.][^/\\s,=]*|\\.\\.[^/\\s,=]+))+$",
        reason: "expected an absolute path like /srv/data: no '.' or '..' components, no empty components or trailing '/', no whitespace, ',' or '='",
    }
}

string_newtype! {
    /// An octal file mode: `0750` or `750`.
    FileMode {
        what: "file mode",
        pattern: "^[0-7]{3,4}$",
        reason: "expected an octal mode like 0750",
    }
}

string_newtype! {
    /// The OS template a container is created from: a Proxmox volume id
    /// (`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`) or an absolute path.
    OsTemplate {
        what: "OS template",
        pattern: "^([a-zA-Z][a-zA-Z0-9._-]*:vztmpl/[^\\s/]+|/[^\\s]+)$",
        reason: "expected a volume id like local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst or an absolute path",
    }
}

string_newtype! {
    /// A raw LXC key line for the CT config: `lxc.cgroup2.devices.allow=a` (Proxmox
    /// accepts `=` or `:` after the key).
    LxcOption {
        what: "raw LXC option",
        pattern: "^lxc\\.[a-z0-9_.-]+ *[=:].*$",
        reason: "expected 'lxc.<key>=<value>', like lxc.cgroup2.devices.allow=a",
    }
}

impl LxcOption {
    /// The key, like `lxc.apparmor.profile`.
    pub fn key(&self) -> &str {
        let end = self
            .0
            .find([' ', '=', ':'])
            .expect("checked by the pattern");
        &self.0[..end]
    }

    /// The value, trimmed as Proxmox trims it.
    pub fn value(&self) -> &str {
        let rest = &self.0[self.key().len()..];
        rest.trim_start()[1..].trim()
    }
}

string_newtype! {
    /// One Proxmox `features` flag: `nesting=1`, `keyctl=1`, `fuse=1`, `mknod=1`,
    /// `force_rw_sys=1` or `mount=nfs;cifs`.
    PctOption {
        what: "pct feature option",
        pattern: "^((nesting|keyctl|fuse|mknod|force_rw_sys)=[01]|mount=[a-z0-9]+(;[a-z0-9]+)*)$",
        reason: "expected one of nesting=0|1, keyctl=0|1, fuse=0|1, mknod=0|1, force_rw_sys=0|1, mount=<fs>;<fs>",
    }
}

string_newtype! {
    /// A port mapping `host:container`, both 1..=65535: `8000:8000`.
    PortMapping {
        what: "port mapping",
        pattern: "^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}):(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})$",
        reason: "expected host:container ports, each 1-65535, like 8000:8000",
    }
}

string_newtype! {
    /// GPUs passed to a container: `none`, `all`, or GPU indices joined by commas
    /// (`0,1`).
    GpuAssignment {
        what: "GPU assignment",
        pattern: "^(none|all|[0-9]{1,4}( *, *[0-9]{1,4})*)$",
        reason: "expected 'none', 'all' or GPU indices joined by commas, like 0,1",
    }
}

/// Which GPUs a [`GpuAssignment`] names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuSelection {
    /// `none`.
    None,
    /// `all`: every GPU of the host.
    All,
    /// These indices (`/dev/nvidia<N>`), in the order written, without repeats.
    Indices(Vec<u32>),
}

impl GpuAssignment {
    /// The GPU indices (empty for `none` and `all`).
    pub fn gpus(&self) -> Vec<u32> {
        match self.selection() {
            GpuSelection::Indices(i) => i,
            _ => Vec::new(),
        }
    }

    /// What the assignment selects.
    ///
    /// ```
    /// use phoenix_config::{GpuAssignment, GpuSelection};
    /// let a: GpuAssignment = "0, 1".parse().unwrap();
    /// assert_eq!(a.selection(), GpuSelection::Indices(vec![0, 1]));
    /// assert_eq!("all".parse::<GpuAssignment>().unwrap().selection(), GpuSelection::All);
    /// assert!("gpu0".parse::<GpuAssignment>().is_err());
    /// ```
    pub fn selection(&self) -> GpuSelection {
        match self.0.as_str() {
            "none" => GpuSelection::None,
            "all" => GpuSelection::All,
            list => {
                let mut out: Vec<u32> = Vec::new();
                // At most four digits each (the pattern): always a u32.
                for g in list.split(',').filter_map(|g| g.trim().parse().ok()) {
                    if !out.contains(&g) {
                        out.push(g);
                    }
                }
                GpuSelection::Indices(out)
            }
        }
    }
}

string_newtype! {
    /// A feature name, checked against [`crate::features::KNOWN`] by validation.
    FeatureName {
        what: "feature name",
        pattern: "^[a-z][a-z0-9_]*$",
        reason: "a feature name is lower-case letters, digits and '_'",
    }
}

string_newtype! {
    /// An IANA time zone: `America/New_York`, `UTC`.
    TimeZone {
        what: "time zone",
        pattern: "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$",
        reason: "expected an IANA time zone like Europe/Berlin or UTC",
    }
}

string_newtype! {
    /// A ZFS dataset path `pool/dataset`: `quickOS/shared-prod-data`.
    DatasetPath {
        what: "ZFS dataset",
        pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9][A-Za-z0-9_.:-]*)+$",
        reason: "expected pool/dataset, like tank/data",
    }
}

string_newtype! {
    /// An http or https URL.
    HttpUrl {
        what: "URL",
        pattern: "^https?://[^\\s]+$",
        reason: "expected an http:// or https:// URL",
    }
}

string_newtype! {
    /// The PVE API's address: `https://host[:port]`, optionally with a trailing `/` and
    /// nothing after it (phoenix adds `/api2/json`). The host is a DNS name or an IPv4
    /// address; the port 1..=65535 (Proxmox listens on 8006).
    ///
    /// ```
    /// use phoenix_config::names::ApiUrl;
    /// assert!("https://pve1.example:8006".parse::<ApiUrl>().is_ok());
    /// assert!("https://10.0.0.11:8006/".parse::<ApiUrl>().is_ok());
    /// assert!("http://pve1:8006".parse::<ApiUrl>().is_err());
    /// assert!("https://pve1:8006/api2/json".parse::<ApiUrl>().is_err());
    /// ```
    ApiUrl {
        what: "API URL",
        pattern: "^https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?$",
        reason: "expected https://host[:port] with no path and a port in 1..=65535, like https://pve1.example:8006",
    }
}

string_newtype! {
    /// A Unix login name, as `useradd` accepts it by default: `root`, `phoenix`.
    LoginName {
        what: "login name",
        pattern: "^[a-z_][a-z0-9_-]*$",
        reason: "a login name is lower-case letters, digits, '_' and '-', starting with a letter or '_'",
        max_len: 32,
    }
}

string_newtype! {
    /// A command run on another host: a name looked up on its `PATH` (`phoenix`) or an
    /// absolute path (`/usr/local/bin/phoenix`). Never starts with `-`, so it cannot be
    /// read as an option.
    RemoteCommand {
        what: "command",
        pattern: "^(/[A-Za-z0-9_.+-]+)+$|^[A-Za-z0-9_][A-Za-z0-9_.+-]*$",
        reason: "expected a command name like phoenix or an absolute path like /usr/local/bin/phoenix",
    }
}

string_newtype! {
    /// A SHA-256 digest in hex (64 characters): a download's checksum.
    Sha256Hex {
        what: "SHA-256 digest",
        pattern: "^[0-9a-f]{64}$",
        reason: "expected 64 lower-case hex digits (sha256sum's output)",
    }
}

string_newtype! {
    /// A dotted version number: `580.76.05`, `12.8`.
    VersionString {
        what: "version",
        pattern: "^[0-9]+(\\.[0-9]+)*$",
        reason: "expected numbers joined by dots, like 580.76.05",
    }
}

string_newtype! {
    /// A URL path prefix for the gateway: `/api/`.
    UrlPath {
        what: "URL path",
        pattern: "^/[A-Za-z0-9._~/-]*$",
        reason: "expected a path starting with '/', of letters, digits and ._~/-",
    }
}

string_newtype! {
    /// Destination or source ports of a firewall rule, in pve-firewall's `-dport`
    /// syntax: one port (`80`), a range (`8000:8010`) or a comma list of both
    /// (`80,443`). Each port is 1-65535 and a range runs upwards.
    ///
    /// ```
    /// use phoenix_config::PortList;
    /// let p: PortList = "80,443,8000:8010".parse().unwrap();
    /// assert_eq!(p.ranges(), vec![(80, 80), (443, 443), (8000, 8010)]);
    /// assert!("80,".parse::<PortList>().is_err());
    /// ```
    PortList {
        what: "port list",
        pattern: "^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(,(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?)*$",
        reason: "expected ports 1-65535: one, a range like 8000:8010 or a comma list like 80,443",
        check: |s| {
            for item in s.split(',') {
                let mut ends = item.split(':').map(|p| p.parse::<u32>().unwrap_or(0));
                let lo = ends.next().unwrap_or(0);
                let hi = ends.next().unwrap_or(lo);
                if !(1..=65535).contains(&lo) || !(1..=65535).contains(&hi) {
                    return Err(format!("port {item} is outside 1-65535"));
                }
                if lo > hi {
                    return Err(format!("range {item} runs downwards"));
                }
            }
            Ok(())
        },
    }
}

impl PortList {
    /// The ranges, `(first, last)`; a single port is `(p, p)`.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        self.0
            .split(',')
            .map(|item| {
                let mut ends = item.split(':').map(|p| p.parse().expect("checked"));
                let lo = ends.next().expect("checked");
                (lo, ends.next().unwrap_or(lo))
            })
            .collect()
    }

    /// True when every port of `other` is also one of these.
    pub fn covers(&self, other: &PortList) -> bool {
        let mine = self.ranges();
        other
            .ranges()
            .iter()
            .all(|(lo, hi)| (*lo..=*hi).all(|p| mine.iter().any(|(a, b)| (*a..=*b).contains(&p))))
    }
}

string_newtype! {
    /// A firewall rule comment: one line of text (Proxmox writes it after `#` on the
    /// rule's line, so a line break would end the rule early and start another).
    RuleComment {
        what: "rule comment",
        pattern: "^[^\\x00-\\x1f\\x7f]*$",
        reason: "a comment is one line of text, without line breaks or other control characters",
        max_len: 500,
    }
}

string_newtype! {
    /// The name of an environment variable holding a secret: `PORTAINER_PASSWORD`.
    EnvVarName {
        what: "environment variable name",
        pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
        reason: "an environment variable name is letters, digits and '_', not starting with a digit",
    }
}

string_newtype! {
    /// A Docker stack name the old system deployed through Portainer: `qdrant_service`.
    StackName {
        what: "stack name",
        pattern: "^[a-z0-9][a-z0-9_.-]*$",
        reason: "a stack name is lower-case letters, digits, '_', '.' and '-'",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_follows_proxmox() {
        for ok in [
            "a",
            "web-1",
            "vllm-qwen2.5-7b-awq",
            "Template-Base",
            &"a".repeat(63),
            &format!("{}.{}", "a".repeat(63), "b".repeat(63)),
        ] {
            assert!(ok.parse::<Hostname>().is_ok(), "{ok}");
        }
        // A DNS label is at most 63 characters (RFC 1035); Proxmox does not check it,
        // but a longer hostname breaks resolvers inside and outside the container.
        let long = "a".repeat(64);
        let long_inner = format!("x.{}.y", "a".repeat(64));
        for bad in [
            "web_1",
            "-a",
            "a-",
            "a.",
            ".a",
            "a..b",
            "",
            &long,
            &long_inner,
        ] {
            assert!(bad.parse::<Hostname>().is_err(), "{bad}");
        }
        assert_eq!(
            "a".repeat(256).parse::<Hostname>().unwrap_err().reason,
            "longer than 255 characters"
        );
    }

    #[test]
    fn script_path_reasons() {
        let reason = |s: &str| s.parse::<ScriptPath>().unwrap_err().reason;
        assert_eq!(reason("/etc/x.sh"), "must be relative, not absolute");
        assert_eq!(reason("a/../x.sh"), "must not contain '..'");
        assert_eq!(
            reason("x.sh;rm"),
            "must not contain the shell metacharacter ';'"
        );
        assert_eq!(
            reason(".hidden"),
            "a script path is relative: names of letters, digits, '_', '.', '+' and '-' joined by '/', none starting with '.'"
        );
        assert!("health_checks/dummy_pass.sh".parse::<ScriptPath>().is_ok());
    }

    #[test]
    fn abs_path() {
        for ok in ["/srv", "/mnt/pve/a.b/c", "/.x", "/..x"] {
            assert!(ok.parse::<AbsPath>().is_ok(), "{ok}");
        }
        for bad in [
            "srv", "/", "/a/", "/a/../b", "/a/./b", "/a b", "/a,b", "//a",
        ] {
            assert!(bad.parse::<AbsPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lxc_option_split() {
        let o: LxcOption = "lxc.apparmor.profile=unconfined".parse().unwrap();
        assert_eq!((o.key(), o.value()), ("lxc.apparmor.profile", "unconfined"));
        let o: LxcOption = "lxc.mount.auto = proc:rw sys:rw".parse().unwrap();
        assert_eq!((o.key(), o.value()), ("lxc.mount.auto", "proc:rw sys:rw"));
        let o: LxcOption = "lxc.cap.keep: sys_admin".parse().unwrap();
        assert_eq!((o.key(), o.value()), ("lxc.cap.keep", "sys_admin"));
    }

    #[test]
    fn small_types() {
        assert!("pre-configured".parse::<SnapshotName>().is_ok());
        assert_eq!(
            explain_snapshot_name("current").unwrap().to_string(),
            "invalid snapshot name \"current\": is a name Proxmox reserves (current, vzdump)"
        );
        assert_eq!(
            explain_snapshot_name("a").unwrap().reason,
            "shorter than 2 characters"
        );
        assert!("65536:1".parse::<PortMapping>().is_err());
        assert!("65535:1".parse::<PortMapping>().is_ok());
        assert_eq!("0, 1".parse::<GpuAssignment>().unwrap().gpus(), vec![0, 1]);
        assert!("none".parse::<GpuAssignment>().unwrap().gpus().is_empty());
        assert!(
            "local:vztmpl/phoenix-busybox_amd64.tar.gz"
                .parse::<OsTemplate>()
                .is_ok()
        );
        assert!("nesting=1".parse::<PctOption>().is_ok());
        assert!("nesting=2".parse::<PctOption>().is_err());
    }
}
