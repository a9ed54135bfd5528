//! `seal eval image`: registers a folder of original images, matches a folder of query images and
//! reports accuracy and speed in the contract shared with `seal eval text`, plus image extras:
//! decode and hash+match throughput apart, and the recall PDQ alone (whole image and its flips) gets.
//! `images_per_s` (and `pages_per_s`) count wall-clock time on every core; `images_per_s_per_core`,
//! `decode_images_per_s` and `hash_match_images_per_s` sum each image's own time, so they are per core.

use super::eval::{list_files, load_truth, print_accuracy, progress, read_all, EvalArgs, Tally};
use anyhow::Result;
use rayon::prelude::*;
use seal_engine::image::{
    decode_luma, fingerprint_original, fingerprint_query, ImageConfig, ImageMatcher, QueryFingerprint, Signal,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One query's outcome, computed on any core.
struct Outcome {
    decode: Duration,
    hash_match: Duration,
    /// The best hit's work and signal kind.
    best: Option<(u32, &'static str)>,
    /// The best hit of PDQ alone (whole image and its flips).
    pdq_best: Option<u32>,
    error: Option<String>,
}

/// Decodes, fingerprints and matches one query (timed), then asks PDQ alone (not timed).
fn run_query(matcher: &ImageMatcher, config: &ImageConfig, bytes: &[u8]) -> Outcome {
    let t0 = Instant::now();
    let decoded = decode_luma(bytes, &config.limits, config.decode_min_side);
    let t1 = Instant::now();
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(error) => {
            return Outcome {
                decode: t1 - t0,
                hash_match: Duration::ZERO,
                best: None,
                pdq_best: None,
                error: Some(error.to_string()),
            }
        }
    };
    let fingerprint = fingerprint_query(&decoded, config);
    let hits = matcher.query(&fingerprint);
    let hash_match = t1.elapsed();
    // PDQ alone: the whole image and its seven flips and turns, nothing else.
    let pdq_fingerprint = QueryFingerprint { core: None, centred: Vec::new(), windows: Vec::new(), ..fingerprint };
    let pdq_best = matcher
        .query(&pdq_fingerprint)
        .iter()
        .find(|h| matches!(h.signal, Signal::Whole | Signal::Flipped(_)))
        .map(|h| h.work);
    Outcome {
        decode: t1 - t0,
        hash_match,
        best: hits.first().map(|h| (h.work, h.signal.kind())),
        pdq_best,
        error: None,
    }
}

/// Runs the image evaluation. Originals are fingerprinted and queries matched on every core (rayon;
/// `RAYON_NUM_THREADS` caps it); the per-stage rates are per core, summed over each image's own time.
pub fn run(args: &EvalArgs) -> Result<()> {
    let started = Instant::now();
    let truth = load_truth(&args.truth)?;
    let originals = read_all(&list_files(&args.originals)?)?;
    let queries = read_all(&list_files(&args.queries)?)?;
    let config = ImageConfig::default();

    let bar = progress(originals.len(), "register");
    let fingerprints: Vec<_> = originals
        .par_iter()
        .map(|(_, bytes)| {
            let fingerprint = decode_luma(bytes, &config.limits, config.decode_min_side)
                .and_then(|decoded| fingerprint_original(&decoded, &config));
            bar.inc(1);
            fingerprint
        })
        .collect();
    bar.finish_and_clear();
    let mut matcher = ImageMatcher::new(config.clone());
    let mut names = Vec::new();
    let mut refused = Vec::new();
    for ((name, _), fingerprint) in originals.iter().zip(fingerprints) {
        match fingerprint {
            Ok(fp) => {
                matcher.register_bulk(names.len() as u32, &fp);
                names.push(name.clone());
            }
            Err(error) => refused.push(format!("{name}: {error}")),
        }
    }
    matcher.optimize();

    let labelled: Vec<_> = queries.iter().filter_map(|(name, bytes)| Some((name, truth.get(name)?, bytes))).collect();
    let bar = progress(labelled.len(), "match");
    let match_started = Instant::now();
    let outcomes: Vec<Outcome> = labelled
        .par_iter()
        .map(|(_, _, bytes)| {
            let outcome = run_query(&matcher, &config, bytes);
            bar.inc(1);
            outcome
        })
        .collect();
    let wall = match_started.elapsed();
    bar.finish_and_clear();

    let mut tally = Tally::default();
    let mut pdq_only = Tally::default();
    let mut decode_time = Duration::ZERO;
    let mut match_time = Duration::ZERO;
    let mut matched_images = 0usize;
    let mut signals: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut kind_signals: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    let mut wrong_signals: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for ((name, entry, _), outcome) in labelled.iter().zip(&outcomes) {
        decode_time += outcome.decode;
        if let Some(error) = &outcome.error {
            unreadable.push(format!("{name}: {error}"));
            tally.record(name, entry, None);
            pdq_only.record(name, entry, None);
            continue;
        }
        match_time += outcome.hash_match;
        matched_images += 1;
        let best = outcome.best.and_then(|(work, kind)| Some((names.get(work as usize)?, kind)));
        if let Some((found, kind)) = best {
            *signals.entry(kind).or_default() += 1;
            if Some(found) != entry.original.as_ref() {
                *wrong_signals.entry(kind).or_default() += 1;
            } else {
                *kind_signals.entry(entry.kind.clone()).or_default().entry(kind).or_default() += 1;
            }
        }
        tally.record(name, entry, best.map(|(found, _)| found.as_str()));
        pdq_only.record(name, entry, outcome.pdq_best.and_then(|w| names.get(w as usize)).map(String::as_str));
    }

    let scores = tally.scores();
    let pdq_scores = pdq_only.scores();
    let seconds = started.elapsed().as_secs_f64();
    let total = (decode_time + match_time).as_secs_f64();
    let per_s = |n: usize, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    let images = matched_images + unreadable.len();
    let threads = rayon::current_num_threads();
    let (whole_bytes, region_bytes) = matcher.heap_bytes();
    let works = matcher.len().max(1);

    if args.json {
        let mut report = serde_json::to_value(&scores)?;
        if let Some(object) = report.as_object_mut() {
            object.insert("pages_per_s".into(), per_s(images, wall.as_secs_f64()).into());
            object.insert("bytes_per_work".into(), (whole_bytes as f64 / works as f64).into());
            object.insert("seconds".into(), seconds.into());
            object.insert("images_per_s".into(), per_s(images, wall.as_secs_f64()).into());
            object.insert("images_per_s_per_core".into(), per_s(images, total).into());
            object.insert("threads".into(), threads.into());
            object.insert("decode_images_per_s".into(), per_s(images, decode_time.as_secs_f64()).into());
            object.insert("hash_match_images_per_s".into(), per_s(matched_images, match_time.as_secs_f64()).into());
            object.insert("pdq_only_recall".into(), pdq_scores.recall.into());
            object.insert("pdq_only_per_kind".into(), serde_json::to_value(&pdq_scores.per_kind)?);
            object.insert("region_bytes_per_work".into(), (region_bytes as f64 / works as f64).into());
            object.insert("region_windows_per_work".into(), (matcher.region_count() as f64 / works as f64).into());
            object.insert("best_hit_signals".into(), serde_json::to_value(&signals)?);
            object.insert("best_hit_signals_per_kind".into(), serde_json::to_value(&kind_signals)?);
            object.insert("false_positive_signals".into(), serde_json::to_value(&wrong_signals)?);
            object.insert("refused_originals".into(), serde_json::to_value(&refused)?);
            object.insert("unreadable_queries".into(), serde_json::to_value(&unreadable)?);
        }
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }

    println!("originals        {} registered, {} refused", names.len(), refused.len());
    for line in &refused {
        println!("  refused {line}");
    }
    println!("queries          {images} ({} unreadable)", unreadable.len());
    print_accuracy(&scores, &tally);
    println!();
    println!("PDQ only (whole image + 8 dihedral variants, <= {}):", config.pdq_max_distance);
    println!("  recall {:.4}, precision {:.4}", pdq_scores.recall, pdq_scores.precision);
    for (kind, recall) in &pdq_scores.per_kind {
        println!("  {:<22} {:>8.4} {:>6}", kind, recall.recall, recall.n);
    }
    println!();
    println!("best-hit signals  {signals:?}");
    for (kind, signals) in &kind_signals {
        println!("  {kind:<22} {signals:?}");
    }
    println!("wrong best hits   {wrong_signals:?}");
    println!(
        "images/s         {:.1} on {threads} threads, {:.1} per core",
        per_s(images, wall.as_secs_f64()),
        per_s(images, total)
    );
    println!("  decode         {:.1} images/s", per_s(images, decode_time.as_secs_f64()));
    println!("  hash+match     {:.1} images/s", per_s(matched_images, match_time.as_secs_f64()));
    println!(
        "memory           {:.1} bytes/work whole-image index, {:.0} bytes/work regions ({:.0} windows/work)",
        whole_bytes as f64 / works as f64,
        region_bytes as f64 / works as f64,
        matcher.region_count() as f64 / works as f64
    );
    println!("seconds          {seconds:.2}");
    Ok(())
}
