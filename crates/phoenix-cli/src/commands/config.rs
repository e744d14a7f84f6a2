//! `phoenix config upgrade [--write]`: show the config directory rewritten into
//! phoenix's canonical shape as a unified diff per file; with `--write`, write it
//! (each changed file atomically, the old text kept as `<file>.bak`).

use phoenix_config::upgrade::{UpgradeError, upgrade_dir};

use crate::exit::invalid;
use crate::global::Global;

/// Arguments of `phoenix config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do with the config directory.
    #[command(subcommand)]
    pub command: Command,
}

/// `phoenix config` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the config rewritten into phoenix's canonical shape (a diff per file).
    Upgrade(UpgradeArgs),
}

/// Arguments of `phoenix config upgrade` (the directory is the global `--config-dir`).
#[derive(Debug, clap::Args)]
pub struct UpgradeArgs {
    /// Write the rewritten files (old text kept as `<file>.bak`) instead of only printing.
    #[arg(long)]
    pub write: bool,
}

/// Runs `phoenix config <command>`.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    match &args.command {
        Command::Upgrade(up) => upgrade(up, global),
    }
}

fn upgrade(args: &UpgradeArgs, global: &Global) -> anyhow::Result<()> {
    let files = match upgrade_dir(&global.config_dir) {
        Ok(files) => files,
        Err(e @ (UpgradeError::NoDirectory { .. } | UpgradeError::Missing { .. })) => {
            return Err(invalid(e));
        }
        Err(
            e @ (UpgradeError::InvalidJson { .. }
            | UpgradeError::Input(_)
            | UpgradeError::Undecodable { .. }),
        ) => return Err(invalid(e)),
        Err(e) => return Err(e.into()),
    };
    if args.write {
        for f in &files {
            f.write()?;
        }
    }
    if global.json() {
        let out: Vec<_> = files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "file": f.file.file_name(),
                    "changed": f.is_changed(),
                    "written": args.write && f.is_changed(),
                    "changes": f.changes,
                    "diff": f.diff(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for f in &files {
        let name = f.file.file_name();
        if !f.is_changed() {
            if !global.quiet {
                println!("{name}: already in phoenix's canonical shape");
            }
            continue;
        }
        print!("{}", f.diff());
        if !global.quiet {
            for c in &f.changes {
                println!("# {c}");
            }
            match args.write {
                true => println!("{name}: written, the old text is in {name}.bak"),
                false => println!("{name}: not written (use --write)"),
            }
        }
    }
    Ok(())
}
