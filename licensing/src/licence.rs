//! Licences (agreements). A licence snapshots the offer it was bought under, so later edits to the offer
//! never change what was granted. It names the licensee, where the use is allowed, the validity window and
//! the money side's status. A valid licence is what later turns a monitoring hit white.

use crate::ids::{LicenceId, PartyId, PayoutId, TransferId, WorkId};
use crate::invoice::InvoiceNumber;
use crate::money::{Amount, Money};
use crate::offer::Offer;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a licensee may use the work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseScope {
    /// Any URL starting with this prefix (compared without the scheme), e.g. `example.com/news/`.
    UrlPrefix(String),
    /// Any URL on this host or its subdomains, e.g. `example.com`.
    Domain(String),
}

impl UseScope {
    /// Whether `url` falls in the scope. Scheme and letter case of the host are ignored. A domain
    /// covers every port of its hosts; a URL prefix that names a port covers only that port (a
    /// contract for `host:8080/partners/` says nothing about the site on port 80), and one without a
    /// port covers only URLs without one.
    pub fn covers(&self, url: &str) -> bool {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest[..host_end].rsplit('@').next().unwrap_or("").to_ascii_lowercase();
        let host = authority.split(':').next().unwrap_or("");
        match self {
            UseScope::Domain(d) => {
                let d = d.to_ascii_lowercase();
                host == d || host.ends_with(&format!(".{d}"))
            }
            UseScope::UrlPrefix(p) => {
                let p = p.split_once("://").map_or(p.as_str(), |(_, r)| r);
                let normalised = format!("{authority}{}", &rest[host_end..]);
                let (p_host, p_path) = p.split_at(p.find(['/', '?', '#']).unwrap_or(p.len()));
                normalised.starts_with(&format!("{}{p_path}", p_host.to_ascii_lowercase()))
            }
        }
    }

    /// The scope as text, for letters and listings.
    pub fn describe(&self) -> String {
        match self {
            UseScope::UrlPrefix(p) => format!("URLs starting with {p}"),
            UseScope::Domain(d) => format!("the domain {d} and its subdomains"),
        }
    }
}

/// Why an objection was raised during the publicity period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionKind {
    /// The licensee asks for the money back.
    RefundRequest,
    /// Someone disputes who owns the work.
    OwnershipDispute,
}

/// A reviewer's decision on an objection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Void the hold and refund the licensee; the licence is revoked.
    Refund,
    /// Lift the freeze; the hold settles when the publicity period is over.
    Release,
}

/// Where a licence stands. `Settled` and `Refunded` are final for paid licences; `Free` is final at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// A free licence: no money moved.
    Free,
    /// Paid; the fee is held in escrow until the publicity period ends.
    Held,
    /// An objection froze the hold until a reviewer decides.
    Frozen,
    /// The hold was posted to the rights holder and the platform, and an invoice issued.
    Settled,
    /// The hold was voided and the licensee refunded.
    Refunded,
}

impl LicenceStatus {
    /// The snake_case name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceStatus::Free => "free",
            LicenceStatus::Held => "held",
            LicenceStatus::Frozen => "frozen",
            LicenceStatus::Settled => "settled",
            LicenceStatus::Refunded => "refunded",
        }
    }
}

/// How a paid licence's price is split. `net + fee_platform + app_share == price`, always.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// To the rights holder.
    pub net: Amount,
    /// Platform fee revenue (after the app's share).
    pub fee_platform: Amount,
    /// The selling app and its share, if sold through one.
    pub app: Option<(PartyId, Amount)>,
}

/// A licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// Licence id (also the purchase's idempotency key).
    pub id: LicenceId,
    /// The offer exactly as it stood at purchase.
    pub offer: Offer,
    /// The licensed work.
    pub work: WorkId,
    /// The rights holder.
    pub holder: PartyId,
    /// The licensee.
    pub licensee: PartyId,
    /// The licensee's display name.
    pub licensee_name: String,
    /// Where use is allowed.
    pub scope: UseScope,
    /// Start of validity.
    pub valid_from: Timestamp,
    /// End of validity (exclusive), if the offer limits duration.
    pub valid_until: Option<Timestamp>,
    /// Money-side status.
    pub status: LicenceStatus,
    /// What was paid (zero for free licences).
    pub price: Money,
    /// How the price is split.
    pub split: Split,
    /// The payment provider that captured the payment.
    pub provider: Option<PartyId>,
    /// The provider's payment reference.
    pub provider_ref: Option<String>,
    /// When it was bought.
    pub created_at: Timestamp,
    /// End of the publicity period: the earliest time the hold may settle.
    pub hold_until: Timestamp,
    /// The open or last objection.
    pub objection: Option<ObjectionKind>,
    /// When it settled.
    pub settled_at: Option<Timestamp>,
    /// When it was refunded.
    pub refunded_at: Option<Timestamp>,
    /// Its invoice, once settled.
    pub invoice: Option<InvoiceNumber>,
    /// The payout that paid the rights holder, once paid out.
    pub payout: Option<PayoutId>,
}

/// Which leg of a licence's money a transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    /// Payment provider clearing → escrow (posted at purchase).
    Capture,
    /// Escrow → rights-holder payable (pending).
    HoldNet,
    /// Escrow → platform fee revenue (pending).
    HoldFee,
    /// Escrow → app share (pending).
    HoldApp,
    /// Posting of a hold leg.
    Post(HoldLeg),
    /// Voiding of a hold leg.
    Void(HoldLeg),
    /// Escrow → refunds (posted when refunded).
    Refund,
}

/// The three pending legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldLeg {
    /// To the rights holder.
    Net,
    /// To the platform.
    Fee,
    /// To the app.
    App,
}

impl Licence {
    /// Whether this licence allows use at `url` at time `now`: it is in force (not refunded), inside its
    /// validity window, and the URL is in its scope.
    pub fn covers(&self, url: &str, now: Timestamp) -> bool {
        self.status != LicenceStatus::Refunded
            && self.valid_from <= now
            && self.valid_until.is_none_or(|end| now < end)
            && self.scope.covers(url)
    }

    /// The transfer id of one leg, derived from the licence id so that every step is idempotent.
    pub fn transfer_id(&self, leg: Leg) -> TransferId {
        let suffix = match leg {
            Leg::Capture => "capture",
            Leg::HoldNet => "hold-net",
            Leg::HoldFee => "hold-fee",
            Leg::HoldApp => "hold-app",
            Leg::Post(HoldLeg::Net) => "post-net",
            Leg::Post(HoldLeg::Fee) => "post-fee",
            Leg::Post(HoldLeg::App) => "post-app",
            Leg::Void(HoldLeg::Net) => "void-net",
            Leg::Void(HoldLeg::Fee) => "void-fee",
            Leg::Void(HoldLeg::App) => "void-app",
            Leg::Refund => "refund",
        };
        // Licence ids are at most 128 bytes of the id alphabet, so this is always a valid transfer id.
        TransferId::new(format!("lic/{}/{suffix}", self.id)).unwrap_or_else(|_| unreachable!("derived id is valid"))
    }

    /// The pending legs this licence has, with their amounts (zero-amount legs are skipped).
    pub fn hold_legs(&self) -> Vec<(HoldLeg, Amount)> {
        let mut legs = vec![(HoldLeg::Net, self.split.net), (HoldLeg::Fee, self.split.fee_platform)];
        if let Some((_, a)) = &self.split.app {
            legs.push((HoldLeg::App, *a));
        }
        legs.retain(|(_, a)| a.minor() > 0);
        legs
    }

    /// The pending transfer id of a hold leg.
    pub fn hold_id(&self, leg: HoldLeg) -> TransferId {
        self.transfer_id(match leg {
            HoldLeg::Net => Leg::HoldNet,
            HoldLeg::Fee => Leg::HoldFee,
            HoldLeg::App => Leg::HoldApp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_hosts_and_prefixes() {
        let d = UseScope::Domain("Example.com".into());
        assert!(d.covers("https://example.com/a"));
        assert!(d.covers("http://news.EXAMPLE.com/a?x"));
        assert!(!d.covers("https://badexample.com/a"));
        assert!(!d.covers("https://example.com.evil.net/a"));
        let p = UseScope::UrlPrefix("https://example.com/news/".into());
        assert!(p.covers("http://example.com/news/1"));
        assert!(!p.covers("https://example.com/blog/1"));
        assert!(!p.covers("https://example.community/news/1"));
        // A prefix naming a port is a contract for that port only (regression: the port was dropped
        // from the page's URL but kept in the prefix, so such a licence never covered anything).
        let port = UseScope::UrlPrefix("http://127.0.0.1:8080/partners/".into());
        assert!(port.covers("http://127.0.0.1:8080/partners/a.html"));
        assert!(!port.covers("http://127.0.0.1:9090/partners/a.html"));
        assert!(!port.covers("http://127.0.0.1:8080/other/a.html"));
        assert!(UseScope::Domain("127.0.0.1".into()).covers("http://127.0.0.1:8080/x"));
    }
}
