//! The three-step seal setup for rights holders: add a channel and prove it is yours, pick the offers
//! from presets, copy the embed code. One setup covers every work published on the channel: offers
//! target the channel, and each work registered on it inherits them.
//!
//! Ownership of a website or blog is proven over HTTP: the owner publishes the claim token either in
//! `<meta name="copyright-seal-verification" content="TOKEN">` on the home page or as the body of
//! `/.well-known/copyright-seal.txt`, and the platform fetches both. WeChat official accounts and Weibo
//! accounts have no page we can fetch reliably, so the owner puts the token in the account profile and
//! a reviewer confirms it from the admin dashboard.

use super::auth::{form_user, random_token, short_id};
use super::error::ApiError;
use super::{db, State};
use crate::store::platform::Role;
use crate::store::Repository;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{ChannelId, OfferId, PartyId, WorkId};
use seal_licensing::money::{Amount, Currency, Money};
use seal_licensing::offer::{Action, Channel, ChannelKind, Constraints, Offer, OfferTarget, Work};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Parses a channel kind as submitted.
pub fn parse_kind(text: &str) -> Option<ChannelKind> {
    Some(match text {
        "website" => ChannelKind::Website,
        "wechat_official_account" => ChannelKind::WechatOfficialAccount,
        "weibo" => ChannelKind::Weibo,
        "blog" => ChannelKind::Blog,
        _ => return None,
    })
}

/// Creates a channel with a fresh claim token for `owner`.
pub async fn create_channel(
    state: &State,
    owner: PartyId,
    kind: ChannelKind,
    handle: &str,
) -> Result<Channel, ApiError> {
    let handle = handle.trim().trim_end_matches('/').to_owned();
    if handle.is_empty() || handle.chars().count() > 200 || handle.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid("enter the domain, account name or blog address, without spaces"));
    }
    let channel = Channel {
        id: ChannelId::new(short_id("ch", 9)).map_err(|e| ApiError::internal(e.to_string()))?,
        owner,
        kind,
        handle,
        default_offers: Vec::new(),
    };
    let c = channel.clone();
    db(state, move |s| {
        s.register_channel(&c)?;
        s.put_claim(&c.id, &format!("seal-{}", random_token(16)))?;
        Ok(())
    })
    .await?;
    Ok(channel)
}

/// A channel of `owner`, or 404 (also for someone else's channel).
pub async fn owned_channel(state: &State, owner: &PartyId, id: &str) -> Result<Channel, ApiError> {
    let cid = ChannelId::new(id).map_err(|_| ApiError::not_found("channel"))?;
    let c = db(state, move |s| Ok(s.channel(&cid)?)).await?;
    c.filter(|c| &c.owner == owner).ok_or_else(|| ApiError::not_found("channel"))
}

/// The sites to look at for a handle: as given when it names a scheme, else https and then http.
pub fn claim_bases(handle: &str) -> Vec<String> {
    let h = handle.trim_end_matches('/');
    if h.starts_with("http://") || h.starts_with("https://") {
        vec![h.to_owned()]
    } else {
        vec![format!("https://{h}"), format!("http://{h}")]
    }
}

/// The home page and the well-known file of one base URL.
pub fn claim_urls(base: &str) -> (String, String) {
    let root = base.split('/').take(3).collect::<Vec<_>>().join("/");
    (format!("{base}/"), format!("{root}/.well-known/copyright-seal.txt"))
}

/// Whether an HTML page carries the claim token in the verification meta tag.
pub fn page_has_token(html: &str, token: &str) -> bool {
    // Attribute order and quoting vary; look for a meta tag naming us that also holds the token.
    html.split("<meta").skip(1).any(|tag| {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        tag.contains("copyright-seal-verification") && tag.contains(token)
    })
}

/// Fetches the channel's pages (https first for a bare domain, following redirects) and checks for
/// the token. Returns the method that proved it, or every problem met on the way.
pub async fn check_claim(handle: &str, token: &str) -> Result<&'static str, String> {
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(10)).max_redirects(5).finish();
    let mut problems = Vec::new();
    for base in claim_bases(handle) {
        let (home, file) = claim_urls(&base);
        match client.get(&file).send().await {
            Ok(mut r) if r.status().is_success() => match r.body().limit(4096).await {
                Ok(b) if String::from_utf8_lossy(&b).trim() == token => return Ok("file"),
                Ok(_) => problems.push(format!("{file} does not contain the token")),
                Err(e) => problems.push(format!("{file}: {e}")),
            },
            Ok(r) => problems.push(format!("{file} answered {}", r.status())),
            Err(e) => problems.push(format!("{file}: {e}")),
        }
        match client.get(&home).send().await {
            Ok(mut r) if r.status().is_success() => match r.body().limit(2 * 1024 * 1024).await {
                Ok(b) => {
                    if page_has_token(&seal_engine::text::extract::decode_html(&b), token) {
                        return Ok("meta");
                    }
                    problems.push(format!("{home} has no copyright-seal-verification meta tag with the token"));
                }
                Err(e) => problems.push(format!("{home}: {e}")),
            },
            Ok(r) => problems.push(format!("{home} answered {}", r.status())),
            Err(e) => problems.push(format!("{home}: {e}")),
        }
    }
    Err(problems.join("; "))
}

#[derive(Debug, Deserialize)]
struct NewChannelForm {
    csrf: String,
    kind: String,
    handle: String,
}

async fn new_channel(
    state: State,
    req: HttpRequest,
    form: web::Form<NewChannelForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let kind = parse_kind(&form.kind).ok_or_else(|| ApiError::invalid("choose a channel kind").page())?;
    let c = create_channel(&state, user.id, kind, &form.handle).await.map_err(ApiError::page)?;
    Ok(see_other(&format!("/dashboard/channels/{}", c.id)))
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_owned())).finish()
}

async fn verify(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let c = owned_channel(&state, &user.id, &path).await.map_err(ApiError::page)?;
    let id = c.id.clone();
    let claim = db(&state, move |s| Ok(s.claim(&id)?)).await?.ok_or_else(|| ApiError::not_found("claim").page())?;
    if claim.verified_at.is_some() {
        return Ok(see_other(&format!("/dashboard/channels/{}", c.id)));
    }
    if !matches!(c.kind, ChannelKind::Website | ChannelKind::Blog) {
        return Ok(see_other(&format!("/dashboard/channels/{}?msg=review", c.id)));
    }
    match check_claim(&c.handle, &claim.token).await {
        Ok(method) => {
            let (id, now) = (c.id.clone(), state.now());
            db(&state, move |s| Ok(s.verify_claim(&id, method, now)?)).await?;
            Ok(see_other(&format!("/dashboard/channels/{}", c.id)))
        }
        Err(why) => {
            tracing::info!(channel = %c.id, %why, "ownership check failed");
            Ok(see_other(&format!("/dashboard/channels/{}?msg=failed&why={}", c.id, url_encode(&why))))
        }
    }
}

/// Percent-encodes a query value.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Offer presets: what most publishers choose, editable afterwards.
pub fn preset(
    name: &str,
    owner: &PartyId,
    target: OfferTarget,
    price_minor: i64,
    currency: Currency,
) -> Result<Offer, ApiError> {
    let id = OfferId::new(short_id("of", 9)).map_err(|e| ApiError::internal(e.to_string()))?;
    let all_online =
        vec![ChannelKind::Website, ChannelKind::WechatOfficialAccount, ChannelKind::Weibo, ChannelKind::Blog];
    let (permissions, constraints, price) = match name {
        "free_attribution" => (
            vec![Action::Reproduce, Action::Display],
            Constraints { online_only: true, max_excerpt_chars: Some(500), ..Constraints::default() },
            0,
        ),
        "standard_reprint" => (
            vec![Action::Reproduce, Action::Display, Action::Distribute],
            Constraints {
                channel_kinds: all_online,
                duration_days: Some(365),
                online_only: true,
                ..Constraints::default()
            },
            price_minor,
        ),
        "commercial" => (
            vec![Action::Reproduce, Action::Display, Action::Distribute, Action::Modify, Action::CommercialUse],
            Constraints { duration_days: Some(365), ..Constraints::default() },
            price_minor,
        ),
        _ => return Err(ApiError::invalid("preset must be free_attribution, standard_reprint or commercial")),
    };
    if name != "free_attribution" && price <= 0 {
        return Err(ApiError::invalid("a paid offer needs a price above zero"));
    }
    let amount = Amount::new(price).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Offer {
        id,
        assigner: owner.clone(),
        target,
        permissions,
        constraints,
        price: Money { amount, currency },
        valid_from: seal_licensing::Timestamp::EPOCH,
        valid_until: None,
    })
}

/// Parses a price typed by a person ("19.99", "20") into minor units of `currency`.
pub fn parse_price(text: &str, currency: Currency) -> Result<i64, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let exp = usize::from(currency.exponent());
    let bad = || ApiError::invalid(format!("{t:?} is not a price with at most {exp} decimals"));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > exp
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<exp$}").parse().unwrap_or(0);
    whole.checked_mul(10_i64.pow(u32::from(currency.exponent()))).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

#[derive(Debug, Deserialize)]
struct OfferForm {
    csrf: String,
    preset: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
}

/// Publishes an offer and refreshes the seals it shows on.
pub async fn publish(state: &State, offer: Offer) -> Result<(), ApiError> {
    let st = state.clone();
    db(state, move |s| {
        s.publish_offer(&offer)?;
        match &offer.target {
            OfferTarget::Channel(c) => st.seals.refresh_channel(s, &st.config.public_url, c)?,
            OfferTarget::Work(w) => st.seals.refresh_work(s, &st.config.public_url, w)?,
        }
        Ok(())
    })
    .await
}

async fn add_offer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<OfferForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let c = owned_channel(&state, &user.id, &path).await.map_err(ApiError::page)?;
    let currency = Currency::parse(if form.currency.is_empty() { "CNY" } else { &form.currency })
        .map_err(|e| ApiError::invalid(e.to_string()).page())?;
    let price = parse_price(&form.price, currency).map_err(ApiError::page)?;
    let offer =
        preset(&form.preset, &user.id, OfferTarget::Channel(c.id.clone()), price, currency).map_err(ApiError::page)?;
    publish(&state, offer).await.map_err(ApiError::page)?;
    Ok(see_other(&format!("/dashboard/channels/{}#step-3", c.id)))
}

/// A work as a rights holder registers it: its text is hashed, never stored.
pub fn new_work(
    owner: &PartyId,
    channel: Option<ChannelId>,
    title: &str,
    author: &str,
    source_url: &str,
    content: &[u8],
    now: seal_licensing::Timestamp,
) -> Result<Work, ApiError> {
    let id = WorkId::new(short_id("wk", 9)).map_err(|e| ApiError::internal(e.to_string()))?;
    if content.is_empty() {
        return Err(ApiError::invalid("paste the work's text (it is hashed for the registration, not stored)"));
    }
    // 500 characters each (the REST schema says so), which also keeps CJK text inside the domain's
    // byte limit.
    if [title, author, source_url].iter().any(|t| t.trim().chars().count() > 500) {
        return Err(ApiError::invalid("title, author and source URL take at most 500 characters each"));
    }
    let work = Work {
        id,
        owner: owner.clone(),
        title: title.trim().to_owned(),
        author: author.trim().to_owned(),
        source_url: source_url.trim().to_owned(),
        channel,
        content_sha256: Sha256::digest(content).iter().map(|b| format!("{b:02x}")).collect(),
        published_at: now,
        registered_at: now,
    };
    work.validate().map_err(|e| ApiError::invalid(e.to_string()))?;
    if !(work.source_url.starts_with("http://") || work.source_url.starts_with("https://")) {
        return Err(ApiError::invalid("the source URL must start with http:// or https://"));
    }
    Ok(work)
}

/// Registers a work and renders its seal.
pub async fn register(state: &State, work: Work) -> Result<(), ApiError> {
    let st = state.clone();
    db(state, move |s| {
        s.register_work(&work)?;
        st.seals.refresh_work(s, &st.config.public_url, &work.id)?;
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize)]
struct WorkForm {
    csrf: String,
    title: String,
    author: String,
    source_url: String,
    #[serde(default)]
    channel: String,
    content: String,
}

async fn add_work(state: State, req: HttpRequest, form: web::Form<WorkForm>) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let channel = if form.channel.is_empty() {
        None
    } else {
        Some(owned_channel(&state, &user.id, &form.channel).await.map_err(ApiError::page)?.id)
    };
    let work =
        new_work(&user.id, channel, &form.title, &form.author, &form.source_url, form.content.as_bytes(), state.now())
            .map_err(ApiError::page)?;
    register(&state, work).await.map_err(ApiError::page)?;
    Ok(see_other("/dashboard#works"))
}

/// The host of a channel handle or page URL, lower-cased, without port or path.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.to_ascii_lowercase()
}

/// Registers a page published on a verified website or blog channel the first time its seal is
/// viewed: "no upload needed where the seal is embedded". The platform fetches the page itself (the
/// reader's browser only names it), extracts its visible text with the engine (GBK pages included),
/// and registers the SHA-256 of that text under an id derived from the URL, so concurrent first views
/// register one work. Returns `None` when the page is not on a verified channel of that id.
pub async fn register_on_first_view(state: &State, channel: &str, url: &str) -> Result<Option<WorkId>, ApiError> {
    let Ok(cid) = ChannelId::new(channel) else { return Ok(None) };
    let found = db(state, move |s| Ok((s.channel(&cid)?, s.claim(&cid)?))).await?;
    let (Some(c), Some(claim)) = found else { return Ok(None) };
    let verified = claim.verified_at.is_some() && matches!(c.kind, ChannelKind::Website | ChannelKind::Blog);
    if !verified || host_of(&c.handle) != host_of(url) || !(url.starts_with("http://") || url.starts_with("https://")) {
        return Ok(None);
    }
    // A bounded number of first views per channel and minute, so the seal cannot be used to make the
    // platform fetch a site in a loop.
    if !state.limiter.allow(&format!("register:{}", c.id), state.now().unix_ms(), 120, 60_000) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "try again in a minute",
        ));
    }
    let normalised = super::seal::normalise_url(url);
    let digest = Sha256::digest(normalised.as_bytes());
    let id = WorkId::new(format!("pg-{}", digest[..10].iter().map(|b| format!("{b:02x}")).collect::<String>()))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(10)).finish();
    let mut resp =
        client.get(url).send().await.map_err(|e| {
            ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, "fetch_failed", format!("{url}: {e}"))
        })?;
    if !resp.status().is_success() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::BAD_GATEWAY,
            "fetch_failed",
            format!("{url} answered {}", resp.status()),
        ));
    }
    let body = resp
        .body()
        .limit(8 * 1024 * 1024)
        .await
        .map_err(|e| ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, "fetch_failed", e.to_string()))?;
    let page = seal_engine::text::extract(
        &body,
        seal_engine::text::ContentKind::Auto,
        &seal_engine::text::ExtractConfig::default(),
    )
    .map_err(|e| ApiError::invalid(format!("{url}: {e}")))?;
    if page.text.trim().is_empty() {
        return Err(ApiError::invalid(format!("{url} has no text to register")));
    }
    let now = state.now();
    let holder = c.owner.clone();
    let title: String = page
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| url.to_owned())
        .chars()
        .take(200)
        .collect();
    let st = state.clone();
    let (wid, url) = (id.clone(), url.to_owned());
    db(state, move |s| {
        if s.work(&wid)?.is_none() {
            let author = s.holder_name(&holder)?;
            let work = Work {
                id: wid.clone(),
                owner: holder,
                title: title.trim().to_owned(),
                author: if author.is_empty() { "—".into() } else { author },
                source_url: url,
                channel: Some(c.id.clone()),
                content_sha256: Sha256::digest(page.text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect(),
                published_at: now,
                registered_at: now,
            };
            work.validate().map_err(|e| ApiError::invalid(e.to_string()))?;
            s.register_work(&work)?;
            tracing::info!(work = %work.id, url = %work.source_url, encoding = page.encoding, "registered on first view");
        }
        st.seals.refresh_work(s, &st.config.public_url, &wid)?;
        Ok(())
    })
    .await?;
    Ok(Some(id))
}

/// The setup routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/channels", web::post().to(new_channel))
        .route("/dashboard/channels/{id}/verify", web::post().to(verify))
        .route("/dashboard/channels/{id}/offers", web::post().to(add_offer))
        .route("/dashboard/works", web::post().to(add_work));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_exactly() {
        assert_eq!(parse_price("19.99", Currency::CNY).expect("should succeed"), 1999);
        assert_eq!(parse_price("20", Currency::CNY).expect("should succeed"), 2000);
        assert_eq!(parse_price("0.5", Currency::USD).expect("should succeed"), 50);
        assert_eq!(parse_price("500", Currency::JPY).expect("should succeed"), 500);
        assert!(parse_price("1.999", Currency::CNY).is_err());
        assert!(parse_price("-1", Currency::CNY).is_err());
        assert!(parse_price("1e3", Currency::CNY).is_err());
        assert!(parse_price("5.5", Currency::JPY).is_err());
    }

    #[test]
    fn meta_tags_and_urls() {
        assert!(page_has_token(
            "<head><meta content=\"seal-x\" name=\"copyright-seal-verification\"></head>",
            "seal-x"
        ));
        assert!(!page_has_token("<meta name=\"description\" content=\"seal-x\">", "seal-x"));
        assert_eq!(claim_bases("example.com"), ["https://example.com", "http://example.com"]);
        assert_eq!(claim_bases("http://127.0.0.1:9/blog/"), ["http://127.0.0.1:9/blog"]);
        assert_eq!(claim_urls("https://example.com").1, "https://example.com/.well-known/copyright-seal.txt");
        assert_eq!(claim_urls("http://127.0.0.1:9/blog").0, "http://127.0.0.1:9/blog/");
        assert_eq!(claim_urls("http://127.0.0.1:9/blog").1, "http://127.0.0.1:9/.well-known/copyright-seal.txt");
    }

    #[actix_web::test]
    async fn https_checks_fail_cleanly_on_a_server_that_speaks_no_tls() {
        // A listener that accepts and answers garbage: the TLS handshake must fail with an error,
        // not a panic (which would mean no crypto provider was compiled in).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                use std::io::Write;
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nnot tls");
            }
        });
        let err = check_claim(&format!("https://{addr}"), "seal-x").await.expect_err("no TLS there");
        assert!(err.contains("https://"), "{err}");
    }
}
