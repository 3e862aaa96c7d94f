//! Latency histograms: HDR histograms in nanoseconds, with the summaries, the CCDF and the
//! bucket lists that result files and plots are made from.
//!
//! Values are kept to three significant digits (hdrhistogram's quantization: exact below
//! 2,048 ns, within 0.1% above), from 1 ns to one hour; a latency beyond an hour is
//! recorded as an hour rather than lost.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The largest latency kept apart from others: one hour, in nanoseconds.
const HIGHEST_NS: u64 = 3_600_000_000_000;

/// A histogram of latencies in nanoseconds.
///
/// ```
/// use std::time::Duration;
/// use weir::harness::LatencyHistogram;
///
/// let mut worker_a = LatencyHistogram::new();
/// let mut worker_b = LatencyHistogram::new();
/// for ms in 1..=99 {
///     worker_a.record(Duration::from_millis(ms));
/// }
/// worker_b.record(Duration::from_secs(1));
/// worker_a.merge(&worker_b);
/// let summary = worker_a.summary();
/// assert_eq!(summary.count, 100);
/// assert!((49_950_000..=50_050_000).contains(&summary.p50_ns));
/// assert!((999_000_000..=1_001_000_000).contains(&summary.max_ns));
/// ```
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    histogram: Histogram<u64>,
}

/// Percentiles and extremes of a latency histogram, in nanoseconds (0 when empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// The smallest value.
    pub min_ns: u64,
    /// The mean.
    pub mean_ns: f64,
    /// The median.
    pub p50_ns: u64,
    /// The 90th percentile.
    pub p90_ns: u64,
    /// The 99th percentile.
    pub p99_ns: u64,
    /// The 99.9th percentile.
    pub p999_ns: u64,
    /// The largest value.
    pub max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram for 1 ns to one hour at three significant digits.
    pub fn new() -> Self {
        let histogram =
            Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("constant bounds are valid");
        LatencyHistogram { histogram }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        self.record_nanos(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one latency in nanoseconds.
    pub fn record_nanos(&mut self, nanos: u64) {
        self.record_n(nanos, 1);
    }

    fn record_n(&mut self, nanos: u64, count: u64) {
        self.histogram
            .saturating_record_n(nanos.clamp(1, HIGHEST_NS), count);
    }

    /// Adds every value of `other`: the histogram of the union of both samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (value, count) in other.buckets() {
            self.record_n(value, count);
        }
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The value at quantile `q` (0..=1) in nanoseconds: the smallest recorded value that
    /// at least `q` of all values are at or below; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count() == 0 {
            return 0;
        }
        self.histogram
            .highest_equivalent(self.histogram.value_at_quantile(q))
    }

    /// The usual percentiles.
    pub fn summary(&self) -> LatencySummary {
        if self.count() == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.count(),
            min_ns: self.histogram.highest_equivalent(self.histogram.min()),
            mean_ns: self.histogram.mean(),
            p50_ns: self.quantile(0.5),
            p90_ns: self.quantile(0.9),
            p99_ns: self.quantile(0.99),
            p999_ns: self.quantile(0.999),
            max_ns: self.histogram.highest_equivalent(self.histogram.max()),
        }
    }

    /// Every recorded value (the top of its bucket) with its count, smallest first: the
    /// histogram as result files keep it.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        self.histogram
            .iter_recorded()
            .map(|v| {
                (
                    self.histogram.highest_equivalent(v.value_iterated_to()),
                    v.count_at_value(),
                )
            })
            .collect()
    }

    /// The histogram of a bucket list made by [`buckets`](Self::buckets).
    pub fn from_buckets(buckets: &[(u64, u64)]) -> Self {
        let mut histogram = LatencyHistogram::new();
        for &(value, count) in buckets {
            histogram.record_n(value, count);
        }
        histogram
    }

    /// The complementary CDF: for every recorded value `v`, the fraction of values at or
    /// above `v` (so the largest value has `1 / count`, and a log-log plot ends on it).
    pub fn ccdf(&self) -> Vec<(u64, f64)> {
        let total = self.count() as f64;
        let mut at_or_above = self.count();
        self.buckets()
            .into_iter()
            .map(|(value, count)| {
                let point = (value, at_or_above as f64 / total);
                at_or_above -= count;
                point
            })
            .collect()
    }
}

/// The exact percentiles of a handful of raw values (a timeline interval's), in the same
/// sense as [`LatencyHistogram::quantile`]: the smallest value with at least `q` of all at
/// or below it.
pub(crate) fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1..=1000 ns once each: every value is exact (below 2,048 ns).
    fn one_to_a_thousand() -> LatencyHistogram {
        let mut histogram = LatencyHistogram::new();
        for ns in 1..=1000 {
            histogram.record_nanos(ns);
        }
        histogram
    }

    #[test]
    fn percentiles_of_a_known_histogram_are_exact() {
        let summary = one_to_a_thousand().summary();
        assert_eq!(
            summary,
            LatencySummary {
                count: 1000,
                min_ns: 1,
                mean_ns: 500.5,
                p50_ns: 500,
                p90_ns: 900,
                p99_ns: 990,
                p999_ns: 999,
                max_ns: 1000,
            }
        );
        let raw: Vec<u64> = (1..=1000).collect();
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(exact_quantile(&raw, q), one_to_a_thousand().quantile(q));
        }
    }

    #[test]
    fn the_ccdf_of_a_known_histogram_is_exact() {
        let ccdf = one_to_a_thousand().ccdf();
        assert_eq!(ccdf.len(), 1000);
        assert_eq!(ccdf[0], (1, 1.0));
        assert_eq!(ccdf[499], (500, 0.501));
        assert_eq!(ccdf[999], (1000, 0.001));
        assert!(ccdf.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 > w[1].1));
    }

    #[test]
    fn merging_equals_the_histogram_of_the_union() {
        let (mut a, mut b, mut union) = (
            LatencyHistogram::new(),
            LatencyHistogram::new(),
            LatencyHistogram::new(),
        );
        for i in 0..10_000u64 {
            // Spread over nine decades, and unevenly between the two.
            let ns = 1 + (i * i * 7919) % 1_000_000_000;
            if i % 3 == 0 {
                a.record_nanos(ns);
            } else {
                b.record_nanos(ns);
            }
            union.record_nanos(ns);
        }
        a.merge(&b);
        assert_eq!(a.buckets(), union.buckets());
        assert_eq!(a.summary(), union.summary());
        assert_eq!(
            LatencyHistogram::from_buckets(&union.buckets()).buckets(),
            union.buckets()
        );
    }

    #[test]
    fn latencies_beyond_an_hour_are_kept_as_an_hour() {
        let mut histogram = LatencyHistogram::new();
        histogram.record(Duration::from_secs(7200));
        histogram.record(Duration::ZERO);
        assert_eq!(histogram.count(), 2);
        assert!(histogram.summary().max_ns >= HIGHEST_NS);
    }
}
