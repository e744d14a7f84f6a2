//! The feature extension point against a scripted node: a feature is installed when the
//! container's ledger says it is not converged (also on an existing, unchanged
//! container), skipped with the reason when it is, installed again when its inputs
//! change, and probed and verified by `--verify`; requirements reach the plan.

mod fake;

use fake::Node;
use phoenix_orchestrator::RunReport;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::features::{
    Container, Feature, FeatureError, Probe, Registry, Request, Requirements,
};
use phoenix_orchestrator::pct::Effect;
use phoenix_orchestrator::pveconf::props::Features;

/// Writes `/etc/marker` with the container's hostname; needs `mknod=1`.
struct Marker;

impl Feature for Marker {
    fn name(&self) -> &'static str {
        "marker"
    }
    fn requirements(&self, _req: &Request<'_>) -> Result<Requirements, FeatureError> {
        Ok(Requirements {
            pct_features: Features {
                mknod: Some(true),
                ..Features::default()
            },
            reasons: vec!["mknod=1: the marker makes a device node".into()],
            ..Requirements::default()
        })
    }
    fn inputs(&self, req: &Request<'_>) -> serde_json::Value {
        serde_json::json!({"text": req.container.name.as_str()})
    }
    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let out = ct.exec(&["cat", "/etc/marker"])?;
        let want = format!("{}\n", req.container.name.as_str());
        Ok(if out.code == 0 && out.stdout == want.as_bytes() {
            Probe::Converged
        } else {
            Probe::Missing("no marker".into())
        })
    }
    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        ct.push(
            format!("{}\n", req.container.name.as_str()).as_bytes(),
            "/etc/marker",
            0o644,
        )
    }
    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        match self.probe(req, ct)? {
            Probe::Converged => Ok(()),
            Probe::Missing(reason) => Err(FeatureError::Verify {
                feature: "marker".into(),
                vmid: ct.vmid(),
                reason,
            }),
        }
    }
}

fn example() -> Fleet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/example");
    phoenix_orchestrator::config::load_dir(camino::Utf8Path::new(dir))
        .expect("the example fleet validates")
        .fleet
}

fn run(node: &Node, fleet: &Fleet, reprove: bool) -> RunReport {
    let mut registry = Registry::builtin();
    registry.register(Box::new(Marker));
    fake::orchestrator(node, fleet, &node.runner)
        .with_features(registry)
        .converge(&fake::one_job(reprove), &|_| {})
        .expect("the run starts")
}

fn add_marker(fleet: &mut Fleet, id: u32) {
    let ct = fleet
        .lxc
        .lxc_configs
        .get_mut(&phoenix_orchestrator::config::Ctid::new(id).unwrap())
        .unwrap();
    ct.features.push("marker".parse().unwrap());
}

fn lines(node: &Node, pred: impl Fn(&str) -> bool) -> Vec<String> {
    node.runner
        .invocations()
        .iter()
        .map(|i| i.argv().join(" "))
        .filter(|l| pred(l))
        .collect()
}

#[test]
fn a_feature_added_to_an_unchanged_container_is_installed_then_skipped_by_its_ledger() {
    let node = Node::new();
    let mut fleet = example();
    assert!(run(&node, &fleet, false).ok());

    // Adding the feature to an existing, converged container installs it next run,
    // with its requirement (mknod=1) in one pct set and the reason in the plan.
    add_marker(&mut fleet, 101);
    node.runner.clear_invocations();
    let report = run(&node, &fleet, false);
    assert!(report.ok(), "{}", report.render_text(true));
    let text = report.render_text(false);
    assert!(
        text.contains("customize change install feature marker\n      # not installed"),
        "{text}"
    );
    assert!(
        text.contains("marker: mknod=1: the marker makes a device node"),
        "{text}"
    );
    assert!(
        lines(&node, |l| l.starts_with("pct set 101 "))
            .iter()
            .any(|l| l.contains("mknod=1")),
        "{}",
        node.runner.transcript()
    );
    let pushed = lines(&node, |l| l.starts_with("pct push 101 "));
    // The marker and its ledger entry; then 101's application script runs again, since
    // the container's config (an input of the script) changed.
    assert!(
        pushed[0].ends_with("/etc/marker --perms 0644"),
        "{pushed:?}"
    );
    assert_eq!(pushed.len(), 6, "{pushed:?}");
    assert!(
        pushed[4].ends_with("/application/container.json --perms 0600"),
        "{pushed:?}"
    );
    assert!(
        pushed[1].ends_with("/var/lib/phoenix/ledger.json --perms 0644"),
        "{pushed:?}"
    );

    // Next run: one ledger read in the container, no probe, no mutating call.
    node.runner.clear_invocations();
    let again = run(&node, &fleet, false);
    assert!(again.ok());
    assert!(
        again
            .render_text(true)
            .contains("skip marker: converged at phoenix"),
        "{}",
        again.render_text(true)
    );
    // (101 has the marker; 900 base_setup, 902 and 102 docker: the example's own;
    // 950's vllm is not installed: it needs nvidia, and 950 has no gpu_assignment.)
    let execs = lines(&node, |l| l.starts_with("pct exec"));
    assert_eq!(
        execs,
        [
            "pct exec 101 -- cat /var/lib/phoenix/ledger.json",
            "pct exec 102 -- cat /var/lib/phoenix/ledger.json",
            "pct exec 900 -- cat /var/lib/phoenix/ledger.json",
            "pct exec 902 -- cat /var/lib/phoenix/ledger.json",
        ]
    );
    let mutating: Vec<String> = node
        .runner
        .invocations()
        .iter()
        .filter(|i| i.effect() == Effect::Mutation)
        .map(|i| i.argv().join(" "))
        .collect();
    assert_eq!(mutating, Vec::<String>::new());

    // --verify probes and verifies it (a check, no install).
    node.runner.clear_invocations();
    let verified = run(&node, &fleet, true);
    assert!(verified.ok(), "{}", verified.render_text(true));
    assert!(
        verified
            .render_text(true)
            .contains("customize check  verify feature marker")
    );
    assert!(
        lines(&node, |l| l.starts_with("pct push 101 /")).len() == 1,
        "only the ledger"
    );
}

#[test]
fn changed_inputs_install_again_and_a_cycle_or_an_unknown_feature_is_refused() {
    let node = Node::new();
    let mut fleet = example();
    add_marker(&mut fleet, 101);
    assert!(run(&node, &fleet, false).ok());
    // The marker's input is the hostname.
    let id = phoenix_orchestrator::config::Ctid::new(101).unwrap();
    fleet.lxc.lxc_configs.get_mut(&id).unwrap().name = "gateway-2".parse().unwrap();
    node.runner.clear_invocations();
    let report = run(&node, &fleet, false);
    assert!(report.ok(), "{}", report.render_text(true));
    assert!(
        report
            .render_text(false)
            .contains("install feature marker\n      # its inputs changed"),
        "{}",
        report.render_text(false)
    );

    fleet.lxc.lxc_configs.get_mut(&id).unwrap().features = vec!["nosuch".parse().unwrap()];
    let refused = run(&node, &fleet, false);
    let text = refused.render_text(false);
    assert!(
        text.contains("FAILED at define: CT 101: unknown feature 'nosuch'"),
        "{text}"
    );
}
