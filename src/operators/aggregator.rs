//! Aggregators: what a windowed aggregation computes per key and window.
//!
//! An aggregation runs in two phases: each worker folds its own records into partial
//! accumulators, and the worker that owns a key merges the partials and computes the result.
//! So an aggregator's `add` and `merge` must be commutative and associative; for
//! order-sensitive logic use [`UpdateState`](crate::operators::UpdateState).

use std::marker::PhantomData;
use std::ops::AddAssign;

use timely::ExchangeData;

/// What an aggregation computes per key and window.
pub trait Aggregator<V>: Clone + 'static {
    /// The partial aggregate; partials travel between workers.
    type Acc: ExchangeData + Clone + Default;
    /// The result for one key and window.
    type Output: 'static;
    /// Folds one value into an accumulator.
    fn add(&self, acc: &mut Self::Acc, value: V);
    /// Folds another accumulator into `acc`.
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc);
    /// The result of an accumulator that has seen at least one value.
    fn result(&self, acc: &Self::Acc) -> Self::Output;
}

/// Counts records.
///
/// ```
/// use weir::operators::{Aggregator, Count};
/// let mut acc = 0;
/// Aggregator::<&str>::add(&Count, &mut acc, "x");
/// Aggregator::<&str>::add(&Count, &mut acc, "y");
/// assert_eq!(Aggregator::<&str>::result(&Count, &acc), 2);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Count;

impl<V> Aggregator<V> for Count {
    type Acc = u64;
    type Output = u64;
    #[inline]
    fn add(&self, acc: &mut u64, _value: V) {
        *acc += 1;
    }
    #[inline]
    fn merge(&self, acc: &mut u64, other: &u64) {
        *acc += *other;
    }
    #[inline]
    fn result(&self, acc: &u64) -> u64 {
        *acc
    }
}

/// Sums values.
///
/// ```
/// use weir::operators::{Aggregator, Sum};
/// let sum = Sum::<u64>::new();
/// let mut acc = 0;
/// sum.add(&mut acc, 3);
/// sum.add(&mut acc, 4);
/// assert_eq!(sum.result(&acc), 7);
/// ```
#[derive(Debug)]
pub struct Sum<V>(PhantomData<fn(V)>);

impl<V> Sum<V> {
    /// A sum of `V`s.
    pub fn new() -> Self {
        Sum(PhantomData)
    }
}

impl<V> Default for Sum<V> {
    fn default() -> Self {
        Sum::new()
    }
}

impl<V> Clone for Sum<V> {
    fn clone(&self) -> Self {
        Sum::new()
    }
}

impl<V> Aggregator<V> for Sum<V>
where
    V: ExchangeData + Clone + Default + for<'a> AddAssign<&'a V>,
{
    type Acc = V;
    type Output = V;
    #[inline]
    fn add(&self, acc: &mut V, value: V) {
        *acc += &value;
    }
    #[inline]
    fn merge(&self, acc: &mut V, other: &V) {
        *acc += other;
    }
    fn result(&self, acc: &V) -> V {
        acc.clone()
    }
}

/// The largest value.
///
/// ```
/// use weir::operators::{Aggregator, Max};
/// let max = Max::<u64>::new();
/// let mut acc = None;
/// max.add(&mut acc, 3);
/// max.add(&mut acc, 9);
/// max.add(&mut acc, 4);
/// assert_eq!(max.result(&acc), 9);
/// ```
#[derive(Debug)]
pub struct Max<V>(PhantomData<fn(V)>);

impl<V> Max<V> {
    /// The maximum of `V`s.
    pub fn new() -> Self {
        Max(PhantomData)
    }
}

impl<V> Default for Max<V> {
    fn default() -> Self {
        Max::new()
    }
}

impl<V> Clone for Max<V> {
    fn clone(&self) -> Self {
        Max::new()
    }
}

impl<V> Aggregator<V> for Max<V>
where
    V: ExchangeData + Clone + Ord + Default,
{
    type Acc = Option<V>;
    type Output = V;
    #[inline]
    fn add(&self, acc: &mut Option<V>, value: V) {
        match acc {
            Some(current) if *current >= value => {}
            _ => *acc = Some(value),
        }
    }
    fn merge(&self, acc: &mut Option<V>, other: &Option<V>) {
        if let Some(value) = other {
            self.add(acc, value.clone());
        }
    }
    fn result(&self, acc: &Option<V>) -> V {
        acc.clone().unwrap_or_default()
    }
}

/// The distinct values an aggregation has seen: [`CountDistinct`]'s accumulator.
pub type DistinctValues<V> = std::collections::HashSet<V, foldhash::fast::RandomState>;

/// Counts distinct values (NEXMark q15-q16's distinct bidders and auctions): the
/// accumulator is the set of values seen, so partials from several workers merge exactly.
///
/// ```
/// use weir::operators::{Aggregator, CountDistinct};
/// let distinct = CountDistinct::<u64>::new();
/// let (mut here, mut there) = (Default::default(), Default::default());
/// for value in [1, 2, 2] { distinct.add(&mut here, value); }
/// for value in [2, 3] { distinct.add(&mut there, value); }
/// distinct.merge(&mut here, &there);
/// assert_eq!(distinct.result(&here), 3);
/// ```
#[derive(Debug)]
pub struct CountDistinct<V>(PhantomData<fn(V)>);

impl<V> CountDistinct<V> {
    /// A distinct count of `V`s.
    pub fn new() -> Self {
        CountDistinct(PhantomData)
    }
}

impl<V> Default for CountDistinct<V> {
    fn default() -> Self {
        CountDistinct::new()
    }
}

impl<V> Clone for CountDistinct<V> {
    fn clone(&self) -> Self {
        CountDistinct::new()
    }
}

impl<V> Aggregator<V> for CountDistinct<V>
where
    V: ExchangeData + Clone + Eq + std::hash::Hash,
{
    type Acc = DistinctValues<V>;
    type Output = u64;
    #[inline]
    fn add(&self, acc: &mut DistinctValues<V>, value: V) {
        acc.insert(value);
    }
    fn merge(&self, acc: &mut DistinctValues<V>, other: &DistinctValues<V>) {
        acc.extend(other.iter().cloned());
    }
    fn result(&self, acc: &DistinctValues<V>) -> u64 {
        acc.len() as u64
    }
}
