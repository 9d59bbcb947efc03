//! A memory pool that remembers its peak reservation, wrapping DataFusion's own pools.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::error::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, GreedyMemoryPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
    UnboundedMemoryPool,
};

/// Which of DataFusion's pools enforces a memory limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PoolKind {
    /// First come, first served, up to the limit (`GreedyMemoryPool`).
    #[default]
    Greedy,
    /// The limit split evenly among the consumers that can spill (`FairSpillPool`).
    Fair,
}

#[derive(Debug)]
pub struct PeakMemoryPool {
    inner: Arc<dyn MemoryPool>,
    peak: AtomicUsize,
}

impl PeakMemoryPool {
    /// Greedy pool of `limit` bytes, or unbounded.
    pub fn new(limit: Option<usize>) -> Self {
        Self::with_kind(limit, PoolKind::Greedy)
    }

    /// A pool of `kind` holding `limit` bytes, or unbounded (whatever the kind) without one.
    pub fn with_kind(limit: Option<usize>, kind: PoolKind) -> Self {
        let inner: Arc<dyn MemoryPool> = match (limit, kind) {
            (Some(l), PoolKind::Greedy) => Arc::new(GreedyMemoryPool::new(l)),
            (Some(l), PoolKind::Fair) => Arc::new(FairSpillPool::new(l)),
            (None, _) => Arc::new(UnboundedMemoryPool::default()),
        };
        Self {
            inner,
            peak: AtomicUsize::new(0),
        }
    }

    /// The highest reservation since the last reset.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn reset_peak(&self) {
        self.peak.store(self.inner.reserved(), Ordering::Relaxed);
    }

    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl fmt::Display for PeakMemoryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeakMemoryPool({})", self.inner)
    }
}

impl MemoryPool for PeakMemoryPool {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}
