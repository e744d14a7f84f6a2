//! Options every subcommand shares.

use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, ValueEnum};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable text.
    Text,
    /// Machine-readable JSON on stdout.
    Json,
}

/// How the progress of a run is written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people: a live board on a terminal, plain lines otherwise.
    Text,
    /// For other tools: one JSON event per line (docs/events.md).
    Json,
}

/// Global options.
#[derive(Debug, Args)]
pub struct Global {
    /// Directory holding phoenix_lxc_configs.json, phoenix_hypervisor_config.json
    /// and, optionally, phoenix_vm_configs.json.
    #[arg(
        long,
        global = true,
        env = "PHOENIX_CONFIG_DIR",
        default_value = "/usr/local/phoenix_hypervisor/etc"
    )]
    pub config_dir: Utf8PathBuf,
    /// Every host path phoenix reads or writes is resolved under this directory.
    #[arg(long, global = true, env = "PHOENIX_ROOT", default_value = "/")]
    pub root: Utf8PathBuf,
    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// More detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Progress on stderr during up, apply, converge, create and test: `text` (a live
    /// board on a terminal, plain lines otherwise) or `json` (one event per line, see
    /// docs/events.md).
    #[arg(long, global = true, value_enum, env = "PHOENIX_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The `pct` binary (default: `pct` on PATH).
    #[arg(long, global = true, env = "PHOENIX_PCT")]
    pub pct: Option<std::path::PathBuf>,
    /// The `pvesm` binary (default: `pvesm` on PATH).
    #[arg(long, global = true, env = "PHOENIX_PVESM")]
    pub pvesm: Option<std::path::PathBuf>,
    /// How long to keep retrying a pct call refused because another task holds the
    /// container (`CT is locked (...)`, a config lock timeout), in seconds: waits of 1, 2,
    /// 4, 8 then 10 s between tries. 0 fails at once.
    #[arg(
        long,
        global = true,
        env = "PHOENIX_LOCK_WAIT",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub lock_wait: u64,
}

impl Global {
    /// The configured root directory.
    pub fn root(&self) -> &Utf8Path {
        &self.root
    }

    /// True when results go out as JSON.
    pub fn json(&self) -> bool {
        self.output == Output::Json
    }
}
