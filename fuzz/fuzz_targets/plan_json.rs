//! Saved plans (`phoenix apply plan.json`): no input may panic, a plan that reads
//! prints as JSON that reads back to the same plan, and printing is stable.
//!
//! Run: `bash scripts/fuzz.sh 600 plan_json`

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_orchestrator::Plan;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Plan::from_json(text) {
        Ok(plan) => {
            let json = plan.to_json();
            let back = Plan::from_json(&json).expect("a printed plan reads back");
            assert_eq!(back.to_json(), json);
            let _ = plan.change_count();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
