//! Rights protection as use cases, with no actix: turn black hits into cases, review them, invite the
//! infringer to settle, take the settlement payment through the ordinary checkout, remind, expire, and
//! take unsettled cases offline. Triage of hits lives here too.
//!
//! Every change is one unit of work: the case row, its timeline entry, any mail and the domain event
//! (`case.opened`, `case.approved`, `case.settled`, …) commit together. The state rules are
//! `seal_licensing::case`; this module only decides who may do what and what to write.
//!
//! **Trust first.** A false accusation harms a stranger, so only holders with a verified channel, or
//! whose identity an administrator confirmed, may open cases, and every case is reviewed by the
//! platform before anyone outside hears of it.

use super::checkout::{CheckoutContext, CheckoutError, Order, Settlement};
use crate::domain::Mail;
use crate::i18n::Lang;
use crate::store::cases::{CaseRow, Protection, Verdict};
use crate::store::platform::User;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::case::{self, CaseAction, CaseState, CaseStatus};
use seal_licensing::ids::{LicenceId, PartyId, WorkId};
use seal_licensing::licence::UseScope;
use seal_licensing::offer::Offer;
use seal_licensing::Timestamp;
use serde_json::json;

/// The subscriber cursor of automatic protection (over hit revisions, not events).
pub const PROTECT: &str = "protect";

/// How long before the deadline the reminder goes out.
pub const REMIND_BEFORE_MS: i64 = 3 * 86_400_000;

/// "Not my work" marks on one work from which it is flagged as matching wrongly.
pub const NEGATIVE_FLAG: i64 = 3;

/// Why a case use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No such case, hit or token (or another holder's).
    #[error("{0} not found")]
    NotFound(String),
    /// The request cannot be met; the text is for the user.
    #[error("{0}")]
    Invalid(String),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The case's rules refuse it now.
    #[error(transparent)]
    Rule(#[from] case::CaseError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checkout failed.
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    /// A template failed.
    #[error("internal: {0}")]
    Internal(String),
}

fn invalid(m: impl Into<String>) -> CaseError {
    CaseError::Invalid(m.into())
}

/// Whether a holder may open cases: a verified channel, or an identity an administrator confirmed.
pub fn may_open(s: &SqliteStore, holder: &PartyId) -> Result<bool, StoreError> {
    if s.protection(holder)?.identity_confirmed_at.is_some() {
        return Ok(true);
    }
    for channel in s.channels_of(holder, "", 500)? {
        if s.claim(&channel.id)?.is_some_and(|c| c.verified_at.is_some()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks a holder's settings and stores them.
pub fn set_protection(s: &mut SqliteStore, holder: &PartyId, p: &Protection) -> Result<(), CaseError> {
    if !(10_000..=case::MAX_MULTIPLIER_BPS).contains(&p.multiplier_bps) {
        return Err(invalid("the multiplier must be between 1× and 10×"));
    }
    if !(3..=90).contains(&p.deadline_days) {
        return Err(invalid("the deadline must be 3 to 90 days"));
    }
    Ok(s.set_protection(holder, p)?)
}

/// Submits black hits as cases: each hit joins the active case of its work on its site, or opens one.
/// Hits that are white, marked legal or "not my work", or already in an active case are passed over.
/// Returns the cases opened or joined.
pub fn submit(
    s: &mut SqliteStore,
    holder: &PartyId,
    actor: &str,
    hits: &[i64],
    now: Timestamp,
) -> Result<Vec<String>, CaseError> {
    if !may_open(s, holder)? {
        return Err(CaseError::Forbidden(
            "verify a channel, or ask the platform to confirm your identity, before opening cases".into(),
        ));
    }
    let multiplier = s.protection(holder)?.multiplier_bps;
    s.atomically(|s| -> Result<Vec<String>, CaseError> {
        let mut touched: Vec<String> = Vec::new();
        for &id in hits {
            let hit =
                s.hit(id)?.filter(|h| &h.owner == holder).ok_or_else(|| CaseError::NotFound(format!("hit {id}")))?;
            if hit.colour != "black"
                || matches!(s.triage(id)?, Some(Verdict::Legal | Verdict::NotMine))
                || s.is_negative(&hit.work, &hit.page_url)?
            {
                continue;
            }
            let case_id = match s.active_case(holder, &hit.work, &hit.domain)? {
                Some(c) => c.id,
                None => {
                    let c = CaseRow {
                        id: super::tokens::short_id("case", 12),
                        holder: holder.clone(),
                        work: hit.work.clone(),
                        domain: hit.domain.clone(),
                        status: CaseStatus::opened(),
                        offer: None,
                        multiplier_bps: multiplier,
                        fee_minor: None,
                        currency: None,
                        contact_email: None,
                        contact_source: None,
                        token_hash: None,
                        opened_by: actor.to_owned(),
                        reminded_at: None,
                        created_at: now,
                        updated_at: now,
                        settled_at: None,
                    };
                    s.insert_case(&c)?;
                    s.add_case_event(&c.id, actor, "opened", "", &json!({"domain": c.domain, "work": c.work}), now)?;
                    let payload = json!({"holder": holder.as_str(), "work": c.work.as_str(), "domain": c.domain});
                    s.record_event("case.opened", &c.id, &payload, now)?;
                    c.id
                }
            };
            if s.add_case_hit(&case_id, id, now)? {
                s.add_case_event(&case_id, actor, "hit_added", &hit.page_url, &json!({"hit": id}), now)?;
            }
            if !touched.contains(&case_id) {
                touched.push(case_id);
            }
        }
        Ok(touched)
    })
}

/// Automatic protection: new and newly black hits of holders who turned it on become cases. Follows
/// the hits' revisions with its own cursor, so each change is looked at once.
pub fn auto_protect(s: &mut SqliteStore, now: Timestamp) -> Result<usize, CaseError> {
    let mut opened = 0;
    loop {
        let cursor = s.event_cursor(PROTECT)?;
        let changed = s.hits_changed(cursor, 256)?;
        let Some(last) = changed.iter().map(|h| h.rev).max() else { break };
        let mut by_holder: Vec<(PartyId, Vec<i64>)> = Vec::new();
        for h in changed.into_iter().filter(|h| h.hit.colour == "black") {
            match by_holder.iter_mut().find(|(o, _)| *o == h.hit.owner) {
                Some((_, ids)) => ids.push(h.hit.id),
                None => by_holder.push((h.hit.owner.clone(), vec![h.hit.id])),
            }
        }
        for (holder, ids) in by_holder {
            if !s.protection(&holder)?.auto || !may_open(s, &holder)? {
                continue;
            }
            // A hit already in a case (of any state) is not re-submitted by the machine: a rejected or
            // settled case was a decision.
            let mut fresh = Vec::new();
            for id in ids {
                if s.cases_of_hit(id)?.is_empty() {
                    fresh.push(id);
                }
            }
            opened += submit(s, &holder, "auto", &fresh, now)?.len();
        }
        s.set_event_cursor(PROTECT, last)?;
    }
    Ok(opened)
}

/// A case the actor may see: the holder's own, or any for an administrator (`holder` None).
pub fn load(s: &SqliteStore, id: &str, holder: Option<&PartyId>) -> Result<CaseRow, CaseError> {
    s.case(id)?
        .filter(|c| holder.is_none_or(|h| &c.holder == h))
        .ok_or_else(|| CaseError::NotFound(format!("case {id}")))
}

/// Applies a rule-checked action and writes the case, its timeline entry and its domain event in the
/// caller's unit.
fn act(
    s: &mut SqliteStore,
    mut c: CaseRow,
    actor: &str,
    action: &CaseAction,
    now: Timestamp,
) -> Result<CaseRow, CaseError> {
    c.status = case::apply(&c.status, action, now)?;
    c.updated_at = now;
    if c.status.state == CaseState::Settled && c.settled_at.is_none() {
        c.settled_at = Some(now);
    }
    // The settlement link works while the infringer is invited, may still pay late, or looks at the
    // settled case; a case back in review or taken offline no longer answers it.
    if !matches!(c.status.state, CaseState::Invited | CaseState::Expired | CaseState::Settled) {
        c.token_hash = None;
    }
    s.update_case(&c)?;
    let note = match action {
        CaseAction::Reject { reason } => reason.as_str(),
        CaseAction::AskMore { question } => question.as_str(),
        CaseAction::Answer { text } => text.as_str(),
        CaseAction::ClaimLicence { reference } => reference.as_str(),
        CaseAction::Dispute { statement } => statement.as_str(),
        CaseAction::RecordStep { note } => note.as_str(),
        CaseAction::Close { outcome } => outcome.as_str(),
        _ => "",
    };
    let data = serde_json::to_value(action).unwrap_or_default();
    s.add_case_event(&c.id, actor, action.code(), note.trim(), &data, now)?;
    let payload = json!({"holder": c.holder.as_str(), "work": c.work.as_str(), "state": c.status.state.as_str()});
    s.record_event(&format!("case.{}", action.code()), &c.id, &payload, now)?;
    Ok(c)
}

/// The offer a retroactive fee derives from: the cheapest open paid offer covering the work, else a
/// free one.
fn settlement_offer(s: &SqliteStore, work: &WorkId, now: Timestamp) -> Result<Option<Offer>, StoreError> {
    let Some(w) = s.work(work)? else { return Ok(None) };
    let mut offers: Vec<Offer> =
        s.offers_of(&w.owner, "", 500)?.into_iter().filter(|o| o.covers(&w) && o.is_open(now)).collect();
    offers.sort_by_key(|o| (o.is_free(), o.price.amount.minor()));
    Ok(offers.into_iter().next())
}

/// What a reviewer decides.
pub enum Review {
    /// Approve and invite, sending the invitation to this address (or the one the case found).
    Approve {
        /// An address the reviewer typed, overriding what was found.
        contact: Option<String>,
    },
    /// Reject with a reason.
    Reject(String),
    /// Ask the holder for more.
    AskMore(String),
}

/// A reviewer's decision. Approval fixes the offer and fee, sets the deadline from the holder's
/// settings, makes the settlement link and mails the invitation, all in one unit.
pub fn review(
    s: &mut SqliteStore,
    public_url: &str,
    id: &str,
    reviewer: &PartyId,
    decision: Review,
    now: Timestamp,
) -> Result<CaseRow, CaseError> {
    let actor = reviewer.as_str().to_owned();
    s.atomically(|s| -> Result<CaseRow, CaseError> {
        let mut c = load(s, id, None)?;
        match decision {
            Review::Reject(reason) => act(s, c, &actor, &CaseAction::Reject { reason }, now),
            Review::AskMore(question) => act(s, c, &actor, &CaseAction::AskMore { question }, now),
            Review::Approve { contact } => {
                if c.status.state != CaseState::Review {
                    return Err(case::CaseError::NotNow { state: c.status.state, action: "approve" }.into());
                }
                match contact.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
                    Some(addr) => {
                        addr.parse::<lettre::Address>()
                            .map_err(|_| invalid(format!("{addr:?} is not an email address")))?;
                        c.contact_email = Some(addr);
                        c.contact_source = Some("reviewer".into());
                    }
                    None if c.contact_email.is_none() => {
                        return Err(invalid(
                            "no contact address was found for this site: enter one to send the invitation",
                        ))
                    }
                    None => {}
                }
                let offer = settlement_offer(s, &c.work, now)?
                    .ok_or_else(|| invalid("the work has no open offer to derive a settlement fee from"))?;
                let fee = case::settlement_fee(offer.price, c.multiplier_bps)
                    .map_err(|e| invalid(format!("the settlement fee cannot be charged: {e}")))?;
                let days = s.protection(&c.holder)?.deadline_days;
                let deadline = now.saturating_add_ms(i64::from(days) * 86_400_000);
                let token = super::tokens::random_token(24);
                c.offer = Some(offer.id.clone());
                c.fee_minor = Some(fee.amount.minor());
                c.currency = Some(fee.currency.code().to_owned());
                c.token_hash = Some(super::tokens::token_hash(&token));
                let to = c.contact_email.clone().unwrap_or_default();
                // `act` writes the whole row, offer, fee and token included.
                let c = act(s, c, &actor, &CaseAction::Approve { deadline }, now)?;
                let mail = invitation_mail(s, public_url, &c, &token, &to, false)?;
                send(s, &c.id, &mail, "invitation", Some(&token), now)?;
                Ok(c)
            }
        }
    })
}

/// The holder answers a reviewer's question, or withdraws.
pub fn holder_action(
    s: &mut SqliteStore,
    id: &str,
    holder: &PartyId,
    actor: &PartyId,
    action: CaseAction,
    now: Timestamp,
) -> Result<CaseRow, CaseError> {
    if !matches!(action, CaseAction::Answer { .. } | CaseAction::Withdraw) {
        return Err(CaseError::Forbidden("only the platform can do that".into()));
    }
    s.atomically(|s| {
        let c = load(s, id, Some(holder))?;
        act(s, c, actor.as_str(), &action, now)
    })
}

/// The holder gives the address the invitation should go to (when the page showed none, or a better
/// one is known). Only before the invitation is sent: afterwards the link is out.
pub fn set_contact(
    s: &mut SqliteStore,
    id: &str,
    holder: &PartyId,
    actor: &PartyId,
    email: &str,
    now: Timestamp,
) -> Result<CaseRow, CaseError> {
    let email = email.trim();
    email.parse::<lettre::Address>().map_err(|_| invalid(format!("{email:?} is not an email address")))?;
    s.atomically(|s| {
        let mut c = load(s, id, Some(holder))?;
        if !matches!(c.status.state, CaseState::Review | CaseState::NeedsInfo) {
            return Err(invalid("the invitation has been sent already"));
        }
        c.contact_email = Some(email.to_ascii_lowercase());
        c.contact_source = Some("holder".into());
        c.updated_at = now;
        s.update_case(&c)?;
        s.add_case_event(&c.id, actor.as_str(), "contact", email, &json!({"source": "holder"}), now)?;
        Ok(c)
    })
}

/// A reviewer's offline step: choose the route, record a step, or close.
pub fn offline_action(
    s: &mut SqliteStore,
    id: &str,
    reviewer: &PartyId,
    action: CaseAction,
    now: Timestamp,
) -> Result<CaseRow, CaseError> {
    if !matches!(action, CaseAction::Escalate { .. } | CaseAction::RecordStep { .. } | CaseAction::Close { .. }) {
        return Err(invalid("not an offline step"));
    }
    s.atomically(|s| {
        let c = load(s, id, None)?;
        act(s, c, reviewer.as_str(), &action, now)
    })
}

/// The case a settlement link opens, while it works.
pub fn by_token(s: &SqliteStore, token: &str) -> Result<CaseRow, CaseError> {
    s.case_by_token(&super::tokens::token_hash(token))?
        .filter(|c| matches!(c.status.state, CaseState::Invited | CaseState::Expired | CaseState::Settled))
        .ok_or_else(|| CaseError::NotFound("settlement".into()))
}

/// The infringer says they hold a licence, or disputes: the case goes back to review.
pub fn respond(s: &mut SqliteStore, token: &str, action: CaseAction, now: Timestamp) -> Result<CaseRow, CaseError> {
    if !matches!(action, CaseAction::ClaimLicence { .. } | CaseAction::Dispute { .. }) {
        return Err(invalid("not a response"));
    }
    s.atomically(|s| {
        let c = by_token(s, token)?;
        act(s, c, "infringer", &action, now)
    })
}

/// The infringer accepts: a checkout for the retroactive licence, scoped to their site, at the
/// disclosed fee. Payment and fulfilment are the ordinary checkout's; [`settled_by`] closes the case.
pub fn open_settlement(
    ctx: &CheckoutContext<'_>,
    s: &mut SqliteStore,
    token: &str,
    buyer: User,
    buyer_name: String,
    confirm_by_email: bool,
    now: Timestamp,
) -> Result<(crate::store::platform::Checkout, Option<String>), CaseError> {
    let c = by_token(s, token)?;
    if !matches!(c.status.state, CaseState::Invited | CaseState::Expired) {
        return Err(invalid("this case is settled already"));
    }
    let offer = c.offer.clone().ok_or_else(|| CaseError::Internal("an approved case without offer".into()))?;
    let order = Order {
        work: c.work.clone(),
        offer,
        buyer,
        buyer_name,
        scope: UseScope::Domain(c.domain.clone()),
        confirm_by_email,
        settlement: Some(Settlement { case: c.id.clone(), multiplier_bps: c.multiplier_bps }),
    };
    Ok(super::checkout::open_checkout(ctx, s, order, now)?)
}

/// Whether a case takes a settlement payment now, by its rules (settled, reviewed or closed cases do
/// not): checked inside the checkout's fulfilment before the money becomes a licence.
pub fn takes_payment(s: &SqliteStore, case_id: &str, licence: &LicenceId, now: Timestamp) -> Result<bool, CaseError> {
    let c = load(s, case_id, None)?;
    Ok(case::apply(&c.status, &CaseAction::Pay { licence: licence.clone() }, now).is_ok())
}

/// Marks a case settled by a licence, inside the checkout's fulfilment unit. A case that cannot take
/// the payment (settled already by another licence) refuses, and the checkout fails with it.
pub fn settled_by(s: &mut SqliteStore, case_id: &str, licence: &LicenceId, now: Timestamp) -> Result<(), CaseError> {
    let c = load(s, case_id, None)?;
    act(s, c, "infringer", &CaseAction::Pay { licence: licence.clone() }, now)?;
    Ok(())
}

/// Reminders before the deadline and expiry after it. Returns (reminders sent, cases expired).
pub fn sweep(s: &mut SqliteStore, public_url: &str, now: Timestamp) -> Result<(usize, usize), CaseError> {
    let mut reminded = 0;
    let mut expired = 0;
    for c in s.invited_due(now.saturating_add_ms(REMIND_BEFORE_MS), 200)? {
        let Some(deadline) = c.status.deadline else { continue };
        if deadline <= now {
            s.atomically(|s| -> Result<(), CaseError> {
                let c = act(s, c, "platform", &CaseAction::Expire, now)?;
                if let Some(owner) = s.user(&c.holder)? {
                    let mail = expiry_mail(s, public_url, &c, &owner.email)?;
                    send(s, &c.id, &mail, "expiry", None, now)?;
                }
                Ok(())
            })?;
            expired += 1;
        } else if c.reminded_at.is_none() {
            s.atomically(|s| -> Result<(), CaseError> {
                let mut c = c;
                let to = c.contact_email.clone().unwrap_or_default();
                // The reminder repeats the link; its token is not stored in the clear, so a fresh one
                // replaces it (the old mail's link stops working, the new one is the same page).
                let token = super::tokens::random_token(24);
                c.reminded_at = Some(now);
                c.token_hash = Some(super::tokens::token_hash(&token));
                s.update_case(&c)?;
                let mail = invitation_mail(s, public_url, &c, &token, &to, true)?;
                send(s, &c.id, &mail, "reminder", Some(&token), now)?;
                Ok(())
            })?;
            reminded += 1;
        }
    }
    Ok((reminded, expired))
}

/// Triage of hits by an analyst or owner: legal hits go on the allowlist (and turn white), "not my
/// work" becomes a negative example. Returns how many hits were marked.
pub fn triage(
    s: &mut SqliteStore,
    holder: &PartyId,
    actor: &PartyId,
    hits: &[i64],
    verdict: Verdict,
    now: Timestamp,
) -> Result<usize, CaseError> {
    if hits.is_empty() || hits.len() > 500 {
        return Err(invalid("choose 1 to 500 hits"));
    }
    s.atomically(|s| -> Result<usize, CaseError> {
        for &id in hits {
            let hit =
                s.hit(id)?.filter(|h| &h.owner == holder).ok_or_else(|| CaseError::NotFound(format!("hit {id}")))?;
            s.set_triage(id, verdict, actor, now)?;
            match verdict {
                Verdict::Legal => {
                    // The allowlist matches by prefix: a home page's would cover the whole site.
                    if url::Url::parse(&hit.page_url).is_ok_and(|u| u.path() == "/" && u.query().is_none()) {
                        return Err(invalid(format!(
                            "{} is a site's home page: add the site to the allowlist instead, if all of it may use your works",
                            hit.page_url
                        )));
                    }
                    super::subscribers::allow(
                        s,
                        holder,
                        "url_prefix",
                        &allow_pattern(&hit.page_url),
                        "triage: legal",
                        now,
                    )?;
                }
                Verdict::NotMine => s.add_negative(&hit.work, &hit.page_url, actor, now)?,
                Verdict::Illegal | Verdict::Unsure => {}
            }
        }
        Ok(hits.len())
    })
}

/// The allowlist pattern that covers exactly one page (scheme dropped, as allowlist prefixes are).
fn allow_pattern(page_url: &str) -> String {
    page_url.split_once("://").map_or(page_url, |(_, r)| r).to_owned()
}

/// A money amount for mail and pages: `¥59.97`.
pub fn money_text(minor: i64, currency: &str) -> String {
    match seal_licensing::money::Currency::parse(currency) {
        Ok(c) => super::seal::money_label(minor, c),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// Queues a case's mail and keeps it on the case's timeline (the dossier's correspondence), with the
/// settlement link's token withheld: the timeline is read by the holder's team and handed to courts,
/// and the link is the infringer's alone.
fn send(
    s: &mut SqliteStore,
    case_id: &str,
    mail: &Mail,
    kind: &str,
    token: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    s.enqueue_mail(mail, now)?;
    let body = match token {
        Some(t) => mail.body.replace(t, "<链接凭证已隐去 token withheld>"),
        None => mail.body.clone(),
    };
    let data = json!({"to": mail.to, "kind": kind, "body": body});
    s.add_case_event(case_id, "platform", "mail", &mail.subject, &data, now)?;
    Ok(())
}

fn invitation_mail(
    s: &SqliteStore,
    public_url: &str,
    c: &CaseRow,
    token: &str,
    to: &str,
    reminder: bool,
) -> Result<Mail, CaseError> {
    /// The body (`templates/mail/settle.txt`): only the verified holder's and the platform's words, in
    /// Chinese and then in English, as the template says why.
    #[derive(askama::Template)]
    #[template(path = "mail/settle.txt", escape = "none")]
    struct Body<'a> {
        langs: [Lang; 2],
        title: &'a str,
        holder: &'a str,
        domain: &'a str,
        fee_minor: i64,
        currency: &'a str,
        multiplier: &'a str,
        deadline: Option<Timestamp>,
        base: &'a str,
        token: &'a str,
        reminder: bool,
    }
    impl Body<'_> {
        fn fee(&self, l: &Lang) -> String {
            l.money(self.fee_minor, self.currency)
        }
        fn deadline(&self, l: &Lang) -> String {
            self.deadline.map(|d| beijing_in(*l, d)).unwrap_or_default()
        }
    }
    let title = s.work(&c.work)?.map(|w| w.title).unwrap_or_default();
    let holder = s.holder_name(&c.holder)?;
    let multiplier = multiplier_text(c.multiplier_bps);
    let body = Body {
        langs: Lang::ALL,
        title: &title,
        holder: &holder,
        domain: &c.domain,
        fee_minor: c.fee_minor.unwrap_or(0),
        currency: c.currency.as_deref().unwrap_or("CNY"),
        multiplier: &multiplier,
        deadline: c.status.deadline,
        base: public_url,
        token,
        reminder,
    };
    // The subject, too, in both languages: the reader may know either.
    let subject = Lang::ALL
        .iter()
        .map(|l| {
            if reminder {
                l.t2("case-mail-subject-reminder", ("title", &title), ("deadline", &body.deadline(l)))
            } else {
                l.t1("case-mail-subject", "title", &title)
            }
        })
        .collect::<Vec<_>>()
        .join(" / ");
    Ok(Mail {
        to: to.to_owned(),
        subject,
        body: askama::Template::render(&body).map_err(|e| CaseError::Internal(e.to_string()))?,
        attachment: None,
    })
}

/// The holder's notice that a case expired, in the language they chose on the platform.
fn expiry_mail(s: &SqliteStore, public_url: &str, c: &CaseRow, to: &str) -> Result<Mail, CaseError> {
    let title = s.work(&c.work)?.map(|w| w.title).unwrap_or_default();
    let l = s.user_lang(&c.holder)?.as_deref().and_then(Lang::parse).unwrap_or_default();
    let id: &str = &c.id;
    let subject = l.args(
        "case-mail-expired-subject",
        &[("id", id.into()), ("title", title.as_str().into()), ("domain", c.domain.as_str().into())],
    );
    Ok(Mail {
        to: to.to_owned(),
        subject,
        body: format!("{}\n\n{public_url}/dashboard/cases/{}\n", l.t("case-mail-expired-body"), c.id),
        attachment: None,
    })
}

/// `3×`, `1.5×`.
pub fn multiplier_text(bps: u32) -> String {
    let whole = bps / 10_000;
    let frac = bps % 10_000;
    if frac == 0 {
        format!("{whole}×")
    } else {
        format!("{}×", format!("{whole}.{frac:04}").trim_end_matches('0'))
    }
}

/// A time in Beijing time, saying so in `l`'s words, for deadlines that must not be misread:
/// `2026-12-15 16:00（北京时间）`, `2026-12-15 16:00 Beijing time (UTC+8)`.
pub fn beijing_in(l: Lang, t: Timestamp) -> String {
    let l = l.in_zone(crate::i18n::Zone::BEIJING);
    l.t1("case-beijing-time", "time", l.time(t))
}

/// A time in Beijing time for the API's documents (`deadline_beijing`), a fixed machine-readable form:
/// `2026-12-15 16:00 (北京时间 UTC+8)`.
pub fn beijing(t: Timestamp) -> String {
    let shifted = t.saturating_add_ms(8 * 3_600_000).to_string();
    format!("{} (北京时间 UTC+8)", shifted.get(..16).map(|s| s.replace('T', " ")).unwrap_or_default())
}

/// Whether a work keeps matching wrongly: flagged for review.
pub fn flagged(s: &SqliteStore, work: &WorkId) -> Result<bool, StoreError> {
    Ok(s.negatives_of(work)? >= NEGATIVE_FLAG)
}

/// The offer behind a case's fee, for pages.
pub fn case_offer(s: &SqliteStore, c: &CaseRow) -> Result<Option<Offer>, StoreError> {
    match &c.offer {
        Some(id) => s.offer(id),
        None => Ok(None),
    }
}
