//! `lookup_join`: each record joined with the rows of a bounded [`SideTable`] under its key,
//! as Flink's lookup joins against a dimension table (NEXMark q13).
//!
//! Stateless and local: every worker holds the whole table, so records stay where they are
//! and nothing is snapshotted; a record without rows is dropped, a key with several rows
//! joins once per row.

use std::hash::Hash;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;
use timely::progress::Timestamp;

use crate::sources::SideTable;

/// Extension trait for joins with a side table.
pub trait LookupJoin<'scope, T: Timestamp, D> {
    /// Joins each record with every row of `table` under `key(record)`, emitting
    /// `join(record, row)` at the record's time.
    ///
    /// ```
    /// use timely::dataflow::operators::{Capture, ToStream};
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::LookupJoin;
    /// use weir::sources::SideTable;
    ///
    /// let table = SideTable::from_rows([(0, "even"), (1, "odd"), (1, "not even")]);
    /// let captured = timely::example(move |scope| {
    ///     (1..=3u64)
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .lookup_join(table, |n| n % 2, |n, row| format!("{n} is {row}"))
    ///         .capture()
    /// });
    /// let mut joined: Vec<String> = captured.extract().into_iter().flat_map(|(_, r)| r).collect();
    /// joined.sort();
    /// assert_eq!(joined, ["1 is not even", "1 is odd", "2 is even", "3 is not even", "3 is odd"]);
    /// ```
    fn lookup_join<K, V, O, F, J>(
        self,
        table: SideTable<K, V>,
        key: F,
        join: J,
    ) -> StreamVec<'scope, T, O>
    where
        K: Hash + Eq + 'static,
        V: 'static,
        O: 'static,
        F: FnMut(&D) -> K + 'static,
        J: FnMut(&D, &V) -> O + 'static;
}

impl<'scope, T: Timestamp, D: 'static> LookupJoin<'scope, T, D> for StreamVec<'scope, T, D> {
    fn lookup_join<K, V, O, F, J>(
        self,
        table: SideTable<K, V>,
        mut key: F,
        mut join: J,
    ) -> StreamVec<'scope, T, O>
    where
        K: Hash + Eq + 'static,
        V: 'static,
        O: 'static,
        F: FnMut(&D) -> K + 'static,
        J: FnMut(&D, &V) -> O + 'static,
    {
        self.unary(Pipeline, "LookupJoin", move |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let mut session = output.session(&cap);
                    for container in data {
                        for record in container.drain(..) {
                            let rows = table.rows(&key(&record));
                            session.give_iterator(rows.iter().map(|row| join(&record, row)));
                        }
                    }
                });
            }
        })
    }
}
