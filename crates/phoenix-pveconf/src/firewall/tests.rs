use super::*;

fn fixtures() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/firewall");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 3, "fixtures/firewall has {} files", out.len());
    out
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    for (name, src) in fixtures() {
        let file = FwFile::parse(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(file.render(), src, "{name}");
        let again = FwFile::parse(&file.render()).unwrap();
        assert_eq!(again, file, "{name}: a second round changes nothing");
    }
}

#[test]
fn proxmox_written_rules_render_as_read() {
    let (_, src) = fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("101-"))
        .unwrap();
    let file = FwFile::parse(&src).unwrap();
    for s in &file.sections {
        for l in &s.lines {
            if let Line::Rule { raw, rule } = l {
                assert_eq!(&rule.render(), raw);
            }
        }
    }
    assert_eq!(file.option("policy_in"), Some("DROP"));
    assert_eq!(file.option("policy_out"), None);
}

#[test]
fn parsed_fixtures() {
    for (name, src) in fixtures() {
        let file = FwFile::parse(&src).unwrap();
        insta::with_settings!({snapshot_suffix => name.clone()}, {
            insta::assert_debug_snapshot!(file.rules());
        });
    }
}

#[test]
fn desired_rules_replace_only_the_rules_section() {
    let (_, src) = fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("every-section"))
        .unwrap();
    let file = FwFile::parse(&src).unwrap();
    let mut web = FwRule::new(Direction::In, "ACCEPT");
    web.source = Some("10.0.0.12".into());
    web.proto = Some("tcp".into());
    web.dport = Some("80,443".into());
    web.comment = Some("Allow Traefik".into());
    let mut dns = FwRule::new(Direction::Out, "ACCEPT");
    dns.dest = Some("10.0.0.13".into());
    dns.proto = Some("udp".into());
    dns.dport = Some("53".into());
    let rules = [web, dns];
    insta::assert_snapshot!("desired_rules", render_rules(&rules));
    let edited = file.with_rules(&rules);
    insta::assert_snapshot!("with_rules", edited.render());
    assert_eq!(edited.rules(), rules);
    assert_eq!(FwFile::parse(&edited.render()).unwrap().rules(), rules);
    // Replacing with the same rules again changes nothing.
    assert_eq!(edited.with_rules(&rules).render(), edited.render());
}

#[test]
fn a_file_without_rules_gets_the_section_at_the_end() {
    let file = FwFile::parse("[OPTIONS]\nenable: 1\n").unwrap();
    let rule = FwRule::new(Direction::In, "DROP");
    assert_eq!(
        file.with_rules(&[rule]).render(),
        "[OPTIONS]\nenable: 1\n\n[RULES]\n\nIN DROP\n"
    );
    assert_eq!(FwFile::parse("").unwrap().render(), "");
}

#[test]
fn errors_name_the_line() {
    let e = FwFile::parse("[RULES]\nIN\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: invalid rule \"IN\": expected IN, OUT, FORWARD or GROUP and an action"
    );
    let e = FwFile::parse("[RULES]\nIN ACCEPT -dport\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: invalid rule option \"-dport\"");
    let e = FwFile::parse("[RULES]\nIN ACCEPT -x 1\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: invalid rule option \"-x\"");
    let e = FwFile::parse("[NOPE]\n").unwrap_err();
    assert_eq!(e.to_string(), "line 1: unknown section [NOPE]");
    let e = FwFile::parse("[OPTIONS]\nenable 1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: invalid option line \"enable 1\": expected 'key: value'"
    );
    let e = FwFile::parse("enable: 1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1: \"enable: 1\" is outside any section"
    );
}

#[test]
fn disabled_rules_and_macros() {
    let r = FwRule::parse("|IN SSH(ACCEPT) -source +management # x").unwrap();
    assert!(!r.enabled);
    assert_eq!(r.action, "SSH(ACCEPT)");
    assert_eq!(r.to_string(), "|IN SSH(ACCEPT) -source +management # x");
}
