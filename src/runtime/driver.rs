//! Driving workers from outside the runtime: the hook the harness measures through.
//!
//! Normally timely steps each worker until its dataflows finish. A [`WorkerDriver`] takes
//! over that loop after the pipeline is built, so it can look at the output probe between
//! steps (and stop the sources when it has seen enough). What each worker's driver returns
//! is gathered at worker 0 over timely itself, so the same code serves threads and
//! processes, and comes back in [`RunReport::gathered`](super::RunReport::gathered).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use crate::control::JobControl;
use crate::migration::MigrationLog;
use crate::time::Time;

/// Runs each worker's loop once its dataflow is built.
pub trait WorkerDriver: Send + Sync {
    /// Steps `worker` for as long as it likes, returning what this worker reports. The
    /// runtime steps the worker on to the end of its dataflow afterwards.
    fn drive(&self, worker: &mut DrivenWorker<'_>) -> String;
}

/// One worker as a [`WorkerDriver`] sees it.
pub struct DrivenWorker<'a> {
    /// The worker's index among all workers.
    pub index: usize,
    /// All workers, over all processes.
    pub peers: usize,
    /// The worker's index within its process.
    pub local_index: usize,
    /// The probe on the pipeline's output.
    pub probe: ProbeHandle<Time>,
    /// The probe on its generated input: times before its frontier were sent in full.
    pub input_probe: ProbeHandle<Time>,
    /// The epoch the job resumed from, if it restored a snapshot: every time before it
    /// is complete already, and the probes start there.
    pub restored: Option<Time>,
    /// The job's shared control in this process.
    pub control: JobControl,
    /// What the live migrations of this process did so far.
    pub migration: Arc<MigrationLog>,
    pub(crate) step: &'a mut dyn FnMut(Option<Duration>) -> bool,
}

impl DrivenWorker<'_> {
    /// Runs the worker's operators once, parking up to `timeout` (forever with `None`) if
    /// none has work; `false` once the worker has no dataflow left.
    pub fn step_or_park(&mut self, timeout: Option<Duration>) -> bool {
        (self.step)(timeout)
    }
}

/// Sends `report` to worker 0; returns every worker's report there (ordered by worker) and
/// nothing elsewhere.
pub(crate) fn gather(worker: &mut Worker, report: String) -> Vec<String> {
    let gathered = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&gathered);
    let index = worker.index();
    let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<(usize, String)>();
        let (probe, _) = stream
            .exchange(|_| 0)
            .inspect(move |item: &(usize, String)| sink.borrow_mut().push(item.clone()))
            .probe();
        (input, probe)
    });
    input.send((index, report));
    input.close();
    while !probe.done() {
        worker.step_or_park(Some(super::LONGEST_PARK));
    }
    let mut reports = gathered.take();
    reports.sort_by_key(|(index, _)| *index);
    reports.into_iter().map(|(_, report)| report).collect()
}
