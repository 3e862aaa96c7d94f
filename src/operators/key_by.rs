//! `key_by`: pairs each record with the key that keyed operators route and keep state by.

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;
use timely::progress::Timestamp;

/// Extension trait for keying a stream.
pub trait KeyBy<'scope, T: Timestamp, D> {
    /// Pairs every record with its key, giving the `(key, record)` stream that keyed operators
    /// ([`UpdateState`](crate::operators::UpdateState), [`Reduce`](crate::operators::Reduce),
    /// [`Aggregate`](crate::operators::Aggregate)) consume.
    ///
    /// Keying is a per-record map and moves no data: records travel to the worker that owns
    /// their key group only when a keyed operator needs them there.
    ///
    /// ```
    /// use timely::dataflow::operators::{Inspect, ToStream};
    /// use weir::operators::KeyBy;
    ///
    /// timely::example(|scope| {
    ///     vec!["apple", "avocado", "banana"]
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .key_by(|fruit| fruit.chars().next())
    ///         .inspect(|(first, fruit)| println!("{first:?}: {fruit}"));
    /// });
    /// ```
    fn key_by<K: 'static, F: FnMut(&D) -> K + 'static>(
        self,
        key: F,
    ) -> StreamVec<'scope, T, (K, D)>;
}

impl<'scope, T: Timestamp, D: 'static> KeyBy<'scope, T, D> for StreamVec<'scope, T, D> {
    fn key_by<K: 'static, F: FnMut(&D) -> K + 'static>(
        self,
        mut key: F,
    ) -> StreamVec<'scope, T, (K, D)> {
        self.unary(Pipeline, "KeyBy", move |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let mut session = output.session(&cap);
                    for container in data {
                        session.give_iterator(container.drain(..).map(|d| (key(&d), d)));
                    }
                });
            }
        })
    }
}
