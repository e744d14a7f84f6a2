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
