//! `phoenix completions <shell>`: print a shell completion script.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::global::Global;

/// Arguments of `phoenix completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script on stdout.
pub fn run(args: &Args, _global: &Global) -> anyhow::Result<()> {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "phoenix", &mut std::io::stdout());
    Ok(())
}
