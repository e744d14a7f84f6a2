//! The typed profile model: rules, documented entries and profiles.
//!
//! Every value a rule holds is a validated type from [`crate::names`] or
//! [`crate::vocab`]; the renderer in [`crate::render`] only joins them.

use std::borrow::Cow;

use crate::error::ModelError;
use crate::names::{FsType, IncludePath, PathPattern, ProfileName, VariableName};
use crate::vocab::{Capability, MountOption, NetworkDomain, NetworkType, ProfileFlag};

/// Whether a rule grants or refuses, and whether matches are logged.
///
/// AppArmor evaluates `deny` before any allow, so a deny can never be undone by a
/// later allow rule; phoenix relies on that to keep per-container extras from
/// weakening a base profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Qualifier {
    /// Refuse instead of grant.
    pub deny: bool,
    /// Log every match (plain `deny` rules are silent).
    pub audit: bool,
}

impl Qualifier {
    /// A plain allow rule.
    pub const ALLOW: Qualifier = Qualifier {
        deny: false,
        audit: false,
    };
    /// A silent deny.
    pub const DENY: Qualifier = Qualifier {
        deny: true,
        audit: false,
    };
    /// A deny that is logged, for attempts an administrator should hear about.
    pub const AUDIT_DENY: Qualifier = Qualifier {
        deny: true,
        audit: true,
    };
}

/// File permissions of a file rule.
///
/// `x` renders as `ix` (inherit this profile) in an allow rule and as `x` in a deny
/// rule, the only two forms phoenix needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilePerms {
    /// `r`
    pub read: bool,
    /// `w`
    pub write: bool,
    /// `a`
    pub append: bool,
    /// `k`
    pub lock: bool,
    /// `l`
    pub link: bool,
    /// `m`: mmap with PROT_EXEC.
    pub mmap_exec: bool,
    /// `x`
    pub exec: bool,
}

impl FilePerms {
    /// Parses letters such as `rw` or `wklx`.
    ///
    /// ```
    /// use phoenix_apparmor::FilePerms;
    /// let p: FilePerms = "rwm".parse().unwrap();
    /// assert!(p.read && p.write && p.mmap_exec && !p.exec);
    /// ```
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let mut p = FilePerms::default();
        for c in s.chars() {
            let slot = match c {
                'r' => &mut p.read,
                'w' => &mut p.write,
                'a' => &mut p.append,
                'k' => &mut p.lock,
                'l' => &mut p.link,
                'm' => &mut p.mmap_exec,
                'x' => &mut p.exec,
                _ => return Err(ModelError::FilePerms(s.to_owned())),
            };
            *slot = true;
        }
        if p == FilePerms::default() {
            return Err(ModelError::FilePerms(s.to_owned()));
        }
        Ok(p)
    }

    /// The letters in AppArmor's canonical order.
    pub fn letters(&self, deny: bool) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.read, "r"),
            (self.write, "w"),
            (self.append, "a"),
            (self.lock, "k"),
            (self.link, "l"),
            (self.mmap_exec, "m"),
        ] {
            if on {
                s.push_str(c);
            }
        }
        if self.exec {
            s.push_str(if deny { "x" } else { "ix" });
        }
        s
    }
}

impl std::str::FromStr for FilePerms {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FilePerms::parse(s)
    }
}

/// `capability [names],`: an empty list means every capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityRule {
    /// Allow or deny, audited or not.
    pub qualifier: Qualifier,
    /// The capabilities; empty means all.
    pub capabilities: Vec<Capability>,
}

/// `network [domain] [type],`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRule {
    /// Allow or deny, audited or not.
    pub qualifier: Qualifier,
    /// The address family; `None` means any.
    pub domain: Option<NetworkDomain>,
    /// The socket type; `None` means any.
    pub kind: Option<NetworkType>,
}

/// `mount [fstype=...] [options=(...)] [source] [-> target],`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRule {
    /// Allow or deny, audited or not.
    pub qualifier: Qualifier,
    /// Filesystem types; empty means any.
    pub fstypes: Vec<FsType>,
    /// Mount flags that must match exactly; empty means any.
    pub options: Vec<MountOption>,
    /// The mount source; `None` means any.
    pub source: Option<PathPattern>,
    /// The mount point; `None` means any.
    pub target: Option<PathPattern>,
}

/// `umount [target],`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UmountRule {
    /// The mount point; `None` means any.
    pub target: Option<PathPattern>,
}

/// `pivot_root [new_root],`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PivotRootRule {
    /// The new root; `None` means any.
    pub new_root: Option<PathPattern>,
}

/// `path perms,`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRule {
    /// Allow or deny, audited or not.
    pub qualifier: Qualifier,
    /// The path or glob.
    pub path: PathPattern,
    /// The permissions.
    pub perms: FilePerms,
}

/// Where `change_profile ->` may switch to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeTarget {
    /// One named profile.
    Profile(ProfileName),
    /// Every profile listed in a variable (`@{apparmor_nesting_profiles}`).
    Variable(VariableName),
}

/// One AppArmor rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `#include <...>` inside the profile body.
    Include(IncludePath),
    /// A capability rule.
    Capability(CapabilityRule),
    /// A network rule.
    Network(NetworkRule),
    /// A mount rule.
    Mount(MountRule),
    /// An umount rule.
    Umount(UmountRule),
    /// A pivot_root rule.
    PivotRoot(PivotRootRule),
    /// A file rule.
    File(FileRule),
    /// `change_profile -> target,`.
    ChangeProfile(ChangeTarget),
}

/// A rule with the reason it is in the profile, rendered as a comment above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Why the rule is there (may span lines).
    pub why: Cow<'static, str>,
    /// The rule.
    pub rule: Rule,
}

/// A variable definition at the top of a policy file: `@{name} = a b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableDef {
    /// The variable.
    pub name: VariableName,
    /// Its values, each a profile name.
    pub values: Vec<ProfileName>,
}

/// A complete profile file: preamble includes, then one profile block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name.
    pub name: ProfileName,
    /// What the profile is for, rendered as the file's header comment.
    pub summary: Cow<'static, str>,
    /// Includes before the profile block (`tunables/global`, `tunables/nesting`).
    pub preamble: Vec<IncludePath>,
    /// Profile flags.
    pub flags: Vec<ProfileFlag>,
    /// The documented rules, in order.
    pub entries: Vec<Entry>,
}

impl Profile {
    /// True when a rule uses a variable whose definition lives in `tunables/nesting`,
    /// so the profile must be reloaded whenever that tunable changes.
    pub fn uses_nesting_tunable(&self) -> bool {
        self.preamble
            .iter()
            .any(|p| p.as_str() == crate::tunable::NESTING_TUNABLE_INCLUDE)
    }
}

/// Builds entries tersely in the shipped profiles and in tests.
pub(crate) fn entry(why: &'static str, rule: Rule) -> Entry {
    Entry {
        why: Cow::Borrowed(why),
        rule,
    }
}
