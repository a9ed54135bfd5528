//! Payment providers, and the built-in `sandbox` provider.
//!
//! A provider does three things, captured by [`PaymentProvider`]: it opens a payment and says where to
//! send the buyer ([`PaymentProvider::start`]); it tells the platform the outcome by a signed webhook
//! ([`PaymentProvider::verify_webhook`]); and it answers status polls ([`PaymentProvider::status`]),
//! which the checkout page uses to recover when a webhook is late or lost. Whatever the route, the
//! outcome goes through one idempotent fulfilment (`checkout::fulfil`), so a replayed webhook, a poll
//! and a webhook racing each other grant one licence.
//!
//! **Plugging in Alipay, WeChat Pay or Stripe**: implement the trait. `start` calls the provider's
//! create-payment API (Alipay `alipay.trade.page.pay`, WeChat Pay Native/JSAPI `transactions`, Stripe
//! Checkout Sessions) with the checkout id as the merchant order number and returns its payment URL.
//! `verify_webhook` checks the provider's signature (Alipay: RSA2 over the sorted parameters; WeChat
//! Pay v3: the `Wechatpay-Signature` header, SHA256-RSA over timestamp, nonce and body, then AES-GCM to
//! decrypt the resource; Stripe: the `Stripe-Signature` header, HMAC-SHA256 like ours) and maps the
//! event to a [`PaymentEvent`]. `status` calls the provider's query API. Register it in the state and
//! route `/webhooks/{name}` to it; nothing else changes.
//!
//! **The sandbox** is a real provider that runs inside the server: its payments live in the
//! `sandbox_payments` table, its hosted page lets the buyer pay or decline, and it delivers webhooks
//! over HTTP to `/webhooks/sandbox`, signed `Seal-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret,
//! "UNIX.BODY"))` with a secret kept in the data directory. Deliveries older than the tolerance are
//! refused, so a captured webhook cannot be replayed later.

use super::auth::random_token;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;

/// The signature header of sandbox webhooks.
pub const SIGNATURE_HEADER: &str = "seal-signature";

/// What a provider reports about a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    /// Event id, unique per delivery content (replays repeat it).
    pub id: String,
    /// The provider's payment id.
    pub payment_id: String,
    /// The checkout the payment belongs to.
    pub checkout_id: String,
    /// Outcome.
    pub status: PaymentStatus,
    /// Minor units paid.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// When the provider created the event, Unix seconds.
    pub created: i64,
}

pub use crate::domain::PaymentStatus;

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// No or malformed signature header.
    #[error("missing or malformed signature header")]
    Malformed,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// Signed too long ago (or in the future).
    #[error("stale webhook: signed {age_s} s from now")]
    Stale {
        /// Seconds between signing and receipt.
        age_s: i64,
    },
    /// The body is not an event.
    #[error("body is not a payment event: {0}")]
    Body(String),
}

/// A payment provider (see the module doc for how real ones plug in).
pub trait PaymentProvider {
    /// The provider's name, used in routes and as its party id in the ledger.
    fn name(&self) -> &'static str;
    /// Verifies a webhook delivery and returns its event.
    fn verify_webhook(&self, signature: Option<&str>, body: &[u8], now_s: i64) -> Result<PaymentEvent, WebhookError>;
}

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
