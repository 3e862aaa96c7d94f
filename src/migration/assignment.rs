//! Which worker owns each key group, and from when: the routing table of live migration.
//!
//! A job starts with every worker owning its contiguous range of key groups
//! ([`KeyGroups::range_of`]). A migration changes the owner of some groups *at a time*: a
//! record of such a group at an earlier time goes to the old owner, one at that time or later
//! to the new owner, which applies nothing of the group before it holds the group's state as
//! of that time. The table is data, a pure function of the job's shape and its migration
//! plan, so every worker (and a restore) computes the same one.

use serde::{Deserialize, Serialize};

use crate::state::{KeyGroup, KeyGroups};
use crate::time::Time;

/// The earliest time a migration can happen: the old owner hands the state over on the
/// dataflow two milliseconds ahead of it.
pub const FIRST_MIGRATION: Time = 2;

/// The owner of every key group: `owners[g]` is the worker of group `g`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    owners: Vec<u32>,
}

/// One key group handed from one worker to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// The group.
    pub group: KeyGroup,
    /// Its owner until the move.
    pub from: usize,
    /// Its owner from the move on.
    pub to: usize,
}

impl Assignment {
    /// Every worker of `workers` owning its range of `groups`, as a job starts.
    pub fn ranges(groups: KeyGroups, workers: usize) -> Self {
        Assignment {
            owners: (0..groups.count())
                .map(|g| groups.worker_of(KeyGroup(g), workers.max(1)) as u32)
                .collect(),
        }
    }

    /// The number of key groups.
    pub fn groups(&self) -> usize {
        self.owners.len()
    }

    /// The worker that owns `group`.
    #[inline]
    pub fn owner(&self, group: KeyGroup) -> usize {
        self.owners[group.0 as usize] as usize
    }

    /// The groups `worker` owns, in order.
    pub fn groups_of(&self, worker: usize) -> Vec<KeyGroup> {
        (0..self.owners.len() as u32)
            .map(KeyGroup)
            .filter(|&g| self.owner(g) == worker)
            .collect()
    }

    /// The moves that turn this assignment into `next`, by group.
    pub fn moves_to(&self, next: &Assignment) -> Vec<Move> {
        self.owners
            .iter()
            .zip(&next.owners)
            .enumerate()
            .filter(|(_, (from, to))| from != to)
            .map(|(g, (&from, &to))| Move {
                group: KeyGroup(g as u32),
                from: from as usize,
                to: to as usize,
            })
            .collect()
    }

    /// This assignment with `moves` made.
    pub fn with(&self, moves: &[Move]) -> Assignment {
        let mut next = self.clone();
        for step in moves {
            next.owners[step.group.0 as usize] = step.to as u32;
        }
        next
    }
}

/// The assignment in force at each time: the first one, and each change from its time on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingTable {
    first: Assignment,
    /// Changes in time order, each at a distinct time of at least 1: the moves made at that
    /// time, and the assignment from then on.
    changes: Vec<(Time, Vec<Move>, Assignment)>,
}

impl RoutingTable {
    /// The key in a timely worker configuration under which a job's routing table is found
    /// (absent: key groups stay where the job started them).
    pub const CONFIG_KEY: &'static str = "weir.routing";

    /// The key under which a job keeps what its migrating operators did (an
    /// `Arc<`[`MigrationLog`](crate::migration::MigrationLog)`>`), for its report.
    pub const LOG_KEY: &'static str = "weir.routing.log";

    /// A table that never changes.
    pub fn fixed(first: Assignment) -> Self {
        RoutingTable {
            first,
            changes: Vec::new(),
        }
    }

    /// Adds the moves made at `at`, after every change so far; moves of a group to the
    /// worker that owns it already are dropped, and a change that moves nothing is none.
    ///
    /// Panics if `at` is not later than the last change, or is before
    /// [`FIRST_MIGRATION`]: schedules are built in time order.
    pub fn push(&mut self, at: Time, moves: &[Move]) {
        let last = self.last();
        assert!(
            at >= FIRST_MIGRATION,
            "a migration happens at {FIRST_MIGRATION} ms or later"
        );
        assert!(
            self.changes.last().is_none_or(|(time, _, _)| at > *time),
            "changes are pushed in time order"
        );
        let next = last.with(moves);
        let moves = last.moves_to(&next);
        if !moves.is_empty() {
            self.changes.push((at, moves, next));
        }
    }

    /// The assignment in force after every change.
    pub fn last(&self) -> &Assignment {
        self.changes.last().map_or(&self.first, |(_, _, a)| a)
    }

    /// The assignment in force at `time`.
    pub fn at(&self, time: Time) -> &Assignment {
        // The last change at or before `time`.
        let after = self.changes.partition_point(|(at, _, _)| *at <= time);
        match after {
            0 => &self.first,
            n => &self.changes[n - 1].2,
        }
    }

    /// The worker that owns `group` at `time`.
    #[inline]
    pub fn owner_at(&self, group: KeyGroup, time: Time) -> usize {
        if self.changes.is_empty() {
            return self.first.owner(group);
        }
        self.at(time).owner(group)
    }

    /// Every change: its time and the moves made then.
    pub fn changes(&self) -> impl Iterator<Item = (Time, &[Move])> {
        self.changes
            .iter()
            .map(|(at, moves, _)| (*at, moves.as_slice()))
    }

    /// Whether any group ever moves.
    pub fn is_fixed(&self) -> bool {
        self.changes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn ranges_agree_with_key_groups() {
        for workers in 1..=5 {
            let groups = KeyGroups::new(64);
            let assignment = Assignment::ranges(groups, workers);
            for g in 0..64 {
                assert_eq!(
                    assignment.owner(KeyGroup(g)),
                    groups.worker_of(KeyGroup(g), workers)
                );
            }
        }
    }

    #[test]
    fn each_time_routes_by_the_last_change_at_or_before_it() {
        // A seed of the clock's, printed with every failure.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng = SmallRng::seed_from_u64(seed);
        let workers = rng.gen_range(2..=4);
        let mut table = RoutingTable::fixed(Assignment::ranges(KeyGroups::new(16), workers));
        // A reference: the owner of every group at every time up to 100, changed by hand.
        let mut owners: Vec<Vec<usize>> =
            vec![(0..16).map(|g| table.at(0).owner(KeyGroup(g))).collect()];
        let mut at = 0;
        while at < 90 {
            at += rng.gen_range(FIRST_MIGRATION..10);
            let moves: Vec<Move> = (0..rng.gen_range(0..4))
                .map(|_| {
                    let group = KeyGroup(rng.gen_range(0..16));
                    Move {
                        group,
                        from: table.last().owner(group),
                        to: rng.gen_range(0..workers),
                    }
                })
                .collect();
            table.push(at, &moves);
            let mut next = owners.last().expect("a row").clone();
            for step in &moves {
                next[step.group.0 as usize] = step.to;
            }
            owners.resize(at as usize, owners.last().expect("a row").clone());
            owners.push(next);
        }
        let end = owners.len();
        for time in 0..end + 10 {
            let row = &owners[time.min(end - 1)];
            for g in 0..16 {
                assert_eq!(
                    table.owner_at(KeyGroup(g), time as Time),
                    row[g as usize],
                    "seed {seed}: group {g} at {time}"
                );
            }
        }
        for (at, moves) in table.changes() {
            assert!(!moves.is_empty(), "seed {seed}: an empty change at {at}");
            for step in moves {
                assert_ne!(step.from, step.to, "seed {seed}: a move to its own owner");
                assert_eq!(table.owner_at(step.group, at - 1), step.from);
                assert_eq!(table.owner_at(step.group, at), step.to);
            }
        }
    }
}
