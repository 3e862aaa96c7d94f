//! The latency table: a row per `bench` run (each rate of a sweep), with its input, what was offered,
//! what came out, the latency percentiles and whether the rate was sustainable.

use crate::experiment::tables::Rows;
use crate::harness::BenchResult;
use crate::sources::LineInput;

/// A row per benchmark run: what was offered, what came out, and the latency.
pub fn latency_rows(runs: &[&BenchResult]) -> Rows {
    let header = [
        "pipeline",
        "input",
        "processes",
        "workers",
        "offered/s",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "sustainable",
    ]
    .map(String::from)
    .to_vec();
    let ms = |ns: u64| format!("{:.2}", ns as f64 / 1e6);
    let rows = runs
        .iter()
        .map(|run| {
            let latency = &run.summary.latency;
            // Runs of one pipeline from a topic and generated sit side by side in one table.
            let input = match &run.config.job.input {
                None => "generated",
                Some(LineInput::Kafka(_)) => "kafka",
                Some(LineInput::File(_)) => "file",
                Some(LineInput::Stdin) => "stdin",
            };
            vec![
                run.config.pipeline.clone(),
                input.to_string(),
                run.config.processes.to_string(),
                run.config.threads.to_string(),
                format!("{:.0}", run.summary.offered_rate),
                format!("{:.0}", run.summary.achieved_rate),
                ms(latency.p50_ns),
                ms(latency.p99_ns),
                ms(latency.p999_ns),
                ms(latency.max_ns),
                if run.verdict.sustainable { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    Rows { header, rows }
}
