//! Licences recorded without payment: back-office and imported contracts (`seal licences grant`).
//!
//! A contract licence is an ordinary licence row in status `free` (no money moves, so nothing touches
//! the ledger), carrying a snapshot of a private contract offer that is never published: readers of
//! the seal are not offered it. Granting one writes a `licence.granted` event in the same
//! transaction, so the recolouring subscriber turns the hits it covers white; nothing is lost if the
//! process dies in between.

use super::tokens::short_id;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::{LicenceId, OfferId, PartyId, WorkId};
use seal_licensing::licence::{Licence, LicenceStatus, Split, UseScope};
use seal_licensing::money::{Amount, Currency, Money};
use seal_licensing::offer::{Action, Constraints, Offer, OfferTarget};
use seal_licensing::Timestamp;

/// Why a contract licence was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// No work has that id or imported file name.
    #[error("no work has the id or file name {0:?}")]
    NoSuchWork(String),
    /// Several works were imported from files of that name.
    #[error("{0:?} names several works ({1}); give the work id")]
    Ambiguous(String, String),
    /// The scope is neither a domain nor a URL prefix.
    #[error("the scope must be a domain such as example.com or a URL prefix such as https://example.com/partners/")]
    BadScope,
    /// The licensee's name is empty or too long.
    #[error("the licensee name must be 1 to 200 characters")]
    BadLicensee,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves `FILE_OR_ID`: a work id, else the base name of an imported file (with or without its
/// extension).
pub fn find_work(store: &SqliteStore, file_or_id: &str) -> Result<WorkId, GrantError> {
    if let Ok(id) = WorkId::new(file_or_id) {
        if store.work(&id)?.is_some() {
            return Ok(id);
        }
    }
    let works = store.works_by_file(file_or_id)?;
    match works.as_slice() {
        [] => Err(GrantError::NoSuchWork(file_or_id.to_owned())),
        [one] => Ok(one.clone()),
        many => Err(GrantError::Ambiguous(
            file_or_id.to_owned(),
            many.iter().map(WorkId::as_str).collect::<Vec<_>>().join(", "),
        )),
    }
}

/// Parses a scope as typed: anything with a scheme or a path is a URL prefix, a bare host a domain.
///
/// A platform place is written `wechat:<__biz or article link>`, `weibo:<uid or link>` or
/// `app:<bundle id>`.
pub fn parse_scope(scope: &str) -> Result<UseScope, GrantError> {
    let scope = scope.trim();
    let platform =
        [("wechat:", UseScope::wechat as fn(&str, &str) -> _), ("weibo:", UseScope::weibo), ("app:", UseScope::app)];
    for (prefix, parse) in platform {
        if let Some(rest) = scope.strip_prefix(prefix) {
            return parse(rest, "").map_err(|_| GrantError::BadScope);
        }
    }
    if scope.is_empty() || scope.len() > 2000 || scope.chars().any(char::is_whitespace) {
        return Err(GrantError::BadScope);
    }
    if scope.contains("://") {
        let url = url::Url::parse(scope).map_err(|_| GrantError::BadScope)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(GrantError::BadScope);
        }
        return Ok(UseScope::UrlPrefix(scope.to_owned()));
    }
    if scope.contains('/') {
        return Ok(UseScope::UrlPrefix(scope.to_owned()));
    }
    let host = url::Url::parse(&format!("http://{scope}/")).map_err(|_| GrantError::BadScope)?;
    let host = host.host_str().ok_or(GrantError::BadScope)?.to_owned();
    Ok(UseScope::Domain(host))
}

/// Records a contract licence for `work` over `scope`, valid from `now` (until `valid_until` when
/// given), and its `licence.granted` event, in one transaction.
pub fn grant_contract(
    store: &mut SqliteStore,
    work: &WorkId,
    scope: UseScope,
    licensee_name: &str,
    valid_until: Option<Timestamp>,
    now: Timestamp,
) -> Result<Licence, GrantError> {
    let licensee_name = licensee_name.trim();
    if licensee_name.is_empty() || licensee_name.chars().count() > 200 {
        return Err(GrantError::BadLicensee);
    }
    let stored = store.work(work)?.ok_or_else(|| GrantError::NoSuchWork(work.as_str().to_owned()))?;
    let zero = Money { amount: Amount::new(0).map_err(|_| GrantError::BadScope)?, currency: Currency::CNY };
    let bad_id = |_| GrantError::Store(StoreError::Conflict("could not make an id".into()));
    let id = LicenceId::new(short_id("lic", 12)).map_err(bad_id)?;
    let offer = Offer {
        id: OfferId::new(format!("contract-{}", id.as_str())).map_err(bad_id)?,
        assigner: stored.owner.clone(),
        target: OfferTarget::Work(work.clone()),
        permissions: vec![Action::Reproduce, Action::Display, Action::Distribute],
        constraints: Constraints::default(),
        price: zero,
        valid_from: now,
        valid_until,
        withdrawn_at: None,
    };
    let licence = Licence {
        id,
        offer,
        work: work.clone(),
        holder: stored.owner.clone(),
        licensee: PartyId::new("contract").map_err(bad_id)?,
        licensee_name: licensee_name.to_owned(),
        scope,
        valid_from: now,
        valid_until,
        status: LicenceStatus::Free,
        price: zero,
        split: Split { net: zero.amount, fee_platform: zero.amount, app: None },
        provider: None,
        provider_ref: None,
        created_at: now,
        hold_until: now,
        objection: None,
        settled_at: None,
        refunded_at: None,
        invoice: None,
        payout: None,
    };
    store.atomically(|s| -> Result<(), GrantError> {
        s.record_contract_licence(&licence)?;
        let payload = serde_json::json!({
            "licence": licence.id.as_str(), "work": work.as_str(), "contract": true,
            "amount_minor": 0, "currency": "CNY",
        });
        s.record_event("licence.granted", licence.id.as_str(), &payload, now)?;
        Ok(())
    })?;
    Ok(licence)
}
