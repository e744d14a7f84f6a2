//! Warnings found while parsing: Proxmox's own texts, with the line they come from.

use std::fmt;

use crate::Vmid;

/// One problem on one line. Parsing is never fatal; Proxmox prints these on every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfWarning {
    /// 1-based line number in the parsed text.
    pub line: usize,
    /// What is wrong.
    pub kind: WarningKind,
}

/// What Proxmox warns about. [`WarningKind::proxmox_text`] gives its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// A line no rule matches; Proxmox drops it on its next rewrite.
    UnparsableLine {
        /// The whole line.
        line: String,
    },
    /// `delete:` outside `[pve:pending]`; the line is dropped.
    DeleteOutsidePending,
    /// A `key: value` whose key Proxmox does not know; the value is kept.
    UnknownSetting {
        /// The key.
        key: String,
    },
    /// A value of the wrong type (boolean, integer or number); the value is kept raw.
    TypeCheck {
        /// The key.
        key: String,
        /// `boolean`, `integer` or `number`.
        expected: &'static str,
        /// The value as written.
        value: String,
    },
    /// A string value of the wrong format (DNS name, property string); the value is kept raw.
    Format {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A value holding a carriage return; the value is kept raw.
    LineFeed {
        /// The key.
        key: String,
    },
    /// A raw `lxc.*` key refused with its own message; dropped on the next rewrite.
    RejectedLxcKey {
        /// The key.
        key: String,
        /// Proxmox's reason.
        reason: &'static str,
    },
    /// An old raw `lxc.*` key name; kept.
    RenamedLxcKey {
        /// The key as written.
        key: String,
        /// Its current name.
        replacement: &'static str,
    },
    /// A cgroup v1 `lxc.cgroup.*` key; kept, but has no effect on a cgroup v2 host.
    CgroupV1Key {
        /// The key.
        key: String,
    },
}

impl WarningKind {
    /// True when Proxmox drops the line on its next rewrite of the file.
    pub fn drops_line(&self) -> bool {
        matches!(
            self,
            WarningKind::UnparsableLine { .. }
                | WarningKind::DeleteOutsidePending
                | WarningKind::RejectedLxcKey { .. }
        )
    }

    /// The message without Proxmox's `vm <id> - ` prefix.
    pub fn proxmox_text(&self) -> String {
        match self {
            WarningKind::UnparsableLine { line } => format!("unable to parse config: {line}"),
            WarningKind::DeleteOutsidePending => {
                "property 'delete' is only allowed in [pve:pending]".to_owned()
            }
            WarningKind::UnknownSetting { key } => {
                format!("unable to parse value of '{key}' - unknown setting '{key}'")
            }
            WarningKind::TypeCheck {
                key,
                expected,
                value,
            } => format!(
                "unable to parse value of '{key}' - type check ('{expected}') failed - got '{value}'"
            ),
            WarningKind::Format { key, reason } => {
                format!("unable to parse value of '{key}' - {reason}")
            }
            WarningKind::LineFeed { key } => {
                format!("unable to parse value of '{key}' - property contains a line feed")
            }
            WarningKind::RejectedLxcKey { key, reason } => format!("{key}: {reason}"),
            // is_valid_lxc_conf_key: `lxc.limit.*` has a text of its own
            WarningKind::RenamedLxcKey { key, replacement } if key.starts_with("lxc.limit.") => {
                format!("{key}: lxc.limit.* was renamed to {replacement}")
            }
            WarningKind::RenamedLxcKey { key, replacement } => {
                format!("{key} is deprecated and was renamed to {replacement}")
            }
            // Not Proxmox's text: phoenix says why the key is worth a look.
            WarningKind::CgroupV1Key { key } => {
                format!("{key}: lxc.cgroup.* keys only apply to cgroup v1, use lxc.cgroup2.*")
            }
        }
    }
}

impl ConfWarning {
    /// The line exactly as Proxmox prints it: `vm 100 - unable to parse config: FOO`.
    pub fn to_proxmox(&self, vmid: Vmid) -> String {
        format!("vm {vmid} - {}", self.kind.proxmox_text())
    }
}

impl fmt::Display for ConfWarning {
    /// `line 3: unable to parse config: FOO`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind.proxmox_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(kind: WarningKind) -> String {
        ConfWarning { line: 7, kind }.to_string()
    }

    #[test]
    fn every_message() {
        let key = || "foo".to_owned();
        assert_eq!(
            text(WarningKind::UnparsableLine {
                line: "FOO: 1".into()
            }),
            "line 7: unable to parse config: FOO: 1"
        );
        assert_eq!(
            text(WarningKind::DeleteOutsidePending),
            "line 7: property 'delete' is only allowed in [pve:pending]"
        );
        assert_eq!(
            text(WarningKind::UnknownSetting { key: key() }),
            "line 7: unable to parse value of 'foo' - unknown setting 'foo'"
        );
        assert_eq!(
            text(WarningKind::TypeCheck {
                key: "onboot".into(),
                expected: "boolean",
                value: "maybe".into()
            }),
            "line 7: unable to parse value of 'onboot' - type check ('boolean') failed - got 'maybe'"
        );
        assert_eq!(
            text(WarningKind::Format {
                key: "hostname".into(),
                reason: "value does not look like a valid DNS name".into()
            }),
            "line 7: unable to parse value of 'hostname' - value does not look like a valid DNS name"
        );
        assert_eq!(
            text(WarningKind::LineFeed { key: key() }),
            "line 7: unable to parse value of 'foo' - property contains a line feed"
        );
        assert_eq!(
            text(WarningKind::RejectedLxcKey {
                key: "lxc.rootfs.path".into(),
                reason: "lxc.rootfs.path is auto generated from rootfs"
            }),
            "line 7: lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs"
        );
        assert_eq!(
            text(WarningKind::RenamedLxcKey {
                key: "lxc.id_map".into(),
                replacement: "lxc.idmap"
            }),
            "line 7: lxc.id_map is deprecated and was renamed to lxc.idmap"
        );
        assert_eq!(
            text(WarningKind::RenamedLxcKey {
                key: "lxc.limit.nofile".into(),
                replacement: "lxc.prlimit.*"
            }),
            "line 7: lxc.limit.nofile: lxc.limit.* was renamed to lxc.prlimit.*"
        );
        assert_eq!(
            text(WarningKind::CgroupV1Key {
                key: "lxc.cgroup.devices.allow".into()
            }),
            "line 7: lxc.cgroup.devices.allow: lxc.cgroup.* keys only apply to cgroup v1, use lxc.cgroup2.*"
        );
    }

    #[test]
    fn proxmox_prefix() {
        let w = ConfWarning {
            line: 1,
            kind: WarningKind::UnparsableLine { line: "x".into() },
        };
        assert_eq!(
            w.to_proxmox(Vmid::new(100).unwrap()),
            "vm 100 - unable to parse config: x"
        );
        assert!(w.kind.drops_line());
        assert!(!WarningKind::UnknownSetting { key: "a".into() }.drops_line());
    }
}
