//! A deterministic generator: record `n` is `make(n)`, at event time `clock.time_of(n)`,
//! made by worker `n % workers`, optionally paced at a wall-clock rate.

use std::time::Duration;

use timely::container::buffer::default_capacity;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{OutputBuilder, OutputBuilderSession};
use timely::dataflow::operators::Capability;
use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use crate::control::{Counters, JobControl};
use crate::snapshot::FutureReports;
use crate::sources::epochs::SourceEpochs;
use crate::sources::BATCH;
use crate::time::{EventClock, Time, Timed};

/// What a generator produces and how fast.
#[derive(Clone)]
pub struct GeneratorSpec {
    /// Records are numbered `0 .. count` (`u64::MAX` for no end).
    pub count: u64,
    /// Wall-clock pace in records per second over all workers; `None` for as fast as possible.
    /// Record `n` is due `n / rate` seconds after the start.
    pub rate: Option<f64>,
    /// Event time of each record number.
    pub clock: EventClock,
    /// Stop after this much wall-clock time, wherever the count is.
    pub duration: Option<Duration>,
    /// Stop requests, error reports and counters.
    pub control: JobControl,
    /// Unpaced, hold back while the records this far behind are not yet through the
    /// dataflow: the output's probe. Without it, a worker whose generator outruns a busier
    /// one (a hot key) fills the busy side's stashes without bound. Paced runs never wait:
    /// a backlog there must show as latency.
    pub throttle: Option<ProbeHandle<Time>>,
}

/// How many records (over all workers) an unpaced generator may run ahead of its output.
pub const MAX_AHEAD: u64 = 1 << 19;

impl GeneratorSpec {
    /// `count` records at `per_second` records per second of event time, as fast as possible.
    pub fn new(count: u64, clock: EventClock) -> Self {
        GeneratorSpec {
            count,
            rate: None,
            clock,
            duration: None,
            control: JobControl::new(),
            throttle: None,
        }
    }
}

/// Extension trait for generated sources.
pub trait Generate<'scope> {
    /// Emits `make(n)` for every record number `n` of `spec` that belongs to this worker.
    ///
    /// ```
    /// use timely::dataflow::operators::{Capture, Input};
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::sources::{Generate, GeneratorSpec};
    /// use weir::time::EventClock;
    ///
    /// let captured = timely::example(|scope| {
    ///     let spec = GeneratorSpec::new(5, EventClock::new(1000.0));
    ///     scope.generate(spec, |n| n * 10).capture()
    /// });
    /// // One record per millisecond of event time.
    /// let expected: Vec<(u64, Vec<u64>)> = (0..5).map(|n| (n, vec![n * 10])).collect();
    /// assert_eq!(captured.extract(), expected);
    /// ```
    fn generate<D: 'static, F: FnMut(u64) -> D + 'static>(
        &self,
        spec: GeneratorSpec,
        make: F,
    ) -> StreamVec<'scope, Time, D>;
}

impl<'scope> Generate<'scope> for Scope<'scope, Time> {
    fn generate<D: 'static, F: FnMut(u64) -> D + 'static>(
        &self,
        spec: GeneratorSpec,
        mut make: F,
    ) -> StreamVec<'scope, Time, D> {
        generated(*self, spec, move |n| Some(make(n)), Give).0
    }
}

/// Where a generator's records go: into its output stream, or (for a source that does its
/// downstream's work itself, see [`Chain`](crate::sources::Chain)) somewhere else.
pub(crate) trait Deliver<D>: 'static {
    /// What the source's output stream carries.
    type Output: 'static;

    /// Takes the records of one event time, held by `time`.
    fn deliver(
        &mut self,
        output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<Self::Output>>>,
        time: &Capability<Time>,
        records: impl Iterator<Item = D>,
    );

    /// Called after each activation with the time the source holds from now on: no record
    /// before it will come. `None` after the last.
    fn end_batch(
        &mut self,
        output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<Self::Output>>>,
        frontier: Option<Time>,
    );
}

/// Delivery into the output stream.
pub(crate) struct Give;

impl<D: 'static> Deliver<D> for Give {
    type Output = D;

    #[inline]
    fn deliver(
        &mut self,
        output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<D>>>,
        time: &Capability<Time>,
        records: impl Iterator<Item = D>,
    ) {
        output.session(time).give_iterator(records);
    }

    fn end_batch(
        &mut self,
        _output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<D>>>,
        _frontier: Option<Time>,
    ) {
    }
}

/// Delivery into the output stream of records that carry their times ([`Timed`]), a whole
/// activation's under its first time: full messages rather than one per millisecond.
pub(crate) struct GiveTimed<D> {
    /// The activation's earliest time, held until it ends.
    first: Option<Capability<Time>>,
    /// Records not yet sent.
    batch: Vec<Timed<D>>,
}

impl<D> Default for GiveTimed<D> {
    fn default() -> Self {
        GiveTimed {
            first: None,
            batch: Vec::new(),
        }
    }
}

impl<D: Clone + 'static> Deliver<D> for GiveTimed<D> {
    type Output = Timed<D>;

    #[inline]
    fn deliver(
        &mut self,
        output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<Timed<D>>>>,
        time: &Capability<Time>,
        records: impl Iterator<Item = D>,
    ) {
        // The batch goes under its earliest time: input out of order (partitions of a
        // topic, lines within the out-of-orderness bound) may come later with earlier times.
        let first = match &mut self.first {
            Some(first) if first.time() <= time.time() => first,
            slot => slot.insert(time.clone()),
        };
        let time = *time.time();
        self.batch
            .extend(records.map(|record| Timed { time, record }));
        if self.batch.len() >= default_capacity::<Timed<D>>() {
            output.session(first).give_container(&mut self.batch);
        }
    }

    fn end_batch(
        &mut self,
        output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<Timed<D>>>>,
        _frontier: Option<Time>,
    ) {
        if let Some(first) = self.first.take()
            && !self.batch.is_empty()
        {
            output.session(&first).give_container(&mut self.batch);
        }
    }
}

/// A generator source: record `n` of `spec` that belongs to this worker is `make(n)` (none
/// when `make` drops it), handed to `deliver`.
///
/// Returns the records' stream and a stream without records whose frontier is where the
/// generators have got to: times before it were sent in full. A probe on the second learns
/// that without a pass-through operator on the first, which would cost every record a
/// channel hop; it moves once per activation rather than per millisecond.
pub(crate) fn generated<'scope, D, F, E>(
    scope: Scope<'scope, Time>,
    spec: GeneratorSpec,
    mut make: F,
    mut deliver: E,
) -> (
    StreamVec<'scope, Time, E::Output>,
    StreamVec<'scope, Time, ()>,
)
where
    F: FnMut(u64) -> Option<D> + 'static,
    E: Deliver<D>,
{
    let workers = scope.peers() as u64;
    let worker = scope.index() as u64;
    // In a job that snapshots, a generator's position at epoch `T` is implied — the first
    // record at or after `T` — so it reports no data, only that it has passed `T`.
    let mut epochs = SourceEpochs::register(&scope, "generate");
    let resume = epochs.as_ref().and_then(|e| e.restored_epoch());
    let first = resume.map_or(0, |epoch| spec.clock.first_record_at(epoch));
    // This worker's first record at or after `first`.
    let mut next = first + (worker + workers - first % workers) % workers;
    let mut builder = OperatorBuilder::new("Generate".to_owned(), scope);
    let address = builder.operator_info().address;
    let (output, records) = builder.new_output();
    let (_, sent) = builder.new_output::<Vec<()>>();
    let mut output = OutputBuilder::<_, CapacityContainerBuilder<_>>::from(output);
    builder.build(move |mut caps| {
        let activator = scope.activator_for(address);
        let mut sent_cap = caps.pop().map(|cap| cap.delayed(&resume.unwrap_or(0)));
        let cap = caps
            .pop()
            .expect("an operator with two outputs has two capabilities");
        // Paced runs keep their rate across a restore: record `first` is due now, unless
        // the schedule is fixed across restarts, when the records missed while the job was
        // down are overdue.
        let started = spec.control.started();
        let start = if spec.control.schedule_fixed() {
            started
        } else {
            started
                .checked_sub(Duration::from_secs_f64(
                    first as f64 / spec.rate.unwrap_or(f64::INFINITY),
                ))
                .unwrap_or(started)
        };
        let mut cap = Some(cap.delayed(&resume.unwrap_or(0)));
        move |_frontiers| {
            let output = &mut output.activate();
            let Some(held) = cap.as_mut() else { return };
            let elapsed = start.elapsed();
            let expired = spec.duration.is_some_and(|d| elapsed >= d);
            let stopped = spec.control.should_stop();
            if next >= spec.count || expired || stopped {
                if let Some(epochs) = epochs.as_mut() {
                    epochs.finish(stopped, FutureReports::default());
                }
                deliver.end_batch(output, None);
                (cap, sent_cap) = (None, None);
                return;
            }
            if spec.rate.is_none()
                && let Some(probe) = &spec.throttle
            {
                let behind = spec.clock.time_of(next.saturating_sub(MAX_AHEAD));
                if probe.less_than(&behind) {
                    activator.activate_after(Duration::from_micros(200));
                    return;
                }
            }
            // Records due by now (all of them when unpaced), at most a batch, none at or
            // after a pause (a stop drains the job to an epoch boundary, then ends it).
            let due_end = match spec.rate {
                Some(rate) => ((elapsed.as_secs_f64() * rate) as u64).saturating_add(1),
                None => u64::MAX,
            };
            let pause_end = spec
                .control
                .paused_at()
                .map_or(u64::MAX, |at| spec.clock.first_record_at(at));
            if next >= pause_end {
                activator.activate_after(Duration::from_millis(1));
                return;
            }
            let end = spec
                .count
                .min(due_end)
                .min(pause_end)
                .min(next.saturating_add(BATCH * workers));
            let mut emitted = 0;
            while next < end {
                // The run of records that share one event time goes under one capability.
                let time = spec.clock.time_of(next);
                let run_end = end.min(spec.clock.first_record_at(time + 1));
                let count = (run_end - next).div_ceil(workers);
                held.downgrade(&time);
                let records = (0..count).filter_map(|i| make(next + i * workers));
                deliver.deliver(output, held, records);
                next += count * workers;
                emitted += count;
            }
            Counters::add(&spec.control.counters().records_in, emitted);
            spec.control.note_source_position(spec.clock.time_of(next));
            if next >= spec.count {
                if let Some(epochs) = epochs.as_mut() {
                    epochs.finish(false, FutureReports::default());
                }
                deliver.end_batch(output, None);
                (cap, sent_cap) = (None, None);
                return;
            }
            held.downgrade(&spec.clock.time_of(next));
            deliver.end_batch(output, Some(*held.time()));
            if let Some(sent) = sent_cap.as_mut() {
                sent.downgrade(held.time());
            }
            if let Some(epochs) = epochs.as_mut() {
                epochs.passed(*held.time(), |_| (Time::MAX, None));
            }
            match spec.rate {
                Some(rate) if next >= due_end => {
                    let due = Duration::from_secs_f64(next as f64 / rate);
                    activator.activate_after(due.saturating_sub(start.elapsed()));
                }
                _ => activator.activate(),
            }
        }
    });
    (records, sent)
}

/// A pseudo-random number for record `n` of a run seeded with `seed`: the same on every
/// worker, so generated values do not depend on which worker makes the record.
///
/// ```
/// use weir::sources::random_of;
/// assert_eq!(random_of(7, 100), random_of(7, 100));
/// assert_ne!(random_of(7, 100), random_of(7, 101));
/// assert_ne!(random_of(7, 100), random_of(8, 100));
/// ```
#[inline]
pub fn random_of(seed: u64, n: u64) -> u64 {
    // SplitMix64's finalizer over a seed-dependent stream position.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(n.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
