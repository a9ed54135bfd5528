//! The seal: what every reader of a sealed page sees.
//!
//! - `GET /api/v1/seal/{work}`: the hot path, fetched by every page view of every sealed article. It is
//!   answered from [`SealCache`], pre-rendered JSON with a strong ETag, so a CDN can front it and a
//!   repeat view costs a 304. No database access, no allocation beyond the response.
//! - `GET /api/v1/seal/resolve?seal=&url=`: the same answer when the embed names a channel (or a work)
//!   and the page is identified by its URL.
//! - `GET /seal.js`: the web component; `GET /badge.svg?work=`: the no-JavaScript badge;
//!   `GET /w/{work}`: the public seal page with schema.org JSON-LD; `GET /api/v1/offers/{id}/odrl`: an
//!   offer as ODRL JSON-LD.

use super::error::ApiError;
use super::{render, svg, State};
use crate::store::platform::WorkLicences;
use crate::store::{SqliteStore, StoreError};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{ChannelId, OfferId, PartyId, WorkId};
use seal_licensing::offer::{Action, ChannelKind, Offer, OfferTarget, Work};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Browsers and CDNs may reuse an answer for a minute and serve a stale one for five more while they
/// revalidate; a new licence shows on the seal within that.
const CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";

/// One pre-rendered answer.
#[derive(Debug)]
pub struct SealEntry {
    /// The JSON body.
    pub body: web::Bytes,
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

/// Rights status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealStatus {
    /// `registered`.
    pub code: String,
    /// Label in Chinese and English.
    pub label: String,
    /// Since when (RFC 3339).
    pub since: String,
    /// The registration certificate, once certificates exist.
    pub certificate_url: Option<String>,
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
    let cur = offer.price.currency;
    let digits = cur.format_minor(offer.price.amount.minor());
    match cur.code() {
        "CNY" => format!("¥{digits}"),
        "USD" => format!("${digits}"),
        code => format!("{digits} {code}"),
    }
}

/// The seal's view of a work: what the widget renders and the seal page shows.
pub fn seal_view(base: &str, work: &Work, holder_name: &str, offers: &[&Offer], licences: &WorkLicences) -> SealView {
    let registered = work.registered_at.to_string();
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
        status: SealStatus {
            code: "registered".into(),
            label: "已登记 Registered".into(),
            since: registered,
            certificate_url: None,
        },
        offers: offers
            .iter()
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
        let rendered =
            render_all(base, &store.all_works()?, &store.all_offers()?, &holders, store.licence_aggregates(None)?);
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
        let view = seal_view(base, &work, &holder, &offers.iter().collect::<Vec<_>>(), &agg);
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
        let rendered = render_all(base, &works, &offers, &holders, store.licence_aggregates(Some(&c.owner))?);
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
        out.entries.insert(w.id.to_string(), Arc::new(entry(seal_view(base, w, name, &applicable, &agg))));
        if let Some(key) = url_key(w) {
            out.by_url.insert(key, w.id.clone());
        }
    }
    out
}

fn answer(req: &HttpRequest, e: &SealEntry) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == e.etag || t.trim() == "*"));
    let mut resp = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    resp.insert_header((header::ETAG, e.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::VARY, "Accept-Encoding"));
    if fresh {
        resp.finish()
    } else {
        resp.content_type("application/json").body(e.body.clone())
    }
}

/// The seal of a work (the hot path; see the module doc for caching).
#[utoipa::path(get, path = "/api/v1/seal/{work}", tag = "seal",
    params(("work" = String, Path, description = "work id")),
    responses((status = 200, description = "the seal: work, holder, statement, status, offers with rules, licence records, licence_url", content_type = "application/json"),
              (status = 304, description = "not modified (If-None-Match matched the ETag)")))]
pub(crate) async fn seal_json(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let e = state.seals.get(&path).ok_or_else(|| ApiError::not_found(format!("work {}", path.as_str())))?;
    Ok(answer(&req, &e))
}

/// Query of `resolve`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ResolveQuery {
    /// The embed's `data-seal`: a channel id or a work id.
    pub seal: Option<String>,
    /// The page URL.
    pub url: Option<String>,
}

/// The seal of the page at `url`, for an embed that names a channel (registers the page on first view
/// when it is on a verified website or blog channel).
#[utoipa::path(get, path = "/api/v1/seal/resolve", tag = "seal", params(ResolveQuery),
    responses((status = 200, description = "the seal, as for /api/v1/seal/{work}", content_type = "application/json")))]
pub(crate) async fn resolve(
    state: State,
    req: HttpRequest,
    q: web::Query<ResolveQuery>,
) -> Result<HttpResponse, ApiError> {
    let seal = q.seal.as_deref().ok_or_else(|| ApiError::invalid("give the seal: a channel id or a work id"))?;
    if let Some(e) = state.seals.get(seal) {
        return Ok(answer(&req, &e));
    }
    let url = q.url.as_deref().ok_or_else(|| ApiError::invalid("give the page url or a work id"))?;
    let work = match ChannelId::new(seal).ok() {
        Some(channel) => match state.seals.work_at(&channel, url) {
            Some(w) => Some(w),
            None => super::setup::register_on_first_view(&state, &channel, url).await?,
        },
        None => None,
    };
    let work = work.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_registered",
            format!("no registered work is published at {url}"),
        )
    })?;
    let e = state.seals.get(work.as_str()).ok_or_else(|| ApiError::not_found(format!("work {work}")))?;
    Ok(answer(&req, &e))
}

async fn seal_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(include_str!("../../static/seal.js"))
}

/// Query of the badge.
#[derive(Debug, Deserialize)]
pub struct BadgeQuery {
    /// The work.
    pub work: String,
}

async fn badge(state: State, q: web::Query<BadgeQuery>) -> HttpResponse {
    // An unknown work still gets a neutral badge: a broken image on a publisher's page helps nobody.
    let count = state.seals.get(&q.work).and_then(|e| e.view()).map(|v| v.licences.count);
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .body(svg::badge(count))
}

/// The public seal page.
#[derive(askama::Template)]
#[template(path = "seal_page.html")]
struct SealPage {
    id: String,
    title: String,
    author: String,
    holder: String,
    statement: String,
    source_url: String,
    registered: String,
    sha256: String,
    licence_count: i64,
    licence_url: String,
    offers: Vec<(String, String, Vec<String>, String)>,
    sites: Vec<String>,
    json_ld: String,
    embed: String,
}

async fn seal_page(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found(format!("work {}", path.as_str())).page();
    let v = state.seals.get(&path).and_then(|e| e.view()).ok_or_else(not_found)?;
    let base = &state.config.public_url;
    let offers: Vec<(String, String, Vec<String>, String)> =
        v.offers.iter().map(|o| (o.id.clone(), o.price.clone(), o.rules.clone(), o.odrl_url.clone())).collect();
    let ld = json!({
        "@context": "https://schema.org",
        "@type": "CreativeWork",
        "name": v.work.title,
        "author": { "@type": "Person", "name": v.work.author },
        "copyrightHolder": { "@type": "Organization", "name": v.holder.name },
        "copyrightYear": v.work.registered_at.get(..4),
        "creditText": format!("{} / {}", v.work.author, v.holder.name),
        "copyrightNotice": v.statement,
        "license": v.offers.first().map_or_else(|| format!("{base}/w/{}", path.as_str()), |o| o.odrl_url.clone()),
        "acquireLicensePage": v.licence_url,
        "url": v.work.source_url,
        "sha256": v.work.content_sha256,
    });
    let json_ld = script_json(&ld);
    let embed = embed_code(base, None, Some(path.as_str()));
    render(&SealPage {
        id: path.into_inner(),
        registered: v.work.registered_at.chars().take(10).collect(),
        title: v.work.title,
        author: v.work.author,
        holder: v.holder.name,
        statement: v.statement,
        source_url: v.work.source_url,
        sha256: v.work.content_sha256,
        licence_count: v.licences.count,
        licence_url: v.licence_url,
        offers,
        sites: v.licences.sites,
        json_ld,
        embed,
    })
}

/// JSON to put inside a `<script>` element. `<`, `>` and `&` only occur inside JSON strings, where
/// `\u003c`, `\u003e` and `\u0026` mean the same; escaped, no title can close the element, open a
/// comment (`<!--` makes Chromium swallow the rest of the page) or start a character reference.
pub fn script_json(value: &Value) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The code a publisher pastes, per channel or per work, with the no-JavaScript fallback.
pub fn embed_code(base: &str, channel: Option<&str>, work: Option<&str>) -> String {
    let seal = channel.or(work).unwrap_or("");
    let work_attr = work.map(|w| format!(" data-work=\"{}\"", super::html_escape(w))).unwrap_or_default();
    let fallback = match work {
        Some(w) => format!(
            "\n<noscript><a href=\"{base}/w/{w}\"><img src=\"{base}/badge.svg?work={w}\" alt=\"© Copyright Seal\" height=\"28\"></a></noscript>",
            w = super::html_escape(w)
        ),
        None => String::new(),
    };
    format!(
        "<script async src=\"{base}/seal.js\" data-seal=\"{}\"{work_attr}></script>{fallback}",
        super::html_escape(seal)
    )
}

/// An offer as ODRL 2.2 JSON-LD.
#[utoipa::path(get, path = "/api/v1/offers/{id}/odrl", tag = "offers",
    params(("id" = String, Path, description = "offer id")),
    responses((status = 200, description = "ODRL Offer", content_type = "application/ld+json")))]
pub(crate) async fn odrl(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = OfferId::new(path.into_inner()).map_err(|e| ApiError::invalid(e.to_string()))?;
    let shown = id.clone();
    let offer = super::db(&state, move |s| Ok(s.offer(&id)?)).await?;
    let offer = offer.ok_or_else(|| ApiError::not_found(format!("offer {shown}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/ld+json")
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .json(offer.to_odrl(None)))
}

/// The seal's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/seal/resolve", web::get().to(resolve))
        .route("/api/v1/seal/{work}", web::get().to(seal_json))
        .route("/api/v1/offers/{id}/odrl", web::get().to(odrl))
        .route("/seal.js", web::get().to(seal_js))
        .route("/badge.svg", web::get().to(badge))
        .route("/w/{work}", web::get().to(seal_page));
}
