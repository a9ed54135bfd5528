//! The seal renderer: what every reader of a sealed page sees, pre-rendered per work.
//!
//! [`SealCache`] holds each work's seal answer as JSON bytes with a strong ETag, rebuilt at start and
//! refreshed per work (or per channel) when a licence, a work or an offer changes, so the hot path
//! (the web layer's seal handler) never touches the database. [`SealView`] is the typed form of that answer: its keys
//! are the public seal API, and the seal page, checkout and payment pages read its fields.
//!
//! The URL map is keyed per channel: an embed that names channel C only ever resolves to a work
//! registered on C (whose owner is C's owner, which registration checks), so one holder cannot make
//! another holder's page show their seal by registering a work with that page's URL.

use crate::store::platform::WorkLicences;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use bytes::Bytes;
use seal_licensing::ids::{ChannelId, PartyId, WorkId};
use seal_licensing::offer::{Action, ChannelKind, Offer, OfferTarget, Work};
use seal_licensing::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One pre-rendered answer.
#[derive(Debug)]
pub struct SealEntry {
    /// The JSON body.
    pub body: Bytes,
    /// Strong ETag (quoted).
    pub etag: String,
}

impl SealEntry {
    /// The answer as a typed view, for the pages that show it (the hot path only ever sends the bytes;
    /// a parsed copy per work would cost several kilobytes each at 100k works). `None` only if the
    /// bytes were not written by [`entry`], which cannot happen.
    pub fn view(&self) -> Option<SealView> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What the seal shows about a work: the JSON the widget renders (its keys are the public seal API)
/// and what the seal page, checkout and payment pages read, typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealView {
    /// The work.
    pub work: SealWork,
    /// Its rights holder.
    pub holder: SealHolder,
    /// The copyright statement.
    pub statement: String,
    /// Rights status.
    pub status: SealStatus,
    /// Offers that cover the work, with their rules in plain words.
    pub offers: Vec<SealOffer>,
    /// Licence records.
    pub licences: SealLicences,
    /// Where Get licence leads.
    pub licence_url: String,
}

/// The work part of a [`SealView`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealWork {
    /// Work id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Where it is published (may be empty).
    pub source_url: String,
    /// Registration time (RFC 3339).
    pub registered_at: String,
    /// SHA-256 of the registered content.
    pub content_sha256: String,
    /// The public seal page.
    pub seal_page: String,
}

/// The holder part of a [`SealView`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealHolder {
    /// Party id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Rights status, from the work's registration record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealStatus {
    /// `registered` (timestamped and in the transparency log) or `pending` (recorded, proof not yet made).
    pub code: String,
    /// Label in Chinese and English.
    pub label: String,
    /// Since when (RFC 3339): the trusted timestamp's time once registered.
    pub since: String,
    /// The public verification page of the registration certificate, once registered.
    pub certificate_url: Option<String>,
    /// The registration's entry in the transparency log, once registered.
    pub log_index: Option<u64>,
}

/// What the seal shows of a work's registration record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealProof {
    /// The time in the registration's timestamp token.
    pub stamped_at: Timestamp,
    /// The log entry.
    pub leaf: u64,
}

/// One offer on the seal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealOffer {
    /// Offer id.
    pub id: String,
    /// Whether it is free.
    pub free: bool,
    /// The price for people.
    pub price: String,
    /// Minor units.
    pub price_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// The terms in plain words.
    pub rules: Vec<String>,
    /// The offer as ODRL.
    pub odrl_url: String,
}

/// Licence records on the seal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealLicences {
    /// Licences not refunded.
    pub count: i64,
    /// Licensed sites, at most ten.
    pub sites: Vec<String>,
}

/// Pre-rendered seal answers by work id, and work ids by channel and normalised source URL.
///
/// The URL map is keyed per channel: an embed that names channel C only ever resolves to a work
/// registered on C (whose owner is C's owner, which registration checks), so one holder cannot make
/// another holder's page show their seal by registering a work with that page's URL.
#[derive(Debug, Default)]
pub struct SealCache {
    entries: RwLock<HashMap<String, Arc<SealEntry>>>,
    by_url: RwLock<HashMap<UrlKey, WorkId>>,
}

/// A channel and a normalised page URL.
type UrlKey = (ChannelId, String);

/// The URL-map key of a work: only works on a channel with a source URL are resolvable by URL.
fn url_key(work: &Work) -> Option<UrlKey> {
    let channel = work.channel.clone()?;
    (!work.source_url.trim().is_empty()).then(|| (channel, normalise_url(&work.source_url)))
}

/// `https://Example.com/a/` and `example.com/a` are the same page.
pub fn normalise_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or("");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    format!("{}{}", host.to_ascii_lowercase(), path.trim_end_matches('/'))
}

/// An offer's terms in plain words, Chinese first.
pub fn offer_rules(offer: &Offer) -> Vec<String> {
    let mut rules = Vec::new();
    let zh: Vec<&str> = offer
        .permissions
        .iter()
        .map(|a| match a {
            Action::Reproduce => "复制",
            Action::Display => "展示",
            Action::Distribute => "传播",
            Action::Modify => "修改",
            Action::CommercialUse => "商业使用",
        })
        .collect();
    let en: Vec<&str> = offer
        .permissions
        .iter()
        .map(|a| match a {
            Action::Reproduce => "reproduce",
            Action::Display => "display",
            Action::Distribute => "distribute",
            Action::Modify => "modify",
            Action::CommercialUse => "use commercially",
        })
        .collect();
    rules.push(format!("可{} · You may {}", zh.join("、"), en.join(", ")));
    let c = &offer.constraints;
    if !c.channel_kinds.is_empty() {
        let (zh, en): (Vec<&str>, Vec<&str>) = c.channel_kinds.iter().map(|k| channel_kind_names(*k)).unzip();
        rules.push(format!("仅限{} · On {} only", zh.join("、"), en.join(", ")));
    }
    if !c.territories.is_empty() {
        rules.push(format!("地域：{} · Territory: {}", c.territories.join("、"), c.territories.join(", ")));
    }
    rules.push(match c.duration_days {
        Some(d) => format!("有效期 {d} 天 · Valid for {d} days"),
        None => "长期有效 · No time limit".to_owned(),
    });
    if let Some(n) = c.max_excerpt_chars {
        rules.push(format!("摘录不超过 {n} 字 · Excerpts of up to {n} characters"));
    }
    if c.online_only {
        rules.push("仅限网络使用 · Online use only".to_owned());
    }
    rules.push("须署名：作者、原题、来源 · Credit the author, title and source".to_owned());
    rules
}

/// Chinese and English names of a channel kind.
pub fn channel_kind_names(kind: ChannelKind) -> (&'static str, &'static str) {
    match kind {
        ChannelKind::Website => ("网站", "websites"),
        ChannelKind::WechatOfficialAccount => ("微信公众号", "WeChat official accounts"),
        ChannelKind::Weibo => ("微博", "Weibo"),
        ChannelKind::Blog => ("博客", "blogs"),
    }
}

/// A price for people: `¥19.99`, `$5.00`, or `免费 Free`.
pub fn price_label(offer: &Offer) -> String {
    if offer.is_free() {
        return "免费 Free".to_owned();
    }
    money_label(offer.price.amount.minor(), offer.price.currency)
}

/// An amount for people: `¥59.97`, `$5.00`, `12.00 EUR`.
pub fn money_label(minor: i64, cur: seal_licensing::money::Currency) -> String {
    let digits = cur.format_minor(minor);
    match cur.code() {
        "CNY" => format!("¥{digits}"),
        "USD" => format!("${digits}"),
        code => format!("{digits} {code}"),
    }
}

/// The seal's view of a work: what the widget renders and the seal page shows.
pub fn seal_view(
    base: &str,
    work: &Work,
    holder_name: &str,
    offers: &[&Offer],
    licences: &WorkLicences,
    proof: Option<SealProof>,
) -> SealView {
    let registered = work.registered_at.to_string();
    let status = match proof {
        Some(p) => SealStatus {
            code: "registered".into(),
            label: "已登记 Registered".into(),
            since: p.stamped_at.to_string(),
            certificate_url: Some(format!("{base}/verify?work={}", work.id)),
            log_index: Some(p.leaf),
        },
        None => SealStatus {
            code: "pending".into(),
            label: "登记中 Registration pending".into(),
            since: registered.clone(),
            certificate_url: None,
            log_index: None,
        },
    };
    SealView {
        work: SealWork {
            id: work.id.to_string(),
            title: work.title.clone(),
            author: work.author.clone(),
            source_url: work.source_url.clone(),
            registered_at: registered.clone(),
            content_sha256: work.content_sha256.clone(),
            seal_page: format!("{base}/w/{}", work.id),
        },
        holder: SealHolder { id: work.owner.to_string(), name: holder_name.to_owned() },
        statement: format!(
            "© {} {holder_name}. All rights reserved. 版权所有，未经授权不得转载。",
            work.published_at.year()
        ),
        status,
        // A withdrawn offer is closed for good; the seal stops showing it at once.
        offers: offers
            .iter()
            .filter(|o| o.withdrawn_at.is_none())
            .map(|o| SealOffer {
                id: o.id.to_string(),
                free: o.is_free(),
                price: price_label(o),
                price_minor: o.price.amount.minor(),
                currency: o.price.currency.code().to_owned(),
                rules: offer_rules(o),
                odrl_url: format!("{base}/api/v1/offers/{}/odrl", o.id),
            })
            .collect(),
        licences: SealLicences { count: licences.count, sites: licences.sites.clone() },
        licence_url: format!("{base}/checkout?work={}", work.id),
    }
}

fn entry(view: SealView) -> SealEntry {
    let body = serde_json::to_vec(&view).unwrap_or_default();
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>());
    SealEntry { body: body.into(), etag }
}

impl SealCache {
    /// Rebuilds every entry from the store.
    pub fn rebuild(&self, store: &SqliteStore, base: &str) -> Result<(), StoreError> {
        let holders: HashMap<PartyId, String> = store.all_holders()?.into_iter().map(|h| (h.id, h.name)).collect();
        let proofs = proofs_of(store)?;
        let rendered = render_all(
            base,
            &store.all_works()?,
            &store.all_offers()?,
            &holders,
            store.licence_aggregates(None)?,
            &proofs,
        );
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = rendered.entries;
        *self.by_url.write().unwrap_or_else(|p| p.into_inner()) = rendered.by_url;
        Ok(())
    }

    /// Re-renders one work (after a licence, or a change to the work or its offers).
    pub fn refresh_work(&self, store: &SqliteStore, base: &str, id: &WorkId) -> Result<(), StoreError> {
        let Some(work) = crate::store::Repository::work(store, id)? else { return Ok(()) };
        let mut offers: Vec<Offer> = store.offers_of(&work.owner, "", 500)?;
        offers.retain(|o| o.covers(&work));
        let holder = store.holder_name(&work.owner)?;
        let agg = store.work_licences(id)?;
        let proof = store.registration(id.as_str())?.map(|r| SealProof { stamped_at: r.stamped_at, leaf: r.leaf });
        let view = seal_view(base, &work, &holder, &offers.iter().collect::<Vec<_>>(), &agg, proof);
        if let Some(key) = url_key(&work) {
            self.by_url.write().unwrap_or_else(|p| p.into_inner()).insert(key, id.clone());
        }
        self.entries.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), Arc::new(entry(view)));
        Ok(())
    }

    /// Re-renders every work of a channel (after its offers changed) in one pass: a handful of queries
    /// for the whole channel, not a few per work.
    pub fn refresh_channel(&self, store: &SqliteStore, base: &str, channel: &ChannelId) -> Result<(), StoreError> {
        let Some(c) = store.channel(channel)? else { return Ok(()) };
        let mut works = store.all_works_of(&c.owner)?;
        works.retain(|w| w.channel.as_ref() == Some(channel));
        let offers = store.offers_of(&c.owner, "", 500)?;
        let holders = HashMap::from([(c.owner.clone(), store.holder_name(&c.owner)?)]);
        // Only this channel's works' records, not the whole platform's.
        let mut proofs = HashMap::with_capacity(works.len());
        for w in &works {
            if let Some(r) = store.registration(w.id.as_str())? {
                proofs.insert(w.id.to_string(), SealProof { stamped_at: r.stamped_at, leaf: r.leaf });
            }
        }
        let rendered = render_all(base, &works, &offers, &holders, store.licence_aggregates(Some(&c.owner))?, &proofs);
        self.entries.write().unwrap_or_else(|p| p.into_inner()).extend(rendered.entries);
        Ok(())
    }

    /// The entry of a work.
    pub fn get(&self, work: &str) -> Option<Arc<SealEntry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).get(work).cloned()
    }

    /// The work registered on `channel` at a page URL.
    pub fn work_at(&self, channel: &ChannelId, url: &str) -> Option<WorkId> {
        let key = (channel.clone(), normalise_url(url));
        self.by_url.read().unwrap_or_else(|p| p.into_inner()).get(&key).cloned()
    }

    /// Entries cached.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Seal answers rendered in bulk.
/// Every work's registration record, as the seal shows it.
fn proofs_of(store: &SqliteStore) -> Result<HashMap<String, SealProof>, StoreError> {
    Ok(store
        .registration_summaries()?
        .into_iter()
        .map(|(work, leaf, stamped_at)| (work, SealProof { stamped_at, leaf }))
        .collect())
}

struct Rendered {
    entries: HashMap<String, Arc<SealEntry>>,
    by_url: HashMap<UrlKey, WorkId>,
}

/// Renders the seal of each of `works` with the offers that cover it.
fn render_all(
    base: &str,
    works: &[Work],
    offers: &[Offer],
    holders: &HashMap<PartyId, String>,
    aggregates: Vec<(WorkId, WorkLicences)>,
    proofs: &HashMap<String, SealProof>,
) -> Rendered {
    let mut aggregates: HashMap<WorkId, WorkLicences> = aggregates.into_iter().collect();
    let mut by_work: HashMap<&WorkId, Vec<&Offer>> = HashMap::new();
    let mut by_channel: HashMap<&ChannelId, Vec<&Offer>> = HashMap::new();
    for o in offers {
        match &o.target {
            OfferTarget::Work(w) => by_work.entry(w).or_default().push(o),
            OfferTarget::Channel(c) => by_channel.entry(c).or_default().push(o),
        }
    }
    let mut out =
        Rendered { entries: HashMap::with_capacity(works.len()), by_url: HashMap::with_capacity(works.len()) };
    for w in works {
        let mut applicable: Vec<&Offer> = by_work.get(&w.id).cloned().unwrap_or_default();
        if let Some(c) = &w.channel {
            applicable.extend(by_channel.get(c).into_iter().flatten().copied());
        }
        applicable.retain(|o| o.covers(w));
        let agg = aggregates.remove(&w.id).unwrap_or_default();
        let name = holders.get(&w.owner).map_or("", String::as_str);
        out.entries.insert(
            w.id.to_string(),
            Arc::new(entry(seal_view(base, w, name, &applicable, &agg, proofs.get(w.id.as_str()).copied()))),
        );
        if let Some(key) = url_key(w) {
            out.by_url.insert(key, w.id.clone());
        }
    }
    out
}
