//! `phoenix validate`: check a config directory (both passes) and print every
//! diagnostic. Exit 2 on errors, 0 with warnings only.

use phoenix_config::{ConfigError, Diagnostic, validate_dir};

use crate::exit::{Reported, invalid};
use crate::global::Global;

/// Arguments of `phoenix validate` (the directory is the global `--config-dir`).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Validates `--config-dir` and prints the report.
pub fn run(_args: &Args, global: &Global) -> anyhow::Result<()> {
    let dir = &global.config_dir;
    let report = match validate_dir(dir) {
        Ok(report) => report,
        Err(e @ ConfigError::NoDirectory { .. }) => return Err(invalid(e)),
        Err(e) => return Err(e.into()),
    };
    let (errors, warnings) = (&report.errors, &report.warnings);
    if global.json() {
        let out = serde_json::json!({
            "config_dir": dir,
            "valid": errors.is_empty(),
            "errors": errors,
            "warnings": warnings,
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
                summary(dir.as_str(), errors.len(), warnings.len(), guests)
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
