//! Records at given event times: for examples, tests and small fixed inputs.

use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};

use crate::time::Time;

/// Extension trait turning `(time, record)` pairs into a stream.
pub trait ToTimedStream<D> {
    /// Emits each record at its time, from worker 0, earliest first; the frontier follows
    /// the times and closes after the last.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(5u64, 'b'), (0, 'a'), (5, 'c')].to_timed_stream(scope).capture()
    /// });
    /// assert_eq!(captured.extract(), vec![(0, vec!['a']), (5, vec!['b', 'c'])]);
    /// ```
    fn to_timed_stream<'scope>(self, scope: Scope<'scope, Time>) -> StreamVec<'scope, Time, D>;
}

impl<D: 'static, I: IntoIterator<Item = (Time, D)>> ToTimedStream<D> for I {
    fn to_timed_stream<'scope>(self, scope: Scope<'scope, Time>) -> StreamVec<'scope, Time, D> {
        let mut records: Vec<(Time, D)> = if scope.index() == 0 {
            self.into_iter().collect()
        } else {
            Vec::new()
        };
        // Stable, so records of one time keep their order.
        records.sort_by_key(|(time, _)| *time);
        source(scope, "Timed", move |cap, _| {
            let mut cap = Some(cap);
            let mut records = records.into_iter().peekable();
            move |output| {
                if let Some(held) = cap.as_mut() {
                    while let Some(&(time, _)) = records.peek() {
                        held.downgrade(&time);
                        let mut session = output.session(held);
                        while let Some((_, record)) = records.next_if(|(t, _)| *t == time) {
                            session.give(record);
                        }
                    }
                }
                cap = None;
            }
        })
    }
}
