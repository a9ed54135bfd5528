//! Text engine benchmarks (divan): extraction MB/s on the fixture pages (ours, and lol_html's floor), and extraction + fingerprinting +
//! matching pages/s against indexes of 10k, 100k and 1M registered works, with index memory per work.
//!
//! Works beyond the fixture originals are synthesized by perturbing them: each token of a fixture text is
//! kept with probability 1/5 and otherwise replaced by a random token from the fixtures' vocabulary. That
//! keeps the vocabulary, length and script mix of real articles. The rate is set so that a k-gram of a
//! fixture text echoes in other works about as often as a phrase of a real article does in a large news
//! corpus: with a million works each fixture text has some 6,700 perturbed siblings, and each shares a
//! given 6-gram with probability 0.2^6, so a page's k-gram meets about 0.4 stray postings. (Keeping half
//! the tokens instead would make every k-gram echo in a hundred works: a corpus of near-copies, which a
//! real registry is not.) Run: `cargo bench --bench text` (one thread; set
//! `DIVAN_MAX_WORKS=100000` to skip the 1M index on a small machine).

use seal_engine::text::tokens::tokenize;
use seal_engine::text::{extract, ContentKind, ExtractConfig, MatchConfig, TextIndex, WorkId};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

struct Corpus {
    originals: Vec<String>,
    pages: Vec<(bool, Vec<u8>)>,
    page_bytes: u64,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/text");
        let read = |sub: &str| {
            let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_else(|_| Vec::new());
            files.sort();
            files
        };
        let config = ExtractConfig::default();
        let originals = read("originals")
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|b| extract(&b, ContentKind::Auto, &config).ok())
            .map(|e| e.text.split_once('\n').map_or(e.text.clone(), |(_, body)| body.to_string()))
            .collect();
        let pages: Vec<(bool, Vec<u8>)> = read("queries")
            .iter()
            .filter_map(|p| Some((p.extension().is_some_and(|e| e == "txt"), std::fs::read(p).ok()?)))
            .collect();
        let page_bytes = pages.iter().map(|(_, b)| b.len() as u64).sum();
        Corpus { originals, pages, page_bytes }
    })
}

/// An index of `works` works: the fixture originals plus perturbed copies of them.
fn index(works: usize) -> &'static TextIndex {
    static INDEXES: OnceLock<std::sync::Mutex<HashMap<usize, &'static TextIndex>>> = OnceLock::new();
    let cache = INDEXES.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache.entry(works).or_insert_with(|| Box::leak(Box::new(build(works))))
}

fn build(works: usize) -> TextIndex {
    let corpus = corpus();
    let token_texts: Vec<Vec<String>> = corpus
        .originals
        .iter()
        .map(|text| {
            let chars: Vec<char> = text.chars().collect();
            tokenize(text).iter().map(|t| chars[t.start as usize..t.end as usize].iter().collect()).collect()
        })
        .collect();
    let vocabulary: Vec<&String> = token_texts.iter().flatten().collect();
    let mut rng = 0x5eed_u64;
    let mut next = || {
        rng = seal_engine::text::fingerprint::mix64(rng.wrapping_add(0x9e37_79b9_7f4a_7c15));
        rng
    };
    let mut index = TextIndex::default();
    let mut tokens = 0u64;
    for n in 0..works {
        let text = if n < corpus.originals.len() {
            corpus.originals[n].clone()
        } else {
            let base = &token_texts[n % token_texts.len()];
            let words: Vec<&str> = base
                .iter()
                .map(|w| if next() % 5 == 0 { w.as_str() } else { vocabulary[(next() as usize) % vocabulary.len()] })
                .collect();
            words.join(" ")
        };
        if let Ok(registered) = index.add(WorkId(n as u64), &text) {
            tokens += u64::from(registered.tokens);
        }
    }
    index.compact();
    let bytes = index.heap_bytes() as f64;
    eprintln!(
        "index of {works} works: {:.0} MB, {:.0} bytes/work, {:.0} bytes per 1,000 tokens",
        bytes / 1e6,
        bytes / works as f64,
        bytes / (tokens as f64 / 1000.0)
    );
    index
}

/// Extraction alone over every fixture page.
#[divan::bench(sample_count = 20)]
fn extract_pages(bencher: divan::Bencher) {
    let corpus = corpus();
    let config = ExtractConfig::default();
    bencher.counter(divan::counter::BytesCount::new(corpus.page_bytes)).bench(|| {
        for (txt, bytes) in &corpus.pages {
            let kind = if *txt { ContentKind::PlainText } else { ContentKind::Html };
            divan::black_box(extract(bytes, kind, &config).map(|e| e.text.len()).ok());
        }
    });
}

/// The same pages through lol_html's streaming rewriter, collecting every text chunk and doing nothing
/// else (no entity decoding, no removal of scripts, no white-space folding): the least a lol_html-based
/// extractor would cost. Our scanner does all of that and is compared against this floor.
#[divan::bench(sample_count = 20)]
fn extract_pages_lol_html_floor(bencher: divan::Bencher) {
    let corpus = corpus();
    bencher.counter(divan::counter::BytesCount::new(corpus.page_bytes)).bench(|| {
        for (_, bytes) in &corpus.pages {
            let mut chars = 0usize;
            let handlers =
                lol_html::DocumentContentHandlers::default().text(|chunk: &mut lol_html::html_content::TextChunk| {
                    chars += chunk.as_str().len();
                    Ok(())
                });
            let settings = lol_html::Settings::new().append_document_content_handler(handlers);
            let mut rewriter = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
            let _ = rewriter.write(bytes);
            let _ = rewriter.end();
            divan::black_box(chars);
        }
    });
}

/// Extraction, fingerprinting and matching of every fixture page against an index of `works` works.
#[divan::bench(args = [10_000, 100_000, 1_000_000], sample_count = 10)]
fn match_pages(bencher: divan::Bencher, works: usize) {
    let limit = std::env::var("DIVAN_MAX_WORKS").ok().and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
    if works > limit {
        return;
    }
    let corpus = corpus();
    let index = index(works);
    let (extract_config, match_config) = (ExtractConfig::default(), MatchConfig::default());
    bencher.counter(divan::counter::ItemsCount::new(corpus.pages.len())).bench(|| {
        for (txt, bytes) in &corpus.pages {
            let kind = if *txt { ContentKind::PlainText } else { ContentKind::Html };
            if let Ok(page) = extract(bytes, kind, &extract_config) {
                divan::black_box(index.find(&page.text, &match_config));
            }
        }
    });
}
