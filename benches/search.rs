//! Analyst search benchmark: queries over an index of `SEAL_BENCH_SEARCH_PAGES` hits (default
//! 1,000,000), each a page of ~1,500 characters of mixed Chinese and English text, with the filters and
//! facet counts the search page always asks for. Target: p99 under 100 ms. Also reported: index bytes
//! per page and indexing throughput.
//!
//! Built once and cached under the target directory (`bench-search-N`): documents go in through
//! `SearchIndex::apply` exactly as the server's sync feeds them, in batches of 2,000 with one commit per
//! 100,000 (the records store is not involved: its part is measured by the ingest bench). Pages are
//! drawn from the Chinese fixture texts (200-character windows) and the benches' 5,000-word English
//! vocabulary; 50 organisations, 5,000 works, 20,000 domains, 70% black, two years of dates.
//!
//! Query kinds, 200 random instances each (divan times each instance; the p50/p99 of the same runs are
//! printed beside its table):
//! - `cjk_word`: a 2-character Chinese word, one organisation, relevance, facets;
//! - `phrase`: a quoted 4-character Chinese phrase, one organisation, black only;
//! - `english_range`: an English word, one organisation, a 90-day range, newest first;
//! - `filters_only`: no text, one organisation and one domain, newest first;
//! - `all_orgs`: a 2-character Chinese word over every organisation (an operator's search), black only.
//!
//! Run: `cargo bench --bench search` (first run builds the index: a few minutes, a few GB of disk).

mod support;

use seal_api::search::{SearchIndex, SearchQuery, Sort};
use seal_api::store::monitoring::{HitRow, Reason};
use seal_api::store::usage::IndexedHit;
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::Timestamp;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;
use support::{env_or, Rng};

const DAY: i64 = 86_400_000;

fn pages() -> u64 {
    env_or("SEAL_BENCH_SEARCH_PAGES", 1_000_000)
}

/// Characters of the Chinese fixture texts, for windows and query words.
fn chinese() -> &'static Vec<char> {
    static TEXT: OnceLock<Vec<char>> = OnceLock::new();
    TEXT.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/text/originals");
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(&root).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        names.sort();
        let mut out = Vec::new();
        for p in names {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if name.starts_with("zh-") && name.ends_with(".txt") {
                out.extend(std::fs::read_to_string(&p).unwrap_or_default().chars().filter(|c| !c.is_control()));
            }
        }
        assert!(out.len() > 10_000, "the Chinese fixtures are needed");
        out
    })
}

fn cjk_run(rng: &mut Rng, len: usize) -> String {
    let text = chinese();
    loop {
        let start = rng.below((text.len() - len) as u64) as usize;
        let piece: String = text[start..start + len].iter().collect();
        if piece.chars().all(seal_engine::text::tokens::is_cjk) {
            return piece;
        }
    }
}

fn hit(i: u64) -> IndexedHit {
    let mut rng = Rng::new(i ^ 0x5ea2c4);
    let text = chinese();
    let mut body = String::with_capacity(4096);
    for _ in 0..5 {
        let start = rng.below((text.len() - 200) as u64) as usize;
        body.extend(&text[start..start + 200]);
        body.push('\n');
        support::push_words(&mut body, &mut rng, 90);
        body.push('\n');
    }
    let org = rng.below(50);
    let work = org * 100 + rng.below(100);
    let domain = format!("site{}.example", rng.below(20_000));
    let first = 1_795_000_000_000 - rng.below(730) as i64 * DAY;
    let black = rng.below(10) < 7;
    let reason = if black { Reason::Unlicensed } else { Reason::Licence };
    IndexedHit {
        rev: 1,
        text: Some(body),
        hit: HitRow {
            id: i as i64 + 1,
            work: WorkId::new(format!("w{work}")).expect("valid id"),
            owner: PartyId::new(format!("org{org}")).expect("valid id"),
            page_url: format!("https://{domain}/a/{i}.html"),
            image_url: None,
            domain,
            title: cjk_run(&mut rng, 12),
            kind: if rng.below(10) == 0 { "image".into() } else { "text".into() },
            copy: "excerpt".into(),
            score: 0.5,
            page_coverage: 0.3,
            evidence: "{\"spans\":[[10,60,0,50]]}".into(),
            file: None,
            colour: reason.colour().into(),
            reason,
            reason_ref: String::new(),
            source: "warc".into(),
            first_seen: Timestamp::from_unix_ms(first),
            last_seen: Timestamp::from_unix_ms(first + rng.below(60) as i64 * DAY),
        },
    }
}

/// The cached index, built on first use.
fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let n = pages();
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| "target".into());
        let dir = target.join(format!("bench-search-{n}"));
        let index = SearchIndex::open(&dir).expect("opening the bench index");
        if index.len() != n {
            index.clear().expect("clearing");
            let started = Instant::now();
            let mut batch = Vec::with_capacity(2_000);
            for i in 0..n {
                batch.push(hit(i));
                if batch.len() == 2_000 {
                    index.apply(&batch).expect("indexing");
                    batch.clear();
                }
                if (i + 1) % 100_000 == 0 {
                    index.commit(1).expect("commit");
                    eprintln!(
                        "indexed {} pages, {:.0} pages/s",
                        i + 1,
                        (i + 1) as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
            index.apply(&batch).expect("indexing");
            index.commit(1).expect("commit");
            eprintln!(
                "indexed {n} pages in {:.0} s ({:.0} pages/s)",
                started.elapsed().as_secs_f64(),
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
        let bytes = index.disk_bytes();
        eprintln!(
            "search index: {} pages, {:.2} GB on disk, {:.0} bytes per page (text stored for snippets)",
            index.len(),
            bytes as f64 / 1e9,
            bytes as f64 / index.len().max(1) as f64
        );
        index
    })
}

const KINDS: [&str; 5] = ["cjk_word", "phrase", "english_range", "filters_only", "all_orgs"];

fn query(kind: &str, rng: &mut Rng) -> SearchQuery {
    let org = Some(format!("org{}", rng.below(50)));
    let base = SearchQuery { limit: 20, ..SearchQuery::default() };
    match kind {
        "cjk_word" => SearchQuery { text: cjk_run(rng, 2), holder: org, ..base },
        "phrase" => {
            SearchQuery { text: format!("\"{}\"", cjk_run(rng, 4)), holder: org, colour: Some("black".into()), ..base }
        }
        "english_range" => {
            let words = support::vocabulary();
            let to = 1_795_000_000_000 - rng.below(600) as i64 * DAY;
            SearchQuery {
                text: words[rng.below(words.len() as u64) as usize].clone(),
                holder: org,
                from: Some(to - 90 * DAY),
                to: Some(to),
                sort: Sort::Date,
                ..base
            }
        }
        "filters_only" => SearchQuery {
            holder: org,
            domain: Some(format!("site{}.example", rng.below(20_000))),
            sort: Sort::Date,
            ..base
        },
        _ => SearchQuery { text: cjk_run(rng, 2), colour: Some("black".into()), ..base },
    }
}

fn main() {
    let index = index();
    // The percentiles of the same kind of runs divan times below.
    for kind in KINDS {
        let mut rng = Rng::new(7);
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let q = query(kind, &mut rng);
                let t = Instant::now();
                let r = index.search(&q).expect("a query");
                std::hint::black_box(r.total);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        eprintln!(
            "{kind:>14}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            times[times.len() - 1]
        );
    }
    divan::main();
}

#[divan::bench(args = KINDS, sample_count = 200, sample_size = 1)]
fn search(bencher: divan::Bencher, kind: &str) {
    let index = index();
    let mut rng = Rng::new(11);
    bencher.bench_local(|| {
        let q = query(kind, &mut rng);
        index.search(&q).map(|r| r.total).unwrap_or_default()
    });
}
