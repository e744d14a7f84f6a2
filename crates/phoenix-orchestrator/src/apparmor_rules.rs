//! Maps the config's typed extra AppArmor rules onto phoenix-apparmor's model.
//!
//! The config crate keeps its own closed vocabulary (so the JSON Schema lists it); both
//! sides print the same words, so each value crosses by its name and is parsed again
//! by phoenix-apparmor, which refuses anything it does not know.

use phoenix_apparmor::model::{CapabilityRule, FileRule, MountRule, NetworkRule, Qualifier};
use phoenix_apparmor::{ExtraRule, ModelError};
use phoenix_config::model::apparmor::AppArmorRule;
use serde::Serialize;

/// The word serde writes for a unit enum value (`"inet"`, `"sys_ptrace"`).
fn word(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

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
            capabilities: vec![word(c).parse()?],
        }),
        AppArmorRule::Network(n) => ExtraRule::Network(NetworkRule {
            qualifier: Qualifier::ALLOW,
            domain: Some(word(&n.family).parse()?),
            kind: n
                .socket_type
                .as_ref()
                .map(|t| word(t).parse())
                .transpose()?,
        }),
        AppArmorRule::Mount(m) => ExtraRule::Mount(MountRule {
            qualifier: Qualifier::ALLOW,
            fstypes: m
                .fstype
                .iter()
                .map(|t| t.as_str().parse())
                .collect::<Result<_, _>>()?,
            options: m
                .options
                .iter()
                .map(|o| word(o).parse())
                .collect::<Result<_, _>>()?,
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
                {"mount": {"fstype": "overlay", "options": ["ro"], "target": "/var/lib/docker/**"}}]"#,
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
            "mount fstype=overlay options=(ro) -> /var/lib/docker/**,",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
