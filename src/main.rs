//! The `weir` command: parses the command line and dispatches to a subcommand.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::main() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("weir: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
