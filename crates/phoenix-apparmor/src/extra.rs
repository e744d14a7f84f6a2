//! Per-container extra rules and the per-container profile derived from a base.
//!
//! The config names extra rules as typed values, never as profile text. They are
//! appended to a copy of the base under the name `<base>-ct<vmid>`:
//!
//! ```
//! use phoenix_apparmor::{extra::{derive_profile, ExtraRule}, model::*, ShippedProfile};
//! let extra = ExtraRule::File(FileRule {
//!     qualifier: Qualifier::DENY,
//!     path: "/srv/secrets/**".parse().unwrap(),
//!     perms: "rw".parse().unwrap(),
//! });
//! let p = derive_profile(&ShippedProfile::PhoenixV2.profile(), 950, &[extra]).unwrap();
//! assert_eq!(p.name.as_str(), "lxc-phoenix-v2-ct950");
//! ```
//!
//! An extra allow can never undo a deny of the base: AppArmor applies denies first.

use std::borrow::Cow;

use crate::error::ModelError;
use crate::model::{
    CapabilityRule, ChangeTarget, Entry, FileRule, MountRule, NetworkRule, Profile, Rule,
};
use crate::names::ProfileName;
use crate::tunable::{NESTING_TUNABLE_INCLUDE, nesting_variable};

/// One extra rule for one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraRule {
    /// Allow or deny access to a path.
    File(FileRule),
    /// Allow or deny capabilities.
    Capability(CapabilityRule),
    /// Allow or deny sockets.
    Network(NetworkRule),
    /// Allow or deny a mount.
    Mount(MountRule),
}

impl ExtraRule {
    /// Checks the rule is specific enough to accept from configuration.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            ExtraRule::Capability(c) if c.capabilities.is_empty() => Err(ModelError::Rule(
                "a capability rule from config must name at least one capability",
            )),
            ExtraRule::Mount(m)
                if !m.qualifier.deny
                    && m.fstypes.is_empty()
                    && m.source.is_none()
                    && m.target.is_none() =>
            {
                Err(ModelError::Rule(
                    "an allowed mount from config must name a filesystem type, source or target: a bare `mount,` allows every mount",
                ))
            }
            _ => Ok(()),
        }
    }

    /// True for a deny rule.
    pub fn is_deny(&self) -> bool {
        match self {
            ExtraRule::File(r) => r.qualifier.deny,
            ExtraRule::Capability(r) => r.qualifier.deny,
            ExtraRule::Network(r) => r.qualifier.deny,
            ExtraRule::Mount(r) => r.qualifier.deny,
        }
    }

    fn into_rule(self) -> Rule {
        match self {
            ExtraRule::File(r) => Rule::File(r),
            ExtraRule::Capability(r) => Rule::Capability(r),
            ExtraRule::Network(r) => Rule::Network(r),
            ExtraRule::Mount(r) => Rule::Mount(r),
        }
    }
}

/// The name of a container's own profile: `<base>-ct<vmid>`.
pub fn derived_name(base: &ProfileName, vmid: u32) -> Result<ProfileName, ModelError> {
    format!("{base}-ct{vmid}").parse()
}

/// Copies `base` under the name `<base>-ct<vmid>` and appends `extras`.
///
/// When an extra is a deny, the copy drops `change_profile ->
/// @{apparmor_nesting_profiles}`: switching to a shared profile would shed this
/// container's extra denies.
pub fn derive_profile(
    base: &Profile,
    vmid: u32,
    extras: &[ExtraRule],
) -> Result<Profile, ModelError> {
    for extra in extras {
        extra.validate()?;
    }
    let name = derived_name(&base.name, vmid)?;
    let narrows = extras.iter().any(ExtraRule::is_deny);
    let nesting = ChangeTarget::Variable(nesting_variable());
    let mut entries: Vec<Entry> = base
        .entries
        .iter()
        .filter(|e| !(narrows && e.rule == Rule::ChangeProfile(nesting.clone())))
        .cloned()
        .collect();
    let mut summary = format!(
        "{name}: the profile of CT {vmid},\n{} plus extra rules from the phoenix config.\n\n{}",
        base.name, base.summary
    );
    if narrows && entries.len() + 1 == base.entries.len() {
        summary.push_str(
            "\n\nchange_profile -> @{apparmor_nesting_profiles} is dropped: the shared\n\
             profiles lack this container's extra denies.",
        );
    }
    for extra in extras {
        entries.push(Entry {
            why: Cow::Owned(format!(
                "Extra rule for CT {vmid} from the phoenix config (apparmor_extra_rules)."
            )),
            rule: extra.clone().into_rule(),
        });
    }
    let uses_tunable = entries
        .iter()
        .any(|e| e.rule == Rule::ChangeProfile(nesting.clone()));
    let preamble = base
        .preamble
        .iter()
        .filter(|p| uses_tunable || p.as_str() != NESTING_TUNABLE_INCLUDE)
        .cloned()
        .collect();
    Ok(Profile {
        name,
        summary: Cow::Owned(summary),
        preamble,
        flags: base.flags.clone(),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Qualifier;
    use crate::render::render_profile;
    use crate::shipped::ShippedProfile;
    use crate::vocab::{Capability, NetworkDomain};

    fn deny_file() -> ExtraRule {
        ExtraRule::File(FileRule {
            qualifier: Qualifier::DENY,
            path: "/srv/secrets/**".parse().unwrap(),
            perms: "rw".parse().unwrap(),
        })
    }

    #[test]
    fn a_deny_extra_drops_the_switch_to_shared_profiles() {
        let base = ShippedProfile::DockerSecure.profile();
        let p = derive_profile(&base, 950, &[deny_file()]).unwrap();
        let text = render_profile(&p);
        assert!(!text.contains("\n  change_profile"));
        assert!(!text.contains("#include <tunables/nesting>"));
        assert!(text.contains("  deny /srv/secrets/** rw,\n}\n"));
        assert!(!p.uses_nesting_tunable());
    }

    #[test]
    fn allow_extras_keep_the_switch() {
        let base = ShippedProfile::DockerSecure.profile();
        let extra = ExtraRule::Network(NetworkRule {
            qualifier: Qualifier::ALLOW,
            domain: Some(NetworkDomain::Packet),
            kind: None,
        });
        let p = derive_profile(&base, 951, &[extra]).unwrap();
        assert!(p.uses_nesting_tunable());
        assert_eq!(p.entries.len(), base.entries.len() + 1);
    }

    #[test]
    fn over_broad_extras_are_refused_with_a_reason() {
        let base = ShippedProfile::PhoenixV2.profile();
        let bare_mount = ExtraRule::Mount(MountRule {
            qualifier: Qualifier::ALLOW,
            fstypes: vec![],
            options: vec![],
            source: None,
            target: None,
        });
        assert_eq!(
            derive_profile(&base, 950, &[bare_mount])
                .unwrap_err()
                .to_string(),
            "invalid rule: an allowed mount from config must name a filesystem type, source or target: a bare `mount,` allows every mount"
        );
        let no_caps = ExtraRule::Capability(CapabilityRule {
            qualifier: Qualifier::ALLOW,
            capabilities: vec![],
        });
        assert_eq!(
            derive_profile(&base, 950, &[no_caps])
                .unwrap_err()
                .to_string(),
            "invalid rule: a capability rule from config must name at least one capability"
        );
        let ok = ExtraRule::Capability(CapabilityRule {
            qualifier: Qualifier::DENY,
            capabilities: vec![Capability::NetRaw],
        });
        assert!(derive_profile(&base, 950, &[ok]).is_ok());
    }
}
