//! Holder notifications: the outbox subscriber `notify` turns domain events into notifications for the
//! rights holder concerned, shown on `/dashboard/notifications`, and queues one email per notification
//! to each of the holder's people whose role covers it, in their saved language.
//!
//! | event                  | notification | about (subject)          | who (area, [`crate::domain::team`]) |
//! |------------------------|--------------|--------------------------|-------------------------------------|
//! | `licence.granted`      | `sale`       | the licence              | finance                             |
//! | `licence.objected`     | `objection`  | the licence              | finance                             |
//! | `settlement.completed` | `settlement` | the run and currency     | finance                             |
//! | `payout.made`          | `payout`     | the payout               | finance                             |
//! | `hits.black_found`     | `black_hits` | the day (Beijing time)   | monitoring                          |
//!
//! A crawl finds new unlicensed copies batch after batch, so `black_hits` is one notification per
//! holder and day whose count grows (and turns unread again); only the first of the day is mailed.
//! Contract licences (`seal licences grant`) are recorded by the holder's side and announce nothing.
//!
//! Exactly once: the cursor moves in the transaction that adds the notifications and queues their
//! mails, and `UNIQUE(kind, subject_id, holder)` refuses a second row for the same thing.

use crate::domain::team::{Area, OrgRole};
use crate::domain::Mail;
use crate::i18n::{Arg, Lang};
use crate::store::contents::Event;
use crate::store::monitoring::StoredBatch;
use crate::store::notifications::NewNotification;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::{LicenceId, PartyId, WorkId};
use seal_licensing::Timestamp;
use serde_json::{json, Value};

/// The notification subscriber's name (its cursor row).
pub const NOTIFY: &str = "notify";

/// A licence was sold.
pub const SALE: &str = "sale";
/// A licensee objected during the publicity period.
pub const OBJECTION: &str = "objection";
/// Licences were settled.
pub const SETTLEMENT: &str = "settlement";
/// Money was paid out.
pub const PAYOUT: &str = "payout";
/// New unlicensed copies were found.
pub const BLACK_HITS: &str = "black_hits";

/// Every kind, in the order the catalogues list them.
pub const KINDS: [&str; 5] = [SALE, OBJECTION, SETTLEMENT, PAYOUT, BLACK_HITS];

/// The area a kind belongs to, which decides which members see and receive it.
pub fn area_of_kind(kind: &str) -> Area {
    if kind == BLACK_HITS {
        Area::Monitoring
    } else {
        Area::Finance
    }
}

/// The kinds someone sees: the rights holder's own account (`None`) all of them, a member those of
/// the areas their role covers.
pub fn kinds_for(role: Option<OrgRole>) -> Vec<&'static str> {
    KINDS.into_iter().filter(|k| role.is_none_or(|r| r.allows(area_of_kind(k)))).collect()
}

/// What a drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notified {
    /// Events read.
    pub events: usize,
    /// Notifications recorded (a grown daily count is not a new one).
    pub notifications: usize,
    /// Emails queued.
    pub mails: usize,
}

/// Applies every event after the `notify` cursor, a few hundred per transaction. `public_url` makes
/// the links in emails absolute.
pub fn drain_notify(store: &mut SqliteStore, public_url: &str, now: Timestamp) -> Result<Notified, StoreError> {
    let mut done = Notified::default();
    loop {
        let cursor = store.event_cursor(NOTIFY)?;
        let events = store.events_after(cursor, 256)?;
        let Some(last) = events.last().map(|e| e.id) else { break };
        let (notifications, mails) = store.atomically(|s| -> Result<(usize, usize), StoreError> {
            let (mut notifications, mut mails) = (0, 0);
            for event in &events {
                let Some(n) = notification_of(s, event)? else { continue };
                match s.add(&n)? {
                    Some(_) => {
                        notifications += 1;
                        mails += send_mails(s, &n, public_url, now)?;
                    }
                    None if n.kind == BLACK_HITS => grow_daily_count(s, &n)?,
                    None => {}
                }
            }
            s.set_event_cursor(NOTIFY, last)?;
            Ok((notifications, mails))
        })?;
        done.events += events.len();
        done.notifications += notifications;
        done.mails += mails;
    }
    Ok(done)
}

fn text(v: &Value, field: &str) -> String {
    v.get(field).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn number(v: &Value, field: &str) -> i64 {
    v.get(field).and_then(Value::as_i64).unwrap_or_default()
}

fn party(v: &Value, field: &str) -> Option<PartyId> {
    PartyId::new(text(v, field)).ok()
}

fn title_of(s: &SqliteStore, work: &WorkId) -> Result<String, StoreError> {
    Ok(s.work(work)?.map(|w| w.title).unwrap_or_default())
}

/// The notification an event calls for, if any.
fn notification_of(s: &SqliteStore, event: &Event) -> Result<Option<NewNotification>, StoreError> {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let at = event.at;
    let made = |holder: PartyId, kind: &'static str, subject_id: String, args: Value, link: &str| NewNotification {
        holder,
        kind,
        subject_id,
        args,
        link: link.to_owned(),
        created_at: at,
    };
    Ok(match event.kind.as_str() {
        "licence.granted" if payload.get("contract").and_then(Value::as_bool) != Some(true) => {
            let Ok(id) = LicenceId::new(text(&payload, "licence")) else { return Ok(None) };
            let Some(l) = s.licence(&id)? else { return Ok(None) };
            let args = json!({
                "licence": l.id.as_str(), "title": title_of(s, &l.work)?, "licensee": l.licensee_name,
                "price_minor": l.price.amount.minor(), "currency": l.price.currency.code(),
            });
            Some(made(l.holder.clone(), SALE, l.id.to_string(), args, "/dashboard/licences"))
        }
        "licence.objected" => {
            let Ok(id) = LicenceId::new(text(&payload, "licence")) else { return Ok(None) };
            let Some(l) = s.licence(&id)? else { return Ok(None) };
            let args = json!({
                "licence": l.id.as_str(), "title": title_of(s, &l.work)?, "licensee": l.licensee_name,
                "objection": text(&payload, "kind"),
            });
            Some(made(l.holder.clone(), OBJECTION, l.id.to_string(), args, "/dashboard/licences"))
        }
        "settlement.completed" => {
            let Some(holder) = party(&payload, "holder") else { return Ok(None) };
            let currency = text(&payload, "currency");
            let subject = format!("run-{}-{currency}", number(&payload, "run"));
            let args = json!({
                "n": number(&payload, "licences"), "net_minor": number(&payload, "net_minor"), "currency": currency,
            });
            Some(made(holder, SETTLEMENT, subject, args, "/dashboard/earnings"))
        }
        "payout.made" => {
            let Some(holder) = party(&payload, "holder") else { return Ok(None) };
            let args = json!({
                "payout": text(&payload, "payout"), "amount_minor": number(&payload, "amount_minor"),
                "currency": text(&payload, "currency"), "n": number(&payload, "licences"),
            });
            Some(made(holder, PAYOUT, text(&payload, "payout"), args, "/dashboard/earnings"))
        }
        "hits.black_found" => {
            let Some(holder) = party(&payload, "holder") else { return Ok(None) };
            let args = json!({
                "n": number(&payload, "count"), "work": text(&payload, "work"), "title": text(&payload, "title"),
            });
            // The day in Beijing time, written the same in both languages.
            Some(made(holder, BLACK_HITS, Lang::Zh.date(at), args, "/dashboard/hits?colour=black"))
        }
        _ => None,
    })
}

/// Adds a later batch's count to the day's notification of new unlicensed copies.
fn grow_daily_count(s: &mut SqliteStore, n: &NewNotification) -> Result<(), StoreError> {
    let Some(existing) = s.notification(&n.holder, n.kind, &n.subject_id)? else { return Ok(()) };
    let mut args = existing.args.clone();
    args["n"] = json!(number(&existing.args, "n").saturating_add(number(&n.args, "n")));
    s.update_args(existing.id, &args)
}

/// The words of a notification in `l`: a one-line title (the mail's subject) and a sentence.
pub fn words(l: Lang, kind: &str, args: &Value) -> (String, String) {
    let t = |field: &str| Arg::Text(text(args, field));
    let n = || Arg::Number(number(args, "n"));
    let money = |field: &str| Arg::Text(l.money(number(args, field), &text(args, "currency")));
    match kind {
        SALE => (
            l.args("notify-sale-subject", &[("title", t("title"))]),
            l.args(
                "notify-sale-text",
                &[("title", t("title")), ("licensee", t("licensee")), ("price", money("price_minor"))],
            ),
        ),
        OBJECTION => {
            let named = [("title", t("title")), ("licensee", t("licensee"))];
            let sentence = if text(args, "objection") == "ownership_dispute" {
                l.args("notify-objection-dispute-text", &named)
            } else {
                l.args("notify-objection-refund-text", &named)
            };
            (l.args("notify-objection-subject", &[("title", t("title"))]), sentence)
        }
        SETTLEMENT => (
            l.args("notify-settlement-subject", &[("n", n())]),
            l.args("notify-settlement-text", &[("n", n()), ("net", money("net_minor"))]),
        ),
        PAYOUT => (
            l.args("notify-payout-subject", &[("amount", money("amount_minor"))]),
            l.args("notify-payout-text", &[("amount", money("amount_minor")), ("n", n()), ("payout", t("payout"))]),
        ),
        BLACK_HITS => (
            l.args("notify-black-hits-subject", &[("n", n())]),
            l.args("notify-black-hits-text", &[("n", n()), ("title", t("title"))]),
        ),
        _ => (l.t("notify-title"), String::new()),
    }
}

/// The people of `holder` a notification of `kind` goes to: the holder's own account and every member
/// whose role covers the kind's area, each once, with their address, name and saved language.
fn recipients(s: &SqliteStore, holder: &PartyId, kind: &str) -> Result<Vec<(String, String, Lang)>, StoreError> {
    let area = area_of_kind(kind);
    let mut ids = vec![holder.clone()];
    for m in s.members_of(holder)? {
        if m.role.allows(area) && !ids.contains(&m.user) {
            ids.push(m.user);
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let Some(user) = s.user(&id)? else { continue };
        let lang = s.user_lang(&id)?.and_then(|tag| Lang::parse(&tag)).unwrap_or_default();
        out.push((user.email, user.name, lang));
    }
    Ok(out)
}

/// Queues the notification's email to each of its recipients; returns how many.
fn send_mails(s: &mut SqliteStore, n: &NewNotification, public_url: &str, now: Timestamp) -> Result<usize, StoreError> {
    let people = recipients(s, &n.holder, n.kind)?;
    for (email, name, l) in &people {
        let (subject, sentence) = words(*l, n.kind, &n.args);
        let link = format!("{}{}", public_url.trim_end_matches('/'), n.link);
        let body = format!(
            "{}\n\n{sentence}\n\n{}\n{}\n\n{}\n",
            l.t1("notify-mail-greeting", "name", name),
            l.t1("notify-mail-details", "url", &link),
            l.t1("notify-mail-all", "url", format!("{}/dashboard/notifications", public_url.trim_end_matches('/'))),
            l.t("notify-mail-footer"),
        );
        s.enqueue_mail(&Mail { to: email.clone(), subject, body, attachment: None }, now)?;
    }
    Ok(people.len())
}

/// Records one `hits.black_found` event per rights holder for the unlicensed hits a batch stored for
/// the first time ([`StoredBatch::new_black`], which the store counts as it inserts), with their count
/// and one of the works. Call it in the unit that stored the batch, so the event commits with the hits.
pub fn record_black_hits(s: &mut SqliteStore, stored: &StoredBatch, now: Timestamp) -> Result<usize, StoreError> {
    for (holder, (count, work)) in &stored.new_black {
        let payload = json!({
            "holder": holder.as_str(), "count": count, "work": work.as_str(), "title": title_of(s, work)?,
        });
        s.record_event("hits.black_found", holder.as_str(), &payload, now)?;
    }
    Ok(stored.new_black.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_words_in_both_languages() {
        let args = json!({"title": "T", "licensee": "L", "price_minor": 1999, "net_minor": 1500,
            "amount_minor": 1500, "currency": "CNY", "n": 3, "payout": "po/rh-a/CNY/1", "objection": "refund_request"});
        for l in Lang::ALL {
            for kind in KINDS {
                let (title, sentence) = words(l, kind, &args);
                assert!(!title.is_empty() && !sentence.is_empty(), "{kind}");
                assert!(!title.contains("notify-") && !sentence.contains("notify-"), "{kind}: {title} {sentence}");
            }
        }
        assert!(words(Lang::En, SALE, &args).1.contains("¥19.99"));
        assert!(words(Lang::En, SETTLEMENT, &args).1.contains("3 licences"));
        for key in ["notify-mail-greeting", "notify-mail-details", "notify-mail-all", "notify-mail-footer"] {
            assert!(Lang::Zh.has(key) && Lang::En.has(key), "{key}");
        }
    }

    #[test]
    fn members_see_the_kinds_of_their_role() {
        assert_eq!(kinds_for(None), KINDS.to_vec());
        assert_eq!(kinds_for(Some(OrgRole::Owner)), KINDS.to_vec());
        assert_eq!(kinds_for(Some(OrgRole::Analyst)), vec![BLACK_HITS]);
        assert_eq!(kinds_for(Some(OrgRole::Finance)), vec![SALE, OBJECTION, SETTLEMENT, PAYOUT]);
    }
}
