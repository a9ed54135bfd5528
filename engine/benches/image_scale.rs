//! The image matcher at scale (divan, issue 15): the fixture queries against 10,000, 100,000 and
//! 1,000,000 registered images, with what the matcher keeps per image, how long its snapshot takes to
//! load, and whether recall holds as the index grows.
//!
//! Registered images are the 26 fixture originals (ids 0..26, in file-name order, as `seal eval image`
//! numbers them) and synthetic ones up to the size asked for. A synthetic image is made from the
//! originals' decoded luminance planes, deterministically (splitmix64, fixed seed): an original turned by
//! 15-75 degrees plus a quarter turn (the largest upright frame it covers), a crop keeping 60-100% of each
//! side of that frame at a random offset, blended (weight 0.2-0.5) with another original turned the same
//! way and resampled to the crop's size, brightness ±25 and contrast 0.75-1.25, gaussian-ish noise (σ up
//! to 8 grey levels) and a mirror half the time. The turn is what keeps a synthetic image from being a
//! copy of a fixture original (an upright crop is one, and the region signal finds it: see
//! `off_axis_degrees`); the rest spreads PDQ hashes as real photos' are (the summary prints
//! how far). Synthesis and fingerprinting run on all cores, registration (`register_bulk`) on one, then
//! `optimize()`.
//!
//! Measured once per size, before any timing, and printed as a table:
//! - memory: live heap bytes after building the matcher minus before, per registered image, counted by
//!   a global allocator that tallies every allocation (`stats_alloc`: the workspace forbids unsafe code,
//!   so the `GlobalAlloc` impl comes from that crate); the same for the matcher loading returns, and
//!   `heap_bytes()` (whole-image indexes, region index) as the matcher reports them;
//! - startup: `write_to` streams the snapshot to a cache file, and mapping it (tantivy's
//!   `MmapDirectory`, as the monitor maps `image.snap`) plus `ImageMatcher::from_shared_deferred` is
//!   timed (file to a matcher that answers queries, the file in the page cache, as the monitor opens
//!   it), then apart the full check that load leaves to run beside it (`SnapshotCheck::run`: checksum,
//!   every window; `snapshot_load` times both from a cold disk); the region windows are read in
//!   place, so the memory report gives the mapped bytes beside the heap. With `IMAGE_SCALE_STREAMED=1`
//!   `ImageMatcher::read_from` (the file streamed into owned memory) is timed too, before;
//! - recall: every query of `fixtures/images/queries` against the loaded matcher, scored on
//!   `truth.json` as `seal eval image` does (the best hit must name the original), plus whether the
//!   original is among the hits at all and how many hits name synthetic images;
//! - query time: the mean of one pass over every query, and end to end (e2e) with the mean time to
//!   decode and fingerprint a query on one thread added (measured once, it does not depend on the
//!   index), each also as a ratio to the first size run.
//!
//! Divan then times `query` alone, one precomputed query fingerprint per iteration, cycling through
//! the fixture queries (decoding and fingerprinting the query are not timed).
//!
//! `IMAGE_SCALE_REPLICAS=R` (default 1) synthesizes only every R-th image and registers R - 1 copies
//! of it under the ids after it, each copy's window hashes with 6 of their 63 bits flipped at random
//! and its PDQ hashes with 24 of 256: a matcher of the full size in a tenth of the fingerprinting
//! time at R = 10, with the same columns, tables and thumbnails per work as distinct images would
//! give. It stands in for them on memory and startup only: copies crowd each other's buckets and
//! votes, so its recall and query times are not those of distinct images. Its cache file names R.
//!
//! `IMAGE_SCALE_FLIPS=K` sets `RegionConfig::flips_per_chunk` for the queries (the snapshot does not
//! depend on it), which is how that setting's table was measured.
//!
//! Fingerprinting a million images takes hours, so each size's snapshot is cached in
//! `$CARGO_TARGET_DIR/../bench-cache/image-scale-{N}.snap` (`~/.cache/copyright-seal/bench-cache` without
//! an absolute `CARGO_TARGET_DIR`) and reused whenever `read_from` accepts it with the current config.
//! The snapshot checks fingerprint parameters, not the synthesis below or the fingerprinting code:
//! delete the cache after changing either.
//!
//! Run: `CARGO_TARGET_DIR=/root/.cache/copyright-seal/bench-target cargo bench -p seal-engine --bench
//! image_scale` (set `DIVAN_IMAGES=10000,100000` for smaller sizes; the default adds 1,000,000).

use seal_engine::image::{
    decode_luma, fingerprint_original, fingerprint_query, Decoded, Format, ImageConfig, ImageMatcher, Luma,
    OriginalFingerprint, PdqHash, QueryFingerprint, SNAPSHOT_VERSION,
};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const DEFAULT_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const SEED: u64 = 0x5ca1_e1ab_5eed_0015;
/// Images synthesized between two registration runs: large enough to keep every core busy, small
/// enough that the fingerprints waiting to be registered (tens of KB each with their windows) stay
/// far below the matcher itself.
const CHUNK: usize = 4_096;
const PROGRESS_EVERY: usize = 50_000;
/// Tries per synthetic id before giving up on it: a draw can come out too flat for PDQ's quality bar.
const ATTEMPTS: u64 = 8;
/// Synthetic hashes kept to show how far apart the synthesis puts them.
const SPREAD_SAMPLE: usize = 2_000;
/// Shorter side of a synthetic image, at least (see `synthesize`).
const MIN_SHORT_SIDE: f32 = 320.0;

fn main() {
    let fixtures = &*FIXTURES;
    println!(
        "fixtures: {} originals registered as ids 0..{}, {} query fingerprints ({} unreadable), {} threads",
        fixtures.originals.iter().filter(|o| o.is_some()).count(),
        fixtures.originals.len(),
        fixtures.queries.len(),
        fixtures.unreadable_queries,
        fixtures.threads,
    );
    let mut rows = Vec::new();
    for size in sizes() {
        let mut slot = SLOT.lock().unwrap_or_else(PoisonError::into_inner);
        // Free the previous size first: two large matchers need not fit in memory together.
        *slot = None;
        let (matcher, mut row) = obtain(size);
        row.eval = Some(evaluate(&matcher));
        print_details(&row);
        *slot = Some((size, matcher));
        rows.push(row);
    }
    print_table(&rows);
    divan::main();
}

/// One query per iteration, cycling through every fixture query, against `size` registered images.
#[divan::bench(args = sizes(), sample_count = 736, sample_size = 1)]
fn query_all_fixture_queries(bencher: divan::Bencher, size: usize) {
    let queries = &FIXTURES.queries;
    let slot = matcher_for(size);
    let Some((_, matcher)) = slot.as_ref() else { unreachable!("matcher_for fills the slot") };
    let next = AtomicUsize::new(0);
    bencher.bench(|| {
        let query = &queries[next.fetch_add(1, Ordering::Relaxed) % queries.len()];
        matcher.query(divan::black_box(&query.fingerprint))
    });
}

/// The sizes to run: `DIVAN_IMAGES` (comma-separated) or 10k, 100k and 1M.
fn sizes() -> Vec<usize> {
    let asked: Vec<usize> = std::env::var("DIVAN_IMAGES")
        .map(|v| v.split(',').filter_map(|n| n.trim().replace('_', "").parse().ok()).collect())
        .unwrap_or_default();
    if asked.is_empty() {
        DEFAULT_SIZES.to_vec()
    } else {
        asked
    }
}

/// The fixture corpus, decoded and fingerprinted once.
struct Fixtures {
    config: ImageConfig,
    /// Decoded originals, in file-name order: id = index.
    planes: Vec<Luma>,
    /// Their fingerprints (`None` for one PDQ refuses; none of the fixtures is).
    originals: Vec<Option<OriginalFingerprint>>,
    queries: Vec<Query>,
    unreadable_queries: usize,
    threads: usize,
    /// Mean time to decode and fingerprint one query on one thread: the part of a query's cost that
    /// does not depend on the index, added to `query` for the end-to-end figures.
    front: Duration,
}

struct Query {
    /// What `truth.json` calls its transform.
    kind: String,
    /// The id of the original it copies, if any.
    expected: Option<u32>,
    fingerprint: QueryFingerprint,
}

static FIXTURES: LazyLock<Fixtures> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images");
    let mut config = ImageConfig::default();
    if let Some(flips) = std::env::var("IMAGE_SCALE_FLIPS").ok().and_then(|v| v.trim().parse().ok()) {
        config.region.flips_per_chunk = flips;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let truth: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("truth.json")).expect("fixtures/images/truth.json is in the repository"),
    )
    .expect("truth.json is JSON");
    let originals = files(&root.join("originals"));
    let names: Vec<&str> = originals.iter().map(|(name, _)| name.as_str()).collect();
    let planes: Vec<Luma> = originals
        .iter()
        .map(|(name, bytes)| {
            decode_luma(bytes, &config.limits, config.decode_min_side)
                .unwrap_or_else(|e| panic!("fixture original {name} decodes: {e}"))
                .luma
        })
        .collect();
    let fingerprints =
        planes.iter().map(|luma| fingerprint_original(&as_decoded(luma.clone()), &config).ok()).collect();
    let queries = files(&root.join("queries"));
    let fingerprinted = parallel_map(&queries, threads, |(name, bytes)| {
        let decoded = decode_luma(bytes, &config.limits, config.decode_min_side).ok()?;
        let entry = truth.get(name);
        let original = entry.and_then(|e| e.get("original")).and_then(|o| o.as_str());
        Some(Query {
            kind: entry.and_then(|e| e.get("transform")).and_then(|k| k.as_str()).unwrap_or("unlabelled").to_string(),
            expected: original.and_then(|o| names.iter().position(|n| *n == o)).map(|id| id as u32),
            fingerprint: fingerprint_query(&decoded, &config),
        })
    });
    let unreadable_queries = fingerprinted.iter().filter(|q| q.is_none()).count();
    let started = Instant::now();
    for (_, bytes) in &queries {
        if let Ok(decoded) = decode_luma(bytes, &config.limits, config.decode_min_side) {
            divan::black_box(fingerprint_query(&decoded, &config));
        }
    }
    let front = started.elapsed() / queries.len().max(1) as u32;
    let queries: Vec<Query> = fingerprinted.into_iter().flatten().collect();
    assert!(!queries.is_empty(), "fixtures/images/queries holds queries");
    Fixtures { config, planes, originals: fingerprints, queries, unreadable_queries, threads, front }
});

/// The files of `dir` with their bytes, sorted by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read(&path).ok()?))
        })
        .collect();
    out.sort();
    out
}

/// A plane as the decoder would have returned it (the format only matters for reporting).
fn as_decoded(luma: Luma) -> Decoded {
    Decoded { format: Format::Jpeg, source_width: luma.width as u32, source_height: luma.height as u32, luma }
}

/// `f` over `items` on `threads` scoped threads, in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let per_thread = items.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a worker thread panicked")).collect()
    })
}

/// The matcher of the size being benchmarked; one size at a time, for the memory's sake.
static SLOT: Mutex<Option<(usize, ImageMatcher)>> = Mutex::new(None);

fn matcher_for(size: usize) -> MutexGuard<'static, Option<(usize, ImageMatcher)>> {
    let mut slot = SLOT.lock().unwrap_or_else(PoisonError::into_inner);
    if slot.as_ref().map(|(n, _)| *n) != Some(size) {
        *slot = None;
        let (matcher, _) = obtain(size);
        *slot = Some((size, matcher));
    }
    slot
}

/// What one size measured.
struct Row {
    size: usize,
    works: usize,
    /// `None` when the snapshot came from the cache.
    built: Option<Build>,
    snapshot_bytes: usize,
    /// Mapping the cache file and `from_shared_deferred` on it.
    startup: Duration,
    /// The check that load deferred, run after it.
    check: Duration,
    /// `read_from` on the cache file, when asked for.
    streamed: Option<Duration>,
    /// Bytes the loaded matcher reads in place from the mapping.
    mapped: usize,
    /// Live heap bytes that loading added.
    live_loaded: i64,
    heap: (usize, usize),
    regions: usize,
    eval: Option<Eval>,
}

struct Build {
    /// Synthesis and fingerprinting, on all cores.
    fingerprinting: Duration,
    registering: Duration,
    optimizing: Duration,
    /// Live heap bytes that building added (the matcher and nothing else: every buffer is gone by then).
    live: i64,
    /// Synthetic ids left out because every attempt came out too flat to fingerprint.
    skipped: usize,
    spread: Vec<(usize, PdqHash)>,
}

fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    // Reallocations are already split into bytes_allocated and bytes_deallocated.
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

fn cache_path(size: usize) -> PathBuf {
    let dir = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(target) if target.is_absolute() => target.parent().map_or(target.clone(), Path::to_path_buf),
        // A relative target dir would put the cache inside the work tree.
        _ => {
            std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from).join(".cache/copyright-seal")
        }
    };
    let suffix = match replicas() {
        1 => String::new(),
        r => format!("-r{r}"),
    };
    dir.join("bench-cache").join(format!("image-scale-{size}{suffix}.snap"))
}

/// `IMAGE_SCALE_REPLICAS` (see the file's doc), at least 1.
fn replicas() -> u32 {
    std::env::var("IMAGE_SCALE_REPLICAS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(1).max(1)
}

/// Bits flipped in each hash of a replica (see the file's doc).
const REPLICA_WINDOW_FLIPS: usize = 6;
const REPLICA_PDQ_FLIPS: usize = 24;

/// `fingerprint` with every hash perturbed, deterministically for `id`: a replica's fingerprint.
fn replica(fingerprint: &OriginalFingerprint, id: u32) -> OriginalFingerprint {
    let mut rng = Rng::new(SEED ^ 0x7265_706c_6963_6100 ^ u64::from(id));
    let mut flips = |bits: usize, n: usize| {
        let mut mask = vec![0u64; bits.div_ceil(64)];
        let mut set = 0;
        while set < n {
            let bit = rng.below(bits);
            if mask[bit / 64] & (1 << (bit % 64)) == 0 {
                mask[bit / 64] |= 1 << (bit % 64);
                set += 1;
            }
        }
        mask
    };
    let mut copy = fingerprint.clone();
    let mut pdq = |hash: &mut PdqHash| {
        for (word, m) in hash.0.iter_mut().zip(flips(256, REPLICA_PDQ_FLIPS)) {
            *word ^= m;
        }
    };
    pdq(&mut copy.pdq);
    pdq(&mut copy.core);
    for (_, hash) in &mut copy.turned {
        pdq(hash);
    }
    for (hash, _) in &mut copy.regions {
        hash.0 ^= flips(63, REPLICA_WINDOW_FLIPS)[0];
    }
    copy
}

/// The matcher of `size` images: from the cache when its snapshot loads, else built and cached. The
/// matcher returned is always the one loading the cache file made, so that cached and fresh runs query
/// the same thing and startup is timed either way: the file (in the page cache when it was just written
/// or read before) mapped and read in place, as the monitor starts.
fn obtain(size: usize) -> (ImageMatcher, Row) {
    let config = &FIXTURES.config;
    let path = cache_path(size);
    let mut built = None;
    let streamed = std::env::var_os("IMAGE_SCALE_STREAMED").is_some_and(|v| v == "1");
    let streamed = streamed.then(|| streamed_load(&path, config)).flatten();
    let mut loaded = load(&path, config).map_err(|e| eprintln!("image_scale: {} does not load ({e})", path.display()));
    if let Ok(Loaded { matcher, .. }) = &loaded {
        if snapshot_version(&path) != Some(SNAPSHOT_VERSION) {
            // An older snapshot version: it loaded (copied, or its tables rebuilt). Rewrite it.
            eprintln!("image_scale: rewriting {} in the current snapshot version", path.display());
            write_cache(matcher, &path);
            loaded = load(&path, config).map_err(|e| panic!("a snapshot just rewritten loads: {e}"));
        }
    }
    if loaded.is_err() {
        let mut spread = Vec::with_capacity(SPREAD_SAMPLE);
        let before = live_bytes();
        let (matcher, mut build) = build(size, &mut spread);
        build.live = live_bytes() - before;
        build.spread = spread;
        write_cache(&matcher, &path);
        drop(matcher);
        loaded = load(&path, config).map_err(|e| panic!("a snapshot the matcher just wrote loads: {e}"));
        built = Some(build);
    }
    let Ok(Loaded { matcher, startup, check, live_loaded, snapshot_bytes }) = loaded else {
        unreachable!("loaded or built above")
    };
    let row = Row {
        size,
        works: matcher.len(),
        built,
        snapshot_bytes,
        startup,
        check,
        streamed,
        mapped: matcher.mapped_bytes(),
        live_loaded,
        heap: matcher.heap_bytes(),
        regions: matcher.region_count(),
        eval: None,
    };
    (matcher, row)
}

/// The version a snapshot file says it is written in (after its 8-byte magic).
fn snapshot_version(path: &Path) -> Option<u32> {
    use std::io::Read;
    let mut head = [0u8; 12];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    Some(u32::from_le_bytes([head[8], head[9], head[10], head[11]]))
}

/// Streams `matcher` to `path` through a temporary name: the matcher and its snapshot need not fit in
/// memory together, and an interrupted write never leaves a truncated cache.
fn write_cache(matcher: &ImageMatcher, path: &Path) {
    let partial = path.with_extension("snap.partial");
    let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
        matcher.write_to(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&partial, path)
    });
    if let Err(e) = written {
        panic!("image_scale: could not write {}: {e}", partial.display());
    }
}

/// A snapshot loaded by [`load`].
struct Loaded {
    matcher: ImageMatcher,
    /// Mapping the file and `from_shared_deferred`.
    startup: Duration,
    /// The deferred check, run after the load.
    check: Duration,
    /// Live heap bytes the load added.
    live_loaded: i64,
    /// The file's size.
    snapshot_bytes: usize,
}

/// Maps the snapshot at `path` and loads it in place as the monitor does, timed, then runs the check
/// that load deferred, timed apart.
fn load(path: &Path, config: &ImageConfig) -> Result<Loaded, String> {
    use tantivy::directory::{Directory, MmapDirectory};
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Err("no directory".into()) };
    let before = live_bytes();
    let started = Instant::now();
    let handle = MmapDirectory::open(dir)
        .map_err(|e| e.to_string())?
        .get_file_handle(Path::new(name))
        .map_err(|e| e.to_string())?;
    let bytes = handle.read_bytes(0..handle.len()).map_err(|e| e.to_string())?;
    let snapshot_bytes = bytes.len();
    let (matcher, pending) =
        ImageMatcher::from_shared_deferred(std::sync::Arc::new(bytes), config.clone()).map_err(|e| e.to_string())?;
    let startup = started.elapsed();
    let live_loaded = live_bytes() - before;
    let checking = Instant::now();
    pending.run().map_err(|e| e.to_string())?;
    Ok(Loaded { matcher, startup, check: checking.elapsed(), live_loaded, snapshot_bytes })
}

/// How long `ImageMatcher::read_from` takes to stream the snapshot at `path` into owned memory (the
/// load before `from_shared`), the matcher dropped before the mapped load; `None` when it fails.
fn streamed_load(path: &Path, config: &ImageConfig) -> Option<Duration> {
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let started = Instant::now();
    let matcher =
        ImageMatcher::read_from(std::io::BufReader::with_capacity(1 << 20, file), len, config.clone()).ok()?;
    let took = started.elapsed();
    drop(matcher);
    Some(took)
}

/// Registers the fixture originals and `size - 26` synthetic images, then optimizes. `spread` (reserved
/// by the caller, so that it is not counted as the matcher's) receives the first synthetic hashes.
fn build(size: usize, spread: &mut Vec<(usize, PdqHash)>) -> (ImageMatcher, Build) {
    let fixtures = &*FIXTURES;
    let config = &fixtures.config;
    let mut matcher = ImageMatcher::new(config.clone());
    for (id, fingerprint) in fixtures.originals.iter().enumerate() {
        if let Some(fingerprint) = fingerprint {
            matcher.register_bulk(id as u32, fingerprint);
        }
    }
    let first = fixtures.originals.len();
    let (mut fingerprinting, mut registering) = (Duration::ZERO, Duration::ZERO);
    let mut skipped = 0;
    let mut next_report = PROGRESS_EVERY;
    let begun = Instant::now();
    let replicas = replicas();
    // The synthesized image an id copies (itself unless replicas are asked for).
    let source = |id: u32| id - (id - first as u32) % replicas;
    for chunk in (first..size).step_by(CHUNK) {
        let ids: Vec<u32> = (chunk..(chunk + CHUNK).min(size)).map(|id| id as u32).collect();
        let mut sources: Vec<u32> = ids.iter().map(|&id| source(id)).collect();
        sources.dedup();
        let started = Instant::now();
        let batch = parallel_map(&sources, fixtures.threads, |&id| synthetic_fingerprint(&fixtures.planes, id, config));
        fingerprinting += started.elapsed();
        let started = Instant::now();
        for &id in &ids {
            let made = sources.binary_search(&source(id)).ok().and_then(|at| batch[at].as_ref());
            let Some((base, fingerprint)) = made else {
                skipped += 1;
                continue;
            };
            if source(id) == id {
                matcher.register_bulk(id, fingerprint);
            } else {
                matcher.register_bulk(id, &replica(fingerprint, id));
            }
            if spread.len() < spread.capacity() {
                spread.push((*base, fingerprint.pdq));
            }
        }
        registering += started.elapsed();
        drop(batch);
        let done = chunk + ids.len();
        if done >= next_report || done == size {
            next_report = done - done % PROGRESS_EVERY + PROGRESS_EVERY;
            let elapsed = begun.elapsed().as_secs_f64();
            let rate = (done - first) as f64 / elapsed.max(1e-9);
            eprintln!(
                "image_scale: {done}/{size} registered, {rate:.0} images/s, {elapsed:.0} s so far, about {:.0} s to go",
                (size - done) as f64 / rate.max(1e-9)
            );
        }
    }
    let started = Instant::now();
    matcher.optimize();
    let optimizing = started.elapsed();
    // `live` and `spread` are the caller's to fill: it measures around this call.
    let build = Build { fingerprinting, registering, optimizing, live: 0, skipped, spread: Vec::new() };
    (matcher, build)
}

/// Synthetic image `id`, fingerprinted, with the original it was cut from; `None` when every attempt
/// came out too flat for PDQ.
fn synthetic_fingerprint(planes: &[Luma], id: u32, config: &ImageConfig) -> Option<(usize, OriginalFingerprint)> {
    (0..ATTEMPTS).find_map(|attempt| {
        let (base, luma) = synthesize(planes, Rng::new(SEED ^ (u64::from(id) << 8) ^ attempt));
        fingerprint_original(&as_decoded(luma), config).ok().map(|fingerprint| (base, fingerprint))
    })
}

/// One synthetic plane from the originals and the original it was cut from (see the file's doc).
fn synthesize(planes: &[Luma], mut rng: Rng) -> (usize, Luma) {
    let base = rng.below(planes.len());
    // Any original but the base, so that the blend always brings in another picture.
    let other = (base + 1 + rng.below(planes.len().max(2) - 1)) % planes.len();
    // Photo proportions, either way up: the fixture originals are mostly 1:2 strips, and the number of
    // windows an image registers grows with its elongation.
    let mut aspect = [1.0, 4.0 / 3.0, 1.5, 16.0 / 9.0][rng.below(4)];
    if rng.next() & 1 == 1 {
        aspect = 1.0 / aspect;
    }
    let own = Turned::new(&planes[base], off_axis_degrees(&mut rng), aspect);
    let crop_w = own.frame_w * rng.uniform(0.6, 1.0);
    let crop_h = own.frame_h * rng.uniform(0.6, 1.0);
    let left = rng.uniform(0.0, own.frame_w - crop_w);
    let top = rng.uniform(0.0, own.frame_h - crop_h);
    let blend = Turned::new(&planes[other], off_axis_degrees(&mut rng), crop_w / crop_h);
    // Registered photos decode to 512 px or more on the short side; at 320 the matcher's 160 px working
    // plane is still a 2x reduction, as for them. Sampling finer than the crop's own pixels only
    // interpolates.
    let zoom = (MIN_SHORT_SIDE / crop_w.min(crop_h)).max(1.0);
    let (width, height) = ((crop_w * zoom).round() as usize, (crop_h * zoom).round() as usize);
    let weight = rng.uniform(0.2, 0.5);
    let contrast = rng.uniform(0.75, 1.25);
    let brightness = rng.uniform(-25.0, 25.0);
    let sigma = rng.uniform(0.0, 8.0);
    let mirror = rng.next() & 1 == 1;
    let (blend_x, blend_y) = (blend.frame_w / width as f32, blend.frame_h / height as f32);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let v = y as f32 + 0.5;
        for x in 0..width {
            let u = if mirror { width - 1 - x } else { x } as f32 + 0.5;
            let mixed = own.sample(left + u / zoom, top + v / zoom) * (1.0 - weight)
                + blend.sample(u * blend_x, v * blend_y) * weight;
            let value = (mixed - 128.0) * contrast + 128.0 + brightness + sigma * rng.gaussian();
            pixels.push(value.clamp(0.0, 255.0));
        }
    }
    (base, Luma { width, height, pixels })
}

/// A turn at least 15 degrees away from any quarter turn. The fixture queries include crops, flips,
/// quarter turns and turns of up to 8 degrees; an upright synthetic crop of an original is itself a
/// copy of it, which the region signal rightly reports (measured: 44 such hits per query at 10,000
/// images, and query time growing with the number of copies, not of images). Turned this far, a
/// synthetic image keeps a photo's statistics but copies no original in any way the matcher knows.
fn off_axis_degrees(rng: &mut Rng) -> f32 {
    rng.below(4) as f32 * 90.0 + rng.uniform(15.0, 75.0)
}

/// A plane seen through a frame turned by some angle about its centre: the largest frame of the given
/// proportions (width / height) that the turned plane covers entirely, so that no corner is empty.
struct Turned<'a> {
    plane: &'a Luma,
    cos: f32,
    sin: f32,
    frame_w: f32,
    frame_h: f32,
}

impl<'a> Turned<'a> {
    fn new(plane: &'a Luma, degrees: f32, aspect: f32) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (w, h) = (plane.width as f32, plane.height as f32);
        let (s, c) = (sin.abs(), cos.abs());
        // A centred (aspect * b) x b frame lies inside the turned w x h plane when its corners do:
        // b (aspect c + s) <= w and b (aspect s + c) <= h.
        let frame_h = (w / (aspect * c + s)).min(h / (aspect * s + c));
        Self { plane, cos, sin, frame_w: aspect * frame_h, frame_h }
    }

    /// The plane's value at (u, v) in frame pixels (origin at the frame's top left).
    fn sample(&self, u: f32, v: f32) -> f32 {
        let (du, dv) = (u - self.frame_w / 2.0, v - self.frame_h / 2.0);
        let x = self.plane.width as f32 / 2.0 + du * self.cos - dv * self.sin;
        let y = self.plane.height as f32 / 2.0 + du * self.sin + dv * self.cos;
        bilinear(self.plane, x - 0.5, y - 0.5)
    }
}

/// Bilinear sample of `plane` at (x, y) in pixel coordinates, clamped to the edges.
fn bilinear(plane: &Luma, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (plane.width - 1) as f32);
    let y = y.clamp(0.0, (plane.height - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(plane.width - 1), (y0 + 1).min(plane.height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = plane.at(x0, y0) + (plane.at(x1, y0) - plane.at(x0, y0)) * fx;
    let bottom = plane.at(x0, y1) + (plane.at(x1, y1) - plane.at(x0, y1)) * fx;
    top + (bottom - top) * fy
}

/// splitmix64: fast, deterministic and good enough to drive image perturbations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(splitmix(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0)
    }

    /// Uniform in `low..high`.
    fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// About N(0, 1): the sum of four 16-bit uniforms from one draw (Irwin-Hall), centred and scaled to
    /// unit variance; cheap enough for every pixel.
    fn gaussian(&mut self) -> f32 {
        let bits = self.next();
        let sum: f32 = (0..4).map(|k| ((bits >> (16 * k)) & 0xffff) as f32 / 65_536.0).sum();
        (sum - 2.0) * 3.0f32.sqrt()
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The fixture queries scored against one matcher.
struct Eval {
    /// Queries that copy a registered original.
    positives: usize,
    /// ... whose best hit names it (what `seal eval image` counts).
    best: usize,
    /// ... that have it among their hits.
    any: usize,
    /// ... whose best hit is a synthetic image while the original is among the hits too.
    outranked: usize,
    /// Queries whose best hit names a fixture original they do not copy (look-alikes and distractors
    /// included).
    wrong: usize,
    hits: usize,
    synthetic_hits: usize,
    /// Hits on synthetic images by the signal that found them.
    synthetic_signals: BTreeMap<&'static str, usize>,
    /// Per transform: (best hit right, queries).
    per_kind: BTreeMap<String, (usize, usize)>,
    /// One pass over every query, after a first pass that scored them.
    pass: Duration,
}

fn evaluate(matcher: &ImageMatcher) -> Eval {
    let fixtures = &*FIXTURES;
    let originals = fixtures.originals.len() as u32;
    let mut eval = Eval {
        positives: 0,
        best: 0,
        any: 0,
        outranked: 0,
        wrong: 0,
        hits: 0,
        synthetic_hits: 0,
        synthetic_signals: BTreeMap::new(),
        per_kind: BTreeMap::new(),
        pass: Duration::ZERO,
    };
    for query in &fixtures.queries {
        let hits = matcher.query(&query.fingerprint);
        eval.hits += hits.len();
        for hit in hits.iter().filter(|h| h.work >= originals) {
            eval.synthetic_hits += 1;
            *eval.synthetic_signals.entry(hit.signal.kind()).or_default() += 1;
        }
        let best = hits.first().map(|h| h.work);
        if let Some(expected) = query.expected {
            eval.positives += 1;
            let kind = eval.per_kind.entry(query.kind.clone()).or_default();
            kind.1 += 1;
            let among = hits.iter().any(|h| h.work == expected);
            eval.any += usize::from(among);
            if best == Some(expected) {
                eval.best += 1;
                kind.0 += 1;
            } else if among && best.is_some_and(|b| b >= originals) {
                eval.outranked += 1;
            }
        }
        if best.is_some_and(|b| b < originals && Some(b) != query.expected) {
            eval.wrong += 1;
        }
    }
    let started = Instant::now();
    for query in &fixtures.queries {
        divan::black_box(matcher.query(&query.fingerprint));
    }
    eval.pass = started.elapsed();
    eval
}

fn per_work(bytes: f64, works: usize) -> f64 {
    bytes / works.max(1) as f64
}

fn print_details(row: &Row) {
    let works = row.works;
    println!("\n== {} registered images ({works} in the matcher)", row.size);
    if replicas() > 1 {
        println!(
            "replicas    {}: every {}th image synthesized, the others perturbed copies of it (a proxy for memory \
             and startup; recall and query times below are not those of distinct images)",
            replicas(),
            replicas()
        );
    }
    match &row.built {
        Some(build) => {
            let synthetic = (row.size.saturating_sub(FIXTURES.originals.len())).max(1);
            println!(
                "build       synthesis + fingerprints {:.1} s on {} threads ({:.2} ms per image per thread), \
                 register {:.1} s, optimize {:.2} s, {} ids skipped as too flat",
                build.fingerprinting.as_secs_f64(),
                FIXTURES.threads,
                build.fingerprinting.as_secs_f64() * 1e3 * FIXTURES.threads as f64 / synthetic as f64,
                build.registering.as_secs_f64(),
                build.optimizing.as_secs_f64(),
                build.skipped,
            );
            println!(
                "memory      built matcher: {:.0} live bytes per image ({:.2} GiB)",
                per_work(build.live as f64, works),
                build.live as f64 / f64::from(1 << 30)
            );
            print_spread(&build.spread);
        }
        None => println!("build       loaded from {}", cache_path(row.size).display()),
    }
    println!(
        "memory      loaded matcher: {:.0} live bytes per image; heap_bytes {:.0} whole + {:.0} region per image; \
         {:.1} region windows per image",
        per_work(row.live_loaded as f64, works),
        per_work(row.heap.0 as f64, works),
        per_work(row.heap.1 as f64, works),
        per_work(row.regions as f64, works),
    );
    println!(
        "startup     snapshot {:.0} bytes per image ({:.2} GiB), mapped + from_shared_deferred {:.2} s, then its \
         check {:.2} s ({:.0} bytes per image read in place){}",
        per_work(row.snapshot_bytes as f64, works),
        row.snapshot_bytes as f64 / f64::from(1 << 30),
        row.startup.as_secs_f64(),
        row.check.as_secs_f64(),
        per_work(row.mapped as f64, works),
        row.streamed.map_or(String::new(), |d| format!("; read_from (streamed into memory) {:.2} s", d.as_secs_f64())),
    );
    if let Some(eval) = &row.eval {
        let queries = FIXTURES.queries.len();
        println!(
            "recall      best hit right {}/{} ({:.3}), original among hits {}/{} ({:.3}); {} outranked by a synthetic \
             image; {} best hits on the wrong fixture original",
            eval.best,
            eval.positives,
            ratio(eval.best, eval.positives),
            eval.any,
            eval.positives,
            ratio(eval.any, eval.positives),
            eval.outranked,
            eval.wrong,
        );
        println!(
            "hits        {:.2} per query, {:.2} of them synthetic images (by signal: {:?})",
            eval.hits as f64 / queries as f64,
            eval.synthetic_hits as f64 / queries as f64,
            eval.synthetic_signals,
        );
        let kinds: Vec<String> =
            eval.per_kind.iter().map(|(kind, &(found, n))| format!("{kind} {found}/{n}")).collect();
        println!("per kind    {}", kinds.join(", "));
        println!(
            "query       {:.3} ms mean over one pass of {queries} queries ({:.0} queries/s)",
            eval.pass.as_secs_f64() * 1e3 / queries as f64,
            queries as f64 / eval.pass.as_secs_f64().max(1e-9)
        );
    }
}

/// How far the synthesis puts PDQ hashes: from the original each image was cut from, from the nearest
/// fixture original, and between consecutive synthetic images (unrelated photos sit near 128 of 256;
/// a match is 31 or less).
fn print_spread(spread: &[(usize, PdqHash)]) {
    let originals: Vec<PdqHash> = FIXTURES.originals.iter().flatten().map(|o| o.pdq).collect();
    if spread.is_empty() {
        return;
    }
    let base: Vec<u32> =
        spread.iter().filter_map(|(b, h)| FIXTURES.originals[*b].as_ref().map(|o| o.pdq.distance(h))).collect();
    let nearest: Vec<u32> =
        spread.iter().map(|(_, h)| originals.iter().map(|o| o.distance(h)).min().unwrap_or(256)).collect();
    let pairs: Vec<u32> = spread.windows(2).map(|w| w[0].1.distance(&w[1].1)).collect();
    let radius = FIXTURES.config.pdq_max_distance;
    let describe = |name: &str, mut d: Vec<u32>| {
        d.sort_unstable();
        let within = d.iter().filter(|&&x| x <= radius).count();
        let at = |q: f64| d.get(((d.len() - 1) as f64 * q) as usize).copied().unwrap_or(0);
        format!(
            "{name}: min {} p10 {} median {} p90 {}, {within}/{} within {radius}",
            at(0.0),
            at(0.1),
            at(0.5),
            at(0.9),
            d.len()
        )
    };
    println!(
        "spread      PDQ distances of {} synthetic images: {}; {}; {}",
        spread.len(),
        describe("to their base", base),
        describe("to the nearest original", nearest),
        describe("consecutive pairs", pairs)
    );
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:>9} {:>9} {:>14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8}",
        "images",
        "works",
        "build s",
        "live B/img",
        "load B/img",
        "whole B",
        "region B",
        "mapped B",
        "snap B/img",
        "startup",
        "recall",
        "in hits",
        "query ms",
        "e2e ms",
        "query x",
        "e2e x"
    );
    let mean_query = |row: &Row| row.eval.as_ref().map(|e| e.pass.as_secs_f64() * 1e3 / FIXTURES.queries.len() as f64);
    let front = FIXTURES.front.as_secs_f64() * 1e3;
    let first = rows.first().and_then(mean_query);
    for row in rows {
        let works = row.works;
        let build = match &row.built {
            Some(b) => format!("built {:.1}", (b.fingerprinting + b.registering + b.optimizing).as_secs_f64()),
            None => "cached".to_string(),
        };
        let live = row.built.as_ref().map_or("-".to_string(), |b| format!("{:.0}", per_work(b.live as f64, works)));
        let (recall, any, query) = row.eval.as_ref().map_or(("-".into(), "-".into(), "-".into()), |e| {
            (
                format!("{:.3}", ratio(e.best, e.positives)),
                format!("{:.3}", ratio(e.any, e.positives)),
                format!("{:.3}", e.pass.as_secs_f64() * 1e3 / FIXTURES.queries.len() as f64),
            )
        });
        println!(
            "{:>9} {:>9} {:>14} {:>10} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>9.2}s {:>8} {:>8} {:>9} {:>8} \
             {:>8} {:>8}",
            row.size,
            works,
            build,
            live,
            per_work(row.live_loaded as f64, works),
            per_work(row.heap.0 as f64, works),
            per_work(row.heap.1 as f64, works),
            per_work(row.mapped as f64, works),
            per_work(row.snapshot_bytes as f64, works),
            row.startup.as_secs_f64(),
            recall,
            any,
            query,
            mean_query(row).map_or("-".into(), |q| format!("{:.2}", front + q)),
            mean_query(row).zip(first).map_or("-".into(), |(q, f)| format!("{:.2}", q / f)),
            mean_query(row).zip(first).map_or("-".into(), |(q, f)| format!("{:.2}", (front + q) / (front + f))),
        );
    }
    println!(
        "(live: counted heap bytes the build added; load: those loading added; mapped: read in place from the \
         mapped snapshot (mapped_bytes()); startup: mapping the file + from_shared_deferred; whole/region: heap_bytes(); \
         recall: best hit names the original; in hits: the original is among the hits; query: mean of one pass; \
         e2e: that plus decoding and fingerprinting a query ({front:.2} ms, one thread); x: against the first size)"
    );
    let _ = std::io::stdout().flush();
}
