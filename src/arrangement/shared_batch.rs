//! A batch that a worker can hand to the snapshot writer thread as it is.
//!
//! differential's stock spine keeps its batches behind `Rc`, which cannot cross threads, so
//! capturing an arrangement would mean copying every update on the record path. Batches are
//! immutable once built (a merge makes a new one), so the same batch behind an `Arc` is a
//! consistent view that any thread may read: capture hands the writer a pointer per batch,
//! and the writer walks the updates off the record path. This file is only that wrapper: it
//! forwards the cursor and the merge to the batch inside.

use std::sync::Arc;

use differential_dataflow::trace::implementations::spine_fueled::{Merger, SpineBatch};
use differential_dataflow::trace::{Cursor, Navigable};
use timely::progress::frontier::AntichainRef;

/// An immutable batch shared between the worker that built it and the snapshot writer.
pub struct SharedBatch<B>(pub Arc<B>);

impl<B> Clone for SharedBatch<B> {
    fn clone(&self) -> Self {
        SharedBatch(Arc::clone(&self.0))
    }
}

impl<B> From<B> for SharedBatch<B> {
    fn from(batch: B) -> Self {
        SharedBatch(Arc::new(batch))
    }
}

impl<B> std::ops::Deref for SharedBatch<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.0
    }
}

impl<B: SpineBatch> SpineBatch for SharedBatch<B> {
    type Time = B::Time;
    type Merger = SharedMerger<B>;
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Merges two shared batches by merging what they share.
pub struct SharedMerger<B: SpineBatch>(B::Merger);

impl<B: SpineBatch> Merger<SharedBatch<B>> for SharedMerger<B> {
    fn new(
        source1: &SharedBatch<B>,
        source2: &SharedBatch<B>,
        compaction_frontier: AntichainRef<B::Time>,
    ) -> Self {
        SharedMerger(B::Merger::new(&source1.0, &source2.0, compaction_frontier))
    }

    fn work(&mut self, source1: &SharedBatch<B>, source2: &SharedBatch<B>, fuel: &mut isize) {
        self.0.work(&source1.0, &source2.0, fuel)
    }

    fn done(self) -> Option<SharedBatch<B>> {
        self.0.done().map(SharedBatch::from)
    }
}

impl<B: Navigable> Navigable for SharedBatch<B> {
    type Cursor = SharedCursor<B::Cursor>;
    fn cursor(&self) -> Self::Cursor {
        SharedCursor(self.0.cursor())
    }
}

/// The cursor of a shared batch: the batch's own, reading through the `Arc`.
pub struct SharedCursor<C>(C);

impl<C: Cursor> Cursor for SharedCursor<C> {
    type Storage = SharedBatch<C::Storage>;

    type Key<'a> = C::Key<'a>;
    type ValOwn = C::ValOwn;
    type Val<'a> = C::Val<'a>;
    type Time = C::Time;
    type TimeGat<'a> = C::TimeGat<'a>;
    type Diff = C::Diff;
    type DiffGat<'a> = C::DiffGat<'a>;
    type KeyContainer = C::KeyContainer;
    type ValContainer = C::ValContainer;
    type TimeContainer = C::TimeContainer;
    type DiffContainer = C::DiffContainer;

    #[inline]
    fn key_valid(&self, storage: &Self::Storage) -> bool {
        self.0.key_valid(&storage.0)
    }
    #[inline]
    fn val_valid(&self, storage: &Self::Storage) -> bool {
        self.0.val_valid(&storage.0)
    }
    #[inline]
    fn key<'a>(&self, storage: &'a Self::Storage) -> Self::Key<'a> {
        self.0.key(&storage.0)
    }
    #[inline]
    fn val<'a>(&self, storage: &'a Self::Storage) -> Self::Val<'a> {
        self.0.val(&storage.0)
    }
    #[inline]
    fn get_key<'a>(&self, storage: &'a Self::Storage) -> Option<Self::Key<'a>> {
        self.0.get_key(&storage.0)
    }
    #[inline]
    fn get_val<'a>(&self, storage: &'a Self::Storage) -> Option<Self::Val<'a>> {
        self.0.get_val(&storage.0)
    }
    #[inline]
    fn map_times<L: FnMut(Self::TimeGat<'_>, Self::DiffGat<'_>)>(
        &mut self,
        storage: &Self::Storage,
        logic: L,
    ) {
        self.0.map_times(&storage.0, logic)
    }
    #[inline]
    fn step_key(&mut self, storage: &Self::Storage) {
        self.0.step_key(&storage.0)
    }
    #[inline]
    fn seek_key(&mut self, storage: &Self::Storage, key: Self::Key<'_>) {
        self.0.seek_key(&storage.0, key)
    }
    #[inline]
    fn step_val(&mut self, storage: &Self::Storage) {
        self.0.step_val(&storage.0)
    }
    #[inline]
    fn seek_val(&mut self, storage: &Self::Storage, val: Self::Val<'_>) {
        self.0.seek_val(&storage.0, val)
    }
    #[inline]
    fn rewind_keys(&mut self, storage: &Self::Storage) {
        self.0.rewind_keys(&storage.0)
    }
    #[inline]
    fn rewind_vals(&mut self, storage: &Self::Storage) {
        self.0.rewind_vals(&storage.0)
    }
}
