//! A job's migration settings (`--migrate-at`, `--migration`, `--migration-step`) as plain
//! data recorded with its results, and the routing table they make for a shape.

use serde::{Deserialize, Serialize};

use crate::migration::{
    parse_migrations, schedule, Assignment, PlanError, RoutingTable, Strategy, Target,
};
use crate::state::KeyGroups;
use crate::time::Time;

/// Planned migrations of a job.
///
/// ```
/// use weir::migration::{MigrationSpec, Strategy};
/// use weir::state::{KeyGroup, KeyGroups};
///
/// let spec = MigrationSpec::new("5s:reverse", Strategy::Fluid, 1).unwrap();
/// let table = spec.table(KeyGroups::new(4), 2).unwrap();
/// // Four groups, one a millisecond from 5 s on: group 0 moves first, group 3 last.
/// assert_eq!(table.owner_at(KeyGroup(0), 5000), 1);
/// assert_eq!(table.owner_at(KeyGroup(3), 5002), 1);
/// assert_eq!(table.owner_at(KeyGroup(3), 5003), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationSpec {
    /// `WHEN:PLAN[,WHEN:PLAN...]`, as given.
    pub plan: String,
    /// How each migration's moves are spread (`all-at-once`, `fluid`, `batched:N`).
    pub strategy: String,
    /// Event-time milliseconds between two steps of a migration.
    pub step_ms: Time,
}

impl MigrationSpec {
    /// Checks `plan` and keeps it with `strategy` and `step_ms`.
    pub fn new(plan: &str, strategy: Strategy, step_ms: Time) -> Result<Self, PlanError> {
        let planned = parse_migrations(plan)?;
        if let Some(balance) = planned.iter().find(|p| p.target == Target::Balance) {
            return Err(PlanError::OutOfRange {
                at: balance.at,
                why: "`balance` moves groups by measured load, which a planned migration does not \
                      have yet: use reverse or explicit moves (gA-gB>wN)"
                    .to_string(),
            });
        }
        Ok(MigrationSpec {
            plan: plan.to_string(),
            strategy: strategy.to_string(),
            step_ms: step_ms.max(1),
        })
    }

    /// The routing table of a job of `workers` workers in all.
    pub fn table(&self, groups: KeyGroups, workers: usize) -> Result<RoutingTable, PlanError> {
        let planned = parse_migrations(&self.plan)?;
        let strategy: Strategy = self.strategy.parse()?;
        schedule(
            Assignment::ranges(groups, workers),
            workers,
            &planned,
            strategy,
            self.step_ms,
            |_, _| Vec::new(),
        )
    }
}
