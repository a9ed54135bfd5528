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
use super::dashboard::OfferKept;
use super::error::ApiError;
use super::{db, see_other, State};
use crate::domain::ContentKind;
use crate::services::channels::ChannelScope;
use crate::services::registration::{register_work, NewItem, NewWork, RegistrationError};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use actix_multipart::form::bytes::Bytes as MultipartBytes;
use actix_multipart::form::text::Text;
use actix_multipart::form::{MultipartForm, MultipartFormConfig};
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{ChannelId, OfferId, PartyId, WorkId};
use seal_licensing::money::{Amount, Currency, Money};
use seal_licensing::offer::{Action, Channel, ChannelKind, Constraints, Offer, OfferTarget, Work};
use serde::Deserialize;
use url::Url;

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

/// Creates a channel with a fresh claim token for `owner`. A website's handle is its origin (a
/// domain, or `scheme://host[:port]`); a blog's may add a path, for blogs hosted under a shared domain.
pub async fn create_channel(
    state: &State,
    owner: PartyId,
    kind: ChannelKind,
    handle: &str,
) -> Result<Channel, ApiError> {
    let handle = handle.trim().trim_end_matches('/').to_owned();
    if handle.is_empty() || handle.chars().count() > 200 || handle.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid("enter the domain, account name or blog address, without spaces")
            .keyed("error-handle-spaces", &[]));
    }
    let handle = match kind {
        ChannelKind::Website | ChannelKind::Blog => {
            ChannelScope::parse(kind, &handle).map_err(|e| ApiError::invalid(e.to_string()))?.handle()
        }
        ChannelKind::WechatOfficialAccount | ChannelKind::Weibo => handle,
    };
    let channel = Channel {
        id: ChannelId::new(short_id("ch", 9)).map_err(|e| ApiError::internal(e.to_string()))?,
        owner,
        kind,
        handle,
        default_offers: Vec::new(),
    };
    channel.validate().map_err(|e| ApiError::invalid(e.to_string()))?;
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
    let made = match parse_kind(&form.kind) {
        Some(kind) => create_channel(&state, user.id, kind, &form.handle).await,
        None => Err(ApiError::invalid("choose a channel kind").keyed("error-channel-kind", &[])),
    };
    match made {
        Ok(c) => Ok(see_other(&format!("/dashboard/channels/{}", c.id))),
        Err(e) if e.status.is_client_error() => {
            let forms = super::dashboard::HolderForms {
                channel_error: Some(e.message_in(super::lang_of(&req)).0),
                channel_kind: form.kind.clone(),
                channel_handle: form.handle.clone(),
                ..Default::default()
            };
            super::dashboard::show_dashboard(&state, &req, None, forms).await
        }
        Err(e) => Err(e.page()),
    }
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
        // WeChat and Weibo profiles cannot be fetched reliably: an administrator looks at the
        // account, and the channel shows 审核中 until they decide.
        let (id, owner, now) = (c.id.clone(), user.id.clone(), state.now());
        db(&state, move |s| {
            s.atomically(|s| -> Result<(), crate::store::StoreError> {
                if s.request_review(&id)? {
                    let payload = serde_json::json!({ "channel": id.as_str(), "owner": owner.as_str() });
                    s.record_event("channel.review_requested", id.as_str(), &payload, now)?;
                }
                Ok(())
            })
            .map_err(ApiError::from)
        })
        .await?;
        return Ok(see_other(&format!("/dashboard/channels/{}?msg=review", c.id)));
    }
    match crate::services::channels::check_claim(&state.fetcher, c.kind, &c.handle, &claim.token).await {
        Ok(method) => {
            let (id, now) = (c.id.clone(), state.now());
            db(&state, move |s| Ok(s.verify_claim(&id, method, now)?)).await?;
            Ok(see_other(&format!("/dashboard/channels/{}", c.id)))
        }
        Err(why) => {
            tracing::info!(channel = %c.id, why = why.code(), "ownership check failed");
            Ok(see_other(&format!("/dashboard/channels/{}?msg={}", c.id, why.code())))
        }
    }
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
        _ => {
            return Err(ApiError::invalid("preset must be free_attribution, standard_reprint or commercial")
                .keyed("error-preset", &[]))
        }
    };
    if name != "free_attribution" && price <= 0 {
        return Err(ApiError::invalid("a paid offer needs a price above zero").keyed("error-price-zero", &[]));
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
        withdrawn_at: None,
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
    let bad = || {
        ApiError::invalid(format!("{t:?} is not a price with at most {exp} decimals"))
            .keyed("error-price-invalid", &[("input", t), ("decimals", &exp.to_string())])
    };
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

async fn add_offer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<OfferForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let c = owned_channel(&state, &user.id, &path).await.map_err(ApiError::page)?;
    let made = typed_price(&form.price, &form.currency, Currency::CNY).and_then(|(price, currency)| {
        preset(&form.preset, &user.id, OfferTarget::Channel(c.id.clone()), price, currency)
    });
    let offer = match made {
        Ok(o) => o,
        Err(e) => {
            let kept =
                OfferKept { preset: form.preset.clone(), price: form.price.clone(), currency: form.currency.clone() };
            return refused_offer(&state, &req, &user, c.id.as_str(), e, kept).await;
        }
    };
    change_offers(&state, Some(offer), None).await.map_err(ApiError::page)?;
    Ok(see_other(&format!("/dashboard/channels/{}#step-2", c.id)))
}

/// A price and currency as typed into an offer form (`default` when no currency was chosen), in minor
/// units.
fn typed_price(price: &str, currency: &str, default: Currency) -> Result<(i64, Currency), ApiError> {
    let currency = if currency.is_empty() {
        default
    } else {
        Currency::parse(currency).map_err(|e| ApiError::invalid(e.to_string()).keyed("error-currency", &[]))?
    };
    Ok((parse_price(price, currency)?, currency))
}

/// The channel page again with the refusal beside the offer form and what was typed kept.
async fn refused_offer(
    state: &State,
    req: &HttpRequest,
    user: &User,
    channel: &str,
    e: ApiError,
    kept: OfferKept,
) -> Result<HttpResponse, ApiError> {
    if !e.status.is_client_error() {
        return Err(e.page());
    }
    let why = e.message_in(super::lang_of(req)).0;
    super::dashboard::show_channel(state, req, user, channel, None, Some(why), kept).await
}

/// The offer `id` of `owner` (404 for anyone else's).
async fn owned_offer(state: &State, owner: &PartyId, id: &str) -> Result<Offer, ApiError> {
    let oid = OfferId::new(id).map_err(|_| ApiError::not_found("offer"))?;
    let owner = owner.clone();
    db(state, move |s| Ok(s.offer(&oid)?.filter(|o| o.assigner == owner)))
        .await?
        .ok_or_else(|| ApiError::not_found("offer"))
}

/// Changes a holder's offers in one transaction: publishes `new`, withdraws `old`, records an
/// `offer.changed` event for each, then refreshes the seals they show on. An edit is both: offers
/// are immutable once published (licences point at them), so a new price is a new offer.
pub async fn change_offers(state: &State, new: Option<Offer>, old: Option<Offer>) -> Result<(), ApiError> {
    let st = state.clone();
    let now = state.now();
    db(state, move |s| {
        s.atomically(|s| -> Result<(), ApiError> {
            if let Some(offer) = &new {
                s.publish_offer(offer)?;
            }
            if let Some(offer) = &old {
                s.withdraw_offer(&offer.id, &offer.assigner, now)?;
            }
            for (offer, change) in new.iter().map(|o| (o, "published")).chain(old.iter().map(|o| (o, "withdrawn"))) {
                let target = match &offer.target {
                    OfferTarget::Channel(c) => serde_json::json!({"channel": c.as_str()}),
                    OfferTarget::Work(w) => serde_json::json!({"work": w.as_str()}),
                };
                let payload = serde_json::json!({"offer": offer.id.as_str(), "assigner": offer.assigner.as_str(),
                    "target": target, "change": change});
                s.record_event("offer.changed", offer.id.as_str(), &payload, now)?;
            }
            Ok(())
        })?;
        for offer in new.iter().chain(old.iter()) {
            match &offer.target {
                OfferTarget::Channel(c) => st.seals.refresh_channel(s, &st.config.public_url, c)?,
                OfferTarget::Work(w) => st.seals.refresh_work(s, &st.config.public_url, w)?,
            }
        }
        Ok(())
    })
    .await
}

/// Publishes an offer and refreshes the seals it shows on.
pub async fn publish(state: &State, offer: Offer) -> Result<(), ApiError> {
    change_offers(state, Some(offer), None).await
}

#[derive(Debug, Deserialize)]
struct EditOfferForm {
    csrf: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
}

/// Where an offer is managed: its channel's page, or the dashboard for a work's own offer.
fn offer_home(offer: &Offer) -> String {
    match &offer.target {
        OfferTarget::Channel(c) => format!("/dashboard/channels/{c}#step-2"),
        OfferTarget::Work(_) => "/dashboard".to_owned(),
    }
}

/// A new price for an offer: the offer is replaced by a copy with the new price (and a new id), open
/// from now; licences bought under the old one keep their snapshot.
async fn edit_offer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<EditOfferForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let old = owned_offer(&state, &user.id, &path).await.map_err(ApiError::page)?;
    if old.withdrawn_at.is_some() {
        return Err(ApiError::new(actix_web::http::StatusCode::CONFLICT, "withdrawn", "the offer was withdrawn")
            .keyed("error-offer-withdrawn", &[])
            .page());
    }
    let made = typed_price(&form.price, &form.currency, old.price.currency).and_then(|(minor, currency)| {
        if minor <= 0 && !old.is_free() {
            return Err(ApiError::invalid("a paid offer needs a price above zero").keyed("error-price-zero", &[]));
        }
        let amount = Amount::new(minor).map_err(|e| ApiError::invalid(e.to_string()))?;
        let id = OfferId::new(short_id("of", 9)).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(Offer { id, price: Money { amount, currency }, valid_from: state.now(), ..old.clone() })
    });
    let new = match made {
        Ok(o) => o,
        Err(e) => {
            let OfferTarget::Channel(c) = &old.target else { return Err(e.page()) };
            let kept = OfferKept { price: form.price.clone(), currency: form.currency.clone(), ..OfferKept::default() };
            return refused_offer(&state, &req, &user, c.as_str(), e, kept).await;
        }
    };
    let home = offer_home(&old);
    change_offers(&state, Some(new), Some(old)).await.map_err(ApiError::page)?;
    Ok(see_other(&home))
}

/// Withdraws an offer: closed to new purchases from now; licences keep their snapshot.
async fn withdraw_offer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let old = owned_offer(&state, &user.id, &path).await.map_err(ApiError::page)?;
    let home = offer_home(&old);
    if old.withdrawn_at.is_none() {
        change_offers(&state, None, Some(old)).await.map_err(ApiError::page)?;
    }
    Ok(see_other(&home))
}

/// A channel a work is registered on, with whether its ownership is proven.
pub struct WorkChannel {
    /// The channel (owned by the registering holder).
    pub channel: Channel,
    /// Whether ownership was proven.
    pub verified: bool,
}

/// A channel of `owner` to register a work on, with its proof state; 404 for anyone else's.
pub async fn work_channel(state: &State, owner: &PartyId, id: &str) -> Result<WorkChannel, ApiError> {
    let channel = owned_channel(state, owner, id).await?;
    let cid = channel.id.clone();
    let claim = db(state, move |s| Ok(s.claim(&cid)?)).await?;
    Ok(WorkChannel { channel, verified: claim.is_some_and(|c| c.verified_at.is_some()) })
}

/// Checks a work's source URL: it is accepted only on a verified channel of the registering holder,
/// inside that channel's scope (for a WeChat or Weibo channel, on that platform's own site). Otherwise
/// a holder could claim another holder's page. Returns the URL in canonical form.
pub fn check_source_url(source_url: &str, channel: Option<&WorkChannel>) -> Result<String, ApiError> {
    let text = source_url.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    let url = Url::parse(text).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(|| {
        ApiError::invalid("the source URL must start with http:// or https://").keyed("error-source-url-scheme", &[])
    })?;
    let Some(wc) = channel.filter(|wc| wc.verified) else {
        return Err(ApiError::invalid(
            "a source URL needs a verified channel: choose the channel the work is published on, after proving it is yours",
        )
        .keyed("error-source-url-unverified", &[]));
    };
    let inside = match wc.channel.kind {
        ChannelKind::Website | ChannelKind::Blog => {
            ChannelScope::parse(wc.channel.kind, &wc.channel.handle).is_ok_and(|scope| scope.contains(&url))
        }
        ChannelKind::WechatOfficialAccount => url.host_str() == Some("mp.weixin.qq.com"),
        ChannelKind::Weibo => url
            .host_str()
            .is_some_and(|h| ["weibo.com", "weibo.cn"].iter().any(|d| h == *d || h.ends_with(&format!(".{d}")))),
    };
    if !inside {
        return Err(
            ApiError::invalid("the source URL is not on the chosen channel").keyed("error-source-url-elsewhere", &[])
        );
    }
    Ok(url.to_string())
}

/// A work as a rights holder submits it (dashboard form or REST): checked, then registered through
/// the one registration service, which stores its content, fingerprints it and adds it to the monitor.
pub fn new_work(
    owner: &PartyId,
    channel: Option<&WorkChannel>,
    title: &str,
    author: &str,
    source_url: &str,
    items: Vec<NewItem>,
) -> Result<NewWork, ApiError> {
    if items.is_empty()
        || items.iter().all(|i| i.kind != ContentKind::Image && i.bytes.iter().all(u8::is_ascii_whitespace))
    {
        return Err(ApiError::invalid("give the work's text or an image file").keyed("error-work-empty", &[]));
    }
    let source_url = check_source_url(source_url, channel)?;
    Ok(NewWork {
        owner: owner.clone(),
        channel: channel.map(|wc| wc.channel.id.clone()),
        title: title.to_owned(),
        author: author.to_owned(),
        source_url: (!source_url.is_empty()).then_some(source_url),
        items,
    })
}

/// One text item as typed into a form: HTML when it looks like markup, else plain text.
pub fn text_item(content: &str) -> NewItem {
    let kind = if crate::monitor::looks_like_html(content.as_bytes()) { ContentKind::Html } else { ContentKind::Text };
    NewItem { kind, bytes: content.as_bytes().to_vec(), file: None, source: None }
}

/// Registers a work (idempotent by content per holder) and renders its seal. Returns the work, which
/// is the existing one when the holder registered the same content before.
pub async fn register(state: &State, work: NewWork) -> Result<(Work, bool), ApiError> {
    let st = state.clone();
    let now = state.now();
    db(state, move |s| {
        let mut monitor = st.monitor.write().unwrap_or_else(|p| p.into_inner());
        let done = register_work(s, &st.content, &mut monitor, work, now).map_err(registration_error)?;
        drop(monitor);
        // The registration's proof (timestamp, log entry) is made now rather than at the next tick, so
        // the seal the holder sees next already links its certificate. A failure leaves it to the tick.
        // Only this work's: draining the whole backlog here (after a bulk import, thousands of works)
        // made one registration wait for all of them; the tick's drain passes works already done.
        let proved = st.notary.ensure_registration(s, &st.content, &done.work, now);
        if let Err(e) = proved.and_then(|_| st.notary.checkpoint(s, now)) {
            tracing::warn!(error = %e, "notarising a registration");
        }
        st.seals.refresh_work(s, &st.config.public_url, &done.work)?;
        let stored = s.work(&done.work)?.ok_or_else(|| ApiError::internal("registered work vanished"))?;
        Ok((stored, done.new))
    })
    .await
}

/// A registration failure as the API reports it.
pub fn registration_error(e: RegistrationError) -> ApiError {
    match e {
        RegistrationError::Invalid(m) => ApiError::invalid(m),
        RegistrationError::Unreadable { .. } => ApiError::invalid(e.to_string()),
        RegistrationError::Store(s) => s.into(),
        other => ApiError::internal(other.to_string()),
    }
}

/// A work as the dashboard form or a multipart API call submits it: text, an image, or both (an
/// article with its photo). Text fields and files travel as `multipart/form-data`.
#[derive(Debug, MultipartForm)]
pub struct WorkUpload {
    /// The CSRF token (form field; API calls send the `X-CSRF-Token` header instead).
    pub csrf: Option<Text<String>>,
    /// Title.
    pub title: Text<String>,
    /// Author.
    pub author: Text<String>,
    /// Where it is published, on a verified channel.
    pub source_url: Option<Text<String>>,
    /// One of the holder's channels.
    pub channel: Option<Text<String>>,
    /// The text or HTML.
    pub content: Option<Text<String>>,
    /// An image file (JPEG, PNG, WebP, GIF).
    #[multipart(limit = "12MB")]
    pub image: Option<MultipartBytes>,
}

impl WorkUpload {
    /// The content items: the text when it is not blank, the image when a file was chosen.
    pub fn items(&self) -> Vec<NewItem> {
        let mut items = Vec::new();
        if let Some(text) = self.content.as_ref().filter(|t| !t.trim().is_empty()) {
            items.push(text_item(text));
        }
        if let Some(image) = self.image.as_ref().filter(|f| !f.data.is_empty()) {
            let file = image.file_name.clone().filter(|n| !n.is_empty());
            items.push(NewItem { kind: ContentKind::Image, bytes: image.data.to_vec(), file, source: None });
        }
        items
    }

    /// Checks it as [`new_work`] does and turns it into a registration for `owner`.
    pub async fn into_work(self, state: &State, owner: &PartyId) -> Result<NewWork, ApiError> {
        let channel = match self.channel.as_ref().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            Some(c) => Some(work_channel(state, owner, c).await?),
            None => None,
        };
        let items = self.items();
        if items.is_empty() {
            return Err(ApiError::invalid("give the work's text or an image file").keyed("error-work-empty", &[]));
        }
        let source_url = self.source_url.as_deref().map_or("", |s| s.as_str());
        new_work(owner, channel.as_ref(), &self.title, &self.author, source_url, items)
    }
}

/// Multipart limits of work uploads: one image of up to 12 MB plus its text fields.
pub fn upload_config() -> MultipartFormConfig {
    MultipartFormConfig::default().total_limit(13 * 1024 * 1024).memory_limit(13 * 1024 * 1024)
}

async fn add_work(state: State, req: HttpRequest, form: MultipartForm<WorkUpload>) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let csrf = form.csrf.as_ref().map_or("", |t| t.as_str()).to_owned();
    let user = form_user(&state, &req, &csrf, &[Role::Holder]).await?;
    let text = |t: &Option<Text<String>>| t.as_ref().map_or(String::new(), |t| t.as_str().to_owned());
    let kept = super::dashboard::HolderForms {
        work_title: form.title.as_str().to_owned(),
        work_author: form.author.as_str().to_owned(),
        work_channel: text(&form.channel),
        work_source_url: text(&form.source_url),
        work_content: text(&form.content),
        ..Default::default()
    };
    let registered = match form.into_work(&state, &user.id).await {
        Ok(work) => register(&state, work).await,
        Err(e) => Err(e),
    };
    match registered {
        // Back to the dashboard, which confirms the registration and links the new seal page.
        Ok((work, _)) => Ok(see_other(&format!("/dashboard?registered={}#registered", work.id))),
        Err(e) if e.status.is_client_error() => {
            let forms =
                super::dashboard::HolderForms { work_error: Some(e.message_in(super::lang_of(&req)).0), ..kept };
            super::dashboard::show_dashboard(&state, &req, None, forms).await
        }
        Err(e) => Err(e.page()),
    }
}

/// Registers a page published on a verified website or blog channel the first time its seal is
/// viewed: "no upload needed where the seal is embedded". The platform fetches the page itself
/// through the guarded fetcher (the reader's browser only names it, and only URLs inside the
/// channel's proven scope are fetched), extracts its visible text with the engine (GBK pages
/// included), and registers the page through the registration service: its content is stored and
/// fingerprinted, and registering the same content again answers the same work. Returns `None` when
/// the page is not on a verified channel of that id.
pub async fn register_on_first_view(state: &State, cid: &ChannelId, url: &str) -> Result<Option<WorkId>, ApiError> {
    let lookup = cid.clone();
    let found = db(state, move |s| Ok((s.channel(&lookup)?, s.claim(&lookup)?))).await?;
    let (Some(c), Some(claim)) = found else { return Ok(None) };
    let Ok(page_url) = Url::parse(url) else { return Ok(None) };
    let verified = claim.verified_at.is_some() && matches!(c.kind, ChannelKind::Website | ChannelKind::Blog);
    let inside = ChannelScope::parse(c.kind, &c.handle).is_ok_and(|scope| scope.contains(&page_url));
    if !verified || !inside {
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
    let unreachable =
        || ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, "fetch_failed", "the page could not be fetched");
    let fetched = state.fetcher.get(&page_url, 8 * 1024 * 1024).await.map_err(|e| {
        tracing::info!(%url, error = %e, "first-view fetch failed");
        unreachable()
    })?;
    // The page must answer itself: a redirect out of the channel's scope proves nothing about it.
    let in_scope = ChannelScope::parse(c.kind, &c.handle).is_ok_and(|scope| scope.contains(&fetched.final_url));
    if !(200..300).contains(&fetched.status) || !in_scope {
        return Err(unreachable());
    }
    let page = seal_engine::text::extract(
        &fetched.body,
        seal_engine::text::ContentKind::Auto,
        &seal_engine::text::ExtractConfig::default(),
    )
    .map_err(|_| ApiError::invalid("the page is not a readable HTML or text page"))?;
    if page.text.trim().is_empty() {
        return Err(ApiError::invalid("the page has no text to register"));
    }
    let holder = c.owner.clone();
    let title: String = page
        .title
        .clone()
        .map(|t| t.chars().filter(|ch| !seal_licensing::offer::is_forbidden_char(*ch)).collect::<String>())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| page_url.to_string())
        .chars()
        .take(200)
        .collect();
    let author = {
        let h = holder.clone();
        db(state, move |s| Ok(s.holder_name(&h)?)).await?
    };
    let work = NewWork {
        owner: holder,
        channel: Some(c.id.clone()),
        title: title.trim().to_owned(),
        author: if author.trim().is_empty() { "—".into() } else { author },
        source_url: Some(page_url.to_string()),
        items: vec![NewItem { kind: ContentKind::Html, bytes: fetched.body, file: None, source: None }],
    };
    let (work, new) = register(state, work).await?;
    if new {
        tracing::info!(work = %work.id, url = %work.source_url, encoding = page.encoding, "registered on first view");
    }
    Ok(Some(work.id))
}

/// Percent-encodes a query value.
pub fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The setup routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/channels", web::post().to(new_channel))
        .route("/dashboard/channels/{id}/verify", web::post().to(verify))
        .route("/dashboard/channels/{id}/offers", web::post().to(add_offer))
        .route("/dashboard/offers/{id}/edit", web::post().to(edit_offer))
        .route("/dashboard/offers/{id}/withdraw", web::post().to(withdraw_offer))
        .service(
            web::resource("/dashboard/works")
                .app_data(upload_config())
                .route(web::post().to(add_work))
                // The list of works shares the path, so it shares the resource (a second resource on the
                // same path would never be reached: the first answers 405 to a GET).
                .route(web::get().to(super::lists::works)),
        );
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
}
