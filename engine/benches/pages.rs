//! Retroactive matching at scale (divan): a new work of about 1,000 words against 1,000,000 stored pages,
//! with the index's heap bytes per page and the time it took to build.
//!
//! Pages are synthesized deterministically and quickly, without fixtures: words are drawn from a Zipf
//! distribution (exponent 1) over a 50,000-word vocabulary of pronounceable pseudo-words, the way word
//! frequencies fall in real prose, and every page carries its site's header and footer (2,000 sites), so
//! that boilerplate fingerprints recur on hundreds of pages as they do in a real crawl. A page is about
//! 600 tokens. One page in 10,000 copies the query work: whole, an excerpt of 300 words or one of 120 (just
//! over the 10% work coverage a hit needs).
//!
//! The index is built once, before any timing (text and fingerprints on all cores, inserts on one); only
//! queries and single-page fingerprinting are timed. Run: `cargo bench -p seal-engine --bench pages` (set
//! `DIVAN_PAGES=100000` for a smaller index).

use seal_engine::text::fingerprint::mix64;
use seal_engine::text::{CopyKind, PageFingerprint, PageIndex, PageIndexConfig, PageKey, RetroConfig};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

const VOCABULARY: usize = 50_000;
const SITES: u64 = 2_000;
const COPY_EVERY: u64 = 10_000;
/// Bits of the uniform draw that index the Zipf table: fine enough that every word of the vocabulary can
/// come up.
const ZIPF_BITS: u32 = 20;

fn main() {
    let built = &*BUILT;
    let pages = built.index.len().max(1) as f64;
    println!("pages                  {}", built.index.len());
    println!("segments               {}", built.index.segment_count());
    println!("tokens per page        {:.1}", built.tokens as f64 / pages);
    println!("fingerprints per page  {:.1}", built.fingerprints as f64 / pages);
    println!("heap bytes             {} ({:.1} MiB)", built.heap, built.heap as f64 / f64::from(1 << 20));
    println!("heap bytes per page    {:.1}", built.heap as f64 / pages);
    println!(
        "build                  {:.1} s: text + fingerprints {:.1} s on {} threads, inserts {:.1} s ({:.2} µs per page)",
        (built.fingerprinting + built.inserting).as_secs_f64(),
        built.fingerprinting.as_secs_f64(),
        built.threads,
        built.inserting.as_secs_f64(),
        built.inserting.as_secs_f64() * 1e6 / pages,
    );
    println!("slowest insert         {:.0} ms (it froze a full open segment)", built.slowest.as_secs_f64() * 1e3);
    let started = Instant::now();
    let hits = built.index.find_work(&built.work, &RetroConfig::default());
    let first_query = started.elapsed();
    let found = hits.iter().filter(|h| built.copies.contains_key(&h.page.0)).count();
    let missed: Vec<_> = built.copies.iter().filter(|(key, _)| !hits.iter().any(|h| h.page.0 == **key)).collect();
    println!(
        "copied work            {} copies planted, {found} found, {} other pages reported, missed {missed:?} \
         (first query, cold: {:.1} ms)",
        built.copies.len(),
        hits.len() - found,
        first_query.as_secs_f64() * 1e3,
    );
    for (what, kind) in [("whole", CopyKind::Full), ("300 words", CopyKind::Excerpt), ("120 words", CopyKind::Excerpt)]
    {
        let of_what: Vec<_> = hits.iter().filter(|h| built.copies.get(&h.page.0) == Some(&what)).collect();
        let right = of_what.iter().filter(|h| h.kind == kind).count();
        println!("  {what:<10} copies     {} found, {right} as {}", of_what.len(), kind.as_str());
    }
    let absent = built.index.find_work(&built.absent, &RetroConfig::default());
    println!("absent work            {} pages reported", absent.len());
    divan::main();
}

/// A new work that has been copied onto stored pages.
#[divan::bench(sample_count = 30)]
fn find_work_copied(bencher: divan::Bencher) {
    let built = &*BUILT;
    let config = RetroConfig::default();
    bencher.bench(|| built.index.find_work(divan::black_box(&built.work), &config));
}

/// A new work found nowhere: the usual case.
#[divan::bench(sample_count = 30)]
fn find_work_absent(bencher: divan::Bencher) {
    let built = &*BUILT;
    let config = RetroConfig::default();
    bencher.bench(|| built.index.find_work(divan::black_box(&built.absent), &config));
}

/// Fingerprinting one page of about 600 tokens: the part a crawler worker does before taking the lock.
#[divan::bench]
fn fingerprint_page(bencher: divan::Bencher) {
    let page = page_text(&LANGUAGE, 123_457, "");
    let config = PageIndexConfig::default().fingerprint;
    bencher.bench(|| PageFingerprint::new(divan::black_box(&page), config));
}

struct Built {
    index: PageIndex,
    work: String,
    absent: String,
    /// Pages that copy the work, and how.
    copies: BTreeMap<u64, &'static str>,
    heap: usize,
    fingerprints: usize,
    tokens: usize,
    fingerprinting: Duration,
    inserting: Duration,
    /// The slowest single insert: one that froze the open segment.
    slowest: Duration,
    threads: usize,
}

static LANGUAGE: LazyLock<Language> = LazyLock::new(Language::new);

static BUILT: LazyLock<Built> = LazyLock::new(|| {
    const CHUNK: u64 = 16_384;
    let pages: u64 = std::env::var("DIVAN_PAGES").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let language = &*LANGUAGE;
    let work_words = language.text(&mut Rng(0x5eed), 1000);
    let work = work_words.chunks(60).map(|p| p.join(" ")).collect::<Vec<_>>().join("\n");
    let absent = language.text(&mut Rng(0xab5e), 1000).join(" ");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut index = PageIndex::new(PageIndexConfig { retention: pages as usize, ..PageIndexConfig::default() });
    let config = index.config().fingerprint;
    let (mut fingerprinting, mut inserting) = (Duration::ZERO, Duration::ZERO);
    let (mut fingerprints, mut tokens) = (0usize, 0usize);
    let mut slowest = Duration::ZERO;
    for chunk in (0..pages).step_by(CHUNK as usize) {
        let end = (chunk + CHUNK).min(pages);
        let started = Instant::now();
        let per_thread = (end - chunk).div_ceil(threads as u64);
        let batch: Vec<PageFingerprint> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let from = (chunk + t * per_thread).min(end);
                    let to = (chunk + (t + 1) * per_thread).min(end);
                    let work_words = &work_words;
                    scope.spawn(move || {
                        (from..to)
                            .map(|key| {
                                PageFingerprint::new(&page_text(language, key, &planted(key, work_words)), config)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        });
        fingerprinting += started.elapsed();
        let started = Instant::now();
        for (key, fingerprint) in (chunk..end).zip(&batch) {
            let one = Instant::now();
            fingerprints += fingerprint.len();
            tokens += fingerprint.tokens() as usize;
            if index.insert(PageKey(key), fingerprint).is_err() {
                unreachable!("fingerprints are cut with the index's own parameters");
            }
            slowest = slowest.max(one.elapsed());
        }
        inserting += started.elapsed();
    }
    let copies = (0..pages).filter(|key| key % COPY_EVERY == 7).map(|key| (key, copy_kind(key))).collect();
    let heap = index.heap_bytes();
    Built { index, work, absent, copies, heap, fingerprints, tokens, fingerprinting, inserting, slowest, threads }
});

/// How page `key` copies the work.
fn copy_kind(key: u64) -> &'static str {
    match (key / COPY_EVERY) % 3 {
        0 => "whole",
        1 => "300 words",
        _ => "120 words",
    }
}

/// The passage of the work planted on page `key`: empty for all but one page in `COPY_EVERY`.
fn planted(key: u64, work: &[&str]) -> String {
    if key % COPY_EVERY != 7 {
        return String::new();
    }
    let start = (mix64(key) % 600) as usize;
    match copy_kind(key) {
        "whole" => work.join(" "),
        "300 words" => work[start..start + 300].join(" "),
        _ => work[start..start + 120].join(" "),
    }
}

/// Page `key`: its site's header, 440 to 640 words of body (with `copied` in the middle) and the footer.
fn page_text(language: &Language, key: u64, copied: &str) -> String {
    let site = mix64(key ^ 0x517e) % SITES;
    let mut site_rng = Rng(site.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let header = language.text(&mut site_rng, 25);
    let footer = language.text(&mut site_rng, 35);
    let mut rng = Rng(key.wrapping_add(1) << 20);
    let body_words = 440 + (rng.next() % 200) as usize;
    let body = language.text(&mut rng, body_words);
    let (first, second) = body.split_at(body_words / 2);
    let mut page = String::with_capacity(6 * (body_words + 60) + copied.len());
    push_line(&mut page, &header);
    push_line(&mut page, first);
    if !copied.is_empty() {
        page.push_str(copied);
        page.push('\n');
    }
    push_line(&mut page, second);
    push_line(&mut page, &footer);
    page
}

fn push_line(page: &mut String, words: &[&str]) {
    for word in words {
        page.push_str(word);
        page.push(' ');
    }
    page.push('\n');
}

/// splitmix64: fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
}

/// A vocabulary of pseudo-words and a table that draws them with Zipf frequencies in O(1).
struct Language {
    words: Vec<String>,
    zipf: Vec<u32>,
}

impl Language {
    fn new() -> Self {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "an", "el", "or", "us", "ve", "di", "gra", "th", "st",
            "ce", "bu", "fo", "ma", "le", "in", "on",
        ];
        let words = (0..VOCABULARY)
            .map(|i| {
                let mut n = i + 1;
                let mut word = String::new();
                while n > 0 {
                    word.push_str(SYLLABLES[n % SYLLABLES.len()]);
                    n /= SYLLABLES.len();
                }
                word
            })
            .collect();
        // Slot s of the table holds the word whose cumulative Zipf probability first reaches s / slots.
        let total: f64 = (1..=VOCABULARY).map(|r| 1.0 / r as f64).sum();
        let slots = 1usize << ZIPF_BITS;
        let mut zipf = Vec::with_capacity(slots);
        let mut cumulative = 0.0;
        for rank in 0..VOCABULARY {
            cumulative += 1.0 / (rank + 1) as f64 / total;
            let until = ((cumulative * slots as f64).round() as usize).min(slots);
            while zipf.len() < until {
                zipf.push(rank as u32);
            }
        }
        zipf.resize(slots, VOCABULARY as u32 - 1);
        Self { words, zipf }
    }

    fn text<'a>(&'a self, rng: &mut Rng, n: usize) -> Vec<&'a str> {
        (0..n).map(|_| self.words[self.zipf[(rng.next() >> (64 - ZIPF_BITS)) as usize] as usize].as_str()).collect()
    }
}
