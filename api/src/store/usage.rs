//! Migration 10 and the queries behind analyst search and usage reports.
//!
//! - `hits.rev`: every insert or recolouring of a hit stamps it with the next value of the `hit_rev`
//!   counter row, taken once per transaction. The search index follows the hits by this number (it
//!   keeps the last revision it applied in its own commit), so nothing is missed and a crash between
//!   the store's commit and the index's only repeats work. The counter is a row that every writer
//!   updates, so under PostgreSQL too the revisions become visible in the order they were taken.
//! - `page_texts`: the extracted text of pages that carry hits, what search shows snippets from and
//!   what `seal search reindex` rebuilds the index from. Pages without hits keep only their row in
//!   `pages` (storing the text of every crawled page would cost more than the index of fingerprints).
//!
//! The report queries group on plain columns with integer arithmetic (a day is `first_seen /
//! 86400000`), and months are folded from days in Rust: no SQLite-only date functions, so a PostgreSQL
//! backend runs the same statements.

use super::monitoring::HitRow;
use super::{SqliteStore, StoreError};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;

/// Hit revisions and page texts (schema version 10).
pub(super) const MIGRATION_10: &str = r#"
ALTER TABLE hits ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;
CREATE INDEX hits_by_rev ON hits(rev);
CREATE INDEX hits_by_owner_seen ON hits(owner, first_seen);
INSERT INTO id_counters (name, next) VALUES ('hit_rev', 2);
CREATE TABLE page_texts (
    page INTEGER PRIMARY KEY REFERENCES pages(id),
    text TEXT NOT NULL
) STRICT;
"#;

/// The longest page text kept, in bytes (cut at a character boundary): enough for any article, and a
/// bound on what one hostile page costs the store and the index.
pub const MAX_PAGE_TEXT: usize = 512 * 1024;

/// Takes the next hit revision (call it inside the transaction that writes the hits).
pub(super) fn next_rev(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE id_counters SET next = next + 1 WHERE name = 'hit_rev' RETURNING next - 1")?
        .query_row([], |r| r.get(0))?)
}

/// Cuts `text` to [`MAX_PAGE_TEXT`] bytes at a character boundary.
pub fn clip_text(text: &str) -> &str {
    if text.len() <= MAX_PAGE_TEXT {
        return text;
    }
    let mut end = MAX_PAGE_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A hit as the search index takes it: the row, its revision and its page's text.
#[derive(Clone, Debug)]
pub struct IndexedHit {
    /// The revision that last changed it.
    pub rev: i64,
    /// The hit.
    pub hit: HitRow,
    /// Its page's extracted text, when kept (retroactive hits of pages seen before have none).
    pub text: Option<String>,
}

/// One bucket of a usage series.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct UsagePoint {
    /// Days since the Unix epoch of the bucket's first day.
    pub day: i64,
    /// Licensed uses first seen in the bucket.
    pub white: i64,
    /// Unlicensed uses first seen in the bucket.
    pub black: i64,
}

/// A count split by colour, for one key (a domain, a work, a kind).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Split {
    /// The key.
    pub key: String,
    /// Licensed uses.
    pub white: i64,
    /// Unlicensed uses.
    pub black: i64,
}

impl Split {
    /// White and black together.
    pub fn total(&self) -> i64 {
        self.white + self.black
    }
}

/// Copying sites in a range: first seen in it, or seen before it too.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sites {
    /// Domains whose first use of the organisation's works falls in the range.
    pub new: Vec<Split>,
    /// Domains with uses in the range that had uses before it.
    pub recurring: Vec<Split>,
    /// How many new domains (all of them, not only those listed).
    pub new_count: i64,
    /// How many recurring domains.
    pub recurring_count: i64,
}

/// Which hits a report or an export covers: one organisation (or all, for operators), optionally one
/// work, and the hits seen during `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageScope {
    /// The rights holder whose works were used; `None` for every organisation.
    pub owner: Option<PartyId>,
    /// Only this work (a work's own timeline); `None` for all.
    pub work: Option<seal_licensing::ids::WorkId>,
    /// Start, inclusive.
    pub from: Timestamp,
    /// End, exclusive.
    pub to: Timestamp,
}

/// Search feed and usage reports.
pub trait Usage {
    /// The hits changed after revision `after`, oldest revision first, whole revisions only, as many
    /// revisions as make at least `limit` hits (a revision is never split across two calls).
    fn hits_changed(&self, after: i64, limit: usize) -> Result<Vec<IndexedHit>, StoreError>;
    /// The newest revision taken.
    fn latest_hit_rev(&self) -> Result<i64, StoreError>;
    /// How many hits there are (a progress bar's length).
    fn count_all_hits(&self) -> Result<i64, StoreError>;
    /// Uses first seen per day in the range, by colour (days without uses are absent).
    fn usage_by_day(&self, scope: &UsageScope) -> Result<Vec<UsagePoint>, StoreError>;
    /// The `limit` keys of `column` (`domain`, `work` or `kind`) with the most uses seen in the range.
    fn usage_by(&self, scope: &UsageScope, column: GroupBy, limit: usize) -> Result<Vec<Split>, StoreError>;
    /// New and recurring copying sites of the range, the `limit` busiest of each.
    fn sites(&self, scope: &UsageScope, limit: usize) -> Result<Sites, StoreError>;
    /// Up to `limit` hits seen in the range with an id above `after`, by id: an export's next page.
    fn hits_in_range(&self, scope: &UsageScope, after: i64, limit: usize) -> Result<Vec<HitRow>, StoreError>;
}

/// What a usage split groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// The copying page's host.
    Domain,
    /// The work used.
    Work,
    /// Text or image.
    Kind,
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::Domain => "domain",
            GroupBy::Work => "work",
            GroupBy::Kind => "kind",
        }
    }
}

/// The conditions of a scope on the table aliased `t` (`""` or `"h."`) and their named parameters:
/// seen during the range (first seen before its end, last seen at or after its start) or, with
/// `first_seen`, first seen in it; of one owner and one work when the scope names them.
fn scope_sql(scope: &UsageScope, t: &str, first_seen: bool) -> (String, Vec<(&'static str, Value)>) {
    let mut conds = vec![if first_seen {
        format!("{t}first_seen >= :from AND {t}first_seen < :to")
    } else {
        format!("{t}first_seen < :to AND {t}last_seen >= :from")
    }];
    let mut values = vec![(":from", Value::Integer(scope.from.unix_ms())), (":to", Value::Integer(scope.to.unix_ms()))];
    if let Some(owner) = &scope.owner {
        conds.push(format!("{t}owner = :owner"));
        values.push((":owner", Value::Text(owner.as_str().to_owned())));
    }
    if let Some(work) = &scope.work {
        conds.push(format!("{t}work = :work"));
        values.push((":work", Value::Text(work.as_str().to_owned())));
    }
    (conds.join(" AND "), values)
}

/// Named parameters as rusqlite takes them.
fn named<'a>(values: &'a [(&'static str, Value)]) -> Vec<(&'static str, &'a dyn rusqlite::ToSql)> {
    values.iter().map(|(k, v)| (*k, v as &dyn rusqlite::ToSql)).collect()
}

const DAY_MS: i64 = 86_400_000;

fn split_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Split> {
    Ok(Split { key: r.get(0)?, white: r.get(1)?, black: r.get(2)? })
}

const SPLIT_COUNTS: &str =
    "SUM(CASE WHEN colour = 'white' THEN 1 ELSE 0 END), SUM(CASE WHEN colour = 'black' THEN 1 ELSE 0 END)";

impl Usage for SqliteStore {
    fn hits_changed(&self, after: i64, limit: usize) -> Result<Vec<IndexedHit>, StoreError> {
        // The last revision to take: the one holding the `limit`-th changed hit, whole.
        let upto: Option<i64> = self
            .conn
            .prepare_cached("SELECT rev FROM hits WHERE rev > ?1 ORDER BY rev LIMIT 1 OFFSET ?2")?
            .query_row(params![after, limit.saturating_sub(1) as i64], |r| r.get(0))
            .optional()?;
        let upto = match upto {
            Some(r) => r,
            None => self.latest_hit_rev()?,
        };
        let sql = format!(
            "SELECT {}, h.rev, t.text FROM hits h LEFT JOIN pages p ON p.url = h.page_url \
             LEFT JOIN page_texts t ON t.page = p.id WHERE h.rev > ?1 AND h.rev <= ?2 ORDER BY h.rev, h.id",
            super::monitoring::HIT_COLUMNS_H
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![after, upto], |r| {
            let hit = super::monitoring::hit_row(r)?;
            Ok((hit, r.get::<_, i64>(19)?, r.get::<_, Option<String>>(20)?))
        })?;
        rows.map(|row| {
            let (hit, rev, text) = row?;
            Ok(IndexedHit { rev, hit: hit?, text })
        })
        .collect()
    }

    fn latest_hit_rev(&self) -> Result<i64, StoreError> {
        let next: i64 = self
            .conn
            .prepare_cached("SELECT next FROM id_counters WHERE name = 'hit_rev'")?
            .query_row([], |r| r.get(0))?;
        Ok(next - 1)
    }

    fn count_all_hits(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM hits", [], |r| r.get(0))?)
    }

    fn usage_by_day(&self, scope: &UsageScope) -> Result<Vec<UsagePoint>, StoreError> {
        // Uses over time count each use once, in the bucket where it was first seen.
        let (conds, values) = scope_sql(scope, "", true);
        let sql = format!(
            "SELECT first_seen / {DAY_MS} AS day, {SPLIT_COUNTS} FROM hits \
             WHERE {conds} GROUP BY first_seen / {DAY_MS} ORDER BY day"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(named(&values).as_slice(), |r| {
            Ok(UsagePoint { day: r.get(0)?, white: r.get(1)?, black: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn usage_by(&self, scope: &UsageScope, by: GroupBy, limit: usize) -> Result<Vec<Split>, StoreError> {
        let column = by.column();
        let (conds, mut values) = scope_sql(scope, "", false);
        values.push((":limit", Value::Integer(limit as i64)));
        let sql = format!(
            "SELECT {column}, {SPLIT_COUNTS} FROM hits WHERE {conds} \
             GROUP BY {column} ORDER BY COUNT(*) DESC, {column} LIMIT :limit"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(named(&values).as_slice(), split_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn sites(&self, scope: &UsageScope, limit: usize) -> Result<Sites, StoreError> {
        // A domain is new when its earliest use (ever, not only in the range) of the scope's works falls
        // inside the range, recurring when it had one before.
        let (conds, values) = scope_sql(scope, "h.", false);
        let mut earlier = String::new();
        if scope.owner.is_some() {
            earlier.push_str(" AND e.owner = :owner");
        }
        if scope.work.is_some() {
            earlier.push_str(" AND e.work = :work");
        }
        let sql = format!(
            "SELECT h.domain, {SPLIT_COUNTS}, \
             (SELECT MIN(e.first_seen) FROM hits e WHERE e.domain = h.domain{earlier}) \
             FROM hits h WHERE {conds} GROUP BY h.domain"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows: Vec<(Split, i64)> = stmt
            .query_map(named(&values).as_slice(), |r| Ok((split_row(r)?, r.get::<_, i64>(3)?)))?
            .collect::<Result<_, _>>()?;
        rows.sort_by(|a, b| b.0.total().cmp(&a.0.total()).then_with(|| a.0.key.cmp(&b.0.key)));
        let mut out = Sites::default();
        for (split, earliest) in rows {
            let (list, count) = if earliest >= scope.from.unix_ms() {
                (&mut out.new, &mut out.new_count)
            } else {
                (&mut out.recurring, &mut out.recurring_count)
            };
            *count += 1;
            if list.len() < limit {
                list.push(split);
            }
        }
        Ok(out)
    }

    fn hits_in_range(&self, scope: &UsageScope, after: i64, limit: usize) -> Result<Vec<HitRow>, StoreError> {
        let (conds, mut values) = scope_sql(scope, "", false);
        values.push((":after", Value::Integer(after)));
        values.push((":limit", Value::Integer(limit.clamp(1, 10_000) as i64)));
        let sql = format!(
            "SELECT {} FROM hits WHERE {conds} AND id > :after ORDER BY id LIMIT :limit",
            super::monitoring::HIT_COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(named(&values).as_slice(), super::monitoring::hit_row)?;
        rows.map(|r| r?).collect()
    }
}
