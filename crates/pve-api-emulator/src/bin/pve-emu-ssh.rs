//! `pve-emu-ssh`: the `ssh` stand-in for the emulated cluster (see the library's `ssh`
//! module). Needs `PVE_EMU_ROOT` (the emulator's `PHOENIX_ROOT`).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use pve_api_emulator::ssh::{SSH_FAILURE, SshError, parse_args, remote_argv, resolve};

fn fail(e: &SshError) -> ! {
    eprintln!("{e}");
    std::process::exit(e.exit_code());
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let inv = parse_args(&argv).unwrap_or_else(|e| fail(&e));
    let Some(root) = std::env::var_os("PVE_EMU_ROOT").filter(|r| !r.is_empty()) else {
        fail(&SshError::Setup(
            "PVE_EMU_ROOT is not set (the API emulator's PHOENIX_ROOT)".into(),
        ));
    };
    let ssh_dir = PathBuf::from(root).join("ssh");
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).unwrap_or_else(|e| {
            fail(&SshError::Setup(format!("{}: {e}", p.display())));
        })
    };
    let nodes = read(ssh_dir.join("nodes.json"));
    let keys = read(ssh_dir.join("known_hosts"));
    let node_root = resolve(&inv, &nodes, &keys, |f| std::fs::read_to_string(f).ok())
        .unwrap_or_else(|e| fail(&e));
    if inv.command.is_empty() {
        fail(&SshError::NoCommand);
    }
    let (env, words) = remote_argv(&inv.remote_line()).unwrap_or_else(|e| fail(&e));
    let err = Command::new(&words[0])
        .args(&words[1..])
        .envs(env)
        .env("PHOENIX_ROOT", &node_root)
        .exec();
    // exec only returns on failure: what the remote shell would say.
    let code = match err.kind() {
        std::io::ErrorKind::NotFound => 127,
        std::io::ErrorKind::PermissionDenied => 126,
        _ => SSH_FAILURE,
    };
    if code == 127 {
        eprintln!("sh: 1: {}: not found", words[0]);
    } else {
        eprintln!("sh: 1: {}: {err}", words[0]);
    }
    std::process::exit(code);
}
