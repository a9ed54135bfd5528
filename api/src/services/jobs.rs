//! Monitoring jobs: what to crawl (seeds, sitemaps, feeds), where the crawl may go (hosts, path
//! prefixes), how much (pages, depth) and how often. Administrators create and manage jobs; a rights
//! holder may submit a suspect site, which waits as `pending` until an administrator approves it.
//!
//! The spec is stored as JSON in `monitor_jobs.spec`; this module owns its shape and its validation,
//! so the web forms, the REST API and `seal crawl` accept exactly the same jobs.

use crate::store::monitoring::JobRow;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

/// Most seeds, sitemaps or feeds one job may list.
pub const MAX_URLS: usize = 100;
/// Most pages one run may fetch.
pub const MAX_PAGES: usize = 1_000_000;
/// Deepest link depth.
pub const MAX_DEPTH: u32 = 50;
/// Shortest re-run interval (one minute; the database checks it too).
pub const MIN_INTERVAL_MS: i64 = 60_000;

/// What a job crawls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Start pages.
    pub seeds: Vec<String>,
    /// Sitemaps (XML, index or gzip) to read for pages.
    #[serde(default)]
    pub sitemaps: Vec<String>,
    /// RSS or Atom feeds to read for pages.
    #[serde(default)]
    pub feeds: Vec<String>,
    /// Hosts the crawl may visit; empty means the hosts of the seeds, sitemaps and feeds.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Path prefixes pages must start with; empty means any path.
    #[serde(default)]
    pub path_prefixes: Vec<String>,
    /// Page budget per run.
    pub max_pages: usize,
    /// Link depth budget (seeds are depth 0).
    pub max_depth: u32,
    /// Whether to fetch and match the images pages embed.
    #[serde(default = "yes")]
    pub fetch_images: bool,
}

fn yes() -> bool {
    true
}

/// Why a job was refused; the text is for the person who filled in the form.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A field is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such job (or not one the caller may see).
    #[error("no such monitoring job")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> JobError {
    JobError::Invalid { field, reason: reason.into() }
}

fn check_urls(field: &'static str, urls: &[String]) -> Result<Vec<Url>, JobError> {
    if urls.len() > MAX_URLS {
        return Err(invalid(field, format!("at most {MAX_URLS}")));
    }
    urls.iter()
        .map(|u| {
            let url = Url::parse(u.trim()).map_err(|_| invalid(field, format!("{u:?} is not a web address")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !url.username().is_empty() {
                return Err(invalid(field, format!("{u:?} is not an http or https address")));
            }
            Ok(url)
        })
        .collect()
}

impl JobSpec {
    /// Checks limits and URL forms, and normalises: trims, fills `hosts` from the seeds, sitemaps and
    /// feeds when empty.
    pub fn validated(mut self) -> Result<JobSpec, JobError> {
        let seeds = check_urls("seeds", &self.seeds)?;
        let sitemaps = check_urls("sitemaps", &self.sitemaps)?;
        let feeds = check_urls("feeds", &self.feeds)?;
        if seeds.is_empty() && sitemaps.is_empty() && feeds.is_empty() {
            return Err(invalid("seeds", "give at least one start page, sitemap or feed"));
        }
        if self.max_pages == 0 || self.max_pages > MAX_PAGES {
            return Err(invalid("max_pages", format!("between 1 and {MAX_PAGES}")));
        }
        if self.max_depth > MAX_DEPTH {
            return Err(invalid("max_depth", format!("at most {MAX_DEPTH}")));
        }
        if self.hosts.len() > MAX_URLS || self.path_prefixes.len() > MAX_URLS {
            return Err(invalid("hosts", format!("at most {MAX_URLS} hosts and {MAX_URLS} path prefixes")));
        }
        self.hosts = self.hosts.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        if self.hosts.is_empty() {
            for url in seeds.iter().chain(&sitemaps).chain(&feeds) {
                if let Some(host) = url.host_str() {
                    let host = host.to_ascii_lowercase();
                    if !self.hosts.contains(&host) {
                        self.hosts.push(host);
                    }
                }
            }
        }
        if let Some(bad) = self.path_prefixes.iter().find(|p| !p.starts_with('/')) {
            return Err(invalid("path_prefixes", format!("{bad:?} must start with /")));
        }
        self.seeds = seeds.iter().map(Url::to_string).collect();
        self.sitemaps = sitemaps.iter().map(Url::to_string).collect();
        self.feeds = feeds.iter().map(Url::to_string).collect();
        Ok(self)
    }
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An administrator: jobs start active, and every job may be managed.
    Admin,
    /// A rights holder: a submitted suspect site waits for approval; only their own submissions are
    /// visible to them.
    Holder(PartyId),
}

/// Creates a job. An administrator's job is active and due now; a holder's is `pending`.
pub fn create(
    store: &mut SqliteStore,
    actor: &Actor,
    name: &str,
    spec: JobSpec,
    interval_ms: Option<i64>,
    now: Timestamp,
) -> Result<JobRow, JobError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("name", "1 to 200 characters"));
    }
    if interval_ms.is_some_and(|i| i < MIN_INTERVAL_MS) {
        return Err(invalid("interval", "at least one minute"));
    }
    let spec = spec.validated()?;
    let (status, submitted_by) = match actor {
        Actor::Admin => ("active", None),
        Actor::Holder(p) => ("pending", Some(p.clone())),
    };
    let spec = serde_json::to_string(&spec).map_err(|e| invalid("spec", e.to_string()))?;
    let job = JobRow {
        submitted_by,
        status: status.to_owned(),
        interval_ms,
        next_run_at: (status == "active").then_some(now),
        ..JobRow::active(super::tokens::short_id("job", 9), name.to_owned(), spec, now)
    };
    store.put_job(&job)?;
    Ok(job)
}

/// A job the actor may see.
pub fn get(store: &SqliteStore, actor: &Actor, id: &str) -> Result<JobRow, JobError> {
    let job = store.job(id)?.ok_or(JobError::NotFound)?;
    match actor {
        Actor::Admin => Ok(job),
        Actor::Holder(p) if job.submitted_by.as_ref() == Some(p) => Ok(job),
        Actor::Holder(_) => Err(JobError::NotFound),
    }
}

/// The jobs the actor may see.
pub fn list(store: &SqliteStore, actor: &Actor) -> Result<Vec<JobRow>, JobError> {
    Ok(match actor {
        Actor::Admin => store.jobs(None)?,
        Actor::Holder(p) => store.jobs(Some(p))?,
    })
}

/// An administrator's decision on a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Approve a pending job or resume a paused one: active, due now.
    Activate,
    /// Stop scheduling it.
    Pause,
    /// Refuse a holder's submission.
    Reject,
}

impl Decision {
    /// Parses `activate`, `approve`, `resume`, `pause` or `reject`.
    pub fn parse(s: &str) -> Option<Decision> {
        Some(match s {
            "activate" | "approve" | "resume" => Decision::Activate,
            "pause" => Decision::Pause,
            "reject" => Decision::Reject,
            _ => return None,
        })
    }
}

/// Applies an administrator's decision.
pub fn decide(store: &mut SqliteStore, id: &str, decision: Decision, now: Timestamp) -> Result<JobRow, JobError> {
    let mut job = store.job(id)?.ok_or(JobError::NotFound)?;
    match decision {
        Decision::Activate => {
            job.status = "active".into();
            job.next_run_at = Some(now);
        }
        Decision::Pause => job.status = "paused".into(),
        Decision::Reject => {
            job.status = "rejected".into();
            job.next_run_at = None;
        }
    }
    store.update_job(&job)?;
    Ok(job)
}

/// The spec of a stored job.
pub fn spec_of(job: &JobRow) -> Result<JobSpec, JobError> {
    serde_json::from_str(&job.spec).map_err(|e| invalid("spec", e.to_string()))
}
