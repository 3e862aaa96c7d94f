//! Value parsers shared by the subcommands: counts, rates and durations with units (from
//! the library, which experiment files share), and restore points.

use weir::snapshot::RestoreFrom;
pub use weir::units::{parse_count, parse_duration, parse_millis, parse_rate};

/// Parses `latest` or an epoch.
pub fn parse_restore(text: &str) -> Result<RestoreFrom, String> {
    match text {
        "latest" => Ok(RestoreFrom::Latest),
        epoch => epoch
            .parse()
            .map(RestoreFrom::Epoch)
            .map_err(|_| format!("{epoch:?} is neither `latest` nor an epoch (event time in ms)")),
    }
}
