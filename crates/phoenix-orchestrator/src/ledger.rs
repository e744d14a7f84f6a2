//! The ledger each container holds: per feature, the phoenix version that installed it,
//! the digest of its inputs then, and when it last verified. A normal run reads it once
//! per running container and installs only features whose entry is missing or stale;
//! `--verify` probes and verifies every feature.
//!
//! ```text
//! /var/lib/phoenix/ledger.json
//! {"version": 1, "features": {"docker": {"phoenix": "0.1.0", "inputs": "3f2a...", "verified": 1764600000}}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where the ledger lives inside a container.
pub const LEDGER_PATH: &str = "/var/lib/phoenix/ledger.json";

/// One feature's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The phoenix version that installed it.
    pub phoenix: String,
    /// The digest of the feature's inputs at install time.
    pub inputs: String,
    /// Unix time of the last successful verify.
    pub verified: u64,
}

/// A container's ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Format version (1).
    pub version: u32,
    /// Entries by feature name.
    pub features: BTreeMap<String, LedgerEntry>,
}

/// Whether a feature's entry says it is converged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Installed by this phoenix version with these inputs.
    Current {
        /// The version recorded.
        phoenix: String,
    },
    /// No entry: never installed by phoenix.
    Missing,
    /// Installed, but by another version or with other inputs.
    Stale(String),
}

impl Ledger {
    /// Parses a ledger; `None` for text that is not one (it is then rewritten).
    pub fn parse(text: &str) -> Option<Ledger> {
        serde_json::from_str(text).ok()
    }

    /// The ledger as written into the container.
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The state of `feature` against the current version and inputs.
    pub fn state(&self, feature: &str, phoenix: &str, inputs: &str) -> EntryState {
        match self.features.get(feature) {
            None => EntryState::Missing,
            Some(e) if e.phoenix != phoenix => EntryState::Stale(format!(
                "installed by phoenix {}, this is {phoenix}",
                e.phoenix
            )),
            Some(e) if e.inputs != inputs => EntryState::Stale("its inputs changed".into()),
            Some(e) => EntryState::Current {
                phoenix: e.phoenix.clone(),
            },
        }
    }

    /// Records a successful install or verify.
    pub fn record(&mut self, feature: &str, phoenix: &str, inputs: &str, now: u64) {
        self.version = 1;
        self.features.insert(
            feature.to_owned(),
            LedgerEntry {
                phoenix: phoenix.to_owned(),
                inputs: inputs.to_owned(),
                verified: now,
            },
        );
    }
}

/// The digest of a feature's inputs (SHA-1 of their canonical JSON).
pub fn inputs_digest(inputs: &serde_json::Value) -> String {
    let text = serde_json::to_string(inputs).unwrap_or_default();
    phoenix_pveconf::conf::Digest::of(text.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_current_missing_or_stale_with_a_reason() {
        let mut l = Ledger::default();
        assert_eq!(l.state("docker", "0.1.0", "a"), EntryState::Missing);
        l.record("docker", "0.1.0", "a", 5);
        assert_eq!(
            l.state("docker", "0.1.0", "a"),
            EntryState::Current {
                phoenix: "0.1.0".into()
            }
        );
        assert_eq!(
            l.state("docker", "0.1.0", "b"),
            EntryState::Stale("its inputs changed".into())
        );
        assert_eq!(
            l.state("docker", "0.2.0", "a"),
            EntryState::Stale("installed by phoenix 0.1.0, this is 0.2.0".into())
        );
        let back = Ledger::parse(&l.render()).unwrap();
        assert_eq!(back, l);
        assert_eq!(Ledger::parse("garbage"), None);
        assert_eq!(
            inputs_digest(&serde_json::json!({"a": 1})),
            inputs_digest(&serde_json::json!({"a": 1}))
        );
    }
}
