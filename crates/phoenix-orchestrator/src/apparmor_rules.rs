//! Maps the config's typed extra AppArmor rules onto phoenix-apparmor's model.
//!
//! The keywords (capabilities, network domains and types, mount options) are
//! phoenix-apparmor's own types in the config too, so they move across as they are.
//! Paths, access letters and file system types are the config's stricter input
//! newtypes (no whitespace, quotes or braces); phoenix-apparmor checks them again
//! against its own rules, and refuses anything it would not render.

use phoenix_apparmor::model::{CapabilityRule, FileRule, MountRule, NetworkRule, Qualifier};
use phoenix_apparmor::{ExtraRule, ModelError};
use phoenix_config::model::apparmor::AppArmorRule;

/// Converts every rule, or fails on the first one phoenix-apparmor refuses.
pub fn to_extra_rules(rules: &[AppArmorRule]) -> Result<Vec<ExtraRule>, ModelError> {
    rules.iter().map(to_extra_rule).collect()
}

fn to_extra_rule(rule: &AppArmorRule) -> Result<ExtraRule, ModelError> {
    Ok(match rule {
        AppArmorRule::File(f) | AppArmorRule::DenyFile(f) => {
            let deny = matches!(rule, AppArmorRule::DenyFile(_));
            ExtraRule::File(FileRule {
                qualifier: if deny {
                    Qualifier::DENY
                } else {
                    Qualifier::ALLOW
                },
                path: f.path.as_str().parse()?,
                perms: f.access.as_str().parse()?,
            })
        }
        AppArmorRule::Capability(c) => ExtraRule::Capability(CapabilityRule {
            qualifier: Qualifier::ALLOW,
            capabilities: vec![*c],
        }),
        AppArmorRule::Network(n) => ExtraRule::Network(NetworkRule {
            qualifier: Qualifier::ALLOW,
            domain: Some(n.family),
            kind: n.socket_type,
        }),
        AppArmorRule::Mount(m) => ExtraRule::Mount(MountRule {
            qualifier: Qualifier::ALLOW,
            fstypes: m
                .fstype
                .iter()
                .map(|t| t.as_str().parse())
                .collect::<Result<_, _>>()?,
            options: m.options.clone(),
            source: None,
            target: Some(m.target.as_str().parse()?),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<AppArmorRule> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_config_rule_kind_maps_and_renders() {
        let extras = to_extra_rules(&rules(
            r#"[{"file": {"path": "/dev/nvidia*", "access": "rw"}},
                {"deny_file": {"path": "/proc/sys/kernel/**", "access": "w"}},
                {"capability": "sys_ptrace"},
                {"network": {"family": "inet", "type": "stream"}},
                {"mount": {"fstype": "overlay", "options": ["ro", "rprivate"], "target": "/var/lib/docker/**"}}]"#,
        ))
        .unwrap();
        assert_eq!(extras.len(), 5);
        assert!(extras[1].is_deny());
        let base = phoenix_apparmor::ShippedProfile::PhoenixV2.profile();
        let own = phoenix_apparmor::extra::derive_profile(&base, 950, &extras).unwrap();
        let text = phoenix_apparmor::render::render_profile(&own);
        for needle in [
            "/dev/nvidia* rw,",
            "deny /proc/sys/kernel/** w,",
            "capability sys_ptrace,",
            "network inet stream,",
            "mount fstype=overlay options=(ro,rprivate) -> /var/lib/docker/**,",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
