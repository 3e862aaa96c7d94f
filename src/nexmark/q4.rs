//! q4, average price per category: over all auctions closed so far with a winning bid, the
//! average winning price of each category, reported whenever auctions of it close.

use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::nexmark::winning_bids::WinningBids;
use crate::nexmark::{events, pipeline};
use crate::operators::{KeyedProcess, ProcessKeyed};
use crate::pipelines::Pipeline;
use crate::time::Time;

/// `nexmark-q4`.
pub const Q4: Pipeline = pipeline(
    "nexmark-q4",
    "NEXMark q4: average winning price per category of closed auctions",
    q4,
);

/// An output line of q4.
#[derive(Serialize)]
pub struct CategoryAverage {
    /// The category.
    pub category: u64,
    /// `sum / count`.
    pub avg: u64,
    /// Sum of winning prices.
    pub sum: u64,
    /// Closed auctions with a winning bid.
    pub count: u64,
    /// The close time this line reports.
    pub date_time: Time,
}

/// A category's running sum and count, and whether closes at some time await reporting.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Running {
    sum: u64,
    count: u64,
    report_after: Option<Time>,
}

struct AveragePerCategory;

impl KeyedProcess<u64, u64> for AveragePerCategory {
    type State = Running;
    type Output = CategoryAverage;

    fn on_record(
        &mut self,
        _: &u64,
        state: &mut Running,
        price: u64,
        time: Time,
        _: &mut Vec<CategoryAverage>,
    ) {
        state.sum += price;
        state.count += 1;
        // One line per close time, after all of that time's closes.
        state.report_after = Some(time + 1);
    }

    fn deadline(&self, state: &Running) -> Option<Time> {
        state.report_after
    }

    fn on_deadline(
        &mut self,
        category: &u64,
        state: &mut Running,
        deadline: Time,
        output: &mut Vec<CategoryAverage>,
    ) -> bool {
        state.report_after = None;
        output.push(CategoryAverage {
            category: *category,
            avg: state.sum / state.count.max(1),
            sum: state.sum,
            count: state.count,
            date_time: deadline - 1,
        });
        true
    }
}

fn q4(job: &mut Job<'_>) -> anyhow::Result<()> {
    let averages = events(job)?
        .winning_bids("winning bids")
        .map(|winner| (winner.category, winner.price))
        .process_keyed("average per category", AveragePerCategory);
    job.output(averages);
    Ok(())
}
