//! Signals as requests: SIGUSR1 asks for a savepoint, SIGTERM to stop with one.
//!
//! A signal reaches one process, but a savepoint is the whole job's: the handler only files
//! the request in the control folder, where process 0 takes it at its next commit. A second
//! SIGTERM ends the process at once (status 143), as a plain SIGTERM would have: a job that
//! cannot commit can still be ended, and snapshots survive that like any crash.

use signal_hook::consts::{SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use super::{ControlDirectory, RequestKind};

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// SIGUSR1: a savepoint.
    Savepoint,
    /// SIGTERM: stop with a savepoint.
    Stop,
}

/// Calls `handler` on a thread of its own for each SIGUSR1 and the first SIGTERM; exits at
/// once (status 143) on a second SIGTERM.
pub fn on_signals(mut handler: impl FnMut(Asked) + Send + 'static) -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGUSR1, SIGTERM])
        .map_err(|e| anyhow::anyhow!("cannot install signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("weir:signals".to_string())
        .spawn(move || {
            let mut terms = 0;
            for signal in signals.forever() {
                if signal == SIGTERM {
                    terms += 1;
                    if terms > 1 {
                        eprintln!("weir: second SIGTERM: ending now");
                        std::process::exit(128 + SIGTERM);
                    }
                    handler(Asked::Stop);
                } else {
                    handler(Asked::Savepoint);
                }
            }
        })?;
    Ok(())
}

/// Turns SIGUSR1 and SIGTERM into savepoint and stop requests in `control`.
pub fn forward_to_job(control: ControlDirectory) -> anyhow::Result<()> {
    on_signals(move |asked| {
        let (kind, what) = match asked {
            Asked::Savepoint => (RequestKind::Savepoint, "a savepoint (SIGUSR1)"),
            Asked::Stop => (
                RequestKind::Stop,
                "a stop with a savepoint (SIGTERM; a second one ends at once)",
            ),
        };
        match control.request_without_reply(kind) {
            Ok(_) => eprintln!("weir: asked for {what}"),
            Err(error) => eprintln!("weir: cannot ask for {what}: {error:#}"),
        }
    })
}
