//! The `pct` command: argv in, Proxmox's output, error texts and exit codes out.
//!
//! Test hooks from the environment: `PCT_EMU_LATENCY_MS` sleeps before every call,
//! `PCT_EMU_FAIL=<subcommand>:<n>[,…]` makes the n-th call of a subcommand fail as
//! Proxmox would (counted in `<root>/var/lib/pct-emulator/`, across processes), and
//! `PCT_EMU_LOG=<file>` appends each call's argv as one line when it returns, with its start
//! and duration ([`hooks::LoggedCall`]). `PCT_EMU_PVE_VERSION=8|9` picks
//! the Proxmox release to behave as ([`crate::pve`]). `PCT_EMU_LOCK_TIMEOUT_MS` shortens how
//! long a call waits for a config flock another process holds (Proxmox: 10 s) before
//! `can't lock file '...' - got timeout`.

mod apply;
pub mod args;
mod clone;
mod create;
pub mod ctx;
mod exec;
mod files;
pub mod hooks;
mod power;
pub mod props;
mod resize;
pub mod schema;
mod set;
mod settings;
mod snapshot;

use crate::error::{Failure, Result};
use ctx::Node;

/// Commands whose task failure still exits 0 (§3).
const EXIT_ZERO_ON_TASK_ERROR: &[&str] = &["push", "pull", "template", "resize"];

/// Commands that run a worker (errors inside it are task errors).
pub const TASK_COMMANDS: &[&str] = &[
    "create",
    "restore",
    "clone",
    "destroy",
    "start",
    "stop",
    "shutdown",
    "reboot",
    "snapshot",
    "delsnapshot",
    "rollback",
    "resize",
    "template",
    "push",
    "pull",
];

fn usage(cmd: &str) -> String {
    let pos = match cmd {
        "create" => "<vmid> <ostemplate>",
        "clone" => "<vmid> <newid>",
        "exec" => "<vmid> [<extra-args>]",
        "push" => "<vmid> <file> <destination>",
        "pull" => "<vmid> <path> <destination>",
        "snapshot" | "delsnapshot" | "rollback" => "<vmid> <snapname>",
        "resize" => "<vmid> <disk> <size>",
        "list" => "",
        _ => "<vmid>",
    };
    format!("USAGE: pct {cmd} {pos} [OPTIONS]").replace("  ", " ")
}

/// Runs `pct` with `argv` (without the program name) and returns the exit code.
pub fn main(argv: &[String]) -> i32 {
    let _logged =
        hooks::LoggedCall::start(&argv.iter().map(String::as_str).collect::<Vec<_>>(), "pct");
    let node = Node::from_env();
    hooks::latency();
    let Some(cmd) = argv.first() else {
        eprintln!("ERROR: no command specified");
        return 255;
    };
    let rest = &argv[1..];
    let result =
        hooks::injected_failure(&node, cmd, rest).and_then(|()| dispatch(&node, cmd, rest));
    // stdout is written once, at the end, as Perl flushes its buffered STDOUT (see
    // [`crate::out`]): a reader that went away early is no panic.
    let code = crate::out::flush(0);
    match result {
        Ok(c) if code == 0 => c,
        Ok(_) => code,
        Err(f) => report(cmd, f),
    }
}

fn report(cmd: &str, f: Failure) -> i32 {
    match &f {
        Failure::Task(m) => {
            eprintln!("{}", m.trim_end().replace('\n', " "));
            if EXIT_ZERO_ON_TASK_ERROR.contains(&cmd) {
                0
            } else {
                255
            }
        }
        Failure::Host(_) => {
            eprintln!("{f}");
            1
        }
        _ => {
            eprintln!("{}", f.to_string().trim_end());
            if f.wants_usage() {
                eprintln!("{}", usage(cmd));
            }
            255
        }
    }
}

fn dispatch(node: &Node, cmd: &str, rest: &[String]) -> Result<i32> {
    match cmd {
        "create" => create::run(node, rest),
        "start" | "stop" | "shutdown" | "status" => power::run(node, cmd, rest),
        "exec" => exec::exec(node, rest),
        "push" => exec::push(node, rest),
        "pull" => exec::pull(node, rest),
        "set" | "config" | "list" | "unlock" | "pending" => settings::run(node, cmd, rest),
        "snapshot" | "rollback" | "listsnapshot" | "delsnapshot" => snapshot::run(node, cmd, rest),
        "clone" | "template" | "destroy" => clone::run(node, cmd, rest),
        "resize" => resize::run(node, rest),
        _ => Err(Failure::Die(format!("unknown command 'pct {cmd}'"))),
    }
}

/// Fails with exit 1 when this machine cannot run containers (not root, no LXC).
pub fn need_host() -> Result<()> {
    crate::lxc::host_can_run_containers().map_err(Failure::Host)
}

/// Starts timing a call of another emulated program (`pvesm`) for `PCT_EMU_LOG` (the line
/// is written when the returned value is dropped), then sleeps `PCT_EMU_LATENCY_MS`.
pub fn hooks_log(argv: &[String], program: &str) -> hooks::LoggedCall {
    let logged = hooks::LoggedCall::start(
        &argv.iter().map(String::as_str).collect::<Vec<_>>(),
        program,
    );
    hooks::latency();
    logged
}
