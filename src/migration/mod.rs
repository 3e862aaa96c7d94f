//! Live migration: moving key groups among the running workers at a time, without
//! stopping the job.
//!
//! timely's worker set is fixed for a run, but which worker owns which key group need not
//! be. The assignment of groups to workers is data with a time ([`RoutingTable`]): from time
//! `T` on, groups `K` belong to worker `b`. A record of a moving group is routed by the
//! assignment in force at its own time, the old owner hands over the group's state as of `T`
//! (everything before `T` applied, what was due by `T` fired) through the dataflow, and the
//! new owner applies nothing of the group at or after `T` before it holds that state.
//!
//! This module is the decision layer, pure functions over data: the table ([`assignment`])
//! and the plans and strategies that build it ([`plan`]), as Megaphone (VLDB 2019) names
//! them: all at once, fluid (one group at a time) and batched; and what a run logs of its
//! migrations ([`log`]). docs/architecture.md
//! ("Live migration") describes the protocol.

pub mod assignment;
pub mod log;
pub mod plan;
pub mod spec;

pub use assignment::{Assignment, Move, RoutingTable};
pub use log::{MigrationLog, StepTimes};
pub use plan::{parse_migrations, schedule, PlanError, Planned, Strategy, Target, DEFAULT_BATCH};
pub use spec::MigrationSpec;
