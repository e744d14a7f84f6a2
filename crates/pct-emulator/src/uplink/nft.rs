//! The nftables ruleset of one uplink, loaded with `nft -f -` as one transaction.
//!
//! It starts by creating and deleting its own table, the nft idiom for "replace": a
//! second `up` swaps the rules atomically and never touches another table.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::UplinkSpec;

fn set(name: &str, addrs: &[Ipv4Addr]) -> String {
    let mut s = format!("\tset {name} {{\n\t\ttype ipv4_addr\n");
    if !addrs.is_empty() {
        let list: Vec<String> = addrs.iter().map(Ipv4Addr::to_string).collect();
        let _ = writeln!(s, "\t\telements = {{ {} }}", list.join(", "));
    }
    s.push_str("\t}\n");
    s
}

/// The ruleset text for `spec` (see the module docs of [`super`] for what it allows).
pub fn render(spec: &UplinkSpec) -> String {
    let t = spec.table();
    let b = &spec.bridge;
    let net = spec.subnet;
    let mut dns = spec.dns.clone();
    dns.sort();
    dns.dedup();
    let mut r = String::new();
    let _ = writeln!(r, "table inet {t}");
    let _ = writeln!(r, "delete table inet {t}");
    let _ = writeln!(r, "table inet {t} {{");
    r.push_str(&set("dns", &dns));
    r.push_str(&set("mirrors", &spec.mirror_addrs()));
    let _ = writeln!(
        r,
        "\tchain forward {{
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname \"{b}\" oifname \"{b}\" accept
\t\tiifname \"{b}\" ip saddr {net} ip daddr @dns udp dport 53 accept
\t\tiifname \"{b}\" ip saddr {net} ip daddr @dns tcp dport 53 accept
\t\tiifname \"{b}\" ip saddr {net} ip daddr @mirrors tcp dport {{ 80, 443 }} accept
\t\toifname \"{b}\" ip daddr {net} ct state established,related accept
\t\tiifname \"{b}\" counter drop comment \"phoenix-uplink: not dns or mirror\"
\t\toifname \"{b}\" counter drop comment \"phoenix-uplink: not a reply\"
\t}}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t\tiifname \"{b}\" ct state established,related accept
\t\tiifname \"{b}\" counter drop comment \"phoenix-uplink: to the host\"
\t}}
\tchain postrouting {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr {net} oifname != \"{b}\" masquerade
\t}}
}}"
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::Mirror;

    #[test]
    fn ruleset_allows_only_dns_and_mirrors() {
        let spec = UplinkSpec::new(
            "phxup0",
            "10.213.50.0/24".parse().unwrap(),
            vec!["10.255.255.53".parse().unwrap()],
            vec![Mirror {
                host: "deb.debian.org".into(),
                addrs: vec![
                    "203.0.113.80".parse().unwrap(),
                    "203.0.113.81".parse().unwrap(),
                ],
            }],
        );
        insta::assert_snapshot!(render(&spec));
    }

    #[test]
    fn empty_sets_have_no_elements_line() {
        let spec = UplinkSpec::new("b", "10.1.0.0/16".parse().unwrap(), vec![], vec![]);
        let r = render(&spec);
        assert!(r.contains("\tset dns {\n\t\ttype ipv4_addr\n\t}\n"), "{r}");
    }
}
