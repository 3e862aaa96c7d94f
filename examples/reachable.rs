//! Reachability over edges that come and go, on arrangements kept as weir state.
//!
//! Two workers share a small changelog of directed edges. The edges are arranged as state
//! (`arrange_state`: routed by key group, snapshotted in a weir job), differential's
//! `iterate` finds the nodes reachable from node 0, and `changelog` prints every node that
//! becomes reachable (+1) or stops being reachable (-1), at the millisecond it does.
//!
//!     cargo run --release --example reachable

use differential_dataflow::operators::Iterate;
use timely::dataflow::operators::Inspect;
use weir::prelude::*;
use weir::sources::ToTimedStream;

fn main() {
    timely::execute(timely::Config::process(2), |worker| {
        let index = worker.index();
        worker.dataflow::<Time, _, _>(|scope| {
            // (time, src, dst, diff): a chain 0 -> 1 -> 2 -> 3, a shortcut added at 5, the
            // link 1 -> 2 deleted at 7 and added back at 9.
            let changes = [
                (0, 0, 1, 1),
                (1, 1, 2, 1),
                (2, 2, 3, 1),
                (5, 0, 2, 1),
                (7, 1, 2, -1),
                (7, 0, 2, -1),
                (9, 1, 2, 1),
            ];
            let edges = changes
                .map(|(time, src, dst, diff)| {
                    (
                        time,
                        Change {
                            diff,
                            time,
                            record: (src, dst),
                        },
                    )
                })
                .to_timed_stream(scope)
                .changes()
                .arrange_state("edges");
            let roots = vec![(
                0,
                Change {
                    diff: 1,
                    time: 0,
                    record: 0u32,
                },
            )]
            .to_timed_stream(scope)
            .changes();
            roots
                .clone()
                .iterate(|scope, reached| {
                    let edges = edges.enter(scope);
                    reached
                        .map(|node| (node, ()))
                        .join_core(edges, |_src, (), dst| Some(*dst))
                        .concat(roots.enter(scope))
                        .distinct()
                })
                .changelog()
                .inspect(move |change| {
                    println!(
                        "worker {index}: {:+} node {} at {} ms",
                        change.diff, change.record, change.time
                    )
                });
        });
    })
    .expect("timely starts");
}
