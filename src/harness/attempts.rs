//! A benchmark under a supervisor (`weir bench --kill-at/--rescale-at`) measures across the
//! job's restarts. Every worker of every start writes what it measures to its own file as it
//! goes, so a start killed with `kill -9` keeps everything it had measured, and the
//! supervising process merges the files when the job has ended.
//!
//! A start that resumes from the snapshot at epoch `T` computes every timestamp from `T` on
//! again, and only its results reach the output: so for each timestamp the merge keeps the
//! measurements of the last start that measured it. A timestamp scheduled while the job was
//! down completes only after the restart, and its latency says so: the schedule is fixed at
//! the first start for all of them.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::harness::driver::{ProcessSample, RunPlan, WorkerReport};
use crate::harness::LatencyHistogram;
use crate::time::Time;

/// The directory under the snapshot directory where the starts write their measurements.
pub(crate) const DIR_NAME: &str = "bench-timeline";

/// One measurement, one JSON line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// Timestamp `t` completed `ns` after its scheduled instant.
    Done { t: Time, ns: u64 },
    /// Timestamp `t` had waited `ns` when the run ended without it.
    Unfinished { t: Time, ns: u64 },
    /// The process's counters at the end of an interval (its first worker only).
    Sample(ProcessSample),
}

/// Where one worker of one start writes.
fn file_name(attempt: usize, worker: usize) -> String {
    format!("attempt-{attempt}-worker-{worker}.jsonl")
}

/// Reads a file name written by [`file_name`]: `(attempt, worker)`.
fn parse_file_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("attempt-")?.strip_suffix(".jsonl")?;
    let (attempt, worker) = rest.split_once("-worker-")?;
    Some((attempt.parse().ok()?, worker.parse().ok()?))
}

/// Writes one worker's measurements in one start.
pub(crate) struct AttemptWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

impl AttemptWriter {
    /// Creates the file of worker `worker` in start `attempt` under `dir`.
    pub(crate) fn create(dir: &Path, attempt: usize, worker: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(file_name(attempt, worker));
        let file = File::create(&path)
            .with_context(|| format!("cannot create the timeline file {}", path.display()))?;
        Ok(AttemptWriter {
            file: BufWriter::new(file),
            path,
        })
    }

    /// Adds a measurement (buffered until [`flush`](Self::flush)).
    pub(crate) fn push(&mut self, entry: &Entry) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.file, entry)
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(self.file.write_all(b"\n")?))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Hands what was pushed to the operating system, where a `kill -9` cannot lose it.
    pub(crate) fn flush(&mut self) -> anyhow::Result<()> {
        self.file
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// What one worker of one start measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct AttemptLog {
    /// The start, from 0.
    pub attempt: usize,
    /// The worker's index in that start.
    pub worker: usize,
    /// Its measurements, in the order it made them.
    pub entries: Vec<Entry>,
}

/// Reads every start's files from `dir`. A last line cut short (the process was killed
/// while writing it) is dropped; any other line that does not read is an error.
pub(crate) fn read_logs(dir: &Path) -> anyhow::Result<Vec<AttemptLog>> {
    let listing =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut logs = Vec::new();
    for entry in listing {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name();
        let Some((attempt, worker)) = name.to_str().and_then(parse_file_name) else {
            continue;
        };
        let path = entry.path();
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let lines = BufReader::new(file)
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut entries = Vec::with_capacity(lines.len());
        for (number, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(entry) => entries.push(entry),
                Err(_) if number + 1 == lines.len() => {}
                Err(error) => bail!("{} line {}: {error}", path.display(), number + 1),
            }
        }
        logs.push(AttemptLog {
            attempt,
            worker,
            entries,
        });
    }
    logs.sort_by_key(|log| (log.attempt, log.worker));
    Ok(logs)
}

/// The measurements of one timestamp, from the last start that measured it.
#[derive(Clone, Debug, Default)]
struct Kept {
    attempt: usize,
    done: Vec<u64>,
    unfinished: Vec<u64>,
}

/// Merges every start's measurements into one report, as if one job had run throughout:
/// each timestamp as its last start measured it; records sent summed over every start
/// (what was sent again after a restore counts again); records completed as the furthest
/// any start had got.
pub(crate) fn merge_logs(plan: &RunPlan, logs: &[AttemptLog]) -> WorkerReport {
    let mut kept: Vec<Option<Kept>> = vec![None; plan.total_ms as usize];
    for log in logs {
        for entry in &log.entries {
            let (t, ns, done) = match *entry {
                Entry::Done { t, ns } => (t, ns, true),
                Entry::Unfinished { t, ns } => (t, ns, false),
                Entry::Sample(_) => continue,
            };
            let Some(slot) = kept.get_mut(t as usize) else {
                continue;
            };
            let slot = match slot {
                Some(old) if old.attempt > log.attempt => continue,
                Some(old) if old.attempt == log.attempt => old,
                _ => slot.insert(Kept {
                    attempt: log.attempt,
                    ..Kept::default()
                }),
            };
            if done {
                slot.done.push(ns);
            } else {
                slot.unfinished.push(ns);
            }
        }
    }

    let mut histogram = LatencyHistogram::new();
    let mut report = WorkerReport {
        intervals: vec![Vec::new(); plan.intervals()],
        unfinished_intervals: vec![0; plan.intervals()],
        ..WorkerReport::default()
    };
    for (t, slot) in kept.iter().enumerate() {
        let Some(slot) = slot else { continue };
        let interval = t / plan.interval_ms as usize;
        report.intervals[interval].extend_from_slice(&slot.done);
        report.unfinished_intervals[interval] += slot.unfinished.len() as u64;
        if plan.measured(t as Time) {
            for &ns in slot.done.iter().chain(&slot.unfinished) {
                histogram.record_nanos(ns);
            }
            report.unfinished += slot.unfinished.len() as u64;
        }
    }
    report.histogram = histogram.buckets();
    report.samples = merge_samples(plan, logs);
    report
}

/// One sample per interval: records sent summed over every start and process, records
/// completed as the furthest any start had got, memory summed over the processes sampled.
fn merge_samples(plan: &RunPlan, logs: &[AttemptLog]) -> Vec<ProcessSample> {
    let intervals = plan.intervals();
    let mut sent = vec![0u64; intervals];
    let mut completed = vec![0u64; intervals];
    let mut rss: Vec<Option<u64>> = vec![None; intervals];
    for log in logs {
        // Each process counts from 0 in each start.
        let mut previous = 0;
        for entry in &log.entries {
            let Entry::Sample(sample) = entry else {
                continue;
            };
            let Some(k) = (sample.at_ms / plan.interval_ms)
                .checked_sub(1)
                .map(|k| k as usize)
                .filter(|&k| k < intervals)
            else {
                continue;
            };
            sent[k] += sample.sent.saturating_sub(previous);
            previous = sample.sent;
            completed[k] = completed[k].max(sample.completed);
            if let Some(bytes) = sample.rss_bytes {
                *rss[k].get_or_insert(0) += bytes;
            }
        }
    }
    let (mut sent_so_far, mut completed_so_far) = (0, 0);
    (0..intervals)
        .map(|k| {
            sent_so_far += sent[k];
            completed_so_far = completed_so_far.max(completed[k]);
            ProcessSample {
                at_ms: (k as u64 + 1) * plan.interval_ms,
                sent: sent_so_far,
                completed: completed_so_far,
                rss_bytes: rss[k],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::EventClock;

    fn plan() -> RunPlan {
        RunPlan {
            clock: EventClock::new(1000.0),
            warmup_ms: 0,
            measured_end_ms: 100,
            total_ms: 100,
            interval_ms: 10,
        }
    }

    fn done(attempt: usize, worker: usize, times: std::ops::Range<Time>, ns: u64) -> AttemptLog {
        AttemptLog {
            attempt,
            worker,
            entries: times.map(|t| Entry::Done { t, ns }).collect(),
        }
    }

    #[test]
    fn each_timestamp_is_kept_as_its_last_start_measured_it() {
        // Start 0 completed 0..60 on two workers and was killed; start 1 resumed at 40.
        let logs = [
            done(0, 0, 0..60, 1),
            done(0, 1, 0..60, 1),
            done(1, 0, 40..100, 7),
            done(1, 1, 40..100, 7),
        ];
        let report = merge_logs(&plan(), &logs);
        for (i, values) in report.intervals.iter().enumerate() {
            let expected = if i < 4 { 1 } else { 7 };
            assert_eq!(
                values.len(),
                20,
                "interval {i}: two workers x ten timestamps"
            );
            assert!(
                values.iter().all(|&v| v == expected),
                "interval {i}: {values:?}"
            );
        }
        let histogram = LatencyHistogram::from_buckets(&report.histogram);
        assert_eq!(histogram.count(), 200);
    }

    #[test]
    fn unfinished_timestamps_of_the_last_start_count_and_earlier_ones_do_not() {
        let mut last = done(1, 0, 50..90, 3);
        last.entries
            .extend((90..100).map(|t| Entry::Unfinished { t, ns: 9 }));
        let logs = [done(0, 0, 0..95, 1), last];
        let report = merge_logs(&plan(), &logs);
        assert_eq!(report.unfinished, 10);
        assert_eq!(report.unfinished_intervals[9], 10);
        assert_eq!(report.intervals[8], vec![3; 10]);
    }

    #[test]
    fn samples_add_what_every_start_sent_and_keep_the_furthest_completion() {
        let sample = |at_ms, sent, completed| {
            Entry::Sample(ProcessSample {
                at_ms,
                sent,
                completed,
                rss_bytes: Some(100),
            })
        };
        let logs = [
            AttemptLog {
                attempt: 0,
                worker: 0,
                entries: vec![sample(10, 10, 8), sample(20, 20, 18)],
            },
            // Restarted at 40, resending from 10: its counters begin at 0.
            AttemptLog {
                attempt: 1,
                worker: 0,
                entries: vec![sample(40, 30, 15), sample(50, 40, 45)],
            },
        ];
        let samples = merge_samples(&plan(), &logs);
        let sent: Vec<u64> = samples.iter().map(|s| s.sent).take(6).collect();
        let completed: Vec<u64> = samples.iter().map(|s| s.completed).take(6).collect();
        assert_eq!(sent, [10, 20, 20, 50, 60, 60]);
        assert_eq!(completed, [8, 18, 18, 18, 45, 45]);
        assert_eq!(samples[2].rss_bytes, None, "nothing ran then");
    }

    #[test]
    fn file_names_read_back_and_torn_last_lines_are_dropped() {
        assert_eq!(parse_file_name(&file_name(3, 11)), Some((3, 11)));
        assert_eq!(parse_file_name("attempt-x-worker-1.jsonl"), None);
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut writer = AttemptWriter::create(dir.path(), 2, 1).expect("create");
        writer.push(&Entry::Done { t: 5, ns: 6 }).expect("push");
        writer.flush().expect("flush");
        drop(writer);
        let path = dir.path().join(file_name(2, 1));
        let mut text = std::fs::read_to_string(&path).expect("read");
        text.push_str("{\"k\":\"do");
        std::fs::write(&path, &text).expect("write");
        let logs = read_logs(dir.path()).expect("read back");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].entries, vec![Entry::Done { t: 5, ns: 6 }]);
        text.push_str("\n{}\n");
        std::fs::write(&path, &text).expect("write");
        let error = read_logs(dir.path()).expect_err("a damaged line");
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
