//! Licence checkout: Get licence → choose an offer → say who you are (account or guest email) → say
//! where you will use the work → pay → download the letter and receipt.
//!
//! Fulfilment is one idempotent function, [`fulfil`]: the licence id is derived from the checkout id,
//! the licensing core's purchase is idempotent on it, and a checkout leaves `open` exactly once (a
//! database trigger enforces it). So the webhook, its replays and the status page's polling can all
//! call it, in any order, and one licence results. Free offers are fulfilled at once, without payment.

use super::auth::{check_csrf, csrf_page, current_user};
use super::error::ApiError;
use super::{db, render, AppState, State};
use crate::services::payment::{PaymentEvent, PaymentStatus};
use crate::services::seal::{offer_rules, price_label};
use crate::store::platform::{Checkout, CheckoutStatus, Role, User};
use crate::store::{Outbox, Repository, SqliteStore};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::book::{PaymentInput, PurchaseCommand};
use seal_licensing::ids::{LicenceId, OfferId, PartyId, WorkId};
use seal_licensing::licence::UseScope;
use serde::Deserialize;
use std::sync::atomic::Ordering::Relaxed;
use subtle::ConstantTimeEq;

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
    work_id: String,
    title: String,
    author: String,
    holder: String,
    offers: Vec<OfferChoice>,
    csrf: String,
    user: Option<User>,
    error: Option<String>,
}

async fn checkout_page(state: State, req: HttpRequest, q: web::Query<StartQuery>) -> Result<HttpResponse, ApiError> {
    show_checkout(&state, &req, &q.work, None).await
}

async fn show_checkout(
    state: &State,
    req: &HttpRequest,
    work: &str,
    error: Option<String>,
) -> Result<HttpResponse, ApiError> {
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
        .map(|o| OfferChoice { id: o.id.to_string(), price: price_label(o), free: o.is_free(), rules: offer_rules(o) })
        .collect();
    let user = current_user(state, req).await?;
    let failed = error.is_some();
    let mut resp = csrf_page(req, state, |csrf| CheckoutPage {
        work_id: work.to_owned(),
        title: v.work.title,
        author: v.work.author,
        holder: v.holder.name,
        offers,
        csrf,
        user,
        error,
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
}

/// Turns what the buyer typed into a scope: a bare domain covers the domain, anything with a path
/// covers URLs under that prefix.
pub fn parse_scope(text: &str) -> Result<UseScope, String> {
    let t = text.trim();
    let rest = t.split_once("://").map_or(t, |(_, r)| r);
    if rest.is_empty() || rest.len() > 300 || rest.chars().any(char::is_whitespace) {
        return Err("enter the URL or domain where you will use the work".into());
    }
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = host.contains('.')
        && host.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == ':'));
    if !host_ok {
        return Err(format!("{host:?} is not a domain name"));
    }
    let host = host.to_lowercase();
    Ok(if path.trim_end_matches('/').is_empty() {
        UseScope::Domain(host)
    } else {
        UseScope::UrlPrefix(format!("{host}{path}"))
    })
}

async fn submit(state: State, req: HttpRequest, form: web::Form<CheckoutForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let f = form.into_inner();
    let fail = |m: String| show_checkout(&state, &req, &f.work, Some(m));
    let Some(offer_id) = f.offer.clone().filter(|o| !o.is_empty()) else {
        return fail("choose an offer".into()).await;
    };
    let scope = match parse_scope(&f.use_url) {
        Ok(s) => s,
        Err(m) => return fail(m).await,
    };
    let signed_in = current_user(&state, &req).await?;
    let (buyer, confirm_by_email) = match signed_in {
        Some(u) => (u, false),
        None if !guest_allowed(&state, &req, &f.email) => {
            return Err(super::auth::throttled().page());
        }
        None => match guest(&state, &f.email, &f.name).await {
            Ok(found) => found,
            Err(e) if e.status.is_client_error() => return fail(e.message).await,
            Err(e) => return Err(e.page()),
        },
    };
    let buyer_name = if f.name.trim().is_empty() { buyer.name.clone() } else { f.name.trim().to_owned() };
    let now = state.now();
    let work = WorkId::new(f.work.as_str()).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let offer = OfferId::new(offer_id).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let st = state.clone();
    let order = Order { work, offer, buyer, buyer_name, scope, confirm_by_email };
    let created = db(&state, move |s| open_checkout(&st, s, order, now)).await;
    let (checkout, payment) = match created {
        Ok(x) => x,
        Err(e) if e.status.is_client_error() => return fail(e.message).await,
        Err(e) => return Err(e.page()),
    };
    let location = payment.unwrap_or_else(|| format!("/checkout/{}", checkout.id));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
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
}

/// Opens a checkout for an order (the web form and the REST API both come here). A free offer is
/// fulfilled at once; a paid one gets a payment at the default provider, whose page is returned.
pub fn open_checkout(
    state: &AppState,
    s: &mut SqliteStore,
    order: Order,
    now: seal_licensing::Timestamp,
) -> Result<(Checkout, Option<String>), ApiError> {
    if order.buyer_name.chars().count() > 100 {
        return Err(ApiError::invalid("enter a name of at most 100 characters"));
    }
    seal_licensing::offer::check_display_text("name", &order.buyer_name)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let work = s.work(&order.work)?.ok_or_else(|| ApiError::not_found(format!("work {}", order.work)))?;
    let offer = s.offer(&order.offer)?.filter(|x| x.covers(&work) && x.is_open(now));
    let offer = offer.ok_or_else(|| ApiError::invalid("that offer does not apply to this work"))?;
    let c = Checkout {
        id: format!("co_{}", super::auth::random_token(18)),
        work: order.work,
        offer: order.offer,
        buyer: order.buyer.id,
        buyer_name: order.buyer_name,
        email: order.buyer.email,
        scope: order.scope,
        amount_minor: offer.price.amount.minor(),
        currency: offer.price.currency.code().to_owned(),
        status: CheckoutStatus::Open,
        provider: if offer.is_free() { "free".into() } else { state.providers.default_provider().name().into() },
        provider_ref: None,
        licence: None,
        licence_id: format!("lic-{}", super::auth::random_token(15).to_ascii_lowercase().replace(['-', '_'], "x")),
        confirm_hash: None,
        failure: None,
        created_at: now,
        updated_at: now,
    };
    if order.confirm_by_email {
        let token = super::auth::random_token(32);
        let c = Checkout { confirm_hash: Some(super::auth::token_hash(&token)), ..c };
        s.atomically(|s| -> Result<(), ApiError> {
            s.create_checkout(&c)?;
            Ok(s.enqueue_mail(&confirm_mail(state, &c, &work.title, &token)?, now)?)
        })?;
        return Ok((c, None));
    }
    s.create_checkout(&c)?;
    proceed(state, s, c, now)
}

/// Takes a checkout on to payment: a free offer is fulfilled at once; a paid one gets a payment at its
/// provider, whose page the buyer is sent to (returned).
fn proceed(
    state: &AppState,
    s: &mut SqliteStore,
    c: Checkout,
    now: seal_licensing::Timestamp,
) -> Result<(Checkout, Option<String>), ApiError> {
    if c.amount_minor == 0 {
        return Ok((fulfil(state, s, &c.id, None, now)?, None));
    }
    let provider =
        state.providers.get(&c.provider).ok_or_else(|| ApiError::internal(format!("no provider {}", c.provider)))?;
    let started = provider.start(s, &c, now)?;
    Ok((c, Some(started.url)))
}

/// How long a purchase confirmation link works.
const CONFIRM_WINDOW_MS: i64 = 24 * 3_600_000;

/// The mail that asks an address's owner to confirm a guest purchase made in their name. Only text the
/// platform or the verified rights holder wrote: the order's details are on the page the link opens.
fn confirm_mail(
    state: &AppState,
    c: &Checkout,
    title: &str,
    token: &str,
) -> Result<crate::store::platform::Mail, ApiError> {
    /// The body (`templates/mail/confirm.txt`).
    #[derive(askama::Template)]
    #[template(path = "mail/confirm.txt", escape = "none")]
    struct Body<'a> {
        title: &'a str,
        base: &'a str,
        id: &'a str,
        token: &'a str,
    }
    let body = Body { title, base: &state.config.public_url, id: &c.id, token };
    Ok(crate::store::platform::Mail {
        to: c.email.clone(),
        subject: format!("请确认授权购买 Confirm a licence purchase: 《{title}》"),
        body: askama::Template::render(&body).map_err(ApiError::internal)?,
        attachment: None,
    })
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
async fn guest(state: &State, email: &str, name: &str) -> Result<(User, bool), ApiError> {
    let e = email.trim().to_owned();
    let existing = db(state, move |s| Ok(s.user_by_email(&e)?)).await?;
    match existing {
        Some(u) if u.password_hash.is_some() => {
            Err(ApiError::invalid("that email address has an account: sign in first, then take the licence"))
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

/// Grants the licence of a checkout once it is paid (or free). Idempotent: an ended checkout is
/// returned as it is. `payment` is the provider's reference, amount and currency.
pub fn fulfil(
    state: &AppState,
    s: &mut SqliteStore,
    checkout_id: &str,
    payment: Option<(&str, &str, i64, &str)>,
    now: seal_licensing::Timestamp,
) -> Result<Checkout, ApiError> {
    // A checkout waiting for its address owner's confirmation has no payment and grants nothing.
    if let Some(c) = s.checkout(checkout_id)?.filter(|c| c.confirm_hash.is_some()) {
        return Ok(c);
    }
    // One unit of work: the licence, the checkout's end, the buyer's mail and the domain event commit
    // together or not at all, so a crash can never leave a licence without its mail or a paid checkout
    // still open. The checkout is read inside the unit, under the write lock, so no other fulfilment
    // can end it between the read and the write.
    let (c, ended_now) = s.atomically(|s| -> Result<(Checkout, bool), ApiError> {
        let mut c = s.checkout(checkout_id)?.ok_or_else(|| ApiError::not_found(format!("checkout {checkout_id}")))?;
        if c.status != CheckoutStatus::Open {
            return Ok((c, false));
        }
        let planned = if c.licence_id.is_empty() { format!("lic-{}", c.id) } else { c.licence_id.clone() };
        let licence_id = LicenceId::new(planned).map_err(|e| ApiError::internal(e.to_string()))?;
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
        };
        c.updated_at = now;
        c.provider_ref = payment.map(|p| p.1.to_owned());
        match s.purchase(&cmd, now) {
            Ok(_) => {
                c.status = CheckoutStatus::Licensed;
                c.licence = Some(licence_id);
            }
            Err(crate::store::StoreError::Book(e)) => {
                // The money was taken but the licence refused (the offer closed meanwhile, say): the
                // checkout says so and the payment stays in the provider's clearing account for refund.
                // The purchase rolled back to its own savepoint; the rest of the unit goes on.
                tracing::warn!(checkout = %c.id, error = %e, "paid checkout could not be fulfilled");
                c.status = CheckoutStatus::Failed;
                c.failure = Some(e.to_string());
            }
            Err(e) => return Err(e.into()),
        }
        if !s.finish_checkout(&c)? {
            return Err(ApiError::internal("an open checkout did not end"));
        }
        match &c.licence {
            Some(licence) => {
                s.enqueue_mail(&licence_mail(state, s, &c, now)?, now)?;
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
        state.metrics.licences_granted.fetch_add(1, Relaxed);
        state.seals.refresh_work(s, &state.config.public_url, &c.work)?;
    }
    Ok(c)
}

/// Records that a checkout ended without a licence (declined by the buyer, or refused by the domain).
fn checkout_failed_event(s: &mut SqliteStore, c: &Checkout, now: seal_licensing::Timestamp) -> Result<(), ApiError> {
    let payload = serde_json::json!({
        "checkout": c.id, "work": c.work.as_str(), "status": c.status.as_str(), "failure": c.failure,
    });
    Ok(s.record_event("checkout.failed", &c.id, &payload, now)?)
}

/// The email a buyer gets: what was licensed, where to download again, and the signed letter.
fn licence_mail(
    state: &AppState,
    s: &SqliteStore,
    c: &Checkout,
    now: seal_licensing::Timestamp,
) -> Result<crate::store::platform::Mail, ApiError> {
    /// The body (`templates/mail/licence.txt`). Only text the platform or the verified rights holder
    /// wrote goes in: the buyer's name and scope are typed by whoever filled in the form, which may not
    /// be the address's owner, so they stay in the attached letter and on the checkout page.
    #[derive(askama::Template)]
    #[template(path = "mail/licence.txt", escape = "none")]
    struct Body<'a> {
        title: &'a str,
        licence: &'a str,
        price: &'a str,
        base: &'a str,
        id: &'a str,
    }
    let licence = c.licence.clone().ok_or_else(|| ApiError::internal("licensed checkout without licence"))?;
    let letter = crate::letters::issue_letter(s, &state.key, &licence, now).map_err(ApiError::internal)?;
    let title = s.work(&c.work)?.map(|w| w.title).unwrap_or_default();
    let base = &state.config.public_url;
    let price = if c.amount_minor == 0 {
        "免费 Free".to_owned()
    } else {
        let cur = seal_licensing::money::Currency::parse(&c.currency).map_err(ApiError::internal)?;
        format!("{} {}", cur.format_minor(c.amount_minor), c.currency)
    };
    let body = Body { title: &title, licence: licence.as_str(), price: &price, base, id: &c.id };
    let body = askama::Template::render(&body).map_err(ApiError::internal)?;
    Ok(crate::store::platform::Mail {
        to: c.email.clone(),
        subject: format!("授权成功 Licence {licence}: 《{title}》"),
        body,
        attachment: Some(("authorization-letter.jws".into(), letter.into_bytes())),
    })
}

fn decline(s: &mut SqliteStore, checkout_id: &str, now: seal_licensing::Timestamp) -> Result<(), ApiError> {
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
fn apply_event(
    state: &AppState,
    s: &mut SqliteStore,
    provider: &str,
    e: &PaymentEvent,
    now: seal_licensing::Timestamp,
) -> Result<(), ApiError> {
    match e.status {
        PaymentStatus::Succeeded => {
            fulfil(state, s, &e.checkout_id, Some((provider, &e.payment_id, e.amount_minor, &e.currency)), now)?;
        }
        PaymentStatus::Declined => decline(s, &e.checkout_id, now)?,
        PaymentStatus::Pending => {}
    }
    Ok(())
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
        apply_event(&st, s, name, &event, now)?;
        Ok(!first)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "received": true, "replay": replay })))
}

#[derive(askama::Template)]
#[template(path = "checkout_status.html")]
struct StatusPage {
    c: Checkout,
    title: String,
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
    let now = state.now();
    let st = state.clone();
    db(state, move |s| {
        let c = s.checkout(&id)?.ok_or_else(|| ApiError::not_found(format!("checkout {id}")))?;
        if c.status == CheckoutStatus::Open {
            if let Some(provider) = st.providers.get(&c.provider) {
                if let Some(event) = provider.status(s, &c, now)? {
                    apply_event(&st, s, provider.name(), &event, now)?;
                    return Ok(s.checkout(&id)?.unwrap_or(c));
                }
            }
        }
        Ok(c)
    })
    .await
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
    let mut resp = status_response(&state, c, Some((csrf, token)))?;
    if let Some(cookie) = set {
        let _ = resp.add_cookie(&cookie);
    }
    Ok(resp)
}

/// The checkout a confirmation link names, if it is still waiting for that very token.
async fn awaiting(state: &State, id: &str, token: &str) -> Result<Checkout, ApiError> {
    let (id, hash, now) = (id.to_owned(), super::auth::token_hash(token), state.now());
    db(state, move |s| {
        let c = s.checkout(&id)?.filter(|c| {
            c.status == CheckoutStatus::Open
                && now.unix_ms() - c.created_at.unix_ms() <= CONFIRM_WINDOW_MS
                && c.confirm_hash.as_deref().is_some_and(|h| bool::from(h.as_bytes().ct_eq(hash.as_bytes())))
        });
        c.ok_or_else(|| ApiError::not_found("confirmation link (unknown, used or expired)"))
    })
    .await
}

async fn confirm(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let (id, token) = path.into_inner();
    let mut c = awaiting(&state, &id, &token).await.map_err(ApiError::page)?;
    let (st, now) = (state.clone(), state.now());
    let (c, payment) = db(&state, move |s| {
        c.confirm_hash = None;
        c.updated_at = now;
        if !s.update_open_checkout(&c)? {
            return Err(ApiError::not_found("confirmation link (unknown, used or expired)"));
        }
        proceed(&st, s, c, now)
    })
    .await
    .map_err(ApiError::page)?;
    let location = payment.unwrap_or_else(|| format!("/checkout/{}", c.id));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

async fn status_page(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = poll(&state, path.into_inner()).await.map_err(ApiError::page)?;
    status_response(&state, c, None)
}

/// The checkout's page; with `confirm` (CSRF token, link token) it carries the confirmation button.
fn status_response(state: &State, c: Checkout, confirm: Option<(String, String)>) -> Result<HttpResponse, ApiError> {
    let title = state.seals.get(c.work.as_str()).and_then(|e| e.view()).map(|v| v.work.title).unwrap_or_default();
    let cur = seal_licensing::money::Currency::parse(&c.currency).map_err(ApiError::internal)?;
    let price = if c.amount_minor == 0 {
        "免费 Free".to_owned()
    } else {
        format!("{} {}", cur.format_minor(c.amount_minor), c.currency)
    };
    let scope = c.scope.describe();
    let awaiting = c.confirm_hash.is_some() && c.status == CheckoutStatus::Open;
    let mut resp = render(&StatusPage { c, title, price, scope, pdf: state.font.is_some(), awaiting, confirm })?;
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
        crate::letters::issue_letter(s, &st.key, &licence, now).map_err(|e| ApiError::invalid(e.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/jose")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"authorization-letter.jws\""))
        .body(letter))
}

async fn letter_pdf(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let font = state.font.clone().ok_or_else(|| {
        ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "no_font", "no CJK font installed for PDFs")
    })?;
    let licence = licensed(&state, path.into_inner()).await?;
    let now = state.now();
    let st = state.clone();
    let pdf = db(&state, move |s| {
        let letter =
            crate::letters::issue_letter(s, &st.key, &licence, now).map_err(|e| ApiError::invalid(e.to_string()))?;
        let payload =
            seal_licensing::letter::verify_letter(letter.as_bytes(), &st.key.public()).map_err(ApiError::internal)?;
        crate::pdf::letter_pdf(&payload, &font).map_err(ApiError::internal)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"authorization-letter.pdf\""))
        .body(pdf))
}

async fn receipt(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let c = poll(&state, id).await?;
    let Some(licence) = c.licence.clone() else {
        return Err(ApiError::new(actix_web::http::StatusCode::CONFLICT, "not_licensed", "no licence yet"));
    };
    let l = db(&state, move |s| Ok(s.licence(&licence)?)).await?.ok_or_else(|| ApiError::not_found("licence"))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "receipt_for": c.id,
        "licence": l.id.as_str(),
        "paid": { "amount_minor": l.price.amount.minor(), "currency": l.price.currency.code() },
        "provider": l.provider.as_ref().map(|p| p.as_str()),
        "provider_ref": l.provider_ref,
        "buyer": { "name": l.licensee_name, "email": c.email },
        "paid_at": l.created_at.to_string(),
        "escrow_until": l.hold_until.to_string(),
        "note": "The fee is held in escrow until the publicity period ends; the invoice is issued at settlement.",
    })))
}

/// The checkout routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/checkout", web::get().to(checkout_page))
        .route("/checkout", web::post().to(submit))
        .route("/checkout/{id}", web::get().to(status_page))
        .route("/checkout/{id}/letter.jws", web::get().to(letter_jws))
        .route("/checkout/{id}/letter.pdf", web::get().to(letter_pdf))
        .route("/checkout/{id}/receipt", web::get().to(receipt))
        .route("/checkout/{id}/confirm/{token}", web::get().to(confirm_page))
        .route("/checkout/{id}/confirm/{token}", web::post().to(confirm))
        .route("/api/v1/checkout/{id}", web::get().to(status_json))
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
