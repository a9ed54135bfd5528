//! What the end-to-end monitoring benches (`crawl.rs`, `ingest.rs`) share: deterministic synthetic
//! works and pages, a data directory with N registered works cached under the target directory (built
//! once, copied fresh for every timed run so runs never see each other's pages and hits), and readings
//! of the process's CPU time, peak RSS and the machine's load.
//!
//! Works are ~150 words drawn from a fixed 5,000-word synthetic vocabulary, as in `benches/monitor.rs`.
//! Pages are built from the same vocabulary; one page in ten copies a registered work whole and one in
//! ten quotes a 60-word excerpt of one, the rest match nothing.

#![allow(dead_code)]

use seal_api::domain::ContentKind;
use seal_api::services::import::{ensure_owner, DataDir};
use seal_api::services::registration::{register_batch, NewItem, NewWork};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

/// A fixed "now" for registration and hits.
pub fn now() -> Timestamp {
    Timestamp::from_unix_ms(1_795_000_000_000)
}

/// An environment variable parsed, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64: cheap, deterministic.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The 5,000-word vocabulary of `benches/monitor.rs`.
pub fn vocabulary() -> &'static Vec<String> {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = 3 + (state % 8) as usize;
                (0..len).map(|i| char::from(b'a' + ((state >> (i * 5)) % 26) as u8)).collect()
            })
            .collect()
    })
}

/// Work `n`'s text: 150 words (the body `benches/monitor.rs` registers).
pub fn work_text(n: u64) -> String {
    let words = vocabulary();
    let mut state = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = String::with_capacity(1200);
    for _ in 0..150 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(&words[(state % words.len() as u64) as usize]);
        out.push(' ');
    }
    out
}

/// Appends `count` random words as sentences.
pub fn push_words(out: &mut String, rng: &mut Rng, count: usize) {
    let words = vocabulary();
    for i in 0..count {
        let w = &words[rng.below(words.len() as u64) as usize];
        if i % 14 == 0 {
            let mut chars = w.chars();
            if let Some(c) = chars.next() {
                out.push(c.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(w);
        }
        out.push_str(if i % 14 == 13 { ". " } else { " " });
    }
}

/// What page `i` carries of the registered works: `Some((work, whole))`.
pub fn copied_work(i: u64, works: u64) -> Option<(u64, bool)> {
    match i % 10 {
        3 => Some(((i / 10).wrapping_mul(7919) % works.max(1), true)),
        7 => Some(((i / 10).wrapping_mul(104_729) % works.max(1), false)),
        _ => None,
    }
}

/// The paragraphs of page `i`: about `text_bytes` of text, with a copy or an excerpt of a work for
/// the pages [`copied_work`] names.
pub fn page_paragraphs(out: &mut String, rng: &mut Rng, i: u64, works: u64, text_bytes: usize) {
    let start = out.len();
    let copy_at = rng.below(4);
    let mut paragraph = 0;
    while out.len() - start < text_bytes {
        out.push_str("<p>");
        if paragraph == copy_at {
            if let Some((work, whole)) = copied_work(i, works) {
                let text = work_text(work);
                if whole {
                    out.push_str(&text);
                } else {
                    let excerpt: Vec<&str> = text.split(' ').skip(40).take(60).collect();
                    out.push_str("As the author put it, \u{201c}");
                    out.push_str(&excerpt.join(" "));
                    out.push_str("\u{201d} ");
                }
                out.push_str("</p>\n<p>");
            }
        }
        let n = 40 + rng.below(80) as usize;
        push_words(out, rng, n);
        out.push_str("</p>\n");
        paragraph += 1;
    }
}

/// Registers works `0..n` to one holder in `dir` as `seal works import` does: batches of 1,000 (one
/// content flush, one SQLite transaction, one log fsync each), snapshots deferred to one at the end.
pub fn register_works(dir: &Path, n: u64) {
    let mut data = DataDir::open(dir).expect("open data dir");
    let (holder, _) = ensure_owner(&mut data.store, "rh-bench", None).expect("owner");
    let owner: PartyId = holder.id.clone();
    data.monitor.defer_checkpoints();
    let mut next = 0;
    while next < n {
        let batch: Vec<NewWork> = (next..(next + 1000).min(n))
            .map(|i| NewWork {
                owner: owner.clone(),
                channel: None,
                title: format!("Work {i}"),
                author: holder.name.clone(),
                source_url: None,
                items: vec![NewItem {
                    kind: ContentKind::Text,
                    bytes: work_text(i).into_bytes(),
                    file: None,
                    source: None,
                }],
            })
            .collect();
        next += batch.len() as u64;
        let results = register_batch(&mut data.store, &data.content, &mut data.monitor, batch, now()).expect("batch");
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.new)));
    }
    data.monitor.checkpoint().expect("checkpoint");
}

/// A data directory with works `0..n` registered, built once under the target directory (not timed)
/// and reused by later runs.
pub fn works_dir(n: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("seal-bench-works-{n}"));
    let ready = dir.join("bench-ready");
    if ready.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    eprintln!("registering {n} works in {} (once; cached) ...", dir.display());
    register_works(&dir, n);
    std::fs::write(&ready, b"ok").expect("marker");
    eprintln!("  registered in {:.1} s", started.elapsed().as_secs_f64());
    dir
}

/// The retroactive-matching page index to feed, or none with `SEAL_BENCH_NO_PAGE_INDEX=1` (to tell
/// its memory and time apart from the rest of the pipeline's).
pub fn page_index(pages: &seal_api::monitor::pages::PageStore) -> Option<&seal_api::monitor::pages::PageStore> {
    (env_or("SEAL_BENCH_NO_PAGE_INDEX", 0u8) == 0).then_some(pages)
}

/// A fresh copy of `src` for one run (`cp -a`, not timed).
pub fn fresh_copy(src: &Path, tag: &str) -> PathBuf {
    let dst = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("seal-bench-run-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    let status = std::process::Command::new("cp").arg("-a").arg(src).arg(&dst).status().expect("cp");
    assert!(status.success(), "copying {}", src.display());
    dst
}

/// A value of `/proc/self/status` in KiB (`VmHWM`: peak RSS, `VmRSS`: current).
pub fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0: writing 5 to `clear_refs`), so a peak can be
/// taken over one phase. Returns whether it worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// This process's CPU time (user + system) in seconds, from `/proc/self/stat` (USER_HZ = 100).
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Megabytes of KiB.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// `out` with `s` HTML-escaped (only what the generators can produce needs it).
pub fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

/// A `format!` into an existing string.
pub fn push_fmt(out: &mut String, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}
