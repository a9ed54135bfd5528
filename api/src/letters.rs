//! Issuing authorization letters for stored licences (the signing itself is in
//! `seal_licensing::letter`, which documents the format).

use crate::store::{Repository, StoreError};
use seal_licensing::ids::LicenceId;
use seal_licensing::letter::{letter_payload, sign_letter, PlatformKey};
use seal_licensing::Timestamp;

/// Why a letter could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such licence, work or rights holder.
    #[error("unknown {0}")]
    NotFound(String),
    /// Refunded licences are revoked and get no letter.
    #[error("licence {0} was refunded")]
    Refunded(LicenceId),
    /// The log entry or its proof could not be made.
    #[error("transparency log: {0}")]
    Proof(String),
}

/// The signed letter (JWS compact plus newline) for a licence, issued at `now`.
pub fn issue_letter(
    repo: &impl Repository,
    key: &PlatformKey,
    licence: &LicenceId,
    now: Timestamp,
) -> Result<String, IssueError> {
    let (l, work, holder) = letter_records(repo, licence)?;
    let payload = letter_payload(&l, &work, &holder, now, &key.public().kid());
    Ok(sign_letter(key, &payload))
}

/// What a letter is made of: the licence (refused when refunded), its work and its rights holder.
fn letter_records(
    repo: &impl Repository,
    licence: &LicenceId,
) -> Result<
    (seal_licensing::licence::Licence, seal_licensing::offer::Work, seal_licensing::offer::RightsHolder),
    IssueError,
> {
    let l = repo.licence(licence)?.ok_or_else(|| IssueError::NotFound(format!("licence {licence}")))?;
    if l.status == seal_licensing::licence::LicenceStatus::Refunded {
        return Err(IssueError::Refunded(l.id));
    }
    let work = repo.work(&l.work)?.ok_or_else(|| IssueError::NotFound(format!("work {}", l.work)))?;
    let holder = repo.holder(&l.holder)?.ok_or_else(|| IssueError::NotFound(format!("holder {}", l.holder)))?;
    Ok((l, work, holder))
}

/// [`issue_letter`] with the licence's transparency-log entry: the payload gains a `log` block (the
/// licence's leaf, its inclusion proof and the signed, timestamped checkpoint it is proven against) and
/// the public `verify_url`, so `seal verify LETTER.jws` and `/verify` check the entry too. The licence is
/// appended to the log first if its `licence.granted` event has not been notarised yet.
pub fn issue_logged_letter(
    store: &mut crate::store::SqliteStore,
    key: &PlatformKey,
    notary: &crate::services::notary::Notary,
    licence: &LicenceId,
    now: Timestamp,
) -> Result<String, IssueError> {
    use crate::store::Proofs;
    let (l, work, holder) = letter_records(&*store, licence)?;
    let leaf = match store.log_leaf_for("licence", licence.as_str())? {
        Some(leaf) => leaf.index,
        None => {
            let data = crate::services::notary::licence_leaf(&l, &work);
            store.log_append("licence", licence.as_str(), &data, now)?
        }
    };
    let mut payload = letter_payload(&l, &work, &holder, now, &key.public().kid());
    payload["log"] = notary.log_block(store, leaf, now).map_err(|e| IssueError::Proof(e.to_string()))?;
    payload["verify_url"] = serde_json::Value::String(notary.verify_page_url());
    Ok(sign_letter(key, &payload))
}
