//! `trustplane completions <shell>`: the shell completion script for every subcommand and flag.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for (e.g. `source <(trustplane completions bash)`).
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for `args.shell` on stdout.
pub fn run(args: CompletionsArgs) {
    let mut command = crate::Cli::command();
    let name = command.get_name().to_owned();
    clap_complete::generate(args.shell, &mut command, name, &mut std::io::stdout());
}
