//! Operators: extension traits on timely streams, one per file.
//!
//! Stateless work uses timely's own operators (`map`, `filter`, `flat_map`, `inspect`,
//! `exchange`); weir adds the keyed, stateful ones. Keyed operators take streams of
//! `(key, value)` pairs (see [`KeyBy`]), route them to the worker that owns the key's group,
//! and apply them in timestamp order, so their results do not depend on the number of
//! workers.

mod aggregate;
mod aggregator;
mod key_by;
mod reduce;
mod routing;
mod stash;
mod update_state;

pub use aggregate::{Aggregate, Windowed};
pub use aggregator::{Aggregator, Count, Max, Sum};
pub use key_by::KeyBy;
pub use reduce::Reduce;
pub use routing::key_groups_of;
pub(crate) use stash::frontier_time;
pub use update_state::UpdateState;
