//! Migration 8 and its queries: what monitoring found and what it is doing.
//!
//! - `hits`: one row per (work, page, image) ever found, so a re-crawl updates a hit and never
//!   duplicates it (the UNIQUE key; a text hit's `image_url` is the empty string because SQL's NULLs
//!   are all distinct). Each row carries its colour and the reason for it, which the classifier decides
//!   and the recolouring subscriber changes when licences or allowlists change.
//! - `allowlist`: a rights holder's domains and URL prefixes that are licensed outside the platform
//!   (offline contracts, partners): their hits are white.
//! - `monitor_jobs` and `frontier`: monitoring jobs (seeds, sitemaps, feeds, scope, schedule, limits) and
//!   the persisted crawl frontier of each, so a job killed mid-run resumes without refetching. A page is
//!   marked done in the same transaction as its hits and the links it discovered.
//! - `pages`: every page seen (URL, title, first and last seen): the page side of retroactive matching.
//! - `event_cursors`: how far each subscriber of the domain-event outbox has read, moved in the same
//!   transaction as the subscriber's effect, so an event is acted on exactly once per subscriber.
//!
//! Only SQL that PostgreSQL also has is used (`ON CONFLICT … DO UPDATE`, no SQLite-only functions).

use super::sqlite::corrupt;
use super::{SqliteStore, StoreError};
use rusqlite::{params, OptionalExtension};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::Timestamp;

/// Allowlist entries may name a WeChat or Weibo account (schema version 17). SQLite cannot change a
/// CHECK constraint in place, so the table is rebuilt with its rows and ids.
pub const MIGRATION_17: &str = r#"
CREATE TABLE allowlist_v17 (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES holders(id),
    kind TEXT NOT NULL CHECK (kind IN ('domain', 'url_prefix', 'wechat_account', 'weibo_account')),
    pattern TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (owner, kind, pattern)
) STRICT;
INSERT INTO allowlist_v17 (id, owner, kind, pattern, note, created_at)
    SELECT id, owner, kind, pattern, note, created_at FROM allowlist;
DROP TABLE allowlist;
ALTER TABLE allowlist_v17 RENAME TO allowlist;
"#;

/// Hits, allowlists, monitoring jobs, the frontier, seen pages and event cursors (schema version 8).
pub(super) const MIGRATION_8: &str = r#"
CREATE TABLE hits (
    id INTEGER PRIMARY KEY,
    work TEXT NOT NULL REFERENCES works(id),
    owner TEXT NOT NULL REFERENCES holders(id),
    page_url TEXT NOT NULL,
    image_url TEXT NOT NULL DEFAULT '',
    domain TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('text', 'image')),
    copy TEXT NOT NULL,
    score REAL NOT NULL,
    page_coverage REAL NOT NULL DEFAULT 0,
    evidence TEXT NOT NULL DEFAULT '[]',
    file TEXT,
    colour TEXT NOT NULL CHECK (colour IN ('white', 'black')),
    reason TEXT NOT NULL CHECK (reason IN ('licence', 'own_channel', 'allowlist', 'unlicensed')),
    reason_ref TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL CHECK (last_seen >= first_seen),
    UNIQUE (work, page_url, image_url)
) STRICT;
CREATE INDEX hits_by_owner ON hits(owner, colour, id);
CREATE INDEX hits_by_work ON hits(work, id);
CREATE INDEX hits_by_domain ON hits(owner, domain, id);

CREATE TABLE allowlist (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES holders(id),
    kind TEXT NOT NULL CHECK (kind IN ('domain', 'url_prefix')),
    pattern TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (owner, kind, pattern)
) STRICT;

CREATE TABLE monitor_jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    submitted_by TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'paused', 'rejected')),
    spec TEXT NOT NULL,
    interval_ms INTEGER CHECK (interval_ms IS NULL OR interval_ms >= 60000),
    next_run_at INTEGER,
    running INTEGER NOT NULL DEFAULT 0 CHECK (running IN (0, 1)),
    last_started INTEGER,
    last_finished INTEGER,
    last_pages INTEGER NOT NULL DEFAULT 0,
    last_errors INTEGER NOT NULL DEFAULT 0,
    last_hits INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX monitor_jobs_due ON monitor_jobs(next_run_at) WHERE status = 'active';

CREATE TABLE frontier (
    job TEXT NOT NULL REFERENCES monitor_jobs(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    depth INTEGER NOT NULL CHECK (depth >= 0),
    kind TEXT NOT NULL DEFAULT 'page' CHECK (kind IN ('page', 'sitemap', 'feed')),
    done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    final_url TEXT,
    PRIMARY KEY (job, url)
) STRICT;
CREATE INDEX frontier_pending ON frontier(job, done);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) STRICT;

CREATE TABLE event_cursors (
    subscriber TEXT PRIMARY KEY,
    last_event INTEGER NOT NULL
) STRICT;
"#;

/// Migration 9: why a job's last run failed and how many runs in a row have, and hits by page (a run reports the hits on the pages it
/// finished; evidence looks a page up).
pub(super) const MIGRATION_9: &str = r#"
ALTER TABLE monitor_jobs ADD COLUMN last_error TEXT;
ALTER TABLE monitor_jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0);
CREATE INDEX IF NOT EXISTS hits_by_page ON hits(page_url, id);
"#;

/// Why a hit has its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A valid licence covers the page (white).
    Licence,
    /// The page is on one of the rights holder's own verified channels (white).
    OwnChannel,
    /// The page is on the rights holder's allowlist (white).
    Allowlist,
    /// Nothing allows the use (black).
    Unlicensed,
}

impl Reason {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Licence => "licence",
            Reason::OwnChannel => "own_channel",
            Reason::Allowlist => "allowlist",
            Reason::Unlicensed => "unlicensed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Reason> {
        Some(match s {
            "licence" => Reason::Licence,
            "own_channel" => Reason::OwnChannel,
            "allowlist" => Reason::Allowlist,
            "unlicensed" => Reason::Unlicensed,
            _ => return None,
        })
    }

    /// `white` for every reason that allows the use, `black` otherwise.
    pub fn colour(self) -> &'static str {
        if self == Reason::Unlicensed {
            "black"
        } else {
            "white"
        }
    }
}

/// A hit as the classifier hands it to the store: everything but its row id and history.
#[derive(Clone, Debug, PartialEq)]
pub struct NewHit {
    /// The work found.
    pub work: WorkId,
    /// Its rights holder.
    pub owner: PartyId,
    /// The page that shows the copy.
    pub page_url: String,
    /// The image's own URL, for an image hit.
    pub image_url: Option<String>,
    /// The page's title.
    pub title: String,
    /// `text` or `image`.
    pub kind: &'static str,
    /// The engine's kind of copy (`full`, `excerpt`, `near-duplicate`; `whole`, `region`, …).
    pub copy: String,
    /// 0..1: the share of the work found (text) or the engine's confidence (image).
    pub score: f32,
    /// 0..1: the share of the page the work explains (text; 0 for images).
    pub page_coverage: f32,
    /// JSON evidence: matched character spans `[[page_start, page_end, work_start, work_end], …]` for
    /// text, the matched image signal for images.
    pub evidence: String,
    /// The imported file's base name of the matched content item.
    pub file: Option<String>,
    /// Why the hit is white or black, and the record that says so (licence id, channel id, allowlist
    /// entry id; empty when unlicensed).
    pub reason: (Reason, String),
    /// `crawl`, `warc` or `retro`.
    pub source: &'static str,
    /// When the page was seen (the fetch time, or the WARC record's date).
    pub seen: Timestamp,
}

/// A stored hit.
#[derive(Clone, Debug, PartialEq)]
pub struct HitRow {
    /// Row id (keyset paging follows it downwards: newest first).
    pub id: i64,
    /// The work found, its title and rights holder.
    pub work: WorkId,
    /// The work's rights holder.
    pub owner: PartyId,
    /// The page.
    pub page_url: String,
    /// The image's URL, for an image hit.
    pub image_url: Option<String>,
    /// The page's host.
    pub domain: String,
    /// The page's title.
    pub title: String,
    /// `text` or `image`.
    pub kind: String,
    /// Kind of copy.
    pub copy: String,
    /// Score, 0..1.
    pub score: f64,
    /// Page coverage, 0..1.
    pub page_coverage: f64,
    /// JSON evidence (see [`NewHit::evidence`]).
    pub evidence: String,
    /// The imported file's base name.
    pub file: Option<String>,
    /// `white` or `black`.
    pub colour: String,
    /// Why.
    pub reason: Reason,
    /// The record behind the reason.
    pub reason_ref: String,
    /// Where it was found.
    pub source: String,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
}

/// Which hits a listing returns. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HitFilter {
    /// Only this rights holder's works (always set for a rights holder; `None` for administrators).
    pub owner: Option<PartyId>,
    /// Only this work.
    pub work: Option<WorkId>,
    /// Only pages on this host (exact, lower case).
    pub domain: Option<String>,
    /// Only `white` or `black`.
    pub colour: Option<String>,
    /// Only `text` or `image`.
    pub kind: Option<String>,
    /// Keyset cursor: only hits with a smaller id.
    pub before: Option<i64>,
}

/// An allowlist entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowEntry {
    /// Row id.
    pub id: i64,
    /// The rights holder.
    pub owner: PartyId,
    /// `domain` or `url_prefix`.
    pub kind: String,
    /// The domain or URL prefix.
    pub pattern: String,
    /// The holder's note (contract number, partner name).
    pub note: String,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A stored monitoring job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    /// Job id.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// The rights holder who submitted it as a suspect site (`None` when an administrator made it).
    pub submitted_by: Option<PartyId>,
    /// `pending` (a holder's submission awaiting approval), `active`, `paused` or `rejected`.
    pub status: String,
    /// The crawl spec as JSON (seeds, sitemaps, feeds, scope, limits); the service layer owns its shape.
    pub spec: String,
    /// Re-run every this many milliseconds; `None` runs once.
    pub interval_ms: Option<i64>,
    /// When the scheduler should run it next.
    pub next_run_at: Option<Timestamp>,
    /// Whether a run is in progress (or was killed mid-run: it resumes).
    pub running: bool,
    /// Last run's start.
    pub last_started: Option<Timestamp>,
    /// Last run's end.
    pub last_finished: Option<Timestamp>,
    /// Last run's pages, errors and hits.
    pub last_counts: (i64, i64, i64),
    /// When the job was made.
    pub created_at: Timestamp,
    /// Why the last run failed; `None` when it finished (or none has run).
    pub last_error: Option<String>,
    /// Runs that failed in a row since the last one that finished.
    pub failures: u32,
}

impl JobRow {
    /// An active job an administrator (or `seal crawl`) made, with no schedule and no run yet.
    pub fn active(id: String, name: String, spec: String, now: Timestamp) -> JobRow {
        JobRow {
            id,
            name,
            submitted_by: None,
            status: "active".into(),
            spec,
            interval_ms: None,
            next_run_at: None,
            running: false,
            last_started: None,
            last_finished: None,
            last_counts: (0, 0, 0),
            created_at: now,
            last_error: None,
            failures: 0,
        }
    }
}

/// One crawl-frontier entry: URL, link depth, and what it is fetched as (`page`, `sitemap`, `feed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontierEntry {
    /// The normalised URL.
    pub url: String,
    /// Link distance from a seed.
    pub depth: u32,
    /// `page`, `sitemap` or `feed`.
    pub kind: &'static str,
}

/// The kinds a frontier entry may have, as stored.
pub const ENTRY_KINDS: [&str; 3] = ["page", "sitemap", "feed"];

/// One page the pipeline finished: its hits, and for a crawl job the frontier changes, committed
/// together.
#[derive(Clone, Debug, Default)]
pub struct PageDone {
    /// The page's URL (as fetched, after redirects) and title.
    pub url: String,
    /// Its title.
    pub title: String,
    /// When it was seen.
    pub seen: i64,
    /// Its hits (may be empty).
    pub hits: Vec<NewHit>,
    /// The crawl job and the frontier URL to mark done (the URL as enqueued, before redirects).
    pub frontier_done: Option<(String, String)>,
    /// New frontier entries the page discovered.
    pub discovered: Vec<FrontierEntry>,
    /// The page's extracted text, kept when it has hits (what search shows and reindexes from).
    pub text: Option<String>,
}

/// What storing a batch of pages gave back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredBatch {
    /// Per page, in order: the `pages` row id.
    pub page_ids: Vec<i64>,
    /// Hits inserted for the first time.
    pub new_hits: usize,
    /// Hits that existed and were updated.
    pub updated_hits: usize,
    /// Unlicensed hits inserted for the first time, per rights holder: how many, and the first work
    /// (what `services::notifications` announces).
    pub new_black: std::collections::BTreeMap<PartyId, (i64, WorkId)>,
}

pub(super) fn hit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<HitRow, StoreError>> {
    let id: i64 = r.get(0)?;
    let (work, owner, reason): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(14)?);
    let image_url: String = r.get(4)?;
    let (page_url, domain, title, kind, copy): (String, String, String, String, String) =
        (r.get(3)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?);
    let (score, page_coverage, evidence, file): (f64, f64, String, Option<String>) =
        (r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?);
    let (colour, reason_ref, source, first_seen, last_seen): (String, String, String, i64, i64) =
        (r.get(13)?, r.get(15)?, r.get(16)?, r.get(17)?, r.get(18)?);
    Ok((|| {
        let c = |what: &str| corrupt("hits", format!("{what} of hit {id}"));
        Ok(HitRow {
            id,
            work: WorkId::new(work).map_err(|_| c("work"))?,
            owner: PartyId::new(owner).map_err(|_| c("owner"))?,
            page_url,
            image_url: (!image_url.is_empty()).then_some(image_url),
            domain,
            title,
            kind,
            copy,
            score,
            page_coverage,
            evidence,
            file,
            colour,
            reason: Reason::parse(&reason).ok_or_else(|| c("reason"))?,
            reason_ref,
            source,
            first_seen: Timestamp::from_unix_ms(first_seen),
            last_seen: Timestamp::from_unix_ms(last_seen),
        })
    })())
}

/// The columns [`hit_row`] reads, in its order.
pub(super) const HIT_COLUMNS: &str = "id, work, owner, page_url, image_url, domain, title, kind, copy, score, \
     page_coverage, evidence, file, colour, reason, reason_ref, source, first_seen, last_seen";
/// The same columns of a table aliased `h`.
pub(super) const HIT_COLUMNS_H: &str = "h.id, h.work, h.owner, h.page_url, h.image_url, h.domain, h.title, h.kind, \
     h.copy, h.score, h.page_coverage, h.evidence, h.file, h.colour, h.reason, h.reason_ref, h.source, h.first_seen, \
     h.last_seen";
/// The host of a URL, lower case, for the `domain` column and its filter.
pub fn domain_of(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)).unwrap_or_default()
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let ts = |v: Option<i64>| v.map(Timestamp::from_unix_ms);
    Ok(JobRow {
        id: r.get(0)?,
        name: r.get(1)?,
        submitted_by: r.get::<_, Option<String>>(2)?.and_then(|p| PartyId::new(p).ok()),
        status: r.get(3)?,
        spec: r.get(4)?,
        interval_ms: r.get(5)?,
        next_run_at: ts(r.get(6)?),
        running: r.get::<_, i64>(7)? == 1,
        last_started: ts(r.get(8)?),
        last_finished: ts(r.get(9)?),
        last_counts: (r.get(10)?, r.get(11)?, r.get(12)?),
        created_at: Timestamp::from_unix_ms(r.get(13)?),
        last_error: r.get(14)?,
        failures: r.get(15)?,
    })
}

const JOB_SELECT: &str = "SELECT id, name, submitted_by, status, spec, interval_ms, next_run_at, running, \
     last_started, last_finished, last_pages, last_errors, last_hits, created_at, last_error, failures FROM monitor_jobs";

/// Hits, allowlists, monitoring jobs, their frontiers, seen pages and subscriber cursors.
pub trait Monitoring {
    /// Stores a batch of finished pages in ONE transaction: per page its `pages` row, its hits (new or
    /// updated in place: first seen kept, last seen advanced, score, evidence and colour refreshed), its
    /// frontier entry marked done and the entries it discovered. Nothing of the batch is stored unless
    /// all of it is.
    fn store_pages(&mut self, pages: &[PageDone]) -> Result<StoredBatch, StoreError>;
    /// A page of hits, newest first (by id), after the filter's cursor.
    fn hits(&self, filter: &HitFilter, limit: usize) -> Result<Vec<HitRow>, StoreError>;
    /// How many hits match the filter (its cursor ignored).
    fn count_hits(&self, filter: &HitFilter) -> Result<i64, StoreError>;
    /// One hit.
    fn hit(&self, id: i64) -> Result<Option<HitRow>, StoreError>;
    /// Every hit of a work, or of every work of a rights holder: what recolouring re-judges.
    fn hits_of(&self, work: Option<&WorkId>, owner: Option<&PartyId>) -> Result<Vec<HitRow>, StoreError>;
    /// Sets a hit's colour and reason; returns whether anything changed.
    fn recolour_hit(&mut self, id: i64, reason: Reason, reason_ref: &str) -> Result<bool, StoreError>;
    /// Hits whose page is one of these URLs (what a crawl or ingest run reports).
    fn hits_on_pages(&self, urls: &[String]) -> Result<Vec<HitRow>, StoreError>;

    /// Adds an allowlist entry (idempotent) and returns its id.
    fn add_allow(
        &mut self,
        owner: &PartyId,
        kind: &str,
        pattern: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError>;
    /// Removes an entry of `owner`; returns whether it existed.
    fn remove_allow(&mut self, owner: &PartyId, id: i64) -> Result<bool, StoreError>;
    /// A rights holder's allowlist.
    fn allowlist(&self, owner: &PartyId) -> Result<Vec<AllowEntry>, StoreError>;

    /// Stores a new job.
    fn put_job(&mut self, job: &JobRow) -> Result<(), StoreError>;
    /// One job.
    fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError>;
    /// Every job, or those a rights holder submitted.
    fn jobs(&self, submitted_by: Option<&PartyId>) -> Result<Vec<JobRow>, StoreError>;
    /// Changes a job's status, spec, schedule and next run (an administrator's edit or approval).
    fn update_job(&mut self, job: &JobRow) -> Result<bool, StoreError>;
    /// Deletes a job and its frontier.
    fn delete_job(&mut self, id: &str) -> Result<bool, StoreError>;
    /// Active jobs due at `now`, or still marked running (killed mid-run) and not postponed, oldest due
    /// first.
    fn due_jobs(&self, now: Timestamp) -> Result<Vec<JobRow>, StoreError>;
    /// Puts a job's next run off until `until` after a failed run, recording why and counting the
    /// failure; a run in progress keeps its frontier and resumes then.
    fn postpone_job(&mut self, id: &str, until: Timestamp, error: &str) -> Result<(), StoreError>;
    /// Marks a run started. A fresh run (not a resume) clears the old frontier and seeds it.
    fn start_run(&mut self, id: &str, seeds: &[FrontierEntry], fresh: bool, now: Timestamp) -> Result<(), StoreError>;
    /// Marks a run finished: counts, next run time, frontier cleared.
    fn finish_run(
        &mut self,
        id: &str,
        counts: (i64, i64, i64),
        next_run_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// A job's frontier: pending entries, every URL it holds (done or pending, and the final URLs of
    /// redirected pages), and how many pages are done.
    fn frontier(&self, id: &str) -> Result<(Vec<FrontierEntry>, Vec<String>, usize), StoreError>;
    /// Adds frontier entries (ignoring ones already present) found outside a page (sitemaps, feeds),
    /// and marks the document they came from (or a skipped entry) done, in one transaction.
    fn add_frontier(&mut self, id: &str, done: Option<&str>, entries: &[FrontierEntry]) -> Result<(), StoreError>;
    /// The final URLs of the pages a job has finished in its current run.
    fn frontier_done_urls(&self, id: &str) -> Result<Vec<String>, StoreError>;

    /// The licences of a work that are not refunded (whether each covers a URL now is the domain's
    /// [`seal_licensing::licence::Licence::covers`]).
    fn licences_of_work(&self, work: &WorkId) -> Result<Vec<seal_licensing::licence::Licence>, StoreError>;

    /// Works with a content item imported from a file of this base name (with or without extension).
    fn works_by_file(&self, file: &str) -> Result<Vec<WorkId>, StoreError>;
    /// Stores a licence recorded without payment (status `free`, no ledger entries). Call it inside
    /// the use case's unit together with its `licence.granted` event.
    fn record_contract_licence(&mut self, licence: &seal_licensing::licence::Licence) -> Result<(), StoreError>;

    /// The page row of a URL: (id, title, last seen).
    fn page_by_id(&self, id: i64) -> Result<Option<(String, String, Timestamp)>, StoreError>;

    /// How far a subscriber has read the event outbox.
    fn event_cursor(&self, subscriber: &str) -> Result<i64, StoreError>;
    /// Moves a subscriber's cursor (call it in the unit that applies the event's effect).
    fn set_event_cursor(&mut self, subscriber: &str, last_event: i64) -> Result<(), StoreError>;
    /// The newest event's id (0 when there is none).
    fn latest_event_id(&self) -> Result<i64, StoreError>;
    /// Events after `after`, oldest first, at most `limit`.
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<super::contents::Event>, StoreError>;
}

fn ts_ms(t: Timestamp) -> i64 {
    t.unix_ms()
}

impl Monitoring for SqliteStore {
    fn store_pages(&mut self, pages: &[PageDone]) -> Result<StoredBatch, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let mut out = StoredBatch::default();
        {
            let mut page = tx.prepare_cached(
                "INSERT INTO pages (url, title, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (url) DO UPDATE SET title = excluded.title,
                     last_seen = MAX(pages.last_seen, excluded.last_seen)
                 RETURNING id",
            )?;
            let mut exists =
                tx.prepare_cached("SELECT id FROM hits WHERE work = ?1 AND page_url = ?2 AND image_url = ?3")?;
            let mut hit = tx.prepare_cached(
                "INSERT INTO hits (work, owner, page_url, image_url, domain, title, kind, copy, score, page_coverage,
                     evidence, file, colour, reason, reason_ref, source, first_seen, last_seen, rev)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18)
                 ON CONFLICT (work, page_url, image_url) DO UPDATE SET rev = excluded.rev,
                     title = excluded.title, copy = excluded.copy, score = excluded.score,
                     page_coverage = excluded.page_coverage, evidence = excluded.evidence, file = excluded.file,
                     colour = excluded.colour, reason = excluded.reason, reason_ref = excluded.reason_ref,
                     first_seen = MIN(hits.first_seen, excluded.first_seen),
                     last_seen = MAX(hits.last_seen, excluded.last_seen)",
            )?;
            let mut done =
                tx.prepare_cached("UPDATE frontier SET done = 1, final_url = ?3 WHERE job = ?1 AND url = ?2")?;
            let mut text = tx.prepare_cached(
                "INSERT INTO page_texts (page, text) VALUES (?1, ?2) ON CONFLICT (page) DO UPDATE SET text = excluded.text",
            )?;
            // One revision for the whole batch: the search index follows hits by it.
            let rev = if pages.iter().any(|p| !p.hits.is_empty()) { super::usage::next_rev(&tx)? } else { 0 };
            for p in pages {
                let id: i64 = page.query_row(params![p.url, p.title, p.seen], |r| r.get(0))?;
                out.page_ids.push(id);
                if let (Some(t), false) = (&p.text, p.hits.is_empty()) {
                    text.execute(params![id, super::usage::clip_text(t)])?;
                }
                for h in &p.hits {
                    let image = h.image_url.as_deref().unwrap_or("");
                    let existed: Option<i64> =
                        exists.query_row(params![h.work.as_str(), h.page_url, image], |r| r.get(0)).optional()?;
                    hit.execute(params![
                        h.work.as_str(),
                        h.owner.as_str(),
                        h.page_url,
                        image,
                        domain_of(&h.page_url),
                        h.title,
                        h.kind,
                        h.copy,
                        f64::from(h.score),
                        f64::from(h.page_coverage),
                        h.evidence,
                        h.file,
                        h.reason.0.colour(),
                        h.reason.0.as_str(),
                        h.reason.1,
                        h.source,
                        ts_ms(h.seen),
                        rev,
                    ])?;
                    if existed.is_some() {
                        out.updated_hits += 1;
                    } else {
                        out.new_hits += 1;
                        if h.reason.0.colour() == "black" {
                            out.new_black.entry(h.owner.clone()).or_insert((0, h.work.clone())).0 += 1;
                        }
                    }
                }
                if let Some((job, url)) = &p.frontier_done {
                    done.execute(params![job, url, p.url])?;
                    insert_entries(&tx, job, &p.discovered)?;
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn hits(&self, filter: &HitFilter, limit: usize) -> Result<Vec<HitRow>, StoreError> {
        let (clause, values) = hit_where(filter, true);
        let sql = format!(
            "SELECT {HIT_COLUMNS} FROM hits{clause} ORDER BY id DESC LIMIT {}",
            super::platform::page_limit(limit)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), hit_row)?;
        rows.map(|r| r?).collect()
    }

    fn count_hits(&self, filter: &HitFilter) -> Result<i64, StoreError> {
        let (clause, values) = hit_where(filter, false);
        let sql = format!("SELECT COUNT(*) FROM hits{clause}");
        Ok(self.conn.query_row(&sql, rusqlite::params_from_iter(values.iter()), |r| r.get(0))?)
    }

    fn hit(&self, id: i64) -> Result<Option<HitRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {HIT_COLUMNS} FROM hits WHERE id = ?1"))?;
        stmt.query_row([id], hit_row).optional()?.transpose()
    }

    fn hits_of(&self, work: Option<&WorkId>, owner: Option<&PartyId>) -> Result<Vec<HitRow>, StoreError> {
        let filter = HitFilter { work: work.cloned(), owner: owner.cloned(), ..HitFilter::default() };
        let (clause, values) = hit_where(&filter, false);
        let mut stmt = self.conn.prepare(&format!("SELECT {HIT_COLUMNS} FROM hits{clause} ORDER BY id"))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), hit_row)?;
        rows.map(|r| r?).collect()
    }

    fn recolour_hit(&mut self, id: i64, reason: Reason, reason_ref: &str) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let n = tx
            .prepare_cached(
                "UPDATE hits SET colour = ?2, reason = ?3, reason_ref = ?4
             WHERE id = ?1 AND (reason <> ?3 OR reason_ref <> ?4)",
            )?
            .execute(params![id, reason.colour(), reason.as_str(), reason_ref])?;
        if n > 0 {
            let rev = super::usage::next_rev(&tx)?;
            tx.prepare_cached("UPDATE hits SET rev = ?2 WHERE id = ?1")?.execute(params![id, rev])?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn hits_on_pages(&self, urls: &[String]) -> Result<Vec<HitRow>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {HIT_COLUMNS} FROM hits WHERE page_url = ?1 ORDER BY id"))?;
        let mut out = Vec::new();
        for url in urls {
            for row in stmt.query_map([url], hit_row)? {
                out.push(row??);
            }
        }
        Ok(out)
    }

    fn add_allow(
        &mut self,
        owner: &PartyId,
        kind: &str,
        pattern: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.prepare_cached(
            "INSERT INTO allowlist (owner, kind, pattern, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (owner, kind, pattern) DO UPDATE SET note = excluded.note",
        )?
        .execute(params![owner.as_str(), kind, pattern, note, now.unix_ms()])?;
        let id = tx.query_row(
            "SELECT id FROM allowlist WHERE owner = ?1 AND kind = ?2 AND pattern = ?3",
            params![owner.as_str(), kind, pattern],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(id)
    }

    fn remove_allow(&mut self, owner: &PartyId, id: i64) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let n = tx.execute("DELETE FROM allowlist WHERE id = ?1 AND owner = ?2", params![id, owner.as_str()])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn allowlist(&self, owner: &PartyId) -> Result<Vec<AllowEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, owner, kind, pattern, note, created_at FROM allowlist WHERE owner = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([owner.as_str()], |r| {
            Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?;
        rows.map(|r| {
            let (id, owner, kind, pattern, note, at) = r?;
            Ok(AllowEntry {
                id,
                owner: PartyId::new(owner).map_err(|e| corrupt("allowlist", e))?,
                kind,
                pattern,
                note,
                created_at: Timestamp::from_unix_ms(at),
            })
        })
        .collect()
    }

    fn put_job(&mut self, j: &JobRow) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.execute(
            "INSERT INTO monitor_jobs (id, name, submitted_by, status, spec, interval_ms, next_run_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                j.id,
                j.name,
                j.submitted_by.as_ref().map(|p| p.as_str()),
                j.status,
                j.spec,
                j.interval_ms,
                j.next_run_at.map(ts_ms),
                j.created_at.unix_ms()
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Conflict(format!("job {} exists", j.id))
            }
            e => StoreError::Sqlite(e),
        })?;
        tx.commit()?;
        Ok(())
    }

    fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{JOB_SELECT} WHERE id = ?1"))?;
        Ok(stmt.query_row([id], job_row).optional()?)
    }

    fn jobs(&self, submitted_by: Option<&PartyId>) -> Result<Vec<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{JOB_SELECT} WHERE ?1 IS NULL OR submitted_by = ?1 ORDER BY created_at DESC, id"
        ))?;
        let rows = stmt.query_map([submitted_by.map(|p| p.as_str())], job_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn update_job(&mut self, j: &JobRow) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let n = tx.execute(
            "UPDATE monitor_jobs SET name = ?2, status = ?3, spec = ?4, interval_ms = ?5, next_run_at = ?6
             WHERE id = ?1",
            params![j.id, j.name, j.status, j.spec, j.interval_ms, j.next_run_at.map(ts_ms)],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn delete_job(&mut self, id: &str) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.execute("DELETE FROM frontier WHERE job = ?1", [id])?;
        let n = tx.execute("DELETE FROM monitor_jobs WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn due_jobs(&self, now: Timestamp) -> Result<Vec<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{JOB_SELECT} WHERE status = 'active' AND (next_run_at <= ?1 OR (running = 1 AND next_run_at IS NULL))
             ORDER BY COALESCE(next_run_at, 0), id"
        ))?;
        let rows = stmt.query_map([now.unix_ms()], job_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn postpone_job(&mut self, id: &str, until: Timestamp, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE monitor_jobs SET next_run_at = ?2, last_error = ?3, failures = failures + 1 WHERE id = ?1",
            params![id, until.unix_ms(), error],
        )?;
        Ok(())
    }

    fn start_run(&mut self, id: &str, seeds: &[FrontierEntry], fresh: bool, now: Timestamp) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        if fresh {
            tx.execute("DELETE FROM frontier WHERE job = ?1", [id])?;
            insert_entries(&tx, id, seeds)?;
        }
        tx.execute(
            "UPDATE monitor_jobs SET running = 1, last_started = CASE WHEN ?3 THEN ?2 ELSE last_started END
             WHERE id = ?1",
            params![id, now.unix_ms(), fresh],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn finish_run(
        &mut self,
        id: &str,
        counts: (i64, i64, i64),
        next_run_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.execute("DELETE FROM frontier WHERE job = ?1", [id])?;
        tx.execute(
            "UPDATE monitor_jobs SET running = 0, last_finished = ?2, last_pages = ?3, last_errors = ?4,
                 last_hits = ?5, next_run_at = ?6, last_error = NULL, failures = 0 WHERE id = ?1",
            params![id, now.unix_ms(), counts.0, counts.1, counts.2, next_run_at.map(ts_ms)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn frontier(&self, id: &str) -> Result<(Vec<FrontierEntry>, Vec<String>, usize), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT url, depth, kind, done, final_url FROM frontier WHERE job = ?1 ORDER BY rowid")?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let (mut pending, mut seen, mut done) = (Vec::new(), Vec::new(), 0);
        for row in rows {
            let (url, depth, kind, is_done, final_url) = row?;
            let kind = ENTRY_KINDS.into_iter().find(|k| *k == kind).ok_or_else(|| corrupt("frontier", &kind))?;
            if is_done == 1 {
                done += usize::from(kind == "page");
            } else {
                pending.push(FrontierEntry { url: url.clone(), depth, kind });
            }
            seen.push(url);
            seen.extend(final_url);
        }
        Ok((pending, seen, done))
    }

    fn add_frontier(&mut self, id: &str, done: Option<&str>, entries: &[FrontierEntry]) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        insert_entries(&tx, id, entries)?;
        if let Some(url) = done {
            tx.prepare_cached("UPDATE frontier SET done = 1 WHERE job = ?1 AND url = ?2")?.execute(params![id, url])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn frontier_done_urls(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(final_url, url) FROM frontier WHERE job = ?1 AND done = 1 AND kind = 'page'",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn licences_of_work(&self, work: &WorkId) -> Result<Vec<seal_licensing::licence::Licence>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc FROM licences WHERE work = ?1 AND status <> 'refunded' ORDER BY id")?;
        let rows = stmt.query_map([work.as_str()], |r| r.get::<_, String>(0))?;
        rows.map(|doc| super::sqlite::from_doc("licences", doc?.as_str())).collect()
    }

    fn works_by_file(&self, file: &str) -> Result<Vec<WorkId>, StoreError> {
        // The name as stored, or the stored name's stem (the name followed by one last extension).
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT work FROM work_contents WHERE file = ?1
                OR (substr(file, 1, length(?1) + 1) = ?1 || '.'
                    AND instr(substr(file, length(?1) + 2), '.') = 0)
             ORDER BY work",
        )?;
        let rows = stmt.query_map([file], |r| r.get::<_, String>(0))?;
        rows.map(|w| WorkId::new(w?).map_err(|e| corrupt("work_contents", e))).collect()
    }

    fn record_contract_licence(&mut self, licence: &seal_licensing::licence::Licence) -> Result<(), StoreError> {
        use seal_licensing::book::BookStore;
        let tx = super::unit::begin(&self.conn)?;
        super::sqlite::Sql(&tx).put_licence(licence).map_err(|e| StoreError::Conflict(e.to_string()))?;
        tx.commit()?;
        Ok(())
    }

    fn page_by_id(&self, id: i64) -> Result<Option<(String, String, Timestamp)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT url, title, last_seen FROM pages WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, Timestamp::from_unix_ms(r.get(2)?))))
            .optional()?)
    }

    fn event_cursor(&self, subscriber: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT last_event FROM event_cursors WHERE subscriber = ?1")?
            .query_row([subscriber], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    fn set_event_cursor(&mut self, subscriber: &str, last_event: i64) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.prepare_cached(
            "INSERT INTO event_cursors (subscriber, last_event) VALUES (?1, ?2)
             ON CONFLICT (subscriber) DO UPDATE SET last_event = MAX(event_cursors.last_event, excluded.last_event)",
        )?
        .execute(params![subscriber, last_event])?;
        tx.commit()?;
        Ok(())
    }

    fn latest_event_id(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?)
    }

    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<super::contents::Event>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, kind, subject, payload, at FROM events WHERE id > ?1 ORDER BY id LIMIT ?2")?;
        let rows = stmt.query_map(params![after, super::platform::page_limit(limit)], super::contents::event_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn insert_entries(conn: &rusqlite::Connection, job: &str, entries: &[FrontierEntry]) -> Result<(), StoreError> {
    let mut add = conn.prepare_cached(
        "INSERT INTO frontier (job, url, depth, kind) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (job, url) DO NOTHING",
    )?;
    for e in entries {
        add.execute(params![job, e.url, e.depth, e.kind])?;
    }
    Ok(())
}

/// The WHERE clause of a hit listing and its values, in order.
fn hit_where(filter: &HitFilter, with_cursor: bool) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut parts = Vec::new();
    let mut values = Vec::new();
    let mut push = |sql: &str, v: Value| {
        values.push(v);
        parts.push(format!("{sql} ?{}", values.len()));
    };
    if let Some(o) = &filter.owner {
        push("owner =", Value::Text(o.as_str().to_owned()));
    }
    if let Some(w) = &filter.work {
        push("work =", Value::Text(w.as_str().to_owned()));
    }
    if let Some(d) = &filter.domain {
        push("domain =", Value::Text(d.to_ascii_lowercase()));
    }
    if let Some(c) = &filter.colour {
        push("colour =", Value::Text(c.clone()));
    }
    if let Some(k) = &filter.kind {
        push("kind =", Value::Text(k.clone()));
    }
    if with_cursor {
        if let Some(b) = filter.before {
            push("id <", Value::Integer(b));
        }
    }
    if parts.is_empty() {
        (String::new(), values)
    } else {
        (format!(" WHERE {}", parts.join(" AND ")), values)
    }
}
