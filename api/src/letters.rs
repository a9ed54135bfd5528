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
}

/// The signed letter (JWS compact plus newline) for a licence, issued at `now`.
pub fn issue_letter(
    repo: &impl Repository,
    key: &PlatformKey,
    licence: &LicenceId,
    now: Timestamp,
) -> Result<String, IssueError> {
    let l = repo.licence(licence)?.ok_or_else(|| IssueError::NotFound(format!("licence {licence}")))?;
    if l.status == seal_licensing::licence::LicenceStatus::Refunded {
        return Err(IssueError::Refunded(l.id));
    }
    let work = repo.work(&l.work)?.ok_or_else(|| IssueError::NotFound(format!("work {}", l.work)))?;
    let holder = repo.holder(&l.holder)?.ok_or_else(|| IssueError::NotFound(format!("holder {}", l.holder)))?;
    let payload = letter_payload(&l, &work, &holder, now, &key.public().kid());
    Ok(sign_letter(key, &payload))
}
