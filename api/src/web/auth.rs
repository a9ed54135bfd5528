//! Accounts: sign-up, sign-in and sign-out, sessions, CSRF protection and the sign-in rate limit.
//!
//! - Passwords are stored as argon2id PHC strings (the crate's defaults: 19 MiB, 2 passes), hashed on
//!   the blocking pool.
//! - A session is a random 256-bit token in an HttpOnly, SameSite=Lax cookie (Secure and with the
//!   `__Host-` prefix when the public URL is https, so no subdomain can set or shadow it); the
//!   database holds only its SHA-256.
//! - CSRF: every state-changing request must carry a token back, as the form field `csrf` or the
//!   `X-CSRF-Token` header. With a session the token is bound to it (a hash of the session token, see
//!   [`session_csrf`]), so a token planted by a sibling site or left from another sign-in is useless;
//!   before sign-in it is the `seal_csrf` cookie's value (double submit). A third-party site can make
//!   the browser send cookies but cannot read them, so it cannot forge the field.
//! - Failed sign-ins are throttled per client address and per normalised email address (a token
//!   bucket: a few tries at once, then one every few minutes), never locked; successes cost nothing.
//!   Sign-up, reset and password change are throttled per address too, since each costs an argon2
//!   hash, and passwords are capped at [`MAX_PASSWORD_CHARS`].

use super::error::ApiError;
use super::{db, render, State};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use seal_licensing::ids::PartyId;
use seal_licensing::offer::RightsHolder;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// The session cookie (without the `__Host-` prefix it gets over https; see [`cookie_name`]).
pub const SESSION_COOKIE: &str = "seal_session";
/// The CSRF cookie (likewise).
pub const CSRF_COOKIE: &str = "seal_csrf";
/// The longest password accepted: argon2 cost grows with the input, and no person types more.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A cookie's name: `__Host-NAME` when cookies are Secure (browsers then refuse it unless it is
/// Secure, host-only and for path `/`), else `NAME`.
pub fn cookie_name(base: &'static str, secure: bool) -> &'static str {
    match (base, secure) {
        (SESSION_COOKIE, true) => "__Host-seal_session",
        (CSRF_COOKIE, true) => "__Host-seal_csrf",
        (name, _) => name,
    }
}

/// The CSRF token bound to a session: a hash of the session token with its own label, so it is
/// unguessable without the (HttpOnly) session cookie and reveals nothing about it.
pub fn session_csrf(session_token: &str) -> String {
    let digest = Sha256::digest(format!("seal-csrf-v1\0{session_token}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24])
}

/// Checks a password's length; the message is for people.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    match password.chars().count() {
        n if n < 10 => {
            Err(ApiError::invalid("use a password of at least 10 characters").keyed("acct-error-password-short", &[]))
        }
        n if n > MAX_PASSWORD_CHARS => {
            Err(ApiError::invalid("use a password of at most 256 characters").keyed("acct-error-password-long", &[]))
        }
        _ => Ok(()),
    }
}

/// The client's address: the peer, or, when the peer is one of the configured trusted proxies, the
/// nearest address in `X-Forwarded-For` that is not a trusted proxy. Without trusted proxies the header
/// is ignored, since anyone can send it.
pub fn client_ip(req: &HttpRequest, trusted: &[std::net::IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else { return String::new() };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded.iter().rev().find(|ip| !trusted.contains(ip)).or(forwarded.first()).unwrap_or(&peer).to_string()
}

/// Hashes a password with argon2id.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&raw).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

pub use crate::services::tokens::{random_token, short_id, token_hash};

/// Token buckets per key: `limit` tokens, refilled at `limit` per `window_ms`. A burst of `limit` is
/// allowed, then one more each `window_ms / limit`: a throttle, never a lock-out.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Key → (tokens in thousandths, last refill in ms).
    buckets: Mutex<HashMap<String, (i64, i64)>>,
}

impl RateLimiter {
    fn with_bucket<T>(&self, key: &str, now_ms: i64, limit: u32, window_ms: i64, f: impl FnOnce(&mut i64) -> T) -> T {
        let full = i64::from(limit) * 1000;
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > 100_000 {
            // Bounded memory under a spray of addresses: forget buckets that have refilled anyway.
            b.retain(|_, (_, last)| now_ms - *last < window_ms);
        }
        let entry = b.entry(key.to_owned()).or_insert((full, now_ms));
        let elapsed = (now_ms - entry.1).max(0);
        entry.0 = (entry.0 + elapsed.saturating_mul(full) / window_ms.max(1)).min(full);
        entry.1 = now_ms;
        f(&mut entry.0)
    }

    /// Whether `key` has a token left, without spending it.
    pub fn check(&self, key: &str, now_ms: i64, limit: u32, window_ms: i64) -> bool {
        self.with_bucket(key, now_ms, limit, window_ms, |tokens| *tokens >= 1000)
    }

    /// Spends a token of `key` (for a failure that counts).
    pub fn spend(&self, key: &str, now_ms: i64, limit: u32, window_ms: i64) {
        self.with_bucket(key, now_ms, limit, window_ms, |tokens| *tokens = (*tokens - 1000).max(0));
    }

    /// Spends a token of `key` if it has one; false when throttled.
    pub fn allow(&self, key: &str, now_ms: i64, limit: u32, window_ms: i64) -> bool {
        self.with_bucket(key, now_ms, limit, window_ms, |tokens| {
            let ok = *tokens >= 1000;
            if ok {
                *tokens -= 1000;
            }
            ok
        })
    }
}

/// Normalises an email address for keys and look-ups: trimmed and lower-cased, so padding or case
/// cannot open a fresh throttle bucket.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The CSRF token of this browser: bound to its session if it has one, else the anonymous cookie's
/// value, with the cookie to set if it had none.
pub fn csrf_token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(session) = req.cookie(cookie_name(SESSION_COOKIE, secure)) {
        return (session_csrf(session.value()), None);
    }
    match req.cookie(cookie_name(CSRF_COOKIE, secure)) {
        Some(c) if c.value().len() >= 16 => (c.value().to_owned(), None),
        _ => {
            let t = random_token(24);
            (t.clone(), Some(cookie(CSRF_COOKIE, t, secure, None)))
        }
    }
}

fn cookie(base: &'static str, value: String, secure: bool, max_age_days: Option<u32>) -> Cookie<'static> {
    let name = cookie_name(base, secure);
    let mut c = Cookie::build(name, value).path("/").http_only(true).same_site(SameSite::Lax).secure(secure);
    if let Some(d) = max_age_days {
        c = c.max_age(actix_web::cookie::time::Duration::days(i64::from(d)));
    }
    c.finish()
}

/// Renders a page that carries this browser's CSRF token (see [`csrf_token`]), setting the cookie on a
/// first visit.
pub fn csrf_page<T: askama::Template>(
    req: &HttpRequest,
    state: &State,
    page: impl FnOnce(String) -> T,
) -> Result<HttpResponse, ApiError> {
    let (csrf, set) = csrf_token(req, state.config.secure_cookies);
    let mut resp = render(&page(csrf))?;
    if let Some(c) = set {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// Checks the CSRF token (form field or `X-CSRF-Token` header) against the one [`csrf_token`] gave
/// this browser: the session-bound token when a session cookie is present, else the anonymous cookie.
pub fn check_csrf_with(req: &HttpRequest, submitted: Option<&str>, secure: bool) -> Result<(), ApiError> {
    let expected = match req.cookie(cookie_name(SESSION_COOKIE, secure)) {
        Some(session) => Some(session_csrf(session.value())),
        None => req.cookie(cookie_name(CSRF_COOKIE, secure)).map(|c| c.value().to_owned()).filter(|c| c.len() >= 16),
    };
    let header = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
    let given = submitted.or(header);
    match (expected, given) {
        (Some(e), Some(g)) if bool::from(e.as_bytes().ct_eq(g.as_bytes())) => Ok(()),
        _ => Err(ApiError::forbidden("the form expired or came from another site; reload the page and try again")
            .with_code("csrf")),
    }
}

/// [`check_csrf_with`] under the server's cookie settings.
pub fn check_csrf(req: &HttpRequest, submitted: Option<&str>) -> Result<(), ApiError> {
    let secure = req.app_data::<State>().is_some_and(|s| s.config.secure_cookies);
    check_csrf_with(req, submitted, secure)
}

impl ApiError {
    /// The same error with another code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

/// The signed-in user, if any.
pub async fn current_user(state: &State, req: &HttpRequest) -> Result<Option<User>, ApiError> {
    let Some(c) = req.cookie(cookie_name(SESSION_COOKIE, state.config.secure_cookies)) else { return Ok(None) };
    let hash = token_hash(c.value());
    let now = state.now();
    db(state, move |s| Ok(s.session_user(&hash, now)?)).await
}

/// The signed-in user with one of `roles`: 401 without a session, 403 with the wrong role.
///
/// A member of an organisation acts as the organisation's rights holder (the returned user has its id
/// and the `Holder` role, with the member's own name and email) where `roles` admit a rights holder and
/// the member's role covers the request's area ([`crate::domain::team::area_of`]).
pub async fn require(state: &State, req: &HttpRequest, roles: &[Role]) -> Result<User, ApiError> {
    let user = current_user(state, req).await?.ok_or_else(ApiError::unauthenticated)?;
    let id = user.id.clone();
    match principal(state, req, user, roles).await? {
        Some(u) => Ok(u),
        None => match membership(state, id).await? {
            // Say which role is missing, in the member's terms.
            Some((m, _)) => {
                Err(ApiError::forbidden(format!("Your team role ({}) does not cover this", m.role.as_str()))
                    .keyed("error-team-role", &[("role", m.role.as_str())]))
            }
            None => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                Err(ApiError::forbidden(format!("this needs one of the roles {}", names.join(", ")))
                    .keyed("error-role-missing", &[("roles", &names.join(", "))]))
            }
        },
    }
}

/// Who `user` acts as for this request, if `roles` admit them (see [`require`]).
async fn principal(state: &State, req: &HttpRequest, user: User, roles: &[Role]) -> Result<Option<User>, ApiError> {
    let personal = crate::domain::team::is_personal(req.path());
    if roles.contains(&Role::Holder) && !matches!(user.role, Role::Holder | Role::Admin) && !personal {
        let id = user.id.clone();
        if let Some((m, org_name)) = membership(state, id).await? {
            let read = matches!(*req.method(), actix_web::http::Method::GET | actix_web::http::Method::HEAD);
            if m.role.allows(crate::domain::team::area_of(read, req.path())) {
                return Ok(Some(acting_for(user, &m, org_name)));
            }
        }
    }
    Ok(roles.contains(&user.role).then_some(user))
}

/// The organisation `user` is a member of, with its name.
pub(crate) async fn membership(
    state: &State,
    user: PartyId,
) -> Result<Option<(crate::store::team::Member, Option<String>)>, ApiError> {
    db(state, move |s| {
        let Some(m) = s.membership(&user)? else { return Ok(None) };
        let org_name = s.user(&m.org)?.map(|u| u.name);
        Ok(Some((m, org_name)))
    })
    .await
}

/// `user` acting for the organisation of `m`: its id and the holder role, the member's email, and the
/// organisation's name for page headings (the member works on its records).
pub(crate) fn acting_for(user: User, m: &crate::store::team::Member, org_name: Option<String>) -> User {
    let name = org_name.unwrap_or(user.name.clone());
    let acting = Some(crate::domain::team::Acting { member: user.id.clone(), role: m.role });
    User { id: m.org.clone(), role: Role::Holder, password_hash: None, acting, name, ..user }
}

/// For an endpoint that takes a record's id: the signed-in user with one of `roles` (or a member acting
/// for their organisation, as in [`require`]), else 401 without a session and 404 (as for an unknown
/// id, never 403) with the wrong role, so nobody learns by the status which ids exist.
pub async fn require_for_record(
    state: &State,
    req: &HttpRequest,
    roles: &[Role],
    what: &'static str,
) -> Result<User, ApiError> {
    let user = current_user(state, req).await?.ok_or_else(ApiError::unauthenticated)?;
    principal(state, req, user, roles).await?.ok_or_else(|| ApiError::not_found(what))
}

/// For a submitted form: checks its CSRF token, then that a user with one of `roles` is signed in.
/// Errors render as pages, since forms come from browsers.
pub async fn form_user(state: &State, req: &HttpRequest, csrf: &str, roles: &[Role]) -> Result<User, ApiError> {
    check_csrf(req, Some(csrf)).map_err(ApiError::page)?;
    require(state, req, roles).await.map_err(ApiError::page)
}

/// A new party id for a user.
pub fn new_user_id() -> PartyId {
    PartyId::new(short_id("u", 12)).unwrap_or_else(|e| unreachable!("generated ids are valid: {e}"))
}

/// Creates an account (and, for a rights holder, the licensing party with the same id).
pub async fn create_account(
    state: &State,
    email: String,
    name: String,
    password: Option<String>,
    role: Role,
) -> Result<User, ApiError> {
    let email = email.trim().to_owned();
    let name = name.trim().to_owned();
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid("enter a valid email address").keyed("acct-error-email", &[]));
    }
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("enter a name of 1 to 100 characters").keyed("acct-error-name", &[]));
    }
    seal_licensing::offer::check_display_text("name", &name)
        .map_err(|e| ApiError::invalid(e.to_string()).keyed("acct-error-name-invalid", &[]))?;
    let hash = match password {
        Some(p) => {
            check_password(&p)?;
            Some(web::block(move || hash_password(&p)).await?.map_err(ApiError::internal)?)
        }
        None => None,
    };
    let user =
        User { id: new_user_id(), email, name, role, password_hash: hash, created_at: state.now(), acting: None };
    let u = user.clone();
    db(state, move |s| {
        s.create_user(&u)?;
        if u.role == Role::Holder {
            s.register_holder(&RightsHolder::new(u.id.clone(), u.name.clone()))?;
        }
        Ok(())
    })
    .await
    // The one conflict a fresh account can meet is its address being taken already.
    .map_err(|e| if e.code == "conflict" { e.keyed("acct-error-email-taken", &[]) } else { e })?;
    Ok(user)
}

pub(crate) async fn start_session(state: &State, user: &User) -> Result<HttpResponse, ApiError> {
    let token = random_token(32);
    let hash = token_hash(&token);
    let days = state.config.session_days;
    let expires = state.now().checked_add_days(days).ok_or_else(|| ApiError::internal("session expiry"))?;
    let id = user.id.clone();
    db(state, move |s| Ok(s.create_session(&hash, &id, expires)?)).await?;
    let target = if user.role == Role::Admin { "/admin" } else { "/dashboard" };
    // The language the account chose follows it to this browser.
    let person = user.person().clone();
    let lang = db(state, move |s| Ok(s.user_lang(&person)?)).await?.as_deref().and_then(crate::i18n::Lang::parse);
    let mut response = HttpResponse::SeeOther();
    if let Some(lang) = lang {
        response.cookie(super::lang_cookie(lang, state.config.secure_cookies));
    }
    let person = user.person().clone();
    let zone = db(state, move |s| Ok(s.user_zone(&person)?)).await?.and_then(crate::i18n::Zone::from_minutes);
    if let Some(zone) = zone {
        response.cookie(super::zone_cookie(zone, state.config.secure_cookies));
    }
    Ok(response
        .cookie(cookie(SESSION_COOKIE, token, state.config.secure_cookies, Some(days)))
        .insert_header((header::LOCATION, target))
        .finish())
}

/// Sign-up and sign-in pages.
#[derive(askama::Template)]
#[template(path = "account.html")]
struct AccountPage {
    /// The page language.
    l: crate::i18n::Lang,
    sign_up: bool,
    csrf: String,
    error: Option<String>,
    email: String,
}

fn account_page(req: &HttpRequest, state: &State, sign_up: bool, error: Option<String>, email: String) -> HttpResponse {
    let status =
        if error.is_some() { actix_web::http::StatusCode::BAD_REQUEST } else { actix_web::http::StatusCode::OK };
    match csrf_page(req, state, |csrf| AccountPage { l: super::lang_of(req), sign_up, csrf, error, email }) {
        Ok(mut resp) => {
            *resp.status_mut() = status;
            resp
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

async fn sign_up_page(state: State, req: HttpRequest) -> HttpResponse {
    account_page(&req, &state, true, None, String::new())
}

async fn sign_in_page(state: State, req: HttpRequest) -> HttpResponse {
    account_page(&req, &state, false, None, String::new())
}

/// The sign-up form.
#[derive(Debug, Deserialize)]
pub struct SignUpForm {
    csrf: String,
    email: String,
    name: String,
    password: String,
    role: String,
}

/// Whether this client may start another argon2 hash now (sign-up, reset, password change): 10 a
/// minute per address, so the forms cannot be used to burn the server's CPU.
pub(crate) fn hash_allowed(state: &State, req: &HttpRequest) -> Result<(), ApiError> {
    let ip = client_ip(req, &state.config.trusted_proxies);
    if state.limiter.allow(&format!("hash:{ip}"), state.now().unix_ms(), 10, 60_000) {
        Ok(())
    } else {
        Err(throttled())
    }
}

/// The answer to a throttled request.
pub fn throttled() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many attempts; wait a few minutes",
    )
    .keyed("acct-error-throttled", &[])
}

/// An error as a form on a page in `lang` shows it: its own words, or the generic words for its code
/// with the English message as the detail.
pub(crate) fn form_error(e: &ApiError, lang: crate::i18n::Lang) -> String {
    match e.message_in(lang) {
        (message, None) => message,
        (message, Some(detail)) => format!("{message} ({detail})"),
    }
}

async fn sign_up(state: State, req: HttpRequest, form: web::Form<SignUpForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    hash_allowed(&state, &req).map_err(ApiError::page)?;
    let f = form.into_inner();
    let lang = super::lang_of(&req);
    let role = match f.role.as_str() {
        "holder" => Role::Holder,
        "licensee" => Role::Licensee,
        "developer" => Role::Developer,
        _ => return Ok(account_page(&req, &state, true, Some(lang.t("acct-choose-role")), f.email)),
    };
    match create_account(&state, f.email.clone(), f.name, Some(f.password), role).await {
        Ok(user) => start_session(&state, &user).await,
        Err(e) if e.status.is_client_error() => {
            Ok(account_page(&req, &state, true, Some(form_error(&e, lang)), f.email))
        }
        Err(e) => Err(e.page()),
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    csrf: String,
    email: String,
    password: String,
}

async fn sign_in(state: State, req: HttpRequest, form: web::Form<SignInForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let f = form.into_inner();
    let now_ms = state.now().unix_ms();
    let ip_key = format!("ip:{}", client_ip(&req, &state.config.trusted_proxies));
    let email_key = format!("email:{}", normalise_email(&f.email));
    // Failures only are counted: 20 a minute per address, and per address 5 at once then one every
    // three minutes (5 per 15 minutes), so a guesser is slowed to a crawl and the owner is never locked.
    let (ip_limit, email_limit) = ((20, 60_000), (5, 15 * 60_000));
    let per_ip = state.limiter.check(&ip_key, now_ms, ip_limit.0, ip_limit.1);
    let per_email = state.limiter.check(&email_key, now_ms, email_limit.0, email_limit.1);
    if !(per_ip && per_email) {
        state.metrics.sign_ins_limited.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let words = super::lang_of(&req).t("acct-error-throttled");
        let mut resp = account_page(&req, &state, false, Some(words), f.email);
        *resp.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return Ok(resp);
    }
    let email = normalise_email(&f.email);
    let user = db(&state, move |s| Ok(s.user_by_email(&email)?)).await?;
    let password = f.password;
    let ok = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        _ if password.chars().count() > MAX_PASSWORD_CHARS => false,
        Some(hash) => web::block(move || verify_password(&password, &hash)).await?,
        None => {
            // Spend the same time as a real check, so response times do not reveal which addresses exist.
            web::block(move || verify_password(&password, dummy_hash())).await?;
            false
        }
    };
    match (ok, user) {
        (true, Some(user)) => start_session(&state, &user).await,
        _ => {
            state.limiter.spend(&ip_key, now_ms, ip_limit.0, ip_limit.1);
            state.limiter.spend(&email_key, now_ms, email_limit.0, email_limit.1);
            let words = super::lang_of(&req).t("acct-error-wrong-credentials");
            Ok(account_page(&req, &state, false, Some(words), f.email))
        }
    }
}

/// An argon2id hash of a random string, used to time failed look-ups like real ones.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The CSRF token.
    pub csrf: String,
}

async fn sign_out(state: State, req: HttpRequest, form: web::Form<CsrfForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    if let Some(c) = req.cookie(cookie_name(SESSION_COOKIE, state.config.secure_cookies)) {
        let hash = token_hash(c.value());
        let now = state.now();
        db(&state, move |s| Ok(s.delete_session(&hash, now)?)).await?;
    }
    let mut gone = cookie(SESSION_COOKIE, String::new(), state.config.secure_cookies, None);
    gone.make_removal();
    Ok(HttpResponse::SeeOther().cookie(gone).insert_header((header::LOCATION, "/")).finish())
}

#[derive(askama::Template)]
#[template(path = "reset.html")]
struct ResetPage {
    /// The page language.
    l: crate::i18n::Lang,
    token: Option<String>,
    csrf: String,
    message: Option<String>,
    error: Option<String>,
}

async fn forgot_page(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    csrf_page(&req, &state, |csrf| ResetPage { l: super::lang_of(&req), token: None, csrf, message: None, error: None })
}

/// The forgotten-password form.
#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

/// Sends a single-use reset link (valid one hour) to an existing account. The answer is the same
/// whether or not the address has an account, so the form cannot be used to find out.
async fn forgot(state: State, req: HttpRequest, form: web::Form<ForgotForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let now = state.now();
    let email = normalise_email(&form.email);
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let allowed = state.limiter.allow(&format!("forgot-ip:{ip}"), now.unix_ms(), 10, 60 * 60_000)
        && state.limiter.allow(&format!("forgot:{email}"), now.unix_ms(), 3, 60 * 60_000);
    /// The body (`templates/mail/reset.txt`).
    #[derive(askama::Template)]
    #[template(path = "mail/reset.txt", escape = "none")]
    struct ResetMail<'a> {
        l: crate::i18n::Lang,
        name: &'a str,
        link: &'a str,
    }
    // The mail is in the language of the request that asked for it: the person who asked reads it.
    let lang = super::lang_of(&req);
    if allowed {
        let token = random_token(32);
        let hash = token_hash(&token);
        let link = format!("{}/reset/{token}", state.config.public_url);
        db(&state, move |s| {
            if let Some(user) = s.user_by_email(&email)? {
                s.create_reset(&hash, &user.id, now.saturating_add_ms(3_600_000))?;
                let mail = crate::store::platform::Mail {
                    to: user.email.clone(),
                    subject: lang.t("acct-reset-mail-subject"),
                    body: askama::Template::render(&ResetMail { l: lang, name: &user.name, link: &link })
                        .map_err(ApiError::internal)?,
                    attachment: None,
                };
                s.enqueue_mail(&mail, now)?;
            }
            Ok(())
        })
        .await
        .map_err(ApiError::page)?;
    }
    let message = Some(lang.t("acct-reset-sent"));
    csrf_page(&req, &state, |csrf| ResetPage { l: lang, token: None, csrf, message, error: None })
}

async fn reset_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let token = Some(path.into_inner());
    csrf_page(&req, &state, |csrf| ResetPage { l: super::lang_of(&req), token, csrf, message: None, error: None })
}

/// The new-password form.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    csrf: String,
    password: String,
}

async fn reset(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let token = path.into_inner();
    let lang = super::lang_of(&req);
    let fail = |error: String| {
        let (token, error) = (Some(token.clone()), Some(error));
        let mut resp = csrf_page(&req, &state, |csrf| ResetPage { l: lang, token, csrf, message: None, error })?;
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
        Ok::<_, ApiError>(resp)
    };
    if let Err(e) = check_password(&form.password) {
        return fail(form_error(&e, lang));
    }
    hash_allowed(&state, &req).map_err(ApiError::page)?;
    let password = form.password.clone();
    let hash = web::block(move || hash_password(&password)).await?.map_err(ApiError::internal)?;
    let (th, now) = (token_hash(&token), state.now());
    match db(&state, move |s| Ok(s.reset_password(&th, &hash, now)?)).await? {
        Some(user) => {
            tracing::info!(%user, "password reset; sessions ended");
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/sign-in")).finish())
        }
        None => fail(lang.t("acct-reset-link-invalid")),
    }
}

/// The change-password form.
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    csrf: String,
    current: String,
    password: String,
}

/// Changes the signed-in user's password: the current one must be right; every session ends, and
/// this browser gets a new one.
async fn change_password(
    state: State,
    req: HttpRequest,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, ApiError> {
    let all = [Role::Holder, Role::Licensee, Role::Admin, Role::Developer];
    let user = form_user(&state, &req, &form.csrf, &all).await?;
    check_password(&form.password).map_err(ApiError::page)?;
    if form.current.chars().count() > MAX_PASSWORD_CHARS {
        return Err(wrong_current_password());
    }
    hash_allowed(&state, &req).map_err(ApiError::page)?;
    let (current, stored) = (form.current.clone(), user.password_hash.clone().unwrap_or_default());
    if !web::block(move || verify_password(&current, &stored)).await? {
        return Err(wrong_current_password());
    }
    let password = form.password.clone();
    let hash = web::block(move || hash_password(&password)).await?.map_err(ApiError::internal)?;
    let id = user.id.clone();
    db(&state, move |s| Ok(s.set_password(&id, &hash)?)).await?;
    tracing::info!(user = %user.id, "password changed; other sessions ended");
    start_session(&state, &user).await
}

fn wrong_current_password() -> ApiError {
    ApiError::forbidden("the current password is wrong").keyed("acct-error-current-password", &[]).page()
}

/// The account routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-up", web::get().to(sign_up_page))
        .route("/sign-up", web::post().to(sign_up))
        .route("/sign-in", web::get().to(sign_in_page))
        .route("/sign-in", web::post().to(sign_in))
        .route("/sign-out", web::post().to(sign_out))
        .route("/account/password", web::post().to(change_password))
        .route("/forgot", web::get().to(forgot_page))
        .route("/forgot", web::post().to(forgot))
        .route("/reset/{token}", web::get().to(reset_page))
        .route("/reset/{token}", web::post().to(reset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_differ() {
        let h = hash_password("correct horse battery").expect("should succeed");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert_ne!(h, hash_password("correct horse battery").expect("should succeed"), "salted");
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!verify_password("x", dummy_hash()));
    }

    #[test]
    fn limiter_throttles_per_key_and_refills() {
        let l = RateLimiter::default();
        assert!((0..5).all(|_| l.allow("a", 0, 5, 1000)));
        assert!(!l.allow("a", 10, 5, 1000));
        assert!(l.allow("b", 10, 5, 1000));
        // One token comes back every window/limit: a throttle, not a lock.
        assert!(l.allow("a", 200, 5, 1000));
        assert!(!l.allow("a", 210, 5, 1000));
        assert!((0..5).all(|_| l.allow("a", 5_000, 5, 1000)));
        // Checking does not spend.
        assert!((0..10).all(|_| l.check("c", 0, 1, 1000)));
        l.spend("c", 0, 1, 1000);
        assert!(!l.check("c", 1, 1, 1000));
    }

    #[test]
    fn csrf_tokens_are_bound_to_sessions() {
        assert_eq!(session_csrf("abc"), session_csrf("abc"));
        assert_ne!(session_csrf("abc"), session_csrf("abd"));
        assert!(!session_csrf("abc").contains("abc"));
        assert_eq!(cookie_name(SESSION_COOKIE, true), "__Host-seal_session");
        assert_eq!(cookie_name(CSRF_COOKIE, false), "seal_csrf");
        assert!(check_password(&"x".repeat(257)).is_err());
        assert!(check_password(&"x".repeat(256)).is_ok());
    }
}
