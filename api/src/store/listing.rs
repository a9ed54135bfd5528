//! Migration 15 and the dashboards' lists: works, licences and invoices of one party, a page at a time.
//!
//! Each list is searched, filtered and sorted in SQL and paged by **keyset**: a page ends at a
//! `(sort key, id)` pair and the next one starts after it, so page 30 of 3,000 works costs what page 1
//! costs and a work registered meanwhile never shifts or repeats a row. The sort keys live in the JSON
//! documents; migration 15 exposes them as generated columns with indexes, so sorting 3,000 works needs
//! no table scan of parsed JSON (licences already keep `created_at` as a column).

use super::sqlite::from_doc;
use super::{SqliteStore, StoreError};
use rusqlite::types::Value;
use seal_licensing::invoice::Invoice;
use seal_licensing::licence::Licence;
use seal_licensing::offer::Work;

/// Sort keys of works and licences as columns (schema version 15).
pub(super) const MIGRATION_15: &str = r#"
ALTER TABLE works ADD COLUMN title TEXT GENERATED ALWAYS AS (json_extract(doc, '$.title')) VIRTUAL;
ALTER TABLE works ADD COLUMN author TEXT GENERATED ALWAYS AS (json_extract(doc, '$.author')) VIRTUAL;
ALTER TABLE works ADD COLUMN registered_at INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.registered_at')) VIRTUAL;
CREATE INDEX works_by_owner_time ON works(owner, registered_at, id);
CREATE INDEX works_by_owner_title ON works(owner, title, id);
ALTER TABLE licences ADD COLUMN licensee_name TEXT GENERATED ALWAYS AS (json_extract(doc, '$.licensee_name')) VIRTUAL;
CREATE INDEX IF NOT EXISTS licences_by_holder_time ON licences(holder, created_at, id);
CREATE INDEX IF NOT EXISTS licences_by_licensee_time ON licences(licensee, created_at, id);
"#;

/// How a list is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ListSort {
    /// Newest first (the default everywhere).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// By title (works and licences: the work's title), then id.
    Title,
}

impl ListSort {
    /// Reads the `sort` query value; anything else is newest first.
    pub fn parse(s: &str) -> ListSort {
        match s {
            "oldest" => ListSort::Oldest,
            "title" => ListSort::Title,
            _ => ListSort::Newest,
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            ListSort::Newest => "newest",
            ListSort::Oldest => "oldest",
            ListSort::Title => "title",
        }
    }
}

/// Where a page ends: the last row's sort key and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// A time in Unix milliseconds.
    Time(i64),
    /// A title.
    Text(String),
}

/// The end of one page, from which the next starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCursor {
    /// The last row's sort key.
    pub key: SortKey,
    /// The last row's id (ties in the sort key are broken by id).
    pub id: String,
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Words to find in titles, authors, names and ids (case-insensitive substring).
    pub text: String,
    /// A status to keep (licences: `held`, `settled`…); empty for all.
    pub status: String,
    /// The order.
    pub sort: ListSort,
    /// Start after this row; `None` for the first page.
    pub after: Option<ListCursor>,
    /// Rows per page (at most 100,000, what one CSV export may hold).
    pub limit: usize,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct ListPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<ListCursor>,
    /// How many rows match in all.
    pub total: u64,
}

/// Which side of a licence a party is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The rights holder who granted it.
    Granted,
    /// The licensee who holds it.
    Held,
}

/// The dashboards' lists.
pub trait Listings {
    /// A page of a rights holder's works.
    fn list_works(&self, owner: &str, q: &ListQuery) -> Result<ListPage<Work>, StoreError>;
    /// A page of the licences a party granted or holds, each with its work's title.
    fn list_licences(&self, party: &str, side: Side, q: &ListQuery) -> Result<ListPage<(Licence, String)>, StoreError>;
    /// A page of the invoices of licences a party granted or holds (newest first, or oldest), each
    /// with its work's title and id.
    fn list_invoices(&self, party: &str, q: &ListQuery) -> Result<ListPage<(Invoice, String, String)>, StoreError>;
}

/// `%`, `_` and `\` match themselves in a LIKE pattern with `ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The parts of a keyset query: the `WHERE` addition for the cursor and the `ORDER BY`.
fn keyset(
    sort: ListSort,
    time_col: &str,
    title_col: &str,
    id_col: &str,
    after: &Option<ListCursor>,
    params: &mut Vec<Value>,
) -> (String, String) {
    let (col, order, cmp) = match sort {
        ListSort::Newest => (time_col, "DESC", "<"),
        ListSort::Oldest => (time_col, "ASC", ">"),
        ListSort::Title => (title_col, "ASC", ">"),
    };
    let order_by = format!("ORDER BY {col} {order}, {id_col} {order}");
    let Some(c) = after else { return (String::new(), order_by) };
    params.push(match &c.key {
        SortKey::Time(t) => Value::Integer(*t),
        SortKey::Text(s) => Value::Text(s.clone()),
    });
    params.push(Value::Text(c.id.clone()));
    let n = params.len();
    (format!(" AND ({col}, {id_col}) {cmp} (?{}, ?{n})", n - 1), order_by)
}

fn limit_of(q: &ListQuery) -> usize {
    // Pages ask for 50; a CSV export asks for everything up to its own cap.
    q.limit.clamp(1, 100_000)
}

impl SqliteStore {
    /// Runs a list query: the rows of one page (one more than asked, to know whether another follows)
    /// and the count of all matches.
    fn page_of<T>(
        &self,
        select: &str,
        from_where: &str,
        mut params: Vec<Value>,
        cursor_clause: (String, String),
        q: &ListQuery,
        row: impl Fn(&rusqlite::Row<'_>) -> Result<(T, ListCursor), StoreError>,
    ) -> Result<ListPage<T>, StoreError> {
        let count_sql = format!("SELECT count(*) FROM {from_where}");
        let total_params = params.len() - if q.after.is_some() { 2 } else { 0 };
        let total: i64 = self
            .conn
            .prepare_cached(&count_sql)?
            .query_row(rusqlite::params_from_iter(&params[..total_params]), |r| r.get(0))?;
        let limit = limit_of(q);
        params.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
        let sql = format!("{select} FROM {from_where}{} {} LIMIT ?{}", cursor_clause.0, cursor_clause.1, params.len());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut items = Vec::new();
        let mut last = None;
        while let Some(r) = rows.next()? {
            if items.len() == limit {
                return Ok(ListPage { items, next: last, total: total as u64 });
            }
            let (item, cursor) = row(r)?;
            items.push(item);
            last = Some(cursor);
        }
        Ok(ListPage { items, next: None, total: total as u64 })
    }
}

impl Listings for SqliteStore {
    fn list_works(&self, owner: &str, q: &ListQuery) -> Result<ListPage<Work>, StoreError> {
        let mut params = vec![Value::Text(owner.to_owned())];
        let mut from_where = "works WHERE owner = ?1".to_owned();
        if !q.text.trim().is_empty() {
            params.push(Value::Text(like_pattern(&q.text)));
            from_where += " AND (title LIKE ?2 ESCAPE '\\' OR author LIKE ?2 ESCAPE '\\' OR id LIKE ?2 ESCAPE '\\')";
        }
        // The count ignores the cursor, so the cursor's parameters come last.
        let cursor = keyset(q.sort, "registered_at", "title", "id", &q.after, &mut params);
        self.page_of("SELECT doc, registered_at, title, id", &from_where, params, cursor, q, |r| {
            let work: Work = from_doc("works", &r.get::<_, String>(0)?)?;
            let key = match q.sort {
                ListSort::Title => SortKey::Text(r.get(2)?),
                _ => SortKey::Time(r.get(1)?),
            };
            Ok((work, ListCursor { key, id: r.get(3)? }))
        })
    }

    fn list_licences(&self, party: &str, side: Side, q: &ListQuery) -> Result<ListPage<(Licence, String)>, StoreError> {
        let column = match side {
            Side::Granted => "l.holder",
            Side::Held => "l.licensee",
        };
        let mut params = vec![Value::Text(party.to_owned())];
        let mut from_where = format!("licences l JOIN works w ON w.id = l.work WHERE {column} = ?1");
        if !q.status.is_empty() {
            params.push(Value::Text(q.status.clone()));
            from_where += &format!(" AND l.status = ?{}", params.len());
        }
        if !q.text.trim().is_empty() {
            params.push(Value::Text(like_pattern(&q.text)));
            let n = params.len();
            from_where += &format!(
                " AND (w.title LIKE ?{n} ESCAPE '\\' OR l.id LIKE ?{n} ESCAPE '\\' OR l.licensee_name LIKE ?{n} ESCAPE '\\' OR l.site LIKE ?{n} ESCAPE '\\')"
            );
        }
        let cursor = keyset(q.sort, "l.created_at", "w.title", "l.id", &q.after, &mut params);
        self.page_of("SELECT l.doc, l.created_at, w.title, l.id", &from_where, params, cursor, q, |r| {
            let licence: Licence = from_doc("licences", &r.get::<_, String>(0)?)?;
            let title: String = r.get(2)?;
            let key = match q.sort {
                ListSort::Title => SortKey::Text(title.clone()),
                _ => SortKey::Time(r.get(1)?),
            };
            Ok(((licence, title), ListCursor { key, id: r.get(3)? }))
        })
    }

    fn list_invoices(&self, party: &str, q: &ListQuery) -> Result<ListPage<(Invoice, String, String)>, StoreError> {
        let mut params = vec![Value::Text(party.to_owned())];
        let mut from_where =
            "invoices i JOIN licences l ON l.id = i.licence JOIN works w ON w.id = l.work WHERE (l.holder = ?1 OR l.licensee = ?1)"
                .to_owned();
        if !q.text.trim().is_empty() {
            params.push(Value::Text(like_pattern(&q.text)));
            let n = params.len();
            from_where += &format!(
                " AND (w.title LIKE ?{n} ESCAPE '\\' OR i.licence LIKE ?{n} ESCAPE '\\' OR (i.series || '-' || i.number) LIKE ?{n} ESCAPE '\\')"
            );
        }
        // Invoices have no title order of their own: by title means by the work's.
        let cursor = keyset(q.sort, "i.issued_at", "w.title", "i.licence", &q.after, &mut params);
        self.page_of("SELECT i.doc, i.issued_at, w.title, i.licence, w.id", &from_where, params, cursor, q, |r| {
            let invoice: Invoice = from_doc("invoices", &r.get::<_, String>(0)?)?;
            let title: String = r.get(2)?;
            let key = match q.sort {
                ListSort::Title => SortKey::Text(title.clone()),
                _ => SortKey::Time(r.get(1)?),
            };
            Ok(((invoice, title, r.get(4)?), ListCursor { key, id: r.get(3)? }))
        })
    }
}
