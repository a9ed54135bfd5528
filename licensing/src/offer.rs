//! Parties, works, channels and offers.
//!
//! Offers follow W3C ODRL 2.2 and IPTC RightsML: a set of permitted actions, constraints on them, and
//! duties the licensee takes on (attribution, always; payment, unless the offer is free). A channel
//! (a website domain, WeChat official account, Weibo account or blog) carries default offers, so a rights
//! holder who sets a channel up once licenses everything published on it. [`Offer::to_odrl`] exports an
//! offer as ODRL JSON-LD.

use crate::ids::{ChannelId, OfferId, PartyId, WorkId};
use crate::money::{Money, BPS_WHOLE};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Publicity period when a rights holder sets none: the time during which a paid licence fee stays in
/// escrow and anyone may object.
pub const DEFAULT_PUBLICITY_DAYS: u32 = 7;
/// Longest publicity period a rights holder may choose.
pub const MAX_PUBLICITY_DAYS: u32 = 365;
/// Platform fee when a rights holder's contract names none: 10%.
pub const DEFAULT_FEE_BPS: u32 = 1_000;
/// Share of the platform fee passed to a third-party app that sold the licence: 30% of the fee.
pub const APP_SHARE_OF_FEE_BPS: u32 = 3_000;
/// Longest free text (names, titles, URLs) we store.
pub const MAX_TEXT_LEN: usize = 2_000;

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ValidationError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn check_text(field: &'static str, text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        Err(ValidationError { field, reason: "empty" })
    } else {
        check_optional_text(field, text)
    }
}

/// Length and character checks for a text that may be empty.
fn check_optional_text(field: &'static str, text: &str) -> Result<(), ValidationError> {
    if text.len() > MAX_TEXT_LEN {
        Err(ValidationError { field, reason: "too long" })
    } else if text.chars().any(is_forbidden_char) {
        Err(ValidationError { field, reason: "contains control or bidirectional-override characters" })
    } else {
        Ok(())
    }
}

/// Characters no name or title may hold: NUL and the other C0/C1 controls (they cut strings short in
/// C tools and logs), and the Unicode bidirectional embeddings, overrides and isolates, which let a
/// name display as something else (`U+202E` turns "evil\u{202E}gpj.exe" into "evilexe.jpg").
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Checks a display name (a user's, a licensee's): not blank, not too long, no control or bidi
/// override characters.
pub fn check_display_text(field: &'static str, text: &str) -> Result<(), ValidationError> {
    check_text(field, text)
}

/// Checks a display name (a licensee's, for example): not blank, not too long.
pub fn check_name(name: &str) -> Result<(), ValidationError> {
    check_text("name", name)
}

/// A rights holder and the terms of their contract with the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsHolder {
    /// Party id.
    pub id: PartyId,
    /// Display name (a person or an organisation).
    pub name: String,
    /// Days a paid fee stays in escrow before it settles.
    pub publicity_days: u32,
    /// Platform fee in basis points of each licence price.
    pub fee_bps: u32,
}

impl RightsHolder {
    /// A rights holder on the default contract.
    pub fn new(id: PartyId, name: impl Into<String>) -> Self {
        RightsHolder { id, name: name.into(), publicity_days: DEFAULT_PUBLICITY_DAYS, fee_bps: DEFAULT_FEE_BPS }
    }

    /// Checks limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("name", &self.name)?;
        if self.publicity_days > MAX_PUBLICITY_DAYS {
            return Err(ValidationError { field: "publicity_days", reason: "more than 365" });
        }
        if self.fee_bps > BPS_WHOLE {
            return Err(ValidationError { field: "fee_bps", reason: "more than 100%" });
        }
        Ok(())
    }
}

/// The kind of a publication venue; also the ODRL `deliveryChannel` a licence may be used on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A website, identified by its domain.
    Website,
    /// A WeChat official account (微信公众号).
    WechatOfficialAccount,
    /// A Weibo account.
    Weibo,
    /// A blog.
    Blog,
}

impl ChannelKind {
    /// The snake_case name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Website => "website",
            ChannelKind::WechatOfficialAccount => "wechat_official_account",
            ChannelKind::Weibo => "weibo",
            ChannelKind::Blog => "blog",
        }
    }
}

/// A rights holder's publication channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel id.
    pub id: ChannelId,
    /// The rights holder who publishes there.
    pub owner: PartyId,
    /// Kind of venue.
    pub kind: ChannelKind,
    /// Domain, account name or blog URL.
    pub handle: String,
    /// Offers that apply to every work published on this channel.
    pub default_offers: Vec<OfferId>,
}

impl Channel {
    /// Checks limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("handle", &self.handle)?;
        if self.default_offers.len() > 64 {
            return Err(ValidationError { field: "default_offers", reason: "more than 64" });
        }
        Ok(())
    }
}

/// A registered work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Work id.
    pub id: WorkId,
    /// The rights holder.
    pub owner: PartyId,
    /// Title.
    pub title: String,
    /// Author as they are to be named.
    pub author: String,
    /// Where the original is published.
    pub source_url: String,
    /// The channel it was published on, whose default offers then apply.
    pub channel: Option<ChannelId>,
    /// SHA-256 of the registered content, lower-case hex.
    pub content_sha256: String,
    /// First publication.
    pub published_at: Timestamp,
    /// Registration with the platform.
    pub registered_at: Timestamp,
}

impl Work {
    /// Checks limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("title", &self.title)?;
        check_text("author", &self.author)?;
        // A source URL is optional: only a work published on a verified channel names one (the platform
        // checks that it lies on the channel), so a work cannot claim somebody else's page.
        check_optional_text("source_url", &self.source_url)?;
        let hex = self.content_sha256.as_bytes();
        if hex.len() != 64 || !hex.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
            return Err(ValidationError { field: "content_sha256", reason: "not 64 lower-case hex digits" });
        }
        Ok(())
    }

    /// The attribution text Chinese online-reprint rules require: author, title and source link.
    pub fn attribution_text(&self) -> String {
        format!("作者：{}｜原题：《{}》｜来源：{}", self.author, self.title, self.source_url)
    }
}

/// An action an offer permits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Make copies (ODRL `reproduce`).
    Reproduce,
    /// Pass copies on (ODRL `distribute`).
    Distribute,
    /// Show publicly (ODRL `display`).
    Display,
    /// Edit or adapt (ODRL `modify`).
    Modify,
    /// Use for commercial purposes (ODRL `commercialize`).
    CommercialUse,
}

impl Action {
    /// The ODRL 2.2 Common Vocabulary action name.
    pub fn odrl(self) -> &'static str {
        match self {
            Action::Reproduce => "reproduce",
            Action::Distribute => "distribute",
            Action::Display => "display",
            Action::Modify => "modify",
            Action::CommercialUse => "commercialize",
        }
    }
}

/// Limits on the permitted actions. Empty lists mean "no limit".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraints {
    /// Channel kinds the licensee may publish on.
    pub channel_kinds: Vec<ChannelKind>,
    /// ISO 3166-1 alpha-2 territories where use is allowed.
    pub territories: Vec<String>,
    /// Licence duration in days from purchase.
    pub duration_days: Option<u32>,
    /// Longest excerpt in characters.
    pub max_excerpt_chars: Option<u32>,
    /// Use online only (no print).
    pub online_only: bool,
}

/// What an offer applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferTarget {
    /// One work.
    Work(WorkId),
    /// Every work published on a channel.
    Channel(ChannelId),
}

/// An offer: the terms on which anyone may take a licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Offer id.
    pub id: OfferId,
    /// The rights holder granting it (ODRL assigner).
    pub assigner: PartyId,
    /// What it covers.
    pub target: OfferTarget,
    /// Permitted actions.
    pub permissions: Vec<Action>,
    /// Limits on them.
    pub constraints: Constraints,
    /// Price; zero makes a free offer (attribution still required).
    pub price: Money,
    /// Offer opens.
    pub valid_from: Timestamp,
    /// Offer closes (exclusive); `None` for open-ended.
    pub valid_until: Option<Timestamp>,
    /// When the rights holder withdrew it: closed to new purchases from then on. Licences already
    /// bought keep their snapshot. Absent from the serialised form until set, so snapshots and
    /// letters of offers never withdrawn read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Timestamp>,
}

impl Offer {
    /// Checks limits. Attribution is not a field: every offer carries it, because Chinese rules for
    /// online reprinting require naming the author, the title and the source.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.permissions.is_empty() {
            return Err(ValidationError { field: "permissions", reason: "empty" });
        }
        if self.permissions.len() > 8 || self.constraints.territories.len() > 300 {
            return Err(ValidationError { field: "offer", reason: "too many entries" });
        }
        let bad_territory = |t: &String| t.len() != 2 || !t.bytes().all(|b| b.is_ascii_uppercase());
        if self.constraints.territories.iter().any(bad_territory) {
            return Err(ValidationError { field: "territories", reason: "not ISO 3166-1 alpha-2" });
        }
        if matches!(self.valid_until, Some(end) if end <= self.valid_from) {
            return Err(ValidationError { field: "valid_until", reason: "not after valid_from" });
        }
        Ok(())
    }

    /// Whether the offer is free.
    pub fn is_free(&self) -> bool {
        self.price.amount.minor() == 0
    }

    /// Whether the offer is open at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.valid_from <= now
            && self.valid_until.is_none_or(|end| now < end)
            && self.withdrawn_at.is_none_or(|gone| now < gone)
    }

    /// Whether the offer applies to `work`: directly, or as a default offer of its channel.
    pub fn covers(&self, work: &Work) -> bool {
        self.assigner == work.owner
            && match &self.target {
                OfferTarget::Work(w) => *w == work.id,
                OfferTarget::Channel(c) => work.channel.as_ref() == Some(c),
            }
    }

    /// The offer as an ODRL 2.2 `Offer` in JSON-LD. With a work, the target is that work and the
    /// attribution duty names its author, title and source; without, the target is the channel or work
    /// the offer was made for. Terms ODRL lacks (excerpt length) use the `seal:` prefix.
    pub fn to_odrl(&self, work: Option<&Work>) -> Value {
        let target = match (work, &self.target) {
            (Some(w), _) => format!("urn:seal:work:{}", w.id),
            (None, OfferTarget::Work(w)) => format!("urn:seal:work:{w}"),
            (None, OfferTarget::Channel(c)) => format!("urn:seal:channel:{c}"),
        };
        let mut constraints = Vec::new();
        let c = &self.constraints;
        if !c.channel_kinds.is_empty() {
            let kinds: Vec<&str> = c.channel_kinds.iter().map(|k| k.as_str()).collect();
            constraints.push(json!({"leftOperand": "deliveryChannel", "operator": "isAnyOf", "rightOperand": kinds}));
        }
        if !c.territories.is_empty() {
            constraints.push(json!({"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": c.territories}));
        }
        if let Some(days) = c.duration_days {
            constraints.push(json!({"leftOperand": "elapsedTime", "operator": "lteq",
                "rightOperand": {"@value": format!("P{days}D"), "@type": "xsd:duration"}}));
        }
        if let Some(chars) = c.max_excerpt_chars {
            constraints.push(json!({"leftOperand": "seal:excerptLength", "operator": "lteq", "rightOperand": chars, "unit": "seal:character"}));
        }
        if c.online_only {
            constraints.push(json!({"leftOperand": "media", "operator": "eq", "rightOperand": "online"}));
        }
        let mut attribution =
            json!({"action": "attribute", "attributedParty": format!("urn:seal:party:{}", self.assigner)});
        if let Some(w) = work {
            attribution["seal:author"] = json!(w.author);
            attribution["seal:title"] = json!(w.title);
            attribution["seal:source"] = json!(w.source_url);
            attribution["seal:attributionText"] = json!(w.attribution_text());
        }
        let mut duties = vec![attribution];
        if !self.is_free() {
            let cur = self.price.currency;
            duties.push(json!({
                "action": "compensate",
                "constraint": [{
                    "leftOperand": "payAmount",
                    "operator": "eq",
                    "rightOperand": {"@value": cur.format_minor(self.price.amount.minor()), "@type": "xsd:decimal"},
                    "unit": format!("urn:iso:std:iso:4217:{cur}"),
                }],
                "seal:amountMinor": self.price.amount.minor(),
            }));
        }
        let permissions: Vec<Value> = self
            .permissions
            .iter()
            .map(|a| {
                let mut p = json!({"target": target, "action": a.odrl(), "duty": duties});
                if !constraints.is_empty() {
                    p["constraint"] = json!(constraints);
                }
                p
            })
            .collect();
        let mut offer = json!({
            "@context": ["http://www.w3.org/ns/odrl.jsonld", {"seal": "urn:seal:vocab:", "xsd": "http://www.w3.org/2001/XMLSchema#"}],
            "@type": "Offer",
            "uid": format!("urn:seal:offer:{}", self.id),
            "profile": "urn:seal:odrl-profile:1",
            "assigner": format!("urn:seal:party:{}", self.assigner),
            "permission": permissions,
            "seal:validFrom": self.valid_from.to_string(),
        });
        if let Some(end) = self.valid_until {
            offer["seal:validUntil"] = json!(end.to_string());
        }
        offer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Currency};

    fn offer(price: i64) -> Offer {
        Offer {
            id: OfferId::new("o1").expect("valid"),
            assigner: PartyId::new("rh1").expect("valid"),
            target: OfferTarget::Work(WorkId::new("w1").expect("valid")),
            permissions: vec![Action::Reproduce, Action::Display],
            constraints: Constraints {
                channel_kinds: vec![ChannelKind::WechatOfficialAccount],
                territories: vec!["CN".into()],
                duration_days: Some(365),
                max_excerpt_chars: Some(500),
                online_only: true,
            },
            price: Money { amount: Amount::new(price).expect("valid"), currency: Currency::CNY },
            valid_from: Timestamp::EPOCH,
            valid_until: None,
            withdrawn_at: None,
        }
    }

    #[test]
    fn paid_offer_exports_payment_and_attribution_duties() {
        let v = offer(1999).to_odrl(None);
        assert_eq!(v["@type"], "Offer");
        let p = &v["permission"][0];
        assert_eq!(p["action"], "reproduce");
        assert_eq!(p["target"], "urn:seal:work:w1");
        assert_eq!(p["duty"][0]["action"], "attribute");
        assert_eq!(p["duty"][1]["action"], "compensate");
        assert_eq!(p["duty"][1]["constraint"][0]["rightOperand"]["@value"], "19.99");
        assert_eq!(p["constraint"][2]["rightOperand"]["@value"], "P365D");
    }

    #[test]
    fn free_offer_has_attribution_only() {
        let v = offer(0).to_odrl(None);
        let duties = v["permission"][0]["duty"].as_array().expect("array");
        assert_eq!(duties.len(), 1);
        assert_eq!(duties[0]["action"], "attribute");
    }

    #[test]
    fn bad_offers_are_refused() {
        let mut o = offer(1);
        o.permissions.clear();
        assert!(o.validate().is_err());
        let mut o = offer(1);
        o.constraints.territories = vec!["china".into()];
        assert!(o.validate().is_err());
        let mut o = offer(1);
        o.valid_until = Some(Timestamp::EPOCH);
        assert!(o.validate().is_err());
    }
}
