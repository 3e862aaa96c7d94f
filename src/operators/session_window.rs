//! `session_aggregate`: per-key session windows over event time, with an aggregate each.
//!
//! A session of a key is a run of its records in which each follows the previous by less
//! than `gap`; it is the window `[first, last + gap)` and is final when the frontier reaches
//! `last + gap`. Built on [`ProcessKeyed`]: the open session is the key's state and its end
//! the key's deadline, so sessions are snapshotted and restored like any keyed state.

use std::hash::Hash;

use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::{Aggregator, KeyedProcess, KeyedRecord, ProcessKeyed, Windowed};
use crate::time::{Time, WindowBounds};

/// Extension trait for session windows per key.
pub trait SessionWindows<'scope, K, V> {
    /// Aggregates each key's records per session (records less than `gap` milliseconds
    /// apart), emitting one [`Windowed`] result per session at time `end - 1` once the
    /// frontier reaches the session's end, `last + gap`. `name` is the operator's stable id.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::vec::Map;
    /// use weir::sources::ToTimedStream;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{Count, SessionWindows};
    ///
    /// let captured = timely::example(|scope| {
    ///     // Clicks of one user at 0, 3 and 20 ms; sessions end after 10 ms of quiet.
    ///     vec![(0u64, "ann"), (3, "ann"), (20, "ann")]
    ///         .to_timed_stream(scope)
    ///         .map(|user| (user.to_string(), ()))
    ///         .session_aggregate("sessions", 10, Count)
    ///         .capture()
    /// });
    /// let sessions: Vec<(i64, u64, u64)> = captured
    ///     .extract()
    ///     .into_iter()
    ///     .flat_map(|(_, results)| results)
    ///     .map(|r| (r.window.start, r.window.end, r.value))
    ///     .collect();
    /// assert_eq!(sessions, vec![(0, 13, 2), (20, 30, 1)]);
    /// ```
    fn session_aggregate<A: Aggregator<V>>(
        self,
        name: &str,
        gap: Time,
        aggregator: A,
    ) -> StreamVec<'scope, Time, Windowed<K, A::Output>>;
}

/// For `(key, value)` pairs at their message's time, and for [`Timed`](crate::time::Timed)
/// pairs, each at its own time: a source can then send many milliseconds per message.
impl<'scope, R> SessionWindows<'scope, R::Key, R::Value> for StreamVec<'scope, Time, R>
where
    R: KeyedRecord,
    R::Key: ExchangeData + Hash + Eq + Clone,
{
    fn session_aggregate<A: Aggregator<R::Value>>(
        self,
        name: &str,
        gap: Time,
        aggregator: A,
    ) -> StreamVec<'scope, Time, Windowed<R::Key, A::Output>> {
        self.process_keyed(
            name,
            Sessions {
                gap: gap.max(1),
                aggregator,
            },
        )
    }
}

/// A key's open session.
#[derive(Clone, Serialize, Deserialize)]
pub struct OpenSession<Acc> {
    start: Time,
    last: Time,
    acc: Acc,
}

struct Sessions<A> {
    gap: Time,
    aggregator: A,
}

impl<K, V, A> KeyedProcess<K, V> for Sessions<A>
where
    K: Clone + 'static,
    A: Aggregator<V>,
{
    type State = Option<OpenSession<A::Acc>>;
    type Output = Windowed<K, A::Output>;

    fn on_record(
        &mut self,
        _key: &K,
        state: &mut Self::State,
        value: V,
        time: Time,
        _output: &mut Vec<Self::Output>,
    ) {
        // An open session is one the record extends: it would have closed by now otherwise.
        let session = state.get_or_insert_with(|| OpenSession {
            start: time,
            last: time,
            acc: A::Acc::default(),
        });
        session.last = session.last.max(time);
        self.aggregator.add(&mut session.acc, value);
    }

    fn deadline(&self, state: &Self::State) -> Option<Time> {
        state
            .as_ref()
            .map(|session| session.last.saturating_add(self.gap))
    }

    fn on_deadline(
        &mut self,
        key: &K,
        state: &mut Self::State,
        deadline: Time,
        output: &mut Vec<Self::Output>,
    ) -> bool {
        if let Some(session) = state.take() {
            output.push(Windowed {
                key: key.clone(),
                window: WindowBounds {
                    start: i64::try_from(session.start).unwrap_or(i64::MAX),
                    end: deadline,
                },
                value: self.aggregator.result(&session.acc),
            });
        }
        false
    }
}
