//! Operators: extension traits on timely streams, one per file.
//!
//! Stateless work uses timely's own operators (`map`, `filter`, `flat_map`, `inspect`,
//! `exchange`); weir adds the keyed, stateful ones. Keyed operators take streams of
//! `(key, value)` pairs (see [`KeyBy`]), route them to the worker that owns the key's group,
//! and apply them in timestamp order, so their results do not depend on the number of
//! workers.

mod aggregate;
mod aggregator;
mod arrange_state;
mod changelog_per_time;
mod drive_keyed;
mod enter_collection;
mod fold_per_time;
mod join;
mod key_by;
mod leave_collection;
mod lookup_join;
mod migrate_keyed;
mod process_keyed;
mod reduce;
mod routing;
mod session_window;
mod side;
mod stash;
mod top_k;
mod update_state;
mod window_join;

pub use aggregate::{Aggregate, WindowRecord, Windowed};
pub use aggregator::{Aggregator, Count, CountDistinct, DistinctValues, Max, Sum};
pub use arrange_state::{ArrangeSides, ArrangeState};
pub use changelog_per_time::ChangelogPerTime;
pub use drive_keyed::{DriveKeyed, KeyedLogic, KeyedOutput};
pub use enter_collection::{EnterChanges, EnterCollection};
pub use fold_per_time::FoldPerTime;
pub use join::{Join, JoinSides};
pub use key_by::KeyBy;
pub use leave_collection::LeaveCollection;
pub use lookup_join::LookupJoin;
pub use process_keyed::{KeyedProcess, ProcessKeyed};
pub use reduce::Reduce;
pub use routing::{key_groups_of, KeyedRecord};
pub use session_window::SessionWindows;
pub use side::Side;
pub use top_k::{TopK, TopKPerWindow};
pub use update_state::UpdateState;
pub use window_join::{WindowCogroupSides, WindowJoin};
