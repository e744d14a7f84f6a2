//! The JSON event stream (`phoenix up --log-format json`) of the example fleet
//! converged from nothing against the scripted node: one object per line, in the
//! documented format (`docs/events.md`); timestamps and durations redacted.

mod fake;

use std::sync::Mutex;

use fake::Node;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::events::{EventLog, SystemClock};

fn example() -> Fleet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/example");
    phoenix_orchestrator::config::load_dir(camino::Utf8Path::new(dir))
        .expect("the example fleet validates")
        .fleet
}

/// Converges `fleet` on `node`, returning whether the run was ok and its event lines.
fn events(node: &Node, fleet: &Fleet) -> (bool, Vec<String>) {
    let log = EventLog::new(SystemClock);
    let lines = Mutex::new(Vec::new());
    let report = fake::orchestrator(node, fleet, &node.runner)
        .converge(&fake::one_job(false), &|e| {
            let line = serde_json::to_string(&log.record(&e)).expect("an event serializes");
            lines.lock().unwrap().push(line);
        })
        .expect("the run starts");
    (report.ok(), lines.into_inner().unwrap())
}

fn redacted(lines: &[String], node: &Node) -> String {
    let text = lines.join("\n").replace(node.root.as_str(), "[root]");
    let ts = regex::Regex::new(r#""timestamp":"[0-9T:.-]+Z""#).unwrap();
    let ms = regex::Regex::new(r#""duration_ms":[0-9]+"#).unwrap();
    let text = ts.replace_all(&text, r#""timestamp":"[ts]""#);
    ms.replace_all(&text, r#""duration_ms":[ms]"#).into_owned()
}

#[test]
fn the_event_stream_of_a_converge_from_nothing_is_one_json_object_per_line() {
    let node = Node::new();
    let fleet = example();
    let (ok, lines) = events(&node, &fleet);
    assert!(ok);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(
            v["timestamp"].is_string() && v["event"].is_string(),
            "{line}"
        );
    }
    // Every step that started finished, and every guest that started finished.
    let count = |kind: &str| lines.iter().filter(|l| l.contains(kind)).count();
    assert_eq!(count("\"step-started\""), count("\"step-finished\""));
    assert_eq!(count("\"guest-started\""), count("\"guest-finished\""));
    insta::assert_snapshot!(redacted(&lines, &node));
}

#[test]
fn a_failed_step_says_so_in_its_event_and_in_its_guests() {
    let node = Node::new();
    let fleet = example();
    node.fail("start", 1);
    let (ok, lines) = events(&node, &fleet);
    assert!(!ok);
    let failed: Vec<String> = lines
        .iter()
        .filter(|l| l.contains(r#""result":"failed""#) || l.contains(r#""result":"skipped""#))
        .cloned()
        .collect();
    insta::assert_snapshot!(redacted(&failed, &node));
}
