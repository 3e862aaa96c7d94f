//! Top-k with ties: the [`TopK`] aggregator, and `top_k_per_window` over windowed results.
//!
//! "The k best" keeps every record whose score is at least the k-th best score, so ties at
//! the boundary are all kept (`k = 1` is max-with-ties, as NEXMark q5 and q7 ask). Keeping
//! ties makes the result independent of arrival order, and the partial results merge
//! associatively, so it runs as a two-phase [`Aggregate`](crate::operators::Aggregate).

use std::hash::Hash;

use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::{Aggregate, Aggregator, Windowed};
use crate::time::{Time, Window};

/// The records with the `k` best scores (highest first), ties included.
///
/// ```
/// use weir::operators::{Aggregator, TopK};
/// let best = TopK::new(2, |x: &(char, u32)| x.1);
/// let mut acc = Vec::new();
/// for record in [('a', 5), ('b', 9), ('c', 5), ('d', 1)] {
///     best.add(&mut acc, record);
/// }
/// let mut top = best.result(&acc);
/// top.sort();
/// // 9, then 5 twice: the tie at the second-best score keeps both.
/// assert_eq!(top, vec![('a', 5), ('b', 9), ('c', 5)]);
/// ```
#[derive(Clone, Debug)]
pub struct TopK<F> {
    k: usize,
    score: F,
}

impl<F> TopK<F> {
    /// The records with the `k` (at least 1) best `score`s.
    pub fn new(k: usize, score: F) -> Self {
        TopK { k: k.max(1), score }
    }

    /// Keeps only the records scoring at least the k-th best, best first.
    fn prune<V, S: Ord>(&self, records: &mut Vec<V>)
    where
        F: Fn(&V) -> S,
    {
        if records.len() <= self.k {
            return;
        }
        records.sort_by_key(|record| std::cmp::Reverse((self.score)(record)));
        let kth = (self.score)(&records[self.k - 1]);
        let keep = self.k
            + records[self.k..]
                .iter()
                .take_while(|record| (self.score)(record) >= kth)
                .count();
        records.truncate(keep);
    }

    /// Prunes only once the accumulator has grown well past `k`, so adding stays cheap.
    fn prune_if_large<V, S: Ord>(&self, records: &mut Vec<V>)
    where
        F: Fn(&V) -> S,
    {
        if records.len() > 2 * self.k + 16 {
            self.prune(records);
        }
    }
}

impl<V, S, F> Aggregator<V> for TopK<F>
where
    V: ExchangeData + Clone,
    S: Ord,
    F: Fn(&V) -> S + Clone + 'static,
{
    type Acc = Vec<V>;
    type Output = Vec<V>;

    fn add(&self, acc: &mut Vec<V>, value: V) {
        acc.push(value);
        self.prune_if_large(acc);
    }

    fn merge(&self, acc: &mut Vec<V>, other: &Vec<V>) {
        acc.extend(other.iter().cloned());
        self.prune_if_large(acc);
    }

    fn result(&self, acc: &Vec<V>) -> Vec<V> {
        let mut top = acc.clone();
        self.prune(&mut top);
        top
    }
}

/// Extension trait for the best results of each window.
pub trait TopKPerWindow<'scope, K, V> {
    /// Of the windowed results (of an [`Aggregate`]) of each window, keeps those with the
    /// `k` best `score`s, ties included, at the time they had. `name` is the operator's id.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::vec::Map;
    /// use weir::sources::ToTimedStream;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{Aggregate, Count, TopKPerWindow};
    /// use weir::time::Window;
    ///
    /// let captured = timely::example(|scope| {
    ///     // Bids on items at 1..=6 ms; the most bid-on items per 10 ms window.
    ///     vec![(1u64, "pen"), (2, "cup"), (3, "pen"), (4, "cup"), (5, "hat"), (6, "hat")]
    ///         .to_timed_stream(scope)
    ///         .map(|item| (item.to_string(), ()))
    ///         .aggregate("bids per item", Window::tumbling(10), Count)
    ///         .top_k_per_window("hottest", 1, |result| result.value)
    ///         .capture()
    /// });
    /// let mut hottest: Vec<String> = captured
    ///     .extract()
    ///     .into_iter()
    ///     .flat_map(|(_, results)| results)
    ///     .map(|r| r.key)
    ///     .collect();
    /// hottest.sort();
    /// assert_eq!(hottest, vec!["cup", "hat", "pen"]); // a three-way tie at 2 bids
    /// ```
    fn top_k_per_window<S, F>(
        self,
        name: &str,
        k: usize,
        score: F,
    ) -> StreamVec<'scope, Time, Windowed<K, V>>
    where
        S: Ord,
        F: Fn(&Windowed<K, V>) -> S + Clone + 'static;
}

impl<'scope, K, V> TopKPerWindow<'scope, K, V> for StreamVec<'scope, Time, Windowed<K, V>>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: ExchangeData + Clone,
{
    fn top_k_per_window<S, F>(
        self,
        name: &str,
        k: usize,
        score: F,
    ) -> StreamVec<'scope, Time, Windowed<K, V>>
    where
        S: Ord,
        F: Fn(&Windowed<K, V>) -> S + Clone + 'static,
    {
        // A window's results all carry its last time, so a 1 ms window gathers exactly them.
        self.map(|result| (result.window, result))
            .aggregate(name, Window::tumbling(1), TopK::new(k, score))
            .flat_map(|best| best.value)
    }
}
