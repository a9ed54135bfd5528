//! `seal search` (a fixed contract): search every organisation's hits and the pages they are on, for
//! operators; `seal search reindex` rebuilds the index from the records store with a progress bar.
//!
//! `seal search --data DIR [--colour white|black] [--work ID] [--domain D] [--limit N] [--json] QUERY`
//! prints with `--json` one object: `{"total", "results": [{"url", "title", "work", "file", "colour",
//! "snippet"}], "facets": {"domain": {...}, "colour": {...}, "work": {...}}}`; `file` is the imported
//! file's base name or null, `snippet` the page text around the match (plain text). Before searching,
//! the index is brought up to the store's hits, unless a running server holds it (it keeps it current).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use seal_api::search::{SearchError, SearchIndex, SearchQuery, Sort};
use seal_api::services::search::{reindex, sync};
use seal_api::store::prelude::*;
use seal_api::store::SqliteStore;
use std::path::{Path, PathBuf};

/// Arguments of `seal search`.
#[derive(Args, Debug)]
#[command(subcommand_negates_reqs = true)]
pub struct SearchArgs {
    /// Rebuild the index.
    #[command(subcommand)]
    pub command: Option<SearchCommand>,
    /// Data directory.
    #[arg(long, default_value = "./seal-data", global = true)]
    pub data: PathBuf,
    /// Only white (licensed) or black (unlicensed) hits.
    #[arg(long, value_parser = ["white", "black"])]
    pub colour: Option<String>,
    /// Only hits of this work.
    #[arg(long)]
    pub work: Option<String>,
    /// Only pages on this host.
    #[arg(long)]
    pub domain: Option<String>,
    /// Results to print (1 to 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub limit: u16,
    /// Newest first instead of best match first.
    #[arg(long)]
    pub by_date: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Free text: words, "phrases", AND / OR / NOT; empty lists every hit that passes the filters.
    #[arg(required = true)]
    pub query: Vec<String>,
}

/// `seal search` subcommands.
#[derive(Subcommand, Debug)]
pub enum SearchCommand {
    /// Empty the index and rebuild it from every hit in the records store.
    Reindex,
}

fn store(data: &Path) -> Result<SqliteStore> {
    if !data.is_dir() {
        bail!("{} is not a data directory", data.display());
    }
    SqliteStore::open_in(data).with_context(|| format!("opening {}", data.display()))
}

/// Runs `seal search`. The JSON keys are exactly the contract's (scripts outside the project read them);
/// the API (`GET /api/v1/search`) carries more per result and the month facet.
pub fn run(args: &SearchArgs) -> Result<()> {
    let store = store(&args.data)?;
    let dir = args.data.join("search");
    if let Some(SearchCommand::Reindex) = args.command {
        let index = match SearchIndex::open(&dir) {
            Err(SearchError::Locked) => bail!("a running server holds the search index; stop it, then reindex"),
            other => other.context("opening the search index")?,
        };
        let bar = super::eval::progress(usize::try_from(store.count_all_hits()?).unwrap_or(0), "hits");
        let n = reindex(&index, &store, |k| bar.inc(k as u64)).context("rebuilding the search index")?;
        bar.finish_and_clear();
        println!("{n} hits indexed, {} bytes", index.disk_bytes());
        return Ok(());
    }
    let index = SearchIndex::open_shared(&dir).context("opening the search index")?;
    if index.writable() {
        let pending = store.latest_hit_rev()? - index.rev()?;
        let bar = super::eval::progress(if pending > 10_000 { store.count_all_hits()? as usize } else { 0 }, "hits");
        sync(&index, |after, limit| store.hits_changed(after, limit), |k| bar.inc(k as u64))
            .context("updating the search index")?;
        bar.finish_and_clear();
    }
    let query = SearchQuery {
        text: args.query.join(" "),
        work: args.work.clone(),
        domain: args.domain.as_deref().map(str::to_ascii_lowercase),
        colour: args.colour.clone(),
        sort: if args.by_date { Sort::Date } else { Sort::Relevance },
        limit: usize::from(args.limit),
        ..SearchQuery::default()
    };
    let results = match index.search(&query) {
        Ok(r) => r,
        Err(SearchError::BadQuery(why)) => bail!("the query cannot be read: {why}"),
        Err(e) => return Err(e).context("searching"),
    };
    if args.json {
        let found: Vec<_> = results
            .found
            .iter()
            .map(|f| {
                serde_json::json!({
                    "url": f.url, "title": f.title, "work": f.work, "file": f.file, "colour": f.colour,
                    "snippet": f.snippet.text,
                })
            })
            .collect();
        let facet = |name: &str| -> serde_json::Value {
            let map: serde_json::Map<String, serde_json::Value> = results
                .facets
                .get(name)
                .map(|values| values.iter().map(|(k, n)| (k.clone(), serde_json::json!(n))).collect())
                .unwrap_or_default();
            serde_json::Value::Object(map)
        };
        println!(
            "{}",
            serde_json::json!({
                "total": results.total,
                "results": found,
                "facets": {"domain": facet("domain"), "colour": facet("colour"), "work": facet("work")},
            })
        );
    } else {
        println!("{} hits", results.total);
        for f in &results.found {
            println!(
                "\n[{}] {} ({})\n  {}  work {}{}",
                f.colour,
                f.title,
                f.domain,
                f.url,
                f.work,
                f.file.as_deref().map(|n| format!(", file {n}")).unwrap_or_default()
            );
            let one_line: String = f.snippet.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !one_line.is_empty() {
                println!("  … {one_line} …");
            }
        }
    }
    Ok(())
}
