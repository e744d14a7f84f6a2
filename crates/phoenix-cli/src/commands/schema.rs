//! `phoenix schema lxc|hypervisor|vm`: print the JSON Schema of a config file, the
//! same text as the committed copy in `schemas/`.

use clap::ValueEnum;
use phoenix_config::schema::{ConfigFile, schema_text};

use crate::global::Global;

/// Which file's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// phoenix_lxc_configs.json
    Lxc,
    /// phoenix_hypervisor_config.json
    Hypervisor,
    /// phoenix_vm_configs.json
    Vm,
}

/// Arguments of `phoenix schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file whose schema to print.
    #[arg(value_enum)]
    pub file: Which,
}

/// Prints the schema on stdout.
pub fn run(args: &Args, _global: &Global) -> anyhow::Result<()> {
    let file = match args.file {
        Which::Lxc => ConfigFile::Lxc,
        Which::Hypervisor => ConfigFile::Hypervisor,
        Which::Vm => ConfigFile::Vm,
    };
    print!("{}", schema_text(file));
    Ok(())
}
