//! The example fleet validates cleanly; every `fixtures/invalid` case fails with its
//! precise message (one snapshot per case); the bash-era files report exactly their
//! defects.

use std::path::PathBuf;

use camino::Utf8PathBuf;
use phoenix_config::{ConfigError, Report, load_dir, validate_dir};

fn repo() -> Utf8PathBuf {
    Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn render(report: &Report) -> String {
    report
        .errors
        .iter()
        .chain(&report.warnings)
        .map(|d| format!("{d}\n"))
        .collect()
}

#[test]
fn example_fleet_is_valid_without_warnings() {
    let loaded = load_dir(&repo().join("fixtures/example")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let ids: Vec<u32> = loaded
        .fleet
        .lxc
        .lxc_configs
        .keys()
        .map(|id| id.get())
        .collect();
    assert_eq!(ids, vec![101, 102, 900, 901, 902, 950]);
    let shared = &loaded.fleet.hypervisor.shared_volumes["shared_data"];
    assert_eq!(shared.mounts.len(), 2);
}

#[test]
fn every_invalid_case_fails_with_its_message() {
    let dir = repo().join("fixtures/invalid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap().to_owned();
        let path = Utf8PathBuf::from_path_buf(case).unwrap();
        let report = validate_dir(&path).unwrap();
        assert!(!report.errors.is_empty(), "{name} has no error");
        assert!(report.fleet.is_none(), "{name} produced a fleet");
        assert!(
            matches!(load_dir(&path), Err(ConfigError::Invalid { .. })),
            "{name}"
        );
        insta::with_settings!({snapshot_path => "snapshots/invalid", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name.as_str(), render(&report));
        });
    }
}

#[test]
fn bash_era_files_report_exactly_their_defects() {
    let dir = repo().join("../shared/reference/phoenix-bash-era");
    assert!(
        dir.is_dir(),
        "{dir} is missing: the bash-era reference files live in shared/ beside the repository"
    );
    let report = validate_dir(&dir).unwrap();
    assert_eq!(report.errors.len(), 7, "{}", render(&report));
    insta::assert_snapshot!("bash_era", render(&report));
}

fn reference(version: &str) -> Utf8PathBuf {
    let dir = repo().join("../shared/reference").join(version);
    assert!(
        dir.is_dir(),
        "{dir} is missing: the bash-era reference files live in shared/ beside the repository"
    );
    dir
}

#[test]
fn newest_bash_files_report_only_their_defects() {
    let report = validate_dir(&reference("phoenix-bash-newest")).unwrap();
    assert_eq!(report.errors.len(), 16, "{}", render(&report));
    // Every key of the newest files is read: no unknown field is left.
    assert!(
        report
            .errors
            .iter()
            .all(|d| !d.message.starts_with("unknown field") || d.message.contains("did you mean")),
        "{}",
        render(&report)
    );
    insta::assert_snapshot!("bash_newest", render(&report));
}

#[test]
fn the_design_container_101_validates_with_warnings_only() {
    let loaded = load_dir(&repo().join("fixtures/design-101")).unwrap();
    let ct = &loaded.fleet.lxc.lxc_configs[&"101".parse().unwrap()];
    // "" means: let Proxmox choose, so phoenix writes no hwaddr.
    assert_eq!(ct.mac_address, None);
    assert_eq!(ct.firewall.as_ref().map(|f| f.enabled), Some(true));
    // Two unconfined profiles, their two redundant lxc.apparmor.profile lines, and
    // lxc.mount.auto=sys:rw (sys writable in the container).
    assert_eq!(loaded.warnings.len(), 5, "{:?}", loaded.warnings);
}

#[test]
fn application_scripts_are_checked_in_bin_beside_the_config_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let base = Utf8PathBuf::from_path_buf(tmp.path().to_owned()).unwrap();
    let etc = base.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    for f in ["phoenix_lxc_configs.json", "phoenix_hypervisor_config.json"] {
        std::fs::copy(repo().join("fixtures/design-101").join(f), etc.join(f)).unwrap();
    }
    // No bin/: nothing is checked, and the report says so.
    let report = validate_dir(&etc).unwrap();
    assert!(report.errors.is_empty());
    assert_eq!(report.scripts_dir, None);
    std::fs::create_dir_all(base.join("bin")).unwrap();
    let report = validate_dir(&etc).unwrap();
    assert_eq!(report.scripts_dir, Some(base.join("bin")));
    let messages: Vec<String> = report.errors.iter().map(|d| d.message.clone()).collect();
    assert_eq!(
        messages,
        vec![format!(
            "unknown application script \"phoenix_hypervisor_lxc_101.sh\" at /lxc_configs/101/application_script: {} has no such file, so provisioning container 101 would fail at its last step",
            base.join("bin")
        )]
    );
    std::fs::write(
        base.join("bin/phoenix_hypervisor_lxc_101.sh"),
        "#!/bin/sh\n",
    )
    .unwrap();
    assert!(validate_dir(&etc).unwrap().errors.is_empty());
    let options = phoenix_config::ValidateOptions {
        scripts_dir: Some(base.join("nope")),
    };
    assert!(matches!(
        phoenix_config::validate_dir_with(&etc, &options),
        Err(ConfigError::NoScriptsDirectory { .. })
    ));
}

#[test]
fn secrets_never_appear_in_reports_or_debug_output() {
    let report = validate_dir(&reference("phoenix-bash-newest")).unwrap();
    let text = format!("{}{:?}", render(&report), report);
    assert!(!text.contains("NewKick"), "a secret leaked");
    let hyp = std::fs::read_to_string(
        reference("phoenix-bash-newest").join("phoenix_hypervisor_config.json"),
    )
    .unwrap();
    let typed: phoenix_config::HypervisorFile = {
        let mut v: serde_json::Value = serde_json::from_str(&hyp).unwrap();
        // The misplaced firewall and the typo are the file's own defects; cut them to type the rest.
        v["shared_volumes"]
            .as_object_mut()
            .unwrap()
            .shift_remove("firewall");
        v["tests"]
            .as_object_mut()
            .unwrap()
            .shift_remove("hypervisor_health_.check");
        serde_json::from_value(v).unwrap()
    };
    let api = typed.portainer_api.unwrap();
    assert!(api.admin_password.is_plaintext());
    assert!(!format!("{api:?}").contains("NewKick"));
    assert!(!serde_json::to_string(&api).unwrap().contains("NewKick"));
}

#[test]
fn container_rules_render_as_a_proxmox_firewall_file() {
    use phoenix_pveconf::firewall::{FwFile, render_rules};
    let text =
        std::fs::read_to_string(reference("phoenix-bash-newest").join("phoenix_lxc_configs.json"))
            .unwrap();
    let lxc: phoenix_config::LxcFile = serde_json::from_str(&text).unwrap();
    let gateway = &lxc.lxc_configs[&"101".parse().unwrap()];
    let rules: Vec<_> = gateway
        .firewall
        .as_ref()
        .unwrap()
        .rules
        .iter()
        .map(|r| r.to_pve_rule())
        .collect();
    let rendered = render_rules(&rules);
    insta::assert_snapshot!("newest_101_firewall_rules", rendered);
    let parsed = FwFile::parse(&rendered).unwrap();
    assert_eq!(parsed.rules(), rules);
    assert_eq!(parsed.render(), rendered);
}

#[test]
fn the_cluster_fleet_validates_and_reads_its_cluster_section() {
    let dir = repo().join("fixtures/cluster");
    let report = validate_dir(&dir).unwrap();
    assert_eq!(render(&report), "", "no errors, no warnings");
    let loaded = load_dir(&dir).unwrap();
    let cluster = loaded.fleet.hypervisor.cluster.as_ref().unwrap();
    let nodes: Vec<(u32, Option<&str>)> = loaded
        .fleet
        .lxc
        .lxc_configs
        .iter()
        .map(|(id, c)| (id.get(), c.node.as_ref().map(|n| n.as_str())))
        .collect();
    // The section with its defaults filled in (ssh_user, pve1's port and phoenix), and
    // which containers name a node.
    insta::assert_snapshot!(
        "cluster",
        format!(
            "{}\n{nodes:?}\n",
            serde_json::to_string_pretty(cluster).unwrap()
        )
    );
}
