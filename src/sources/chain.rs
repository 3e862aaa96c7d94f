//! Operator chaining: stateless steps run inside the source that feeds them.
//!
//! Every channel between timely operators costs work per message and per timestamp, whatever
//! the message holds, and event-time sources send one message per millisecond of event time.
//! At NEXMark's ten events per millisecond that cost is larger than a stateless query's own
//! work. A [`Chain`] is a source not yet built, with the `filter_map`/`map`/`filter` steps
//! applied to it so far: built, the steps run inside the source operator, so records they
//! drop or reshape never cross a channel — what Flink calls operator chaining. When a chain
//! ends in the job's output, the source writes the output lines itself (or, in a job that
//! snapshots, stages them for exactly-once publication) and no record crosses a channel at
//! all ([`Job::output`](crate::job::Job::output)).
//!
//! A chain over a source that cannot run steps inside it (a stream already built) applies
//! them as ordinary operators, so code written against `Chain` works for every input.

use std::cell::Cell;
use std::rc::Rc;

use serde::Serialize;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::generic::OutputBuilderSession;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Capability, Probe};
use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use crate::sinks::{JsonLineWriter, StagedLineWriter};
use crate::sources::generator::{generated, Deliver, Give, GiveTimed};
use crate::sources::prepared::PreparedInput;
use crate::sources::GeneratorSpec;
use crate::time::{Time, Timed};

/// A stream whose stateless steps may still run inside its source: built, the steps run
/// inside the source operator, so records they drop or reshape never cross a channel
/// (operator chaining, as in Flink). Over a stream already built, the steps are ordinary
/// operators.
///
/// ```
/// use timely::dataflow::operators::Capture;
/// use timely::dataflow::operators::capture::Extract;
/// use weir::sources::{Chain, GeneratorSpec};
/// use weir::time::EventClock;
///
/// let captured = timely::example(|scope| {
///     let spec = GeneratorSpec::new(6, EventClock::new(1000.0));
///     Chain::generate(scope, spec, |n| n)
///         .filter(|n| n % 2 == 0)
///         .map(|n| n * 10)
///         .stream()
///         .capture()
/// });
/// // Records 0, 2 and 4, made at their event times 0, 2 and 4 ms, inside one operator.
/// assert_eq!(captured.extract(), vec![(0, vec![0]), (2, vec![20]), (4, vec![40])]);
/// ```
pub struct Chain<'scope, D, M> {
    origin: Origin<'scope, D, M>,
}

enum Origin<'scope, D, M> {
    /// A generator not yet built, with the steps so far.
    Generated(Unbuilt<'scope, M>),
    /// A line input opened but not yet built, with the steps so far.
    Lines(UnbuiltLines<'scope, M>),
    /// A stream already built: steps become operators.
    Built(StreamVec<'scope, Time, D>),
}

/// A generator not yet built, and what it makes of record `n`.
struct Unbuilt<'scope, M> {
    scope: Scope<'scope, Time>,
    spec: GeneratorSpec,
    make: M,
    /// Probed where the source's records leave it: times before its frontier were sent.
    sent: Option<ProbeHandle<Time>>,
}

impl<'scope, M> Unbuilt<'scope, M> {
    /// Builds the generator with the steps inside it, delivering to `deliver`, and probes
    /// what leaves it.
    fn build<D, E>(self, deliver: E) -> StreamVec<'scope, Time, E::Output>
    where
        M: FnMut(u64) -> Option<D> + 'static,
        E: Deliver<D>,
    {
        let (stream, sent) = generated(self.scope, self.spec, self.make, deliver);
        if let Some(probe) = self.sent {
            sent.probe_with(&probe);
        }
        stream
    }
}

/// A line input opened but not yet built: `parse` reads a line into a record and its time,
/// and `make` (the steps so far) takes that record as its input.
struct UnbuiltLines<'scope, M> {
    scope: Scope<'scope, Time>,
    name: &'static str,
    /// Boxed: a chain is moved at every step, and the opened input is large.
    lines: Box<PreparedInput>,
    parse: LineParser,
    make: M,
}

/// Reads a line, leaves its record for the chain's first step, and gives its time.
type LineParser = Box<dyn FnMut(Option<u64>, &[u8]) -> anyhow::Result<Option<Time>>>;

impl<'scope, M> UnbuiltLines<'scope, M> {
    fn build<D: 'static, E>(self, deliver: E) -> StreamVec<'scope, Time, E::Output>
    where
        M: FnMut(u64) -> Option<D> + 'static,
        E: Deliver<D>,
    {
        let mut make = self.make;
        self.lines
            .build(self.scope, self.name, self.parse, move || make(0), deliver)
    }
}

/// `make` followed by the step `logic`: one function, so that every origin of a chain gets
/// the same type of composed step.
fn then<D, E, M, L>(mut make: M, mut logic: L) -> impl FnMut(u64) -> Option<E> + 'static
where
    M: FnMut(u64) -> Option<D> + 'static,
    L: FnMut(D) -> Option<E> + 'static,
{
    move |n| make(n).and_then(&mut logic)
}

/// Where a chain's records come from: a generator, or lines read and parsed.
pub(crate) enum ChainInput<G, P> {
    /// Record `n` is `make(n)`.
    Generated(GeneratorSpec, G),
    /// Each line's record and time is `parse(line_number, line)`, as
    /// [`PreparedInput::build`] reads it.
    Lines(Box<PreparedInput>, P),
}

/// The first step of a chain over a [`ChainInput`]: whichever the input, one type, so that
/// code like [`nexmark::events`](crate::nexmark::events) returns the same chain for both.
enum FirstStep<G, R> {
    Generate(G),
    /// The record the line source has just parsed.
    Parsed(Rc<Cell<Option<R>>>),
}

impl<'scope, D: 'static> Chain<'scope, D, ()> {
    /// A chain over generated records or over lines, whose steps run inside the source either
    /// way. Generated records are made in full before the steps see them, as for
    /// [`generate`](Chain::generate).
    pub(crate) fn from_input<G, P>(
        scope: Scope<'scope, Time>,
        name: &'static str,
        input: ChainInput<G, P>,
    ) -> Chain<'scope, D, impl FnMut(u64) -> Option<D> + 'static + use<D, G, P>>
    where
        G: FnMut(u64) -> D + 'static,
        P: FnMut(Option<u64>, &[u8]) -> anyhow::Result<Option<(Time, D)>> + 'static,
    {
        let (first, origin) = match input {
            ChainInput::Generated(spec, make) => (FirstStep::Generate(make), Ok(spec)),
            ChainInput::Lines(lines, mut parse) => {
                let slot = Rc::new(Cell::new(None));
                let parsed = slot.clone();
                let parse: LineParser = Box::new(move |number, line| {
                    Ok(parse(number, line)?.map(|(time, record)| {
                        parsed.set(Some(record));
                        time
                    }))
                });
                (FirstStep::Parsed(slot), Err((lines, parse)))
            }
        };
        let mut first = first;
        let make = move |n| match &mut first {
            FirstStep::Generate(make) => Some(std::hint::black_box(make(n))),
            FirstStep::Parsed(slot) => slot.take(),
        };
        let origin = match origin {
            Ok(spec) => Origin::Generated(Unbuilt {
                scope,
                spec,
                make,
                sent: None,
            }),
            Err((lines, parse)) => Origin::Lines(UnbuiltLines {
                scope,
                name,
                lines,
                parse,
                make,
            }),
        };
        Chain { origin }
    }

    /// A generator (as [`Generate`](crate::sources::Generate) builds it) whose steps will run
    /// inside it.
    ///
    /// Each record is made in full before the steps see it (`black_box`), even where the
    /// steps drop all or part of it: the compiler sees through chained steps, and without
    /// that a benchmark's input would cost less than it does for the generator alone.
    pub fn generate<F: FnMut(u64) -> D + 'static>(
        scope: Scope<'scope, Time>,
        spec: GeneratorSpec,
        mut make: F,
    ) -> Chain<'scope, D, impl FnMut(u64) -> Option<D> + 'static + use<D, F>> {
        Chain {
            origin: Origin::Generated(Unbuilt {
                scope,
                spec,
                make: move |n| Some(std::hint::black_box(make(n))),
                sent: None,
            }),
        }
    }
}

impl<'scope, D: 'static, M: FnMut(u64) -> Option<D> + 'static> Chain<'scope, D, M> {
    /// Probes the source's own output with `probe` once it is built, whether its records
    /// leave it as a stream or as written lines.
    pub(crate) fn probe_sent_with(self, probe: &ProbeHandle<Time>) -> Self {
        let origin = match self.origin {
            Origin::Generated(unbuilt) => Origin::Generated(Unbuilt {
                sent: Some(probe.clone()),
                ..unbuilt
            }),
            // What a line source has sent is probed where its records arrive.
            lines @ Origin::Lines(_) => lines,
            Origin::Built(stream) => Origin::Built(stream.probe_with(probe)),
        };
        Chain { origin }
    }

    /// Each record becomes what `logic` makes of it, or is dropped for `None`.
    pub fn filter_map<E: 'static, L: FnMut(D) -> Option<E> + 'static>(
        self,
        logic: L,
    ) -> Chain<'scope, E, impl FnMut(u64) -> Option<E> + 'static + use<D, M, E, L>> {
        let origin = match self.origin {
            Origin::Generated(Unbuilt {
                scope,
                spec,
                make,
                sent,
            }) => Origin::Generated(Unbuilt {
                scope,
                spec,
                make: then(make, logic),
                sent,
            }),
            Origin::Lines(UnbuiltLines {
                scope,
                name,
                lines,
                parse,
                make,
            }) => Origin::Lines(UnbuiltLines {
                scope,
                name,
                lines,
                parse,
                make: then(make, logic),
            }),
            Origin::Built(stream) => Origin::Built(stream.flat_map(logic)),
        };
        Chain { origin }
    }

    /// Each record becomes `logic(record)`.
    pub fn map<E: 'static, L: FnMut(D) -> E + 'static>(
        self,
        mut logic: L,
    ) -> Chain<'scope, E, impl FnMut(u64) -> Option<E> + 'static + use<D, M, E, L>> {
        self.filter_map(move |record| Some(logic(record)))
    }

    /// Only the records `predicate` accepts go on.
    pub fn filter<P: FnMut(&D) -> bool + 'static>(
        self,
        mut predicate: P,
    ) -> Chain<'scope, D, impl FnMut(u64) -> Option<D> + 'static + use<D, M, P>> {
        self.filter_map(move |record| predicate(&record).then_some(record))
    }

    /// Ends the chain: the source is built with the steps inside it, and its records go on
    /// as a stream.
    pub fn stream(self) -> StreamVec<'scope, Time, D> {
        match self.origin {
            Origin::Generated(unbuilt) => unbuilt.build(Give),
            Origin::Lines(unbuilt) => unbuilt.build(Give),
            Origin::Built(stream) => stream,
        }
    }
}

impl<'scope, D: Clone + 'static, M: FnMut(u64) -> Option<D> + 'static> Chain<'scope, D, M> {
    /// Ends the chain in a stream of records that carry their event times ([`Timed`]): a
    /// generator sends each activation's records under its first time, rather than a message
    /// per millisecond; a built stream's records carry their message's time.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::sources::{Chain, GeneratorSpec};
    /// use weir::time::{EventClock, Timed};
    ///
    /// let captured = timely::example(|scope| {
    ///     let spec = GeneratorSpec::new(3, EventClock::new(1000.0));
    ///     Chain::generate(scope, spec, |n| n * 10).timed_stream().capture()
    /// });
    /// // Three milliseconds of event time under the first, each record with its own.
    /// let timed = |time, record| Timed { time, record };
    /// let expected = vec![timed(0, 0), timed(1, 10), timed(2, 20)];
    /// assert_eq!(captured.extract(), vec![(0, expected)]);
    /// ```
    pub fn timed_stream(self) -> StreamVec<'scope, Time, Timed<D>> {
        match self.origin {
            Origin::Generated(unbuilt) => unbuilt.build(GiveTimed::default()),
            Origin::Lines(unbuilt) => unbuilt.build(GiveTimed::default()),
            Origin::Built(stream) => stream.unary(Pipeline, "Timed", |_, _| {
                |input, output| {
                    input.for_each_stamp(|cap, containers| {
                        let Some(&time) = cap.least() else { return };
                        let cap = cap.delayed(&time, 0);
                        let records = containers.flat_map(|container| container.drain(..));
                        output
                            .session(&cap)
                            .give_iterator(records.map(|record| Timed { time, record }));
                    });
                }
            }),
        }
    }
}

impl<'scope, D, M> Chain<'scope, D, M>
where
    D: 'static,
    M: FnMut(u64) -> Option<D> + 'static,
{
    /// Ends a chain over a source not yet built in `writer`, run by the source itself, and
    /// returns the source's output, which carries no records: its frontier is the written
    /// output's. A chain over a built stream is returned as it is, with the writer.
    pub(crate) fn written_in_source<E: Deliver<D, Output = ()>>(
        self,
        writer: E,
    ) -> Result<StreamVec<'scope, Time, ()>, (Self, E)> {
        match self.origin {
            Origin::Generated(unbuilt) => Ok(unbuilt.build(writer)),
            Origin::Lines(unbuilt) => Ok(unbuilt.build(writer)),
            built => Err((Chain { origin: built }, writer)),
        }
    }
}

impl<'scope, D, M> From<StreamVec<'scope, Time, D>> for Chain<'scope, D, M> {
    fn from(stream: StreamVec<'scope, Time, D>) -> Self {
        Chain {
            origin: Origin::Built(stream),
        }
    }
}

/// What [`Job::output`](crate::job::Job::output) takes: a stream, or a chain whose steps
/// may still run inside its source.
pub trait IntoChain<'scope, D> {
    /// What the chain makes of record `n`.
    type Make: FnMut(u64) -> Option<D> + 'static;
    /// The chain.
    fn into_chain(self) -> Chain<'scope, D, Self::Make>;
}

impl<'scope, D: 'static, M: FnMut(u64) -> Option<D> + 'static> IntoChain<'scope, D>
    for Chain<'scope, D, M>
{
    type Make = M;
    fn into_chain(self) -> Self {
        self
    }
}

impl<'scope, D: 'static> IntoChain<'scope, D> for StreamVec<'scope, Time, D> {
    type Make = fn(u64) -> Option<D>;
    fn into_chain(self) -> Chain<'scope, D, Self::Make> {
        Chain::from(self)
    }
}

/// A chain that ends in output delivers its records as lines; its stream stays empty.
impl<D: Serialize> Deliver<D> for JsonLineWriter {
    type Output = ();

    #[inline]
    fn deliver(
        &mut self,
        _output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<()>>>,
        _time: &Capability<Time>,
        records: impl Iterator<Item = D>,
    ) {
        for record in records {
            self.write(&record);
        }
    }

    fn end_batch(
        &mut self,
        _output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<()>>>,
        frontier: Option<Time>,
    ) {
        JsonLineWriter::end_batch(self, frontier.is_none());
    }
}

/// A chain that ends in exactly-once output stages its records itself; the source's own
/// frontier closes the epochs, as the sink's would.
impl<D: Serialize> Deliver<D> for StagedLineWriter {
    type Output = ();

    #[inline]
    fn deliver(
        &mut self,
        _output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<()>>>,
        time: &Capability<Time>,
        records: impl Iterator<Item = D>,
    ) {
        self.write(*time.time(), records);
    }

    fn end_batch(
        &mut self,
        _output: &mut OutputBuilderSession<'_, Time, CapacityContainerBuilder<Vec<()>>>,
        frontier: Option<Time>,
    ) {
        self.advance(frontier);
    }
}
