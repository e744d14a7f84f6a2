//! A doctor report: one [`Check`] per host fact, each with a [`Verdict`] and a reason.

use serde::Serialize;

/// How a fact stands for phoenix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Works, with a caveat the reason names.
    Warn,
    /// phoenix (or what the fleet asks for) will not work until it is fixed.
    Fail,
}

impl Verdict {
    /// `ok`, `warn` or `fail`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// One checked fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`kernel`, `cgroup`, `storage`).
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found (`6.8.12-1-pve`, `v2 (unified)`).
    pub value: String,
    /// Why the verdict, in a sentence.
    pub reason: String,
}

impl Check {
    /// A check.
    pub fn new(
        name: &'static str,
        verdict: Verdict,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            name,
            verdict,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Every check, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The worst verdict: `fail` when any check failed.
    pub verdict: Verdict,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// A report over `checks`.
    pub fn new(checks: Vec<Check>) -> Self {
        let verdict = checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Ok);
        Self { verdict, checks }
    }

    /// True when a check failed.
    pub fn failed(&self) -> bool {
        self.verdict == Verdict::Fail
    }

    /// One line a check: verdict, name, value, and the reason when it is not `ok`.
    ///
    /// ```
    /// use phoenix_doctor::{Check, Report, Verdict};
    /// let r = Report::new(vec![
    ///     Check::new("kernel", Verdict::Ok, "6.8.12-1-pve", "overlayfs in user namespaces (5.11 or later)"),
    ///     Check::new("pve", Verdict::Warn, "absent", "not a Proxmox host (pct emulator?)"),
    /// ]);
    /// assert_eq!(r.render_text(), "ok    kernel    6.8.12-1-pve\nwarn  pve       absent: not a Proxmox host (pct emulator?)\n");
    /// ```
    pub fn render_text(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            let detail = if c.verdict == Verdict::Ok {
                c.value.clone()
            } else {
                format!("{}: {}", c.value, c.reason)
            };
            out.push_str(&format!(
                "{:<5} {:<width$} {detail}\n",
                c.verdict.as_str(),
                c.name,
                width = width + 3
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_verdict_wins() {
        let r = Report::new(vec![
            Check::new("a", Verdict::Warn, "", ""),
            Check::new("b", Verdict::Fail, "", ""),
            Check::new("c", Verdict::Ok, "", ""),
        ]);
        assert!(r.failed());
        assert_eq!(Report::new(vec![]).verdict, Verdict::Ok);
    }
}
