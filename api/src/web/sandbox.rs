//! The built-in `sandbox` payment provider: a real provider that runs inside the server.
//!
//! Its payments live in the `sandbox_payments` table, its hosted page (`/pay/sandbox/{id}`) lets the
//! buyer pay or decline, and it delivers webhooks over real HTTP to `/webhooks/sandbox`, signed
//! `Seal-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret, "UNIX.BODY"))` with a secret kept in the data
//! directory. Deliveries older than the tolerance are refused, so a captured webhook cannot be replayed
//! later. Status polls read its table, which recovers a lost webhook.

use super::auth::{check_csrf, csrf_page, random_token};
use super::error::ApiError;
use super::{db, State};
use crate::services::payment::{PaymentEvent, PaymentProvider, PaymentStatus, StartedPayment, WebhookError};
use crate::store::platform::Checkout;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use seal_licensing::Timestamp;
use serde::Deserialize;
use sha2::Sha256;
use std::path::Path;

/// The signature header of sandbox webhooks.
pub const SIGNATURE_HEADER: &str = "seal-signature";

/// The sandbox provider's signing secret and tolerance. Its payments are stored by the platform store.
#[derive(Clone)]
pub struct Sandbox {
    secret: Vec<u8>,
    /// Oldest delivery accepted, seconds.
    pub tolerance_s: i64,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("tolerance_s", &self.tolerance_s).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Loads the secret from `DIR/sandbox-webhook.secret`, creating it on first start.
    pub fn open(data_dir: &Path) -> std::io::Result<Sandbox> {
        let path = data_dir.join("sandbox-webhook.secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= 32 => s.trim().as_bytes().to_vec(),
            _ => {
                let s = random_token(32);
                let tmp = data_dir.join("sandbox-webhook.secret.tmp");
                std::fs::write(&tmp, &s)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
                }
                std::fs::rename(&tmp, &path)?;
                s.into_bytes()
            }
        };
        Ok(Sandbox { secret, tolerance_s: 300 })
    }

    /// A sandbox with a given secret (tests).
    pub fn with_secret(secret: &[u8]) -> Sandbox {
        Sandbox { secret: secret.to_vec(), tolerance_s: 300 }
    }

    fn hmac(&self, t: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        let mut m = Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!("any key length"));
        m.update(t.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        m
    }

    fn mac(&self, t: i64, body: &[u8]) -> String {
        hex::encode(self.hmac(t, body).finalize().into_bytes())
    }

    /// The body and signature header of a webhook for `event`, signed at `now_s`.
    pub fn sign(&self, event: &PaymentEvent, now_s: i64) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(event).unwrap_or_default();
        let sig = format!("t={now_s},v1={}", self.mac(now_s, &body));
        (body, sig)
    }
}

impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn signature_header(&self) -> &'static str {
        SIGNATURE_HEADER
    }

    fn start(
        &self,
        store: &mut SqliteStore,
        checkout: &Checkout,
        now: Timestamp,
    ) -> Result<StartedPayment, StoreError> {
        let id = format!("sp_{}", random_token(18));
        store.create_sandbox_payment(&id, &checkout.id, checkout.amount_minor, &checkout.currency, now)?;
        Ok(StartedPayment { url: format!("/pay/sandbox/{id}"), id })
    }

    fn status(
        &self,
        store: &SqliteStore,
        checkout: &Checkout,
        now: Timestamp,
    ) -> Result<Option<PaymentEvent>, StoreError> {
        Ok(store.sandbox_payment_of(&checkout.id)?.map(|p| PaymentEvent {
            id: format!("poll_{}", p.id),
            payment_id: p.id,
            checkout_id: checkout.id.clone(),
            status: PaymentStatus::parse(&p.status),
            amount_minor: p.amount_minor,
            currency: p.currency,
            created: now.unix_ms() / 1000,
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn verify_webhook(&self, signature: Option<&str>, body: &[u8], now_s: i64) -> Result<PaymentEvent, WebhookError> {
        let sig = signature.ok_or(WebhookError::Malformed)?;
        let mut t = None;
        let mut v1 = Vec::new();
        for part in sig.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => v1.push(v.to_owned()),
                _ => {}
            }
        }
        let t = t.ok_or(WebhookError::Malformed)?;
        if v1.is_empty() {
            return Err(WebhookError::Malformed);
        }
        // Several v1 values are allowed so the secret can be rotated without downtime; each is compared
        // in constant time by the MAC itself.
        let matches = |v: &String| hex::decode(v).is_ok_and(|tag| self.hmac(t, body).verify_slice(&tag).is_ok());
        if !v1.iter().any(matches) {
            return Err(WebhookError::BadSignature);
        }
        if (now_s - t).abs() > self.tolerance_s {
            return Err(WebhookError::Stale { age_s: now_s - t });
        }
        serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))
    }
}

#[derive(askama::Template)]
#[template(path = "pay_sandbox.html")]
struct PayPage {
    /// The page language.
    l: crate::i18n::Lang,
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
    let view = state.seals.get(checkout.work.as_str()).and_then(|e| e.view());
    let cur = seal_licensing::money::Currency::parse(&payment.currency).map_err(ApiError::internal)?;
    let lang = super::lang_of(&req);
    csrf_page(&req, &state, |csrf| PayPage {
        l: lang,
        payment: pid,
        amount: lang.money(payment.amount_minor, cur.code()),
        title: view.as_ref().map(|v| v.work.title.clone()).unwrap_or_default(),
        holder: view.as_ref().map(|v| v.holder.name.clone()).unwrap_or_default(),
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
    let Some(sandbox) = state.providers.find::<Sandbox>() else { return };
    let (body, sig) = sandbox.sign(event, state.now().unix_ms() / 1000);
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

/// The sandbox's own pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/pay/sandbox/{id}", web::get().to(pay_page)).route("/pay/sandbox/{id}", web::post().to(pay_submit));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> PaymentEvent {
        PaymentEvent {
            id: "evt_1".into(),
            payment_id: "sp_1".into(),
            checkout_id: "co_1".into(),
            status: PaymentStatus::Succeeded,
            amount_minor: 1999,
            currency: "CNY".into(),
            created: 1000,
        }
    }

    #[test]
    fn providers_are_found_by_name() {
        use crate::services::payment::Providers;
        let mut providers = Providers::new(std::sync::Arc::new(Sandbox::with_secret(b"k".repeat(32).as_slice())));
        assert_eq!(providers.default_provider().name(), "sandbox");
        assert!(providers.get("sandbox").is_some() && providers.get("alipay").is_none());
        let mut second = Sandbox::with_secret(b"j".repeat(32).as_slice());
        second.tolerance_s = 5;
        providers.register(std::sync::Arc::new(second));
        assert_eq!(providers.find::<Sandbox>().map(|s| s.tolerance_s), Some(5), "same name replaces");
    }

    #[test]
    fn signed_webhooks_verify_and_tampering_fails() {
        let s = Sandbox::with_secret(b"k".repeat(32).as_slice());
        let (body, sig) = s.sign(&event(), 1000);
        assert_eq!(s.verify_webhook(Some(&sig), &body, 1010), Ok(event()));
        let mut bad = body.clone();
        bad[10] ^= 1;
        assert_eq!(s.verify_webhook(Some(&sig), &bad, 1010), Err(WebhookError::BadSignature));
        assert_eq!(s.verify_webhook(Some(&sig), &body, 1000 + 301), Err(WebhookError::Stale { age_s: 301 }));
        assert_eq!(s.verify_webhook(None, &body, 1000), Err(WebhookError::Malformed));
        let other = Sandbox::with_secret(b"j".repeat(32).as_slice());
        assert_eq!(other.verify_webhook(Some(&sig), &body, 1000), Err(WebhookError::BadSignature));
    }
}
