//! The actix-web application: shared state, the route table and the server's start and stop.
//!
//! Handlers never hold the database across an `.await`: every store call runs on actix's blocking pool
//! through [`db`], behind one mutex (SQLite has one writer anyway, and WAL lets that writer commit
//! without waiting for readers). The seal's hot path ([`seal`]) does not touch the database at all: it
//! serves pre-rendered JSON from memory, refreshed whenever a work, an offer or a licence changes.

pub mod analysis;
pub mod auth;
pub mod cases;
pub mod checkout;
pub mod dashboard;
pub mod error;
pub mod lists;
pub mod mail;
pub mod metrics;
pub mod monitoring;
pub mod notifications;
pub mod proof;
pub mod rest;
pub mod rest_analysis;
pub mod sandbox;
pub mod scheduler;
pub mod seal;
pub mod seal_image;
pub mod setup;
pub mod svg;
pub mod team;

use crate::config::ServeConfig;
use crate::pdf::PdfFont;
use crate::store::prelude::*;
use crate::store::{demo, SqliteStore};
use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use error::ApiError;
use seal_licensing::letter::PlatformKey;
use seal_licensing::Timestamp;
use std::sync::{Arc, Mutex};

/// Everything handlers share.
pub struct AppState {
    /// Settings.
    pub config: ServeConfig,
    /// The store; use [`db`] to reach it.
    pub store: Mutex<SqliteStore>,
    /// Pre-rendered seal answers.
    pub seals: crate::services::seal::SealCache,
    /// The platform's signing key for letters.
    pub key: PlatformKey,
    /// A CJK font for PDFs, if the machine has one (PDF downloads answer 503 without).
    pub font: Option<PdfFont>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Sign-in attempt limits.
    pub limiter: auth::RateLimiter,
    /// The payment providers, by name.
    pub providers: crate::services::payment::Providers,
    /// The clock (a function so tests can move time).
    pub clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// The one guarded way out to the network (ownership checks, first-view fetches).
    pub fetcher: seal_crawler::fetch::Fetcher,
    /// Registered works' content, by SHA-256 (`DATA/content`).
    pub content: crate::content::ContentStore,
    /// The fingerprint indexes (`DATA/index`). Lock order: the store first, then this. Matching (the
    /// monitoring pipeline, `/api/v1/match`) takes it for reading per item, registration for writing.
    pub monitor: std::sync::RwLock<crate::monitor::Monitor>,
    /// The page side of retroactive matching (`DATA/index/pages.snap`).
    pub pages: crate::monitor::pages::PageStore,
    /// Analyst search over hits and their pages (`DATA/search`), kept current by the scheduler.
    pub search: crate::search::SearchIndex,
    /// Proofs: the TSA, the log's checkpoints and certificates (`DATA/keys`).
    pub notary: crate::services::notary::Notary,
    /// The external time-stamp authority (`tsa_url`), if one is configured.
    pub external_tsa: Option<crate::services::external_tsa::ExternalTsa>,
    /// The key that signs evidence captures (`DATA/keys/evidence.p384`).
    pub evidence: seal_crawler::evidence::EvidenceSigner,
}

/// Shared state as handlers receive it.
pub type State = web::Data<AppState>;

impl AppState {
    /// What the checkout use cases need of this server.
    pub fn checkout_context(&self) -> crate::services::checkout::CheckoutContext<'_> {
        crate::services::checkout::CheckoutContext {
            key: &self.key,
            seals: &self.seals,
            providers: &self.providers,
            public_url: &self.config.public_url,
            licences_granted: &self.metrics.licences_granted,
            font: self.font.as_ref(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// The system clock as a [`Timestamp`].
pub fn system_now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Runs `f` on the store on the blocking pool.
pub async fn db<T: Send + 'static>(
    state: &State,
    f: impl FnOnce(&mut SqliteStore) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    web::block(move || {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll back), so
        // a poisoned lock is safe to keep using.
        let mut guard = state.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await?
}

/// Escapes text for HTML outside templates.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A 303 to `location`: where a form post sends the browser next.
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location.to_owned())).finish()
}

/// The cookie that carries the chosen interface language.
pub const LANG_COOKIE: &str = "seal_lang";

/// The language of a page for this request: the one the visitor chose (the language cookie, set by the
/// switch in the header and at sign-in from the account's choice), else the best match for the
/// browser's `Accept-Language`, else Chinese.
pub fn lang_of(req: &actix_web::HttpRequest) -> crate::i18n::Lang {
    use crate::i18n::{Lang, Zone};
    let lang = match req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
        Some(lang) => lang,
        None => req
            .headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or_else(Lang::default, Lang::negotiate),
    };
    // The zone the person chose (cookie set at sign-in and by the account bar); else Beijing time.
    match req.cookie(ZONE_COOKIE).and_then(|c| c.value().parse().ok()).and_then(Zone::from_minutes) {
        Some(zone) => lang.in_zone(zone),
        None => lang,
    }
}

/// The server's PDF font, or the stable `no_font` answer (503) when none was found at start.
pub(crate) fn pdf_font(state: &AppState) -> Result<crate::pdf::PdfFont, ApiError> {
    state.font.clone().ok_or_else(|| {
        ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "no_font", "no CJK font installed for PDFs")
    })
}

/// The cookie that carries the chosen time zone (minutes east of UTC).
pub const ZONE_COOKIE: &str = "seal_tz";

/// The time-zone cookie for `zone`: a year, like the language's.
pub(crate) fn zone_cookie(zone: crate::i18n::Zone, secure: bool) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(ZONE_COOKIE, zone.minutes().to_string())
        .path("/")
        .same_site(actix_web::cookie::SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The time-zone form of the account bar.
#[derive(Debug, serde::Deserialize)]
struct ZoneForm {
    csrf: String,
    minutes: String,
}

/// Saves the chosen time zone on the account and in the browser, then goes back to the dashboard.
async fn set_zone(
    state: State,
    req: actix_web::HttpRequest,
    form: web::Form<ZoneForm>,
) -> Result<HttpResponse, ApiError> {
    auth::check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let user = auth::current_user(&state, &req).await?.ok_or_else(|| ApiError::unauthenticated().page())?;
    let zone = form
        .minutes
        .trim()
        .parse()
        .ok()
        .and_then(crate::i18n::Zone::from_minutes)
        .ok_or_else(|| ApiError::invalid("choose a time zone from the list").keyed("error-zone", &[]).page())?;
    let person = user.person().clone();
    db(&state, move |s| Ok(s.set_user_zone(&person, i64::from(zone.minutes()))?)).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(zone_cookie(zone, state.config.secure_cookies))
        .insert_header((actix_web::http::header::LOCATION, "/dashboard"))
        .finish())
}

/// The language cookie for `lang`: a year, readable by scripts (it is no secret).
pub(crate) fn lang_cookie(lang: crate::i18n::Lang, secure: bool) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(actix_web::cookie::SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The language switch: remembers the choice in the browser and, for a signed-in user, on the account;
/// then goes back to the page it was clicked on (only its path: the switch never leaves the site).
async fn switch_language(
    state: State,
    req: actix_web::HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let lang = crate::i18n::Lang::parse(&code).ok_or_else(|| ApiError::not_found("language").page())?;
    if let Some(user) = auth::current_user(&state, &req).await? {
        let person = user.person().clone();
        db(&state, move |s| Ok(s.set_user_lang(&person, lang.code())?)).await?;
    }
    let back = req
        .headers()
        .get(actix_web::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| u.path() != req.path())
        .map_or_else(
            || "/".to_owned(),
            |u| format!("{}{}", u.path(), u.query().map(|q| format!("?{q}")).unwrap_or_default()),
        );
    Ok(HttpResponse::SeeOther()
        .cookie(lang_cookie(lang, state.config.secure_cookies))
        .insert_header((actix_web::http::header::LOCATION, back))
        .finish())
}

/// HTML error pages in the visitor's language: errors are made deep in handlers that do not know it, so
/// the page is rendered again here, where the request is at hand.
async fn localize_errors(
    req: actix_web::dev::ServiceRequest,
    next: middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let lang = lang_of(req.request());
    let get = req.method() == actix_web::http::Method::GET;
    let res = next.call(req).await?;
    // A signed-out visitor who opens a private page is sent to sign in rather than shown an error.
    let signed_out = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .is_some_and(|e| e.html && e.code == "unauthenticated");
    if get && signed_out {
        return Ok(res.into_response(see_other("/sign-in")));
    }
    let page =
        res.response().error().and_then(|e| e.as_error::<ApiError>()).filter(|e| e.html).map(|e| e.page_in(lang));
    Ok(match page {
        Some(page) => res.into_response(page),
        None => res.map_into_boxed_body(),
    })
}

/// Renders a template into an HTML response.
pub fn render(t: &impl askama::Template) -> Result<HttpResponse, ApiError> {
    let body = t.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The signing key.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The external TSA's client could not start.
    #[error(transparent)]
    ExternalTsa(#[from] crate::services::external_tsa::ExternalTsaError),
    /// The notary (TSA, log) could not start.
    #[error(transparent)]
    Notary(#[from] crate::services::notary::NotaryError),
    /// The socket or the runtime.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The outbound fetch policy.
    #[error("outbound fetch policy: {0}")]
    Fetch(#[from] seal_crawler::fetch::FetchError),
    /// The fingerprint indexes.
    #[error(transparent)]
    Monitor(#[from] crate::monitor::MonitorError),
    /// Registering the demo works' content.
    #[error("demo data: {0}")]
    Demo(#[from] crate::services::registration::RegistrationError),
    /// The search index.
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
}

/// Opens the data directory, loads demo data if asked, and builds the state.
pub fn open_state(
    config: ServeConfig,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
) -> Result<AppState, StartError> {
    std::fs::create_dir_all(&config.data)?;
    let mut store = SqliteStore::open_in(&config.data)?;
    let key = crate::keys::load_or_create(&config.data)?;
    let content = crate::content::ContentStore::open(&config.data)?;
    let (mut monitor, report) =
        crate::monitor::Monitor::open(&config.data, &store, &content, crate::monitor::MonitorConfig::default())?;
    if config.demo {
        let n = demo_platform(&mut store, &content, &mut monitor, clock())?;
        tracing::info!(licences = n, "demo data loaded");
    }
    // Works registered before proofs existed get theirs now, before the seals are rendered; new ones
    // arrive through the notary's subscription on every scheduler tick.
    let notary = crate::services::notary::Notary::open(&config.data, &config.public_url, &store, clock())?;
    let backfilled = notary.backfill(&mut store, &content, clock())?;
    if !backfilled.is_empty() {
        tracing::info!(works = backfilled.len(), "registrations from before proofs timestamped and logged");
    }
    let font = match crate::pdf::find_font(&config.data) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!(error = %e, "no CJK font found; PDF downloads are disabled");
            None
        }
    };
    let seals = crate::services::seal::SealCache::default();
    seals.rebuild(&store, &config.public_url)?;
    // The composition root: the one place outside `sandbox` that names it.
    let mut sandbox = sandbox::Sandbox::open(&config.data)?;
    sandbox.tolerance_s = config.webhook_tolerance_s;
    let providers = crate::services::payment::Providers::new(Arc::new(sandbox));
    let fetcher = seal_crawler::fetch::Fetcher::new(seal_crawler::fetch::FetchPolicy {
        allow_private: config.fetch_private,
        allowed_ports: config.fetch_ports.clone(),
        ..seal_crawler::fetch::FetchPolicy::default()
    })?;
    tracing::info!(
        text = report.registered.0,
        images = report.registered.1,
        replayed = report.replayed,
        repaired = report.added + report.removed,
        image_snapshot = ?monitor.image_snapshot_state(),
        "fingerprint index open"
    );
    let page_config = seal_engine::text::PageIndexConfig { retention: config.page_retention, ..Default::default() };
    let pages = crate::monitor::pages::PageStore::open(&config.data, page_config)?;
    let search = crate::search::SearchIndex::open(&config.data.join("search"))?;
    Ok(AppState {
        external_tsa: config.tsa_url.clone().map(crate::services::external_tsa::ExternalTsa::new).transpose()?,
        evidence: crate::keys::load_or_create_evidence(&config.data)?,
        notary,
        search,
        pages,
        content,
        monitor: std::sync::RwLock::new(monitor),
        fetcher,
        limiter: auth::RateLimiter::default(),
        metrics: metrics::Metrics::default(),
        store: Mutex::new(store),
        seals,
        key,
        font,
        providers,
        clock,
        config,
    })
}

/// Loads the licensing demo world (its works' content stored and fingerprinted) plus accounts for its
/// rights holders, and buys a few licences over the past days so dashboards and charts have something
/// to show. Returns the licences bought.
pub fn demo_platform(
    store: &mut SqliteStore,
    content: &crate::content::ContentStore,
    monitor: &mut crate::monitor::Monitor,
    now: Timestamp,
) -> Result<u64, StartError> {
    let loaded = crate::services::demo::load(store, content, monitor, now)?;
    if !loaded.stale.is_empty() {
        tracing::warn!(works = ?loaded.stale, "demo works from an older version keep no content");
    }
    let world = loaded.world;
    let passwords = auth::hash_password("demo-password").map_err(crate::store::StoreError::Conflict)?;
    for (id, email, name) in [
        ("rh-a", "holder-a@demo.test", "权利人 rh-a"),
        ("rh-b", "holder-b@demo.test", "权利人 rh-b"),
        ("rh-c", "holder-c@demo.test", "权利人 rh-c"),
    ] {
        let id =
            seal_licensing::ids::PartyId::new(id).map_err(|e| crate::store::StoreError::Conflict(e.to_string()))?;
        if store.user(&id)?.is_none() {
            store.create_user(&crate::store::platform::User {
                id,
                email: email.into(),
                name: name.into(),
                role: crate::store::platform::Role::Holder,
                password_hash: Some(passwords.clone()),
                created_at: now,
                acting: None,
            })?;
        }
    }
    // rh-a is a newsroom with a team: an analyst (hits, search, reports, weekly summary) and finance.
    let org =
        seal_licensing::ids::PartyId::new("rh-a").map_err(|e| crate::store::StoreError::Conflict(e.to_string()))?;
    for (id, email, name, role) in [
        ("rh-a-analyst", "analyst-a@demo.test", "分析员 Analyst A", crate::domain::team::OrgRole::Analyst),
        ("rh-a-finance", "finance-a@demo.test", "财务 Finance A", crate::domain::team::OrgRole::Finance),
    ] {
        let id =
            seal_licensing::ids::PartyId::new(id).map_err(|e| crate::store::StoreError::Conflict(e.to_string()))?;
        if store.user(&id)?.is_none() {
            store.create_user(&crate::store::platform::User {
                id: id.clone(),
                email: email.into(),
                name: name.into(),
                role: crate::store::platform::Role::Licensee,
                password_hash: Some(passwords.clone()),
                created_at: now,
                acting: None,
            })?;
            let member = crate::store::team::Member {
                org: org.clone(),
                user: id,
                role,
                weekly_summary: role == crate::domain::team::OrgRole::Analyst,
                last_summary_at: None,
            };
            store.put_member(&member, now)?;
        }
    }
    // The demo channels count as proven, so the dashboards show the finished setup.
    for h in ["rh-a", "rh-b", "rh-c"] {
        let channel = seal_licensing::ids::ChannelId::new(format!("{h}-site"))
            .map_err(|e| crate::store::StoreError::Conflict(e.to_string()))?;
        store.put_claim(&channel, &format!("seal-demo-{h}"))?;
        store.verify_claim(&channel, "review", now)?;
    }
    let day = seal_licensing::time::MS_PER_DAY;
    let mut bought = 0;
    for n in 0..40u64 {
        // Spread over the last 20 days so the charts have a shape.
        let at = Timestamp::from_unix_ms(now.unix_ms() - (n as i64 % 20) * day - (n as i64 * 3_600_000) % day);
        store.purchase(&demo::purchase(&world, n), at)?;
        bought += 1;
    }
    Ok(bought)
}

/// The route table, shared by the real server and the in-process tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(seal::configure)
        .configure(rest::configure)
        .configure(checkout::configure)
        .configure(sandbox::configure)
        .configure(auth::configure)
        .configure(setup::configure)
        .configure(dashboard::configure)
        .configure(lists::configure)
        .configure(seal_image::configure)
        .configure(monitoring::configure)
        .configure(analysis::configure)
        .configure(rest_analysis::configure)
        .configure(team::configure)
        .configure(proof::configure)
        .configure(cases::configure)
        .configure(notifications::configure)
        .configure(rest::configure_fallback)
        .route("/metrics", web::get().to(metrics::render))
        .route("/healthz", web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) }))
        .route("/static/site.css", web::get().to(static_css))
        .route("/static/copy.js", web::get().to(copy_js))
        .route("/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon))
        .route("/lang/{code}", web::get().to(switch_language))
        .route("/account/time-zone", web::post().to(set_zone));
}

async fn static_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/site.css"))
}

/// The copy buttons' script (embed codes, verification tokens).
async fn copy_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/copy.js"))
}

/// The site's icon: the seal's mark.
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(include_str!("../../static/favicon.svg"))
}

/// Headers every response gets according to what it is:
/// - HTML pages may not be framed (`frame-ancestors 'none'` and `X-Frame-Options: DENY`, against
///   clickjacking), may only post forms to this site, and load no plugins; the widget's assets
///   (`seal.js`, the badge, the seal JSON) are not HTML and are embedded on publishers' pages as meant.
/// - A response to a request that carried a session cookie is `Cache-Control: no-store` unless the
///   handler chose a policy (only the public seal answers do), so no shared cache keeps a private page.
/// - HSTS when the public URL is https.
async fn security_headers(
    req: actix_web::dev::ServiceRequest,
    next: middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::header::{self, HeaderValue};
    let state = req.app_data::<State>().cloned();
    let secure = state.as_ref().is_some_and(|s| s.config.secure_cookies);
    let https = state.as_ref().is_some_and(|s| s.config.public_url.starts_with("https://"));
    let signed_in = req.cookie(auth::cookie_name(auth::SESSION_COOKIE, secure)).is_some();
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/html"));
    if html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if signed_in && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    Ok(res)
}

/// Builds the app around a state (used by `serve` and by tests through `actix_web::test`).
pub fn app(
    state: State,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.max_body_bytes;
    App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(limit))
        .app_data(
            web::FormConfig::default()
                .limit(limit)
                .error_handler(|e, _| ApiError::invalid(format!("form: {e}")).page().into()),
        )
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(|e, _| ApiError::invalid(format!("JSON body: {e}")).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| ApiError::invalid(format!("query: {e}")).into()))
        .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::invalid(format!("path: {e}")).into()))
        .wrap(middleware::Compress::default())
        .wrap(middleware::from_fn(localize_errors))
        .wrap(middleware::from_fn(security_headers))
        .wrap(middleware::from_fn(metrics::observe))
        .wrap(
            middleware::DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "strict-origin-when-cross-origin")),
        )
        .configure(configure)
        .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::not_found("page").page()) }))
}

/// Runs the server until SIGTERM or Ctrl-C, then stops accepting and lets requests in flight finish.
pub async fn serve(state: AppState) -> Result<(), StartError> {
    let bind = state.config.bind;
    let workers = state.config.workers;
    let url = state.config.public_url.clone();
    let state = web::Data::new(state);
    mail::spawn(state.clone());
    mail::spawn_settlement(state.clone());
    scheduler::spawn(state.clone());
    let server = HttpServer::new(move || app(state.clone())).workers(workers).shutdown_timeout(10).bind(bind)?.run();
    tracing::info!(%url, %bind, "Copyright Seal is serving");
    println!("Copyright Seal is running at {url}/ (listening on {bind}; Ctrl-C or SIGTERM stops it)");
    server.await?;
    tracing::info!("stopped");
    Ok(())
}
