//! `phoenix apparmor list|render NAME|install [--dry-run]`: phoenix's AppArmor profiles.

use anyhow::Context as _;
use clap::Subcommand;
use phoenix_orchestrator::apparmor::install::{self, Change, Reload};
use phoenix_orchestrator::apparmor::{ShippedProfile, render::render_profile, shipped};
use phoenix_orchestrator::host_apparmor::HostProfileLoader;
use phoenix_orchestrator::pct::ProcessRunner;
use serde_json::json;

use crate::exit::{Reported, invalid};
use crate::global::Global;

/// Arguments of `phoenix apparmor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the profiles phoenix ships.
    List,
    /// Print one shipped profile as it is installed.
    Render {
        /// The profile name (see `phoenix apparmor list`).
        name: String,
    },
    /// Write the profiles and tunables/nesting under --root and reload what changed.
    Install {
        /// Print what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs `phoenix apparmor`.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    match &args.action {
        Action::List => list(global),
        Action::Render { name } => {
            let profile = ShippedProfile::find(name).ok_or_else(|| {
                let names: Vec<&str> = ShippedProfile::ALL.iter().map(|p| p.name_str()).collect();
                invalid(anyhow::anyhow!(
                    "no shipped profile named `{name}` (shipped: {})",
                    names.join(", ")
                ))
            })?;
            print!("{}", render_profile(&profile.profile()));
            Ok(())
        }
        Action::Install { dry_run } => install(global, *dry_run),
    }
}

fn list(global: &Global) -> anyhow::Result<()> {
    if global.json() {
        let rows: Vec<_> = ShippedProfile::ALL
            .iter()
            .map(|p| json!({"name": p.name_str(), "manages_nesting": p.manages_nesting(), "description": p.description()}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for p in ShippedProfile::ALL {
            let nesting = if p.manages_nesting() {
                " (nesting)"
            } else {
                ""
            };
            println!("{:<18} {}{nesting}", p.name_str(), p.description());
        }
    }
    Ok(())
}

fn install(global: &Global, dry_run: bool) -> anyhow::Result<()> {
    let root = global.root();
    let plan = install::plan(root, &shipped::all()).context("planning the apparmor install")?;
    if dry_run {
        if global.json() {
            let out = json!({"dry_run": true, "files": plan.files, "reload": plan.to_reload()});
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else if !global.quiet {
            for f in &plan.files {
                println!("{:<16} {}", change_word(f.change, true), f.path);
            }
            println!("dry run: nothing written, nothing reloaded");
        }
        return Ok(());
    }
    let loader = HostProfileLoader::new(ProcessRunner::new(), root.to_owned());
    let report = install::apply(&plan, &loader).context("installing the apparmor profiles")?;
    if global.json() {
        let out = json!({"dry_run": false, "files": plan.files, "written": report.written, "reload": report.reload});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if !global.quiet {
        for f in &plan.files {
            println!("{:<10} {}", change_word(f.change, false), f.path);
        }
        match &report.reload {
            Reload::NotNeeded => println!("reload: nothing changed"),
            Reload::Skipped { reason, pending } => {
                println!(
                    "reload: skipped, {reason} ({} profiles not loaded)",
                    pending.len()
                )
            }
            Reload::Done { reloaded, .. } => {
                println!("reload: {} profiles reloaded", reloaded.len())
            }
        }
    }
    if let Reload::Done { failed, .. } = &report.reload {
        for f in failed {
            eprintln!("error: reloading {} failed: {}", f.path, f.error);
        }
    }
    if report.has_failures() {
        return Err(Reported::runtime());
    }
    Ok(())
}

fn change_word(change: Change, dry_run: bool) -> &'static str {
    match (change, dry_run) {
        (Change::Create, true) => "would create",
        (Change::Update, true) => "would update",
        (Change::Create, false) => "created",
        (Change::Update, false) => "updated",
        (Change::Unchanged, _) => "unchanged",
    }
}
