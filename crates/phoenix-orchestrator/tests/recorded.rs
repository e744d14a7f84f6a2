//! The composition layer without root or LXC: the example fleet converged against a
//! scripted Proxmox node (`RecordingRunner`): from nothing, a no-op re-run, and a
//! failure at each step followed by a re-run that ends like a clean run.

mod fake;

use fake::Node;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::pct::Effect;
use phoenix_orchestrator::{Orchestrator, RunOptions, RunReport};

fn example() -> Fleet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/example");
    phoenix_orchestrator::config::load_dir(camino::Utf8Path::new(dir))
        .expect("the example fleet validates")
        .fleet
}

fn opts() -> RunOptions {
    RunOptions {
        jobs: 1,
        ..RunOptions::default()
    }
}

/// The orchestrator over the scripted node, with the example's scripts directory.
fn orch<'a>(node: &'a Node, fleet: &'a Fleet) -> Orchestrator<'a> {
    fake::orchestrator(node, fleet, &node.runner)
}

fn up(node: &Node, fleet: &Fleet) -> RunReport {
    orch(node, fleet)
        .with_run_id("run")
        .converge(&opts(), &|_| {})
        .expect("the run starts")
}

fn mutations(node: &Node) -> Vec<String> {
    node.runner
        .invocations()
        .iter()
        .filter(|i| i.effect() == Effect::Mutation)
        .map(|i| i.argv().join(" "))
        .collect()
}

fn redact(text: &str, node: &Node) -> String {
    text.replace(node.root.as_str(), "[root]")
}

#[test]
fn the_example_fleet_converges_from_nothing_and_a_rerun_changes_nothing() {
    let node = Node::new();
    let fleet = example();
    let orch = orch(&node, &fleet);
    let plan = orch.plan(&opts()).unwrap();
    assert_eq!(
        mutations(&node),
        Vec::<String>::new(),
        "planning only reads"
    );
    // The config digest changes with the model's serialization, not with the plan.
    insta::with_settings!({filters => vec![(r#""config_digest": "[0-9a-f]+""#, r#""config_digest": "[digest]""#)]}, {
        insta::assert_snapshot!("plan_from_nothing", redact(&plan.to_json(), &node));
    });
    let planned = plan.change_count();
    node.runner.clear_invocations();

    let report = up(&node, &fleet);
    assert!(report.ok(), "{}", report.render_text(false));
    assert_eq!(
        report.change_count(),
        planned,
        "the run makes what the plan announced"
    );
    insta::with_settings!({filters => fake::TRANSCRIPT_FILTERS.to_vec()}, {
        insta::assert_snapshot!("transcript_from_nothing", node.runner.transcript());
    });
    insta::assert_snapshot!("state_after_converge", node.snapshot_state());

    node.runner.clear_invocations();
    let again = up(&node, &fleet);
    assert!(again.ok(), "{}", again.render_text(false));
    assert_eq!(again.change_count(), 0, "{}", again.render_text(false));
    assert_eq!(mutations(&node), Vec::<String>::new());
    insta::assert_snapshot!("transcript_noop", node.runner.transcript());
}

#[test]
fn a_failure_at_each_step_then_a_rerun_ends_like_a_clean_run() {
    let fleet = example();
    let clean = {
        let node = Node::new();
        assert!(up(&node, &fleet).ok());
        node.snapshot_state()
    };
    for (sub, n) in [
        ("create", 1),
        ("clone", 1),
        ("clone", 3),
        ("set", 1),
        ("start", 2),
        ("exec", 1),
        ("exec", 5),
        ("snapshot", 1),
    ] {
        let node = Node::new();
        node.fail(sub, n);
        let failed = up(&node, &fleet);
        assert!(!failed.ok(), "pct {sub} #{n} failing must fail the run");
        let text = failed.render_text(false);
        assert!(
            text.contains("FAILED at ") && text.contains(&format!("injected failure of pct {sub}")),
            "{sub} #{n}: {text}"
        );
        let again = up(&node, &fleet);
        assert!(
            again.ok(),
            "re-run after {sub} #{n}: {}",
            again.render_text(false)
        );
        assert_eq!(
            node.snapshot_state(),
            clean,
            "after {sub} #{n} and a re-run"
        );
        node.runner.clear_invocations();
        let third = up(&node, &fleet);
        assert!(third.ok());
        assert_eq!(mutations(&node), Vec::<String>::new(), "after {sub} #{n}");
    }
}

#[test]
fn a_guest_changed_between_plan_and_apply_is_planned_again_and_says_so() {
    let node = Node::new();
    let fleet = example();
    assert!(up(&node, &fleet).ok());
    let clean = node.snapshot_state();
    node.state.lock().unwrap().edit_on_pvesm = Some((102, "onboot: 1".into(), "onboot: 0".into()));
    let report = up(&node, &fleet);
    assert!(report.ok(), "{}", report.render_text(false));
    let text = report.render_text(false);
    assert!(
        text.contains("note: CT 102 changed since the plan was made: planned again"),
        "{text}"
    );
    assert!(text.contains("onboot: 0 -> 1"), "{text}");
    assert_eq!(node.snapshot_state(), clean);
}

#[test]
fn a_failing_host_step_fails_only_the_guests_that_need_it() {
    let node = Node::new();
    let mut fleet = example();
    let id = phoenix_orchestrator::config::Ctid::new(950).unwrap();
    fleet.lxc.lxc_configs.get_mut(&id).unwrap().storage_pool = "fast-zfs".parse().unwrap();
    let report = up(&node, &fleet);
    let text = report.render_text(false);
    assert!(!report.ok());
    assert!(
        text.contains("host step storage failed: storage the fleet uses is not available: fast-zfs (not defined)"),
        "{text}"
    );
    for c in &report.containers {
        if c.vmid == 950 {
            assert!(
                text.contains(
                    "FAILED at host: not attempted: the host step storage it needs failed"
                ),
                "{text}"
            );
        } else {
            assert!(c.ok(), "CT {} must not be affected: {text}", c.vmid);
        }
    }
}

#[test]
fn a_dependency_on_a_vm_is_a_node_of_the_plan_not_dropped() {
    let node = Node::new();
    let mut fleet = example();
    fleet.vm = Some(
        serde_json::from_value(serde_json::json!({"vms": [{"vmid": 8000, "name": "docker-vm"}]}))
            .unwrap(),
    );
    let id = phoenix_orchestrator::config::Ctid::new(102).unwrap();
    fleet
        .lxc
        .lxc_configs
        .get_mut(&id)
        .unwrap()
        .dependencies
        .push(phoenix_orchestrator::config::Ctid::new(8000).unwrap());
    let orch = orch(&node, &fleet);
    let plan = orch.plan(&opts()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    let guests = json["guests"].as_array().unwrap();
    let vm = guests
        .iter()
        .find(|g| g["guest"] == serde_json::json!({"kind": "vm", "id": 8000}))
        .expect("the VM is a guest of the plan");
    assert_eq!(vm["hostname"], "docker-vm");
    let ct = guests
        .iter()
        .find(|g| g["guest"] == serde_json::json!({"kind": "ct", "id": 102}))
        .unwrap();
    assert!(
        ct["needs"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"kind": "vm", "id": 8000})),
        "{ct}"
    );
    let report = up(&node, &fleet);
    assert!(report.ok(), "{}", report.render_text(false));
    assert!(
        report.render_text(false).contains(
            "warning: it depends on VM 8000, which this phoenix version does not converge"
        ),
        "{}",
        report.render_text(false)
    );
}

#[test]
fn staging_directories_are_removed_after_success_and_after_a_failed_install() {
    let fleet = example();
    let node = Node::new();
    assert!(up(&node, &fleet).ok());
    let staged = |node: &Node| -> Vec<String> {
        node.state
            .lock()
            .unwrap()
            .cts
            .values()
            .flat_map(|c| c.files.keys().cloned())
            .filter(|f| f.starts_with("/tmp/phoenix_run"))
            .collect()
    };
    assert_eq!(staged(&node), Vec::<String>::new());
    // docker's install script fails: the run fails showing its last lines, and its
    // staging directory is gone all the same.
    let node = Node::new();
    node.state.lock().unwrap().fail_script = Some("docker.sh".into());
    let failed = up(&node, &fleet);
    assert!(!failed.ok());
    let text = failed.render_text(false);
    assert!(
        text.contains("FAILED at customize: CT 902: feature docker: `docker script` failed in CT 902 with exit code 1: installing docker.io\nReading package lists...\nE: Unable to locate package docker.io"),
        "{text}"
    );
    assert_eq!(staged(&node), Vec::<String>::new(), "{text}");
}

#[test]
fn nameservers_firewall_rules_and_lifecycle_snapshots_are_applied_once() {
    let node = Node::new();
    let mut fleet = example();
    let id = phoenix_orchestrator::config::Ctid::new(901).unwrap();
    let ct = fleet.lxc.lxc_configs.get_mut(&id).unwrap();
    ct.network_config.nameservers =
        serde_json::from_value(serde_json::json!(["10.0.0.53", "1.1.1.1"])).unwrap();
    ct.network_config.search_domain = Some("lab.internal".parse().unwrap());
    ct.enable_lifecycle_snapshots = Some(true);
    ct.firewall = Some(
        serde_json::from_value(serde_json::json!({"enabled": true, "rules": [
            {"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "80,443", "comment": "web"},
            {"type": "in", "action": "DROP", "source": "10.0.0.66"}
        ]}))
        .unwrap(),
    );
    let report = up(&node, &fleet);
    assert!(report.ok(), "{}", report.render_text(false));
    let text = report.render_text(false);
    assert!(
        text.contains("--nameserver '10.0.0.53 1.1.1.1'")
            && text.contains("--searchdomain lab.internal"),
        "{text}"
    );
    let fw = std::fs::read_to_string(node.root.join("etc/pve/firewall/901.fw")).unwrap();
    assert_eq!(
        fw,
        "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 80,443 # web\nIN DROP -source 10.0.0.66\n"
    );
    let snaps = node.state.lock().unwrap().cts[&901].snapshots.clone();
    assert_eq!(snaps, ["pre-configured", "final-form"]);
    node.runner.clear_invocations();
    let again = up(&node, &fleet);
    assert!(again.ok());
    assert_eq!(again.change_count(), 0, "{}", again.render_text(false));
    assert_eq!(mutations(&node), Vec::<String>::new());
    // A hand edit of another section survives the next change of the rules.
    std::fs::write(
        node.root.join("etc/pve/firewall/901.fw"),
        format!("{fw}\n[IPSET mgmt] # admins\n\n10.0.0.0/24\n"),
    )
    .unwrap();
    let ct = fleet.lxc.lxc_configs.get_mut(&id).unwrap();
    ct.firewall.as_mut().unwrap().rules.pop();
    assert!(up(&node, &fleet).ok());
    let fw = std::fs::read_to_string(node.root.join("etc/pve/firewall/901.fw")).unwrap();
    assert!(
        fw.contains("[IPSET mgmt] # admins\n\n10.0.0.0/24\n") && !fw.contains("10.0.0.66"),
        "{fw}"
    );
}

#[test]
fn a_container_of_another_cluster_node_is_refused_before_any_mutating_call() {
    let node = Node::new();
    let fleet = example();
    let other = node.root.join("etc/pve/nodes/pve2/lxc");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("950.conf"), "hostname: vllm-demo\nmemory: 512\n").unwrap();
    let report = up(&node, &fleet);
    let text = report.render_text(false);
    assert!(
        text.contains("FAILED at define: CT 950 exists on cluster node pve2 (/etc/pve/nodes/pve2/lxc/950.conf), not on this node"),
        "{text}"
    );
    assert!(
        !mutations(&node).iter().any(|m| m.contains(" 950")),
        "{:?}",
        mutations(&node)
    );
    assert_eq!(
        report.containers.iter().filter(|c| !c.ok()).count(),
        1,
        "{text}"
    );
}

#[test]
fn docker_under_an_unconfined_profile_is_warned_and_confined() {
    let node = Node::new();
    let mut fleet = example();
    let id = phoenix_orchestrator::config::Ctid::new(102).unwrap();
    fleet.lxc.lxc_configs.get_mut(&id).unwrap().apparmor_profile =
        Some("unconfined".parse().unwrap());
    let orch = orch(&node, &fleet);
    let plan = orch.plan(&opts()).unwrap();
    let g = plan.guests.iter().find(|g| g.guest.id() == 102).unwrap();
    assert!(
        g.warnings.iter().any(|w| w.starts_with(
            "apparmor_profile unconfined is overridden by docker's lxc-docker-secure"
        )),
        "{:?}",
        g.warnings
    );
    let json = plan.to_json();
    assert!(
        json.contains("\"lxc-docker-secure\""),
        "the profile docker needs is set"
    );
}

#[test]
fn the_plan_says_why_each_feature_is_installed_or_skipped_and_verbose_shows_its_commands() {
    let node = Node::new();
    let fleet = example();
    let orch = orch(&node, &fleet);
    let report = orch.report_of_plan(&orch.plan(&opts()).unwrap());
    let plain = report.render(true, false);
    assert!(
        plain.contains("customize change install feature docker\n      # not installed\n"),
        "{plain}"
    );
    assert!(!plain.contains("$ docker.sh"), "{plain}");
    let verbose = report.render(true, true);
    assert!(
        verbose.contains(
            "      $ docker.sh: apt-get install docker.io fuse-overlayfs (those missing)\n"
        ),
        "{verbose}"
    );
    // After a converge, the next plan skips it, saying why.
    assert!(up(&node, &fleet).ok());
    let again = orch
        .report_of_plan(&orch.plan(&opts()).unwrap())
        .render(true, false);
    assert!(
        again.contains("skip docker: converged at phoenix 0.1.0, inputs unchanged"),
        "{again}"
    );
}

/// The container a pct call is about (`pct clone SRC NEW` is about NEW); `None` for the
/// calls about the node (`pct list`, `pvesm status`).
fn about(argv: &[String]) -> Option<u32> {
    if argv.first().map(String::as_str) != Some("pct") {
        return None;
    }
    let at = if argv.get(1).map(String::as_str) == Some("clone") {
        3
    } else {
        2
    };
    argv.get(at)?.parse().ok()
}

/// A template CT 900 (snapshotted, no features) and three plain clones of it: 911, 912,
/// and 102 with the example's writable shared volume.
fn plain_clones() -> Fleet {
    let mut fleet = example();
    fleet.hypervisor.gateway = None;
    let lxc = serde_json::to_value(&fleet.lxc).unwrap();
    let mut template = lxc["lxc_configs"]["900"].clone();
    template["features"] = serde_json::json!([]);
    let base = lxc["lxc_configs"]["901"].clone();
    let mut cts = serde_json::Map::new();
    cts.insert("900".into(), template);
    for (i, id) in [911u32, 912, 102].into_iter().enumerate() {
        let mut c = base.clone();
        let o = c.as_object_mut().unwrap();
        o.remove("template_snapshot_name");
        o.remove("apparmor_extra_rules");
        o.insert("features".into(), serde_json::json!([]));
        o.insert("name".into(), serde_json::json!(format!("plain-{id}")));
        c["network_config"]["ip"] = serde_json::json!(format!("10.0.0.{}/24", 60 + i));
        c["mac_address"] = serde_json::json!(format!("52:54:00:00:0a:{:02x}", i));
        cts.insert(id.to_string(), c);
    }
    let mut lxc = lxc;
    lxc["lxc_configs"] = serde_json::Value::Object(cts);
    fleet.lxc = serde_json::from_value(lxc).unwrap();
    fleet
}

#[test]
fn a_created_clone_costs_at_most_four_mutating_or_exec_calls_and_two_reads() {
    let node = Node::new();
    let fleet = plain_clones();
    let report = up(&node, &fleet);
    assert!(report.ok(), "{}", report.render_text(false));
    let invs = node.runner.invocations();
    for id in [911u32, 912, 102] {
        let mine: Vec<String> = invs
            .iter()
            .filter(|i| about(&i.argv()) == Some(id))
            .map(|i| format!("{} ({})", i.argv().join(" "), i.effect()))
            .collect();
        let reads = invs
            .iter()
            .filter(|i| about(&i.argv()) == Some(id) && i.effect() == Effect::Read)
            .count();
        let others = mine.len() - reads;
        // clone, set, start and one exec that proves both maps and the volume.
        assert!(
            others <= 4,
            "CT {id}: {others} calls that mutate or exec: {mine:#?}"
        );
        assert!(reads <= 2, "CT {id}: {reads} reads: {mine:#?}");
    }
    let proofs = invs
        .iter()
        .filter(|i| {
            about(&i.argv()) == Some(102) && i.argv().get(1).map(String::as_str) == Some("exec")
        })
        .count();
    assert_eq!(
        proofs, 1,
        "the maps and the writable volume are proven in one exec"
    );
    assert!(
        node.fs.files.lock().unwrap().is_empty(),
        "the probe file is removed on the host"
    );
}

#[test]
fn a_no_op_rerun_reads_once_per_container_and_lists_once() {
    let node = Node::new();
    let fleet = plain_clones();
    assert!(up(&node, &fleet).ok());
    node.runner.clear_invocations();
    let again = up(&node, &fleet);
    assert!(again.ok(), "{}", again.render_text(false));
    assert_eq!(mutations(&node), Vec::<String>::new());
    let invs = node.runner.invocations();
    let lists = invs
        .iter()
        .filter(|i| i.argv()[..2] == ["pct", "list"])
        .count();
    assert_eq!(lists, 1, "{}", node.runner.transcript());
    for id in [900u32, 911, 912, 102] {
        let reads = invs.iter().filter(|i| about(&i.argv()) == Some(id)).count();
        assert!(
            reads <= 1,
            "CT {id}: {reads} reads\n{}",
            node.runner.transcript()
        );
    }
}
