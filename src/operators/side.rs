//! `Side`: a record from one of two inputs, for operators that key two streams together.

use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Concat;
use timely::dataflow::StreamVec;

use crate::time::Time;

/// A record of the left or the right input of a two-input keyed operator.
///
/// ```
/// use weir::operators::Side;
/// let sides: Vec<Side<u32, &str>> = vec![Side::Left(1), Side::Right("a")];
/// assert!(matches!(sides[1], Side::Right("a")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side<A, B> {
    /// From the left input.
    Left(A),
    /// From the right input.
    Right(B),
}

/// One keyed stream of both inputs' records, each marked with its side: what two-input
/// keyed operators (joins) route and keep state by.
pub(crate) fn both_sides<'scope, K: 'static, A: 'static, B: 'static>(
    lefts: StreamVec<'scope, Time, (K, A)>,
    rights: StreamVec<'scope, Time, (K, B)>,
) -> StreamVec<'scope, Time, (K, Side<A, B>)> {
    let lefts = lefts.map(|(key, a)| (key, Side::Left(a)));
    let rights = rights.map(|(key, b)| (key, Side::Right(b)));
    lefts.concat(rights)
}
