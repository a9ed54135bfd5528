//! Storage, behind one trait per area, each implemented by the SQLite backend ([`SqliteStore`], the
//! embedded default) and next by PostgreSQL:
//!
//! - [`Repository`]: the licensing domain: register records, buy, object, resolve, run a settlement
//!   pass, read balances and records, and export a [`Snapshot`] for checks. A PostgreSQL backend
//!   implements `seal_licensing::book::BookStore` on its transaction type and wraps each operation in a
//!   transaction, exactly as `sqlite.rs` does.
//! - [`Accounts`] (users, sessions, resets), [`Channels`] (channels, offers, ownership claims),
//!   [`Checkouts`] (checkouts, the sandbox's payments, webhook events), [`Reports`] (listings and
//!   reports), [`Contents`] (work contents, engine ids, the domain-event outbox), [`Outbox`] (mail),
//!   [`Monitoring`] (hits, allowlists, monitoring jobs and their frontiers, seen pages, event cursors),
//!   [`Usage`] (the search index's feed of changed hits, page texts, usage reports), [`Teams`]
//!   (organisation members, invitations, weekly-summary subscriptions), [`Cases`] (rights-protection
//!   cases, evidence captures, triage, protection settings).
//!   `prelude` brings them all into scope.
//! - Units of work (`unit.rs`, [`SqliteStore::atomically`]): a use case is one transaction.
//!
//! **Architecture invariant**: every business rule lives in `seal-licensing`; this module only
//! translates between rows and domain values and decides transaction boundaries. Every multi-row change
//! (a purchase with its capture and holds, a settlement step with its postings and invoice, a payout with
//! its transfer and licence marks) is one transaction, and a refused operation rolls back whole.

pub mod cases;
pub mod contents;
pub mod demo;
pub mod listing;
pub mod monitoring;
pub mod notifications;
mod outbox;
pub mod platform;
pub mod proof;
mod sqlite;
pub mod team;
mod unit;
pub mod usage;

pub use cases::Cases;
pub use contents::Contents;
pub use monitoring::Monitoring;
pub use notifications::Notifications;
pub use outbox::Outbox;
pub use platform::{Accounts, Channels, Checkouts, Reports};
pub use proof::Proofs;
pub use team::Teams;
pub use usage::Usage;

/// Every store trait, for modules that use several: `use crate::store::prelude::*;`.
pub mod prelude {
    pub use super::{
        Accounts, Cases, Channels, Checkouts, Contents, Listings, Monitoring, Notifications, Outbox, Proofs, Reports,
        Repository, Teams, Usage,
    };
}

pub use listing::Listings;
pub use sqlite::{status_counts, SqliteStore};

use seal_licensing::book::{BookError, Outcome, Payout, PurchaseCommand};
use seal_licensing::ids::{LicenceId, OfferId, OperationId, PartyId};
use seal_licensing::invoice::{Invoice, InvoiceNumber};
use seal_licensing::ledger::Account;
use seal_licensing::licence::{Licence, ObjectionKind, Resolution};
use seal_licensing::memory::Snapshot;
use seal_licensing::money::Currency;
use seal_licensing::offer::{Channel, Offer, RightsHolder, Work};
use seal_licensing::Timestamp;
use std::collections::BTreeMap;

/// A storage-layer failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The domain refused the operation; nothing was written.
    #[error(transparent)]
    Book(#[from] BookError),
    /// The database failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A row could not be turned back into a domain value.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The database is newer than this binary.
    #[error("database schema version {found} is newer than this binary's {supported}")]
    TooNew {
        /// Version on disk.
        found: i64,
        /// Highest version this binary knows.
        supported: i64,
    },
    /// A unique value (an email address, an id) is taken.
    #[error("{0}")]
    Conflict(String),
    /// Filesystem trouble around the database.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A position that does not exist: a leaf past the log's end, a tree that would shrink.
    #[error("{0}")]
    OutOfRange(String),
}

impl From<seal_licensing::ledger::StoreError> for StoreError {
    fn from(e: seal_licensing::ledger::StoreError) -> Self {
        StoreError::Book(BookError::Store(e))
    }
}

impl From<seal_licensing::ledger::LedgerError> for StoreError {
    fn from(e: seal_licensing::ledger::LedgerError) -> Self {
        StoreError::Book(BookError::Ledger(e))
    }
}

/// Limits for one settlement pass.
#[derive(Clone, Copy, Debug)]
pub struct SettleOptions {
    /// Licences settled per transaction. Each licence's postings and invoice are always in the same
    /// transaction; batching several amortises the durable commit.
    pub batch: usize,
    /// Whether to batch settled licences into payouts after settling.
    pub payouts: bool,
}

impl Default for SettleOptions {
    fn default() -> Self {
        SettleOptions { batch: 256, payouts: true }
    }
}

/// Per rights holder and currency totals of one settlement pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolderTotals {
    /// Licences settled.
    pub licences: u64,
    /// Sum of prices.
    pub gross_minor: i64,
    /// Sum of platform fees (including app shares).
    pub fees_minor: i64,
    /// Sum of rights-holder net amounts.
    pub net_minor: i64,
    /// Sum paid out in this pass.
    pub paid_out_minor: i64,
    /// Payouts made in this pass.
    pub payouts: u64,
}

/// What a settlement pass did.
#[derive(Clone, Debug, Default)]
pub struct SettlementReport {
    /// Invoices issued, in order.
    pub invoices: Vec<InvoiceNumber>,
    /// Payouts made.
    pub payouts: Vec<Payout>,
    /// Totals per rights holder and currency.
    pub by_holder: BTreeMap<(PartyId, Currency), HolderTotals>,
}

/// The storage interface of the licensing domain.
pub trait Repository {
    /// Registers a rights holder (idempotent).
    fn register_holder(&mut self, holder: &RightsHolder) -> Result<(), StoreError>;
    /// Registers a channel (idempotent).
    fn register_channel(&mut self, channel: &Channel) -> Result<(), StoreError>;
    /// Registers a work (idempotent).
    fn register_work(&mut self, work: &Work) -> Result<(), StoreError>;
    /// Publishes an offer (idempotent).
    fn publish_offer(&mut self, offer: &Offer) -> Result<(), StoreError>;
    /// Withdraws an offer of `assigner` from `now` on (licences keep their snapshot); idempotent.
    fn withdraw_offer(&mut self, id: &OfferId, assigner: &PartyId, now: Timestamp) -> Result<Offer, StoreError>;
    /// Buys a licence: one transaction.
    fn purchase(&mut self, cmd: &PurchaseCommand, now: Timestamp) -> Result<Outcome<Licence>, StoreError>;
    /// Buys several licences with one durable commit (group commit). Each purchase is all-or-nothing on
    /// its own (a savepoint), so one refused purchase does not affect the others. The outer `Err` means
    /// the commit itself failed and none was stored.
    fn purchase_batch(
        &mut self,
        cmds: &[PurchaseCommand],
        now: Timestamp,
    ) -> Result<Vec<Result<Outcome<Licence>, StoreError>>, StoreError>;
    /// Raises an objection during the publicity period.
    fn object(
        &mut self,
        op: &OperationId,
        licence: &LicenceId,
        kind: ObjectionKind,
        now: Timestamp,
    ) -> Result<Outcome<Licence>, StoreError>;
    /// Resolves an objection.
    fn resolve(
        &mut self,
        op: &OperationId,
        licence: &LicenceId,
        resolution: Resolution,
        now: Timestamp,
    ) -> Result<Outcome<Licence>, StoreError>;
    /// Settles every licence due at `now` and, if asked, pays out rights holders.
    fn settle(&mut self, now: Timestamp, options: SettleOptions) -> Result<SettlementReport, StoreError>;
    /// All account balances.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// A licence.
    fn licence(&self, id: &LicenceId) -> Result<Option<Licence>, StoreError>;
    /// A work.
    fn work(&self, id: &seal_licensing::ids::WorkId) -> Result<Option<Work>, StoreError>;
    /// A rights holder.
    fn holder(&self, id: &PartyId) -> Result<Option<RightsHolder>, StoreError>;
    /// The invoice of a licence.
    fn invoice_for(&self, licence: &LicenceId) -> Result<Option<Invoice>, StoreError>;
    /// Everything, for invariant checks and exports.
    fn snapshot(&self) -> Result<Snapshot, StoreError>;
}
