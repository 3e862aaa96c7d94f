//! Migration plans (`--migrate-at WHEN:PLAN[,WHEN:PLAN...]`) and strategies
//! (`--migration all-at-once|fluid|batched[:N]`), and the pure function that turns them into
//! a [`RoutingTable`].
//!
//! A plan says where key groups should end up: `reverse` (every group to the mirror of its
//! owner, worker `W-1-w`), `balance` (groups moved off the busiest workers until the
//! measured load is as even as whole groups allow), or explicit moves `g0-g63>w1` (several
//! joined by `+`). A strategy says how the moves are spread over time, as Megaphone names
//! them: all at once at `WHEN`, fluid (one group at a time) or batched (N at a time), one
//! step every `step` milliseconds of event time from `WHEN` on.

use std::fmt;
use std::str::FromStr;

use crate::migration::assignment::{Assignment, Move, RoutingTable, FIRST_MIGRATION};
use crate::state::KeyGroup;
use crate::time::Time;
use crate::units::parse_duration;

/// Why a migration plan or strategy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The text does not say a plan.
    #[error("{text:?} is not a migration ({why}); expected WHEN:PLAN, e.g. 5s:reverse, 5s:balance or 5s:g0-g63>w1+g64-g127>w0")]
    Syntax {
        /// The text given.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// A plan that names groups or workers the job does not have.
    #[error("migration at {at} ms: {why}")]
    OutOfRange {
        /// When it was planned.
        at: Time,
        /// What it names that is not there.
        why: String,
    },
    /// A strategy that is not one.
    #[error("{0:?} is not a migration strategy: all-at-once, fluid or batched[:N]")]
    Strategy(String),
}

/// Where a migration sends key groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every group to the mirror of its owner: worker `w` of `W` hands its groups to `W-1-w`.
    Reverse,
    /// Groups off the busiest workers until the measured load is as even as whole groups
    /// allow.
    Balance,
    /// Groups `first..=last` to a worker, for each range listed.
    Moves(Vec<(u32, u32, usize)>),
}

/// One planned migration: at event time `at`, towards `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The event time it starts at, in milliseconds.
    pub at: Time,
    /// Where the groups go.
    pub target: Target,
}

/// How the moves of a migration are spread over time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Every move at the planned time.
    #[default]
    AllAtOnce,
    /// One group at a time.
    Fluid,
    /// This many groups at a time.
    Batched(usize),
}

/// Groups a batched migration moves at a time unless told.
pub const DEFAULT_BATCH: usize = 16;

impl FromStr for Strategy {
    type Err = PlanError;

    fn from_str(text: &str) -> Result<Self, PlanError> {
        let bad = || PlanError::Strategy(text.to_string());
        match text.split_once(':') {
            None => match text {
                "all-at-once" => Ok(Strategy::AllAtOnce),
                "fluid" => Ok(Strategy::Fluid),
                "batched" => Ok(Strategy::Batched(DEFAULT_BATCH)),
                _ => Err(bad()),
            },
            Some(("batched", size)) => match size.parse::<usize>() {
                Ok(size) if size > 0 => Ok(Strategy::Batched(size)),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::AllAtOnce => f.write_str("all-at-once"),
            Strategy::Fluid => f.write_str("fluid"),
            Strategy::Batched(size) => write!(f, "batched:{size}"),
        }
    }
}

impl Strategy {
    /// The groups moved at each step.
    fn step_size(self, moves: usize) -> usize {
        match self {
            Strategy::AllAtOnce => moves.max(1),
            Strategy::Fluid => 1,
            Strategy::Batched(size) => size,
        }
    }
}

/// Parses `WHEN:PLAN[,WHEN:PLAN...]`, in time order.
///
/// ```
/// use weir::migration::{parse_migrations, Target};
///
/// let planned = parse_migrations("5s:reverse,8s:g0-g63>w1+g64>w0").unwrap();
/// assert_eq!(planned[0].at, 5000);
/// assert_eq!(planned[0].target, Target::Reverse);
/// assert_eq!(planned[1].target, Target::Moves(vec![(0, 63, 1), (64, 64, 0)]));
/// assert!(parse_migrations("5s:sideways").is_err());
/// assert!(parse_migrations("8s:reverse,5s:reverse").is_err());
/// ```
pub fn parse_migrations(text: &str) -> Result<Vec<Planned>, PlanError> {
    let mut planned: Vec<Planned> = Vec::new();
    for part in text.split(',') {
        let syntax = |why: &str| PlanError::Syntax {
            text: part.to_string(),
            why: why.to_string(),
        };
        let (when, plan) = part.split_once(':').ok_or_else(|| syntax("no `:`"))?;
        let at = parse_duration(when.trim()).map_err(|e| syntax(&e))?;
        let at = at.as_millis() as Time;
        if at == 0 {
            return Err(syntax("a migration happens after time 0"));
        }
        if planned.last().is_some_and(|last| last.at >= at) {
            return Err(syntax(
                "migrations are listed in time order, at distinct times",
            ));
        }
        let target = match plan.trim() {
            "reverse" => Target::Reverse,
            "balance" => Target::Balance,
            moves => Target::Moves(
                moves
                    .split('+')
                    .map(|one| parse_move(one).ok_or_else(|| syntax("a move is gA[-gB]>wN")))
                    .collect::<Result<_, _>>()?,
            ),
        };
        planned.push(Planned { at, target });
    }
    Ok(planned)
}

/// `gA-gB>wN` or `gA>wN`.
fn parse_move(text: &str) -> Option<(u32, u32, usize)> {
    let (groups, worker) = text.trim().split_once('>')?;
    let worker = worker.trim().strip_prefix('w')?.parse().ok()?;
    let group = |g: &str| g.trim().strip_prefix('g')?.parse::<u32>().ok();
    let (first, last) = match groups.split_once('-') {
        Some((first, last)) => (group(first)?, group(last)?),
        None => (group(groups)?, group(groups)?),
    };
    (first <= last).then_some((first, last, worker))
}

impl Target {
    /// The moves that take `current` to this target on `workers` workers; `load` is the
    /// measured load of each group (records since the last migration), for `balance`.
    pub fn moves(
        &self,
        current: &Assignment,
        workers: usize,
        load: &[u64],
    ) -> Result<Vec<Move>, String> {
        let groups = current.groups();
        let moves = match self {
            Target::Reverse => (0..groups as u32)
                .map(KeyGroup)
                .map(|group| {
                    let from = current.owner(group);
                    Move {
                        group,
                        from,
                        to: workers - 1 - from.min(workers - 1),
                    }
                })
                .collect(),
            Target::Balance => balance(current, workers, load),
            Target::Moves(ranges) => {
                let mut moves = Vec::new();
                for &(first, last, to) in ranges {
                    if last as usize >= groups {
                        return Err(format!("the job has key groups g0-g{}", groups - 1));
                    }
                    if to >= workers {
                        return Err(format!("the job has workers w0-w{}", workers - 1));
                    }
                    moves.extend((first..=last).map(KeyGroup).map(|group| Move {
                        group,
                        from: current.owner(group),
                        to,
                    }));
                }
                moves
            }
        };
        Ok(moves.into_iter().filter(|m| m.from != m.to).collect())
    }
}

/// Moves groups, heaviest first, from the most loaded worker to the least loaded one while
/// that makes the larger of the two lighter: a greedy evening-out of measured load.
fn balance(current: &Assignment, workers: usize, load: &[u64]) -> Vec<Move> {
    let load_of = |g: usize| load.get(g).copied().unwrap_or(0);
    let mut totals = vec![0u64; workers];
    let mut owners: Vec<usize> = (0..current.groups())
        .map(|g| current.owner(KeyGroup(g as u32)).min(workers - 1))
        .collect();
    for (g, &owner) in owners.iter().enumerate() {
        totals[owner] += load_of(g);
    }
    // Each move lowers the maximum pair strictly, so this ends; bounded anyway.
    for _ in 0..owners.len() {
        let busiest = (0..workers).max_by_key(|&w| totals[w]).unwrap_or(0);
        let idlest = (0..workers).min_by_key(|&w| totals[w]).unwrap_or(0);
        let gap = totals[busiest] - totals[idlest];
        // The heaviest group of the busiest worker that closes part of the gap.
        let candidate = (0..owners.len())
            .filter(|&g| owners[g] == busiest && load_of(g) > 0 && load_of(g) < gap)
            .max_by_key(|&g| load_of(g));
        let Some(g) = candidate else { break };
        totals[busiest] -= load_of(g);
        totals[idlest] += load_of(g);
        owners[g] = idlest;
    }
    owners
        .iter()
        .enumerate()
        .map(|(g, &to)| Move {
            group: KeyGroup(g as u32),
            from: current.owner(KeyGroup(g as u32)),
            to,
        })
        .collect()
}

/// The routing table of a job on `workers` workers that starts from `first` and makes the
/// `planned` migrations with `strategy`, a step every `step` ms; `load` is each group's
/// measured load at each migration (for `balance`; empty otherwise).
///
/// ```
/// use weir::migration::{parse_migrations, schedule, Assignment, Strategy};
/// use weir::state::{KeyGroup, KeyGroups};
///
/// let first = Assignment::ranges(KeyGroups::new(8), 2);
/// let planned = parse_migrations("10ms:reverse").unwrap();
/// let table = schedule(first, 2, &planned, Strategy::Batched(3), 5, |_, _| Vec::new()).unwrap();
/// // Eight groups change owner, three every 5 ms from 10 ms on.
/// let times: Vec<u64> = table.changes().map(|(at, _)| at).collect();
/// assert_eq!(times, [10, 15, 20]);
/// assert_eq!(table.owner_at(KeyGroup(0), 9), 0);
/// assert_eq!(table.owner_at(KeyGroup(0), 10), 1);
/// assert_eq!(table.owner_at(KeyGroup(7), 19), 1);
/// assert_eq!(table.owner_at(KeyGroup(7), 20), 0);
/// ```
pub fn schedule(
    first: Assignment,
    workers: usize,
    planned: &[Planned],
    strategy: Strategy,
    step: Time,
    mut load: impl FnMut(Time, &Assignment) -> Vec<u64>,
) -> Result<RoutingTable, PlanError> {
    let mut table = RoutingTable::fixed(first);
    // A migration planned before the earliest possible one waits for it.
    let mut next_free: Time = FIRST_MIGRATION;
    for migration in planned {
        let current = table.last().clone();
        let measured = load(migration.at, &current);
        let moves = migration
            .target
            .moves(&current, workers.max(1), &measured)
            .map_err(|why| PlanError::OutOfRange {
                at: migration.at,
                why,
            })?;
        // A migration planned while the previous one is still stepping starts after it.
        let mut at = migration.at.max(next_free);
        for chunk in moves.chunks(strategy.step_size(moves.len())) {
            table.push(at, chunk);
            at += step.max(1);
        }
        next_free = at;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::KeyGroups;

    #[test]
    fn strategies_parse_and_print_back() {
        for text in ["all-at-once", "fluid", "batched:4"] {
            let strategy: Strategy = text.parse().expect(text);
            assert_eq!(strategy.to_string(), text);
        }
        assert_eq!(
            "batched".parse::<Strategy>(),
            Ok(Strategy::Batched(DEFAULT_BATCH))
        );
        for bad in ["", "slow", "batched:0", "batched:x", "fluid:2"] {
            assert!(bad.parse::<Strategy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_plans_say_what_a_plan_looks_like() {
        for bad in [
            "5s",
            "0s:reverse",
            "5s:g3-g1>w0",
            "5s:g1>x0",
            "later:reverse",
        ] {
            let error = parse_migrations(bad).expect_err(bad).to_string();
            assert!(error.contains("WHEN:PLAN"), "{bad}: {error}");
        }
        let first = Assignment::ranges(KeyGroups::new(8), 2);
        let planned = parse_migrations("1s:g0-g8>w1").expect("parses");
        let error = schedule(
            first.clone(),
            2,
            &planned,
            Strategy::Fluid,
            1,
            |_, _| vec![],
        )
        .expect_err("group 8 of 8");
        assert!(error.to_string().contains("g0-g7"), "{error}");
        let planned = parse_migrations("1s:g0>w2").expect("parses");
        let error = schedule(first, 2, &planned, Strategy::Fluid, 1, |_, _| vec![])
            .expect_err("worker 2 of 2");
        assert!(error.to_string().contains("w0-w1"), "{error}");
    }

    #[test]
    fn every_strategy_ends_where_the_plan_says_and_moves_each_group_once() {
        let groups = KeyGroups::new(32);
        for workers in 1..=4 {
            let first = Assignment::ranges(groups, workers);
            let planned = parse_migrations("100ms:reverse").expect("parses");
            let expected = first.with(&Target::Reverse.moves(&first, workers, &[]).expect("moves"));
            for strategy in [Strategy::AllAtOnce, Strategy::Fluid, Strategy::Batched(5)] {
                let table = schedule(first.clone(), workers, &planned, strategy, 2, |_, _| vec![])
                    .expect("schedules");
                assert_eq!(table.last(), &expected, "{strategy} on {workers}");
                let moved: usize = table.changes().map(|(_, moves)| moves.len()).sum();
                assert_eq!(moved, first.moves_to(&expected).len());
                let steps = table.changes().count();
                let wanted = match (strategy, moved) {
                    (_, 0) => 0,
                    (Strategy::AllAtOnce, _) => 1,
                    (Strategy::Fluid, n) => n,
                    (Strategy::Batched(size), n) => n.div_ceil(size),
                };
                assert_eq!(steps, wanted, "{strategy} on {workers}");
                if let Some((at, _)) = table.changes().next() {
                    assert_eq!(at, 100);
                }
            }
        }
    }

    #[test]
    fn balance_moves_load_off_the_busiest_worker() {
        let first = Assignment::ranges(KeyGroups::new(8), 2);
        // Worker 0 (groups 0-3) has all the load, group 0 the most.
        let load = [50, 10, 10, 10, 0, 0, 0, 0];
        let moves = Target::Balance.moves(&first, 2, &load).expect("moves");
        let after = first.with(&moves);
        let total =
            |w: usize| -> u64 { after.groups_of(w).iter().map(|g| load[g.0 as usize]).sum() };
        assert_eq!((total(0), total(1)), (30, 50), "{moves:?}");
        // Nothing to even out: no moves.
        let even = [1u64; 8];
        assert!(Target::Balance
            .moves(&first, 2, &even)
            .expect("moves")
            .is_empty());
    }
}
