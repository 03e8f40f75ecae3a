//! A byte budget shared by the layer passes of one image, which run in
//! parallel: what all the layers may expand to together, what all of them
//! may keep of files whose place only the merge knows. A manifest that
//! lists one small bomb many times, or many small bombs, cannot multiply
//! the work or the memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes that every holder of a clone draws from.
#[derive(Debug, Clone)]
pub struct SharedBudget {
    limit: u64,
    left: Arc<AtomicU64>,
}

impl SharedBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        SharedBudget {
            limit,
            left: Arc::new(AtomicU64::new(limit)),
        }
    }

    /// The bytes it started with.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes `bytes`, all or nothing; false when they are not left.
    pub fn take(&self, bytes: u64) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }
}

impl Default for SharedBudget {
    /// No bound.
    fn default() -> Self {
        SharedBudget::new(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_draw_from_one_budget_all_or_nothing() {
        let budget = SharedBudget::new(10);
        let other = budget.clone();
        assert!(budget.take(6));
        assert!(!other.take(5));
        assert!(other.take(4));
        assert!(!budget.take(1));
        assert_eq!(budget.limit(), 10);
    }
}
