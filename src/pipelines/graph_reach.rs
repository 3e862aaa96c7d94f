//! `graph-reach`: the nodes reachable from node 0 while directed edges come and go.
//!
//! A pipeline that only an incremental engine can do well: every edge insertion or
//! deletion may make whole subgraphs reachable or unreachable, and recomputing the
//! reachable set from scratch at every millisecond costs the whole graph each time. It is
//! differential dataflow's `iterate` over the edges kept as weir state
//! ([`ArrangeState`]), so it snapshots, survives crashes and restores onto any number of
//! workers like every other pipeline.
//!
//! An edge is present while the sum of its diffs is positive. Node 0 is reachable from the
//! first millisecond that has any input. The output is the reachable set's changelog:
//! `{"diff":1,"time":t,"node":n}` when `n` becomes reachable at millisecond `t`,
//! `{"diff":-1,...}` when it stops being reachable.

use differential_dataflow::operators::Iterate;
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline as Local;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;

use crate::arrangement::Diff;
use crate::changelog::Change;
use crate::job::{InputFormat, Job, Pipeline};
use crate::operators::{ArrangeState, EnterChanges, LeaveCollection};
use crate::sources::random_of;
use crate::state::StateKind;
use crate::time::EventClock;

/// `graph-reach`.
pub const GRAPH_REACH: Pipeline = Pipeline {
    name: "graph-reach",
    about: "the changelog of the nodes reachable from node 0 over edge insertions and \
            deletions (--keys K nodes, or --input of {\"src\",\"dst\",\"diff\",\"time\"} lines): \
            {\"diff\":1,\"time\":t,\"node\":n}",
    default_events: 1_000_000,
    default_event_rate: 100_000.0,
    input: InputFormat::JsonLines,
    states: &[StateKind::Arranged],
    side_input: false,
    build: graph_reach,
};

/// A directed edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edge {
    /// Where it starts.
    pub src: u64,
    /// Where it ends.
    pub dst: u64,
}

/// A row of the reachable set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reachable {
    /// The node.
    pub node: u64,
}

/// The node every path starts from.
pub const ROOT: u64 = 0;

/// How many changes back a generated deletion reaches for the insertion it undoes.
const DELETION_LAG: u64 = 64;

/// The generated changes of a `graph-reach` run: of every four, three insert a random edge
/// among `nodes` nodes and the fourth deletes an edge inserted earlier (once enough have
/// been), so that every deleted edge is present when it is deleted.
#[derive(Clone, Copy, Debug)]
pub struct EdgeChanges {
    seed: u64,
    nodes: u64,
    clock: EventClock,
}

impl EdgeChanges {
    /// The changes of a run with `seed`, among `nodes` nodes, timed by `clock`.
    pub fn new(seed: u64, nodes: u64, clock: EventClock) -> Self {
        EdgeChanges {
            seed,
            nodes: nodes.max(1),
            clock,
        }
    }

    /// Change `n`.
    ///
    /// ```
    /// use weir::pipelines::graph_reach::EdgeChanges;
    /// use weir::time::EventClock;
    ///
    /// let changes = EdgeChanges::new(1, 100, EventClock::new(1000.0));
    /// let (at, deletion) = (0..1000).map(|n| (n, changes.change(n))).find(|(_, c)| c.diff < 0).unwrap();
    /// let inserted = (0..at).map(|n| changes.change(n));
    /// assert!(inserted.filter(|c| c.record == deletion.record && c.diff > 0).count() > 0);
    /// ```
    pub fn change(&self, n: u64) -> Change<Edge> {
        let time = self.clock.time_of(n);
        let block = n / 4;
        if n % 4 == 3 && block >= DELETION_LAG / 4 {
            // Undoes one insertion of an earlier block; each insertion is undone at most once.
            let undone = (block - DELETION_LAG / 4) * 4 + block % 3;
            return Change {
                diff: -1,
                time,
                record: self.edge(undone),
            };
        }
        Change {
            diff: 1,
            time,
            record: self.edge(n),
        }
    }

    fn edge(&self, n: u64) -> Edge {
        Edge {
            src: random_of(self.seed, 2 * n) % self.nodes,
            dst: random_of(self.seed, 2 * n + 1) % self.nodes,
        }
    }
}

fn graph_reach(job: &mut Job<'_>) -> anyhow::Result<()> {
    let changes = match job.input() {
        Some(_) => job.json_lines(|change: &Change<Edge>| change.time)?,
        None => {
            let config = job.config();
            let changes = EdgeChanges::new(config.seed, config.keys, config.clock());
            job.generate(move |n| changes.change(n))
        }
    };
    // Node 0 is a root from the first millisecond any worker sees input: each worker marks
    // it once per run, and the marks are state, so a restored job keeps them.
    let roots = changes
        .clone()
        .unary(Local, "Root", |_, _| {
            let mut marked = false;
            move |input, output| {
                input.for_each(|cap, changes| {
                    if !marked && !changes.is_empty() {
                        marked = true;
                        let Some(&time) = cap.least() else { return };
                        let root = Change {
                            diff: 1,
                            time,
                            record: (ROOT, ()),
                        };
                        output.session(&cap).give(root);
                    }
                    changes.clear();
                });
            }
        })
        .changes()
        .arrange_state("graph-reach roots")
        .as_collection(|node, ()| *node)
        .distinct();
    let edges = changes
        .map(|change| Change {
            diff: change.diff,
            time: change.time,
            record: (change.record.src, change.record.dst),
        })
        .changes()
        .arrange_state("graph-reach edges")
        .as_collection(|src, dst| (*src, *dst))
        // An edge is present while the sum of its diffs is positive.
        .threshold(|_, diff: &Diff| Diff::from(*diff > 0))
        .arrange_by_key();
    let reachable = roots.clone().iterate(|scope, reached| {
        let edges = edges.enter(scope);
        let roots = roots.enter(scope);
        reached
            .map(|node| (node, ()))
            .join_core(edges, |_src, (), dst| Some(*dst))
            .concat(roots)
            .distinct()
    });
    job.output(reachable.map(|node| Reachable { node }).changelog());
    Ok(())
}
