//! Payment providers: the [`PaymentProvider`] trait and the [`Providers`] registry that finds them by name.
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
//! event to a [`PaymentEvent`]. `status` calls the provider's query API. Register it in [`Providers`]
//! (`open_state`, in the web layer); `/webhooks/{name}` finds it by name, and nothing else changes.
//!
//! The built-in provider is the sandbox (the web layer's `sandbox` module); nothing outside it and the
//! wiring in `open_state` names it.

use crate::store::platform::Checkout;
use crate::store::SqliteStore;
use crate::store::StoreError;
use seal_licensing::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

/// Where a started payment sends the buyer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedPayment {
    /// The provider's payment id.
    pub id: String,
    /// The provider's payment page: a path on this server (the sandbox) or an absolute URL.
    pub url: String,
}

/// A payment provider (see the module doc for how real ones plug in). Calls run on the blocking pool
/// with the store open, so a real provider's `start` and `status` may make blocking HTTP calls.
pub trait PaymentProvider: Send + Sync {
    /// The provider's name: its webhook route `/webhooks/{name}`, the checkout's `provider`, and its
    /// party id in the ledger.
    fn name(&self) -> &'static str;
    /// The header its webhooks carry their signature in.
    fn signature_header(&self) -> &'static str;
    /// Opens a payment for an open checkout.
    fn start(&self, store: &mut SqliteStore, checkout: &Checkout, now: Timestamp)
        -> Result<StartedPayment, StoreError>;
    /// The payment's state now, as an event (`None` when the provider knows no payment for it).
    fn status(
        &self,
        store: &SqliteStore,
        checkout: &Checkout,
        now: Timestamp,
    ) -> Result<Option<PaymentEvent>, StoreError>;
    /// Verifies a webhook delivery and returns its event.
    fn verify_webhook(&self, signature: Option<&str>, body: &[u8], now_s: i64) -> Result<PaymentEvent, WebhookError>;
    /// For a provider's own pages, which need their concrete type back.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The payment providers a server offers, found by name; one is the default for new checkouts.
#[derive(Clone)]
pub struct Providers {
    all: Vec<Arc<dyn PaymentProvider>>,
    default: &'static str,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.all.iter().map(|p| p.name()).collect();
        f.debug_struct("Providers").field("all", &names).field("default", &self.default).finish()
    }
}

impl Providers {
    /// A registry whose default (and only) provider is `default`.
    pub fn new(default: Arc<dyn PaymentProvider>) -> Providers {
        Providers { default: default.name(), all: vec![default] }
    }

    /// Adds a provider (replacing one of the same name).
    pub fn register(&mut self, provider: Arc<dyn PaymentProvider>) {
        self.all.retain(|p| p.name() != provider.name());
        self.all.push(provider);
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn PaymentProvider> {
        self.all.iter().find(|p| p.name() == name).map(|p| p.as_ref())
    }

    /// The provider new paid checkouts use.
    pub fn default_provider(&self) -> &dyn PaymentProvider {
        self.get(self.default).unwrap_or_else(|| unreachable!("the default is registered at construction"))
    }

    /// The provider of type `T`, for that provider's own pages.
    pub fn find<T: 'static>(&self) -> Option<&T> {
        self.all.iter().find_map(|p| p.as_any().downcast_ref::<T>())
    }
}
