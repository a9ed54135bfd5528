//! `seal eval image`: registers a folder of original images, matches a folder of query images and
//! reports accuracy and speed in the contract shared with `seal eval text`, plus image extras:
//! decode and hash+match throughput apart, and the recall PDQ alone (whole image and its flips) gets.

use super::eval::{list_files, load_truth, print_accuracy, progress, read_all, EvalArgs, Tally};
use anyhow::Result;
use seal_engine::image::{
    decode_luma, fingerprint_original, fingerprint_query, ImageConfig, ImageMatcher, QueryFingerprint, Signal,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Runs the image evaluation.
pub fn run(args: &EvalArgs) -> Result<()> {
    let started = Instant::now();
    let truth = load_truth(&args.truth)?;
    let originals = read_all(&list_files(&args.originals)?)?;
    let queries = read_all(&list_files(&args.queries)?)?;
    let config = ImageConfig::default();

    let mut matcher = ImageMatcher::new(config.clone());
    let mut names = Vec::new();
    let mut refused = Vec::new();
    let bar = progress(originals.len(), "register");
    for (name, bytes) in &originals {
        bar.inc(1);
        let fingerprint = decode_luma(bytes, &config.limits, config.decode_min_side)
            .and_then(|decoded| fingerprint_original(&decoded, &config));
        match fingerprint {
            Ok(fp) => {
                matcher.register(names.len() as u32, &fp);
                names.push(name.clone());
            }
            Err(error) => refused.push(format!("{name}: {error}")),
        }
    }
    bar.finish_and_clear();
    matcher.optimize();

    let mut tally = Tally::default();
    let mut pdq_only = Tally::default();
    let mut decode_time = Duration::ZERO;
    let mut match_time = Duration::ZERO;
    let mut matched_images = 0usize;
    let mut signals: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut wrong_signals: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let bar = progress(queries.len(), "match");
    for (name, bytes) in &queries {
        bar.inc(1);
        let Some(entry) = truth.get(name) else { continue };
        let t0 = Instant::now();
        let decoded = decode_luma(bytes, &config.limits, config.decode_min_side);
        let t1 = Instant::now();
        decode_time += t1 - t0;
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(error) => {
                unreadable.push(format!("{name}: {error}"));
                tally.record(name, entry, None);
                pdq_only.record(name, entry, None);
                continue;
            }
        };
        let fingerprint = fingerprint_query(&decoded, &config);
        let hits = matcher.query(&fingerprint);
        match_time += t1.elapsed();
        matched_images += 1;
        let best = hits.first();
        if let Some(hit) = best {
            *signals.entry(hit.signal.kind()).or_default() += 1;
            if names.get(hit.work as usize) != entry.original.as_ref() {
                *wrong_signals.entry(hit.signal.kind()).or_default() += 1;
            }
        }
        tally.record(name, entry, best.and_then(|h| names.get(h.work as usize)).map(String::as_str));

        // PDQ alone: the whole image and its seven flips and turns, nothing else (not timed).
        let pdq_fingerprint =
            QueryFingerprint { rotated: Vec::new(), rotated_inscribed: Vec::new(), windows: Vec::new(), ..fingerprint };
        let pdq_hits = matcher.query(&pdq_fingerprint);
        let pdq_best = pdq_hits.iter().find(|h| matches!(h.signal, Signal::Whole | Signal::Flipped(_)));
        pdq_only.record(name, entry, pdq_best.and_then(|h| names.get(h.work as usize)).map(String::as_str));
    }
    bar.finish_and_clear();

    let scores = tally.scores();
    let pdq_scores = pdq_only.scores();
    let seconds = started.elapsed().as_secs_f64();
    let total = (decode_time + match_time).as_secs_f64();
    let per_s = |n: usize, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    let images = matched_images + unreadable.len();
    let (whole_bytes, region_bytes) = matcher.heap_bytes();
    let works = matcher.len().max(1);

    if args.json {
        let mut report = serde_json::to_value(&scores)?;
        if let Some(object) = report.as_object_mut() {
            object.insert("pages_per_s".into(), per_s(images, total).into());
            object.insert("bytes_per_work".into(), (whole_bytes as f64 / works as f64).into());
            object.insert("seconds".into(), seconds.into());
            object.insert("images_per_s".into(), per_s(images, total).into());
            object.insert("decode_images_per_s".into(), per_s(images, decode_time.as_secs_f64()).into());
            object.insert("hash_match_images_per_s".into(), per_s(matched_images, match_time.as_secs_f64()).into());
            object.insert("pdq_only_recall".into(), pdq_scores.recall.into());
            object.insert("pdq_only_per_kind".into(), serde_json::to_value(&pdq_scores.per_kind)?);
            object.insert("region_bytes_per_work".into(), (region_bytes as f64 / works as f64).into());
            object.insert("region_windows_per_work".into(), (matcher.region_count() as f64 / works as f64).into());
            object.insert("best_hit_signals".into(), serde_json::to_value(&signals)?);
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
    println!("wrong best hits   {wrong_signals:?}");
    println!("images/s         {:.1}", per_s(images, total));
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
