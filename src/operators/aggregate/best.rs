//! The local step of [`Aggregate::aggregate_top_k`](crate::operators::Aggregate::aggregate_top_k):
//! each window's best results on each worker, kept up to date as partials are merged in, so
//! that a window of a million keys fires in the time of its handful of best.
//!
//! Scanning every key of a window when it fires held every output behind it: q5 at 2M
//! events/s on two workers fires windows of 600,000 auctions per worker, a 20 ms pause
//! every 2 s that set its p99. Instead, each window keeps a *board*: the keys whose score,
//! when their accumulator last changed, was at least the k-th best on the board then
//! (`floor`). While scores only grow as values are merged in (counts, sums of non-negative
//! values, maxima), every key of the window's final best is on the board when it fires:
//! its last change offered it its final score, which is at least the final k-th best, and
//! the floor never exceeds that (it is the k-th best of earlier scores of distinct keys,
//! each at most that key's final score). So firing reads the board's keys' final results
//! and picks among them.
//!
//! Whether scores only grow is checked, not assumed: every merge compares the key's score
//! before and after, and a window in which one fell drops its board and is scanned whole
//! when it fires, as are the windows of a restored snapshot (nothing of them was seen in
//! this run).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use crate::operators::aggregate::windows::Selection;
use crate::operators::{Aggregator, Windowed};
use crate::snapshot::Stamped;
use crate::state::ShardedMap;
use crate::time::{Time, WindowBounds};

/// Each window's results with the `k` best scores, ties included, per worker.
pub(crate) struct BestPerWindow<K, S, F> {
    /// At least 1.
    k: usize,
    score: F,
    /// The boards of the windows with input, by end.
    boards: BTreeMap<Time, Board<K, S>>,
}

impl<K, S, F> BestPerWindow<K, S, F> {
    /// The `k` (at least 1) best `score`s of each window.
    pub(crate) fn new(k: usize, score: F) -> Self {
        BestPerWindow {
            k: k.max(1),
            score,
            boards: BTreeMap::new(),
        }
    }
}

/// One window's candidates for its best.
struct Board<K, S> {
    /// Whether every score in the window has only grown so far; if not, the window is
    /// scanned whole when it fires.
    growing: bool,
    /// The k-th best score at the last prune: a key scoring less is not a candidate.
    floor: Option<S>,
    /// Candidates beyond this many are pruned to those at the floor or above.
    limit: usize,
    candidates: HashMap<K, S, foldhash::fast::RandomState>,
}

impl<K: Hash + Eq + Clone, S: Ord + Clone> Board<K, S> {
    fn new(k: usize, growing: bool) -> Self {
        Board {
            growing,
            floor: None,
            limit: 2 * k + 16,
            candidates: HashMap::default(),
        }
    }

    /// Scores no longer only grow: forget the candidates.
    fn stop(&mut self) {
        self.growing = false;
        self.candidates = HashMap::default();
    }

    /// `key` now scores `score`.
    fn offer(&mut self, key: &K, score: S, k: usize) {
        if self.floor.as_ref().is_some_and(|floor| score < *floor) {
            return;
        }
        match self.candidates.get_mut(key) {
            Some(known) => *known = score,
            None => {
                self.candidates.insert(key.clone(), score);
            }
        }
        if self.candidates.len() > self.limit {
            self.prune(k);
        }
    }

    /// Keeps the candidates at the k-th best score or above. The number of candidates may
    /// double between prunes, so that many ties cost no more than a few prunes.
    fn prune(&mut self, k: usize) {
        let mut scores: Vec<&S> = self.candidates.values().collect();
        let (_, kth, _) = scores.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
        let kth = (*kth).clone();
        self.candidates.retain(|_, score| *score >= kth);
        self.floor = Some(kth);
        self.limit = 2 * self.candidates.len() + 16;
    }
}

impl<K, V, A, S, F> Selection<K, V, A> for BestPerWindow<K, S, F>
where
    K: Hash + Eq + Clone + 'static,
    V: 'static,
    A: Aggregator<V>,
    S: Ord + Clone + 'static,
    F: Fn(&K, &A::Output) -> S + 'static,
{
    #[inline]
    fn merge(&mut self, aggregator: &A, end: Time, key: &K, acc: &mut A::Acc, partial: &A::Acc) {
        let k = self.k;
        let board = self
            .boards
            .entry(end)
            .or_insert_with(|| Board::new(k, true));
        if !board.growing {
            aggregator.merge(acc, partial);
            return;
        }
        let before = (self.score)(key, &aggregator.result(acc));
        aggregator.merge(acc, partial);
        let after = (self.score)(key, &aggregator.result(acc));
        if after < before {
            board.stop();
        } else {
            board.offer(key, after, k);
        }
    }

    #[inline]
    fn entered(&mut self, aggregator: &A, end: Time, key: &K, acc: &A::Acc) {
        let k = self.k;
        let board = self
            .boards
            .entry(end)
            .or_insert_with(|| Board::new(k, true));
        if board.growing {
            board.offer(key, (self.score)(key, &aggregator.result(acc)), k);
        }
    }

    fn restored(&mut self, ends: &mut dyn Iterator<Item = Time>) {
        for end in ends {
            self.boards.insert(end, Board::new(self.k, false));
        }
    }

    fn fire(
        &mut self,
        aggregator: &A,
        window: WindowBounds,
        end: Time,
        accs: &mut ShardedMap<K, Stamped<A::Acc>>,
        give: &mut dyn FnMut(Windowed<K, A::Output>),
    ) {
        let board = self.boards.remove(&end);
        let score = &self.score;
        let scored = |key: K, acc: &A::Acc| {
            let value = aggregator.result(acc);
            (score(&key, &value), Windowed { key, window, value })
        };
        let mut best: Vec<(S, Windowed<K, A::Output>)> = Vec::new();
        match board {
            Some(board) if board.growing => {
                best.extend(board.candidates.into_keys().filter_map(|key| {
                    let acc = accs.get(&key)?;
                    Some(scored(key, &acc.0))
                }));
                accs.clear();
            }
            _ => {
                // One pass that keeps only the results at least the k-th best so far.
                let mut floor: Option<S> = None;
                let mut limit = 2 * self.k + 16;
                for (key, acc) in accs.drain() {
                    let (score, result) = scored(key, &acc.0);
                    if floor.as_ref().is_some_and(|floor| score < *floor) {
                        continue;
                    }
                    best.push((score, result));
                    if best.len() > limit {
                        floor = prune_scored(&mut best, self.k);
                        limit = 2 * best.len() + 16;
                    }
                }
            }
        }
        prune_scored(&mut best, self.k);
        best.into_iter().for_each(|(_, result)| give(result));
    }
}

/// Keeps the records of `scored` scoring at least the k-th best, best first, and returns
/// that score (`None` while there are at most `k`).
fn prune_scored<S: Ord + Clone, R>(scored: &mut Vec<(S, R)>, k: usize) -> Option<S> {
    if scored.len() <= k {
        return None;
    }
    scored.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    let kth = scored[k - 1].0.clone();
    let keep = k + scored[k..].iter().take_while(|(s, _)| *s >= kth).count();
    scored.truncate(keep);
    Some(kth)
}
