//! Timestamps from an external RFC 3161 authority, next to ours.
//!
//! Our own TSA stamps every registration (see [`super::notary`]), but a certificate is stronger when a
//! second authority the platform does not control has stamped the same hash: then even the platform
//! could not have back-dated it. When `tsa_url` is set, this job asks that authority for a token over
//! each registration's content hash, the same imprint our token covers, so stock OpenSSL verifies both
//! against the submitter's file.
//!
//! **A queue without a scan.** Registrations are walked in log order with a cursor (kept with the
//! outbox subscribers' cursors, named after the authority's URL), so a pass reads a small batch however
//! many works there are, and a new authority starts from the first registration. A registration leaves
//! the queue when it has a token, or after [`MAX_ATTEMPTS`] failed answers (each kept, with its reason,
//! next to the work). A failure stops the pass and the next one waits, doubling from a minute to an
//! hour, so an authority that is down is not hammered.
//!
//! **Network off the lock.** The batch is read under the store's lock, the authority is asked with no
//! lock held, through the guarded fetcher (SSRF rules, ports, deadline, body cap), and the answers are
//! written under the lock again.
//!
//! **What is checked.** An answer is kept as a token only when it is a granted `TimeStampResp` whose
//! imprint is ours and whose nonce echoes ours. Its signature chains to the authority's own CA, which
//! the platform does not pin; anyone verifying a certificate checks it with that CA (`openssl ts
//! -verify -CAfile`).

use crate::store::prelude::*;
use crate::store::proof::{ExternalStamp, Registration};
use crate::store::{SqliteStore, StoreError};
use seal_crawler::fetch::{FetchError, Fetcher};
use seal_licensing::tsa;
use seal_licensing::Timestamp;
use std::sync::Mutex;
use url::Url;

/// Failed answers about one registration before the queue moves past it.
pub const MAX_ATTEMPTS: usize = 5;

/// Registrations asked about per pass.
const BATCH: usize = 32;

/// The largest answer read: a response with a certificate chain is a few KiB.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The wait after the first failed pass, doubling up to [`MAX_WAIT_MS`].
const FIRST_WAIT_MS: i64 = 60_000;
const MAX_WAIT_MS: i64 = 3_600_000;

/// Why a pass stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ExternalTsaError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The async runtime could not start.
    #[error("starting the runtime: {0}")]
    Runtime(String),
}

/// One configured external authority and its back-off state.
pub struct ExternalTsa {
    url: Url,
    backoff: Mutex<Backoff>,
    /// One runtime for the authority's whole life, so connections the fetcher's pool keeps alive are
    /// always driven by the runtime that opened them. Only `Drop` takes it out.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ExternalTsa {
    /// Shuts the runtime down without waiting: the state may be dropped inside another runtime (the
    /// web server's), where a blocking shutdown panics.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    not_before: Option<Timestamp>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Tokens received and kept.
    pub stamped: usize,
    /// Failed answers recorded.
    pub failed: usize,
}

impl ExternalTsa {
    /// The authority at `url`.
    pub fn new(url: Url) -> Result<ExternalTsa, ExternalTsaError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ExternalTsaError::Runtime(e.to_string()))?;
        Ok(ExternalTsa { url, backoff: Mutex::new(Backoff::default()), runtime: Some(runtime) })
    }

    /// The authority's URL, as certificates name it.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The cursor's name among the outbox subscribers' cursors: one per authority.
    fn cursor(&self) -> String {
        format!("tsa:{}", self.url)
    }

    /// One pass: reads a batch of registrations the authority has not stamped, asks for each, and keeps
    /// the answers. Does nothing while backing off after a failure. Blocks: call it from a plain thread
    /// (the scheduler's), not from async code.
    pub fn run(
        &self,
        store: &Mutex<SqliteStore>,
        fetcher: &Fetcher,
        now: impl Fn() -> Timestamp,
    ) -> Result<PassReport, ExternalTsaError> {
        if self.backoff.lock().unwrap_or_else(|p| p.into_inner()).not_before.is_some_and(|t| now() < t) {
            return Ok(PassReport::default());
        }
        let (cursor, batch) = {
            let store = store.lock().unwrap_or_else(|p| p.into_inner());
            let cursor = u64::try_from(store.event_cursor(&self.cursor())?).unwrap_or(0);
            (cursor, store.registrations_from_leaf(cursor, BATCH)?)
        };
        if batch.is_empty() {
            return Ok(PassReport::default());
        }
        let Some(runtime) = &self.runtime else { return Ok(PassReport::default()) };
        let mut report = PassReport::default();
        let mut next = cursor;
        for registration in &batch {
            let stamp = runtime.block_on(self.ask(fetcher, registration, now()));
            let ok = stamp.tsr.is_some();
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            let attempts = if ok {
                0
            } else {
                let earlier = store.external_stamps(&registration.work)?;
                1 + earlier.iter().filter(|s| s.authority == stamp.authority && s.tsr.is_none()).count()
            };
            let moves_on = ok || attempts >= MAX_ATTEMPTS;
            if moves_on {
                next = registration.leaf + 1;
            }
            let cursor = self.cursor();
            store.atomically(|s| -> Result<(), StoreError> {
                s.put_external_stamp(&registration.work, &stamp)?;
                if moves_on {
                    s.set_event_cursor(&cursor, i64::try_from(next).unwrap_or(i64::MAX))?;
                }
                Ok(())
            })?;
            drop(store);
            if ok {
                report.stamped += 1;
            } else {
                report.failed += 1;
                tracing::warn!(
                    work = %registration.work,
                    authority = %self.url,
                    attempt = attempts,
                    error = stamp.error.as_deref().unwrap_or_default(),
                    "external timestamp failed"
                );
                self.back_off(now());
                return Ok(report);
            }
        }
        *self.backoff.lock().unwrap_or_else(|p| p.into_inner()) = Backoff::default();
        Ok(report)
    }

    fn back_off(&self, now: Timestamp) {
        let mut b = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        b.failures = b.failures.saturating_add(1);
        let wait = FIRST_WAIT_MS.saturating_mul(1 << b.failures.saturating_sub(1).min(16)).min(MAX_WAIT_MS);
        b.not_before = Some(now.saturating_add_ms(wait));
    }

    /// Asks for a token over the registration's content hash and checks the answer.
    async fn ask(&self, fetcher: &Fetcher, registration: &Registration, now: Timestamp) -> ExternalStamp {
        let result = async {
            let imprint = imprint_of(registration)?;
            let mut random = [0_u8; 8];
            getrandom::fill(&mut random).map_err(|e| format!("no randomness for a nonce: {e}"))?;
            let nonce = u64::from_be_bytes(random) >> 1;
            let request = tsa::encode_request(&imprint, Some(nonce), true);
            let answer = fetcher
                .post(&self.url, "application/timestamp-query", &request, MAX_RESPONSE_BYTES)
                .await
                .map_err(|e: FetchError| e.to_string())?;
            if answer.status != 200 {
                return Err(format!("the authority answered HTTP {}", answer.status));
            }
            check_answer(&answer.body, &imprint, nonce)?;
            Ok(answer.body)
        }
        .await;
        let authority = self.url.to_string();
        match result {
            Ok(tsr) => ExternalStamp { authority, tsr: Some(tsr), error: None, at: now },
            Err(error) => ExternalStamp { authority, tsr: None, error: Some(error), at: now },
        }
    }
}

/// The SHA-256 our own token covers (the file as submitted), from the registration record.
fn imprint_of(registration: &Registration) -> Result<[u8; 32], String> {
    let hex_text = registration.iscc["sha256"].as_str().unwrap_or_default();
    let bytes = hex::decode(hex_text).map_err(|_| "the registration has no content hash".to_owned())?;
    bytes.try_into().map_err(|_| "the registration's content hash is not SHA-256".to_owned())
}

/// Accepts a granted response for our imprint that echoes our nonce; says why otherwise.
pub fn check_answer(tsr: &[u8], imprint: &[u8; 32], nonce: u64) -> Result<(), String> {
    let info = tsa::inspect(tsr).map_err(|e| format!("the answer is not a granted time-stamp response: {e}"))?;
    if info.imprint != imprint {
        return Err("the token covers another hash".into());
    }
    let ours: Vec<u8> = nonce.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
    if info.nonce.as_deref() != Some(ours.as_slice()) {
        return Err("the token does not echo our nonce (a replayed or foreign answer)".into());
    }
    Ok(())
}
