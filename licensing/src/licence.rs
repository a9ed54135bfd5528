//! Licences (agreements). A licence snapshots the offer it was bought under, so later edits to the offer
//! never change what was granted. It names the licensee, where the use is allowed, the validity window and
//! the money side's status. A valid licence is what later turns a monitoring hit white.

use crate::ids::{LicenceId, PartyId, PayoutId, TransferId, WorkId};
use crate::invoice::InvoiceNumber;
use crate::money::{Amount, Money};
use crate::offer::Offer;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a licensee may use the work: a place on the open web, or an account or app on a platform.
///
/// WeChat and Weibo pages live on the platforms' shared hosts, so a domain says nothing about whose
/// page it is; an account scope names the account by the id its pages' URLs carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseScope {
    /// Any URL starting with this prefix (compared without the scheme), e.g. `example.com/news/`.
    UrlPrefix(String),
    /// Any URL on this host or its subdomains, e.g. `example.com`.
    Domain(String),
    /// A WeChat official account (公众号), by its `__biz` id: every article URL of the account carries
    /// it (`mp.weixin.qq.com/s?__biz=…`). `name` is the account's display name, for people only.
    WechatAccount {
        /// The `__biz` id.
        id: String,
        /// Display name (may be empty).
        #[serde(default)]
        name: String,
    },
    /// A Weibo account, by its numeric user id: the first segment of its posts' URLs
    /// (`weibo.com/<uid>/<post>`) and of its profile (`weibo.com/u/<uid>`).
    WeiboAccount {
        /// The numeric user id.
        id: String,
        /// Display name (may be empty).
        #[serde(default)]
        name: String,
    },
    /// A mobile app, by its package or bundle id. Monitoring sees web pages only, so no URL falls in
    /// it: the licence documents the right, and the app's web pages need their own domain scope.
    App {
        /// Package or bundle id, e.g. `com.example.news`.
        id: String,
        /// Display name (may be empty).
        #[serde(default)]
        name: String,
    },
}

/// Hosts that serve WeChat official-account articles.
const WECHAT_HOSTS: &[&str] = &["mp.weixin.qq.com"];
/// Hosts that serve Weibo posts and profiles.
const WEIBO_HOSTS: &[&str] = &["weibo.com", "www.weibo.com", "m.weibo.cn", "weibo.cn", "www.weibo.cn"];

/// Why typed text names no place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// Nothing usable was typed.
    #[error("enter the account or app")]
    Missing,
    /// A WeChat account needs its `__biz` id or an article link that carries it.
    #[error("{0:?} is neither an article link with __biz= nor a __biz id")]
    Wechat(String),
    /// A Weibo account needs its numeric id or a profile or post link.
    #[error("{0:?} is neither a Weibo profile or post link nor a numeric user id")]
    Weibo(String),
    /// An app needs a package or bundle id.
    #[error("{0:?} is not a package or bundle id such as com.example.news")]
    App(String),
}

/// The parts of a URL the scopes look at: lower-cased authority, host, path and query.
struct UrlParts<'a> {
    authority: String,
    host: String,
    path: &'a str,
    query: &'a str,
    rest_after_host: &'a str,
}

fn url_parts(url: &str) -> UrlParts<'_> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest[..host_end].rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let host = authority.split(':').next().unwrap_or("").to_owned();
    let tail = &rest[host_end..];
    let tail = tail.split('#').next().unwrap_or("");
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    UrlParts { authority, host, path, query, rest_after_host: &rest[host_end..] }
}

/// `%XX` escapes decoded (a `__biz` ends in `==`, often written `%3D%3D`); anything malformed is kept.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

/// A `__biz` id: base64 text of a number, `Mz…==` in practice.
fn is_biz(s: &str) -> bool {
    (8..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
}

/// The Weibo user id a URL's path names: `/<uid>/…`, `/u/<uid>`, `/profile/<uid>`.
fn weibo_uid(path: &str) -> Option<&str> {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let first = segs.next()?;
    let uid = if matches!(first, "u" | "profile") { segs.next()? } else { first };
    (uid.len() <= 20 && !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit())).then_some(uid)
}

impl UseScope {
    /// Whether `url` falls in the scope. Scheme and letter case of the host are ignored. A domain
    /// covers every port of its hosts; a URL prefix that names a port covers only that port (a
    /// contract for `host:8080/partners/` says nothing about the site on port 80), and one without a
    /// port covers only URLs without one. An account covers its pages on the platform's hosts; an app
    /// covers no URL.
    pub fn covers(&self, url: &str) -> bool {
        let u = url_parts(url);
        match self {
            UseScope::Domain(d) => {
                let d = d.to_ascii_lowercase();
                u.host == d || u.host.ends_with(&format!(".{d}"))
            }
            UseScope::UrlPrefix(p) => {
                let p = p.split_once("://").map_or(p.as_str(), |(_, r)| r);
                let normalised = format!("{}{}", u.authority, u.rest_after_host);
                let (p_host, p_path) = p.split_at(p.find(['/', '?', '#']).unwrap_or(p.len()));
                normalised.starts_with(&format!("{}{p_path}", p_host.to_ascii_lowercase()))
            }
            UseScope::WechatAccount { id, .. } => {
                WECHAT_HOSTS.contains(&u.host.as_str()) && query_param(u.query, "__biz").is_some_and(|b| b == *id)
            }
            UseScope::WeiboAccount { id, .. } => {
                WEIBO_HOSTS.contains(&u.host.as_str()) && weibo_uid(u.path) == Some(id.as_str())
            }
            UseScope::App { .. } => false,
        }
    }

    /// The scope as text, for letters and listings.
    pub fn describe(&self) -> String {
        let named = |name: &str, id: &str| if name.is_empty() { id.to_owned() } else { format!("{name} ({id})") };
        match self {
            UseScope::UrlPrefix(p) => format!("URLs starting with {p}"),
            UseScope::Domain(d) => format!("the domain {d} and its subdomains"),
            UseScope::WechatAccount { id, name } => format!("the WeChat official account {}", named(name, id)),
            UseScope::WeiboAccount { id, name } => format!("the Weibo account {}", named(name, id)),
            UseScope::App { id, name } => format!("the app {}", named(name, id)),
        }
    }

    /// The one text that identifies the place: the domain, prefix, account id or app id.
    pub fn key(&self) -> &str {
        match self {
            UseScope::Domain(s) | UseScope::UrlPrefix(s) => s,
            UseScope::WechatAccount { id, .. } | UseScope::WeiboAccount { id, .. } | UseScope::App { id, .. } => id,
        }
    }

    /// A WeChat official account from an article or profile link carrying `__biz=`, or the bare id.
    pub fn wechat(input: &str, name: &str) -> Result<UseScope, PlaceError> {
        let t = input.trim();
        if t.is_empty() {
            return Err(PlaceError::Missing);
        }
        let id = if t.contains('/') || t.contains('?') {
            let u = url_parts(t);
            query_param(u.query, "__biz").filter(|_| WECHAT_HOSTS.contains(&u.host.as_str()))
        } else {
            Some(percent_decode(t))
        };
        match id.filter(|b| is_biz(b)) {
            Some(id) => Ok(UseScope::WechatAccount { id, name: clean_name(name) }),
            None => Err(PlaceError::Wechat(t.chars().take(80).collect())),
        }
    }

    /// A Weibo account from a profile or post link, or the bare numeric id.
    pub fn weibo(input: &str, name: &str) -> Result<UseScope, PlaceError> {
        let t = input.trim();
        if t.is_empty() {
            return Err(PlaceError::Missing);
        }
        let id = if t.bytes().all(|b| b.is_ascii_digit()) && t.len() <= 20 {
            Some(t.to_owned())
        } else {
            let with_scheme = if t.contains("://") { t.to_owned() } else { format!("https://{t}") };
            let u = url_parts(&with_scheme);
            if WEIBO_HOSTS.contains(&u.host.as_str()) {
                weibo_uid(u.path).map(str::to_owned)
            } else {
                None
            }
        };
        match id {
            Some(id) => Ok(UseScope::WeiboAccount { id, name: clean_name(name) }),
            None => Err(PlaceError::Weibo(t.chars().take(80).collect())),
        }
    }

    /// An app from its package or bundle id (reverse domain: letters, digits, `_`, dots).
    pub fn app(input: &str, name: &str) -> Result<UseScope, PlaceError> {
        let t = input.trim();
        if t.is_empty() {
            return Err(PlaceError::Missing);
        }
        let ok = t.len() <= 150
            && t.contains('.')
            && t.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if ok {
            Ok(UseScope::App { id: t.to_ascii_lowercase(), name: clean_name(name) })
        } else {
            Err(PlaceError::App(t.chars().take(80).collect()))
        }
    }
}

/// A display name as stored: trimmed, control characters dropped, at most 100 characters.
fn clean_name(name: &str) -> String {
    name.trim().chars().filter(|c| !c.is_control()).take(100).collect()
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

    #[test]
    fn accounts_cover_their_pages_on_the_platforms_hosts() {
        let biz = "MzA3NjE1NDkwMA==";
        let wx = UseScope::wechat("https://mp.weixin.qq.com/s?__biz=MzA3NjE1NDkwMA%3D%3D&mid=1&idx=1#rd", "人民日报")
            .expect("an article link names its account");
        assert_eq!(wx, UseScope::WechatAccount { id: biz.into(), name: "人民日报".into() });
        assert_eq!(
            UseScope::wechat(biz, "").expect("a bare id"),
            UseScope::WechatAccount { id: biz.into(), name: String::new() }
        );
        assert!(wx.covers(&format!("https://mp.weixin.qq.com/s?__biz={biz}&mid=2247&idx=2")));
        assert!(wx.covers("http://mp.weixin.qq.com/s?mid=9&__biz=MzA3NjE1NDkwMA%3D%3D"));
        assert!(!wx.covers("https://mp.weixin.qq.com/s?__biz=MzIwMDAwMDAwMA==&mid=1"), "another account");
        assert!(!wx.covers(&format!("https://evil.example/s?__biz={biz}")), "not WeChat's host");
        assert!(UseScope::wechat("https://mp.weixin.qq.com/s/AbCdEf", "").is_err(), "a short link carries no __biz");
        assert!(UseScope::wechat("https://evil.example/s?__biz=MzA3NjE1NDkwMA==", "").is_err());

        let wb = UseScope::weibo("https://weibo.com/u/1974576991", "").expect("a profile link");
        assert_eq!(wb, UseScope::WeiboAccount { id: "1974576991".into(), name: String::new() });
        assert_eq!(UseScope::weibo("m.weibo.cn/1974576991/Nx8", "").expect("a post link"), wb);
        assert_eq!(UseScope::weibo("1974576991", "").expect("a bare id"), wb);
        assert!(wb.covers("https://weibo.com/1974576991/NqZ3xAbC"));
        assert!(wb.covers("https://m.weibo.cn/profile/1974576991"));
        assert!(!wb.covers("https://weibo.com/1974576992/NqZ3xAbC"));
        assert!(!wb.covers("https://weibo.com.evil.net/1974576991/x"));
        assert!(UseScope::weibo("https://example.com/u/1974576991", "").is_err());

        let app = UseScope::app("com.Example.News", "例子新闻").expect("a bundle id");
        assert_eq!(app.key(), "com.example.news");
        assert!(!app.covers("https://com.example.news/"), "monitoring sees no app");
        assert!(UseScope::app("not an id", "").is_err());
    }

    #[test]
    fn old_licence_documents_still_read_and_new_ones_round_trip() {
        let old: UseScope = serde_json::from_str(r#"{"domain":"example.com"}"#).expect("old form");
        assert_eq!(old, UseScope::Domain("example.com".into()));
        let wx = UseScope::WechatAccount { id: "MzA3NjE1NDkwMA==".into(), name: "报".into() };
        let json = serde_json::to_string(&wx).expect("serialises");
        assert_eq!(json, r#"{"wechat_account":{"id":"MzA3NjE1NDkwMA==","name":"报"}}"#);
        assert_eq!(serde_json::from_str::<UseScope>(&json).expect("reads back"), wx);
    }
}
