//! The expansion budget of one image file: every byte a decompressor or a
//! zip member yields, at any depth, is paid from it, so a bomb stops after
//! the budget, whatever the shape of its nesting.

use std::cell::Cell;
use std::io::{self, Read};

/// Bytes left to expand, shared by every reader opened inside one file.
#[derive(Debug)]
pub struct ExpansionBudget {
    limit: u64,
    remaining: Cell<u64>,
    spent: Cell<bool>,
}

impl ExpansionBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        ExpansionBudget {
            limit,
            remaining: Cell::new(limit),
            spent: Cell::new(false),
        }
    }

    /// The budget in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether a reader wanted more than the budget held.
    pub fn is_spent(&self) -> bool {
        self.spent.get()
    }

    /// Pays `bytes` up front, for content decoded whole into a buffer of
    /// that size; false, and the budget spent, when it holds less.
    pub fn pay(&self, bytes: u64) -> bool {
        let remaining = self.remaining.get();
        if bytes > remaining {
            self.spent.set(true);
            return false;
        }
        self.remaining.set(remaining - bytes);
        true
    }

    /// `inner`, paying for what it yields.
    pub fn meter<R: Read>(&self, inner: R) -> Metered<'_, R> {
        Metered {
            inner,
            budget: self,
        }
    }
}

/// A reader that pays for its bytes from an [`ExpansionBudget`] and fails once the
/// budget is spent.
pub struct Metered<'b, R> {
    inner: R,
    budget: &'b ExpansionBudget,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let remaining = self.budget.remaining.get();
        if remaining == 0 {
            let mut probe = [0u8; 1];
            if self.budget.spent.get() || self.inner.read(&mut probe)? > 0 {
                self.budget.spent.set(true);
                return Err(io::Error::other("expansion budget spent"));
            }
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.budget.remaining.set(remaining - n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_one_budget() {
        let budget = ExpansionBudget::new(10);
        let mut out = Vec::new();
        budget.meter(&[1u8; 6][..]).read_to_end(&mut out).unwrap();
        budget.meter(&[2u8; 4][..]).read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 10);
        assert!(!budget.is_spent(), "exactly the budget is fine");
        assert!(budget.meter(&[3u8; 1][..]).read_to_end(&mut out).is_err());
        assert!(budget.is_spent());
        assert!(
            budget.meter(&[][..]).read_to_end(&mut out).is_err(),
            "once spent, every reader fails"
        );
    }

    #[test]
    fn paying_up_front_shares_the_budget() {
        let budget = ExpansionBudget::new(10);
        assert!(budget.pay(4));
        let mut out = Vec::new();
        assert!(budget.meter(&[1u8; 7][..]).read_to_end(&mut out).is_err());
        assert_eq!(out.len(), 6);
        let budget = ExpansionBudget::new(10);
        assert!(!budget.pay(11));
        assert!(budget.is_spent());
    }
}
