//! Sustainable throughput: runs at several offered rates, and the highest that keeps up.
//!
//! A rate is sustainable when its run's [`Verdict`](super::Verdict) says so: the achieved
//! rate is within 2% of the offered one, the median latency of the measured window's last
//! quarter is at most twice that of its first quarter plus 1 ms (latency that keeps
//! growing means a queue that keeps growing), and every measured timestamp completed.
//! The sustainable rate of a sweep is the highest sustainable rate it ran; rates above it
//! may be peak throughput, never sustainable throughput.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::harness::{bench, BenchResult, BenchSpec};
use crate::pipelines::Pipeline;

/// The schema of a sweep's result file.
pub const SWEEP_SCHEMA: &str = "weir-sweep/1";

/// The rule, as result files state it.
const RULE: &str = "sustainable: achieved >= 98% of offered, last-quarter median latency <= 2 x first-quarter median + 1 ms, no unfinished timestamps";

/// Several runs of one pipeline at different offered rates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepResult {
    /// [`SWEEP_SCHEMA`].
    pub schema: String,
    /// The sustainability rule applied to each run.
    pub rule: String,
    /// The highest offered rate found sustainable, if any.
    pub sustainable_rate: Option<f64>,
    /// The runs, in the order they ran.
    pub runs: Vec<BenchResult>,
}

impl SweepResult {
    fn of(runs: Vec<BenchResult>) -> Self {
        let sustainable_rate = runs
            .iter()
            .filter(|run| run.verdict.sustainable)
            .map(|run| run.config.rate)
            .reduce(f64::max);
        SweepResult {
            schema: SWEEP_SCHEMA.to_string(),
            rule: RULE.to_string(),
            sustainable_rate,
            runs,
        }
    }
}

fn one_process(spec: &BenchSpec) -> anyhow::Result<()> {
    if spec.workers.processes() > 1 {
        bail!("--sweep and --find-max run in one process (use -w for more workers)");
    }
    Ok(())
}

fn run_at(
    pipeline: &'static Pipeline,
    spec: &BenchSpec,
    rate: f64,
    on_run: &mut impl FnMut(&BenchResult),
) -> anyhow::Result<BenchResult> {
    let spec = BenchSpec {
        rate,
        ..spec.clone()
    };
    match bench(pipeline, &spec)? {
        Some(result) => {
            on_run(&result);
            Ok(result)
        }
        None => bail!("a one-process run returned no result"),
    }
}

/// Runs `spec` at each of `rates` in turn; `on_run` sees each result as it comes.
pub fn sweep(
    pipeline: &'static Pipeline,
    spec: &BenchSpec,
    rates: &[f64],
    mut on_run: impl FnMut(&BenchResult),
) -> anyhow::Result<SweepResult> {
    one_process(spec)?;
    let runs = rates
        .iter()
        .map(|&rate| run_at(pipeline, spec, rate, &mut on_run))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(SweepResult::of(runs))
}

/// Searches for the highest sustainable rate: doubles from `start` until a rate is not
/// sustainable, then halves the gap between the last good and the first bad rate `steps`
/// times.
pub fn find_max(
    pipeline: &'static Pipeline,
    spec: &BenchSpec,
    start: f64,
    steps: usize,
    mut on_run: impl FnMut(&BenchResult),
) -> anyhow::Result<SweepResult> {
    one_process(spec)?;
    let mut runs = Vec::new();
    let (mut good, mut bad) = (0.0f64, None);
    let mut rate = start;
    while bad.is_none() && rate <= 1e10 {
        let run = run_at(pipeline, spec, rate, &mut on_run)?;
        if run.verdict.sustainable {
            good = rate;
            rate *= 2.0;
        } else {
            bad = Some(rate);
        }
        runs.push(run);
    }
    if let Some(mut bad) = bad {
        for _ in 0..steps {
            let rate = ((good + bad) / 2.0).round();
            let run = run_at(pipeline, spec, rate, &mut on_run)?;
            if run.verdict.sustainable {
                good = rate;
            } else {
                bad = rate;
            }
            runs.push(run);
        }
    }
    Ok(SweepResult::of(runs))
}
