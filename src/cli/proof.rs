//! What the proof commands share: opening the records and content of a data directory without the
//! fingerprint indexes (proofs do not need them), and the notary with the server's public URL
//! (`SEAL_PUBLIC_URL`, else the server's default), which names a new log.

use anyhow::{Context, Result};
use seal_api::content::ContentStore;
use seal_api::services::notary::Notary;
use seal_api::store::SqliteStore;
use seal_licensing::Timestamp;
use std::path::Path;

/// The records and content of a data directory.
pub struct ProofData {
    /// `DATA/seal.db`.
    pub store: SqliteStore,
    /// `DATA/content`.
    pub content: ContentStore,
}

impl ProofData {
    /// Opens both (creating an empty data directory if there is none).
    pub fn open(data: &Path) -> Result<ProofData> {
        let store = SqliteStore::open_in(data).with_context(|| format!("opening {}", data.display()))?;
        let content = ContentStore::open(data).with_context(|| format!("opening {}/content", data.display()))?;
        Ok(ProofData { store, content })
    }
}

/// The notary of a data directory, with works registered before proofs existed notarised.
pub fn open_notary(data: &Path, store: &mut SqliteStore, content: &ContentStore, now: Timestamp) -> Result<Notary> {
    let public_url = std::env::var("SEAL_PUBLIC_URL").ok().filter(|u| !u.is_empty());
    let public_url = public_url.as_deref().unwrap_or("http://127.0.0.1:8080");
    let notary = Notary::open(data, public_url, store, now).context("opening the platform's keys and TSA")?;
    notary.backfill(store, content, now).context("timestamping works registered before proofs")?;
    Ok(notary)
}
