//! Migration 13 and its queries: rights protection. Cases, the hits they group, their timelines,
//! evidence captures, hit triage and the "not my work" negatives, and each rights holder's protection
//! settings.
//!
//! - `cases`: one work on one site. A partial unique index lets only one *active* case exist per
//!   (holder, work, site), so new black hits join it instead of opening another, and a trigger refuses
//!   to move a settled case anywhere: a case settles exactly once, in the database as in
//!   `seal_licensing::case`.
//! - `case_hits`: which hits a case groups. `case_events`: its timeline (who did what, when, with any
//!   note), which is also its correspondence record.
//! - `captures`: evidence (a WACZ in the content store, its RFC 3161 token and its log leaf).
//! - `triage`: an analyst's verdict on a hit. `negatives`: (work, page) pairs marked "not my work",
//!   which never open a case again and are counted per work.
//! - `protection`: automatic protection, the settlement multiplier and deadline, and whether an
//!   administrator confirmed the holder's identity.

use super::sqlite::corrupt;
use super::{SqliteStore, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use seal_licensing::case::{CaseState, CaseStatus, Track};
use seal_licensing::ids::{LicenceId, OfferId, PartyId, WorkId};
use seal_licensing::Timestamp;

/// Rights protection (schema version 13).
pub(super) const MIGRATION_13: &str = r#"
CREATE TABLE protection (
    holder TEXT PRIMARY KEY REFERENCES holders(id),
    auto INTEGER NOT NULL DEFAULT 0 CHECK (auto IN (0, 1)),
    multiplier_bps INTEGER NOT NULL DEFAULT 30000 CHECK (multiplier_bps BETWEEN 10000 AND 100000),
    deadline_days INTEGER NOT NULL DEFAULT 14 CHECK (deadline_days BETWEEN 3 AND 90),
    identity_confirmed_at INTEGER,
    identity_confirmed_by TEXT
) STRICT;

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    holder TEXT NOT NULL REFERENCES holders(id),
    work TEXT NOT NULL REFERENCES works(id),
    domain TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('review', 'needs_info', 'rejected', 'invited', 'settled', 'expired', 'offline', 'closed', 'withdrawn')),
    track TEXT CHECK (track IN ('mediation', 'arbitration', 'litigation')),
    deadline INTEGER,
    licence TEXT REFERENCES licences(id),
    offer TEXT REFERENCES offers(id),
    multiplier_bps INTEGER NOT NULL,
    fee_minor INTEGER CHECK (fee_minor >= 0),
    currency TEXT,
    contact_email TEXT,
    contact_source TEXT,
    token_hash TEXT UNIQUE,
    opened_by TEXT NOT NULL,
    reminded_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    settled_at INTEGER,
    CHECK ((state = 'settled') = (licence IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX cases_one_active ON cases(holder, work, domain)
    WHERE state IN ('review', 'needs_info', 'invited', 'expired', 'offline');
CREATE INDEX cases_by_holder ON cases(holder, created_at);
CREATE INDEX cases_by_state ON cases(state, deadline);
CREATE TRIGGER cases_settle_once BEFORE UPDATE ON cases
    WHEN OLD.state = 'settled' AND (NEW.state <> 'settled' OR NEW.licence IS NOT OLD.licence)
    BEGIN SELECT RAISE(ABORT, 'a case settles once'); END;

CREATE TABLE case_hits (
    case_id TEXT NOT NULL REFERENCES cases(id),
    hit INTEGER NOT NULL REFERENCES hits(id),
    added_at INTEGER NOT NULL,
    capture_attempts INTEGER NOT NULL DEFAULT 0,
    capture_error TEXT,
    PRIMARY KEY (case_id, hit)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_hits_by_hit ON case_hits(hit);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX case_events_by_case ON case_events(case_id, id);

CREATE TABLE captures (
    id TEXT PRIMARY KEY,
    owner TEXT REFERENCES holders(id),
    case_id TEXT REFERENCES cases(id),
    hit INTEGER REFERENCES hits(id),
    url TEXT NOT NULL,
    wacz_sha256 TEXT NOT NULL,
    datapackage_sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    tsr BLOB NOT NULL,
    leaf INTEGER REFERENCES log_leaves(idx),
    summary TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX captures_by_case ON captures(case_id, created_at);
CREATE INDEX captures_by_hit ON captures(hit, created_at);

CREATE TABLE triage (
    hit INTEGER PRIMARY KEY REFERENCES hits(id),
    verdict TEXT NOT NULL CHECK (verdict IN ('legal', 'illegal', 'unsure', 'not_mine')),
    by_user TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;

CREATE TABLE negatives (
    work TEXT NOT NULL REFERENCES works(id),
    page_url TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (work, page_url)
) STRICT;
"#;

/// A rights holder's protection settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protection {
    /// New black hits open cases by themselves.
    pub auto: bool,
    /// The retroactive fee's multiplier over the offer price, in basis points (30000 = 3×).
    pub multiplier_bps: u32,
    /// Days an infringer has to settle.
    pub deadline_days: u32,
    /// When an administrator confirmed the holder's identity, if one did.
    pub identity_confirmed_at: Option<Timestamp>,
}

impl Default for Protection {
    fn default() -> Self {
        Protection { auto: false, multiplier_bps: 30_000, deadline_days: 14, identity_confirmed_at: None }
    }
}

/// A case as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    /// `case-…`.
    pub id: String,
    /// The rights holder.
    pub holder: PartyId,
    /// The work used.
    pub work: WorkId,
    /// The site (host).
    pub domain: String,
    /// State, deadline, track, licence.
    pub status: CaseStatus,
    /// The offer the fee derives from (set when the case is approved).
    pub offer: Option<OfferId>,
    /// The multiplier disclosed to the infringer, fixed when the case opened.
    pub multiplier_bps: u32,
    /// The retroactive fee, once approved.
    pub fee_minor: Option<i64>,
    /// Its currency.
    pub currency: Option<String>,
    /// Where the invitation goes.
    pub contact_email: Option<String>,
    /// How the address was found: `page`, `site` or `holder`.
    pub contact_source: Option<String>,
    /// SHA-256 of the settlement link's token.
    pub token_hash: Option<String>,
    /// `auto` or the user who opened it.
    pub opened_by: String,
    /// When the deadline reminder went out.
    pub reminded_at: Option<Timestamp>,
    /// Opened.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Settled.
    pub settled_at: Option<Timestamp>,
}

/// One entry on a case's timeline.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaseEvent {
    /// Order.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who: a user id, `auto`, `platform`, or `infringer`.
    pub actor: String,
    /// What (an action code, or `opened`, `capture`, `mail`, `hit_added`).
    pub kind: String,
    /// Free text (a reason, statement, step).
    pub note: String,
    /// Structured detail.
    pub data: serde_json::Value,
}

/// An evidence capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRow {
    /// `cap-…`.
    pub id: String,
    /// The rights holder it was made for (none for `seal capture` on the command line).
    pub owner: Option<PartyId>,
    /// The case, if made for one.
    pub case_id: Option<String>,
    /// The hit, if made for one.
    pub hit: Option<i64>,
    /// The page captured.
    pub url: String,
    /// SHA-256 of the WACZ (its name in the content store).
    pub wacz_sha256: String,
    /// SHA-256 of its `datapackage.json`, which the signature and the token cover.
    pub datapackage_sha256: String,
    /// Size of the WACZ.
    pub bytes: i64,
    /// Our TSA's response over the datapackage hash.
    pub tsr: Vec<u8>,
    /// Its log leaf.
    pub leaf: Option<u64>,
    /// What was captured (status, resources, failures, title, contacts found).
    pub summary: serde_json::Value,
    /// When.
    pub created_at: Timestamp,
}

/// A triage verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A permitted use: the hit moves to the whitelist.
    Legal,
    /// An infringement.
    Illegal,
    /// Not decided.
    Unsure,
    /// A false match: never a case again for this page and work.
    NotMine,
}

impl Verdict {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Legal => "legal",
            Verdict::Illegal => "illegal",
            Verdict::Unsure => "unsure",
            Verdict::NotMine => "not_mine",
        }
    }
    /// The verdict of a code.
    pub fn parse(code: &str) -> Option<Verdict> {
        [Verdict::Legal, Verdict::Illegal, Verdict::Unsure, Verdict::NotMine].into_iter().find(|v| v.as_str() == code)
    }
}

/// Counts for the statistics: cases by state, recovered money, time to settle.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaseStats {
    /// (state, count).
    pub by_state: Vec<(String, i64)>,
    /// (currency, minor units recovered by settled cases).
    pub recovered: Vec<(String, i64)>,
    /// Milliseconds from opening to settlement of each settled case.
    pub settle_ms: Vec<i64>,
    /// (day since epoch, opened that day, settled that day).
    pub daily: Vec<(i64, i64, i64)>,
}

/// Cases, captures, triage and protection settings.
pub trait Cases {
    /// A holder's settings (defaults when never set).
    fn protection(&self, holder: &PartyId) -> Result<Protection, StoreError>;
    /// Stores a holder's settings.
    fn set_protection(&mut self, holder: &PartyId, p: &Protection) -> Result<(), StoreError>;
    /// Records that an administrator confirmed a holder's identity.
    fn confirm_identity(&mut self, holder: &PartyId, by: &PartyId, now: Timestamp) -> Result<(), StoreError>;
    /// Inserts a new case.
    fn insert_case(&mut self, c: &CaseRow) -> Result<(), StoreError>;
    /// Writes a case's changed fields.
    fn update_case(&mut self, c: &CaseRow) -> Result<(), StoreError>;
    /// A case by id.
    fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError>;
    /// The case whose settlement link has this token hash.
    fn case_by_token(&self, token_hash: &str) -> Result<Option<CaseRow>, StoreError>;
    /// The active case of a work on a site.
    fn active_case(&self, holder: &PartyId, work: &WorkId, domain: &str) -> Result<Option<CaseRow>, StoreError>;
    /// Cases, newest first: one holder's (or all), optionally in some states, before `before`.
    fn cases(
        &self,
        holder: Option<&PartyId>,
        states: &[CaseState],
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<CaseRow>, StoreError>;
    /// Invited cases whose deadline is before `until`, for reminders and expiry.
    fn invited_due(&self, until: Timestamp, limit: usize) -> Result<Vec<CaseRow>, StoreError>;
    /// Adds a hit to a case; false when it was there.
    fn add_case_hit(&mut self, case_id: &str, hit: i64, now: Timestamp) -> Result<bool, StoreError>;
    /// A case's hits' ids.
    fn case_hits(&self, case_id: &str) -> Result<Vec<i64>, StoreError>;
    /// Pages of active cases' hits not yet captured for their case and tried fewer than
    /// `max_attempts` times: (case, hit, page URL, holder), oldest first.
    fn uncaptured(&self, max_attempts: i64, limit: usize) -> Result<Vec<(String, i64, String, PartyId)>, StoreError>;
    /// Records a failed capture of a case's hit.
    fn capture_failed(&mut self, case_id: &str, hit: i64, error: &str) -> Result<(), StoreError>;
    /// The cases a hit is part of.
    fn cases_of_hit(&self, hit: i64) -> Result<Vec<String>, StoreError>;
    /// Appends to a case's timeline.
    fn add_case_event(
        &mut self,
        case_id: &str,
        actor: &str,
        kind: &str,
        note: &str,
        data: &serde_json::Value,
        now: Timestamp,
    ) -> Result<i64, StoreError>;
    /// A case's timeline, oldest first.
    fn case_events(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError>;
    /// Stores a capture.
    fn insert_capture(&mut self, c: &CaptureRow) -> Result<(), StoreError>;
    /// A capture by id.
    fn capture(&self, id: &str) -> Result<Option<CaptureRow>, StoreError>;
    /// The captures of a case or of a hit, oldest first.
    fn captures_of(&self, case_id: Option<&str>, hit: Option<i64>) -> Result<Vec<CaptureRow>, StoreError>;
    /// Records a triage verdict (replacing an earlier one).
    fn set_triage(&mut self, hit: i64, verdict: Verdict, by: &PartyId, now: Timestamp) -> Result<(), StoreError>;
    /// A hit's verdict.
    fn triage(&self, hit: i64) -> Result<Option<Verdict>, StoreError>;
    /// Marks a page as not using a work.
    fn add_negative(&mut self, work: &WorkId, page_url: &str, by: &PartyId, now: Timestamp) -> Result<(), StoreError>;
    /// Whether a page was marked as not using a work.
    fn is_negative(&self, work: &WorkId, page_url: &str) -> Result<bool, StoreError>;
    /// How many pages were marked as not using a work.
    fn negatives_of(&self, work: &WorkId) -> Result<i64, StoreError>;
    /// Statistics over one holder's cases (or all).
    fn case_stats(&self, holder: Option<&PartyId>) -> Result<CaseStats, StoreError>;
}

const CASE_COLUMNS: &str =
    "id, holder, work, domain, state, track, deadline, licence, offer, multiplier_bps, fee_minor, \
     currency, contact_email, contact_source, token_hash, opened_by, reminded_at, created_at, updated_at, settled_at";

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_unix_ms)
}

fn case_of(r: &Row<'_>) -> rusqlite::Result<Result<CaseRow, StoreError>> {
    let state: String = r.get(4)?;
    let track: Option<String> = r.get(5)?;
    let licence: Option<String> = r.get(7)?;
    let offer: Option<String> = r.get(8)?;
    let (holder, work): (String, String) = (r.get(1)?, r.get(2)?);
    let multiplier: i64 = r.get(9)?;
    let row = (|| -> Result<CaseRow, StoreError> {
        Ok(CaseRow {
            id: r.get(0)?,
            holder: PartyId::new(holder).map_err(|e| corrupt("cases", e))?,
            work: WorkId::new(work).map_err(|e| corrupt("cases", e))?,
            domain: r.get(3)?,
            status: CaseStatus {
                state: CaseState::parse(&state).ok_or_else(|| corrupt("cases", &state))?,
                deadline: ts(r.get(6)?),
                track: track.as_deref().map(|t| Track::parse(t).ok_or_else(|| corrupt("cases", t))).transpose()?,
                licence: licence.map(LicenceId::new).transpose().map_err(|e| corrupt("cases", e))?,
            },
            offer: offer.map(OfferId::new).transpose().map_err(|e| corrupt("cases", e))?,
            multiplier_bps: u32::try_from(multiplier).map_err(|e| corrupt("cases", e))?,
            fee_minor: r.get(10)?,
            currency: r.get(11)?,
            contact_email: r.get(12)?,
            contact_source: r.get(13)?,
            token_hash: r.get(14)?,
            opened_by: r.get(15)?,
            reminded_at: ts(r.get(16)?),
            created_at: Timestamp::from_unix_ms(r.get(17)?),
            updated_at: Timestamp::from_unix_ms(r.get(18)?),
            settled_at: ts(r.get(19)?),
        })
    })();
    Ok(row)
}

fn collect_cases(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<CaseRow>, StoreError> {
    let rows = stmt.query_map(params, case_of)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

const CAPTURE_COLUMNS: &str =
    "id, owner, case_id, hit, url, wacz_sha256, datapackage_sha256, bytes, tsr, leaf, summary, created_at";

fn capture_of(r: &Row<'_>) -> rusqlite::Result<Result<CaptureRow, StoreError>> {
    let owner: Option<String> = r.get(1)?;
    let leaf: Option<i64> = r.get(9)?;
    let summary: String = r.get(10)?;
    let row = (|| -> Result<CaptureRow, StoreError> {
        Ok(CaptureRow {
            id: r.get(0)?,
            owner: owner.map(PartyId::new).transpose().map_err(|e| corrupt("captures", e))?,
            case_id: r.get(2)?,
            hit: r.get(3)?,
            url: r.get(4)?,
            wacz_sha256: r.get(5)?,
            datapackage_sha256: r.get(6)?,
            bytes: r.get(7)?,
            tsr: r.get(8)?,
            leaf: leaf.map(u64::try_from).transpose().map_err(|e| corrupt("captures", e))?,
            summary: serde_json::from_str(&summary).map_err(|e| corrupt("captures", e))?,
            created_at: Timestamp::from_unix_ms(r.get(11)?),
        })
    })();
    Ok(row)
}

impl Cases for SqliteStore {
    fn protection(&self, holder: &PartyId) -> Result<Protection, StoreError> {
        let row: Option<(i64, i64, i64, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT auto, multiplier_bps, deadline_days, identity_confirmed_at FROM protection WHERE holder = ?1",
            )?
            .query_row([holder.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        Ok(row.map_or_else(Protection::default, |(auto, m, d, confirmed)| Protection {
            auto: auto == 1,
            multiplier_bps: u32::try_from(m).unwrap_or(30_000),
            deadline_days: u32::try_from(d).unwrap_or(14),
            identity_confirmed_at: ts(confirmed),
        }))
    }

    fn set_protection(&mut self, holder: &PartyId, p: &Protection) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO protection (holder, auto, multiplier_bps, deadline_days) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (holder) DO UPDATE SET auto = ?2, multiplier_bps = ?3, deadline_days = ?4",
            params![holder.as_str(), i64::from(p.auto), p.multiplier_bps, p.deadline_days],
        )?;
        Ok(())
    }

    fn confirm_identity(&mut self, holder: &PartyId, by: &PartyId, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO protection (holder, identity_confirmed_at, identity_confirmed_by) VALUES (?1, ?2, ?3)
             ON CONFLICT (holder) DO UPDATE SET identity_confirmed_at = ?2, identity_confirmed_by = ?3",
            params![holder.as_str(), now.unix_ms(), by.as_str()],
        )?;
        Ok(())
    }

    fn insert_case(&mut self, c: &CaseRow) -> Result<(), StoreError> {
        self.conn.execute(
            &format!("INSERT INTO cases ({CASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"),
            params![
                c.id,
                c.holder.as_str(),
                c.work.as_str(),
                c.domain,
                c.status.state.as_str(),
                c.status.track.map(Track::as_str),
                c.status.deadline.map(Timestamp::unix_ms),
                c.status.licence.as_ref().map(LicenceId::as_str),
                c.offer.as_ref().map(OfferId::as_str),
                c.multiplier_bps,
                c.fee_minor,
                c.currency,
                c.contact_email,
                c.contact_source,
                c.token_hash,
                c.opened_by,
                c.reminded_at.map(Timestamp::unix_ms),
                c.created_at.unix_ms(),
                c.updated_at.unix_ms(),
                c.settled_at.map(Timestamp::unix_ms),
            ],
        )?;
        Ok(())
    }

    fn update_case(&mut self, c: &CaseRow) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE cases SET state = ?2, track = ?3, deadline = ?4, licence = ?5, offer = ?6, fee_minor = ?7,
             currency = ?8, contact_email = ?9, contact_source = ?10, token_hash = ?11, reminded_at = ?12,
             updated_at = ?13, settled_at = ?14 WHERE id = ?1",
            params![
                c.id,
                c.status.state.as_str(),
                c.status.track.map(Track::as_str),
                c.status.deadline.map(Timestamp::unix_ms),
                c.status.licence.as_ref().map(LicenceId::as_str),
                c.offer.as_ref().map(OfferId::as_str),
                c.fee_minor,
                c.currency,
                c.contact_email,
                c.contact_source,
                c.token_hash,
                c.reminded_at.map(Timestamp::unix_ms),
                c.updated_at.unix_ms(),
                c.settled_at.map(Timestamp::unix_ms),
            ],
        )?;
        if n != 1 {
            return Err(corrupt("cases", format!("case {} vanished", c.id)));
        }
        Ok(())
    }

    fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"))?;
        Ok(collect_cases(&mut stmt, [id])?.pop())
    }

    fn case_by_token(&self, token_hash: &str) -> Result<Option<CaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE token_hash = ?1"))?;
        Ok(collect_cases(&mut stmt, [token_hash])?.pop())
    }

    fn active_case(&self, holder: &PartyId, work: &WorkId, domain: &str) -> Result<Option<CaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE holder = ?1 AND work = ?2 AND domain = ?3
             AND state IN ('review', 'needs_info', 'invited', 'expired', 'offline')"
        ))?;
        Ok(collect_cases(&mut stmt, params![holder.as_str(), work.as_str(), domain])?.pop())
    }

    fn cases(
        &self,
        holder: Option<&PartyId>,
        states: &[CaseState],
        before: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<CaseRow>, StoreError> {
        // States are our own codes, never user text, so they can be spelled into the query.
        let state_filter = if states.is_empty() {
            String::new()
        } else {
            let codes: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
            format!("AND state IN ({})", codes.join(", "))
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE (?1 IS NULL OR holder = ?1) AND created_at < ?2 {state_filter}
             ORDER BY created_at DESC, id DESC LIMIT ?3"
        ))?;
        collect_cases(
            &mut stmt,
            params![
                holder.map(PartyId::as_str),
                before.map_or(i64::MAX, Timestamp::unix_ms),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
        )
    }

    fn invited_due(&self, until: Timestamp, limit: usize) -> Result<Vec<CaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE state = 'invited' AND deadline < ?1 ORDER BY deadline LIMIT ?2"
        ))?;
        collect_cases(&mut stmt, params![until.unix_ms(), i64::try_from(limit).unwrap_or(i64::MAX)])
    }

    fn add_case_hit(&mut self, case_id: &str, hit: i64, now: Timestamp) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO case_hits (case_id, hit, added_at) VALUES (?1, ?2, ?3)",
            params![case_id, hit, now.unix_ms()],
        )?;
        Ok(n == 1)
    }

    fn case_hits(&self, case_id: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT hit FROM case_hits WHERE case_id = ?1 ORDER BY hit")?;
        let rows = stmt.query_map([case_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn uncaptured(&self, max_attempts: i64, limit: usize) -> Result<Vec<(String, i64, String, PartyId)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ch.case_id, ch.hit, h.page_url, c.holder FROM case_hits ch
             JOIN hits h ON h.id = ch.hit JOIN cases c ON c.id = ch.case_id
             WHERE c.state IN ('review', 'needs_info', 'invited', 'expired', 'offline') AND ch.capture_attempts < ?1
               AND NOT EXISTS (SELECT 1 FROM captures k WHERE k.case_id = ch.case_id AND k.url = h.page_url)
             ORDER BY ch.added_at, ch.hit LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![max_attempts, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (case_id, hit, url, holder) = row?;
            out.push((case_id, hit, url, PartyId::new(holder).map_err(|e| corrupt("cases", e))?));
        }
        Ok(out)
    }

    fn capture_failed(&mut self, case_id: &str, hit: i64, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE case_hits SET capture_attempts = capture_attempts + 1, capture_error = ?3 WHERE case_id = ?1 AND hit = ?2",
            params![case_id, hit, error],
        )?;
        Ok(())
    }

    fn cases_of_hit(&self, hit: i64) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT case_id FROM case_hits WHERE hit = ?1 ORDER BY added_at")?;
        let rows = stmt.query_map([hit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_case_event(
        &mut self,
        case_id: &str,
        actor: &str,
        kind: &str,
        note: &str,
        data: &serde_json::Value,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO case_events (case_id, at, actor, kind, note, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![case_id, now.unix_ms(), actor, kind, note, data.to_string()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn case_events(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, at, actor, kind, note, data FROM case_events WHERE case_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([case_id], |r| {
            let data: String = r.get(5)?;
            Ok(CaseEvent {
                id: r.get(0)?,
                at: Timestamp::from_unix_ms(r.get(1)?),
                actor: r.get(2)?,
                kind: r.get(3)?,
                note: r.get(4)?,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn insert_capture(&mut self, c: &CaptureRow) -> Result<(), StoreError> {
        self.conn.execute(
            &format!(
                "INSERT INTO captures ({CAPTURE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                c.id,
                c.owner.as_ref().map(PartyId::as_str),
                c.case_id,
                c.hit,
                c.url,
                c.wacz_sha256,
                c.datapackage_sha256,
                c.bytes,
                c.tsr,
                c.leaf.map(|l| i64::try_from(l).unwrap_or(i64::MAX)),
                c.summary.to_string(),
                c.created_at.unix_ms(),
            ],
        )?;
        Ok(())
    }

    fn capture(&self, id: &str) -> Result<Option<CaptureRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {CAPTURE_COLUMNS} FROM captures WHERE id = ?1"))?;
        let mut rows = stmt.query_map([id], capture_of)?;
        rows.next().transpose()?.transpose()
    }

    fn captures_of(&self, case_id: Option<&str>, hit: Option<i64>) -> Result<Vec<CaptureRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CAPTURE_COLUMNS} FROM captures WHERE (?1 IS NOT NULL AND case_id = ?1) OR (?2 IS NOT NULL AND hit = ?2)
             ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![case_id, hit], capture_of)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }

    fn set_triage(&mut self, hit: i64, verdict: Verdict, by: &PartyId, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO triage (hit, verdict, by_user, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hit) DO UPDATE SET verdict = ?2, by_user = ?3, at = ?4",
            params![hit, verdict.as_str(), by.as_str(), now.unix_ms()],
        )?;
        Ok(())
    }

    fn triage(&self, hit: i64) -> Result<Option<Verdict>, StoreError> {
        let v: Option<String> = self
            .conn
            .prepare_cached("SELECT verdict FROM triage WHERE hit = ?1")?
            .query_row([hit], |r| r.get(0))
            .optional()?;
        Ok(v.as_deref().and_then(Verdict::parse))
    }

    fn add_negative(&mut self, work: &WorkId, page_url: &str, by: &PartyId, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO negatives (work, page_url, by_user, at) VALUES (?1, ?2, ?3, ?4)",
            params![work.as_str(), page_url, by.as_str(), now.unix_ms()],
        )?;
        Ok(())
    }

    fn is_negative(&self, work: &WorkId, page_url: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM negatives WHERE work = ?1 AND page_url = ?2")?
            .query_row(params![work.as_str(), page_url], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn negatives_of(&self, work: &WorkId) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM negatives WHERE work = ?1")?
            .query_row([work.as_str()], |r| r.get(0))?)
    }

    fn case_stats(&self, holder: Option<&PartyId>) -> Result<CaseStats, StoreError> {
        let h = holder.map(PartyId::as_str);
        let mut stats = CaseStats::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, COUNT(*) FROM cases WHERE (?1 IS NULL OR holder = ?1) GROUP BY state ORDER BY state",
        )?;
        stats.by_state = stmt.query_map([h], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT currency, SUM(fee_minor) FROM cases WHERE (?1 IS NULL OR holder = ?1) AND state = 'settled'
             GROUP BY currency ORDER BY currency",
        )?;
        stats.recovered = stmt.query_map([h], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT settled_at - created_at FROM cases WHERE (?1 IS NULL OR holder = ?1) AND state = 'settled'
             ORDER BY 1",
        )?;
        stats.settle_ms = stmt.query_map([h], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, SUM(opened), SUM(settled) FROM (
                 SELECT created_at / 86400000 AS day, 1 AS opened, 0 AS settled FROM cases WHERE (?1 IS NULL OR holder = ?1)
                 UNION ALL
                 SELECT settled_at / 86400000, 0, 1 FROM cases WHERE (?1 IS NULL OR holder = ?1) AND settled_at IS NOT NULL
             ) GROUP BY day ORDER BY day",
        )?;
        stats.daily = stmt.query_map([h], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        Ok(stats)
    }
}
