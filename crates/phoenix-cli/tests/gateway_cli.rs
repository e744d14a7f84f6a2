//! `phoenix gateway render` on the real binary: the library's text on stdout, and
//! exit 2 with the diagnostics for a config whose gateway is wrong.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn render(dir: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .args(["gateway", "render", "--config-dir"])
        .arg(repo().join(dir))
        .args(extra)
        .env_remove("PHOENIX_CONFIG_DIR")
        .output()
        .expect("phoenix runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn render_prints_the_example_fleets_gateway() {
    let out = render("fixtures/example", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = camino::Utf8PathBuf::from_path_buf(repo().join("fixtures/example")).unwrap();
    let fleet = phoenix_config::load_dir(&dir).unwrap().fleet;
    assert_eq!(text(&out.stdout), phoenix_gateway::render(&fleet).unwrap());
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn render_json_names_the_container_the_path_and_the_script_environment() {
    let out = render("fixtures/example", &["-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ctid"], 101);
    assert_eq!(v["path"], "/etc/nginx/conf.d/phoenix.conf");
    assert_eq!(
        v["env"]["PHOENIX_GATEWAY_CERT"],
        "/etc/nginx/ssl/phoenix.crt"
    );
    assert!(
        v["config"]
            .as_str()
            .unwrap()
            .starts_with(phoenix_gateway::HEADER)
    );
}

#[test]
fn an_unknown_gateway_container_exits_2_with_its_pointer() {
    let out = render("fixtures/invalid/gateway-container-missing", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "phoenix_hypervisor_config.json:19:17: unknown gateway container 105 at /gateway/ctid"
        ),
        "{err}"
    );
}

#[test]
fn a_fleet_without_a_gateway_exits_2_saying_what_to_set() {
    let tmp = tempfile::tempdir().unwrap();
    let example = repo().join("fixtures/example");
    for f in ["phoenix_lxc_configs.json", "phoenix_vm_configs.json"] {
        std::fs::copy(example.join(f), tmp.path().join(f)).unwrap();
    }
    let hv = std::fs::read_to_string(example.join("phoenix_hypervisor_config.json")).unwrap();
    let mut hv: serde_json::Value = serde_json::from_str(&hv).unwrap();
    hv.as_object_mut().unwrap().remove("gateway");
    hv.as_object_mut().unwrap().remove("$schema");
    std::fs::write(
        tmp.path().join("phoenix_hypervisor_config.json"),
        hv.to_string(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .args(["gateway", "render", "--config-dir"])
        .arg(tmp.path())
        .env_remove("PHOENIX_CONFIG_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    // validate's warnings, then the reason nothing was rendered.
    assert!(err.contains("gateway at /lxc_configs/102/gateway: phoenix_hypervisor_config.json names no gateway container"), "{err}");
    assert!(err.ends_with("the fleet names no gateway container: set gateway.ctid in phoenix_hypervisor_config.json\n"), "{err}");
}
