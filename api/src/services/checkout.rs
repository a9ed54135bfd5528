//! Licence checkout as use cases, with no actix: open a checkout for an order, take it to payment,
//! confirm a guest's order by mail, apply a payment provider's event, and fulfil.
//!
//! Fulfilment is one idempotent function, [`fulfil`]: the licence id is fixed when the checkout opens,
//! the licensing core's purchase is idempotent on it, and a checkout leaves `open` exactly once (a
//! database trigger enforces it). So the webhook, its replays and the status page's polling can all
//! call it, in any order, and one licence results. Each use case is one unit of work
//! ([`SqliteStore::atomically`]): the licence, the checkout's end, the buyer's mail and the domain
//! event (`licence.granted`, `checkout.failed`) commit together.
//!
//! Mail goes out in the buyer's language. A licence mail is often written by a payment provider's
//! webhook, a request that knows nothing of the buyer, so the language is kept on the account (the
//! preference the language switch also sets): a checkout remembers the language its page was in for a
//! guest account, or for a full account that never chose one, and both mails read it from there.

use super::payment::{PaymentEvent, PaymentStatus, Providers};
use super::seal::SealCache;
use crate::domain::Mail;
use crate::i18n::Lang;
use crate::store::platform::{Checkout, CheckoutStatus, User};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::book::{PaymentInput, PurchaseCommand};
use seal_licensing::ids::{LicenceId, OfferId, PartyId, WorkId};
use seal_licensing::letter::PlatformKey;
use seal_licensing::licence::UseScope;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use subtle::ConstantTimeEq;

/// What the checkout use cases need of the running platform.
pub struct CheckoutContext<'a> {
    /// Signs the licence letter mailed to the buyer.
    pub key: &'a PlatformKey,
    /// Refreshed when a licence changes what a seal shows.
    pub seals: &'a SealCache,
    /// Payment providers by name.
    pub providers: &'a Providers,
    /// The public base URL, for links in mail.
    pub public_url: &'a str,
    /// Counts licences granted (a metric).
    pub licences_granted: &'a AtomicU64,
    /// The font for the letter PDF mailed to the buyer; without one the signed JWS is mailed instead.
    pub font: Option<&'a crate::pdf::PdfFont>,
}

/// Why a checkout use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// Unknown (or someone else's) record.
    #[error("{0} not found")]
    NotFound(String),
    /// The request cannot be met; the text is for the buyer.
    #[error("{0}")]
    Invalid(Refusal),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen; the detail is for the log.
    #[error("internal: {0}")]
    Internal(String),
}

/// Why a request cannot be met: in English for the API and the log, and as a catalogue key with its
/// arguments so that a page can say it in the buyer's language.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The English message.
    pub message: String,
    /// The catalogue key and its arguments.
    pub key: Option<(&'static str, Vec<(&'static str, String)>)>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Refusal> for String {
    fn from(r: Refusal) -> String {
        r.message
    }
}

impl CheckoutError {
    /// An unknown record.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        CheckoutError::NotFound(what.to_string())
    }
    /// A request that cannot be met.
    pub fn invalid(message: impl Into<String>) -> Self {
        CheckoutError::Invalid(Refusal { message: message.into(), key: None })
    }
    /// The same refusal with its words in the catalogue (other errors are returned as they are).
    pub fn keyed(self, key: &'static str, args: &[(&'static str, &str)]) -> Self {
        match self {
            CheckoutError::Invalid(r) => CheckoutError::Invalid(Refusal {
                key: Some((key, args.iter().map(|(n, v)| (*n, (*v).to_owned())).collect())),
                ..r
            }),
            other => other,
        }
    }
    /// A broken expectation.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        CheckoutError::Internal(detail.to_string())
    }
}

/// What a buyer asked for: one work under one offer, for one scope.
pub struct Order {
    /// The work.
    pub work: WorkId,
    /// The offer.
    pub offer: OfferId,
    /// The buyer's account.
    pub buyer: User,
    /// The name to put on the letter.
    pub buyer_name: String,
    /// Where the licence applies.
    pub scope: UseScope,
    /// The buyer is a guest who named an existing account's address: the address's owner must
    /// confirm by the mailed link before payment (see [`Checkout::confirm_hash`]).
    pub confirm_by_email: bool,
    /// A retroactive licence settling a rights-protection case.
    pub settlement: Option<Settlement>,
}

/// What makes a checkout a case's settlement: the case, and the multiplier disclosed to the infringer.
pub struct Settlement {
    /// The case.
    pub case: String,
    /// The fee over the offer price, basis points.
    pub multiplier_bps: u32,
}

/// Opens a checkout for an order (the web form and the REST API both come here). A free offer is
/// fulfilled at once; a paid one gets a payment at the default provider, whose page is returned. The
/// mails go out in the language the buyer's account keeps (see the module doc).
pub fn open_checkout(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    order: Order,
    now: seal_licensing::Timestamp,
) -> Result<(Checkout, Option<String>), CheckoutError> {
    open_checkout_in(ctx, s, order, None, now)
}

/// [`open_checkout`] for a buyer using `lang`, which their account remembers for the mails unless it
/// is someone else's to confirm, or its owner chose a language themselves.
pub fn open_checkout_in(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    order: Order,
    lang: Option<Lang>,
    now: seal_licensing::Timestamp,
) -> Result<(Checkout, Option<String>), CheckoutError> {
    const MAX_NAME: usize = 100;
    if order.buyer_name.chars().count() > MAX_NAME {
        return Err(CheckoutError::invalid("enter a name of at most 100 characters")
            .keyed("co-error-name-too-long", &[("max", &MAX_NAME.to_string())]));
    }
    seal_licensing::offer::check_display_text("name", &order.buyer_name).map_err(|e| {
        let refused = CheckoutError::invalid(e.to_string());
        match e.reason {
            "empty" => refused.keyed("co-error-name-empty", &[]),
            "too long" => refused.keyed("co-error-name-too-long", &[("max", &MAX_NAME.to_string())]),
            _ => refused.keyed("co-error-name-chars", &[]),
        }
    })?;
    let work = s.work(&order.work)?.ok_or_else(|| CheckoutError::not_found(format!("work {}", order.work)))?;
    let offer = s.offer(&order.offer)?.filter(|x| x.covers(&work) && x.is_open(now));
    let offer = offer.ok_or_else(|| {
        CheckoutError::invalid("that offer does not apply to this work").keyed("co-error-offer-not-applicable", &[])
    })?;
    let price = match &order.settlement {
        Some(st) => seal_licensing::case::settlement_fee(offer.price, st.multiplier_bps).map_err(|e| {
            CheckoutError::invalid(format!("the settlement fee cannot be charged: {e}"))
                .keyed("co-error-settlement-fee", &[])
        })?,
        None => offer.price,
    };
    // Whoever typed an existing account's address may not own it: their language is only a guess for
    // the confirmation mail, and the owner's own choice wins.
    let mail_in = match (order.confirm_by_email, lang) {
        (true, lang) => stored_lang(s, &order.buyer.id)?.or(lang).unwrap_or_default(),
        (false, Some(lang)) => {
            remember_lang(s, &order.buyer, lang)?;
            lang
        }
        (false, None) => stored_lang(s, &order.buyer.id)?.unwrap_or_default(),
    };
    let c = Checkout {
        id: format!("co_{}", super::tokens::random_token(18)),
        work: order.work,
        offer: order.offer,
        buyer: order.buyer.id,
        buyer_name: order.buyer_name,
        email: order.buyer.email,
        scope: order.scope,
        amount_minor: price.amount.minor(),
        currency: price.currency.code().to_owned(),
        status: CheckoutStatus::Open,
        provider: if price.amount.minor() == 0 {
            "free".into()
        } else {
            ctx.providers.default_provider().name().into()
        },
        provider_ref: None,
        licence: None,
        licence_id: format!("lic-{}", super::tokens::random_token(15).to_ascii_lowercase().replace(['-', '_'], "x")),
        confirm_hash: None,
        case: order.settlement.as_ref().map(|st| st.case.clone()),
        settlement_bps: order.settlement.as_ref().map(|st| st.multiplier_bps),
        failure: None,
        created_at: now,
        updated_at: now,
    };
    if order.confirm_by_email {
        let token = super::tokens::random_token(32);
        let c = Checkout { confirm_hash: Some(super::tokens::token_hash(&token)), ..c };
        s.atomically(|s| -> Result<(), CheckoutError> {
            s.create_checkout(&c)?;
            Ok(s.enqueue_mail(&confirm_mail(ctx, mail_in, &c, &work.title, &token)?, now)?)
        })?;
        return Ok((c, None));
    }
    s.create_checkout(&c)?;
    proceed(ctx, s, c, now)
}

/// Takes a checkout on to payment: a free offer is fulfilled at once; a paid one gets a payment at its
/// provider, whose page the buyer is sent to (returned).
pub fn proceed(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    c: Checkout,
    now: seal_licensing::Timestamp,
) -> Result<(Checkout, Option<String>), CheckoutError> {
    if c.amount_minor == 0 {
        return Ok((fulfil(ctx, s, &c.id, None, now)?, None));
    }
    let provider =
        ctx.providers.get(&c.provider).ok_or_else(|| CheckoutError::internal(format!("no provider {}", c.provider)))?;
    let started = provider.start(s, &c, now)?;
    Ok((c, Some(started.url)))
}

/// The language an account keeps, if any.
fn stored_lang(s: &SqliteStore, user: &PartyId) -> Result<Option<Lang>, CheckoutError> {
    Ok(s.user_lang(user)?.as_deref().and_then(Lang::parse))
}

/// The language of the account's mails, or the default.
fn mail_lang(s: &SqliteStore, user: &PartyId) -> Result<Lang, CheckoutError> {
    Ok(stored_lang(s, user)?.unwrap_or_default())
}

/// Keeps the language the buyer is using on their account, for mails written later by requests that
/// do not know it (the payment webhook). A guest account has no other way to choose, so its latest
/// purchase decides; a full account keeps a language its owner chose with the switch. A member acting
/// for an organisation buys under the organisation's id, which has no preferences of its own.
fn remember_lang(s: &mut SqliteStore, buyer: &User, lang: Lang) -> Result<(), CheckoutError> {
    if buyer.acting.is_some() {
        return Ok(());
    }
    if buyer.password_hash.is_none() || s.user_lang(&buyer.id)?.is_none() {
        s.set_user_lang(&buyer.id, lang.code())?;
    }
    Ok(())
}

/// How long a purchase confirmation link works.
const CONFIRM_WINDOW_MS: i64 = 24 * 3_600_000;

/// The mail that asks an address's owner to confirm a guest purchase made in their name. Only text the
/// platform or the verified rights holder wrote: the order's details are on the page the link opens.
fn confirm_mail(
    ctx: &CheckoutContext<'_>,
    l: Lang,
    c: &Checkout,
    title: &str,
    token: &str,
) -> Result<Mail, CheckoutError> {
    /// The body (`templates/mail/confirm.txt`).
    #[derive(askama::Template)]
    #[template(path = "mail/confirm.txt", escape = "none")]
    struct Body<'a> {
        l: Lang,
        title: &'a str,
        base: &'a str,
        id: &'a str,
        token: &'a str,
    }
    let body = Body { l, title, base: ctx.public_url, id: &c.id, token };
    Ok(Mail {
        to: c.email.clone(),
        subject: l.t1("mail-confirm-subject", "title", title),
        body: askama::Template::render(&body).map_err(CheckoutError::internal)?,
        attachment: None,
    })
}

/// Grants the licence of a checkout once it is paid (or free). Idempotent: an ended checkout is
/// returned as it is. `payment` is the provider's reference, amount and currency.
pub fn fulfil(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    checkout_id: &str,
    payment: Option<(&str, &str, i64, &str)>,
    now: seal_licensing::Timestamp,
) -> Result<Checkout, CheckoutError> {
    // A checkout waiting for its address owner's confirmation has no payment and grants nothing.
    if let Some(c) = s.checkout(checkout_id)?.filter(|c| c.confirm_hash.is_some()) {
        return Ok(c);
    }
    // One unit of work: the licence, the checkout's end, the buyer's mail and the domain event commit
    // together or not at all, so a crash can never leave a licence without its mail or a paid checkout
    // still open. The checkout is read inside the unit, under the write lock, so no other fulfilment
    // can end it between the read and the write.
    let (c, ended_now) = s.atomically(|s| -> Result<(Checkout, bool), CheckoutError> {
        let mut c =
            s.checkout(checkout_id)?.ok_or_else(|| CheckoutError::not_found(format!("checkout {checkout_id}")))?;
        if c.status != CheckoutStatus::Open {
            return Ok((c, false));
        }
        let planned = if c.licence_id.is_empty() { format!("lic-{}", c.id) } else { c.licence_id.clone() };
        let licence_id = LicenceId::new(planned).map_err(|e| CheckoutError::internal(e.to_string()))?;
        let cmd = PurchaseCommand {
            licence_id: licence_id.clone(),
            offer: c.offer.clone(),
            work: c.work.clone(),
            licensee: c.buyer.clone(),
            licensee_name: c.buyer_name.clone(),
            scope: c.scope.clone(),
            payment: payment.map(|(provider, reference, amount, currency)| PaymentInput {
                provider: PartyId::new(provider).unwrap_or_else(|_| unreachable!("provider names are valid ids")),
                provider_ref: reference.to_owned(),
                amount_minor: amount,
                currency: currency.to_owned(),
            }),
            app: None,
            settlement_bps: c.settlement_bps,
        };
        c.updated_at = now;
        c.provider_ref = payment.map(|p| p.1.to_owned());
        // A case's settlement: the case must still take the payment (it settles once), checked inside
        // this unit so two payments for one case cannot both become licences.
        let case_refusal = match &c.case {
            Some(case_id) => {
                let takes = super::cases::takes_payment(s, case_id, &licence_id, now)
                    .map_err(|e| CheckoutError::internal(format!("case {case_id}: {e}")))?;
                (!takes).then(|| "the case was settled or closed meanwhile".to_owned())
            }
            None => None,
        };
        let bought = match case_refusal {
            Some(why) => Err(why),
            None => match s.purchase(&cmd, now) {
                Ok(_) => Ok(()),
                Err(crate::store::StoreError::Book(e)) => Err(e.to_string()),
                Err(e) => return Err(e.into()),
            },
        };
        match bought {
            Ok(()) => {
                if let Some(case_id) = &c.case {
                    super::cases::settled_by(s, case_id, &licence_id, now)
                        .map_err(|e| CheckoutError::internal(format!("settling case {case_id}: {e}")))?;
                }
                c.status = CheckoutStatus::Licensed;
                c.licence = Some(licence_id);
            }
            Err(why) => {
                // The money was taken but the licence refused (the offer closed meanwhile, say): the
                // checkout says so and the payment stays in the provider's clearing account for refund.
                // The purchase rolled back to its own savepoint; the rest of the unit goes on.
                tracing::warn!(checkout = %c.id, error = %why, "paid checkout could not be fulfilled");
                c.status = CheckoutStatus::Failed;
                c.failure = Some(why);
            }
        }
        if !s.finish_checkout(&c)? {
            return Err(CheckoutError::internal("an open checkout did not end"));
        }
        match &c.licence {
            Some(licence) => {
                s.enqueue_mail(&licence_mail(ctx, s, &c, now)?, now)?;
                let payload = serde_json::json!({
                    "licence": licence.as_str(), "checkout": c.id, "work": c.work.as_str(),
                    "amount_minor": c.amount_minor, "currency": c.currency,
                });
                s.record_event("licence.granted", licence.as_str(), &payload, now)?;
            }
            None => checkout_failed_event(s, &c, now)?,
        }
        Ok((c, true))
    })?;
    if ended_now && c.status == CheckoutStatus::Licensed {
        // Subscribers of licence.granted that live in memory: the metric and the seal's pre-rendered
        // answer (refreshed in the same store call, as the seal cache's invariant asks).
        ctx.licences_granted.fetch_add(1, Relaxed);
        ctx.seals.refresh_work(s, ctx.public_url, &c.work)?;
    }
    Ok(c)
}

/// Records that a checkout ended without a licence (declined by the buyer, or refused by the domain).
fn checkout_failed_event(
    s: &mut SqliteStore,
    c: &Checkout,
    now: seal_licensing::Timestamp,
) -> Result<(), CheckoutError> {
    let payload = serde_json::json!({
        "checkout": c.id, "work": c.work.as_str(), "status": c.status.as_str(), "failure": c.failure,
    });
    Ok(s.record_event("checkout.failed", &c.id, &payload, now)?)
}

/// The email a buyer gets: what was licensed, where to download again, and the letter as a PDF in the
/// buyer's language (the signed JWS, for machines, is linked). Without a font the PDF cannot be drawn:
/// the JWS is attached instead, with a warning in the log, rather than the mail being lost.
fn licence_mail(
    ctx: &CheckoutContext<'_>,
    s: &SqliteStore,
    c: &Checkout,
    now: seal_licensing::Timestamp,
) -> Result<Mail, CheckoutError> {
    /// The body (`templates/mail/licence.txt`). Only text the platform or the verified rights holder
    /// wrote goes in: the buyer's name and scope are typed by whoever filled in the form, which may not
    /// be the address's owner, so they stay in the attached letter and on the checkout page.
    #[derive(askama::Template)]
    #[template(path = "mail/licence.txt", escape = "none")]
    struct Body<'a> {
        l: Lang,
        title: &'a str,
        licence: &'a str,
        price: &'a str,
        base: &'a str,
        id: &'a str,
        /// The letter is attached as a PDF (else as the JWS).
        pdf: bool,
    }
    let licence = c.licence.clone().ok_or_else(|| CheckoutError::internal("licensed checkout without licence"))?;
    let letter = crate::letters::issue_letter(s, ctx.key, &licence, now).map_err(CheckoutError::internal)?;
    let title = s.work(&c.work)?.map(|w| w.title).unwrap_or_default();
    let base = ctx.public_url;
    let l = mail_lang(s, &c.buyer)?;
    let price = if c.amount_minor == 0 { l.t("free") } else { l.money(c.amount_minor, &c.currency) };
    let pdf = match ctx.font {
        // Drawn from the payload just signed, so the PDF says exactly what the JWS does.
        Some(font) => seal_licensing::letter::verify_letter(letter.as_bytes(), &ctx.key.public())
            .map_err(|e| e.to_string())
            .and_then(|mut payload| {
                // The printed letter carries the QR code to the verification page, where the attached
                // letter (or the JWS linked in the mail) is checked; the signed claims are unchanged.
                payload["verify_url"] = serde_json::Value::String(format!("{base}/verify"));
                crate::pdf::letter_pdf_in(&payload, font, l).map_err(|e| e.to_string())
            }),
        None => Err(crate::pdf::PdfError::NoFont.to_string()),
    };
    let attachment = match pdf {
        Ok(bytes) => ("authorization-letter.pdf".to_owned(), bytes),
        Err(e) => {
            tracing::warn!(licence = %licence, error = %e, "licence mail: no letter PDF, attaching the JWS");
            ("authorization-letter.jws".to_owned(), letter.into_bytes())
        }
    };
    let is_pdf = attachment.0.ends_with(".pdf");
    let body = Body { l, title: &title, licence: licence.as_str(), price: &price, base, id: &c.id, pdf: is_pdf };
    let body = askama::Template::render(&body).map_err(CheckoutError::internal)?;
    Ok(Mail {
        to: c.email.clone(),
        subject: l.t2("mail-licence-subject", ("licence", &licence), ("title", &title)),
        body,
        attachment: Some(attachment),
    })
}

/// The buyer declined at the payment page: the checkout ends, with a `checkout.failed` event.
pub fn decline(s: &mut SqliteStore, checkout_id: &str, now: seal_licensing::Timestamp) -> Result<(), CheckoutError> {
    s.atomically(|s| {
        if let Some(mut c) = s.checkout(checkout_id)? {
            c.status = CheckoutStatus::Declined;
            c.updated_at = now;
            if s.finish_checkout(&c)? {
                checkout_failed_event(s, &c, now)?;
            }
        }
        Ok(())
    })
}

/// Applies a provider event (from a webhook or a poll).
pub fn apply_event(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    provider: &str,
    e: &PaymentEvent,
    now: seal_licensing::Timestamp,
) -> Result<(), CheckoutError> {
    match e.status {
        PaymentStatus::Succeeded => {
            fulfil(ctx, s, &e.checkout_id, Some((provider, &e.payment_id, e.amount_minor, &e.currency)), now)?;
        }
        PaymentStatus::Declined => decline(s, &e.checkout_id, now)?,
        PaymentStatus::Pending => {}
    }
    Ok(())
}

/// The checkout a confirmation link names, if it is still waiting for that very token.
pub fn awaiting_confirmation(
    s: &SqliteStore,
    id: &str,
    token: &str,
    now: seal_licensing::Timestamp,
) -> Result<Checkout, CheckoutError> {
    let hash = super::tokens::token_hash(token);
    let c = s.checkout(id)?.filter(|c| {
        c.status == CheckoutStatus::Open
            && now.unix_ms() - c.created_at.unix_ms() <= CONFIRM_WINDOW_MS
            && c.confirm_hash.as_deref().is_some_and(|h| bool::from(h.as_bytes().ct_eq(hash.as_bytes())))
    });
    c.ok_or_else(|| CheckoutError::not_found("confirmation link (unknown, used or expired)"))
}

/// The address's owner confirms a guest order: it goes on to payment (or, if free, is fulfilled).
/// `lang` is the language the owner confirmed in, remembered for the licence mail as at checkout.
/// Returns the checkout and the payment page to send the buyer to.
pub fn confirm(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    id: &str,
    token: &str,
    lang: Option<Lang>,
    now: seal_licensing::Timestamp,
) -> Result<(Checkout, Option<String>), CheckoutError> {
    let mut c = awaiting_confirmation(s, id, token, now)?;
    c.confirm_hash = None;
    c.updated_at = now;
    if !s.update_open_checkout(&c)? {
        return Err(CheckoutError::not_found("confirmation link (unknown, used or expired)"));
    }
    // Following the mailed link proves the address is theirs, which the checkout's typist did not.
    if let (Some(lang), Some(owner)) = (lang, s.user(&c.buyer)?) {
        remember_lang(s, &owner, lang)?;
    }
    proceed(ctx, s, c, now)
}

/// Reads a checkout, first asking its provider about an open one (recovers lost webhooks).
pub fn refresh(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    id: &str,
    now: seal_licensing::Timestamp,
) -> Result<Checkout, CheckoutError> {
    let c = s.checkout(id)?.ok_or_else(|| CheckoutError::not_found(format!("checkout {id}")))?;
    if c.status == CheckoutStatus::Open {
        if let Some(provider) = ctx.providers.get(&c.provider) {
            if let Some(event) = provider.status(s, &c, now)? {
                apply_event(ctx, s, provider.name(), &event, now)?;
                return Ok(s.checkout(id)?.unwrap_or(c));
            }
        }
    }
    Ok(c)
}
