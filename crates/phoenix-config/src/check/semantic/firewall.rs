//! Firewall rule lists: a rule that repeats an earlier one (same direction,
//! action, addresses, protocol and ports; the comment does not change what matches)
//! is an error, a rule whose ports an earlier rule of the same kind already allows
//! is a warning. pve-firewall applies the first matching rule, so the later one
//! never decides anything: it only hides which rule is meant.

use super::{Ctx, ct};
use crate::model::legacy::FirewallRule;
use crate::schema::ConfigFile::{self, Hypervisor, Lxc, Vm};

/// Every rule list of the fleet: its file, the pointer of the list, the rules.
fn lists<'a>(ctx: &Ctx<'a>) -> Vec<(ConfigFile, String, &'a [FirewallRule])> {
    let mut out = Vec::new();
    if let Some(f) = &ctx.fleet.hypervisor.firewall {
        out.push((
            Hypervisor,
            "/firewall/global_firewall_rules".to_owned(),
            f.global_firewall_rules.as_slice(),
        ));
    }
    for (id, c) in ctx.containers() {
        if let Some(f) = &c.firewall {
            out.push((
                Lxc,
                format!("{}/firewall/rules", ct(id)),
                f.rules.as_slice(),
            ));
        }
    }
    for (n, vm) in ctx.vms() {
        if let Some(f) = &vm.firewall {
            out.push((Vm, format!("/vms/{n}/firewall/rules"), f.rules.as_slice()));
        }
    }
    out
}

/// True when `earlier` matches every packet `later` matches with the same verdict:
/// same everything but the ports, and `earlier`'s ports include `later`'s (no
/// ports means every port).
fn covers(earlier: &FirewallRule, later: &FirewallRule) -> bool {
    let (a, b) = (earlier.matcher(), later.matcher());
    let same_but_ports = FirewallRule {
        port: None,
        ..a.clone()
    } == FirewallRule {
        port: None,
        ..b.clone()
    };
    same_but_ports
        && match (&a.port, &b.port) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(pa), Some(pb)) => pa.covers(pb),
        }
}

pub(super) fn duplicate_rules(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for (file, base, rules) in lists(ctx) {
        for (i, rule) in rules.iter().enumerate() {
            let same = rules[..i]
                .iter()
                .position(|r| r.matcher() == rule.matcher());
            if let Some(j) = same {
                found.push((
                    true,
                    file,
                    format!("{base}/{i}"),
                    format!(
                        "duplicate firewall rule at {base}/{i}: matches exactly what {base}/{j} matches (only the comment differs, if at all); remove one"
                    ),
                ));
                continue;
            }
            if let Some(j) = rules[..i].iter().position(|r| covers(r, rule)) {
                let ports = rules[j]
                    .port
                    .as_ref()
                    .map_or(String::from("every port"), |p| format!("ports {p}"));
                found.push((
                    false,
                    file,
                    format!("{base}/{i}"),
                    format!(
                        "redundant firewall rule at {base}/{i}: {base}/{j} already matches these packets ({ports}) with the same action, so this rule never decides anything"
                    ),
                ));
            }
        }
    }
    for (is_error, file, pointer, message) in found {
        if is_error {
            ctx.error(file, pointer, message);
        } else {
            ctx.warning(file, pointer, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> FirewallRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_port_list_covers_its_members() {
        let wide = rule(r#"{"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "80,443"}"#);
        let narrow = rule(
            r#"{"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "80", "comment": "x"}"#,
        );
        let other = rule(r#"{"type": "in", "action": "DROP", "proto": "tcp", "port": "80"}"#);
        assert!(covers(&wide, &narrow));
        assert!(!covers(&narrow, &wide));
        assert!(!covers(&wide, &other));
    }
}
