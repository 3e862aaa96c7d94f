//! `weir plot RESULT.json... --out DIR`: figures from benchmark result files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use weir::plot::{plot_files, Results};

/// Arguments of `weir plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Result files written by `weir bench --json` (single runs or sweeps).
    #[arg(value_name = "RESULT.json", required = true)]
    results: Vec<PathBuf>,

    /// Directory to write the figures to, e.g. --out figures.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// The long description of `weir plot`.
pub const LONG_ABOUT: &str = "\
Render figures from `weir bench --json` result files, as PNG and SVG: the latency CCDF of
every run (overlaid), each run's latency timeline with snapshots marked, and latency versus
offered rate for sweeps.

Example:
  weir plot seed-state.json q5-sweep.json --out figures";

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    let results = Results::load(&args.results)?;
    for path in plot_files(&results, &args.out)? {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
