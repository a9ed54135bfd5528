//! Licence checkout: Get licence → choose an offer → say who you are (account or guest email) → say
//! where you will use the work → pay → download the letter and receipt.
//!
//! Fulfilment is one idempotent function, [`fulfil`]: the licence id is derived from the checkout id,
//! the licensing core's purchase is idempotent on it, and a checkout leaves `open` exactly once (a
//! database trigger enforces it). So the webhook, its replays and the status page's polling can all
//! call it, in any order, and one licence results. Free offers are fulfilled at once, without payment.

use super::auth::{check_csrf, csrf_page, current_user};
use super::error::ApiError;
use super::payment::{PaymentEvent, PaymentProvider, PaymentStatus, SIGNATURE_HEADER};
use super::seal::{offer_rules, price_label};
use super::{db, render, AppState, State};
use crate::store::platform::{Checkout, CheckoutStatus, Role, User};
use crate::store::{Repository, SqliteStore};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::book::{PaymentInput, PurchaseCommand};
use seal_licensing::ids::{LicenceId, OfferId, PartyId, WorkId};
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
    let entry = state.seals.get(work).ok_or_else(|| ApiError::not_found(format!("work {work}")).page())?;
    let v = &entry.view();
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
        title: v["work"]["title"].as_str().unwrap_or("").to_owned(),
        author: v["work"]["author"].as_str().unwrap_or("").to_owned(),
        holder: v["holder"]["name"].as_str().unwrap_or("").to_owned(),
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
    let buyer = match signed_in {
        Some(u) => u,
        None if !guest_allowed(&state, &req, &f.email) => {
            return Err(super::auth::throttled().page());
        }
        None => match guest(&state, &f.email, &f.name).await {
            Ok(u) => u,
            Err(e) if e.status.is_client_error() => return fail(e.message).await,
            Err(e) => return Err(e.page()),
        },
    };
    let buyer_name = if f.name.trim().is_empty() { buyer.name.clone() } else { f.name.trim().to_owned() };
    let now = state.now();
    let work = WorkId::new(f.work.as_str()).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let offer = OfferId::new(offer_id).map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let st = state.clone();
    let order = Order { work, offer, buyer, buyer_name, scope };
    let created = db(&state, move |s| open_checkout(&st, s, order, now)).await;
    let (checkout, payment) = match created {
        Ok(x) => x,
        Err(e) if e.status.is_client_error() => return fail(e.message).await,
        Err(e) => return Err(e.page()),
    };
    let location = match payment {
        Some(p) => format!("/pay/sandbox/{p}"),
        None => format!("/checkout/{}", checkout.id),
    };
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
}

/// Opens a checkout for an order (the web form and the REST API both come here). A free offer is
/// fulfilled at once; a paid one gets a sandbox payment, whose id is returned.
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
        provider: if offer.is_free() { "free".into() } else { "sandbox".into() },
        provider_ref: None,
        licence: None,
        licence_id: format!("lic-{}", super::auth::random_token(15).to_ascii_lowercase().replace(['-', '_'], "x")),
        failure: None,
        created_at: now,
        updated_at: now,
    };
    s.create_checkout(&c)?;
    if offer.is_free() {
        return Ok((fulfil(state, s, &c.id, None, now)?, None));
    }
    let payment = format!("sp_{}", super::auth::random_token(18));
    s.create_sandbox_payment(&payment, &c.id, c.amount_minor, &c.currency, now)?;
    Ok((c, Some(payment)))
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
async fn guest(state: &State, email: &str, name: &str) -> Result<User, ApiError> {
    let e = email.trim().to_owned();
    let existing = db(state, move |s| Ok(s.user_by_email(&e)?)).await?;
    match existing {
        Some(u) if u.password_hash.is_some() => {
            Err(ApiError::invalid("that email address has an account: sign in first, then take the licence"))
        }
        Some(u) => Ok(u),
        None => {
            let name = if name.trim().is_empty() { email.split('@').next().unwrap_or("guest") } else { name };
            super::auth::create_account(state, email.to_owned(), name.to_owned(), None, Role::Licensee).await
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
    let mut c = s.checkout(checkout_id)?.ok_or_else(|| ApiError::not_found(format!("checkout {checkout_id}")))?;
    if c.status != CheckoutStatus::Open {
        return Ok(c);
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
            tracing::warn!(checkout = %c.id, error = %e, "paid checkout could not be fulfilled");
            c.status = CheckoutStatus::Failed;
            c.failure = Some(e.to_string());
        }
        Err(e) => return Err(e.into()),
    }
    if s.finish_checkout(&c)? {
        if c.status == CheckoutStatus::Licensed {
            state.metrics.licences_granted.fetch_add(1, Relaxed);
            state.seals.refresh_work(s, &state.config.public_url, &c.work)?;
            s.enqueue_mail(&licence_mail(state, s, &c, now)?, now)?;
        }
        Ok(c)
    } else {
        s.checkout(checkout_id)?.ok_or_else(|| ApiError::internal("checkout vanished"))
    }
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
    if let Some(mut c) = s.checkout(checkout_id)? {
        c.status = CheckoutStatus::Declined;
        c.updated_at = now;
        s.finish_checkout(&c)?;
    }
    Ok(())
}

/// Applies a provider event (from a webhook or a poll).
fn apply_event(
    state: &AppState,
    s: &mut SqliteStore,
    e: &PaymentEvent,
    now: seal_licensing::Timestamp,
) -> Result<(), ApiError> {
    match e.status {
        PaymentStatus::Succeeded => {
            let provider = state.sandbox.name();
            fulfil(state, s, &e.checkout_id, Some((provider, &e.payment_id, e.amount_minor, &e.currency)), now)?;
        }
        PaymentStatus::Declined => decline(s, &e.checkout_id, now)?,
        PaymentStatus::Pending => {}
    }
    Ok(())
}

#[derive(askama::Template)]
#[template(path = "pay_sandbox.html")]
struct PayPage {
    payment: String,
    amount: String,
    title: String,
    holder: String,
    status: String,
    csrf: String,
}

async fn pay_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let pid = path.into_inner();
    let p = pid.clone();
    let (payment, checkout) = db(&state, move |s| {
        let pay = s.sandbox_payment(&p)?.ok_or_else(|| ApiError::not_found("payment"))?;
        let c = s.checkout(&pay.checkout)?.ok_or_else(|| ApiError::not_found("checkout"))?;
        Ok((pay, c))
    })
    .await
    .map_err(ApiError::page)?;
    let view = state.seals.get(checkout.work.as_str());
    let cur = seal_licensing::money::Currency::parse(&payment.currency).map_err(ApiError::internal)?;
    csrf_page(&req, &state, |csrf| PayPage {
        payment: pid,
        amount: format!("{} {}", cur.format_minor(payment.amount_minor), payment.currency),
        title: view.as_ref().and_then(|v| v.view()["work"]["title"].as_str().map(String::from)).unwrap_or_default(),
        holder: view.as_ref().and_then(|v| v.view()["holder"]["name"].as_str().map(String::from)).unwrap_or_default(),
        status: payment.status.clone(),
        csrf,
    })
}

/// The hosted payment page's form.
#[derive(Debug, Deserialize)]
pub struct PayForm {
    csrf: String,
    action: String,
}

async fn pay_submit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<PayForm>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let status = match form.action.as_str() {
        "pay" => PaymentStatus::Succeeded,
        "decline" => PaymentStatus::Declined,
        _ => return Err(ApiError::invalid("action must be pay or decline").page()),
    };
    let pid = path.into_inner();
    let now = state.now();
    let p = pid.clone();
    let payment = db(&state, move |s| {
        s.set_sandbox_payment_status(&p, status, now)?;
        s.sandbox_payment(&p)?.ok_or_else(|| ApiError::not_found("payment"))
    })
    .await
    .map_err(ApiError::page)?;
    let event = PaymentEvent {
        id: format!("evt_{pid}_{}", payment.status),
        payment_id: pid,
        checkout_id: payment.checkout.clone(),
        status: PaymentStatus::parse(&payment.status),
        amount_minor: payment.amount_minor,
        currency: payment.currency,
        created: now.unix_ms() / 1000,
    };
    deliver_webhook(&state, &event).await;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/checkout/{}", payment.checkout))).finish())
}

/// The sandbox delivers its webhook over real HTTP to the platform's public URL, like any provider.
/// A failed delivery is only logged: the checkout page's polling picks the outcome up.
async fn deliver_webhook(state: &State, event: &PaymentEvent) {
    let (body, sig) = state.sandbox.sign(event, state.now().unix_ms() / 1000);
    let url = format!("{}/webhooks/sandbox", state.config.public_url);
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(5)).finish();
    match client
        .post(&url)
        .insert_header((SIGNATURE_HEADER, sig))
        .content_type("application/json")
        .send_body(body)
        .await
    {
        Ok(r) if r.status().is_success() => tracing::info!(event = %event.id, "sandbox webhook delivered"),
        Ok(r) => tracing::warn!(event = %event.id, status = %r.status(), "sandbox webhook refused"),
        Err(e) => {
            tracing::warn!(event = %event.id, error = %e, %url, "sandbox webhook not delivered; polling will recover")
        }
    }
}

async fn webhook(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let sig = req.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let now = state.now();
    let event = match state.sandbox.verify_webhook(sig, &body, now.unix_ms() / 1000) {
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
        apply_event(&st, s, &event, now)?;
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
}

/// Reads a checkout, first asking the provider about an open one (recovers lost webhooks).
async fn poll(state: &State, id: String) -> Result<Checkout, ApiError> {
    let now = state.now();
    let st = state.clone();
    db(state, move |s| {
        let c = s.checkout(&id)?.ok_or_else(|| ApiError::not_found(format!("checkout {id}")))?;
        if c.status == CheckoutStatus::Open && c.provider == "sandbox" {
            if let Some(p) = s.sandbox_payment_of(&c.id)? {
                let event = PaymentEvent {
                    id: format!("poll_{}", p.id),
                    payment_id: p.id.clone(),
                    checkout_id: c.id.clone(),
                    status: PaymentStatus::parse(&p.status),
                    amount_minor: p.amount_minor,
                    currency: p.currency.clone(),
                    created: now.unix_ms() / 1000,
                };
                apply_event(&st, s, &event, now)?;
                return Ok(s.checkout(&id)?.unwrap_or(c));
            }
        }
        Ok(c)
    })
    .await
}

async fn status_page(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = poll(&state, path.into_inner()).await.map_err(ApiError::page)?;
    let title = state
        .seals
        .get(c.work.as_str())
        .and_then(|e| e.view()["work"]["title"].as_str().map(String::from))
        .unwrap_or_default();
    let cur = seal_licensing::money::Currency::parse(&c.currency).map_err(ApiError::internal)?;
    let price = if c.amount_minor == 0 {
        "免费 Free".to_owned()
    } else {
        format!("{} {}", cur.format_minor(c.amount_minor), c.currency)
    };
    let scope = c.scope.describe();
    let mut resp = render(&StatusPage { c, title, price, scope, pdf: state.font.is_some() })?;
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
        .route("/api/v1/checkout/{id}", web::get().to(status_json))
        .route("/pay/sandbox/{id}", web::get().to(pay_page))
        .route("/pay/sandbox/{id}", web::post().to(pay_submit))
        .route("/webhooks/sandbox", web::post().to(webhook));
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
