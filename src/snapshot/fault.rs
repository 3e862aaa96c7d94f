//! Fault injection for crash tests: `WEIR_FAULT=point[:n]` ends the process at once — no
//! destructors, no buffered output flushed, other threads stopped mid-step — the n-th time (default: first) execution reaches the named point. Points
//! sit where a crash is hardest to survive: between writing a part and committing, between
//! committing and publishing, in the middle of publishing, right after staging output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Every fault point, in the order a snapshot reaches them: output staged, a state part
/// written, the commit begun, the manifest about to be renamed into place, the manifest
/// committed, output half published, output published.
pub const FAULT_POINTS: &[&str] = &[
    "output-staged",
    "part-written",
    "before-manifest",
    "before-manifest-rename",
    "after-manifest",
    "mid-publish",
    "after-publish",
];

struct Fault {
    point: String,
    at: u64,
    seen: AtomicU64,
}

fn configured() -> Option<&'static Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let spec = std::env::var("WEIR_FAULT").ok()?;
            let (point, at) = match spec.split_once(':') {
                Some((point, n)) => (point.to_string(), n.parse().unwrap_or(1)),
                None => (spec, 1),
            };
            Some(Fault {
                point,
                at,
                seen: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Ends the process (exit status 137, as after `kill -9`) if `WEIR_FAULT` names this point and this is the chosen visit.
#[inline]
pub fn fault_point(point: &str) {
    if let Some(fault) = configured()
        && fault.point == point
        && fault.seen.fetch_add(1, Ordering::SeqCst) + 1 == fault.at
    {
        eprintln!("weir: injected fault at {point}");
        // Not `abort`: that may leave a core dump behind on every test run.
        std::process::exit(137);
    }
}
