//! The event stream of a run for other tools: one JSON object per line
//! (`phoenix up --log-format json`), documented in `docs/events.md`.
//!
//! [`EventLog`] turns the run's progress [`Event`]s into [`LogEvent`] records, timing
//! each guest and each step with an injected [`Clock`], so a test replays a run with a
//! fixed clock and gets the same stream every time.
//!
//! ```
//! use phoenix_orchestrator::events::{EventLog, FixedClock};
//! use phoenix_orchestrator::Event;
//!
//! let log = EventLog::new(FixedClock::starting_at(1_764_590_400_000));
//! let e = log.record(&Event::Started(101));
//! assert_eq!(
//!     serde_json::to_string(&e).unwrap(),
//!     r#"{"timestamp":"2025-12-01T12:00:00.000Z","event":"guest-started","guest":101}"#
//! );
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::engine::Event;
use crate::plan::Step;
use crate::report::CtResult;

/// The version of the event format; a field's meaning never changes within a version.
pub const FORMAT_VERSION: u32 = 1;

/// Where the time of an event comes from.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock for tests: starts at a fixed instant and advances 1 ms per reading.
#[derive(Debug)]
pub struct FixedClock {
    next_ms: Mutex<u64>,
}

impl FixedClock {
    /// Starts at `ms` milliseconds after the Unix epoch.
    pub fn starting_at(ms: u64) -> Self {
        FixedClock {
            next_ms: Mutex::new(ms),
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        let mut next = self.next_ms.lock().unwrap_or_else(|p| p.into_inner());
        let t = UNIX_EPOCH + Duration::from_millis(*next);
        *next += 1;
        t
    }
}

/// What happened (the `event` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// The host steps finished.
    HostReady,
    /// A guest's convergence started.
    GuestStarted,
    /// A step started.
    StepStarted,
    /// A step ended (`result` says how).
    StepFinished,
    /// A line a feature or script printed inside the guest.
    Output,
    /// A guest finished (`result`: `completed`, `failed` or `skipped`).
    GuestFinished,
}

/// One line of the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    /// When, in UTC (RFC 3339, milliseconds).
    pub timestamp: String,
    /// What happened.
    pub event: EventKind,
    /// The guest id (absent for host events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest: Option<u32>,
    /// The phase (`define`, `configure`, `start`, `verify`, `customize`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// What the step does, as `phoenix plan` shows it (`pct start 101`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `ok` or `failed` for a step; `completed`, `failed` or `skipped` for a guest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// How long the step or the guest took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why it failed (the whole chain of causes on one line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The feature or script that printed an output line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// The output line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

impl LogEvent {
    fn new(timestamp: String, event: EventKind, guest: Option<u32>) -> Self {
        LogEvent {
            timestamp,
            event,
            guest,
            step: None,
            action: None,
            result: None,
            duration_ms: None,
            error: None,
            feature: None,
            line: None,
        }
    }
}

/// Turns progress events into log records, timing guests and steps.
#[derive(Debug)]
pub struct EventLog<C> {
    clock: C,
    guest_started: Mutex<BTreeMap<u32, SystemTime>>,
    step_started: Mutex<BTreeMap<u32, SystemTime>>,
}

impl<C: Clock> EventLog<C> {
    /// A log reading time from `clock`.
    pub fn new(clock: C) -> Self {
        EventLog {
            clock,
            guest_started: Mutex::new(BTreeMap::new()),
            step_started: Mutex::new(BTreeMap::new()),
        }
    }

    /// The record of `event`.
    pub fn record(&self, event: &Event<'_>) -> LogEvent {
        let now = self.clock.now();
        let ts = rfc3339(now);
        let since = |map: &Mutex<BTreeMap<u32, SystemTime>>, id: u32| {
            let start = map.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            start.map(|s| now.duration_since(s).unwrap_or_default().as_millis() as u64)
        };
        let start = |map: &Mutex<BTreeMap<u32, SystemTime>>, id: u32| {
            map.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, now);
        };
        match event {
            Event::HostReady => LogEvent::new(ts, EventKind::HostReady, None),
            Event::Started(id) => {
                start(&self.guest_started, *id);
                LogEvent::new(ts, EventKind::GuestStarted, Some(*id))
            }
            Event::StepStarted { vmid, step, action } => {
                start(&self.step_started, *vmid);
                LogEvent {
                    step: Some(*step),
                    action: Some((*action).to_owned()),
                    ..LogEvent::new(ts, EventKind::StepStarted, Some(*vmid))
                }
            }
            Event::StepFinished {
                vmid,
                step,
                action,
                error,
            } => LogEvent {
                step: Some(*step),
                action: Some((*action).to_owned()),
                result: Some(if error.is_some() { "failed" } else { "ok" }),
                duration_ms: since(&self.step_started, *vmid),
                error: error.map(|e| e.to_string()),
                ..LogEvent::new(ts, EventKind::StepFinished, Some(*vmid))
            },
            Event::Output {
                vmid,
                feature,
                line,
            } => LogEvent {
                feature: Some((*feature).to_owned()),
                line: Some((*line).to_owned()),
                ..LogEvent::new(ts, EventKind::Output, Some(*vmid))
            },
            Event::Finished(r) => {
                let (result, step, error) = match &r.result {
                    CtResult::Completed => ("completed", None, None),
                    CtResult::Failed { step, error } => {
                        ("failed", Some(*step), Some(error.to_string()))
                    }
                    CtResult::Skipped { because } => {
                        ("skipped", None, Some(format!("needs {because}")))
                    }
                };
                LogEvent {
                    step,
                    result: Some(result),
                    duration_ms: since(&self.guest_started, r.vmid),
                    error,
                    ..LogEvent::new(ts, EventKind::GuestFinished, Some(r.vmid))
                }
            }
        }
    }
}

/// `2025-12-01T12:00:00.000Z`.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(rfc3339(t), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn a_step_is_timed_from_its_start() {
        let log = EventLog::new(FixedClock::starting_at(0));
        log.record(&Event::StepStarted {
            vmid: 101,
            step: Step::Start,
            action: "pct start 101",
        });
        let done = log.record(&Event::StepFinished {
            vmid: 101,
            step: Step::Start,
            action: "pct start 101",
            error: None,
        });
        assert_eq!(
            serde_json::to_string(&done).unwrap(),
            r#"{"timestamp":"1970-01-01T00:00:00.001Z","event":"step-finished","guest":101,"step":"start","action":"pct start 101","result":"ok","duration_ms":1}"#
        );
    }
}
