//! The seal: what every reader of a sealed page sees.
//!
//! - `GET /api/v1/seal/{work}`: the hot path, fetched by every page view of every sealed article. It is
//!   answered from `services::seal::SealCache`, pre-rendered JSON with a strong ETag, so a CDN can front it and a
//!   repeat view costs a 304. No database access, no allocation beyond the response.
//! - `GET /api/v1/seal/resolve?seal=&url=`: the same answer when the embed names a channel (or a work)
//!   and the page is identified by its URL.
//! - `GET /seal.js`: the web component; `GET /badge.svg?work=`: the no-JavaScript badge;
//!   `GET /w/{work}`: the public seal page with schema.org JSON-LD; `GET /api/v1/offers/{id}/odrl`: an
//!   offer as ODRL JSON-LD.
//!
//! The widget's JSON, `seal.js` and the badge carry both languages on purpose: they sit on publishers'
//! pages, whose readers' language the platform does not know. The seal page is the platform's own and
//! speaks the request's language, so it writes prices, terms and the statement from the records.

use super::error::ApiError;
use super::{render, svg, State};
use crate::services::seal::SealEntry;
use crate::store::prelude::*;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{ChannelId, OfferId, WorkId};
use serde::Deserialize;
use serde_json::{json, Value};

/// Browsers and CDNs may reuse an answer for a minute and serve a stale one for five more while they
/// revalidate; a new licence shows on the seal within that.
const CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";

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
    /// The page language.
    l: crate::i18n::Lang,
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
    offers: Vec<ShownOffer>,
    sites: Vec<String>,
    json_ld: String,
    embed: String,
}

/// An offer as the seal page shows it.
struct ShownOffer {
    price: String,
    rules: Vec<String>,
    odrl_url: String,
}

async fn seal_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found(format!("work {}", path.as_str())).page();
    let v = state.seals.get(&path).and_then(|e| e.view()).ok_or_else(not_found)?;
    let l = super::lang_of(&req);
    let base = &state.config.public_url;
    // The cached view's words are the widget's, in both languages; the page reads the records it was
    // made from to say the same in one.
    let work_id = WorkId::new(path.as_str()).map_err(|_| not_found())?;
    let ids: Vec<OfferId> = v.offers.iter().filter_map(|o| OfferId::new(o.id.as_str()).ok()).collect();
    let (work, records) = super::db(&state, move |s| {
        let mut offers = Vec::with_capacity(ids.len());
        for id in &ids {
            offers.extend(s.offer(id)?);
        }
        Ok((s.work(&work_id)?, offers))
    })
    .await
    .map_err(ApiError::page)?;
    let work = work.ok_or_else(not_found)?;
    let offers = v
        .offers
        .iter()
        .filter_map(|shown| {
            let o = records.iter().find(|o| o.id.as_str() == shown.id)?;
            Some(ShownOffer { price: l.price(o), rules: l.offer_rules(o), odrl_url: shown.odrl_url.clone() })
        })
        .collect();
    let statement = l.t2("seal-statement", ("year", &work.published_at.year()), ("holder", &v.holder.name));
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
        l,
        id: path.into_inner(),
        registered: l.date(work.registered_at),
        title: v.work.title,
        author: v.work.author,
        holder: v.holder.name,
        statement,
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
