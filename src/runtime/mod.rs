//! Running a pipeline over worker threads and processes.
//!
//! The runtime turns a registered pipeline and a configuration into timely workers: it
//! builds the communication fabric (threads, or TCP between processes), opens the output,
//! lets every worker build the pipeline's dataflow, runs it to completion — workers park
//! when they have nothing to do — and reports what happened.

mod cluster;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks};
use timely::{CommunicationConfig, WorkerConfig};

pub use cluster::{read_hostfile, ClusterSpec};

use crate::control::{Counters, JobControl};
use crate::job::{Job, JobConfig};
use crate::pipelines::Pipeline;
use crate::sinks::OutputSpec;
use crate::state::KeyGroups;
use crate::time::Time;

/// How many workers run a job, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workers {
    /// Worker threads in this process.
    pub threads: usize,
    /// The other processes, when there are several.
    pub cluster: Option<ClusterSpec>,
}

impl Workers {
    /// `threads` workers in this one process.
    pub fn threads(threads: usize) -> Self {
        Workers {
            threads: threads.max(1),
            cluster: None,
        }
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.cluster.as_ref().map_or(1, |c| c.hosts.len())
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.cluster.as_ref().map_or(0, |c| c.process)
    }

    /// Workers over all processes.
    pub fn total(&self) -> usize {
        self.threads * self.processes()
    }
}

/// What a finished run did, in this process.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Wall-clock time from starting the workers to the last of them finishing.
    pub elapsed: Duration,
    /// Records emitted by this process's sources.
    pub records_in: u64,
    /// Records written by this process's sinks.
    pub records_out: u64,
    /// Records dropped for arriving behind the watermark.
    pub late: u64,
    /// Malformed lines skipped under `--skip-bad-input`.
    pub skipped: u64,
}

/// Runs `pipeline` with `config` on `workers`, writing to `output`, until its input ends.
pub fn run(
    pipeline: &'static Pipeline,
    config: JobConfig,
    workers: &Workers,
    output: &OutputSpec,
) -> anyhow::Result<RunReport> {
    if let Some(input) = &config.input {
        input.check()?;
    }
    let target = output.open(workers.process(), workers.processes())?;
    let control = JobControl::new();

    let mut worker_config = WorkerConfig::default();
    worker_config.set(
        KeyGroups::CONFIG_KEY.to_string(),
        KeyGroups::new(config.key_groups),
    );
    let (builders, guard) = allocators(workers)?;

    let start = Instant::now();
    let shared = (config, control.clone(), target.clone());
    let guards = timely::execute::execute_from(builders, guard, worker_config, move |worker| {
        let (config, control, target) = shared.clone();
        let built = worker.dataflow::<Time, _, _>(|scope| {
            let mut job = Job::new(scope, config, control.clone(), target);
            (pipeline.build)(&mut job)
        });
        if let Err(error) = built {
            control.fail(error);
        }
    })
    .map_err(|e| anyhow::anyhow!("cannot start workers: {e}"))?;
    let panics: Vec<String> = guards.join().into_iter().filter_map(Result::err).collect();
    let elapsed = start.elapsed();

    if let Some(error) = control.take_error() {
        return Err(error);
    }
    if let Some(panic) = panics.first() {
        bail!("a worker failed: {panic}");
    }
    target.flush().context("cannot write output")?;
    let counters = control.counters();
    Ok(RunReport {
        elapsed,
        records_in: Counters::get(&counters.records_in),
        records_out: Counters::get(&counters.records_out),
        late: Counters::get(&counters.late),
        skipped: Counters::get(&counters.skipped),
    })
}

/// The communication fabric for `workers`, and whatever must live as long as it.
fn allocators(
    workers: &Workers,
) -> anyhow::Result<(Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>)> {
    match &workers.cluster {
        None => {
            let config = if workers.threads == 1 {
                CommunicationConfig::Thread
            } else {
                CommunicationConfig::Process(workers.threads)
            };
            config
                .try_build()
                .map_err(|e| anyhow::anyhow!("cannot set up workers: {e}"))
        }
        Some(spec) => {
            let sockets = cluster::connect(spec)?;
            let hooks = Hooks::default();
            let local = ProcessBuilder::new_typed_vector(spec.threads, hooks.refill.clone(), None);
            let (builders, guard) = initialize_networking_from_sockets(
                local,
                sockets,
                spec.process,
                spec.threads,
                hooks,
            )
            .context("cannot start the network threads")?;
            Ok((
                builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
                Box::new(guard),
            ))
        }
    }
}
