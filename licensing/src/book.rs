//! The licensing operations: purchase, objection, resolution, settlement and payout.
//!
//! Each operation is a function over a [`BookStore`] and runs inside the caller's transaction: it reads,
//! checks everything it can, then writes. Money moves only through [`crate::ledger::create_transfer`], so
//! the ledger's guarantees hold for every operation. The flow for a paid licence:
//!
//! 1. [`purchase`]: the captured payment is posted from the provider's clearing account into escrow, and
//!    pending transfers reserve it from escrow to the rights holder's payable, the platform's fee revenue
//!    and (if sold through one) a third-party app's share. The licence is `Held` until the publicity
//!    period ends.
//! 2. [`object`]: during the publicity period, a refund request or ownership dispute freezes the hold.
//! 3. [`resolve`]: a reviewer voids the holds and refunds (the licence is revoked), or releases them.
//! 4. [`settle_licence`]: once the period is over, the holds are posted and the invoice is issued, in one
//!    step.
//! 5. [`pay_out`]: a settlement run batches a rights holder's settled, unpaid licences into one payout.
//!
//! Idempotency: a purchase's key is its licence id; objections and resolutions carry an
//! [`OperationId`]. The store keeps a fingerprint (the command's canonical JSON) per key, so a duplicate
//! delivery returns the first result and a replayed key with a different body is refused with
//! [`BookError::IdConflict`], writing nothing.

use crate::ids::{ChannelId, LicenceId, OfferId, OperationId, PartyId, PayoutId, TransferId, WorkId};
use crate::invoice::{Invoice, InvoiceLine, InvoiceNumber};
use crate::ledger::{
    create_transfer, AccountId, AccountKind, LedgerError, LedgerStore, StoreError, TransferAction, TransferRequest,
};
use crate::licence::{HoldLeg, Leg, Licence, LicenceStatus, ObjectionKind, Resolution, Split, UseScope};
use crate::money::{Amount, Currency, Money, MoneyError};
use crate::offer::{Channel, Offer, RightsHolder, ValidationError, Work, APP_SHARE_OF_FEE_BPS};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Most licences one payout batches; a holder with more gets several payouts in one run.
pub const MAX_LICENCES_PER_PAYOUT: usize = 10_000;

/// A payout: one transfer from a rights holder's payable covering a batch of settled licences.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    /// Payout id: `po/{holder}/{currency}/{sequence}`.
    pub id: PayoutId,
    /// The rights holder paid.
    pub holder: PartyId,
    /// Currency.
    pub currency: Currency,
    /// Sum of the licences' net amounts.
    pub amount: Amount,
    /// The licences paid, each exactly once across all payouts.
    pub licences: Vec<LicenceId>,
    /// The ledger transfer (absent when every licence's net was zero).
    pub transfer: Option<TransferId>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Storage the operations need beyond the ledger. Reads see the caller's open transaction.
pub trait BookStore: LedgerStore {
    /// A rights holder.
    fn holder(&self, id: &PartyId) -> Result<Option<RightsHolder>, StoreError>;
    /// Inserts or replaces a rights holder.
    fn put_holder(&mut self, holder: &RightsHolder) -> Result<(), StoreError>;
    /// A work.
    fn work(&self, id: &WorkId) -> Result<Option<Work>, StoreError>;
    /// Inserts or replaces a work.
    fn put_work(&mut self, work: &Work) -> Result<(), StoreError>;
    /// A channel.
    fn channel(&self, id: &ChannelId) -> Result<Option<Channel>, StoreError>;
    /// Inserts or replaces a channel.
    fn put_channel(&mut self, channel: &Channel) -> Result<(), StoreError>;
    /// An offer.
    fn offer(&self, id: &OfferId) -> Result<Option<Offer>, StoreError>;
    /// Inserts or replaces an offer.
    fn put_offer(&mut self, offer: &Offer) -> Result<(), StoreError>;
    /// A licence.
    fn licence(&self, id: &LicenceId) -> Result<Option<Licence>, StoreError>;
    /// Inserts or replaces a licence.
    fn put_licence(&mut self, licence: &Licence) -> Result<(), StoreError>;
    /// Up to `limit` `Held` licences whose publicity period has ended by `now`, oldest first.
    fn due_licences(&self, now: Timestamp, limit: usize) -> Result<Vec<LicenceId>, StoreError>;
    /// The highest number used in an invoice series, 0 if none.
    fn last_invoice_number(&self, series: &str) -> Result<u64, StoreError>;
    /// Appends an invoice.
    fn insert_invoice(&mut self, invoice: &Invoice) -> Result<(), StoreError>;
    /// Holders and currencies that have settled licences not yet paid out.
    fn unpaid_holders(&self) -> Result<Vec<(PartyId, Currency)>, StoreError>;
    /// Up to `limit` settled, unpaid licences of a holder in a currency, in id order.
    fn unpaid_licences(&self, holder: &PartyId, currency: Currency, limit: usize) -> Result<Vec<Licence>, StoreError>;
    /// How many payouts a holder has had in a currency.
    fn payout_count(&self, holder: &PartyId, currency: Currency) -> Result<u64, StoreError>;
    /// Appends a payout.
    fn insert_payout(&mut self, payout: &Payout) -> Result<(), StoreError>;
    /// The fingerprint stored for an operation id.
    fn operation(&self, id: &OperationId) -> Result<Option<String>, StoreError>;
    /// Records an operation's fingerprint.
    fn put_operation(&mut self, id: &OperationId, fingerprint: &str) -> Result<(), StoreError>;
}

/// Why an operation was refused. Nothing is written when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// A ledger rule was broken.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A bad amount or currency.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// A record failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A referenced record does not exist.
    #[error("unknown {kind} {id}")]
    NotFound {
        /// Kind of record.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// An id was used before with a different body.
    #[error("{kind} id {id} already used with a different body")]
    IdConflict {
        /// Kind of id.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The offer is not open at this time.
    #[error("offer {0} is expired or not yet open")]
    OfferClosed(OfferId),
    /// The offer does not apply to the work.
    #[error("offer {offer} does not cover work {work}")]
    OfferDoesNotCover {
        /// The offer.
        offer: OfferId,
        /// The work.
        work: WorkId,
    },
    /// The payment does not match the offer's price.
    #[error("payment {paid} does not match the price {price}")]
    PaymentMismatch {
        /// The offer's price.
        price: Money,
        /// What was paid.
        paid: Money,
    },
    /// A paid offer without a payment, or a free one with a payment.
    #[error("payment required: {0}")]
    PaymentPresence(bool),
    /// The licence is not in a state that allows the operation.
    #[error("licence {licence} is {status:?}; the operation needs {needed}")]
    WrongStatus {
        /// The licence.
        licence: LicenceId,
        /// Its status.
        status: LicenceStatus,
        /// What was needed.
        needed: &'static str,
    },
    /// An objection after the publicity period.
    #[error("the publicity period of licence {0} is over")]
    PublicityOver(LicenceId),
    /// Settlement before the publicity period is over.
    #[error("licence {0} is not due before its publicity period ends")]
    NotDue(LicenceId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn not_found(kind: &'static str, id: &impl ToString) -> BookError {
    BookError::NotFound { kind, id: id.to_string() }
}

/// Inserts a record unless one with the same id exists; an existing identical record is fine (a
/// duplicate delivery), a different one is an id conflict.
fn insert_once<T: PartialEq>(
    existing: Option<T>,
    new: &T,
    kind: &'static str,
    id: &impl ToString,
    put: impl FnOnce(&T) -> Result<(), StoreError>,
) -> Result<(), BookError> {
    match existing {
        Some(old) if old == *new => Ok(()),
        Some(_) => Err(BookError::IdConflict { kind, id: id.to_string() }),
        None => Ok(put(new)?),
    }
}

/// Registers a rights holder (idempotent).
pub fn register_holder<S: BookStore + ?Sized>(s: &mut S, holder: &RightsHolder) -> Result<(), BookError> {
    holder.validate()?;
    let existing = s.holder(&holder.id)?;
    insert_once(existing, holder, "holder", &holder.id, |h| s.put_holder(h))
}

/// Registers a work (idempotent). The owner must be a registered rights holder.
pub fn register_work<S: BookStore + ?Sized>(s: &mut S, work: &Work) -> Result<(), BookError> {
    work.validate()?;
    s.holder(&work.owner)?.ok_or_else(|| not_found("holder", &work.owner))?;
    if let Some(c) = &work.channel {
        let channel = s.channel(c)?.ok_or_else(|| not_found("channel", c))?;
        if channel.owner != work.owner {
            return Err(BookError::Invalid(ValidationError { field: "channel", reason: "owned by someone else" }));
        }
    }
    let existing = s.work(&work.id)?;
    insert_once(existing, work, "work", &work.id, |w| s.put_work(w))
}

/// Registers a channel (idempotent).
pub fn register_channel<S: BookStore + ?Sized>(s: &mut S, channel: &Channel) -> Result<(), BookError> {
    channel.validate()?;
    s.holder(&channel.owner)?.ok_or_else(|| not_found("holder", &channel.owner))?;
    // Publishing a channel offer appends to the stored channel's default offers, so a re-sent
    // registration matches when everything else is equal and its offers are already among them.
    let existing = s.channel(&channel.id)?.map(|old| {
        if channel.default_offers.iter().all(|o| old.default_offers.contains(o)) {
            Channel { default_offers: channel.default_offers.clone(), ..old }
        } else {
            old
        }
    });
    insert_once(existing, channel, "channel", &channel.id, |c| s.put_channel(c))
}

/// Publishes an offer (idempotent); a channel offer is added to the channel's default offers.
pub fn publish_offer<S: BookStore + ?Sized>(s: &mut S, offer: &Offer) -> Result<(), BookError> {
    offer.validate()?;
    s.holder(&offer.assigner)?.ok_or_else(|| not_found("holder", &offer.assigner))?;
    let channel = match &offer.target {
        crate::offer::OfferTarget::Work(w) => {
            let work = s.work(w)?.ok_or_else(|| not_found("work", w))?;
            if work.owner != offer.assigner {
                return Err(BookError::Invalid(ValidationError {
                    field: "target",
                    reason: "work owned by someone else",
                }));
            }
            None
        }
        crate::offer::OfferTarget::Channel(c) => {
            let channel = s.channel(c)?.ok_or_else(|| not_found("channel", c))?;
            if channel.owner != offer.assigner {
                return Err(BookError::Invalid(ValidationError {
                    field: "target",
                    reason: "channel owned by someone else",
                }));
            }
            Some(channel)
        }
    };
    let existing = s.offer(&offer.id)?;
    insert_once(existing, offer, "offer", &offer.id, |o| s.put_offer(o))?;
    if let Some(mut channel) = channel {
        if !channel.default_offers.contains(&offer.id) {
            channel.default_offers.push(offer.id.clone());
            channel.validate()?;
            s.put_channel(&channel)?;
        }
    }
    Ok(())
}

/// Withdraws an offer from `now` on: closed to new purchases and dropped from its channel's default
/// offers. Licences bought under it keep their snapshot. Only its assigner may withdraw it (anyone else
/// is told it does not exist); withdrawing again changes nothing and returns the offer as it stands.
pub fn withdraw_offer<S: BookStore + ?Sized>(
    s: &mut S,
    id: &OfferId,
    assigner: &PartyId,
    now: Timestamp,
) -> Result<Offer, BookError> {
    let mut offer = s.offer(id)?.filter(|o| o.assigner == *assigner).ok_or_else(|| not_found("offer", id))?;
    if offer.withdrawn_at.is_some() {
        return Ok(offer);
    }
    offer.withdrawn_at = Some(now);
    s.put_offer(&offer)?;
    if let crate::offer::OfferTarget::Channel(c) = &offer.target {
        if let Some(mut channel) = s.channel(c)? {
            channel.default_offers.retain(|o| o != id);
            s.put_channel(&channel)?;
        }
    }
    Ok(offer)
}

/// A captured payment as the payment provider reported it; amount and currency are raw and validated here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    /// The provider (its clearing account receives the debit).
    pub provider: PartyId,
    /// The provider's reference for the payment.
    pub provider_ref: String,
    /// Minor units paid.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// A purchase of a licence under an offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseCommand {
    /// The new licence's id, and the idempotency key of this purchase.
    pub licence_id: LicenceId,
    /// The offer.
    pub offer: OfferId,
    /// The work.
    pub work: WorkId,
    /// The licensee.
    pub licensee: PartyId,
    /// The licensee's display name.
    pub licensee_name: String,
    /// Where the licensee will use the work.
    pub scope: UseScope,
    /// The captured payment; `None` for a free offer.
    pub payment: Option<PaymentInput>,
    /// The third-party app the licence was sold through, if any.
    pub app: Option<PartyId>,
    /// A retroactive licence that settles a rights-protection case: the price is the offer's times
    /// this multiplier (basis points, see [`crate::case::settlement_fee`]). Absent for an ordinary
    /// purchase, and then left out of the fingerprint, so purchases recorded before it replay alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_bps: Option<u32>,
}

/// What an idempotent operation returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome<T> {
    /// The result.
    pub value: T,
    /// True when this was a duplicate delivery and nothing was written.
    pub replayed: bool,
}

fn fingerprint(kind: &str, body: &impl Serialize) -> String {
    // serde_json writes struct fields in declaration order, so this is canonical for our own types.
    format!("{kind}:{}", serde_json::to_string(body).unwrap_or_default())
}

/// Checks an operation id: `Ok(true)` if this exact operation was applied before.
fn seen<S: BookStore + ?Sized>(s: &S, id: &OperationId, fp: &str) -> Result<bool, BookError> {
    match s.operation(id)? {
        Some(old) if old == fp => Ok(true),
        Some(_) => Err(BookError::IdConflict { kind: "operation", id: id.to_string() }),
        None => Ok(false),
    }
}

fn op_id(prefix: &str, id: &impl std::fmt::Display) -> OperationId {
    // Prefixed ids are at most 128 + a short prefix, inside the derived-id limit.
    OperationId::new(format!("{prefix}/{id}")).unwrap_or_else(|_| unreachable!("derived id is valid"))
}

fn transfer(
    s: &mut (impl BookStore + ?Sized),
    id: TransferId,
    action: TransferAction,
    reference: &LicenceId,
    now: Timestamp,
) -> Result<(), BookError> {
    let req = TransferRequest { id, action, reference: reference.to_string() };
    create_transfer(s, &req, now)?;
    Ok(())
}

/// Buys a licence: validates the offer and payment, records the licence, posts the capture into escrow
/// and places the holds. One transaction in the caller.
pub fn purchase<S: BookStore + ?Sized>(
    s: &mut S,
    cmd: &PurchaseCommand,
    now: Timestamp,
) -> Result<Outcome<Licence>, BookError> {
    let op = op_id("purchase", &cmd.licence_id);
    let fp = fingerprint("purchase", cmd);
    if seen(s, &op, &fp)? {
        let licence = s.licence(&cmd.licence_id)?.ok_or_else(|| not_found("licence", &cmd.licence_id))?;
        return Ok(Outcome { value: licence, replayed: true });
    }
    if s.licence(&cmd.licence_id)?.is_some() {
        return Err(BookError::IdConflict { kind: "licence", id: cmd.licence_id.to_string() });
    }
    crate::offer::check_name(&cmd.licensee_name)?;
    let offer = s.offer(&cmd.offer)?.ok_or_else(|| not_found("offer", &cmd.offer))?;
    let work = s.work(&cmd.work)?.ok_or_else(|| not_found("work", &cmd.work))?;
    if !offer.is_open(now) {
        return Err(BookError::OfferClosed(offer.id));
    }
    if !offer.covers(&work) {
        return Err(BookError::OfferDoesNotCover { offer: offer.id, work: work.id });
    }
    let holder = s.holder(&work.owner)?.ok_or_else(|| not_found("holder", &work.owner))?;
    let paid = match &cmd.payment {
        Some(p) => Some(Money { amount: Amount::new(p.amount_minor)?, currency: Currency::parse(&p.currency)? }),
        None => None,
    };
    if paid.is_some() == offer.is_free() {
        return Err(BookError::PaymentPresence(!offer.is_free()));
    }
    let price = match cmd.settlement_bps {
        Some(bps) => crate::case::settlement_fee(offer.price, bps)?,
        None => offer.price,
    };
    if let Some(paid) = paid {
        if paid != price {
            return Err(BookError::PaymentMismatch { price, paid });
        }
    }
    let fee = price.amount.share_bps(holder.fee_bps)?;
    let app_amount = if cmd.app.is_some() { fee.share_bps(APP_SHARE_OF_FEE_BPS)? } else { Amount::ZERO };
    let fee_platform = fee.checked_sub(app_amount).ok_or(MoneyError::Overflow)?;
    let net = price.amount.checked_sub(fee).ok_or(MoneyError::Overflow)?;
    let hold_until = now.checked_add_days(holder.publicity_days).ok_or(MoneyError::Overflow)?;
    let valid_until = match offer.constraints.duration_days {
        Some(d) => Some(now.checked_add_days(d).ok_or(MoneyError::Overflow)?),
        None => None,
    };
    let licence = Licence {
        id: cmd.licence_id.clone(),
        offer: offer.clone(),
        work: work.id.clone(),
        holder: holder.id.clone(),
        licensee: cmd.licensee.clone(),
        licensee_name: cmd.licensee_name.clone(),
        scope: cmd.scope.clone(),
        valid_from: now,
        valid_until,
        status: if offer.is_free() { LicenceStatus::Free } else { LicenceStatus::Held },
        price,
        split: Split { net, fee_platform, app: cmd.app.clone().map(|a| (a, app_amount)) },
        provider: cmd.payment.as_ref().map(|p| p.provider.clone()),
        provider_ref: cmd.payment.as_ref().map(|p| p.provider_ref.clone()),
        created_at: now,
        hold_until,
        objection: None,
        settled_at: None,
        refunded_at: None,
        invoice: None,
        payout: None,
    };
    debug_assert_eq!(net.minor() + fee_platform.minor() + app_amount.minor(), price.amount.minor());
    if let Some(p) = &cmd.payment {
        let cur = price.currency;
        let escrow = AccountId::new(AccountKind::Escrow, cur);
        let capture = TransferAction::Posted {
            debit: AccountId::new(AccountKind::Clearing(p.provider.clone()), cur),
            credit: escrow.clone(),
            amount_minor: price.amount.minor(),
            currency: cur,
        };
        transfer(s, licence.transfer_id(Leg::Capture), capture, &licence.id, now)?;
        for (leg, amount) in licence.hold_legs() {
            let credit = match leg {
                HoldLeg::Net => AccountKind::Payable(holder.id.clone()),
                HoldLeg::Fee => AccountKind::FeeRevenue,
                HoldLeg::App => {
                    AccountKind::AppShare(cmd.app.clone().unwrap_or_else(|| unreachable!("app leg implies app")))
                }
            };
            let hold = TransferAction::Pending {
                debit: escrow.clone(),
                credit: AccountId::new(credit, cur),
                amount_minor: amount.minor(),
                currency: cur,
            };
            transfer(s, licence.hold_id(leg), hold, &licence.id, now)?;
        }
    }
    s.put_licence(&licence)?;
    s.put_operation(&op, &fp)?;
    Ok(Outcome { value: licence, replayed: false })
}

/// Raises an objection during the publicity period, freezing the hold until a reviewer decides.
pub fn object<S: BookStore + ?Sized>(
    s: &mut S,
    op: &OperationId,
    licence_id: &LicenceId,
    kind: ObjectionKind,
    now: Timestamp,
) -> Result<Outcome<Licence>, BookError> {
    let fp = fingerprint("object", &(licence_id, kind));
    let mut licence = s.licence(licence_id)?.ok_or_else(|| not_found("licence", licence_id))?;
    if seen(s, op, &fp)? {
        return Ok(Outcome { value: licence, replayed: true });
    }
    if licence.status != LicenceStatus::Held {
        return Err(BookError::WrongStatus { licence: licence.id, status: licence.status, needed: "held" });
    }
    if now >= licence.hold_until {
        return Err(BookError::PublicityOver(licence.id));
    }
    licence.status = LicenceStatus::Frozen;
    licence.objection = Some(kind);
    s.put_licence(&licence)?;
    s.put_operation(op, &fp)?;
    Ok(Outcome { value: licence, replayed: false })
}

/// A reviewer's decision on a frozen licence: void the holds and refund, or release them.
pub fn resolve<S: BookStore + ?Sized>(
    s: &mut S,
    op: &OperationId,
    licence_id: &LicenceId,
    resolution: Resolution,
    now: Timestamp,
) -> Result<Outcome<Licence>, BookError> {
    let fp = fingerprint("resolve", &(licence_id, resolution));
    let mut licence = s.licence(licence_id)?.ok_or_else(|| not_found("licence", licence_id))?;
    if seen(s, op, &fp)? {
        return Ok(Outcome { value: licence, replayed: true });
    }
    if licence.status != LicenceStatus::Frozen {
        return Err(BookError::WrongStatus { licence: licence.id, status: licence.status, needed: "frozen" });
    }
    match resolution {
        Resolution::Release => licence.status = LicenceStatus::Held,
        Resolution::Refund => {
            for (leg, _) in licence.hold_legs() {
                let void = TransferAction::Void { pending_id: licence.hold_id(leg) };
                transfer(s, licence.transfer_id(Leg::Void(leg)), void, &licence.id, now)?;
            }
            let cur = licence.price.currency;
            let refund = TransferAction::Posted {
                debit: AccountId::new(AccountKind::Escrow, cur),
                credit: AccountId::new(AccountKind::Refunds, cur),
                amount_minor: licence.price.amount.minor(),
                currency: cur,
            };
            transfer(s, licence.transfer_id(Leg::Refund), refund, &licence.id, now)?;
            licence.status = LicenceStatus::Refunded;
            licence.refunded_at = Some(now);
        }
    }
    s.put_licence(&licence)?;
    s.put_operation(op, &fp)?;
    Ok(Outcome { value: licence, replayed: false })
}

/// Settles one licence whose publicity period is over: posts its holds and issues its invoice, in the
/// caller's single transaction. Returns `None` if it was already settled (a re-run after a crash).
pub fn settle_licence<S: BookStore + ?Sized>(
    s: &mut S,
    licence_id: &LicenceId,
    now: Timestamp,
) -> Result<Option<Invoice>, BookError> {
    let mut licence = s.licence(licence_id)?.ok_or_else(|| not_found("licence", licence_id))?;
    match licence.status {
        LicenceStatus::Settled => return Ok(None),
        LicenceStatus::Held => {}
        status => return Err(BookError::WrongStatus { licence: licence.id, status, needed: "held" }),
    }
    if now < licence.hold_until {
        return Err(BookError::NotDue(licence.id));
    }
    let series = InvoiceNumber::series_for(now);
    let number = InvoiceNumber { series: series.clone(), number: s.last_invoice_number(&series)? + 1 };
    let mut lines = Vec::new();
    for (leg, amount) in licence.hold_legs() {
        let post_id = licence.transfer_id(Leg::Post(leg));
        let post = TransferAction::Post { pending_id: licence.hold_id(leg), amount_minor: None };
        transfer(s, post_id.clone(), post, &licence.id, now)?;
        let description = match leg {
            HoldLeg::Net => format!("Licence fee for work {} (to rights holder {})", licence.work, licence.holder),
            HoldLeg::Fee => "Platform service fee".to_owned(),
            HoldLeg::App => "Platform service fee (app partner share)".to_owned(),
        };
        lines.push(InvoiceLine { description, amount, transfer: post_id });
    }
    let invoice = Invoice {
        number: number.clone(),
        licence: licence.id.clone(),
        holder: licence.holder.clone(),
        licensee: licence.licensee.clone(),
        licensee_name: licence.licensee_name.clone(),
        currency: licence.price.currency,
        lines,
        total: licence.price.amount,
        issued_at: now,
    };
    licence.status = LicenceStatus::Settled;
    licence.settled_at = Some(now);
    licence.invoice = Some(number);
    s.insert_invoice(&invoice)?;
    s.put_licence(&licence)?;
    Ok(Some(invoice))
}

/// Pays one batch of a holder's settled, unpaid licences in one currency: one transfer from the holder's
/// payable to the payouts account, and every licence marked with the payout id. `None` if nothing is due.
/// A settlement run calls it until it returns `None`, each call in its own transaction.
pub fn pay_out<S: BookStore + ?Sized>(
    s: &mut S,
    holder: &PartyId,
    currency: Currency,
    now: Timestamp,
) -> Result<Option<Payout>, BookError> {
    let mut licences = s.unpaid_licences(holder, currency, MAX_LICENCES_PER_PAYOUT)?;
    if licences.is_empty() {
        return Ok(None);
    }
    // A payout is one transfer, so its amount must fit the single-amount limit: take licences while the
    // sum fits and leave the rest for the next payout of the same run. One licence always fits.
    let mut total: i64 = 0;
    let mut take = 0;
    for l in &licences {
        debug_assert!(l.status == LicenceStatus::Settled && l.payout.is_none());
        match total.checked_add(l.split.net.minor()) {
            Some(t) if t <= crate::money::MAX_AMOUNT_MINOR => total = t,
            _ => break,
        }
        take += 1;
    }
    licences.truncate(take);
    let amount = Amount::new(total)?;
    let seq = s.payout_count(holder, currency)? + 1;
    let id =
        PayoutId::new(format!("po/{holder}/{currency}/{seq}")).unwrap_or_else(|_| unreachable!("derived id is valid"));
    let transfer_id = if amount.minor() > 0 {
        let tid = TransferId::new(format!("payout/{id}")).unwrap_or_else(|_| unreachable!("derived id is valid"));
        let req = TransferRequest {
            id: tid.clone(),
            action: TransferAction::Posted {
                debit: AccountId::new(AccountKind::Payable(holder.clone()), currency),
                credit: AccountId::new(AccountKind::Payouts, currency),
                amount_minor: amount.minor(),
                currency,
            },
            reference: id.to_string(),
        };
        create_transfer(s, &req, now)?;
        Some(tid)
    } else {
        None
    };
    for mut l in licences.iter().cloned() {
        l.payout = Some(id.clone());
        s.put_licence(&l)?;
    }
    let payout = Payout {
        id,
        holder: holder.clone(),
        currency,
        amount,
        licences: licences.into_iter().map(|l| l.id).collect(),
        transfer: transfer_id,
        created_at: now,
    };
    s.insert_payout(&payout)?;
    Ok(Some(payout))
}
