//! Tests inside containers: the checks each feature ships (docker: the service is
//! active, the storage driver, a local image runs, apt reaches its mirror, the AppArmor
//! profile in the conf) and the config's own `tests` (`health_checks`,
//! `integration_tests`: scripts resolved under the scripts directory), staged and run
//! inside with the feature engine's staging (explicit environment, cleaned up after).
//! `phoenix test` runs them on demand; `phoenix up` runs them for the containers it
//! changed (`--no-tests` skips them).

use std::fmt::Write as _;

use camino::Utf8PathBuf;
use phoenix_features::staging::{Staged, run_staged};
use phoenix_features::{CheckRun, FeatureError, Request, Suite};
use phoenix_pct::CtStatus;
use serde::Serialize;

use crate::desired::container;
use crate::engine::{Event, Orchestrator, RunError, vmid};

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The container.
    pub vmid: u32,
    /// Its suite.
    pub suite: Suite,
    /// The check.
    pub check: String,
    /// It passed.
    pub passed: bool,
    /// Its last output lines (or why it could not run).
    pub output: String,
}

/// Every check's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// In container order, then check order.
    pub results: Vec<TestResult>,
}

impl TestReport {
    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }

    /// A table, then the output of each failed check.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let _ = writeln!(
                out,
                "CT {:<6} {:<12} {:<4} {}",
                r.vmid,
                r.suite.to_string(),
                if r.passed { "ok" } else { "FAIL" },
                r.check
            );
        }
        for r in self.results.iter().filter(|r| !r.passed) {
            let _ = writeln!(
                out,
                "\nCT {} {} check '{}' failed:",
                r.vmid, r.suite, r.check
            );
            for l in r.output.lines() {
                let _ = writeln!(out, "  | {l}");
            }
        }
        let failed = self.results.iter().filter(|r| !r.passed).count();
        let _ = writeln!(
            out,
            "{} checks: {} passed, {failed} failed",
            self.results.len(),
            self.results.len() - failed
        );
        out
    }
}

fn staged_name(check: &str) -> String {
    let s: String = check
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("test-{}", s.trim_matches('-'))
}

impl Orchestrator<'_> {
    /// Uses this scripts directory for the config's test scripts (and application
    /// scripts): the old system's `bin/` beside the config directory.
    pub fn with_scripts_dir(mut self, dir: Option<Utf8PathBuf>) -> Self {
        self.scripts_dir = dir;
        self
    }

    /// Runs the checks of `suites` in each of `ids` (running containers).
    pub fn test(
        &self,
        ids: &[u32],
        suites: &[Suite],
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<TestReport, RunError> {
        let pct = self.pct(self.runner);
        let mut report = TestReport::default();
        for &id in ids {
            let v = vmid(id)?;
            let ct = container(self.fleet, id).ok_or(RunError::UnknownCt(id))?;
            let request = Request {
                vmid: id,
                container: ct,
                hypervisor: &self.fleet.hypervisor,
                lxc: &self.fleet.lxc,
                host: self.host_facts(),
            };
            // The features the converge installs, in its order (with the ones others
            // require), without those not installed here (nvidia without a GPU).
            let names =
                match crate::desired::desired(self.fleet, id, &self.features, self.host_facts()) {
                    Ok(d) => d
                        .features
                        .iter()
                        .filter(|f| !d.not_installed.iter().any(|(n, _)| n == *f))
                        .cloned()
                        .collect(),
                    Err(_) => phoenix_features::Registry::container_features(ct),
                };
            let mut checks = Vec::new();
            for f in names {
                if let Some(feature) = self.features.installer(&f) {
                    checks.extend(feature.checks(&request));
                }
            }
            if let Some(tests) = &ct.tests {
                for (suite, list) in [
                    (Suite::Health, &tests.health_checks),
                    (Suite::Integration, &tests.integration_tests),
                ] {
                    for t in list {
                        let path = self.scripts_dir.as_ref().map(|d| d.join(t.path.as_str()));
                        let run = match path.as_ref().map(std::fs::read_to_string) {
                            Some(Ok(text)) => CheckRun::Script(text),
                            Some(Err(e)) => CheckRun::Script(format!(
                                "echo 'cannot read {}: {e}' >&2; exit 2\n",
                                path.as_ref().map(|p| p.as_str()).unwrap_or_default()
                            )),
                            None => CheckRun::Script(format!(
                                "echo 'no scripts directory for {}' >&2; exit 2\n",
                                t.path.as_str()
                            )),
                        };
                        checks.push(phoenix_features::Check {
                            name: t.name.clone(),
                            suite,
                            run,
                        });
                    }
                }
            }
            checks.retain(|c| suites.contains(&c.suite));
            if checks.is_empty() {
                continue;
            }
            let running = pct
                .status_optional(v)
                .ok()
                .flatten()
                .is_some_and(|s| s == CtStatus::Running);
            let access = crate::apply::PctContainer {
                pct: &pct,
                vmid: v,
                run_id: &self.run_id,
                progress,
                root: &self.root,
            };
            // A container that has just (re)started may still be booting, and systemd's
            // tmpfiles empties /tmp (a staging directory with it) during boot: wait for
            // init first, as a feature install does. A failure here shows in the checks.
            if running && checks.iter().any(|c| matches!(c.run, CheckRun::Script(_))) {
                let _ = phoenix_features::staging::wait_for_boot(&access);
            }
            for c in checks {
                let (passed, output) = if !running {
                    (false, format!("CT {id} is not running"))
                } else {
                    match &c.run {
                        CheckRun::ConfLine(key, value) => {
                            let conf = phoenix_pveconf::conf::io::read_optional_conf(
                                self.root.as_std_path(),
                                v,
                            );
                            match conf {
                                Ok(Some((conf, _))) => {
                                    // A per-container profile derived from it
                                    // (`<profile>-ct<id>`, extra rules) counts too.
                                    let seen = if key == "devN" {
                                        crate::devices::dev_values(conf.main())
                                    } else {
                                        conf.main().lxc_values(key)
                                    };
                                    let derived = format!("{value}-ct{id}");
                                    let ok =
                                        seen.iter().any(|s| *s == value.as_str() || *s == derived);
                                    (ok, format!("{key}: {}", seen.join(", ")))
                                }
                                Ok(None) => (false, format!("CT {id} has no conf")),
                                Err(e) => (false, crate::error::chain(&e)),
                            }
                        }
                        CheckRun::Script(text) => {
                            let staged = Staged {
                                feature: staged_name(&c.name),
                                script: text.clone(),
                                env: vec![("PHOENIX_SUITE".into(), c.suite.to_string())],
                                ..Staged::default()
                            };
                            match run_staged(&access, &staged) {
                                Ok(out) => (true, phoenix_features::staging::last_lines(&out, 5)),
                                Err(FeatureError::CommandFailed { code, stderr, .. }) => {
                                    (false, format!("{stderr}\n(exit code {code})"))
                                }
                                Err(e) => (false, crate::error::chain(&e)),
                            }
                        }
                    }
                };
                report.results.push(TestResult {
                    vmid: id,
                    suite: c.suite,
                    check: c.name,
                    passed,
                    output,
                });
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_the_container_suite_and_check_and_shows_the_output() {
        let r = TestReport {
            results: vec![
                TestResult {
                    vmid: 102,
                    suite: Suite::Health,
                    check: "docker: service active".into(),
                    passed: true,
                    output: "active".into(),
                },
                TestResult {
                    vmid: 102,
                    suite: Suite::Integration,
                    check: "web answers".into(),
                    passed: false,
                    output: "curl: (7) failed\n(exit code 7)".into(),
                },
            ],
        };
        assert!(!r.ok());
        assert_eq!(
            r.render_text(),
            "CT 102    health       ok   docker: service active\n\
             CT 102    integration  FAIL web answers\n\
             \n\
             CT 102 integration check 'web answers' failed:\n  | curl: (7) failed\n  | (exit code 7)\n\
             2 checks: 1 passed, 1 failed\n"
        );
        assert_eq!(
            staged_name("docker: storage driver"),
            "test-docker--storage-driver"
        );
    }
}
