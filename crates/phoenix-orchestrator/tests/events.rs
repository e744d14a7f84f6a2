//! The JSON event stream (`phoenix up --log-format json`) of the example fleet
//! converged from nothing against the scripted node: one object per line, in the
//! documented format (`docs/events.md`); timestamps and durations redacted.

mod fake;

use std::sync::Mutex;

use fake::Node;
use phoenix_orchestrator::config::Fleet;
use phoenix_orchestrator::events::{EventLog, SystemClock};
use phoenix_orchestrator::{Orchestrator, RunOptions};

fn example() -> Fleet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/example");
    phoenix_orchestrator::config::load_dir(camino::Utf8Path::new(dir))
        .expect("the example fleet validates")
        .fleet
}

#[test]
fn the_event_stream_of_a_converge_from_nothing_is_one_json_object_per_line() {
    let node = Node::new();
    let fleet = example();
    let log = EventLog::new(SystemClock);
    let lines = Mutex::new(Vec::new());
    let report = Orchestrator::new(&fleet, node.root.clone(), &node.runner)
        .with_pct(Some("pct".into()))
        .with_pvesm(Some("pvesm".into()))
        .with_fs(Box::new(fake::SharedFs(node.fs.clone())))
        .with_scripts_dir(Some(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bin").into(),
        ))
        .with_run_id("run")
        .converge(
            &RunOptions {
                jobs: 1,
                ..RunOptions::default()
            },
            &|e| {
                let line = serde_json::to_string(&log.record(&e)).expect("an event serializes");
                lines.lock().unwrap().push(line);
            },
        )
        .expect("the run starts");
    assert!(report.ok(), "{report:?}");
    let lines = lines.into_inner().unwrap();
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
    let text = lines.join("\n").replace(node.root.as_str(), "[root]");
    insta::with_settings!({filters => vec![
        (r#""timestamp":"[0-9T:.-]+Z""#, r#""timestamp":"[ts]""#),
        (r#""duration_ms":[0-9]+"#, r#""duration_ms":[ms]"#),
    ]}, {
        insta::assert_snapshot!(text);
    });
}
