//! What the workers of one process share while a job runs: the first error, the request to
//! stop, and counters for the report.
//!
//! A source that meets a malformed record cannot return an error through timely; it records
//! the error here and stops, every other source sees the stop request and stops too, the
//! dataflow drains, and the runtime reports the error once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::time::Time;

/// Shared control of one job within one process. Cloning shares it.
#[derive(Clone, Default)]
pub struct JobControl {
    inner: Arc<Inner>,
}

struct Inner {
    error: Mutex<Option<anyhow::Error>>,
    stop: AtomicBool,
    counters: Counters,
    started: OnceLock<Instant>,
    schedule_fixed: AtomicBool,
    /// Sources send nothing at or after this time (`Time::MAX`: no pause).
    pause_at: AtomicU64,
    /// The furthest time any source of this process has reached.
    source_position: AtomicU64,
    /// Records of a bounded unbounded input (Kafka with `--events`) taken so far.
    input_taken: AtomicU64,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            error: Mutex::default(),
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            started: OnceLock::new(),
            schedule_fixed: AtomicBool::new(false),
            pause_at: AtomicU64::new(Time::MAX),
            source_position: AtomicU64::new(0),
            input_taken: AtomicU64::new(0),
        }
    }
}

/// Counts kept for the end-of-run report; updated once per batch, not per record.
#[derive(Default, Debug)]
pub struct Counters {
    /// Records emitted by sources.
    pub records_in: AtomicU64,
    /// Records written by sinks.
    pub records_out: AtomicU64,
    /// Records that arrived behind the watermark and were dropped.
    pub late: AtomicU64,
    /// Malformed input lines skipped because `--skip-bad-input` was given.
    pub skipped: AtomicU64,
}

impl Counters {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

impl JobControl {
    /// A fresh control with no error and no stop request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `error` (the first one wins; later ones usually follow from it) and asks every
    /// source to stop.
    pub fn fail(&self, error: anyhow::Error) {
        let mut slot = self.inner.error.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(error);
        }
        self.stop();
    }

    /// Asks every source to stop producing.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }

    /// Whether sources should stop producing.
    #[inline]
    pub fn should_stop(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// Removes and returns the recorded error, if any.
    pub fn take_error(&self) -> Option<anyhow::Error> {
        self.inner
            .error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The instant the job's schedule starts from in this process: paced sources make
    /// record `n` due `n / rate` after it, and the harness measures latency from it. The
    /// first call fixes it.
    pub fn started(&self) -> Instant {
        *self.inner.started.get_or_init(Instant::now)
    }

    /// Asks every source to send nothing at or after `epoch` (a stop with a savepoint
    /// drains the job up to that epoch boundary); the earliest pause asked for holds.
    pub fn pause_at(&self, epoch: Time) {
        self.inner.pause_at.fetch_min(epoch, Ordering::Relaxed);
    }

    /// The time sources pause at, if a pause was asked for.
    #[inline]
    pub fn paused_at(&self) -> Option<Time> {
        let at = self.inner.pause_at.load(Ordering::Relaxed);
        (at != Time::MAX).then_some(at)
    }

    /// Notes that a source of this process has reached `time` (once per batch).
    #[inline]
    pub fn note_source_position(&self, time: Time) {
        self.inner
            .source_position
            .fetch_max(time, Ordering::Relaxed);
    }

    /// The furthest time a source of this process has reached.
    pub fn source_position(&self) -> Time {
        self.inner.source_position.load(Ordering::Relaxed)
    }

    /// Fixes the schedule's start at `origin` for the whole job, restarts included (the
    /// harness under a supervisor); call before the job starts.
    pub fn fix_schedule(&self, origin: Instant) {
        let _ = self.inner.started.set(origin);
        self.inner.schedule_fixed.store(true, Ordering::Relaxed);
    }

    /// Whether [`started`](Self::started) is a schedule fixed across restarts: a paced
    /// source that resumes from a snapshot is then behind its schedule, not restarting it.
    pub fn schedule_fixed(&self) -> bool {
        self.inner.schedule_fixed.load(Ordering::Relaxed)
    }

    /// Takes one record of an input that ends after `limit` records in all, read by every
    /// worker of the process (a Kafka topic with `--events`): false once `limit` are taken.
    #[inline]
    pub fn take_input(&self, limit: u64) -> bool {
        if limit == u64::MAX {
            return true;
        }
        self.inner
            .input_taken
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |taken| {
                (taken < limit).then_some(taken + 1)
            })
            .is_ok()
    }

    /// Whether `limit` records of the input are taken.
    pub fn input_exhausted(&self, limit: u64) -> bool {
        limit != u64::MAX && self.inner.input_taken.load(Ordering::Relaxed) >= limit
    }

    /// A restored job had taken `taken` records of its input before the snapshot's
    /// positions (every worker says so; the count only grows from there).
    pub fn restore_input_taken(&self, taken: u64) {
        self.inner.input_taken.fetch_max(taken, Ordering::Relaxed);
    }

    /// The counters of this job in this process.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }
}
