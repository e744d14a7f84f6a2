//! Progress of long runs on stderr, in one of three shapes:
//!
//! - a live board (one row per running guest: its step, what it does, elapsed time)
//!   when stderr is a terminal;
//! - plain lines (`CT 101: converging`, `CT 101: done (3 changes)`) otherwise, stable
//!   for logs and scripts;
//! - with `--log-format json`, one JSON object per line, the documented event stream
//!   (`docs/events.md`), for other tools.
//!
//! Every event is also a `tracing` event (target `phoenix::run`), shown with `-vv`.
//! The formatting is pure ([`plain_line`], [`board_row`], [`board`]); only [`sink`]
//! writes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use phoenix_orchestrator::events::{EventLog, SystemClock};
use phoenix_orchestrator::plan::Step;
use phoenix_orchestrator::{CtResult, Event};

use crate::global::{Global, LogFormat};

/// The plain line of `event`, if it has one (steps have none: the report lists them).
pub fn plain_line(event: &Event<'_>) -> Option<String> {
    match event {
        Event::HostReady | Event::StepStarted { .. } | Event::StepFinished { .. } => None,
        Event::Output {
            vmid,
            feature,
            line,
        } => Some(format!("CT {vmid} {feature} | {line}")),
        Event::Started(id) => Some(format!("CT {id}: converging")),
        Event::Finished(r) => {
            let changes = r.changes().count();
            Some(match &r.result {
                CtResult::Completed => format!("CT {}: done ({changes} changes)", r.vmid),
                CtResult::Failed { step, .. } => format!("CT {}: failed at {step}", r.vmid),
                CtResult::Skipped { because } => {
                    format!("CT {}: skipped (needs {because})", r.vmid)
                }
            })
        }
    }
}

/// What a running guest is doing, for the live board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The current step (none before its first step).
    pub step: Option<Step>,
    /// What the step does, or the last line a feature printed.
    pub doing: String,
    /// When the guest started.
    pub since: Instant,
}

/// One row of the board: `CT 101  customize  install feature docker  1m05s`, the
/// action cut to fit `width` columns.
pub fn board_row(
    vmid: u32,
    step: Option<Step>,
    doing: &str,
    elapsed: Duration,
    width: usize,
) -> String {
    let step = step.map_or_else(|| "starting".to_owned(), |s| s.to_string());
    let time = elapsed_text(elapsed);
    let head = format!("CT {vmid:<5} {step:<9} ");
    let room = width.saturating_sub(head.chars().count() + time.len() + 2);
    let doing = one_line(doing);
    let shown: String = if doing.chars().count() > room {
        let cut: String = doing.chars().take(room.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        doing
    };
    let pad = room.saturating_sub(shown.chars().count());
    format!("{head}{shown}{:pad$}  {time}", "")
}

/// Every row of the board, by guest id, at `now`.
pub fn board(rows: &BTreeMap<u32, Row>, now: Instant, width: usize) -> Vec<String> {
    rows.iter()
        .map(|(id, r)| board_row(*id, r.step, &r.doing, now.duration_since(r.since), width))
        .collect()
}

/// `4.2s`, `1m05s`, `1h02m`.
pub fn elapsed_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{}.{}s", s, d.subsec_millis() / 100),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// A line printed inside a guest may hold anything: keep it to one printable line.
fn one_line(s: &str) -> String {
    phoenix_config::diagnostic::escape_for_terminal(s.trim_end()).into_owned()
}

/// The live board: rows of the running guests, redrawn in place.
struct Live {
    rows: BTreeMap<u32, Row>,
    drawn: usize,
}

impl Live {
    /// Clears the board, prints `above` (lines that stay), and draws the rows again.
    fn redraw(&mut self, above: Option<String>) {
        let width = terminal_width();
        let mut out = String::new();
        if self.drawn > 0 {
            // Up to the board's first line, then clear to the end of the screen.
            out.push_str(&format!("\x1b[{}F\x1b[J", self.drawn));
        }
        if let Some(line) = above {
            out.push_str(&line);
            out.push('\n');
        }
        let rows = board(&self.rows, Instant::now(), width);
        for r in &rows {
            out.push_str(r);
            out.push('\n');
        }
        self.drawn = rows.len();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
    }

    fn on(&mut self, event: &Event<'_>) {
        let line = plain_line(event);
        match event {
            Event::Started(id) => {
                self.rows.insert(
                    *id,
                    Row {
                        step: None,
                        doing: String::new(),
                        since: Instant::now(),
                    },
                );
                self.redraw(None);
            }
            Event::StepStarted { vmid, step, action } => {
                if let Some(r) = self.rows.get_mut(vmid) {
                    r.step = Some(*step);
                    r.doing = (*action).to_owned();
                }
                self.redraw(None);
            }
            Event::Output { vmid, line: l, .. } => {
                if let Some(r) = self.rows.get_mut(vmid) {
                    r.doing = (*l).to_owned();
                }
                self.redraw(None);
            }
            Event::Finished(r) => {
                self.rows.remove(&r.vmid);
                self.redraw(line);
            }
            Event::HostReady | Event::StepFinished { .. } => {}
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(100)
}

fn trace(event: &Event<'_>) {
    match event {
        Event::StepStarted { vmid, step, action } => {
            tracing::debug!(target: "phoenix::run", guest = vmid, step = %step, action, "step started")
        }
        Event::StepFinished {
            vmid,
            step,
            action,
            error,
        } => match error {
            None => {
                tracing::debug!(target: "phoenix::run", guest = vmid, step = %step, action, "step done")
            }
            Some(e) => {
                tracing::warn!(target: "phoenix::run", guest = vmid, step = %step, action, error = %e, "step failed")
            }
        },
        Event::Output {
            vmid,
            feature,
            line,
        } => tracing::trace!(target: "phoenix::run", guest = vmid, feature, line, "output"),
        Event::Started(id) => tracing::debug!(target: "phoenix::run", guest = id, "guest started"),
        Event::Finished(r) => {
            tracing::debug!(target: "phoenix::run", guest = r.vmid, result = ?r.result, "guest finished")
        }
        Event::HostReady => tracing::debug!(target: "phoenix::run", "host ready"),
    }
}

enum Shape {
    Quiet,
    Plain,
    Live(Arc<Mutex<Live>>),
    Json(EventLog<SystemClock>),
}

/// The progress sink of a run for `global`'s flags: JSON events with
/// `--log-format json`; else nothing with `--quiet` or `-o json`; else the live board
/// on a terminal and plain lines elsewhere.
pub fn sink(global: &Global) -> impl Fn(Event<'_>) + Sync + use<> {
    let shape = if global.log_format == LogFormat::Json {
        Shape::Json(EventLog::new(SystemClock))
    } else if global.quiet || global.json() {
        Shape::Quiet
    } else if std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
    {
        let live = Arc::new(Mutex::new(Live {
            rows: BTreeMap::new(),
            drawn: 0,
        }));
        tick(Arc::downgrade(&live));
        Shape::Live(live)
    } else {
        Shape::Plain
    };
    move |e| {
        trace(&e);
        match &shape {
            Shape::Quiet => {}
            Shape::Plain => {
                if let Some(line) = plain_line(&e) {
                    eprintln!("{line}");
                }
            }
            Shape::Live(live) => live.lock().unwrap_or_else(|p| p.into_inner()).on(&e),
            Shape::Json(log) => {
                if let Ok(line) = serde_json::to_string(&log.record(&e)) {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Redraws the board once a second so elapsed times move during a long install; stops
/// when the run drops its sink.
fn tick(live: Weak<Mutex<Live>>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(live) = live.upgrade() else { return };
            let mut l = live.lock().unwrap_or_else(|p| p.into_inner());
            if !l.rows.is_empty() {
                l.redraw(None);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_row_shows_step_action_and_elapsed_time_within_the_width() {
        let row = board_row(
            101,
            Some(Step::Customize),
            "install feature docker",
            Duration::from_millis(65_400),
            60,
        );
        assert_eq!(
            row,
            "CT 101   customize install feature docker              1m05s"
        );
        assert_eq!(row.chars().count(), 60);
        let long = board_row(
            9001,
            Some(Step::Define),
            "pct create 9001 local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst --cores 2",
            Duration::from_millis(4_200),
            60,
        );
        assert_eq!(
            long,
            "CT 9001  define    pct create 9001 local:vztmpl/debia…  4.2s"
        );
        assert_eq!(long.chars().count(), 60);
        let first = board_row(102, None, "", Duration::ZERO, 40);
        assert_eq!(first, "CT 102   starting                   0.0s");
        assert_eq!(first.chars().count(), 40);
    }

    #[test]
    fn a_printed_line_cannot_move_the_cursor() {
        let row = board_row(
            101,
            Some(Step::Customize),
            "\x1b[2Jgotcha\n",
            Duration::ZERO,
            60,
        );
        assert!(!row.contains('\x1b') && !row.contains('\n'), "{row:?}");
    }

    #[test]
    fn plain_output_is_one_stable_line_per_guest_event() {
        use phoenix_orchestrator::pveconf::Vmid;
        use phoenix_orchestrator::{CtReport, ErrorReport, GuestId};
        let report = |vmid: u32, result: CtResult| CtReport {
            guest: GuestId::Ct(Vmid::new(vmid).unwrap()),
            vmid,
            hostname: format!("ct{vmid}"),
            node: None,
            result,
            actions: vec![],
            warnings: vec![],
        };
        let done = report(101, CtResult::Completed);
        let failed = report(
            102,
            CtResult::Failed {
                step: Step::Start,
                error: ErrorReport {
                    message: "CT 102: pct start: exit status 1".into(),
                    chain: vec![],
                    cleanup: None,
                },
            },
        );
        let skipped = report(
            103,
            CtResult::Skipped {
                because: GuestId::Ct(Vmid::new(102).unwrap()),
            },
        );
        let events = [
            Event::HostReady,
            Event::Started(101),
            Event::StepStarted {
                vmid: 101,
                step: Step::Start,
                action: "pct start 101",
            },
            Event::StepFinished {
                vmid: 101,
                step: Step::Start,
                action: "pct start 101",
                error: None,
            },
            Event::Output {
                vmid: 101,
                feature: "docker",
                line: "installing docker-ce",
            },
            Event::Finished(&done),
            Event::Started(102),
            Event::Finished(&failed),
            Event::Finished(&skipped),
        ];
        let lines: Vec<String> = events.iter().filter_map(plain_line).collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        CT 101: converging
        CT 101 docker | installing docker-ce
        CT 101: done (0 changes)
        CT 102: converging
        CT 102: failed at start
        CT 103: skipped (needs CT 102)
        ");
    }

    #[test]
    fn elapsed_times_are_short() {
        assert_eq!(elapsed_text(Duration::from_millis(999)), "0.9s");
        assert_eq!(elapsed_text(Duration::from_secs(59)), "59.0s");
        assert_eq!(elapsed_text(Duration::from_secs(60)), "1m00s");
        assert_eq!(elapsed_text(Duration::from_secs(3_725)), "1h02m");
    }

    #[test]
    fn the_board_lists_running_guests_in_id_order() {
        let now = Instant::now();
        let mut rows = BTreeMap::new();
        for (id, step) in [(102, Step::Start), (101, Step::Verify)] {
            rows.insert(
                id,
                Row {
                    step: Some(step),
                    doing: format!("pct start {id}"),
                    since: now,
                },
            );
        }
        let lines = board(&rows, now, 50);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("CT 101   verify"), "{lines:?}");
        assert!(lines[1].starts_with("CT 102   start"), "{lines:?}");
    }
}
