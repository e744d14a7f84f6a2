//! `phoenix`: bring Proxmox LXC containers to the state a JSON config describes.
//!
//! This binary is thin: each subcommand lives in its own file under `commands/`,
//! turns its clap arguments into a validated request, calls one library function
//! and renders the outcome. `main` alone owns exit codes and error printing.
//!
//! Exit codes, for every command: 0 success, 1 runtime failure, 2 invalid input or usage.

mod cluster;
mod commands;
mod exit;
mod global;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::exit::{Failure, Reported};
use crate::global::Global;

/// Declarative provisioning of Proxmox VE containers from JSON.
#[derive(Debug, Parser)]
#[command(name = "phoenix", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::INVALID
            } else {
                exit::SUCCESS
            });
        }
    };
    // `--root ""` would resolve every host path in the working directory: refused
    // before any command reads or writes anything.
    if let Err(e) = phoenix_orchestrator::hostfs::check_root(&cli.global.root) {
        eprintln!("error: {e}");
        return ExitCode::from(exit::INVALID);
    }
    // Structured logs of a run's steps (target `phoenix::run`) with -vv, and every
    // command's output line with -vvv; nothing is installed otherwise.
    if cli.global.verbose >= 2 {
        let level = if cli.global.verbose >= 3 {
            tracing::Level::TRACE
        } else {
            tracing::Level::DEBUG
        };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(level)
            .init();
    }
    match commands::run(&cli.command, &cli.global) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(err) => {
            if let Some(reported) = err.downcast_ref::<Reported>() {
                return ExitCode::from(reported.code);
            }
            let code = match err.downcast_ref::<Failure>() {
                Some(Failure::Invalid(_)) => exit::INVALID,
                _ => exit::RUNTIME,
            };
            if !cli.global.quiet || code != exit::SUCCESS {
                // Errors quote input (paths, values): printed escaped, so a control
                // character in them cannot drive the terminal.
                let text = format!("{err:#}");
                eprintln!(
                    "error: {}",
                    phoenix_config::diagnostic::escape_for_terminal(&text)
                );
            }
            ExitCode::from(code)
        }
    }
}
