//! The double-entry ledger, with TigerBeetle's transfer semantics.
//!
//! - Every transfer debits one account and credits another by the same positive amount in one
//!   currency, so debits equal credits by construction, for pending and posted balances alike.
//! - A *pending* transfer reserves funds. It is later *posted* (in full or in part; the rest is released)
//!   or *voided*, exactly once. Corrections are new transfers, never edits: nothing here updates a
//!   transfer after it is written; only the account balances and the pending transfer's resolution move.
//! - Ids are chosen by the caller. Re-sending a transfer with an id already used returns the stored
//!   transfer if the request is identical and [`LedgerError::IdConflict`] if it differs, so a duplicate
//!   delivery is harmless and a replayed id with a different body is refused.
//! - Credit-normal accounts (escrow, payables, fee revenue, app shares, refunds) carry the
//!   "debits must not exceed credits" flag, so escrow can never go negative, even through pending holds.
//!
//! Storage is abstracted by [`LedgerStore`]; the caller wraps [`create_transfer`] in its own
//! transaction, and every check happens before the first write.

use crate::ids::{PartyId, TransferId};
use crate::money::{Amount, Currency, MoneyError};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an account is for. The kind decides the account's balance flags.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountKind {
    /// Money captured by a payment provider and not yet passed on (an asset: debit-normal).
    Clearing(PartyId),
    /// The platform's supervision (escrow) account, where paid licence fees wait out the publicity period.
    Escrow,
    /// What the platform owes one rights holder.
    Payable(PartyId),
    /// The platform's fee revenue.
    FeeRevenue,
    /// What the platform owes a third-party app for sales made through it.
    AppShare(PartyId),
    /// Refunds owed back to licensees.
    Refunds,
    /// Money sent out to rights holders: credited by each payout, as cash leaving the platform.
    Payouts,
}

/// An account: a kind in one currency. Accounts open implicitly on first use.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId {
    /// What the account is for.
    pub kind: AccountKind,
    /// Its only currency.
    pub currency: Currency,
}

/// Why an account name could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid account name {0:?}")]
pub struct AccountParseError(pub String);

impl AccountId {
    /// An account of `kind` in `currency`.
    pub fn new(kind: AccountKind, currency: Currency) -> Self {
        AccountId { kind, currency }
    }

    /// Credit-normal accounts may never be debited beyond their posted credits.
    pub fn debits_must_not_exceed_credits(&self) -> bool {
        !matches!(self.kind, AccountKind::Clearing(_) | AccountKind::Payouts)
    }

    /// Parses the form written by `Display`: `escrow@CNY`, `payable[rh-1]@CNY`.
    pub fn parse(text: &str) -> Result<AccountId, AccountParseError> {
        let err = || AccountParseError(text.to_owned());
        let (kind_text, cur) = text.rsplit_once('@').ok_or_else(err)?;
        let currency = Currency::parse(cur).map_err(|_| err())?;
        let party = |s: &str| -> Result<PartyId, AccountParseError> {
            let inner = s.strip_suffix(']').ok_or_else(err)?;
            PartyId::new(inner).map_err(|_| err())
        };
        let kind = match kind_text.split_once('[') {
            None => match kind_text {
                "escrow" => AccountKind::Escrow,
                "fee_revenue" => AccountKind::FeeRevenue,
                "refunds" => AccountKind::Refunds,
                "payouts" => AccountKind::Payouts,
                _ => return Err(err()),
            },
            Some(("clearing", p)) => AccountKind::Clearing(party(p)?),
            Some(("payable", p)) => AccountKind::Payable(party(p)?),
            Some(("app_share", p)) => AccountKind::AppShare(party(p)?),
            Some(_) => return Err(err()),
        };
        Ok(AccountId { kind, currency })
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.currency;
        match &self.kind {
            AccountKind::Clearing(p) => write!(f, "clearing[{p}]@{c}"),
            AccountKind::Escrow => write!(f, "escrow@{c}"),
            AccountKind::Payable(p) => write!(f, "payable[{p}]@{c}"),
            AccountKind::FeeRevenue => write!(f, "fee_revenue@{c}"),
            AccountKind::AppShare(p) => write!(f, "app_share[{p}]@{c}"),
            AccountKind::Refunds => write!(f, "refunds@{c}"),
            AccountKind::Payouts => write!(f, "payouts@{c}"),
        }
    }
}

/// The four running totals TigerBeetle keeps per account, in minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balances {
    /// Sum of pending debits not yet posted or voided.
    pub debits_pending: i64,
    /// Sum of posted debits.
    pub debits_posted: i64,
    /// Sum of pending credits not yet posted or voided.
    pub credits_pending: i64,
    /// Sum of posted credits.
    pub credits_posted: i64,
}

/// An account and its balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Which account.
    pub id: AccountId,
    /// Its running totals.
    pub balances: Balances,
}

impl Account {
    /// A fresh account with zero balances.
    pub fn open(id: AccountId) -> Self {
        Account { id, balances: Balances::default() }
    }

    /// Posted credits minus posted debits: what a credit-normal account holds.
    pub fn credit_balance(&self) -> i64 {
        self.balances.credits_posted - self.balances.debits_posted
    }

    /// What a credit-normal account could still pay out: posted credits less posted and pending debits.
    pub fn available(&self) -> i64 {
        self.balances.credits_posted - self.balances.debits_posted - self.balances.debits_pending
    }
}

/// What a transfer request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferAction {
    /// Move money at once.
    Posted {
        /// Account debited.
        debit: AccountId,
        /// Account credited.
        credit: AccountId,
        /// Raw minor units, validated here.
        amount_minor: i64,
        /// Must match both accounts' currency.
        currency: Currency,
    },
    /// Reserve money, to be posted or voided later.
    Pending {
        /// Account debited.
        debit: AccountId,
        /// Account credited.
        credit: AccountId,
        /// Raw minor units, validated here.
        amount_minor: i64,
        /// Must match both accounts' currency.
        currency: Currency,
    },
    /// Post a pending transfer, in full (`None`) or in part; the rest is released.
    Post {
        /// The pending transfer.
        pending_id: TransferId,
        /// How much to post, at most the pending amount.
        amount_minor: Option<i64>,
    },
    /// Release a pending transfer without moving money.
    Void {
        /// The pending transfer.
        pending_id: TransferId,
    },
}

/// A request to create a transfer. Two requests with the same id must be equal to be idempotent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// Caller-chosen unique id.
    pub id: TransferId,
    /// What to do.
    pub action: TransferAction,
    /// What the transfer is for (a licence or payout id), at most 128 bytes.
    pub reference: String,
}

/// A stored transfer: the request as made, plus what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The request exactly as received (used for the idempotency comparison).
    pub request: TransferRequest,
    /// Account debited (for post and void: the pending transfer's).
    pub debit: AccountId,
    /// Account credited.
    pub credit: AccountId,
    /// Amount moved or reserved; for a void, the amount released.
    pub amount: Amount,
    /// When the ledger accepted it.
    pub timestamp: Timestamp,
}

impl Transfer {
    /// The transfer's id.
    pub fn id(&self) -> &TransferId {
        &self.request.id
    }

    /// The currency (the accounts').
    pub fn currency(&self) -> Currency {
        self.debit.currency
    }

    /// Whether this transfer is a pending one.
    pub fn is_pending(&self) -> bool {
        matches!(self.request.action, TransferAction::Pending { .. })
    }
}

/// The resolution of a pending transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingState {
    /// Still reserved.
    Pending,
    /// Posted by the named transfer, for the amount given.
    Posted {
        /// The posting transfer.
        by: TransferId,
        /// Amount posted.
        amount: Amount,
    },
    /// Voided by the named transfer.
    Voided {
        /// The voiding transfer.
        by: TransferId,
    },
}

/// A storage failure, boxed so this pure crate need not know the backend.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps any backend error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError(Box::new(e))
    }
}

/// Why a transfer was refused. Nothing is written when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Bad amount.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Transfers move a positive amount.
    #[error("transfer amount must be positive")]
    ZeroAmount,
    /// Debit and credit are the same account.
    #[error("debit and credit are the same account")]
    SameAccount,
    /// A transfer's currency differs from an account's.
    #[error("currency {currency} does not match account {account}")]
    CurrencyMismatch {
        /// The transfer's currency.
        currency: Currency,
        /// The mismatched account.
        account: AccountId,
    },
    /// The reference text is longer than 128 bytes.
    #[error("reference too long")]
    ReferenceTooLong,
    /// The id was used before by a different request.
    #[error("transfer id {0} already used with a different body")]
    IdConflict(TransferId),
    /// Post or void of an unknown transfer.
    #[error("pending transfer {0} not found")]
    PendingNotFound(TransferId),
    /// Post or void of a transfer that is not pending.
    #[error("transfer {0} is not a pending transfer")]
    NotPending(TransferId),
    /// The pending transfer was posted already.
    #[error("pending transfer {0} was already posted")]
    AlreadyPosted(TransferId),
    /// The pending transfer was voided already.
    #[error("pending transfer {0} was already voided")]
    AlreadyVoided(TransferId),
    /// A partial post larger than the pending amount.
    #[error("post amount exceeds pending transfer {0}")]
    PostExceedsPending(TransferId),
    /// The debit would exceed a credit-normal account's credits.
    #[error("insufficient funds in {0}")]
    ExceedsCredits(AccountId),
    /// A balance left the `i64` range.
    #[error("balance overflow in {0}")]
    Overflow(AccountId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the ledger needs from storage. Reads see the caller's open transaction; writes are buffered in
/// it. Implementations: `MemoryBook` here, SQLite in `seal-api`.
pub trait LedgerStore {
    /// An account, if it was ever used.
    fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    /// Inserts or replaces an account's balances.
    fn put_account(&mut self, account: &Account) -> Result<(), StoreError>;
    /// A transfer by id.
    fn transfer(&self, id: &TransferId) -> Result<Option<Transfer>, StoreError>;
    /// Appends a transfer (ids are unique; the ledger checks before calling).
    fn insert_transfer(&mut self, transfer: &Transfer) -> Result<(), StoreError>;
    /// A pending transfer's resolution.
    fn pending_state(&self, id: &TransferId) -> Result<Option<PendingState>, StoreError>;
    /// Records a pending transfer's resolution.
    fn put_pending_state(&mut self, id: &TransferId, state: &PendingState) -> Result<(), StoreError>;
}

/// The result of [`create_transfer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A new transfer was written.
    Created(Transfer),
    /// The identical request had been applied before; nothing was written.
    AlreadyExists(Transfer),
}

impl Applied {
    /// The transfer, new or old.
    pub fn transfer(&self) -> &Transfer {
        match self {
            Applied::Created(t) | Applied::AlreadyExists(t) => t,
        }
    }
}

fn add(v: i64, d: i64, acc: &AccountId) -> Result<i64, LedgerError> {
    v.checked_add(d).ok_or_else(|| LedgerError::Overflow(acc.clone()))
}

fn load(store: &(impl LedgerStore + ?Sized), id: &AccountId) -> Result<Account, LedgerError> {
    Ok(store.account(id)?.unwrap_or_else(|| Account::open(id.clone())))
}

/// Validates and applies one transfer. All checks run before the first write, so on `Err` nothing was
/// written; the caller's transaction makes the writes themselves atomic.
pub fn create_transfer<S: LedgerStore + ?Sized>(
    store: &mut S,
    req: &TransferRequest,
    now: Timestamp,
) -> Result<Applied, LedgerError> {
    if req.reference.len() > 128 {
        return Err(LedgerError::ReferenceTooLong);
    }
    if let Some(existing) = store.transfer(&req.id)? {
        return if existing.request == *req {
            Ok(Applied::AlreadyExists(existing))
        } else {
            Err(LedgerError::IdConflict(req.id.clone()))
        };
    }
    let (dr, cr, amount, resolves) = match &req.action {
        TransferAction::Posted { debit, credit, amount_minor, currency }
        | TransferAction::Pending { debit, credit, amount_minor, currency } => {
            let amount = Amount::new(*amount_minor)?;
            if amount == Amount::ZERO {
                return Err(LedgerError::ZeroAmount);
            }
            if debit == credit {
                return Err(LedgerError::SameAccount);
            }
            for account in [debit, credit] {
                if account.currency != *currency {
                    return Err(LedgerError::CurrencyMismatch { currency: *currency, account: account.clone() });
                }
            }
            let (mut dr, mut cr) = (load(store, debit)?, load(store, credit)?);
            let a = amount.minor();
            if matches!(req.action, TransferAction::Pending { .. }) {
                dr.balances.debits_pending = add(dr.balances.debits_pending, a, debit)?;
                cr.balances.credits_pending = add(cr.balances.credits_pending, a, credit)?;
            } else {
                dr.balances.debits_posted = add(dr.balances.debits_posted, a, debit)?;
                cr.balances.credits_posted = add(cr.balances.credits_posted, a, credit)?;
            }
            (dr, cr, amount, None)
        }
        TransferAction::Post { pending_id, amount_minor } => {
            let pending = resolvable(store, pending_id)?;
            let amount = match amount_minor {
                Some(raw) => Amount::new(*raw)?,
                None => pending.amount,
            };
            if amount == Amount::ZERO {
                return Err(LedgerError::ZeroAmount);
            }
            if amount > pending.amount {
                return Err(LedgerError::PostExceedsPending(pending_id.clone()));
            }
            let (mut dr, mut cr) = (load(store, &pending.debit)?, load(store, &pending.credit)?);
            let (p, a) = (pending.amount.minor(), amount.minor());
            dr.balances.debits_pending = add(dr.balances.debits_pending, -p, &pending.debit)?;
            dr.balances.debits_posted = add(dr.balances.debits_posted, a, &pending.debit)?;
            cr.balances.credits_pending = add(cr.balances.credits_pending, -p, &pending.credit)?;
            cr.balances.credits_posted = add(cr.balances.credits_posted, a, &pending.credit)?;
            let state = PendingState::Posted { by: req.id.clone(), amount };
            (dr, cr, amount, Some((pending_id.clone(), state)))
        }
        TransferAction::Void { pending_id } => {
            let pending = resolvable(store, pending_id)?;
            let (mut dr, mut cr) = (load(store, &pending.debit)?, load(store, &pending.credit)?);
            let p = pending.amount.minor();
            dr.balances.debits_pending = add(dr.balances.debits_pending, -p, &pending.debit)?;
            cr.balances.credits_pending = add(cr.balances.credits_pending, -p, &pending.credit)?;
            let state = PendingState::Voided { by: req.id.clone() };
            (dr, cr, pending.amount, Some((pending_id.clone(), state)))
        }
    };
    let b = dr.balances;
    let debits = add(b.debits_pending, b.debits_posted, &dr.id)?;
    if dr.id.debits_must_not_exceed_credits() && debits > b.credits_posted {
        return Err(LedgerError::ExceedsCredits(dr.id.clone()));
    }
    // Assert what we expect before writing: balances never go negative.
    debug_assert!([dr.balances, cr.balances]
        .iter()
        .all(|b| b.debits_pending >= 0 && b.credits_pending >= 0 && b.debits_posted >= 0 && b.credits_posted >= 0));
    let transfer =
        Transfer { request: req.clone(), debit: dr.id.clone(), credit: cr.id.clone(), amount, timestamp: now };
    store.put_account(&dr)?;
    store.put_account(&cr)?;
    store.insert_transfer(&transfer)?;
    match resolves {
        Some((pending_id, state)) => store.put_pending_state(&pending_id, &state)?,
        None if transfer.is_pending() => store.put_pending_state(&req.id, &PendingState::Pending)?,
        None => {}
    }
    Ok(Applied::Created(transfer))
}

/// Loads a pending transfer that can still be posted or voided.
fn resolvable<S: LedgerStore + ?Sized>(store: &S, id: &TransferId) -> Result<Transfer, LedgerError> {
    let pending = store.transfer(id)?.ok_or_else(|| LedgerError::PendingNotFound(id.clone()))?;
    if !pending.is_pending() {
        return Err(LedgerError::NotPending(id.clone()));
    }
    match store.pending_state(id)? {
        Some(PendingState::Pending) => Ok(pending),
        Some(PendingState::Posted { .. }) => Err(LedgerError::AlreadyPosted(id.clone())),
        Some(PendingState::Voided { .. }) => Err(LedgerError::AlreadyVoided(id.clone())),
        // A pending transfer always has a state row; its absence means a corrupt store.
        None => Err(LedgerError::PendingNotFound(id.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryBook;

    fn acc(kind: AccountKind) -> AccountId {
        AccountId::new(kind, Currency::CNY)
    }

    fn tid(s: &str) -> TransferId {
        TransferId::new(s).expect("valid id")
    }

    fn posted(id: &str, debit: AccountKind, credit: AccountKind, amount: i64) -> TransferRequest {
        TransferRequest {
            id: tid(id),
            action: TransferAction::Posted {
                debit: acc(debit),
                credit: acc(credit),
                amount_minor: amount,
                currency: Currency::CNY,
            },
            reference: String::new(),
        }
    }

    fn pending(id: &str, debit: AccountKind, credit: AccountKind, amount: i64) -> TransferRequest {
        let mut r = posted(id, debit, credit, amount);
        if let TransferAction::Posted { debit, credit, amount_minor, currency } = r.action {
            r.action = TransferAction::Pending { debit, credit, amount_minor, currency };
        }
        r
    }

    fn clearing() -> AccountKind {
        AccountKind::Clearing(PartyId::new("alipay").expect("valid"))
    }

    #[test]
    fn account_names_round_trip() {
        for kind in [clearing(), AccountKind::Escrow, AccountKind::Payable(PartyId::new("rh:1/a").expect("valid"))] {
            let id = acc(kind);
            assert_eq!(AccountId::parse(&id.to_string()), Ok(id));
        }
        assert!(AccountId::parse("escrow@RMB").is_err());
        assert!(AccountId::parse("nope@CNY").is_err());
    }

    #[test]
    fn pending_posts_once_partially_and_releases_the_rest() {
        let mut book = MemoryBook::default();
        let t = Timestamp::EPOCH;
        create_transfer(&mut book, &posted("cap", clearing(), AccountKind::Escrow, 1000), t).expect("capture");
        let hold = pending("hold", AccountKind::Escrow, AccountKind::FeeRevenue, 1000);
        create_transfer(&mut book, &hold, t).expect("hold");
        // Escrow is fully reserved: another hold must fail and write nothing.
        let over = pending("hold2", AccountKind::Escrow, AccountKind::FeeRevenue, 1);
        assert!(matches!(create_transfer(&mut book, &over, t), Err(LedgerError::ExceedsCredits(_))));
        assert!(book.transfer(&tid("hold2")).expect("read").is_none());
        let post = TransferRequest {
            id: tid("post"),
            action: TransferAction::Post { pending_id: tid("hold"), amount_minor: Some(600) },
            reference: String::new(),
        };
        assert!(matches!(create_transfer(&mut book, &post, t), Ok(Applied::Created(_))));
        assert!(matches!(create_transfer(&mut book, &post, t), Ok(Applied::AlreadyExists(_))));
        let void = TransferRequest {
            id: tid("void"),
            action: TransferAction::Void { pending_id: tid("hold") },
            reference: String::new(),
        };
        assert!(matches!(create_transfer(&mut book, &void, t), Err(LedgerError::AlreadyPosted(_))));
        let escrow = book.account(&acc(AccountKind::Escrow)).expect("read").expect("exists");
        assert_eq!(escrow.available(), 400);
        assert_eq!(escrow.balances.debits_pending, 0);
    }

    #[test]
    fn replayed_id_with_different_body_is_refused() {
        let mut book = MemoryBook::default();
        let t = Timestamp::EPOCH;
        create_transfer(&mut book, &posted("a", clearing(), AccountKind::Escrow, 5), t).expect("first");
        let other = posted("a", clearing(), AccountKind::Escrow, 6);
        assert!(matches!(create_transfer(&mut book, &other, t), Err(LedgerError::IdConflict(_))));
    }

    #[test]
    fn bad_amounts_are_typed_errors() {
        let mut book = MemoryBook::default();
        let t = Timestamp::EPOCH;
        for (amount, want) in [(-5, "negative"), (0, "positive"), (i64::MAX, "exceeds")] {
            let err = create_transfer(&mut book, &posted("x", clearing(), AccountKind::Escrow, amount), t)
                .expect_err("must fail");
            assert!(err.to_string().contains(want), "{err}");
        }
        assert!(book.snapshot().transfers.is_empty());
    }
}
