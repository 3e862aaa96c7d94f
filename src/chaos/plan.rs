//! The decisions of a chaos campaign, as pure functions: which shape and which kill each
//! attempt gets (drawn from the campaign's seed), and how a published output differs from
//! the fault-free one.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::Rng;

use crate::snapshot::FAULT_POINTS;

pub use crate::runtime::Shape;

/// How an attempt ends, unless the job finishes first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kill {
    /// `kill -9` of every process this long after they started.
    At(Duration),
    /// The coordinating process dies (as after `kill -9`) the `visit`-th time it reaches a
    /// fault point: mid-snapshot, mid-commit, mid-publish.
    Fault {
        /// One of [`FAULT_POINTS`].
        point: &'static str,
        /// Which visit of the point.
        visit: u64,
    },
    /// No kill: the attempt runs the job to its end.
    None,
}

impl Kill {
    /// `WEIR_FAULT`'s value for this kill, if it is a fault point.
    pub fn fault_spec(&self) -> Option<String> {
        match self {
            Kill::Fault { point, visit } => Some(format!("{point}:{visit}")),
            _ => None,
        }
    }
}

/// One run of the job: its shape, and how it is cut short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The shape it runs (and restores) on.
    pub shape: Shape,
    /// How it ends.
    pub kill: Kill,
}

/// What an attempt is drawn from.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most workers per process drawn.
    pub max_workers: usize,
    /// Most processes drawn.
    pub max_processes: usize,
    /// Fewest processes drawn (at least 1).
    pub min_processes: usize,
    /// How long the job runs without faults: kills at moments are drawn within it.
    pub run_time: Duration,
    /// The share of kills that strike at fault points rather than at a moment.
    pub fault_share: f64,
}

impl Limits {
    /// A number of processes within the limits.
    pub fn draw_processes(&self, rng: &mut SmallRng) -> usize {
        let most = self.max_processes.max(1);
        rng.gen_range(self.min_processes.clamp(1, most)..=most)
    }
}

/// Draws the next attempt; `kill` says whether it is to be killed at all.
pub fn draw_attempt(rng: &mut SmallRng, limits: &Limits, kill: bool) -> Attempt {
    let shape = Shape {
        processes: limits.draw_processes(rng),
        workers: rng.gen_range(1..=limits.max_workers.max(1)),
    };
    let kill = if !kill {
        Kill::None
    } else if rng.gen_bool(limits.fault_share.clamp(0.0, 1.0)) {
        Kill::Fault {
            point: FAULT_POINTS[rng.gen_range(0..FAULT_POINTS.len())],
            visit: rng.gen_range(1..=12),
        }
    } else {
        // Within the first 60% of a fault-free run's length: a restored run has less
        // left to do, and a kill after its end would be no kill at all.
        let most = (limits.run_time.as_micros() as u64 * 3 / 5).max(1000);
        Kill::At(Duration::from_micros(rng.gen_range(0..most)))
    };
    Attempt { shape, kill }
}

/// How a published output differs from the fault-free one, as multisets of lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Difference {
    /// Lines of the fault-free output missing from the published one (with multiplicity).
    pub lost: u64,
    /// Lines published more often than the fault-free output has them, or not at all there.
    pub doubled: u64,
    /// A few of the lines that differ, for the report.
    pub examples: Vec<String>,
}

impl Difference {
    /// Whether the outputs are the same multiset.
    pub fn is_empty(&self) -> bool {
        self.lost == 0 && self.doubled == 0
    }
}

/// Compares `published` with `expected` as multisets of lines.
pub fn compare<'a>(
    expected: impl IntoIterator<Item = &'a str>,
    published: impl IntoIterator<Item = &'a str>,
) -> Difference {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for line in expected {
        *counts.entry(line).or_default() += 1;
    }
    for line in published {
        *counts.entry(line).or_default() -= 1;
    }
    let mut difference = Difference::default();
    let mut differing: Vec<(&str, i64)> = counts.into_iter().filter(|(_, n)| *n != 0).collect();
    differing.sort();
    for (line, n) in differing {
        if n > 0 {
            difference.lost += n as u64;
        } else {
            difference.doubled += n.unsigned_abs();
        }
        if difference.examples.len() < 3 {
            let what = if n > 0 { "lost" } else { "extra" };
            difference
                .examples
                .push(format!("{what} {}x: {line}", n.abs()));
        }
    }
    difference
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn compare_counts_lost_and_doubled_lines_with_multiplicity() {
        let expected = ["a", "b", "b", "c"];
        assert!(compare(expected, ["c", "b", "a", "b"]).is_empty());
        let difference = compare(expected, ["a", "b", "c", "c", "d"]);
        assert_eq!((difference.lost, difference.doubled), (1, 2));
        assert_eq!(difference.examples.len(), 3);
        let difference = compare(expected, []);
        assert_eq!((difference.lost, difference.doubled), (4, 0));
    }

    #[test]
    fn attempts_stay_within_their_limits_and_repeat_with_the_seed() {
        let limits = Limits {
            max_workers: 3,
            max_processes: 2,
            min_processes: 1,
            run_time: Duration::from_secs(2),
            fault_share: 0.5,
        };
        let draw = |seed| {
            let mut rng = SmallRng::seed_from_u64(seed);
            (0..200)
                .map(|i| draw_attempt(&mut rng, &limits, i % 10 != 0))
                .collect::<Vec<_>>()
        };
        let attempts = draw(7);
        assert_eq!(attempts, draw(7));
        assert_ne!(attempts, draw(8));
        let mut faults = 0;
        for (i, attempt) in attempts.iter().enumerate() {
            assert!((1..=2).contains(&attempt.shape.processes));
            assert!((1..=3).contains(&attempt.shape.workers));
            match attempt.kill {
                Kill::None => assert_eq!(i % 10, 0),
                Kill::At(at) => assert!(at < limits.run_time),
                Kill::Fault { point, visit } => {
                    faults += 1;
                    assert!(FAULT_POINTS.contains(&point) && visit >= 1);
                }
            }
        }
        assert!(
            (50..130).contains(&faults),
            "{faults} of 180 kills at fault points"
        );
    }
}
