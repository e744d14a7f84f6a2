//! Tasks: a UPID per operation, its log growing while it runs in a thread, and its
//! exit status (`OK`, `WARNINGS: n` or the error) once it stopped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One task's identity, as its UPID spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upid {
    /// The node it runs on.
    pub node: String,
    /// The worker's pid.
    pub pid: u32,
    /// The worker's start time in clock ticks (here: a per-emulator sequence number).
    pub pstart: u32,
    /// Seconds since the epoch.
    pub starttime: u32,
    /// `vzcreate`, `vzstart`, ...
    pub kind: String,
    /// The vmid.
    pub id: String,
    /// `USER@REALM!TOKENID`.
    pub user: String,
}

impl std::fmt::Display for Upid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.kind, self.id, self.user
        )
    }
}

#[derive(Debug, Default)]
struct State {
    log: Vec<String>,
    exitstatus: Option<String>,
}

/// One task.
#[derive(Debug)]
pub struct Task {
    upid: Upid,
    state: Mutex<State>,
}

impl Task {
    /// Its UPID.
    pub fn upid(&self) -> &Upid {
        &self.upid
    }

    fn push(&self, line: String) {
        self.state.lock().expect("task state").log.push(line);
    }

    /// Appends one line to the log.
    pub fn push_line(&self, line: &str) {
        self.push(line.to_owned());
    }

    /// Ends the task: appends Proxmox's closing line (`TASK OK`, `TASK WARNINGS: n`,
    /// `TASK ERROR: msg`) and records the exit status.
    pub fn finish(&self, exitstatus: String) {
        let mut s = self.state.lock().expect("task state");
        let last = if exitstatus == "OK" || exitstatus.starts_with("WARNINGS: ") {
            format!("TASK {exitstatus}")
        } else {
            format!("TASK ERROR: {exitstatus}")
        };
        s.log.push(last);
        s.exitstatus = Some(exitstatus);
    }

    /// `GET .../tasks/{upid}/status`.
    pub fn status_json(&self) -> Value {
        let s = self.state.lock().expect("task state");
        let u = &self.upid;
        let mut v = json!({
            "upid": u.to_string(),
            "node": u.node,
            "pid": u.pid,
            "pstart": u.pstart,
            "starttime": u.starttime,
            "type": u.kind,
            "id": u.id,
            "user": u.user,
            "status": if s.exitstatus.is_some() { "stopped" } else { "running" },
        });
        if let Some(e) = &s.exitstatus {
            v["exitstatus"] = json!(e);
        }
        v
    }

    /// `GET .../tasks/{upid}/log`: lines `start..start+limit` as `{"n": 1-based, "t": text}`,
    /// and the total line count.
    pub fn log_json(&self, start: usize, limit: usize) -> (Value, usize) {
        let s = self.state.lock().expect("task state");
        let lines: Vec<Value> = s
            .log
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, t)| json!({"n": i + 1, "t": t}))
            .collect();
        (Value::Array(lines), s.log.len())
    }

    /// True once it stopped.
    pub fn is_done(&self) -> bool {
        self.state.lock().expect("task state").exitstatus.is_some()
    }
}

/// Every task the emulator started, by UPID.
#[derive(Debug, Default)]
pub struct Tasks {
    map: Mutex<HashMap<String, Arc<Task>>>,
    seq: AtomicU32,
}

impl Tasks {
    /// A new, running task.
    pub fn start(&self, node: &str, kind: &str, id: &str, user: &str) -> Arc<Task> {
        let starttime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        let upid = Upid {
            node: node.to_owned(),
            pid: std::process::id(),
            pstart: self.seq.fetch_add(1, Ordering::SeqCst) + 1,
            starttime,
            kind: kind.to_owned(),
            id: id.to_owned(),
            user: user.to_owned(),
        };
        let task = Arc::new(Task {
            upid,
            state: Mutex::default(),
        });
        self.map
            .lock()
            .expect("tasks")
            .insert(task.upid.to_string(), task.clone());
        task
    }

    /// The task of `upid` on `node`.
    pub fn get(&self, node: &str, upid: &str) -> Option<Arc<Task>> {
        let t = self.map.lock().expect("tasks").get(upid).cloned()?;
        (t.upid.node == node).then_some(t)
    }
}

/// Runs `program argv` (no shell) with `PHOENIX_ROOT=root`, appending its stdout and
/// stderr lines to the task's log as they come, and returns the exit status text:
/// `OK`, `WARNINGS: n` (lines starting `WARN:`/`WARNING:`), or the last stderr line.
/// With `zero_exit_errors` (pct's `template`, `resize`, `push`, `pull`, which exit 0 after
/// a task error) an exit 0 that printed on stderr is that error.
pub fn run_logged(
    task: &Task,
    program: &Path,
    argv: &[String],
    root: &Path,
    zero_exit_errors: bool,
) -> String {
    let child = Command::new(program)
        .args(argv)
        .env("PHOENIX_ROOT", root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("unable to run {}: {e}", program.display());
            task.push(msg.clone());
            return msg;
        }
    };
    let last_err = Arc::new(Mutex::new(None::<String>));
    let warnings = Arc::new(AtomicU32::new(0));
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    std::thread::scope(|s| {
        let pump = |r: Box<dyn std::io::Read + Send>, is_err: bool| {
            let last_err = last_err.clone();
            let warnings = warnings.clone();
            move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if line.starts_with("WARN: ") || line.starts_with("WARNING: ") {
                        warnings.fetch_add(1, Ordering::SeqCst);
                    }
                    if is_err && !line.trim().is_empty() {
                        *last_err.lock().expect("last") = Some(line.clone());
                    }
                    task.push(line);
                }
            }
        };
        s.spawn(pump(Box::new(out), false));
        s.spawn(pump(Box::new(err), true));
    });
    let status = child.wait();
    let warnings = warnings.load(Ordering::SeqCst);
    let last_err = last_err.lock().expect("last").clone();
    match status {
        Ok(s) if s.success() && zero_exit_errors && last_err.is_some() => {
            last_err.expect("checked")
        }
        Ok(s) if s.success() && warnings > 0 => format!("WARNINGS: {warnings}"),
        Ok(s) if s.success() => "OK".to_owned(),
        Ok(s) => last_err.unwrap_or_else(|| format!("command failed: {s}")),
        Err(e) => format!("waiting for {}: {e}", program.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upid_has_proxmox_format() {
        let u = Upid {
            node: "pve1".into(),
            pid: 0x1a2b,
            pstart: 3,
            starttime: 0x5f000000,
            kind: "vzcreate".into(),
            id: "101".into(),
            user: "phoenix@pve!test".into(),
        };
        assert_eq!(
            u.to_string(),
            "UPID:pve1:00001A2B:00000003:5F000000:vzcreate:101:phoenix@pve!test:"
        );
    }

    #[test]
    fn a_task_reports_its_log_and_status() {
        let tasks = Tasks::default();
        let t = tasks.start("pve1", "vzstart", "101", "u@pve!t");
        assert_eq!(t.status_json()["status"], "running");
        assert!(t.status_json().get("exitstatus").is_none());
        let code = run_logged(
            &t,
            Path::new("sh"),
            &[
                "-c".into(),
                "echo one; echo WARN: two >&2; echo three".into(),
            ],
            Path::new("/nonexistent"),
            false,
        );
        assert_eq!(code, "WARNINGS: 1");
        t.finish(code);
        let s = t.status_json();
        assert_eq!(s["status"], "stopped");
        assert_eq!(s["exitstatus"], "WARNINGS: 1");
        let (log, total) = t.log_json(0, 50);
        assert_eq!(total, 4);
        assert_eq!(log[3], json!({"n": 4, "t": "TASK WARNINGS: 1"}));
        let (log, _) = t.log_json(1, 1);
        assert_eq!(log.as_array().unwrap().len(), 1);
        assert!(tasks.get("pve1", &t.upid().to_string()).is_some());
        assert!(tasks.get("pve2", &t.upid().to_string()).is_none());
    }

    #[test]
    fn a_failing_command_ends_with_its_last_stderr_line() {
        let t = Tasks::default().start("pve1", "vzcreate", "1", "u");
        let code = run_logged(
            &t,
            Path::new("sh"),
            &[
                "-c".into(),
                "echo a >&2; echo 'unable to create CT 1 - boom' >&2; exit 255".into(),
            ],
            Path::new("/"),
            false,
        );
        assert_eq!(code, "unable to create CT 1 - boom");
        let code = run_logged(
            &t,
            Path::new("sh"),
            &["-c".into(), "echo 'unable to create template' >&2".into()],
            Path::new("/"),
            true,
        );
        assert_eq!(code, "unable to create template");
    }
}
