//! Maps the config's typed extra AppArmor rules onto phoenix-apparmor's model.
//!
//! Every value is phoenix-apparmor's own type in the config already: the keywords
//! (capabilities, network domains and types, mount options) directly, and paths,
//! access letters and file system types inside the config's stricter input newtypes
//! (no whitespace, quotes or braces), which hold the profile model's value. Nothing is
//! parsed again here; this only arranges the values into rules.

use phoenix_apparmor::ExtraRule;
use phoenix_apparmor::model::{CapabilityRule, FileRule, MountRule, NetworkRule, Qualifier};
use phoenix_config::model::apparmor::AppArmorRule;

/// The profile model's rules for the config's.
pub fn to_extra_rules(rules: &[AppArmorRule]) -> Vec<ExtraRule> {
    rules.iter().map(to_extra_rule).collect()
}

fn to_extra_rule(rule: &AppArmorRule) -> ExtraRule {
    match rule {
        AppArmorRule::File(f) | AppArmorRule::DenyFile(f) => {
            let deny = matches!(rule, AppArmorRule::DenyFile(_));
            ExtraRule::File(FileRule {
                qualifier: if deny {
                    Qualifier::DENY
                } else {
                    Qualifier::ALLOW
                },
                path: f.path.value().clone(),
                perms: *f.access.value(),
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
            fstypes: m.fstype.iter().map(|t| t.value().clone()).collect(),
            options: m.options.clone(),
            source: None,
            target: Some(m.target.value().clone()),
        }),
    }
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
                {"file": {"path": "/usr/bin/nvidia-smi", "access": "rix"}},
                {"capability": "sys_ptrace"},
                {"network": {"family": "inet", "type": "stream"}},
                {"mount": {"fstype": "overlay", "options": ["ro", "rprivate"], "target": "/var/lib/docker/**"}}]"#,
        ));
        assert_eq!(extras.len(), 6);
        assert!(extras[1].is_deny());
        let base = phoenix_apparmor::ShippedProfile::PhoenixV2.profile();
        let own = phoenix_apparmor::extra::derive_profile(&base, 950, &extras).unwrap();
        let text = phoenix_apparmor::render::render_profile(&own);
        for needle in [
            "/dev/nvidia* rw,",
            "deny /proc/sys/kernel/** w,",
            "/usr/bin/nvidia-smi rix,",
            "capability sys_ptrace,",
            "network inet stream,",
            "mount fstype=overlay options=(ro,rprivate) -> /var/lib/docker/**,",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
