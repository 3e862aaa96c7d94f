//! `Side`: a record from one of two inputs, for operators that key two streams together.

use serde::{Deserialize, Serialize};

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
