//! Licence checkout: Get licence → choose an offer → say who you are (account or guest email) → say
//! where you will use the work → pay → download the letter and receipt.
//!
//! The use cases (open, confirm, fulfil, apply a provider's event) are `services::checkout`; this
//! module holds the pages, forms, the generic webhook route and the downloads.
//!
//! The pages speak the request's language; the checkout hands it to the use cases so that the mails
//! they write later (from a payment webhook, say) reach the buyer in it too.

use super::auth::{check_csrf, csrf_page, current_user};
use super::error::ApiError;
use super::{db, render, AppState, State};
use crate::i18n::Lang;
use crate::services::checkout::{self, CheckoutError, Order};
use crate::store::platform::{Checkout, CheckoutStatus, Role, User};
use crate::store::prelude::*;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{LicenceId, OfferId, WorkId};
use seal_licensing::licence::UseScope;
use serde::Deserialize;
use std::sync::atomic::Ordering::Relaxed;

/// Query of the checkout page.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// The work.
    pub work: String,
}

/// One offer as the checkout page lists it.
pub struct OfferChoice {
    id: String,
    price: String,
    free: bool,
    rules: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    /// The page language.
    l: crate::i18n::Lang,
    work_id: String,
    title: String,
    /// Title, author and rights holder, written the language's way.
    work_line: String,
    offers: Vec<OfferChoice>,
    csrf: String,
    user: Option<User>,
    error: Option<String>,
    /// What the buyer typed, kept when a submission is refused.
    kept: Kept,
    /// The places a buyer can choose: form value and words.
    places: Vec<(&'static str, String)>,
}

/// The checkout form's values shown again after a refusal, and whether the buyer must confirm a
/// second licence for a place they already hold one for.
#[derive(Debug, Default)]
struct Kept {
    offer: String,
    place: String,
    use_url: String,
    place_name: String,
    email: String,
    name: String,
    /// The buyer already holds a licence in force for this work and place: the page asks again.
    again: Option<String>,
}

async fn checkout_page(state: State, req: HttpRequest, q: web::Query<StartQuery>) -> Result<HttpResponse, ApiError> {
    show_checkout(&state, &req, &q.work, None, Kept::default()).await
}

/// The checkout form, with `error` (already in the page's language) when a submission was refused.
async fn show_checkout(
    state: &State,
    req: &HttpRequest,
    work: &str,
    error: Option<String>,
    kept: Kept,
) -> Result<HttpResponse, ApiError> {
    let l = super::lang_of(req);
    let v = state
        .seals
        .get(work)
        .and_then(|e| e.view())
        .ok_or_else(|| ApiError::not_found(format!("work {work}")).page())?;
    let work_id = WorkId::new(work).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let now = state.now();
    let offers = db(state, move |s| {
        let w = s.work(&work_id)?.ok_or_else(|| ApiError::not_found("work"))?;
        let mut offers = s.offers_of(&w.owner, "", 500)?;
        offers.retain(|o| o.covers(&w) && o.is_open(now));
        Ok(offers)
    })
    .await
    .map_err(ApiError::page)?;
    let offers = offers
        .iter()
        .map(|o| OfferChoice { id: o.id.to_string(), price: l.price(o), free: o.is_free(), rules: l.offer_rules(o) })
        .collect();
    let user = current_user(state, req).await?;
    let failed = error.is_some() || kept.again.is_some();
    let places = ["web", "wechat", "weibo", "app"].into_iter().map(|p| (p, l.t(&format!("co-place-{p}")))).collect();
    // Works registered on first view name the holder as their author: say the name once.
    let work_line = if v.work.author.trim().is_empty() || v.work.author == v.holder.name {
        l.args("co-work-line-holder", &[("title", v.work.title.as_str().into()), ("holder", v.holder.name.into())])
    } else {
        l.args(
            "co-work-line",
            &[
                ("title", v.work.title.as_str().into()),
                ("author", v.work.author.into()),
                ("holder", v.holder.name.into()),
            ],
        )
    };
    let mut resp = csrf_page(req, state, |csrf| CheckoutPage {
        l,
        work_id: work.to_owned(),
        title: v.work.title,
        work_line,
        offers,
        csrf,
        user,
        error,
        kept,
        places,
    })?;
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

/// The checkout form.
#[derive(Debug, Deserialize)]
pub struct CheckoutForm {
    csrf: String,
    work: String,
    offer: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    use_url: String,
    /// `web` (the default), `wechat`, `weibo` or `app`.
    #[serde(default)]
    place: String,
    /// The account's or app's display name, for platform places.
    #[serde(default)]
    place_name: String,
    /// Set when the buyer confirmed a second licence for a place already licensed to them.
    #[serde(default)]
    again: Option<String>,
}

impl CheckoutForm {
    fn kept(&self) -> Kept {
        Kept {
            offer: self.offer.clone().unwrap_or_default(),
            place: self.place.clone(),
            use_url: self.use_url.clone(),
            place_name: self.place_name.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            again: None,
        }
    }
}

/// Why typed text is not a scope: an invalid-input error with its catalogue key. It also converts to
/// its English message, which is all the JSON API needs.
#[derive(Debug)]
pub struct ScopeError(pub ApiError);

impl From<ScopeError> for String {
    fn from(e: ScopeError) -> String {
        e.0.message
    }
}

/// Turns what the buyer typed into a scope: a bare domain covers the domain, anything with a path
/// covers URLs under that prefix.
pub fn parse_scope(text: &str) -> Result<UseScope, ScopeError> {
    let t = text.trim();
    let rest = t.split_once("://").map_or(t, |(_, r)| r);
    if rest.is_empty() || rest.len() > 300 || rest.chars().any(char::is_whitespace) {
        return Err(ScopeError(
            ApiError::invalid("enter the URL or domain where you will use the work")
                .keyed("co-error-scope-missing", &[]),
        ));
    }
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = host.contains('.')
        && host.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == ':'));
    if !host_ok {
        return Err(ScopeError(
            ApiError::invalid(format!("{host:?} is not a domain name")).keyed("co-error-scope-host", &[("host", host)]),
        ));
    }
    let host = host.to_lowercase();
    Ok(if path.trim_end_matches('/').is_empty() {
        UseScope::Domain(host)
    } else {
        UseScope::UrlPrefix(format!("{host}{path}"))
    })
}

/// Turns the place the buyer chose (`web`, `wechat`, `weibo`, `app`) and what they typed into a scope.
pub fn parse_place(place: &str, text: &str, name: &str) -> Result<UseScope, ScopeError> {
    use seal_licensing::licence::PlaceError;
    let parsed = match place {
        "" | "web" => return parse_scope(text),
        "wechat" => UseScope::wechat(text, name),
        "weibo" => UseScope::weibo(text, name),
        "app" => UseScope::app(text, name),
        _ => {
            return Err(ScopeError(
                ApiError::invalid("choose where you will use the work").keyed("co-error-place", &[]),
            ))
        }
    };
    if !name.trim().is_empty() {
        seal_licensing::offer::check_display_text("name", name.trim())
            .map_err(|e| ScopeError(ApiError::invalid(e.to_string()).keyed("co-error-place-name", &[])))?;
    }
    parsed.map_err(|e| {
        let key = match e {
            PlaceError::Missing => "co-error-place-missing",
            PlaceError::Wechat(_) => "co-error-wechat",
            PlaceError::Weibo(_) => "co-error-weibo",
            PlaceError::App(_) => "co-error-app",
        };
        ScopeError(ApiError::invalid(e.to_string()).keyed(key, &[("input", text.trim())]))
    })
}

/// A use case's error with its catalogue words kept, which the generic conversion drops.
fn keyed(e: CheckoutError) -> ApiError {
    match e {
        CheckoutError::Invalid(r) => {
            let key = r.key.clone();
            let mut err = ApiError::invalid(r);
            err.key = key;
            err
        }
        other => other.into(),
    }
}

async fn submit(state: State, req: HttpRequest, form: web::Form<CheckoutForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let f = form.into_inner();
    let lang = super::lang_of(&req);
    let fail = |e: ApiError| show_checkout(&state, &req, &f.work, Some(e.message_in(lang).0), f.kept());
    let Some(offer_id) = f.offer.clone().filter(|o| !o.is_empty()) else {
        return fail(ApiError::invalid("choose an offer").keyed("co-error-choose-offer", &[])).await;
    };
    let scope = match parse_place(&f.place, &f.use_url, &f.place_name) {
        Ok(s) => s,
        Err(ScopeError(e)) => return fail(e).await,
    };
    let signed_in = current_user(&state, &req).await?;
    let signed_in_buyer = signed_in.is_some();
    let (buyer, confirm_by_email) = match signed_in {
        Some(u) => (u, false),
        None if !guest_allowed(&state, &req, &f.email) => {
            return Err(super::auth::throttled().page());
        }
        None => match guest(&state, &f.email, &f.name).await {
            Ok(found) => found,
            Err(e) if e.status.is_client_error() => return fail(e).await,
            Err(e) => return Err(e.page()),
        },
    };
    let buyer_name = if f.name.trim().is_empty() { buyer.name.clone() } else { f.name.trim().to_owned() };
    let now = state.now();
    let work = WorkId::new(f.work.as_str()).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let offer = OfferId::new(offer_id).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    // Only a signed-in buyer is asked: telling whoever typed a guest's address that it already holds
    // a licence would leak the owner's purchases (that owner confirms by mail anyway).
    if signed_in_buyer && f.again.as_deref() != Some("yes") {
        let (w, b, sc) = (work.clone(), buyer.id.clone(), scope.clone());
        let held = db(&state, move |s| Ok(held_for_place(s, &w, &b, &sc, now)?)).await.map_err(ApiError::page)?;
        if let Some(licence) = held {
            let kept = Kept { again: Some(licence), ..f.kept() };
            return show_checkout(&state, &req, &f.work, None, kept).await;
        }
    }
    let st = state.clone();
    let order = Order { work, offer, buyer, buyer_name, scope, confirm_by_email, settlement: None };
    let created = db(&state, move |s| {
        checkout::open_checkout_in(&st.checkout_context(), s, order, Some(lang), now).map_err(keyed)
    })
    .await;
    let (checkout, payment) = match created {
        Ok(x) => x,
        Err(e) if e.status.is_client_error() => return fail(e).await,
        Err(e) => return Err(e.page()),
    };
    let location = payment.unwrap_or_else(|| format!("/checkout/{}", checkout.id));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

/// A licence in force that `buyer` already holds for `work` at exactly this place, if any: buying it
/// again is most likely a mistake, so the form asks first.
fn held_for_place(
    s: &crate::store::SqliteStore,
    work: &WorkId,
    buyer: &seal_licensing::ids::PartyId,
    scope: &UseScope,
    now: seal_licensing::Timestamp,
) -> Result<Option<String>, crate::store::StoreError> {
    use seal_licensing::licence::LicenceStatus;
    Ok(s.licences_of_work(work)?
        .into_iter()
        .find(|l| {
            l.licensee == *buyer
                && l.scope.key() == scope.key()
                && std::mem::discriminant(&l.scope) == std::mem::discriminant(scope)
                && !matches!(l.status, LicenceStatus::Refunded)
                && l.valid_until.is_none_or(|u| u > now)
        })
        .map(|l| l.id.as_str().to_owned()))
}

/// Guest checkouts send mail to the address typed in, so they are throttled per client address (10 an
/// hour) and per recipient (5 an hour): the form cannot be turned into a mail cannon.
pub fn guest_allowed(state: &AppState, req: &HttpRequest, email: &str) -> bool {
    let now = state.now().unix_ms();
    let ip = super::auth::client_ip(req, &state.config.trusted_proxies);
    state.limiter.allow(&format!("guest-ip:{ip}"), now, 10, 3_600_000)
        && state.limiter.allow(&format!("guest:{}", super::auth::normalise_email(email)), now, 5, 3_600_000)
}

/// The account a guest buys with: found by email, or created without a password. An address that
/// belongs to a full account must sign in first, so nobody buys into someone else's account.
/// Returns whether the address's owner must confirm the purchase first: the account existed before
/// (from an earlier guest purchase), so whoever typed the address now may not be its owner.
pub(crate) async fn guest(state: &State, email: &str, name: &str) -> Result<(User, bool), ApiError> {
    let e = email.trim().to_owned();
    let existing = db(state, move |s| Ok(s.user_by_email(&e)?)).await?;
    match existing {
        Some(u) if u.password_hash.is_some() => {
            Err(ApiError::invalid("that email address has an account: sign in first, then take the licence")
                .keyed("co-error-account-exists", &[]))
        }
        Some(u) => Ok((u, true)),
        None => {
            let name = if name.trim().is_empty() { email.split('@').next().unwrap_or("guest") } else { name };
            let user =
                super::auth::create_account(state, email.to_owned(), name.to_owned(), None, Role::Licensee).await?;
            Ok((user, false))
        }
    }
}

async fn webhook(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let provider = state.providers.get(&path).ok_or_else(|| ApiError::not_found("payment provider"))?;
    let name = provider.name();
    let sig = req.headers().get(provider.signature_header()).and_then(|v| v.to_str().ok());
    let now = state.now();
    let event = match provider.verify_webhook(sig, &body, now.unix_ms() / 1000) {
        Ok(e) => e,
        Err(e) => {
            state.metrics.webhooks_refused.fetch_add(1, Relaxed);
            tracing::warn!(error = %e, "webhook refused");
            return Err(ApiError::new(actix_web::http::StatusCode::BAD_REQUEST, "bad_webhook", e.to_string()));
        }
    };
    let st = state.clone();
    let replay = db(&state, move |s| {
        let first = s.record_webhook_event(&event.id, now)?;
        // Applying is idempotent too; a replay is applied again only if the first attempt failed
        // before the checkout ended, which the checkout's status tells.
        checkout::apply_event(&st.checkout_context(), s, name, &event, now)?;
        Ok(!first)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "received": true, "replay": replay })))
}

#[derive(askama::Template)]
#[template(path = "checkout_status.html")]
struct StatusPage {
    /// The page language.
    l: crate::i18n::Lang,
    c: Checkout,
    /// The work's title, quoted the language's way.
    quoted_title: String,
    /// The heading for the checkout's status (awaiting confirmation has its own).
    heading: String,
    /// The status in words; the element keeps the stored name in `data-status` for scripts.
    status: String,
    price: String,
    scope: String,
    pdf: bool,
    /// Waiting for the address owner's confirmation.
    awaiting: bool,
    /// The confirmation form: CSRF token and link token.
    confirm: Option<(String, String)>,
}

/// Reads a checkout, first asking the provider about an open one (recovers lost webhooks).
async fn poll(state: &State, id: String) -> Result<Checkout, ApiError> {
    let (st, now) = (state.clone(), state.now());
    db(state, move |s| Ok(checkout::refresh(&st.checkout_context(), s, &id, now)?)).await
}

/// The page the confirmation link opens: the order as it was entered, and a button (a POST, so that
/// mail scanners that follow links confirm nothing).
async fn confirm_page(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, token) = path.into_inner();
    let c = awaiting(&state, &id, &token).await.map_err(ApiError::page)?;
    let (csrf, set) = super::auth::csrf_token(&req, state.config.secure_cookies);
    let mut resp = status_response(&state, super::lang_of(&req), c, Some((csrf, token)))?;
    if let Some(cookie) = set {
        let _ = resp.add_cookie(&cookie);
    }
    Ok(resp)
}

/// The checkout a confirmation link names, if it is still waiting for that very token.
async fn awaiting(state: &State, id: &str, token: &str) -> Result<Checkout, ApiError> {
    let (id, token, now) = (id.to_owned(), token.to_owned(), state.now());
    db(state, move |s| Ok(checkout::awaiting_confirmation(s, &id, &token, now)?)).await
}

async fn confirm(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let (id, token) = path.into_inner();
    let (st, now, lang) = (state.clone(), state.now(), super::lang_of(&req));
    let (c, payment) =
        db(&state, move |s| Ok(checkout::confirm(&st.checkout_context(), s, &id, &token, Some(lang), now)?))
            .await
            .map_err(ApiError::page)?;
    let location = payment.unwrap_or_else(|| format!("/checkout/{}", c.id));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

async fn status_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = poll(&state, path.into_inner()).await.map_err(ApiError::page)?;
    status_response(&state, super::lang_of(&req), c, None)
}

/// The checkout's page; with `confirm` (CSRF token, link token) it carries the confirmation button.
fn status_response(
    state: &State,
    l: Lang,
    c: Checkout,
    confirm: Option<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let title = state.seals.get(c.work.as_str()).and_then(|e| e.view()).map(|v| v.work.title).unwrap_or_default();
    let price = if c.amount_minor == 0 { l.t("free") } else { l.money(c.amount_minor, &c.currency) };
    let (heading, status) = match c.status {
        CheckoutStatus::Open => (l.t("co-heading-open"), l.t("co-status-open")),
        CheckoutStatus::Licensed => (l.t("co-heading-licensed"), l.t("co-status-licensed")),
        CheckoutStatus::Declined => (l.t("co-heading-declined"), l.t("co-status-declined")),
        CheckoutStatus::Failed => (l.t("co-heading-failed"), l.t("co-status-failed")),
    };
    let page = StatusPage {
        l,
        quoted_title: l.t1("co-quoted-title", "title", &title),
        heading,
        status,
        price,
        scope: l.scope(&c.scope),
        pdf: state.font.is_some(),
        awaiting: c.confirm_hash.is_some() && c.status == CheckoutStatus::Open,
        confirm,
        c,
    };
    let mut resp = render(&page)?;
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A checkout session's status; polling it also asks the payment provider about an open one.
#[utoipa::path(get, path = "/api/v1/checkout/{id}", tag = "checkout",
    params(("id" = String, Path, description = "checkout id (a secret: it grants the letter)")),
    responses((status = 200, description = "id, status, work, offer, amount_minor, currency, scope, licence, failure, letter_url", content_type = "application/json")))]
pub(crate) async fn status_json(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = poll(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(checkout_json(&c)))
}

/// The JSON form of a checkout.
pub fn checkout_json(c: &Checkout) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "status": c.status,
        "work": c.work.as_str(),
        "offer": c.offer.as_str(),
        "amount_minor": c.amount_minor,
        "currency": c.currency,
        "scope": c.scope,
        "licence": c.licence.as_ref().map(|l| l.as_str()),
        "failure": c.failure,
        "letter_url": c.licence.as_ref().map(|_| format!("/checkout/{}/letter.jws", c.id)),
        "created_at": c.created_at.to_string(),
    })
}

async fn licensed(state: &State, id: String) -> Result<LicenceId, ApiError> {
    let c = poll(state, id).await?;
    c.licence.ok_or_else(|| ApiError::new(actix_web::http::StatusCode::CONFLICT, "not_licensed", "no licence yet"))
}

async fn letter_jws(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let licence = licensed(&state, path.into_inner()).await?;
    let now = state.now();
    let st = state.clone();
    let letter = db(&state, move |s| {
        crate::letters::issue_logged_letter(s, &st.key, &st.notary, &licence, now)
            .map_err(|e| ApiError::invalid(e.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/jose")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"authorization-letter.jws\""))
        .body(letter))
}

async fn letter_pdf(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let licence = licensed(&state, path.into_inner()).await?;
    letter_pdf_response(&state, super::lang_of(&req), licence).await
}

/// The authorization letter of `licence` as a PDF download in `lang` (the logged letter, with its QR
/// code and log entry). Callers check first that the visitor may see the licence.
pub(super) async fn letter_pdf_response(
    state: &State,
    lang: crate::i18n::Lang,
    licence: seal_licensing::ids::LicenceId,
) -> Result<HttpResponse, ApiError> {
    let font = super::pdf_font(state)?;
    let now = state.now();
    let st = state.clone();
    let pdf = db(state, move |s| {
        let letter = crate::letters::issue_logged_letter(s, &st.key, &st.notary, &licence, now)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let payload =
            seal_licensing::letter::verify_letter(letter.as_bytes(), &st.key.public()).map_err(ApiError::internal)?;
        crate::pdf::letter_pdf_in(&payload, &font, lang).map_err(ApiError::internal)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"authorization-letter.pdf\""))
        .body(pdf))
}

/// What a receipt is made of: the licensed checkout, its licence, the work's title and the rights
/// holder. The checkout id is the capability, as for the status page and the letter: whoever holds the
/// link the buyer was sent to (and mailed) sees the receipt, and nobody can list or guess one.
struct ReceiptFacts {
    c: Checkout,
    licence: seal_licensing::licence::Licence,
    title: String,
    holder: String,
}

async fn receipt_facts(state: &State, id: String) -> Result<ReceiptFacts, ApiError> {
    let c = poll(state, id).await?;
    let Some(licence) = c.licence.clone() else {
        return Err(ApiError::new(actix_web::http::StatusCode::CONFLICT, "not_licensed", "no licence yet"));
    };
    let (licence, title, holder) = db(state, move |s| {
        let l = s.licence(&licence)?.ok_or_else(|| ApiError::not_found("licence"))?;
        let title = s.work(&l.work)?.map(|w| w.title).unwrap_or_default();
        let holder = s.holder(&l.holder)?.map(|h| h.name).unwrap_or_default();
        Ok((l, title, holder))
    })
    .await?;
    Ok(ReceiptFacts { c, licence, title, holder })
}

/// A receipt's number: the Beijing date of payment and a digest of the checkout id. Derived, so that
/// every rendering of one receipt carries the same number; a digest, because the checkout id opens the
/// letter and a printed receipt passes through many hands.
fn receipt_number(f: &ReceiptFacts) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("seal-receipt:{}", f.c.id).as_bytes());
    let beijing = i64::from(crate::i18n::Zone::BEIJING.minutes()) * 60_000;
    let (y, m, d) = f.licence.created_at.saturating_add_ms(beijing).date();
    format!("R{y:04}{m:02}{d:02}-{}", hex::encode_upper(&digest[..4]))
}

/// The machine form of a receipt (its keys are a contract).
fn receipt_machine_json(f: &ReceiptFacts) -> serde_json::Value {
    let (c, l) = (&f.c, &f.licence);
    serde_json::json!({
        "receipt_for": c.id,
        "licence": l.id.as_str(),
        "paid": { "amount_minor": l.price.amount.minor(), "currency": l.price.currency.code() },
        "provider": l.provider.as_ref().map(|p| p.as_str()),
        "provider_ref": l.provider_ref,
        "buyer": { "name": l.licensee_name, "email": c.email },
        "paid_at": l.created_at.to_string(),
        "escrow_until": l.hold_until.to_string(),
        "note": "The fee is held in escrow until the publicity period ends; the invoice is issued at settlement.",
    })
}

/// The document the receipt PDF is drawn from (`crate::pdf::receipt_pdf_in`): everything a person
/// reads, and not the checkout id.
fn receipt_document(f: &ReceiptFacts) -> serde_json::Value {
    let l = &f.licence;
    serde_json::json!({
        "type": "seal-receipt/v1",
        "number": receipt_number(f),
        "licence": l.id.as_str(),
        "paid": { "amount_minor": l.price.amount.minor(), "currency": l.price.currency.code() },
        "provider": l.provider.as_ref().map(|p| p.as_str()),
        "provider_ref": l.provider_ref,
        "buyer": { "name": l.licensee_name, "email": f.c.email },
        "payee": { "id": l.holder.as_str(), "name": f.holder },
        "work": { "id": l.work.as_str(), "title": f.title },
        "scope": l.scope,
        "paid_at": l.created_at.to_string(),
        "escrow_until": l.hold_until.to_string(),
    })
}

/// A licensed checkout's receipt as JSON, for machines; people get `/checkout/{id}/receipt`.
#[utoipa::path(get, path = "/api/v1/checkout/{id}/receipt", tag = "checkout",
    params(("id" = String, Path, description = "checkout id (a secret: it grants the letter)")),
    responses((status = 200, description = "receipt_for, licence, paid {amount_minor, currency}, provider, provider_ref, buyer {name, email}, paid_at, escrow_until, note", content_type = "application/json"),
        (status = 409, description = "not_licensed: the checkout has no licence yet")))]
pub(crate) async fn receipt_json(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let f = receipt_facts(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(receipt_machine_json(&f)))
}

#[derive(askama::Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    /// The page language.
    l: crate::i18n::Lang,
    /// The checkout id, for the download links only (it is never printed as text).
    id: String,
    number: String,
    paid_at: String,
    payer_name: String,
    payer_email: String,
    payee_name: String,
    payee_id: String,
    /// The platform collecting as agent, in words.
    agent: String,
    item: String,
    scope: String,
    licence: String,
    amount: String,
    currency: String,
    provider: String,
    provider_ref: String,
    escrow_until: String,
    /// Whether PDFs can be made (a font is installed).
    pdf: bool,
}

async fn receipt_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let l = super::lang_of(&req);
    let f = receipt_facts(&state, path.into_inner()).await.map_err(ApiError::page)?;
    let lic = &f.licence;
    let page = ReceiptPage {
        l,
        number: receipt_number(&f),
        paid_at: l.time_zoned(lic.created_at),
        payer_name: lic.licensee_name.clone(),
        payer_email: f.c.email.clone(),
        payee_name: f.holder.clone(),
        payee_id: lic.holder.to_string(),
        agent: l.t1("doc-receipt-agent", "platform", l.t("doc-platform-name")),
        item: l.t1("doc-receipt-item", "title", &f.title),
        scope: l.scope(&lic.scope),
        licence: lic.id.to_string(),
        amount: l.money(lic.price.amount.minor(), lic.price.currency.code()),
        currency: lic.price.currency.code().to_owned(),
        provider: lic.provider.as_ref().map_or_else(|| "—".to_owned(), |p| p.to_string()),
        provider_ref: lic.provider_ref.clone().unwrap_or_else(|| "—".to_owned()),
        escrow_until: l.time_zoned(lic.hold_until),
        pdf: state.font.is_some(),
        id: f.c.id,
    };
    let mut resp = render(&page)?;
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn receipt_pdf(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let lang = super::lang_of(&req);
    let font = super::pdf_font(&state)?;
    let f = receipt_facts(&state, path.into_inner()).await?;
    let doc = receipt_document(&f);
    let number = receipt_number(&f);
    let pdf = web::block(move || crate::pdf::receipt_pdf_in(&doc, &font, lang))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"receipt-{number}.pdf\"")))
        .body(pdf))
}

/// The checkout routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/checkout", web::get().to(checkout_page))
        .route("/checkout", web::post().to(submit))
        .route("/checkout/{id}", web::get().to(status_page))
        .route("/checkout/{id}/letter.jws", web::get().to(letter_jws))
        .route("/checkout/{id}/letter.pdf", web::get().to(letter_pdf))
        .route("/checkout/{id}/receipt", web::get().to(receipt_page))
        .route("/checkout/{id}/receipt.pdf", web::get().to(receipt_pdf))
        .route("/checkout/{id}/confirm/{token}", web::get().to(confirm_page))
        .route("/checkout/{id}/confirm/{token}", web::post().to(confirm))
        .route("/api/v1/checkout/{id}", web::get().to(status_json))
        .route("/api/v1/checkout/{id}/receipt", web::get().to(receipt_json))
        .route("/webhooks/{provider}", web::post().to(webhook));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_from_what_buyers_type() {
        assert_eq!(
            parse_scope("https://News.example.org/").expect("should succeed"),
            UseScope::Domain("news.example.org".into())
        );
        assert_eq!(
            parse_scope("reuse.example.test/news/1").expect("should succeed"),
            UseScope::UrlPrefix("reuse.example.test/news/1".into())
        );
        assert_eq!(parse_scope("例子.中国").expect("should succeed"), UseScope::Domain("例子.中国".into()));
        assert!(parse_scope("").is_err());
        assert!(parse_scope("not a url").is_err());
        assert!(parse_scope("localhost").is_err());
    }
}
