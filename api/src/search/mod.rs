//! Analyst search: a tantivy index over hits and the pages they were found on, under `DATA/search`.
//!
//! One document per hit (a page shows up once per work found on it), so a filter on work, colour or
//! kind means exactly that hit. Fields: the page's URL, domain, title and extracted text; the work and
//! its rights holder; text or image; the kind of copy, score and colour; first and last seen. Text
//! fields use [`tokenizer::CjkBigrams`], chosen by measurement (see there).
//!
//! The index is derived data. It follows the records store by hit revision ([`crate::store::usage`]):
//! [`SearchIndex::apply`] replaces each changed hit's document and commits together with the last
//! revision applied (tantivy's commit payload), so a crash loses nothing and an index that is deleted,
//! or written with another schema version, is rebuilt from revision 0. Recolouring reaches the index the
//! same way: the recolouring subscriber reacts to the domain events and stamps the hits it changes.
//!
//! Only one process may write an index (tantivy's lock file). The server holds the writer; a command
//! line run beside it opens the index read-only and searches what the server has committed.

pub mod facets;
pub mod tokenizer;

use crate::store::usage::IndexedHit;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

/// The schema's version, kept in each commit's payload: another version means rebuild.
const SCHEMA_VERSION: u32 = 3;
/// Writer memory: tantivy needs at least 15 MB per thread; more makes fewer, larger segments.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// Results per page at most, and how deep paging may go: a bounded query.
pub const MAX_LIMIT: usize = 100;
/// How far results may be paged.
pub const MAX_OFFSET: usize = 10_000;
/// Facet values returned per facet.
const FACET_TOP: usize = 20;
/// The longest query accepted, in bytes.
pub const MAX_QUERY: usize = 1_000;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query could not be parsed or names something unknown (a 400, never a 500).
    #[error("the query cannot be read: {0}")]
    BadQuery(String),
    /// The index could not be read or written.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// Another process holds the index for writing.
    #[error("the search index is being written by another process (a running server); stop it first")]
    Locked,
    /// Files of the index directory.
    #[error("search index files: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Copy)]
struct Fields {
    hit: Field,
    url: Field,
    domain: Field,
    title: Field,
    text: Field,
    work: Field,
    holder: Field,
    file: Field,
    kind: Field,
    copy: Field,
    score: Field,
    colour: Field,
    first_seen: Field,
    last_seen: Field,
    evidence: Field,
    month: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(tokenizer::NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default().set_indexing_options(text_indexing).set_stored();
    let fields = Fields {
        hit: b.add_i64_field("hit", INDEXED | STORED | FAST),
        url: b.add_text_field("url", text.clone()),
        domain: b.add_text_field("domain", STRING | STORED | FAST),
        title: b.add_text_field("title", text.clone()),
        text: b.add_text_field("text", text),
        work: b.add_text_field("work", STRING | STORED | FAST),
        holder: b.add_text_field("holder", STRING | STORED),
        file: b.add_text_field("file", STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        copy: b.add_text_field("copy", STRING | STORED),
        score: b.add_f64_field("score", STORED),
        colour: b.add_text_field("colour", STRING | STORED | FAST),
        first_seen: b.add_i64_field("first_seen", INDEXED | STORED | FAST),
        last_seen: b.add_i64_field("last_seen", INDEXED | STORED | FAST),
        evidence: b.add_text_field("evidence", STORED),
        // The month first seen as YYYYMM, for its facet.
        month: b.add_u64_field("month", FAST),
    };
    (b.build(), fields)
}

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best match first (newest first when there is no free text).
    #[default]
    Relevance,
    /// Most recently seen first.
    Date,
}

/// A search: free text plus filters. Empty filters do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Free text: words, `"phrases"`, `AND`/`OR`/`NOT`, `+must`/`-mustnot`, `title:word`.
    pub text: String,
    /// Only this rights holder's hits (always set for an organisation's members).
    pub holder: Option<String>,
    /// Only this work.
    pub work: Option<String>,
    /// Only this host (lower case).
    pub domain: Option<String>,
    /// `white` or `black`.
    pub colour: Option<String>,
    /// `text` or `image`.
    pub kind: Option<String>,
    /// Seen during `[from, to)`, Unix milliseconds.
    pub from: Option<i64>,
    /// End of the range, exclusive.
    pub to: Option<i64>,
    /// Order.
    pub sort: Sort,
    /// Results to return (at most [`MAX_LIMIT`]).
    pub limit: usize,
    /// Results to skip (at most [`MAX_OFFSET`]).
    pub offset: usize,
}

/// A stretch of page text around the match, with the matched spans (byte ranges into `text`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snippet {
    /// The text.
    pub text: String,
    /// Matched spans, sorted and disjoint, byte ranges into `text`.
    pub marks: Vec<(usize, usize)>,
}

/// One result.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The hit's id in the records store.
    pub hit: i64,
    /// The page.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Its host.
    pub domain: String,
    /// The work found.
    pub work: String,
    /// Its rights holder.
    pub holder: String,
    /// The imported file's base name, if any.
    pub file: Option<String>,
    /// `text` or `image`.
    pub kind: String,
    /// Kind of copy.
    pub copy: String,
    /// Score, 0..1.
    pub score: f64,
    /// `white` or `black`.
    pub colour: String,
    /// First seen, Unix milliseconds.
    pub first_seen: i64,
    /// Last seen.
    pub last_seen: i64,
    /// Evidence JSON (text: `[[page_start, page_end, work_start, work_end], …]`).
    pub evidence: String,
    /// Highlighted page text.
    pub snippet: Snippet,
}

/// Results with facet counts over every match (not only the page returned).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// How many hits match.
    pub total: usize,
    /// This page of them.
    pub found: Vec<Found>,
    /// Facet name (`domain`, `work`, `colour`, `month`) → value → count, the top values of each.
    pub facets: BTreeMap<&'static str, Vec<(String, u64)>>,
}

/// The on-disk index with its reader and, in the process that owns it, its writer.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Option<Mutex<IndexWriter>>,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).field("writable", &self.writer.is_some()).finish()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    version: u32,
    rev: i64,
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir` for writing. An index of another schema version, or one
    /// that cannot be opened, is deleted and recreated empty: it is rebuilt from the records store.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = match Self::open_existing(dir, &schema) {
            Some(index) => index,
            None => {
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                // Stored page text is most of the index: zstd keeps it at about half of lz4's size, and
                // only the 20 documents of a page of results are ever decompressed.
                let settings = tantivy::IndexSettings {
                    docstore_compression: tantivy::store::Compressor::Zstd(Default::default()),
                    ..Default::default()
                };
                Index::builder().schema(schema).settings(settings).create_in_dir(dir)?
            }
        };
        Self::with_index(dir, index, fields, true)
    }

    /// Opens an existing index for reading only (a command line beside a running server).
    pub fn open_read_only(dir: &Path) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let index = Self::open_existing(dir, &schema)
            .ok_or_else(|| SearchError::BadQuery("there is no search index yet; run `seal search reindex`".into()))?;
        Self::with_index(dir, index, fields, false)
    }

    fn open_existing(dir: &Path, schema: &Schema) -> Option<Index> {
        let index = Index::open_in_dir(dir).ok()?;
        let payload = index.load_metas().ok()?.payload;
        let version_ok = match payload {
            Some(p) => serde_json::from_str::<Payload>(&p).is_ok_and(|p| p.version == SCHEMA_VERSION),
            // Created and never committed: fine if the schema is ours.
            None => true,
        };
        (version_ok && index.schema() == *schema).then_some(index)
    }

    fn with_index(dir: &Path, mut index: Index, fields: Fields, write: bool) -> Result<SearchIndex, SearchError> {
        // Segments are searched in parallel: a query matching most of a large index is bounded by the
        // postings it walks, and that splits across cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        if threads > 1 {
            index.set_multithread_executor(threads)?;
        }
        index.tokenizers().register(tokenizer::NAME, tantivy::tokenizer::TextAnalyzer::from(tokenizer::CjkBigrams));
        let writer = if write {
            match index.writer_with_num_threads(1, WRITER_MEMORY) {
                Ok(w) => Some(Mutex::new(w)),
                Err(tantivy::TantivyError::LockFailure(..)) => return Err(SearchError::Locked),
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(SearchIndex { dir: dir.to_owned(), index, reader, writer, fields })
    }

    /// Opens for writing when nobody else writes, else read-only.
    pub fn open_shared(dir: &Path) -> Result<SearchIndex, SearchError> {
        match Self::open(dir) {
            Err(SearchError::Locked) => Self::open_read_only(dir),
            other => other,
        }
    }

    /// Whether this handle may write.
    pub fn writable(&self) -> bool {
        self.writer.is_some()
    }

    /// The last hit revision the committed index covers.
    pub fn rev(&self) -> Result<i64, SearchError> {
        let payload = self.index.load_metas()?.payload;
        Ok(payload.and_then(|p| serde_json::from_str::<Payload>(&p).ok()).map_or(0, |p| p.rev))
    }

    /// How many documents the searchable index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the index takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, SearchError> {
        let w = self.writer.as_ref().ok_or(SearchError::Locked)?;
        Ok(w.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Replaces the documents of `hits` (each deleted by id, then added). Nothing is visible until
    /// [`commit`](Self::commit).
    pub fn apply(&self, hits: &[IndexedHit]) -> Result<(), SearchError> {
        let writer = self.writer()?;
        let f = self.fields;
        for h in hits {
            let hit = &h.hit;
            writer.delete_term(Term::from_field_i64(f.hit, hit.id));
            let mut doc = TantivyDocument::default();
            doc.add_i64(f.hit, hit.id);
            doc.add_text(f.url, &hit.page_url);
            doc.add_text(f.domain, &hit.domain);
            doc.add_text(f.title, &hit.title);
            if let Some(text) = &h.text {
                doc.add_text(f.text, text);
            }
            doc.add_text(f.work, hit.work.as_str());
            doc.add_text(f.holder, hit.owner.as_str());
            if let Some(file) = &hit.file {
                doc.add_text(f.file, file);
            }
            doc.add_text(f.kind, &hit.kind);
            doc.add_text(f.copy, &hit.copy);
            doc.add_f64(f.score, hit.score);
            doc.add_text(f.colour, &hit.colour);
            doc.add_i64(f.first_seen, hit.first_seen.unix_ms());
            doc.add_i64(f.last_seen, hit.last_seen.unix_ms());
            doc.add_text(f.evidence, &hit.evidence);
            let (y, m, _) = hit.first_seen.date();
            doc.add_u64(f.month, u64::try_from(y * 100).unwrap_or(0) + u64::from(m));
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Commits what was applied, recording `rev` as covered, and makes it searchable.
    pub fn commit(&self, rev: i64) -> Result<(), SearchError> {
        let mut writer = self.writer()?;
        let payload = serde_json::to_string(&Payload { version: SCHEMA_VERSION, rev }).unwrap_or_default();
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Empties the index (a rebuild follows); committed with revision 0.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer()?.delete_all_documents()?;
        self.commit(0)
    }

    /// Re-reads what other processes committed (a read-only handle beside a server).
    pub fn refresh(&self) -> Result<(), SearchError> {
        Ok(self.reader.reload()?)
    }

    /// Runs a search.
    pub fn search(&self, q: &SearchQuery) -> Result<Results, SearchError> {
        if q.text.len() > MAX_QUERY {
            return Err(SearchError::BadQuery(format!("a query has at most {MAX_QUERY} bytes")));
        }
        if q.offset > MAX_OFFSET {
            return Err(SearchError::BadQuery(format!("results can be paged to {MAX_OFFSET} at most")));
        }
        let f = self.fields;
        let text_query: Option<Box<dyn Query>> = if q.text.trim().is_empty() {
            None
        } else {
            let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.text, f.url]);
            parser.set_conjunction_by_default();
            Some(parser.parse_query(q.text.trim()).map_err(|e| SearchError::BadQuery(e.to_string()))?)
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(t) = &text_query {
            clauses.push((Occur::Must, t.box_clone()));
        }
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
        };
        for (field, value) in
            [(f.holder, &q.holder), (f.work, &q.work), (f.domain, &q.domain), (f.colour, &q.colour), (f.kind, &q.kind)]
        {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                clauses.push((Occur::Must, term(field, v)));
            }
        }
        // Seen during the range: first seen before its end, last seen at or after its start.
        if let Some(to) = q.to {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(Bound::Unbounded, Bound::Excluded(Term::from_field_i64(f.first_seen, to)))),
            ));
        }
        if let Some(from) = q.from {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(Bound::Included(Term::from_field_i64(f.last_seen, from)), Bound::Unbounded)),
            ));
        }
        let query: Box<dyn Query> =
            if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };

        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let top = TopDocs::with_limit(limit).and_offset(q.offset);
        let by_date = q.sort == Sort::Date || text_query.is_none();
        let (addresses, total, counts): (Vec<DocAddress>, usize, _) = if by_date {
            let collector = (top.order_by_fast_field::<i64>("last_seen", Order::Desc), Count, facets::FacetCounts);
            let (docs, total, counts) = searcher.search(&query, &collector)?;
            (docs.into_iter().map(|(_, a)| a).collect(), total, counts)
        } else {
            let (docs, total, counts) = searcher.search(&query, &(top.order_by_score(), Count, facets::FacetCounts))?;
            (docs.into_iter().map(|(_, a)| a).collect(), total, counts)
        };
        let mut out = Results { total, ..Results::default() };
        for name in ["domain", "work", "colour", "month"] {
            let mut values: Vec<(String, u64)> = counts.get(name).cloned().unwrap_or_default().into_iter().collect();
            if name == "month" {
                values.sort();
                // The newest months, oldest first.
                let skip = values.len().saturating_sub(FACET_TOP);
                values.drain(..skip);
            } else {
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                values.truncate(FACET_TOP);
            }
            out.facets.insert(name, values);
        }
        let snippets = match &text_query {
            Some(t) => {
                let mut g = SnippetGenerator::create(&searcher, t.as_ref(), f.text)?;
                g.set_max_num_chars(240);
                Some(g)
            }
            None => None,
        };
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            out.found.push(self.found(&doc, snippets.as_ref()));
        }
        Ok(out)
    }

    fn found(&self, doc: &TantivyDocument, snippets: Option<&SnippetGenerator>) -> Found {
        let f = self.fields;
        let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let int = |field: Field| doc.get_first(field).and_then(|v| v.as_i64()).unwrap_or_default();
        let evidence = text(f.evidence);
        let mut snippet = snippets
            .map(|g| {
                let s = g.snippet_from_doc(doc);
                Snippet {
                    text: s.fragment().to_owned(),
                    marks: merge(s.highlighted().iter().map(|r| (r.start, r.end))),
                }
            })
            .unwrap_or_default();
        if snippet.marks.is_empty() {
            // No free-text match in the page text (a filter-only search, or the words were in the
            // title): show where the copy is instead.
            if let Some(page) = doc.get_first(f.text).and_then(|v| v.as_str()) {
                snippet = evidence_snippet(page, &evidence).unwrap_or(snippet);
            }
        }
        let file = text(f.file);
        Found {
            hit: int(f.hit),
            url: text(f.url),
            title: text(f.title),
            domain: text(f.domain),
            work: text(f.work),
            holder: text(f.holder),
            file: (!file.is_empty()).then_some(file),
            kind: text(f.kind),
            copy: text(f.copy),
            score: doc.get_first(f.score).and_then(|v| v.as_f64()).unwrap_or_default(),
            colour: text(f.colour),
            first_seen: int(f.first_seen),
            last_seen: int(f.last_seen),
            evidence,
            snippet,
        }
    }
}

/// Sorted, disjoint spans from possibly overlapping ones (bigram highlights overlap by a character).
fn merge(spans: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = spans.filter(|(a, b)| a < b).collect();
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Characters of context on each side of a copied span.
const CONTEXT: usize = 80;

/// The first copied span of a text hit's evidence (`{"spans": [[page_start, page_end, work_start,
/// work_end], …]}`, character offsets), if it has one.
pub fn first_span(evidence: &str) -> Option<[usize; 4]> {
    let spans = evidence_spans(evidence)?;
    spans.into_iter().find_map(|s| match s {
        [Some(a), Some(b), Some(c), Some(d)] if a < b => Some([a, b, c, d]),
        _ => None,
    })
}

/// The evidence spans, each side `None` where it is unknown (a retroactive hit knows only the work's
/// side: the page itself is not kept).
pub fn evidence_spans(evidence: &str) -> Option<Vec<[Option<usize>; 4]>> {
    #[derive(serde::Deserialize)]
    struct Evidence {
        spans: Vec<[Option<usize>; 4]>,
    }
    serde_json::from_str::<Evidence>(evidence).ok().map(|e| e.spans)
}

/// The page text around the first copied span of a text hit's evidence, the span marked.
pub fn evidence_snippet(page: &str, evidence: &str) -> Option<Snippet> {
    let [start, end, ..] = first_span(evidence)?;
    // Evidence offsets are characters; snippets are bytes.
    let byte_at = |chars: usize| page.char_indices().nth(chars).map_or(page.len(), |(i, _)| i);
    let (from, to) = (byte_at(start.saturating_sub(CONTEXT)), byte_at(end + CONTEXT));
    let (mark_from, mark_to) = (byte_at(start), byte_at(end.min(start + 2 * CONTEXT)));
    let to = to.max(mark_to);
    if from >= to {
        return None;
    }
    Some(Snippet { text: page[from..to].to_owned(), marks: vec![(mark_from - from, mark_to - from)] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_marks_merge() {
        assert_eq!(merge([(6, 12), (0, 6), (3, 9), (20, 22)].into_iter()), vec![(0, 12), (20, 22)]);
    }

    #[test]
    fn evidence_snippets_mark_the_copied_span() {
        let page = "前言。洪水淹没了村庄，救援队赶到。后记";
        let s = evidence_snippet(page, r#"{"spans": [[3, 10, 0, 7]]}"#).expect("a snippet");
        let marked = &s.text[s.marks[0].0..s.marks[0].1];
        assert_eq!(marked, "洪水淹没了村庄");
        assert!(evidence_snippet(page, "not json").is_none());
        assert!(evidence_snippet(page, r#"{"spans": [[5, 2, 0, 0]]}"#).is_none());
    }
}
