//! Per-account quotas of a PC2: bytes uploaded in a rolling day, and uploads in progress at
//! once. The owner's own machine is shared by the owner's accounts (and, on a household PC2,
//! by the people the owner lets in); one of them must not fill its disk or queue.
//!
//! **Bytes** are charged as they arrive, chunk by chunk, against the account's remaining
//! allowance, so concurrent uploads of one account can never together exceed it; an upload
//! refused before packaging (malformed, too large) is refunded. **Uploads at once** are slots
//! taken before the body is read and given back when the job ends, however it ends
//! ([`Slot`] is returned on drop).
//!
//! Trade-off: the ledger lives in the server's memory. A PC2 is one process on its owner's
//! machine, so there is no other instance to agree with; a restart forgets the day's usage,
//! which only the machine's owner can cause.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::Address;

/// The window of the bytes quota.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Charges closer together than this are merged, bounding the ledger per account.
const MERGE: Duration = Duration::from_secs(60);

/// What one account may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Bytes an account may upload in [`WINDOW`].
    pub bytes_per_day: u64,
    /// Uploads an account may have in progress (receiving, queued, packaging or pinning).
    pub uploads_at_once: usize,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            bytes_per_day: 64 << 30,
            uploads_at_once: 2,
        }
    }
}

/// Refusals, worded for the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("this account already has {0} uploads in progress; wait for one to finish")]
    Busy(usize),
    #[error("this account may upload {limit} bytes a day and has {left} bytes left")]
    Bytes { limit: u64, left: u64 },
}

#[derive(Default)]
struct Account {
    /// (when, bytes), oldest first.
    charges: Vec<(Instant, u64)>,
    in_progress: usize,
}

impl Account {
    fn used(&mut self, now: Instant) -> u64 {
        self.charges
            .retain(|(at, _)| now.saturating_duration_since(*at) < WINDOW);
        self.charges.iter().map(|(_, b)| b).sum()
    }
}

/// The ledger of every account of this PC2.
#[derive(Default)]
pub struct Ledger {
    accounts: Mutex<HashMap<Address, Account>>,
}

impl Ledger {
    fn with<T>(&self, account: Address, f: impl FnOnce(&mut Account) -> T) -> T {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        f(accounts.entry(account).or_default())
    }

    /// Takes an upload slot of `account`, or says why not.
    pub fn start(self: &Arc<Self>, account: Address, quota: Quota) -> Result<Slot, QuotaError> {
        self.with(account, |a| {
            if a.in_progress >= quota.uploads_at_once {
                return Err(QuotaError::Busy(a.in_progress));
            }
            a.in_progress += 1;
            Ok(Slot {
                ledger: Arc::clone(self),
                account,
                quota,
                charged: 0,
            })
        })
    }

    /// Bytes `account` may still upload now.
    pub fn left(&self, account: Address, quota: Quota) -> u64 {
        self.with(account, |a| {
            quota.bytes_per_day.saturating_sub(a.used(Instant::now()))
        })
    }
}

/// One upload in progress: holds its account's slot until dropped.
pub struct Slot {
    ledger: Arc<Ledger>,
    account: Address,
    quota: Quota,
    /// Bytes this upload has charged.
    charged: u64,
}

impl Slot {
    /// Charges `bytes` more to the account, all or nothing.
    pub fn charge(&mut self, bytes: u64) -> Result<(), QuotaError> {
        let now = Instant::now();
        let limit = self.quota.bytes_per_day;
        self.ledger.with(self.account, |a| {
            let used = a.used(now);
            if used.saturating_add(bytes) > limit {
                return Err(QuotaError::Bytes {
                    limit,
                    left: limit.saturating_sub(used),
                });
            }
            match a.charges.last_mut() {
                Some((at, b)) if now.saturating_duration_since(*at) < MERGE => *b += bytes,
                _ => a.charges.push((now, bytes)),
            }
            Ok(())
        })?;
        self.charged += bytes;
        Ok(())
    }

    /// Gives back what this upload charged (it was refused before any packaging).
    pub fn refund(&mut self) {
        let mut owed = std::mem::take(&mut self.charged);
        self.ledger.with(self.account, |a| {
            for (_, b) in a.charges.iter_mut().rev() {
                let back = owed.min(*b);
                *b -= back;
                owed -= back;
                if owed == 0 {
                    break;
                }
            }
            a.charges.retain(|(_, b)| *b > 0);
        });
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.ledger.with(self.account, |a| {
            a.in_progress = a.in_progress.saturating_sub(1)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Address = Address::repeat_byte(0xA1);
    const BOB: Address = Address::repeat_byte(0xB0);
    const QUOTA: Quota = Quota {
        bytes_per_day: 1000,
        uploads_at_once: 2,
    };

    #[test]
    fn slots_are_per_account_and_come_back_on_drop() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.start(ALICE, QUOTA).unwrap();
        let b = ledger.start(ALICE, QUOTA).unwrap();
        assert_eq!(ledger.start(ALICE, QUOTA).err(), Some(QuotaError::Busy(2)));
        let _bob = ledger
            .start(BOB, QUOTA)
            .expect("another account has its own slots");
        drop(a);
        let _c = ledger
            .start(ALICE, QUOTA)
            .expect("a finished upload frees its slot");
        drop(b);
    }

    #[test]
    fn concurrent_uploads_of_one_account_never_exceed_its_bytes_together() {
        let ledger = Arc::new(Ledger::default());
        let mut a = ledger.start(ALICE, QUOTA).unwrap();
        let mut b = ledger.start(ALICE, QUOTA).unwrap();
        a.charge(600).unwrap();
        assert_eq!(
            b.charge(500),
            Err(QuotaError::Bytes {
                limit: 1000,
                left: 400
            })
        );
        b.charge(400).unwrap();
        assert_eq!(ledger.left(ALICE, QUOTA), 0);
        assert_eq!(ledger.left(BOB, QUOTA), 1000);
        a.refund();
        assert_eq!(
            ledger.left(ALICE, QUOTA),
            600,
            "a refused upload's bytes come back"
        );
        drop(b);
        assert_eq!(
            ledger.left(ALICE, QUOTA),
            600,
            "an accepted upload's bytes stay charged"
        );
    }
}
