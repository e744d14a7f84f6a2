//! Start, stop, restart and delete containers, and the status table of desired
//! against observed state.

use serde::Serialize;

use phoenix_pct::{CommandRunner, CtStatus, DestroyOptions, DryRunRunner, ShutdownOptions, argv};

use crate::engine::{Orchestrator, RunError, RunOptions, Selection, vmid};
use crate::error::{ErrorReport, StepError, chain};
use crate::guest::GuestId;
use crate::lock::FleetLock;

/// One container's outcome of a lifecycle command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleEntry {
    /// The container.
    pub vmid: u32,
    /// The commands run (or planned), as argv lines.
    pub commands: Vec<String>,
    /// What happened, or why it failed (the whole chain of causes).
    pub outcome: Result<String, ErrorReport>,
}

/// A lifecycle command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Start if stopped.
    Start,
    /// Shut down (forced after the timeout) if running.
    Stop,
    /// Stop if running, then start.
    Restart,
    /// Stop if running, then destroy with --purge.
    Delete,
}

/// A container's row in `phoenix status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusRow {
    /// The container.
    pub vmid: u32,
    /// Its hostname in the config.
    pub hostname: String,
    /// `missing`, `running` or `stopped`.
    pub state: String,
    /// What differs from the config (the changes `phoenix up` would make).
    pub drift: Vec<String>,
}

impl Orchestrator<'_> {
    /// Runs a lifecycle command on `ids`: starts in dependency order, stops and deletes
    /// in reverse. Holds the fleet lock unless `dry_run`.
    pub fn lifecycle(
        &self,
        what: Lifecycle,
        ids: &[u32],
        dry_run: bool,
        wait: bool,
    ) -> Result<Vec<LifecycleEntry>, RunError> {
        let (order, _lock) = self.lifecycle_order(what, ids, dry_run, wait)?;
        let dry = DryRunRunner::new(self.runner_ref());
        let runner: &dyn CommandRunner = if dry_run { &dry } else { self.runner_ref() };
        let pct = self.pct(runner);
        let mut out = Vec::new();
        for id in order {
            let v = vmid(id)?;
            let mut commands = Vec::new();
            let guest = GuestId::Ct(v);
            let failed = |what: &str| {
                let what = what.to_owned();
                move |source| StepError::Pct {
                    guest,
                    what,
                    source,
                }
            };
            let outcome = (|| -> Result<String, StepError> {
                let status = pct.status_optional(v).map_err(failed("pct status"))?;
                let Some(status) = status else {
                    return if what == Lifecycle::Delete {
                        Ok("does not exist".into())
                    } else {
                        Err(StepError::Missing { guest })
                    };
                };
                let running = status == CtStatus::Running;
                let stop_opts = ShutdownOptions {
                    timeout: Some(60),
                    force_stop: true,
                };
                let mut did = Vec::new();
                if running && what != Lifecycle::Start {
                    commands.push(argv::shutdown(pct.binary(), v, &stop_opts).to_string());
                    pct.shutdown(v, &stop_opts)
                        .map_err(failed("pct shutdown"))?;
                    did.push("stopped");
                }
                if what == Lifecycle::Restart || (what == Lifecycle::Start && !running) {
                    commands.push(argv::start(pct.binary(), v).to_string());
                    pct.start(v).map_err(failed("pct start"))?;
                    did.push("started");
                }
                if what == Lifecycle::Delete {
                    let opts = DestroyOptions {
                        purge: true,
                        force: false,
                    };
                    commands.push(argv::destroy(pct.binary(), v, &opts).to_string());
                    pct.destroy(v, &opts).map_err(failed("pct destroy"))?;
                    did.push("destroyed");
                }
                Ok(if did.is_empty() {
                    format!("already {status}")
                } else {
                    did.join(", ")
                })
            })()
            .map_err(|e| ErrorReport::of(&e));
            out.push(LifecycleEntry {
                vmid: id,
                commands,
                outcome,
            });
        }
        Ok(out)
    }

    /// What every lifecycle command does first: each id must be in the config, the fleet
    /// lock is taken (unless `dry_run`), and the ids come in dependency order (reversed
    /// to stop or delete).
    pub(crate) fn lifecycle_order(
        &self,
        what: Lifecycle,
        ids: &[u32],
        dry_run: bool,
        wait: bool,
    ) -> Result<(Vec<u32>, Option<FleetLock>), RunError> {
        for id in ids {
            self.select(&Selection::Ids(vec![*id]))?;
        }
        let lock = if dry_run {
            None
        } else {
            Some(FleetLock::acquire(self.root(), wait)?)
        };
        let mut order: Vec<u32> = self.dag_order(ids).unwrap_or_else(|| ids.to_vec());
        if matches!(what, Lifecycle::Stop | Lifecycle::Delete) {
            order.reverse();
        }
        Ok((order, lock))
    }

    /// Desired against observed for the selection: state and drift per container.
    pub fn status(&self, selection: &Selection) -> Result<Vec<StatusRow>, RunError> {
        let opts = RunOptions {
            selection: selection.clone(),
            jobs: 1,
            dry_run: true,
            ..RunOptions::default()
        };
        let plan = self.converge(&opts, &|_| {})?;
        let pct = self.pct(self.runner_ref());
        let mut rows = Vec::new();
        for ct in plan.containers {
            let state = match pct.status_optional(vmid(ct.vmid)?) {
                Ok(Some(s)) => s.to_string(),
                Ok(None) => "missing".to_owned(),
                Err(e) => format!("unknown ({})", chain(&e)),
            };
            let mut drift: Vec<String> = ct
                .actions
                .iter()
                .filter(|a| a.mutates())
                .map(|a| format!("{}: {}", a.step, a.detail))
                .collect();
            if let crate::report::CtResult::Failed { step, error } = &ct.result {
                drift.push(format!("{step} would fail: {error}"));
            }
            rows.push(StatusRow {
                vmid: ct.vmid,
                hostname: ct.hostname,
                state,
                drift,
            });
        }
        Ok(rows)
    }
}
