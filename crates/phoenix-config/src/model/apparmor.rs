//! Per-container AppArmor settings: the profile name and typed extra rules.
//!
//! Extra rules are data, not profile text: each variant is a closed shape the
//! orchestrator maps onto phoenix-apparmor's types, so a config file cannot inject
//! arbitrary profile syntax (a newline or `}` in a path would otherwise end the
//! profile early). Paths and names are therefore restricted to safe characters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::value::string_newtype;

string_newtype! {
    /// An AppArmor profile name (`lxc-container-default-cgns`) or `unconfined`.
    ProfileName {
        what: "AppArmor profile name",
        pattern: "^[a-zA-Z0-9_][a-zA-Z0-9_.:+-]*$",
        reason: "a profile name is letters, digits and '_', '.', ':', '+', '-'",
        max_len: 200,
    }
}

impl ProfileName {
    /// True for `unconfined`: the container runs without AppArmor confinement.
    pub fn is_unconfined(&self) -> bool {
        self.0 == "unconfined"
    }
}

string_newtype! {
    /// An absolute path or AppArmor glob (`/dev/nvidia*`, `/var/lib/docker/**`),
    /// without whitespace, quotes, commas or braces.
    AppArmorPath {
        what: "AppArmor path",
        pattern: "^/[^\\s\",{}\\x00]*$",
        reason: "expected an absolute path or glob without whitespace, quotes, ',' or braces",
    }
}

string_newtype! {
    /// File access letters: any of `r`, `w`, `m`, `k`, `l` and `ix` (`rw`, `rix`).
    FileAccess {
        what: "file access",
        pattern: "^(ix|[rwmkl])+$",
        reason: "expected access letters from r, w, m, k, l and ix, like rw",
    }
}

string_newtype! {
    /// A file system type for a mount rule: `overlay`, `proc`, `fuse.lxcfs`.
    FsType {
        what: "file system type",
        pattern: "^[a-z0-9_.]+$",
        reason: "a file system type is lower-case letters, digits, '_' and '.'",
    }
}

/// One extra AppArmor rule for a container's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AppArmorRule {
    /// Allow access to files: `{ "file": { "path": "/dev/nvidia*", "access": "rw" } }`.
    File(FileRule),
    /// Deny access to files, overriding allows.
    DenyFile(FileRule),
    /// Allow one capability: `{ "capability": "sys_ptrace" }`.
    Capability(Capability),
    /// Allow a socket family and type: `{ "network": { "family": "inet", "type": "stream" } }`.
    Network(NetworkRule),
    /// Allow a mount: `{ "mount": { "fstype": "overlay", "options": ["ro"], "target": "/var/lib/docker/**" } }`.
    Mount(MountRule),
}

/// A file rule: a path or glob and the access allowed or denied on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRule {
    /// The absolute path or glob.
    pub path: AppArmorPath,
    /// The access letters (`r`, `w`, `m`, `k`, `l`, `ix`).
    pub access: FileAccess,
}

/// A network rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkRule {
    /// The address family.
    pub family: NetworkDomain,
    /// The socket type; all types when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub socket_type: Option<NetworkType>,
}

/// A mount rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MountRule {
    /// The file system type; any type when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fstype: Option<FsType>,
    /// Mount options the rule requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<MountOption>,
    /// Where the mount may go (path or glob).
    pub target: AppArmorPath,
}

// The closed vocabularies are phoenix-apparmor's own: the config names AppArmor's
// words directly, so no value is re-parsed between the config and the profile model.
pub use phoenix_apparmor::{Capability, MountOption, NetworkDomain, NetworkType};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_deserialize_in_their_documented_shapes() {
        let rules: Vec<AppArmorRule> = serde_json::from_str(
            r#"[
                {"file": {"path": "/dev/nvidia*", "access": "rw"}},
                {"deny_file": {"path": "/proc/kcore", "access": "rw"}},
                {"capability": "sys_ptrace"},
                {"network": {"family": "inet", "type": "stream"}},
                {"mount": {"fstype": "overlay", "options": ["ro"], "target": "/var/lib/docker/**"}}
            ]"#,
        )
        .unwrap();
        assert_eq!(rules.len(), 5);
        assert_eq!(rules[2], AppArmorRule::Capability(Capability::SysPtrace));
        assert_eq!(Capability::ALL.len(), 41);
        assert_eq!(Capability::SysPtrace.as_str(), "sys_ptrace");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!("/dev/nvidia*".parse::<AppArmorPath>().is_ok());
        assert!("/a,\n}".parse::<AppArmorPath>().is_err());
        assert!("rwix".parse::<FileAccess>().is_ok());
        assert_eq!(
            "rx".parse::<FileAccess>().unwrap_err().to_string(),
            "invalid file access \"rx\": expected access letters from r, w, m, k, l and ix, like rw"
        );
        assert!("unconfined".parse::<ProfileName>().unwrap().is_unconfined());
    }
}
