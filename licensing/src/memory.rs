//! An in-memory [`BookStore`], used by unit tests and the randomized simulation, and the [`Snapshot`]
//! type every store can export for the invariant checker.
//!
//! [`MemoryBook::atomically`] gives the memory store the same all-or-nothing behaviour a database
//! transaction gives SQLite: every write records how to undo itself, and an `Err` rolls them back.

use crate::book::{BookStore, Payout};
use crate::ids::{ChannelId, LicenceId, OfferId, OperationId, PartyId, PayoutId, TransferId, WorkId};
use crate::invoice::Invoice;
use crate::ledger::{Account, AccountId, LedgerStore, PendingState, StoreError, Transfer};
use crate::licence::{Licence, LicenceStatus};
use crate::money::Currency;
use crate::offer::{Channel, Offer, RightsHolder, Work};
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Everything a store holds, as plain maps. Stores export one for [`crate::invariants::check`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Accounts by id.
    pub accounts: BTreeMap<AccountId, Account>,
    /// Transfers by id.
    pub transfers: BTreeMap<TransferId, Transfer>,
    /// Resolution of every pending transfer.
    pub pending: BTreeMap<TransferId, PendingState>,
    /// Rights holders.
    pub holders: BTreeMap<PartyId, RightsHolder>,
    /// Works.
    pub works: BTreeMap<WorkId, Work>,
    /// Channels.
    pub channels: BTreeMap<ChannelId, Channel>,
    /// Offers.
    pub offers: BTreeMap<OfferId, Offer>,
    /// Licences.
    pub licences: BTreeMap<LicenceId, Licence>,
    /// Invoices by (series, number).
    pub invoices: BTreeMap<(String, u64), Invoice>,
    /// Payouts.
    pub payouts: BTreeMap<PayoutId, Payout>,
    /// Operation fingerprints.
    pub operations: BTreeMap<OperationId, String>,
}

type Undo = Box<dyn FnOnce(&mut Snapshot)>;

/// The in-memory store.
#[derive(Default)]
pub struct MemoryBook {
    data: Snapshot,
    undo: Option<Vec<Undo>>,
    committed_writes: u64,
}

impl MemoryBook {
    /// A copy of the current state.
    pub fn snapshot(&self) -> Snapshot {
        self.data.clone()
    }

    /// Borrows the current state.
    pub fn data(&self) -> &Snapshot {
        &self.data
    }

    /// How many writes committed transactions have made: a cheap way for tests to see that a refused or
    /// replayed operation wrote nothing.
    pub fn committed_writes(&self) -> u64 {
        self.committed_writes
    }

    /// Runs `f` as one transaction: if it returns `Err`, every write it made is undone.
    pub fn atomically<T, E>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, E>) -> Result<T, E> {
        self.undo = Some(Vec::new());
        let result = f(self);
        let log = self.undo.take().unwrap_or_default();
        if result.is_ok() {
            self.committed_writes += log.len() as u64;
        } else {
            for undo in log.into_iter().rev() {
                undo(&mut self.data);
            }
        }
        result
    }

    fn write<K, V>(&mut self, map: fn(&mut Snapshot) -> &mut BTreeMap<K, V>, key: K, value: V)
    where
        K: Ord + Clone + 'static,
        V: 'static,
    {
        let old = map(&mut self.data).insert(key.clone(), value);
        if let Some(log) = &mut self.undo {
            log.push(Box::new(move |d| match old {
                Some(o) => {
                    map(d).insert(key, o);
                }
                None => {
                    map(d).remove(&key);
                }
            }));
        }
    }
}

impl LedgerStore for MemoryBook {
    fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.data.accounts.get(id).cloned())
    }
    fn put_account(&mut self, account: &Account) -> Result<(), StoreError> {
        self.write(|d| &mut d.accounts, account.id.clone(), account.clone());
        Ok(())
    }
    fn transfer(&self, id: &TransferId) -> Result<Option<Transfer>, StoreError> {
        Ok(self.data.transfers.get(id).cloned())
    }
    fn insert_transfer(&mut self, transfer: &Transfer) -> Result<(), StoreError> {
        assert!(!self.data.transfers.contains_key(transfer.id()), "transfers are append-only");
        self.write(|d| &mut d.transfers, transfer.id().clone(), transfer.clone());
        Ok(())
    }
    fn pending_state(&self, id: &TransferId) -> Result<Option<PendingState>, StoreError> {
        Ok(self.data.pending.get(id).cloned())
    }
    fn put_pending_state(&mut self, id: &TransferId, state: &PendingState) -> Result<(), StoreError> {
        self.write(|d| &mut d.pending, id.clone(), state.clone());
        Ok(())
    }
}

impl BookStore for MemoryBook {
    fn holder(&self, id: &PartyId) -> Result<Option<RightsHolder>, StoreError> {
        Ok(self.data.holders.get(id).cloned())
    }
    fn put_holder(&mut self, holder: &RightsHolder) -> Result<(), StoreError> {
        self.write(|d| &mut d.holders, holder.id.clone(), holder.clone());
        Ok(())
    }
    fn work(&self, id: &WorkId) -> Result<Option<Work>, StoreError> {
        Ok(self.data.works.get(id).cloned())
    }
    fn put_work(&mut self, work: &Work) -> Result<(), StoreError> {
        self.write(|d| &mut d.works, work.id.clone(), work.clone());
        Ok(())
    }
    fn channel(&self, id: &ChannelId) -> Result<Option<Channel>, StoreError> {
        Ok(self.data.channels.get(id).cloned())
    }
    fn put_channel(&mut self, channel: &Channel) -> Result<(), StoreError> {
        self.write(|d| &mut d.channels, channel.id.clone(), channel.clone());
        Ok(())
    }
    fn offer(&self, id: &OfferId) -> Result<Option<Offer>, StoreError> {
        Ok(self.data.offers.get(id).cloned())
    }
    fn put_offer(&mut self, offer: &Offer) -> Result<(), StoreError> {
        self.write(|d| &mut d.offers, offer.id.clone(), offer.clone());
        Ok(())
    }
    fn licence(&self, id: &LicenceId) -> Result<Option<Licence>, StoreError> {
        Ok(self.data.licences.get(id).cloned())
    }
    fn put_licence(&mut self, licence: &Licence) -> Result<(), StoreError> {
        self.write(|d| &mut d.licences, licence.id.clone(), licence.clone());
        Ok(())
    }
    fn due_licences(&self, now: Timestamp, limit: usize) -> Result<Vec<LicenceId>, StoreError> {
        let mut due: Vec<&Licence> =
            self.data.licences.values().filter(|l| l.status == LicenceStatus::Held && l.hold_until <= now).collect();
        due.sort_by(|a, b| (a.hold_until, &a.id).cmp(&(b.hold_until, &b.id)));
        Ok(due.into_iter().take(limit).map(|l| l.id.clone()).collect())
    }
    fn last_invoice_number(&self, series: &str) -> Result<u64, StoreError> {
        Ok(self.data.invoices.keys().filter(|(s, _)| s == series).map(|(_, n)| *n).max().unwrap_or(0))
    }
    fn insert_invoice(&mut self, invoice: &Invoice) -> Result<(), StoreError> {
        let key = (invoice.number.series.clone(), invoice.number.number);
        assert!(!self.data.invoices.contains_key(&key), "invoice numbers are unique");
        self.write(|d| &mut d.invoices, key, invoice.clone());
        Ok(())
    }
    fn unpaid_holders(&self) -> Result<Vec<(PartyId, Currency)>, StoreError> {
        let set: BTreeSet<(PartyId, Currency)> = self
            .data
            .licences
            .values()
            .filter(|l| l.status == LicenceStatus::Settled && l.payout.is_none())
            .map(|l| (l.holder.clone(), l.price.currency))
            .collect();
        Ok(set.into_iter().collect())
    }
    fn unpaid_licences(&self, holder: &PartyId, currency: Currency, limit: usize) -> Result<Vec<Licence>, StoreError> {
        Ok(self
            .data
            .licences
            .values()
            .filter(|l| l.status == LicenceStatus::Settled && l.payout.is_none())
            .filter(|l| l.holder == *holder && l.price.currency == currency)
            .take(limit)
            .cloned()
            .collect())
    }
    fn payout_count(&self, holder: &PartyId, currency: Currency) -> Result<u64, StoreError> {
        Ok(self.data.payouts.values().filter(|p| p.holder == *holder && p.currency == currency).count() as u64)
    }
    fn insert_payout(&mut self, payout: &Payout) -> Result<(), StoreError> {
        assert!(!self.data.payouts.contains_key(&payout.id), "payout ids are unique");
        self.write(|d| &mut d.payouts, payout.id.clone(), payout.clone());
        Ok(())
    }
    fn operation(&self, id: &OperationId) -> Result<Option<String>, StoreError> {
        Ok(self.data.operations.get(id).cloned())
    }
    fn put_operation(&mut self, id: &OperationId, fingerprint: &str) -> Result<(), StoreError> {
        self.write(|d| &mut d.operations, id.clone(), fingerprint.to_owned());
        Ok(())
    }
}
