//! Whether a hit is white (the use is allowed) or black (it is not), and why.
//!
//! A hit is **white** when any of these holds, checked in this order so the reason shown is the
//! strongest one:
//! 1. a licence of that work, in force now, covers the page's URL or domain ([`Licence::covers`], the
//!    same scope rule the licence letter states);
//! 2. the page lies on one of the rights holder's own *verified* website or blog channels
//!    ([`ChannelScope::contains`], the same rule ownership proof uses);
//! 3. the page is on the rights holder's allowlist of domains or URL prefixes (offline contracts,
//!    partners).
//!
//! Otherwise it is **black**. The [`Classifier`] caches licences per work and rules per rights holder
//! for one pass (a crawl run, a recolouring); it is cheap to make and must be remade (or told to
//! forget) when licences, channels or allowlists change.

use super::channels::ChannelScope;
use crate::store::monitoring::Reason;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::licence::{Licence, UseScope};
use seal_licensing::offer::ChannelKind;
use seal_licensing::Timestamp;
use std::collections::HashMap;
use url::Url;

/// One rights holder's standing permissions: verified channels and allowlist entries.
#[derive(Debug, Default)]
struct OwnerRules {
    channels: Vec<(String, ChannelScope)>,
    allow: Vec<(i64, UseScope)>,
}

/// Decides hit colours; caches what it reads. See the module docs.
#[derive(Debug, Default)]
pub struct Classifier {
    licences: HashMap<WorkId, Vec<Licence>>,
    owners: HashMap<PartyId, OwnerRules>,
}

/// The allowlist entry kinds and how each becomes a scope.
pub fn allow_scope(kind: &str, pattern: &str) -> Option<UseScope> {
    match kind {
        "domain" => Some(UseScope::Domain(pattern.to_owned())),
        "url_prefix" => Some(UseScope::UrlPrefix(pattern.to_owned())),
        "wechat_account" => Some(UseScope::WechatAccount { id: pattern.to_owned(), name: String::new() }),
        "weibo_account" => Some(UseScope::WeiboAccount { id: pattern.to_owned(), name: String::new() }),
        _ => None,
    }
}

/// The allowlist entry kind and pattern of a scope ([`allow_scope`] backwards). An app has no web
/// pages for monitoring to find, so it makes no entry.
pub fn allow_parts_of(scope: UseScope) -> Option<(&'static str, String)> {
    match scope {
        UseScope::Domain(d) => Some(("domain", d)),
        UseScope::UrlPrefix(p) => Some(("url_prefix", p)),
        UseScope::WechatAccount { id, .. } => Some(("wechat_account", id)),
        UseScope::WeiboAccount { id, .. } => Some(("weibo_account", id)),
        UseScope::App { .. } => None,
    }
}

impl Classifier {
    /// An empty classifier.
    pub fn new() -> Classifier {
        Classifier::default()
    }

    /// Drops what is cached about a work's licences.
    pub fn forget_work(&mut self, work: &WorkId) {
        self.licences.remove(work);
    }

    /// Drops what is cached about a rights holder's channels and allowlist.
    pub fn forget_owner(&mut self, owner: &PartyId) {
        self.owners.remove(owner);
    }

    /// The colour reason for `work` (of `owner`) seen at `page_url` at `now`, with the record that
    /// decided it (licence id, channel id, allowlist entry id; empty when unlicensed).
    pub fn classify(
        &mut self,
        store: &SqliteStore,
        work: &WorkId,
        owner: &PartyId,
        page_url: &str,
        now: Timestamp,
    ) -> Result<(Reason, String), StoreError> {
        if !self.licences.contains_key(work) {
            self.licences.insert(work.clone(), store.licences_of_work(work)?);
        }
        if let Some(l) = self.licences.get(work).into_iter().flatten().find(|l| l.covers(page_url, now)) {
            return Ok((Reason::Licence, l.id.as_str().to_owned()));
        }
        if !self.owners.contains_key(owner) {
            self.owners.insert(owner.clone(), owner_rules(store, owner)?);
        }
        let Some(rules) = self.owners.get(owner) else { return Ok((Reason::Unlicensed, String::new())) };
        if let Ok(url) = Url::parse(page_url) {
            if let Some((id, _)) = rules.channels.iter().find(|(_, scope)| scope.contains(&url)) {
                return Ok((Reason::OwnChannel, id.clone()));
            }
        }
        if let Some((id, _)) = rules.allow.iter().find(|(_, scope)| scope.covers(page_url)) {
            return Ok((Reason::Allowlist, id.to_string()));
        }
        Ok((Reason::Unlicensed, String::new()))
    }
}

fn owner_rules(store: &SqliteStore, owner: &PartyId) -> Result<OwnerRules, StoreError> {
    let mut rules = OwnerRules::default();
    let mut cursor = String::new();
    loop {
        let page = store.channels_of(owner, &cursor, 200)?;
        let Some(last) = page.last() else { break };
        cursor = last.id.as_str().to_owned();
        for channel in page {
            if !matches!(channel.kind, ChannelKind::Website | ChannelKind::Blog) {
                // WeChat and Weibo pages live on the platforms' shared hosts: a URL alone cannot
                // say whose account a page belongs to.
                continue;
            }
            let verified = store.claim(&channel.id)?.is_some_and(|c| c.verified_at.is_some());
            if let (true, Ok(scope)) = (verified, ChannelScope::parse(channel.kind, &channel.handle)) {
                rules.channels.push((channel.id.as_str().to_owned(), scope));
            }
        }
    }
    for entry in store.allowlist(owner)? {
        if let Some(scope) = allow_scope(&entry.kind, &entry.pattern) {
            rules.allow.push((entry.id, scope));
        }
    }
    Ok(rules)
}
