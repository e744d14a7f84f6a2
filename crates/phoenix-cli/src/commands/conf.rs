//! `phoenix conf fmt FILE [--canonical]`: print a Proxmox CT conf file re-rendered.
//!
//! Without `--canonical` the output is the lossless rendering (byte for byte the input);
//! with it, the file as Proxmox itself would rewrite it. Parse warnings go to stderr with
//! their line numbers; they never change the exit code, as Proxmox never fails on them.

use std::io::Write;

use anyhow::Context;
use camino::Utf8PathBuf;
use phoenix_orchestrator::pveconf::conf::CtConf;

use crate::global::Global;

/// Arguments of `phoenix conf`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do with the conf file.
    #[command(subcommand)]
    pub command: ConfCommand,
}

/// `phoenix conf` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfCommand {
    /// Print a CT conf file (`/etc/pve/lxc/<vmid>.conf`) parsed and rendered again.
    Fmt(FmtArgs),
}

/// Arguments of `phoenix conf fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// The conf file to read.
    pub file: Utf8PathBuf,
    /// Print what Proxmox writes when it rewrites the file (sorted keys, `lxc.x: y`, dropped
    /// lines gone) instead of the lossless rendering.
    #[arg(long)]
    pub canonical: bool,
}

/// Runs `phoenix conf`.
pub fn run(args: &Args, global: &Global) -> anyhow::Result<()> {
    match &args.command {
        ConfCommand::Fmt(fmt) => {
            run_fmt(fmt, global, &mut std::io::stdout(), &mut std::io::stderr())
        }
    }
}

fn run_fmt(
    args: &FmtArgs,
    global: &Global,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("unable to read '{}'", args.file))
        .map_err(crate::exit::invalid)?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("'{}' is not valid UTF-8", args.file))
        .map_err(crate::exit::invalid)?;
    let parsed = CtConf::parse(&text);
    let rendered = if args.canonical {
        parsed.conf.render_canonical()
    } else {
        parsed.conf.render()
    };
    if global.json() {
        let warnings: Vec<_> = parsed
            .warnings
            .iter()
            .map(|w| {
                serde_json::json!({
                    "line": w.line,
                    "message": w.kind.proxmox_text(),
                    "dropped_on_rewrite": w.kind.drops_line(),
                })
            })
            .collect();
        let doc = serde_json::json!({ "file": args.file, "text": rendered, "warnings": warnings });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    if !global.quiet {
        for warning in &parsed.warnings {
            writeln!(err, "warning: {}: {warning}", args.file)?;
        }
    }
    out.write_all(rendered.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Cli;

    fn run_cli(argv: &[&str]) -> (anyhow::Result<()>, String, String) {
        let cli = Cli::try_parse_from(argv).unwrap();
        let crate::commands::Command::Conf(Args {
            command: ConfCommand::Fmt(fmt),
        }) = &cli.command
        else {
            panic!("not conf fmt");
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let res = run_fmt(fmt, &cli.global, &mut out, &mut err);
        (
            res,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn write_conf(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("100.conf");
        std::fs::write(&path, text).unwrap();
        (dir, path.to_str().unwrap().to_owned())
    }

    const SRC: &str = "swap: 0512\nBAD LINE\nlxc.idmap = u 0 100000 65536\n";

    #[test]
    fn lossless_by_default_with_warnings_on_stderr() {
        let (_dir, path) = write_conf(SRC);
        let (res, out, err) = run_cli(&["phoenix", "conf", "fmt", &path]);
        res.unwrap();
        assert_eq!(out, SRC);
        assert_eq!(
            err,
            format!("warning: {path}: line 2: unable to parse config: BAD LINE\n")
        );
    }

    #[test]
    fn canonical_is_proxmox_rewrite() {
        let (_dir, path) = write_conf(SRC);
        let (res, out, _) = run_cli(&["phoenix", "conf", "fmt", "--canonical", &path]);
        res.unwrap();
        assert_eq!(out, "swap: 512\nlxc.idmap: u 0 100000 65536\n");
    }

    #[test]
    fn quiet_hides_warnings() {
        let (_dir, path) = write_conf(SRC);
        let (_, _, err) = run_cli(&["phoenix", "-q", "conf", "fmt", &path]);
        assert_eq!(err, "");
    }

    #[test]
    fn json_output() {
        let (_dir, path) = write_conf(SRC);
        let (res, out, err) =
            run_cli(&["phoenix", "-o", "json", "conf", "fmt", "--canonical", &path]);
        res.unwrap();
        assert_eq!(err, "");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["text"], "swap: 512\nlxc.idmap: u 0 100000 65536\n");
        assert_eq!(doc["warnings"][0]["line"], 2);
        assert_eq!(
            doc["warnings"][0]["message"],
            "unable to parse config: BAD LINE"
        );
        assert_eq!(doc["warnings"][0]["dropped_on_rewrite"], true);
    }

    #[test]
    fn unreadable_file_is_invalid_input_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.conf");
        let path = path.to_str().unwrap();
        let (res, out, _) = run_cli(&["phoenix", "conf", "fmt", path]);
        let err = res.unwrap_err();
        assert!(matches!(
            err.downcast_ref(),
            Some(crate::exit::Failure::Invalid(_))
        ));
        assert!(
            format!("{err:#}").starts_with(&format!("unable to read '{path}': ")),
            "{err:#}"
        );
        assert_eq!(out, "");
    }

    #[test]
    fn non_utf8_file_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("100.conf");
        std::fs::write(&path, b"a: \xff\n").unwrap();
        let path = path.to_str().unwrap();
        let (res, _, _) = run_cli(&["phoenix", "conf", "fmt", path]);
        let err = res.unwrap_err();
        assert!(matches!(
            err.downcast_ref(),
            Some(crate::exit::Failure::Invalid(_))
        ));
        assert!(
            format!("{err:#}").starts_with(&format!("'{path}' is not valid UTF-8")),
            "{err:#}"
        );
    }
}
