//! The `weir` command: parses the command line and dispatches to a subcommand.

mod cli;

use std::process::ExitCode;

/// Events carry strings, so record paths allocate and free per record; mimalloc's
/// thread-local free lists do that at a fraction of the system allocator's cost
/// (docs/measurements.md: NEXMark generator and queries).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    exit_cleanly_on_lost_peers();
    match cli::main() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("weir: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Set by `weir cluster` on the processes it runs.
const SUPERVISED: &str = "WEIR_SUPERVISED";

/// timely's networking threads panic when a connection to another process breaks, which is
/// what a crash of that process looks like from here. That is an operational event, not a
/// bug in weir: say what happened and how to recover, and exit at once (snapshots already
/// survive an exit at any instant). Every other panic keeps the default report.
fn exit_cleanly_on_lost_peers() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let in_networking = thread
            .name()
            .is_some_and(|name| name.starts_with("timely:send") || name.starts_with("timely:recv"));
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if in_networking || message.contains("MergeQueue poisoned") {
            let advice = if std::env::var_os(SUPERVISED).is_some() {
                "weir cluster restarts the job"
            } else {
                "if it crashed, start every process again (with --restore latest when the job snapshots)"
            };
            eprintln!(
                "weir: error: lost the connection to another process of the job ({message}); {advice}"
            );
            std::process::exit(1);
        }
        default(info);
    }));
}
