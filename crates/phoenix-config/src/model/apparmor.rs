//! Per-container AppArmor settings: the profile name and typed extra rules.
//!
//! Extra rules are data, not profile text: each variant is a closed shape the
//! orchestrator maps onto phoenix-apparmor's types, so a config file cannot inject
//! arbitrary profile syntax (a newline or `}` in a path would otherwise end the
//! profile early). Paths and names are therefore restricted to safe characters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::value::string_newtype;

/// A config newtype that is a stricter input form of one of phoenix-apparmor's types:
/// the config's own pattern (in the schema, with its precise reason) is checked first,
/// then the value becomes the profile model's type once, here, at load time, so the
/// orchestrator hands it on without parsing it again.
macro_rules! restricted {
    (
        $(#[$meta:meta])*
        $name:ident($text:ident) => $owner:ty, $what:literal, $to_owner:expr
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            text: $text,
            value: $owner,
        }

        impl $name {
            /// The regular expression this type's values match (also in the schema).
            pub const PATTERN: &'static str = $text::PATTERN;

            /// The value as written in the config.
            pub fn as_str(&self) -> &str {
                self.text.as_str()
            }

            /// The value as phoenix-apparmor's profile model holds it.
            pub fn value(&self) -> &$owner {
                &self.value
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::value::InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let text: $text = s.parse()?;
                let to_owner: fn(&str) -> Result<$owner, phoenix_apparmor::ModelError> = $to_owner;
                let value = to_owner(s)
                    .map_err(|e| crate::value::InvalidValue::new($what, s, e.to_string()))?;
                Ok($name { text, value })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.text.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $text::json_schema(g)
            }
        }
    };
}

string_newtype! {
    /// The config's spelling of a [`ProfileName`].
    ProfileNameText {
        what: "AppArmor profile name",
        pattern: "^[a-zA-Z0-9_][a-zA-Z0-9_.:+-]*$",
        reason: "a profile name is letters, digits and '_', '.', ':', '+', '-'",
        max_len: 200,
    }
}

restricted! {
    /// An AppArmor profile name (`lxc-container-default-cgns`) or `unconfined`: held
    /// as phoenix-apparmor's [`phoenix_apparmor::ProfileName`], which accepts exactly
    /// these names.
    ProfileName(ProfileNameText) => phoenix_apparmor::ProfileName, "AppArmor profile name", |s| s.parse()
}

impl ProfileName {
    /// True for `unconfined`: the container runs without AppArmor confinement.
    pub fn is_unconfined(&self) -> bool {
        self.as_str() == "unconfined"
    }
}

string_newtype! {
    /// The config's spelling of an [`AppArmorPath`].
    AppArmorPathText {
        what: "AppArmor path",
        pattern: "^/[^\\s\",{}\\x00]*$",
        reason: "expected an absolute path or glob without whitespace, quotes, ',' or braces",
    }
}

restricted! {
    /// An absolute path or AppArmor glob (`/dev/nvidia*`, `/var/lib/docker/**`),
    /// without whitespace, quotes, commas or braces: a subset of AppArmor's paths, so a
    /// config path can never need quoting or end a rule.
    AppArmorPath(AppArmorPathText) => phoenix_apparmor::PathPattern, "AppArmor path", |s| s.parse()
}

string_newtype! {
    /// The config's spelling of a [`FileAccess`].
    FileAccessText {
        what: "file access",
        pattern: "^(ix|[rwmkl])+$",
        reason: "expected access letters from r, w, m, k, l and ix, like rw",
    }
}

restricted! {
    /// File access letters: any of `r`, `w`, `m`, `k`, `l` and `ix` (`rw`, `rix`);
    /// `ix` is execute, inheriting the container's profile (the only execute mode a
    /// config may grant).
    FileAccess(FileAccessText) => phoenix_apparmor::FilePerms, "file access", |s| s.replace("ix", "x").parse()
}

string_newtype! {
    /// The config's spelling of an [`FsType`].
    FsTypeText {
        what: "file system type",
        pattern: "^[a-z0-9_.]+$",
        reason: "a file system type is lower-case letters, digits, '_' and '.'",
    }
}

restricted! {
    /// A file system type for a mount rule: `overlay`, `proc`, `fuse.lxcfs` (no globs).
    FsType(FsTypeText) => phoenix_apparmor::FsType, "file system type", |s| s.parse()
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
        // Every name validate accepts is one the profile model holds (a host profile
        // with ':' or '+' once passed validate and failed at plan).
        let host: ProfileName = "host_profile:v2+gpu".parse().unwrap();
        assert_eq!(host.value().as_str(), "host_profile:v2+gpu");
    }

    #[test]
    fn values_hold_the_profile_models_types() {
        let access: FileAccess = "rix".parse().unwrap();
        let perms = access.value();
        assert!(perms.read && perms.exec && !perms.write);
        assert_eq!(perms.letters(false), "rix");
        assert_eq!(access.to_string(), "rix");
        let path: AppArmorPath = "/dev/nvidia*".parse().unwrap();
        assert_eq!(path.value().rendered(), "/dev/nvidia*");
        let fs: FsType = "fuse.lxcfs".parse().unwrap();
        assert_eq!(fs.value().as_str(), "fuse.lxcfs");
        assert_eq!(serde_json::to_string(&access).unwrap(), "\"rix\"");
    }
}
