//! End-to-end tests of `phoenix validate` and `phoenix schema` on the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn phoenix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .args(args)
        .env_remove("PHOENIX_CONFIG_DIR")
        .output()
        .expect("phoenix runs")
}

fn validate(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["validate", "--config-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    phoenix(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn example_fleet_validates_with_exit_0() {
    let out = validate(&repo().join("fixtures/example"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with("valid, 6 containers, 0 warnings\n"),
        "{}",
        stdout(&out)
    );
    let quiet = validate(&repo().join("fixtures/example"), &["-q"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(stdout(&quiet), "");
}

#[test]
fn every_invalid_case_exits_2_with_the_library_diagnostics() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30);
    for case in cases {
        let out = validate(&case, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", case.display());
        let utf8 = camino::Utf8PathBuf::from_path_buf(case.clone()).unwrap();
        let report = phoenix_config::validate_dir(&utf8).unwrap();
        let text = stdout(&out);
        for d in &report.errors {
            assert!(
                text.contains(&format!("{d}\n")),
                "{}: {d} not in\n{text}",
                case.display()
            );
        }
        assert!(
            text.lines().last().unwrap().contains(": invalid, "),
            "{text}"
        );
    }
}

#[test]
fn json_output_lists_every_diagnostic() {
    let out = validate(
        &repo().join("fixtures/invalid/unknown-field-with-suggestion"),
        &["-o", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(
        v["errors"][0],
        serde_json::json!({
            "severity": "error",
            "file": "phoenix_lxc_configs.json",
            "pointer": "/lxc_configs/102/memroy_mb",
            "line": 62,
            "column": 13,
            "message": "unknown field \"memroy_mb\" at /lxc_configs/102: did you mean \"memory_mb\"?"
        })
    );
    assert_eq!(v["warnings"], serde_json::json!([]));
}

#[test]
fn bash_era_files_report_their_defects() {
    let dir = repo().join("../shared/reference/phoenix-bash-era");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    let out = validate(&dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out).replace(dir.to_str().unwrap(), "[bash-era]");
    insta::assert_snapshot!("bash_era_validate", text);
}

#[test]
fn newest_bash_files_report_only_their_defects() {
    let dir = repo().join("../shared/reference/phoenix-bash-newest");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    let out = validate(&dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out).replace(dir.to_str().unwrap(), "[bash-newest]");
    assert!(!text.contains("NewKick"), "a secret leaked");
    assert!(
        text.ends_with("[bash-newest]: invalid, 16 errors, 90 warnings\n"),
        "{text}"
    );
    insta::assert_snapshot!("bash_newest_validate", text);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("note: no scripts directory"), "{err}");
}

#[test]
fn the_design_container_101_validates() {
    let out = validate(&repo().join("fixtures/design-101"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).ends_with("valid, 2 containers, 5 warnings\n"));
}

#[test]
fn a_missing_directory_is_invalid_input() {
    let out = validate(&repo().join("fixtures/no-such-dir"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: config directory ") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn schema_prints_the_committed_schemas() {
    for (arg, file) in [
        ("lxc", "phoenix_lxc_configs.schema.json"),
        ("hypervisor", "phoenix_hypervisor_config.schema.json"),
        ("vm", "phoenix_vm_configs.schema.json"),
    ] {
        let out = phoenix(&["schema", arg]);
        assert_eq!(out.status.code(), Some(0));
        let committed = std::fs::read_to_string(repo().join("schemas").join(file)).unwrap();
        assert!(
            stdout(&out) == committed,
            "phoenix schema {arg} differs from schemas/{file}"
        );
    }
    assert_eq!(phoenix(&["schema", "lxcc"]).status.code(), Some(2));
}

#[test]
fn a_missing_application_script_or_file_is_named_with_its_container_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("etc");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(bin.join("web")).unwrap();
    std::fs::write(bin.join("web/serve.sh"), "echo\n").unwrap();
    let example = repo().join("fixtures/example");
    std::fs::create_dir_all(&config).unwrap();
    for f in ["phoenix_hypervisor_config.json", "phoenix_vm_configs.json"] {
        std::fs::copy(example.join(f), config.join(f)).unwrap();
    }
    let mut lxc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example.join("phoenix_lxc_configs.json")).unwrap(),
    )
    .unwrap();
    let ct = &mut lxc["lxc_configs"]["101"];
    ct["application_script"] = serde_json::json!("web/serve.sh");
    ct["application_files"] = serde_json::json!(["web/index.html"]);
    lxc["lxc_configs"]["102"]["tests"]["health_checks"][0]["path"] =
        serde_json::json!("web/nope.sh");
    std::fs::write(
        config.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(&lxc).unwrap(),
    )
    .unwrap();
    let out = validate(&config, &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains(
            "unknown application file \"web/index.html\" at /lxc_configs/101/application_files/0"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "unknown test script \"web/nope.sh\" at /lxc_configs/102/tests/health_checks/0/path"
        ),
        "{text}"
    );
    assert!(!text.contains("unknown application script"), "{text}");
}

#[test]
fn host_id_grants_of_the_example_are_listed() {
    let dir = repo().join("fixtures/example");
    let out = validate(&dir, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The four opted-in entries: u and g 1000 of containers 102 and 950.
    assert_eq!(v["host_id_grants"].as_array().map(Vec::len), Some(4), "{v}");
    assert_eq!(
        v["host_id_grants"][0],
        serde_json::json!({"pointer": "/lxc_configs/102/id_maps/1", "entry": "u 1000 1000 1"})
    );
    let text = validate(&dir, &[]);
    let err = String::from_utf8(text.stderr).unwrap();
    assert!(
        err.contains("note: id map 'u 1000 1000 1' at /lxc_configs/102/id_maps/1 maps onto host ids below 100000 (allowed by allow_host_ids)"),
        "{err}"
    );
}
