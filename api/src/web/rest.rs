//! REST API v1: channels, works, offers, licences, checkout sessions, ledger statements and monitoring
//! (hits, jobs, the allowlist), as JSON.
//!
//! - The OpenAPI 3.1 document is generated from these handlers by utoipa and served at
//!   `/api/v1/openapi.json`; `/api/docs` renders it with a small built-in page (no CDN, works offline).
//! - Callers authenticate with the session cookie; writes also need the `X-CSRF-Token` header (the
//!   `seal_csrf` cookie's value, also returned by `GET /api/v1/me`). API keys and OAuth2 arrive with
//!   the open platform.
//! - Errors are `{"code", "message"}`; lists take `cursor` and `limit` (1–500, default 50) and return
//!   `next_cursor` when there may be more.
//! - A user only ever sees their own records: another user's id answers 404, as if it did not exist.

use super::auth::{check_csrf, csrf_token, require};
use super::error::ApiError;
use super::setup::{create_channel, new_work, owned_channel, parse_kind, preset, publish, register, work_channel};
use super::{db, State};
use crate::services::seal::{offer_rules, price_label};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{LicenceId, OfferId, WorkId};
use seal_licensing::licence::Licence;
use seal_licensing::money::Currency;
use seal_licensing::offer::{Channel, Offer, OfferTarget, Work};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

const ALL: &[Role] = &[Role::Holder, Role::Licensee, Role::Admin, Role::Developer];

/// An error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code: `not_found`, `invalid_input`, `unauthenticated`, `forbidden`, `csrf`, `conflict`,
    /// `refused`, `not_registered`, `not_licensed`, `bad_webhook`, `internal`.
    code: String,
    /// Explanation for people.
    message: String,
}

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

impl PageQuery {
    fn parts(&self) -> Result<(String, usize), ApiError> {
        match self.limit.unwrap_or(50) {
            limit @ 1..=500 => Ok((self.cursor.clone().unwrap_or_default(), limit)),
            other => Err(ApiError::invalid(format!("limit {other} is not in 1..=500"))),
        }
    }
}

fn page<T: Serialize, U>(
    items: Vec<U>,
    limit: usize,
    key: impl Fn(&U) -> String,
    map: impl Fn(U) -> T,
) -> serde_json::Value {
    let next = (items.len() == limit).then(|| items.last().map(&key)).flatten();
    serde_json::json!({ "items": items.into_iter().map(map).collect::<Vec<_>>(), "next_cursor": next })
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    id: String,
    email: String,
    name: String,
    /// `holder`, `licensee`, `admin` or `developer`.
    role: String,
    /// Send this as `X-CSRF-Token` on writes.
    csrf_token: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, ALL).await?;
    let (csrf, set) = csrf_token(&req, state.config.secure_cookies);
    let mut resp = HttpResponse::Ok().json(Me {
        id: u.id.to_string(),
        email: u.email,
        name: u.name,
        role: u.role.as_str().into(),
        csrf_token: csrf,
    });
    if let Some(c) = set {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// A channel.
#[derive(Serialize, ToSchema)]
pub struct ChannelDto {
    id: String,
    /// `website`, `wechat_official_account`, `weibo` or `blog`.
    kind: String,
    handle: String,
    /// Whether ownership is proven.
    verified: bool,
    /// The token to publish for the ownership check.
    verification_token: Option<String>,
    default_offers: Vec<String>,
}

fn channel_dto(c: Channel, claim: Option<crate::store::platform::ChannelClaim>) -> ChannelDto {
    ChannelDto {
        id: c.id.to_string(),
        kind: c.kind.as_str().into(),
        handle: c.handle,
        verified: claim.as_ref().is_some_and(|k| k.verified_at.is_some()),
        verification_token: claim.map(|k| k.token),
        default_offers: c.default_offers.iter().map(|o| o.to_string()).collect(),
    }
}

/// A page of channels.
#[derive(Serialize, ToSchema)]
pub struct ChannelPage {
    items: Vec<ChannelDto>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", params(PageQuery),
    responses((status = 200, body = ChannelPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_channels(state: State, req: HttpRequest, q: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let (cursor, limit) = q.parts()?;
    let rows = db(&state, move |s| {
        let cs = s.channels_of(&u.id, &cursor, limit)?;
        cs.into_iter().map(|c| Ok((s.claim(&c.id)?, c))).collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(page(rows, limit, |(_, c)| c.id.to_string(), |(k, c)| channel_dto(c, k))))
}

/// A new channel.
#[derive(Deserialize, ToSchema)]
pub struct NewChannel {
    /// `website`, `wechat_official_account`, `weibo` or `blog`.
    #[schema(pattern = "^(website|wechat_official_account|weibo|blog)$")]
    kind: String,
    /// Domain, account name or blog URL.
    #[schema(min_length = 1, max_length = 200, pattern = "^\\S+$")]
    handle: String,
}

#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = NewChannel,
    responses((status = 201, body = ChannelDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn post_channel(state: State, req: HttpRequest, body: web::Json<NewChannel>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder]).await?;
    let kind = parse_kind(&body.kind)
        .ok_or_else(|| ApiError::invalid("kind must be website, wechat_official_account, weibo or blog"))?;
    let c = create_channel(&state, u.id, kind, &body.handle).await?;
    let id = c.id.clone();
    let claim = db(&state, move |s| Ok(s.claim(&id)?)).await?;
    Ok(HttpResponse::Created().json(channel_dto(c, claim)))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels",
    responses((status = 200, body = ChannelDto), (status = 404, body = ErrorBody)))]
async fn get_channel(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let u = super::auth::require_for_record(&state, &req, &[Role::Holder], "channel").await?;
    let c = owned_channel(&state, &u.id, &path).await?;
    let id = c.id.clone();
    let claim = db(&state, move |s| Ok(s.claim(&id)?)).await?;
    Ok(HttpResponse::Ok().json(channel_dto(c, claim)))
}

/// A registered work.
#[derive(Serialize, ToSchema)]
pub struct WorkDto {
    id: String,
    title: String,
    author: String,
    source_url: String,
    channel: Option<String>,
    content_sha256: String,
    registered_at: String,
    seal_page: String,
}

fn work_dto(base: &str, w: Work) -> WorkDto {
    WorkDto {
        seal_page: format!("{base}/w/{}", w.id),
        id: w.id.to_string(),
        title: w.title,
        author: w.author,
        source_url: w.source_url,
        channel: w.channel.map(|c| c.to_string()),
        content_sha256: w.content_sha256,
        registered_at: w.registered_at.to_string(),
    }
}

/// A page of works.
#[derive(Serialize, ToSchema)]
pub struct WorkPage {
    items: Vec<WorkDto>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/works", tag = "works", params(PageQuery),
    responses((status = 200, body = WorkPage), (status = 401, body = ErrorBody)))]
async fn list_works(state: State, req: HttpRequest, q: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let (cursor, limit) = q.parts()?;
    let works = db(&state, move |s| Ok(s.works_of(&u.id, &cursor, limit)?)).await?;
    let base = state.config.public_url.clone();
    Ok(HttpResponse::Ok().json(page(works, limit, |w| w.id.to_string(), |w| work_dto(&base, w))))
}

/// A work to register. The content is hashed (SHA-256) for the registration and not stored.
#[derive(Deserialize, ToSchema)]
pub struct NewWork {
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    title: String,
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    author: String,
    /// Where the work is published: only on a verified channel of yours, inside its domain.
    #[schema(max_length = 500, pattern = "^(https?://\\S+)?$")]
    #[serde(default)]
    source_url: String,
    /// One of your channels, whose offers then apply.
    channel: Option<String>,
    /// The work's text or HTML.
    #[schema(min_length = 1)]
    content: String,
}

/// Registers a work: JSON with its text, or `multipart/form-data` with text, an image or both. The same
/// content registered again answers the existing work with 200.
#[utoipa::path(post, path = "/api/v1/works", tag = "works",
    request_body(content((NewWork = "application/json"), (NewWorkUpload = "multipart/form-data"))),
    responses((status = 201, body = WorkDto), (status = 200, body = WorkDto, description = "the same content was registered before"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn post_work(state: State, req: HttpRequest, body: web::Json<NewWork>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder]).await?;
    let channel = match body.channel.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(work_channel(&state, &u.id, c).await?),
        None => None,
    };
    let w = new_work(
        &u.id,
        channel.as_ref(),
        &body.title,
        &body.author,
        &body.source_url,
        vec![super::setup::text_item(&body.content)],
    )?;
    let (w, new) = register(&state, w).await?;
    let dto = work_dto(&state.config.public_url, w);
    // The same content registered again answers the existing work.
    Ok(if new { HttpResponse::Created().json(dto) } else { HttpResponse::Ok().json(dto) })
}

/// `POST /api/v1/works` as `multipart/form-data`: the fields of [`NewWork`] plus an image file.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the OpenAPI document; the handler reads `setup::WorkUpload`.
pub struct NewWorkUpload {
    title: String,
    author: String,
    /// Where the work is published: only on a verified channel of yours, inside its domain.
    source_url: Option<String>,
    /// One of your channels.
    channel: Option<String>,
    /// The text or HTML (optional when an image is given).
    content: Option<String>,
    /// An image file (JPEG, PNG, WebP, GIF), at most 12 MB.
    #[schema(value_type = String, format = Binary)]
    image: Option<Vec<u8>>,
}

/// `POST /api/v1/works` with a multipart body (documented on [`post_work`]).
async fn post_work_upload(
    state: State,
    req: HttpRequest,
    form: actix_multipart::form::MultipartForm<super::setup::WorkUpload>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder]).await?;
    let work = form.into_inner().into_work(&state, &u.id).await?;
    let (w, new) = register(&state, work).await?;
    let dto = work_dto(&state.config.public_url, w);
    Ok(if new { HttpResponse::Created().json(dto) } else { HttpResponse::Ok().json(dto) })
}

/// Whether a request's body is `multipart/form-data`.
fn is_multipart(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

#[utoipa::path(get, path = "/api/v1/works/{id}", tag = "works",
    responses((status = 200, body = WorkDto), (status = 404, body = ErrorBody)))]
async fn get_work(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let u = super::auth::require_for_record(&state, &req, &[Role::Holder], "work").await?;
    let id = WorkId::new(path.into_inner()).map_err(|_| ApiError::not_found("work"))?;
    let w = db(&state, move |s| Ok(s.work(&id)?)).await?;
    let w = w.filter(|w| w.owner == u.id).ok_or_else(|| ApiError::not_found("work"))?;
    Ok(HttpResponse::Ok().json(work_dto(&state.config.public_url, w)))
}

/// An offer.
#[derive(Serialize, ToSchema)]
pub struct OfferDto {
    id: String,
    /// `channel:ID` or `work:ID`.
    target: String,
    free: bool,
    price_minor: i64,
    currency: String,
    price: String,
    /// The terms in plain words.
    rules: Vec<String>,
    /// ODRL 2.2 JSON-LD.
    odrl: serde_json::Value,
}

fn offer_dto(o: Offer) -> OfferDto {
    OfferDto {
        id: o.id.to_string(),
        target: match &o.target {
            OfferTarget::Channel(c) => format!("channel:{c}"),
            OfferTarget::Work(w) => format!("work:{w}"),
        },
        free: o.is_free(),
        price_minor: o.price.amount.minor(),
        currency: o.price.currency.code().into(),
        price: price_label(&o),
        rules: offer_rules(&o),
        odrl: o.to_odrl(None),
    }
}

/// A page of offers.
#[derive(Serialize, ToSchema)]
pub struct OfferPage {
    items: Vec<OfferDto>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/offers", tag = "offers", params(PageQuery),
    responses((status = 200, body = OfferPage), (status = 401, body = ErrorBody)))]
async fn list_offers(state: State, req: HttpRequest, q: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let (cursor, limit) = q.parts()?;
    let offers = db(&state, move |s| Ok(s.offers_of(&u.id, &cursor, limit)?)).await?;
    Ok(HttpResponse::Ok().json(page(offers, limit, |o| o.id.to_string(), offer_dto)))
}

/// A new offer from a preset.
#[derive(Deserialize, ToSchema)]
pub struct NewOffer {
    /// `free_attribution`, `standard_reprint` or `commercial`.
    #[schema(pattern = "^(free_attribution|standard_reprint|commercial)$")]
    preset: String,
    /// A channel of yours (the offer covers everything published there)…
    channel: Option<String>,
    /// …or one work of yours.
    work: Option<String>,
    /// Price in minor units (0 for the free preset).
    #[serde(default)]
    price_minor: i64,
    /// ISO 4217, default CNY.
    currency: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/offers", tag = "offers", request_body = NewOffer,
    responses((status = 201, body = OfferDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn post_offer(state: State, req: HttpRequest, body: web::Json<NewOffer>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder]).await?;
    let target = match (&body.channel, &body.work) {
        (Some(c), None) => OfferTarget::Channel(owned_channel(&state, &u.id, c).await?.id),
        (None, Some(w)) => {
            let id = WorkId::new(w.as_str()).map_err(|_| ApiError::not_found("work"))?;
            let found = db(&state, move |s| Ok(s.work(&id)?)).await?;
            OfferTarget::Work(found.filter(|w| w.owner == u.id).ok_or_else(|| ApiError::not_found("work"))?.id)
        }
        _ => return Err(ApiError::invalid("give exactly one of channel and work")),
    };
    let currency =
        Currency::parse(body.currency.as_deref().unwrap_or("CNY")).map_err(|e| ApiError::invalid(e.to_string()))?;
    let offer = preset(&body.preset, &u.id, target, body.price_minor, currency)?;
    publish(&state, offer.clone()).await?;
    Ok(HttpResponse::Created().json(offer_dto(offer)))
}

/// A licence.
#[derive(Serialize, ToSchema)]
pub struct LicenceDto {
    id: String,
    work: String,
    offer: String,
    holder: String,
    licensee: String,
    licensee_name: String,
    /// Where use is allowed, in words.
    scope: String,
    /// `free`, `held`, `frozen`, `settled` or `refunded`.
    status: String,
    price_minor: i64,
    currency: String,
    valid_from: String,
    valid_until: Option<String>,
    hold_until: String,
    invoice: Option<String>,
    letter_url: String,
}

fn licence_dto(l: Licence) -> LicenceDto {
    LicenceDto {
        letter_url: format!("/dashboard/licences/{}/letter.jws", l.id),
        id: l.id.to_string(),
        work: l.work.to_string(),
        offer: l.offer.id.to_string(),
        holder: l.holder.to_string(),
        licensee: l.licensee.to_string(),
        licensee_name: l.licensee_name,
        scope: l.scope.describe(),
        status: l.status.as_str().into(),
        price_minor: l.price.amount.minor(),
        currency: l.price.currency.code().into(),
        valid_from: l.valid_from.to_string(),
        valid_until: l.valid_until.map(|t| t.to_string()),
        hold_until: l.hold_until.to_string(),
        invoice: l.invoice.map(|i| i.to_string()),
    }
}

/// A page of licences.
#[derive(Serialize, ToSchema)]
pub struct LicencePage {
    items: Vec<LicenceDto>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/licences", tag = "licences", params(PageQuery),
    description = "Licences you granted (rights holders) or hold (everyone else).",
    responses((status = 200, body = LicencePage), (status = 401, body = ErrorBody)))]
async fn list_licences(state: State, req: HttpRequest, q: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, ALL).await?;
    let (cursor, limit) = q.parts()?;
    let ls = db(&state, move |s| {
        Ok(if u.role == Role::Holder {
            s.licences_granted(&u.id, &cursor, limit)?
        } else {
            s.licences_held(&u.id, &cursor, limit)?
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page(ls, limit, |l| l.id.to_string(), licence_dto)))
}

#[utoipa::path(get, path = "/api/v1/licences/{id}", tag = "licences",
    responses((status = 200, body = LicenceDto), (status = 404, body = ErrorBody)))]
async fn get_licence(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, ALL).await?;
    let id = LicenceId::new(path.into_inner()).map_err(|_| ApiError::not_found("licence"))?;
    let l = db(&state, move |s| Ok(s.licence(&id)?)).await?;
    let l = l.filter(|l| visible_to(&u, l)).ok_or_else(|| ApiError::not_found("licence"))?;
    Ok(HttpResponse::Ok().json(licence_dto(l)))
}

fn visible_to(u: &User, l: &Licence) -> bool {
    l.licensee == u.id || l.holder == u.id || u.role == Role::Admin
}

/// A checkout session to open for the signed-in user.
#[derive(Deserialize, ToSchema)]
pub struct NewCheckout {
    work: String,
    offer: String,
    /// The URL or domain the licence will cover.
    #[schema(max_length = 300, pattern = "^(https?://)?[^\\s/.]+(\\.[^\\s/.]+)+(/\\S*)?$")]
    use_url: String,
    /// The kind of place: `web` (default; `use_url` is a URL or domain), `wechat` (an article link
    /// with `__biz=` or the `__biz`), `weibo` (a profile or post link, or the UID) or `app` (a package
    /// or bundle id).
    place: Option<String>,
    /// The account's or app's display name, for platform places.
    place_name: Option<String>,
    /// Name on the letter (default: your account name).
    name: Option<String>,
}

/// A checkout session.
#[derive(Serialize, ToSchema)]
pub struct CheckoutDto {
    id: String,
    /// `open`, `licensed`, `declined` or `failed`.
    status: String,
    /// Where to send the buyer to pay (absent for free offers, which are licensed at once).
    payment_url: Option<String>,
    /// Poll this for the outcome.
    status_url: String,
    licence: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/checkout-sessions", tag = "checkout", request_body = NewCheckout,
    responses((status = 201, body = CheckoutDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn post_checkout(state: State, req: HttpRequest, body: web::Json<NewCheckout>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, ALL).await?;
    let scope = super::checkout::parse_place(
        body.place.as_deref().unwrap_or("web"),
        &body.use_url,
        body.place_name.as_deref().unwrap_or(""),
    )
    .map_err(ApiError::invalid)?;
    let work = WorkId::new(body.work.as_str()).map_err(|_| ApiError::not_found("work"))?;
    let offer = OfferId::new(body.offer.as_str()).map_err(|_| ApiError::not_found("offer"))?;
    let name = body.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| u.name.clone());
    // The licence mail goes in the caller's language (Accept-Language or the language cookie).
    let lang = super::lang_of(&req);
    let now = state.now();
    let st = state.clone();
    // A signed-in buyer proved the account is theirs; nothing to confirm by mail.
    let order = crate::services::checkout::Order {
        work,
        offer,
        buyer: u,
        buyer_name: name,
        scope,
        confirm_by_email: false,
        settlement: None,
    };
    let (c, payment) = db(&state, move |s| {
        Ok(crate::services::checkout::open_checkout_in(&st.checkout_context(), s, order, Some(lang), now)?)
    })
    .await?;
    let base = &state.config.public_url;
    Ok(HttpResponse::Created().json(CheckoutDto {
        status: c.status.as_str().into(),
        payment_url: payment.map(|url| if url.starts_with('/') { format!("{base}{url}") } else { url }),
        status_url: format!("{base}/api/v1/checkout/{}", c.id),
        licence: c.licence.map(|l| l.to_string()),
        id: c.id,
    }))
}

/// What to check against registered works.
#[derive(Deserialize, ToSchema)]
pub struct MatchRequest {
    /// `html` (a page), `text`, or `image` (then `content` is the file, base64-encoded).
    #[schema(pattern = "^(html|text|image)$")]
    kind: String,
    /// The page, the text, or the base64 of the image file.
    content: String,
}

/// One registered work found in the submitted content.
#[derive(Serialize, ToSchema)]
pub struct MatchHitDto {
    /// The work's id.
    work: String,
    /// Its title.
    title: String,
    /// `text` or `image`.
    kind: String,
    /// The kind of copy: `full`, `excerpt`, `near-duplicate`, or the image signal that matched.
    copy: String,
    /// 0..1: the share of the work found (text), or the engine's confidence (image).
    score: f32,
}

/// The works the content copies, best first.
#[derive(Serialize, ToSchema)]
pub struct MatchResult {
    /// Hits, best first.
    hits: Vec<MatchHitDto>,
}

/// Checks a page, a text or an image against registered works: a rights holder's own works, or every
/// work for an administrator.
#[utoipa::path(post, path = "/api/v1/match", tag = "works", request_body = MatchRequest,
    responses((status = 200, body = MatchResult), (status = 400, body = ErrorBody)))]
async fn post_match(state: State, req: HttpRequest, body: web::Json<MatchRequest>) -> Result<HttpResponse, ApiError> {
    use crate::monitor::{KindHint, Scope};
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let scope = if u.role == Role::Admin { Scope::All } else { Scope::Owner(u.id.clone()) };
    let body = body.into_inner();
    let (hint, bytes) = match body.kind.as_str() {
        "html" => (KindHint::Html, body.content.into_bytes()),
        "text" => (KindHint::Text, body.content.into_bytes()),
        "image" => {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.content.trim())
                .map_err(|_| ApiError::invalid("content must be the image file in base64"))?;
            (KindHint::Image, bytes)
        }
        _ => return Err(ApiError::invalid("kind must be html, text or image")),
    };
    if bytes.is_empty() {
        return Err(ApiError::invalid("content is empty"));
    }
    let st = state.clone();
    let hits = db(&state, move |s| {
        let monitor = st.monitor.read().unwrap_or_else(|p| p.into_inner());
        monitor.match_bytes(s, &bytes, hint, &scope).map_err(|e| ApiError::invalid(format!("not matchable: {e}")))
    })
    .await?;
    let hits = hits
        .into_iter()
        .map(|h| MatchHitDto {
            work: h.work.to_string(),
            title: h.title,
            kind: h.kind.as_str().to_owned(),
            copy: h.copy.to_owned(),
            score: h.score,
        })
        .collect();
    Ok(HttpResponse::Ok().json(MatchResult { hits }))
}

/// Money of a rights holder by stage, and licences per day.
#[derive(Serialize, ToSchema)]
pub struct Statement {
    /// Per currency: held in escrow, settled, paid out (net, minor units).
    earnings: Vec<serde_json::Value>,
    /// The last 30 days.
    per_day: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/api/v1/ledger/statement", tag = "ledger",
    responses((status = 200, body = Statement), (status = 403, body = ErrorBody)))]
async fn statement(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let now = state.now();
    let (e, d) = db(&state, move |s| Ok((s.earnings(&u.id)?, s.licences_per_day(Some(&u.id), now, 30)?))).await?;
    let earnings = e.iter().map(serde_json::to_value).collect::<Result<_, _>>().map_err(ApiError::internal)?;
    let per_day = d.iter().map(serde_json::to_value).collect::<Result<_, _>>().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(Statement { earnings, per_day }))
}

/// A hit: a registered work found on a crawled page.
#[derive(Serialize, ToSchema)]
pub struct HitDto {
    /// Row id; newest hits have the largest.
    id: i64,
    /// The work found.
    work: String,
    /// The work's rights holder.
    owner: String,
    /// The page showing the copy.
    page_url: String,
    /// The page's host.
    domain: String,
    /// The page's title as crawled (untrusted text: escape it).
    title: String,
    /// `text` or `image`.
    kind: String,
    /// The image's own URL, for an image hit.
    image_url: Option<String>,
    /// The kind of copy: `full`, `excerpt`, `near-duplicate`, or the image signal that matched.
    copy: String,
    /// 0..1: the share of the work found (text) or the engine's confidence (image).
    score: f64,
    /// 0..1: the share of the page the work explains (text; 0 for images).
    page_coverage: f64,
    /// Matched spans `[[page_start, page_end, work_start, work_end], …]` (text) or the image signal.
    #[schema(value_type = Object)]
    evidence: serde_json::Value,
    /// `white` (licensed) or `black` (unlicensed).
    colour: String,
    /// `licence`, `own_channel`, `allowlist` or `unlicensed`.
    reason: String,
    /// The licence id, channel id or allowlist entry id behind the reason (empty when unlicensed).
    reason_ref: String,
    /// The reason in plain words.
    reason_text: String,
    /// `crawl`, `warc` or `retro`.
    source: String,
    first_seen: String,
    last_seen: String,
}

fn hit_dto(
    h: crate::store::monitoring::HitRow,
    patterns: &std::collections::HashMap<i64, String>,
    admin: bool,
) -> HitDto {
    HitDto {
        reason_text: super::monitoring::reason_words(&h, patterns, admin),
        evidence: serde_json::from_str(&h.evidence).unwrap_or(serde_json::Value::String(h.evidence.clone())),
        id: h.id,
        work: h.work.to_string(),
        owner: h.owner.to_string(),
        page_url: h.page_url,
        domain: h.domain,
        title: h.title,
        kind: h.kind,
        image_url: h.image_url,
        copy: h.copy,
        score: h.score,
        page_coverage: h.page_coverage,
        colour: h.colour,
        reason: h.reason.as_str().into(),
        reason_ref: h.reason_ref,
        source: h.source,
        first_seen: h.first_seen.to_string(),
        last_seen: h.last_seen.to_string(),
    }
}

/// A page of hits, newest first.
#[derive(Serialize, ToSchema)]
pub struct HitList {
    hits: Vec<HitDto>,
    /// Pass as `before` for the next (older) page; null on the last page.
    next: Option<i64>,
}

/// Hits of your works (rights holders) or of every work (administrators), newest first, keyset-paged.
#[utoipa::path(get, path = "/api/v1/hits", tag = "monitoring", params(super::monitoring::HitQuery),
    responses((status = 200, body = HitList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_hits(
    state: State,
    req: HttpRequest,
    q: web::Query<super::monitoring::HitQuery>,
) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let admin = u.role == Role::Admin;
    let (filter, limit) = q.filter(&u)?;
    let (rows, next, patterns) = db(&state, move |s| {
        let (rows, next) = super::monitoring::hit_page(s, &filter, limit)?;
        let patterns = super::monitoring::allow_patterns(s, &rows)?;
        Ok((rows, next, patterns))
    })
    .await?;
    let hits = rows.into_iter().map(|h| hit_dto(h, &patterns, admin)).collect();
    Ok(HttpResponse::Ok().json(HitList { hits, next }))
}

#[utoipa::path(get, path = "/api/v1/hits/{id}", tag = "monitoring",
    responses((status = 200, body = HitDto), (status = 404, body = ErrorBody)))]
async fn get_hit(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let u = super::auth::require_for_record(&state, &req, &[Role::Holder, Role::Admin], "hit").await?;
    let admin = u.role == Role::Admin;
    let id = path.parse::<i64>().map_err(|_| ApiError::not_found("hit"))?;
    let found = db(&state, move |s| {
        // Another holder's hit answers exactly like a missing one.
        let Some(h) = s.hit(id)?.filter(|h| admin || h.owner == u.id) else { return Ok(None) };
        let patterns = super::monitoring::allow_patterns(s, std::slice::from_ref(&h))?;
        Ok(Some((h, patterns)))
    })
    .await?;
    let (h, patterns) = found.ok_or_else(|| ApiError::not_found("hit"))?;
    Ok(HttpResponse::Ok().json(hit_dto(h, &patterns, admin)))
}

/// What a monitoring job crawls.
#[derive(Serialize, ToSchema)]
pub struct JobSpecDto {
    seeds: Vec<String>,
    sitemaps: Vec<String>,
    feeds: Vec<String>,
    /// Hosts the crawl may visit.
    hosts: Vec<String>,
    /// Path prefixes pages must start with (empty: any).
    path_prefixes: Vec<String>,
    max_pages: usize,
    max_depth: u32,
    fetch_images: bool,
}

/// A monitoring job.
#[derive(Serialize, ToSchema)]
pub struct JobDto {
    id: String,
    name: String,
    /// The rights holder who submitted it as a suspect site; null when an administrator made it.
    submitted_by: Option<String>,
    /// `pending`, `active`, `paused` or `rejected`.
    status: String,
    /// Whether a run is in progress.
    running: bool,
    /// Re-run interval in minutes; null runs once.
    interval_minutes: Option<i64>,
    next_run_at: Option<String>,
    last_started: Option<String>,
    last_finished: Option<String>,
    /// The last run's pages fetched, errors and hits.
    last_pages: i64,
    last_errors: i64,
    last_hits: i64,
    /// Why the last run failed (null when it finished); the scheduler tries again after 15 minutes,
    /// doubling with each failure in a row up to a day.
    last_error: Option<String>,
    /// Runs that failed in a row.
    failures: u32,
    created_at: String,
    spec: Option<JobSpecDto>,
}

fn job_dto(j: crate::store::monitoring::JobRow) -> JobDto {
    let spec = crate::services::jobs::spec_of(&j).ok().map(|s| JobSpecDto {
        seeds: s.seeds,
        sitemaps: s.sitemaps,
        feeds: s.feeds,
        hosts: s.hosts,
        path_prefixes: s.path_prefixes,
        max_pages: s.max_pages,
        max_depth: s.max_depth,
        fetch_images: s.fetch_images,
    });
    JobDto {
        spec,
        submitted_by: j.submitted_by.map(|p| p.to_string()),
        interval_minutes: j.interval_ms.map(|ms| ms / 60_000),
        next_run_at: j.next_run_at.map(|t| t.to_string()),
        last_started: j.last_started.map(|t| t.to_string()),
        last_finished: j.last_finished.map(|t| t.to_string()),
        last_pages: j.last_counts.0,
        last_errors: j.last_counts.1,
        last_hits: j.last_counts.2,
        last_error: j.last_error,
        failures: j.failures,
        created_at: j.created_at.to_string(),
        running: j.running,
        status: j.status,
        name: j.name,
        id: j.id,
    }
}

/// Monitoring jobs.
#[derive(Serialize, ToSchema)]
pub struct JobList {
    items: Vec<JobDto>,
}

/// A new monitoring job. From a rights holder it is a suspect site: `pending` until an administrator
/// approves it, run once, at most 1000 pages and depth 5.
#[derive(Deserialize, ToSchema)]
pub struct NewJob {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Start pages (http or https).
    #[serde(default)]
    seeds: Vec<String>,
    #[serde(default)]
    sitemaps: Vec<String>,
    #[serde(default)]
    feeds: Vec<String>,
    /// Hosts the crawl may visit (default: the hosts of the seeds, sitemaps and feeds).
    #[serde(default)]
    hosts: Vec<String>,
    /// Path prefixes, each starting with `/` (default: any path).
    #[serde(default)]
    path_prefixes: Vec<String>,
    /// Page budget per run (default 200 for a holder, 1000 for an administrator).
    max_pages: Option<usize>,
    /// Link depth budget (default 2 for a holder, 3 for an administrator).
    max_depth: Option<u32>,
    /// Re-run every this many minutes (administrators; at least 1); absent runs once.
    #[schema(minimum = 1)]
    interval_minutes: Option<i64>,
    /// Whether to fetch and match embedded images (default true).
    fetch_images: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "monitoring",
    description = "Every job (administrators) or your suspect-site submissions (rights holders).",
    responses((status = 200, body = JobList), (status = 403, body = ErrorBody)))]
async fn list_jobs(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let actor = super::monitoring::actor_of(&u);
    let rows = db(&state, move |s| Ok(crate::services::jobs::list(s, &actor)?)).await?;
    Ok(HttpResponse::Ok().json(JobList { items: rows.into_iter().map(job_dto).collect() }))
}

#[utoipa::path(post, path = "/api/v1/jobs", tag = "monitoring", request_body = NewJob,
    responses((status = 201, body = JobDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn post_job(state: State, req: HttpRequest, body: web::Json<NewJob>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let b = body.into_inner();
    let interval_ms = match b.interval_minutes {
        None => None,
        Some(m @ 1..=527_040) => Some(m * 60_000),
        Some(_) => return Err(ApiError::invalid("interval_minutes must be 1 to 527040 (a year)")),
    };
    let input = super::monitoring::JobInput {
        name: b.name,
        seeds: b.seeds,
        sitemaps: b.sitemaps,
        feeds: b.feeds,
        hosts: b.hosts,
        path_prefixes: b.path_prefixes,
        max_pages: b.max_pages,
        max_depth: b.max_depth,
        interval_ms,
        fetch_images: b.fetch_images,
    };
    let job = super::monitoring::create_job(&state, &u, input).await?;
    Ok(HttpResponse::Created().json(job_dto(job)))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "monitoring",
    responses((status = 200, body = JobDto), (status = 404, body = ErrorBody)))]
async fn get_job(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let u = super::auth::require_for_record(&state, &req, &[Role::Holder, Role::Admin], "monitoring job").await?;
    let actor = super::monitoring::actor_of(&u);
    let id = path.into_inner();
    let job = db(&state, move |s| Ok(crate::services::jobs::get(s, &actor, &id)?)).await?;
    Ok(HttpResponse::Ok().json(job_dto(job)))
}

/// An administrator's decision on a job.
#[derive(Deserialize, ToSchema)]
pub struct JobDecision {
    /// `approve` (also resumes a paused job), `pause` or `reject`.
    #[schema(pattern = "^(approve|pause|reject)$")]
    decision: String,
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/decision", tag = "monitoring", request_body = JobDecision,
    description = "Administrators only.",
    responses((status = 200, body = JobDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn post_job_decision(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<JobDecision>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    require(&state, &req, &[Role::Admin]).await?;
    let job = super::monitoring::decide_job(&state, path.into_inner(), &body.decision).await?;
    Ok(HttpResponse::Ok().json(job_dto(job)))
}

#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "monitoring", description = "Administrators only.",
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the job is running")))]
async fn delete_job(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    require(&state, &req, &[Role::Admin]).await?;
    super::monitoring::delete_job(&state, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An allowlist entry: a domain or URL prefix licensed outside the platform, whose hits are white.
#[derive(Serialize, ToSchema)]
pub struct AllowDto {
    id: i64,
    /// `domain` (the host and its subdomains) or `url_prefix`.
    kind: String,
    pattern: String,
    note: String,
    created_at: String,
}

/// Your allowlist.
#[derive(Serialize, ToSchema)]
pub struct AllowList {
    items: Vec<AllowDto>,
}

/// A new allowlist entry.
#[derive(Deserialize, ToSchema)]
pub struct NewAllow {
    /// A domain (`partner.example.com`) or a URL prefix (`https://partner.example.com/reprints/`).
    #[schema(min_length = 1, max_length = 2000)]
    pattern: String,
    /// Contract number, partner name.
    #[schema(max_length = 200)]
    #[serde(default)]
    note: String,
}

/// What an allowlist change did.
#[derive(Serialize, ToSchema)]
pub struct AllowChange {
    /// The entry added or removed.
    id: i64,
    /// Hits whose colour or reason changed as a result.
    recoloured: usize,
}

#[utoipa::path(get, path = "/api/v1/allowlist", tag = "monitoring",
    responses((status = 200, body = AllowList), (status = 403, body = ErrorBody)))]
async fn list_allow(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let entries = db(&state, move |s| Ok(s.allowlist(&u.id)?)).await?;
    let items = entries
        .into_iter()
        .map(|e| AllowDto {
            id: e.id,
            kind: e.kind,
            pattern: e.pattern,
            note: e.note,
            created_at: e.created_at.to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AllowList { items }))
}

#[utoipa::path(post, path = "/api/v1/allowlist", tag = "monitoring", request_body = NewAllow,
    responses((status = 201, body = AllowChange), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn post_allow(state: State, req: HttpRequest, body: web::Json<NewAllow>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = require(&state, &req, &[Role::Holder]).await?;
    let (id, recoloured) = super::monitoring::add_allow(&state, u.id, &body.pattern, &body.note).await?;
    Ok(HttpResponse::Created().json(AllowChange { id, recoloured }))
}

#[utoipa::path(delete, path = "/api/v1/allowlist/{id}", tag = "monitoring",
    responses((status = 200, body = AllowChange), (status = 404, body = ErrorBody)))]
async fn delete_allow(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let u = super::auth::require_for_record(&state, &req, &[Role::Holder], "allowlist entry").await?;
    let id = path.parse::<i64>().map_err(|_| ApiError::not_found("allowlist entry"))?;
    let recoloured = super::monitoring::remove_allow(&state, u.id, id).await?;
    Ok(HttpResponse::Ok().json(AllowChange { id, recoloured }))
}

/// The generated OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Copyright Seal API",
        version = "1",
        description = "Channels, works, offers, licences, checkout, statements, monitoring (hits, jobs, allowlist), search, usage reports and team members."
    ),
    paths(
        me,
        list_channels,
        post_channel,
        get_channel,
        list_works,
        post_work,
        get_work,
        list_offers,
        post_offer,
        list_licences,
        get_licence,
        post_checkout,
        statement,
        post_match,
        list_hits,
        get_hit,
        list_jobs,
        post_job,
        get_job,
        post_job_decision,
        delete_job,
        list_allow,
        post_allow,
        delete_allow,
        super::seal::seal_json,
        super::seal::resolve,
        super::seal::odrl,
        super::checkout::status_json,
        super::checkout::receipt_json
    ),
    components(schemas(
        ErrorBody,
        Me,
        ChannelDto,
        ChannelPage,
        NewChannel,
        WorkDto,
        WorkPage,
        NewWork,
        NewWorkUpload,
        OfferDto,
        OfferPage,
        NewOffer,
        LicenceDto,
        LicencePage,
        NewCheckout,
        CheckoutDto,
        Statement,
        MatchRequest,
        MatchHitDto,
        MatchResult,
        HitDto,
        HitList,
        JobSpecDto,
        JobDto,
        JobList,
        NewJob,
        JobDecision,
        AllowDto,
        AllowList,
        NewAllow,
        AllowChange
    ))
)]
pub struct ApiDoc;

/// Errors any operation may answer, added to every operation of the generated document so clients
/// see them all: bad input, no session, wrong role or CSRF, unknown id, a domain refusal, rate limits.
const COMMON_ERRORS: &[(&str, &str)] = &[
    ("400", "invalid_input: a malformed query, body or value"),
    ("401", "unauthenticated: no session"),
    ("403", "forbidden or csrf: wrong role, or a write without X-CSRF-Token"),
    ("404", "not_found: unknown, or someone else's"),
    ("409", "conflict: a taken id or email address"),
    ("413", "the body is over the size limit"),
    ("422", "refused: the licensing rules do not allow it"),
    ("429", "rate_limited"),
];

/// The OpenAPI document: generated from the handlers, then the common errors added to each operation.
pub fn api_doc() -> &'static utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let mut doc = ApiDoc::openapi();
        doc.merge(super::rest_analysis::AnalysisDoc::openapi());
        doc.merge(super::cases::CasesDoc::openapi());
        for item in doc.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                for (code, description) in COMMON_ERRORS {
                    op.responses.responses.entry((*code).to_owned()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(*description)
                            .content(
                                "application/json",
                                ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                            )
                            .build()
                            .into()
                    });
                }
            }
        }
        doc
    })
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(api_doc())
}

async fn docs() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(include_str!("../../static/api-docs.html"))
}

/// An `/api/` request no route took: 405 with `Allow` when the path exists with other methods, else 404.
async fn not_found_api(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path: Vec<&str> = req.path().trim_end_matches('/').split('/').collect();
    let same_shape = |template: &str| {
        let t: Vec<&str> = template.split('/').collect();
        t.len() == path.len() && t.iter().zip(&path).all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
    };
    let allowed: Vec<&str> = api_doc()
        .paths
        .paths
        .iter()
        .filter(|(template, _)| same_shape(template))
        .flat_map(|(_, item)| {
            [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
        })
        .collect();
    if allowed.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint"));
    }
    let allow = allowed.join(", ");
    let body = serde_json::json!({"code": "method_not_allowed", "message": format!("use {allow}")});
    Ok(HttpResponse::MethodNotAllowed().insert_header((actix_web::http::header::ALLOW, allow)).json(body))
}

/// The REST routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/openapi.json", web::get().to(openapi))
        .route("/api/docs", web::get().to(docs))
        .route("/api/v1/me", web::get().to(me))
        .route("/api/v1/channels", web::get().to(list_channels))
        .route("/api/v1/channels", web::post().to(post_channel))
        .route("/api/v1/channels/{id}", web::get().to(get_channel))
        .service(
            web::resource("/api/v1/works")
                .app_data(super::setup::upload_config())
                .route(web::get().to(list_works))
                .route(web::post().guard(actix_web::guard::fn_guard(is_multipart)).to(post_work_upload))
                .route(web::post().to(post_work))
                .default_service(web::to(not_found_api)),
        )
        .route("/api/v1/works/{id}", web::get().to(get_work))
        .route("/api/v1/offers", web::get().to(list_offers))
        .route("/api/v1/offers", web::post().to(post_offer))
        .route("/api/v1/licences", web::get().to(list_licences))
        .route("/api/v1/licences/{id}", web::get().to(get_licence))
        .route("/api/v1/checkout-sessions", web::post().to(post_checkout))
        .route("/api/v1/ledger/statement", web::get().to(statement))
        .route("/api/v1/hits", web::get().to(list_hits))
        .route("/api/v1/hits/{id}", web::get().to(get_hit))
        .route("/api/v1/jobs", web::get().to(list_jobs))
        .route("/api/v1/jobs", web::post().to(post_job))
        .route("/api/v1/jobs/{id}", web::get().to(get_job))
        .route("/api/v1/jobs/{id}", web::delete().to(delete_job))
        .route("/api/v1/jobs/{id}/decision", web::post().to(post_job_decision))
        .route("/api/v1/allowlist", web::get().to(list_allow))
        .route("/api/v1/allowlist", web::post().to(post_allow))
        .route("/api/v1/allowlist/{id}", web::delete().to(delete_allow))
        .service(
            // Pages and base64 images are larger than the default body limit.
            web::resource("/api/v1/match")
                .app_data(
                    web::JsonConfig::default()
                        .limit(12 * 1024 * 1024)
                        .error_handler(|e, _| ApiError::invalid(format!("JSON body: {e}")).into()),
                )
                .app_data(web::PayloadConfig::new(12 * 1024 * 1024))
                .route(web::post().to(post_match))
                .default_service(web::to(not_found_api)),
        );
}

/// Unknown `/api/` paths answer JSON, not the HTML 404 page. Registered after every other route.
pub fn configure_fallback(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/{tail:.*}", web::route().to(not_found_api));
}
