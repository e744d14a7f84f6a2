//! `PCT_EMU_LATENCY_MS`, `PCT_EMU_FAIL` and `PCT_EMU_LOG`.

use std::io::{Read, Seek, Write};

use crate::error::{Failure, Result};
use crate::pct::ctx::Node;

/// One call for `PCT_EMU_LOG`: its argv and when it started. Dropping it (when the call
/// returns) appends `<program> <argv…>\t<start> <duration>` to the log, one line per call:
/// a newline inside an argument, as in a `pct exec -- sh -c SCRIPT`, is written as `\n`
/// and a tab as `\t`; after the tab, the call's start in milliseconds since the Unix epoch
/// and how long it took in milliseconds (latency included), both with three decimals.
/// Lines are appended as calls end: sort them by start for the order calls began in.
pub struct LoggedCall {
    line: Option<String>,
    start: std::time::SystemTime,
    clock: std::time::Instant,
}

impl LoggedCall {
    /// Starts timing the call `program argv…` (nothing is logged without `PCT_EMU_LOG`).
    pub fn start(argv: &[&str], program: &str) -> LoggedCall {
        let line = log_path().map(|_| {
            let mut line = program.to_owned();
            for a in argv {
                line.push(' ');
                line.push_str(&a.replace('\n', "\\n").replace('\t', "\\t"));
            }
            line
        });
        LoggedCall {
            line,
            start: std::time::SystemTime::now(),
            clock: std::time::Instant::now(),
        }
    }
}

impl Drop for LoggedCall {
    fn drop(&mut self) {
        let (Some(line), Some(path)) = (self.line.take(), log_path()) else {
            return;
        };
        let took = self.clock.elapsed();
        let start = self
            .start
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let line = format!(
            "{line}\t{:.3} {:.3}\n",
            start.as_secs_f64() * 1000.0,
            took.as_secs_f64() * 1000.0
        );
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One write of the whole line: concurrent calls' lines do not interleave.
            let _ = f.write_all(line.as_bytes());
        }
    }
}

fn log_path() -> Option<std::ffi::OsString> {
    std::env::var_os("PCT_EMU_LOG").filter(|p| !p.is_empty())
}

/// Sleeps `PCT_EMU_LATENCY_MS` milliseconds.
pub fn latency() {
    if let Some(ms) = std::env::var("PCT_EMU_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// The `(subcommand, n)` rules of `PCT_EMU_FAIL` (comma-separated).
pub fn fail_rules(spec: &str) -> Vec<(String, u64)> {
    spec.split(',')
        .filter_map(|r| {
            let (cmd, n) = r.trim().split_once(':')?;
            Some((cmd.to_owned(), n.parse().ok()?))
        })
        .collect()
}

/// Counts this call of `cmd` (in a file under the root, so the count survives across
/// processes) and fails it when `PCT_EMU_FAIL` names this call.
pub fn injected_failure(node: &Node, cmd: &str, rest: &[String]) -> Result<()> {
    let Ok(spec) = std::env::var("PCT_EMU_FAIL") else {
        return Ok(());
    };
    let Some(&(_, n)) = fail_rules(&spec).iter().find(|(c, _)| c == cmd) else {
        return Ok(());
    };
    let count = bump(node, cmd).map_err(|e| Failure::Die(format!("PCT_EMU_FAIL counter: {e}")))?;
    if count != n {
        return Ok(());
    }
    let vmid = rest
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    Err(injected_message(cmd, &vmid))
}

/// The failure an injected call gives: what Proxmox prints when that operation fails.
pub fn injected_message(cmd: &str, vmid: &str) -> Failure {
    let msg = match cmd {
        "start" => format!("startup for container '{vmid}' failed"),
        "create" => format!("unable to create CT {vmid} - emulated failure (PCT_EMU_FAIL)"),
        "clone" => "clone failed: emulated failure (PCT_EMU_FAIL)".to_owned(),
        _ => format!("command 'pct {cmd} {vmid}' failed: emulated failure (PCT_EMU_FAIL)"),
    };
    if crate::pct::TASK_COMMANDS.contains(&cmd) {
        Failure::Task(msg)
    } else {
        Failure::Die(msg)
    }
}

fn bump(node: &Node, cmd: &str) -> std::io::Result<u64> {
    let dir = node.root.emu_state_dir();
    std::fs::create_dir_all(&dir)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join(format!("calls-{cmd}")))?;
    f.lock()?;
    let mut s = String::new();
    f.read_to_string(&mut s)?;
    let n = s.trim().parse::<u64>().unwrap_or(0) + 1;
    f.set_len(0)?;
    f.rewind()?;
    f.write_all(format!("{n}\n").as_bytes())?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        assert_eq!(
            fail_rules("start:2, exec:1,bad"),
            vec![("start".to_owned(), 2), ("exec".to_owned(), 1)]
        );
    }

    #[test]
    fn injected_failures_look_like_proxmox_ones() {
        assert_eq!(
            injected_message("start", "100"),
            Failure::Task("startup for container '100' failed".into())
        );
        assert!(matches!(injected_message("set", "100"), Failure::Die(_)));
    }

    #[test]
    fn counter_persists_in_the_root() {
        let t = tempfile::tempdir().unwrap();
        let node = Node {
            root: crate::root::HostRoot::new(t.path()),
            name: "pve".into(),
            lxc: crate::lxc::Lxc::new(t.path()),
        };
        assert_eq!(bump(&node, "start").unwrap(), 1);
        assert_eq!(bump(&node, "start").unwrap(), 2);
        assert_eq!(bump(&node, "stop").unwrap(), 1);
    }
}
