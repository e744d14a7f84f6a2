//! `phoenix validate`: check a config directory (both passes) and print every
//! diagnostic. Exit 2 on errors, 0 with warnings only.

use camino::Utf8PathBuf;
use phoenix_config::{ConfigError, Diagnostic, ValidateOptions, validate_dir_with};

use crate::exit::{Reported, invalid};
use crate::global::Global;

/// Arguments of `phoenix validate` (the directory is the global `--config-dir`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory holding the application scripts containers name (default: `bin/`
    /// beside the config directory, the old system's layout, when it exists).
    #[arg(long)]
    pub scripts_dir: Option<Utf8PathBuf>,
}

/// Validates `--config-dir` and prints the report.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    let dir = &global.config_dir;
    // Printed escaped: a path is input too.
    let dir_shown = phoenix_config::diagnostic::escape_for_terminal(dir.as_str());
    let options = ValidateOptions {
        scripts_dir: args.scripts_dir.clone(),
    };
    let report = match validate_dir_with(dir, &options) {
        Ok(report) => report,
        Err(
            e @ (ConfigError::NoDirectory { .. }
            | ConfigError::NoScriptsDirectory { .. }
            | ConfigError::Input(_)),
        ) => {
            return Err(invalid(e));
        }
        Err(e) => return Err(e.into()),
    };
    if report.scripts_dir.is_none() && !global.quiet {
        // Not a diagnostic: a missing scripts directory is a fact about this machine,
        // not a defect of the config, so it is said once, on stderr.
        eprintln!(
            "note: no scripts directory (--scripts-dir, or bin/ beside {dir_shown}), so application scripts were not checked"
        );
    }
    // Entries that map onto the host's own ids (below 100000) with the explicit
    // allow_host_ids opt-in: legal, not a warning, but never unseen.
    let grants = report
        .fleet
        .as_ref()
        .map(phoenix_config::host_id_grants)
        .unwrap_or_default();
    if !global.quiet && !global.json() {
        for (pointer, entry) in &grants {
            eprintln!(
                "note: id map '{entry}' at {pointer} maps onto host ids below 100000 (allowed by allow_host_ids)"
            );
        }
    }
    let (errors, warnings) = (&report.errors, &report.warnings);
    if global.json() {
        let out = serde_json::json!({
            "config_dir": dir,
            "valid": errors.is_empty(),
            "errors": errors,
            "warnings": warnings,
            "scripts_dir": report.scripts_dir,
            "host_id_grants": grants
                .iter()
                .map(|(pointer, entry)| serde_json::json!({"pointer": pointer, "entry": entry}))
                .collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let shown: Vec<&Diagnostic> = if global.quiet {
            errors.iter().collect()
        } else {
            errors.iter().chain(warnings).collect()
        };
        for d in shown {
            println!("{d}");
        }
        if !global.quiet || !errors.is_empty() {
            let guests = report.fleet.as_ref().map_or(0, |f| f.lxc.lxc_configs.len());
            println!(
                "{}",
                summary(&dir_shown, errors.len(), warnings.len(), guests)
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Reported::invalid())
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn summary(dir: &str, errors: usize, warnings: usize, containers: usize) -> String {
    if errors == 0 {
        format!(
            "{dir}: valid, {}, {}",
            plural(containers, "container"),
            plural(warnings, "warning")
        )
    } else {
        format!(
            "{dir}: invalid, {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}
