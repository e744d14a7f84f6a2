//! The example fleet's plan from nothing, routed for a cluster: every step either an
//! API call or the node path with its reason (the bind-mount and GPU containers'
//! root-only keys split off their create or set).

mod fake;

use fake::Node;
use phoenix_orchestrator::RunOptions;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::plan::Op;
use phoenix_orchestrator::plan::PlannedStep;
use phoenix_orchestrator::route::{Current, RootOnly, Via, api_call, route, route_with};

fn example() -> Fleet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/example");
    phoenix_orchestrator::config::load_dir(camino::Utf8Path::new(dir))
        .expect("the example fleet validates")
        .fleet
}

fn show(step: &PlannedStep, node: &str) -> String {
    let node = node.parse().unwrap();
    route(&step.op)
        .into_iter()
        .map(|r| match r.via {
            Via::Api => format!("  api   {}\n", api_call(&r.op, &node).unwrap()),
            Via::NodePath(why) => format!("  node  {why}\n"),
            Via::Nowhere => String::new(),
        })
        .collect()
}

#[test]
fn the_example_fleets_plan_routes_root_only_steps_to_the_node_path() {
    let node = Node::new();
    let fleet = example();
    let orch = fake::orchestrator(&node, &fleet, &node.runner);
    let plan = orch
        .plan(&RunOptions {
            jobs: 1,
            ..RunOptions::default()
        })
        .unwrap();
    let mut text = String::new();
    for host in &plan.host {
        text.push_str(&format!("host {}\n", host.name));
        for step in &host.steps {
            text.push_str(&show(step, "pve1"));
        }
    }
    for guest in &plan.guests {
        text.push_str(&format!("{} {}\n", guest.guest, guest.hostname));
        for step in &guest.steps {
            text.push_str(&show(step, "pve1"));
        }
    }
    let text = text.replace(node.root.as_str(), "[root]");
    // The bind mounts of 101 (nginx sites) and 102/950 (the shared volume) and the
    // keyctl/fuse features of the docker template leave the API.
    assert!(
        text.contains("node  bind mount mp0: root@pam only"),
        "{text}"
    );
    assert!(
        text.contains("node  feature flags fuse=1,keyctl=1,nesting=1: root@pam only"),
        "{text}"
    );
    insta::assert_snapshot!(text);

    // With the conf the clone starts from known (900's: unprivileged, no features),
    // 101's nesting=1 is a change of nesting alone and stays on the API.
    let gateway = plan
        .guests
        .iter()
        .find(|g| g.hostname == "gateway")
        .unwrap();
    let set = gateway
        .steps
        .iter()
        .find(|s| matches!(&s.op, Op::Set { params, .. } if params.contains_key("features")))
        .unwrap();
    let current = Current {
        features: None,
        unprivileged: true,
    };
    let vias: Vec<Via> = route_with(&set.op, Some(&current))
        .into_iter()
        .map(|r| r.via)
        .collect();
    assert_eq!(
        vias,
        vec![
            Via::Api,
            Via::NodePath(RootOnly::BindMount { key: "mp0".into() })
        ]
    );
}
