//! `seal eval image` over `fixtures/images`: the accuracy targets of the image engine asserted through the
//! fixed command-line contract, and our PDQ checked against Meta's reference (hashes made by the PyPI
//! `pdqhash` package, stored in `fixtures/images/pdq_reference.json` by `benches/peers/image_pdq_reference.py`).

use crate::{corpus, eval_json};
use anyhow::{Context, Result};
use seal_engine::image::{
    decode_luma, fingerprint_original, fingerprint_query, ImageConfig, ImageMatcher, PdqHash, Signal,
};
use serde_json::Value;
use std::path::PathBuf;

#[test]
fn eval_image_meets_the_accuracy_targets_on_the_fixtures() -> Result<()> {
    let report = eval_json("image", &corpus("images"))?;
    for key in [
        "precision",
        "recall",
        "f1",
        "false_positives",
        "per_kind",
        "pages_per_s",
        "bytes_per_work",
        "seconds",
        "decode_images_per_s",
        "hash_match_images_per_s",
        "pdq_only_recall",
        "images_per_s_per_core",
        "best_hit_signals_per_kind",
    ] {
        assert!(report.get(key).is_some(), "the JSON contract lacks {key}: {report}");
    }
    let precision = report["precision"].as_f64().unwrap_or_default();
    assert!(precision >= 0.99, "precision {precision}: {report}");
    let per_kind = report["per_kind"].as_object().context("per_kind is an object")?;
    for kind in [
        "resize",
        "crop",
        "jpeg",
        "watermark",
        "caption",
        "logo",
        "grayscale",
        "rotate",
        "brightness_contrast",
        "flip",
        "rotate90",
    ] {
        let entry = per_kind.get(kind).with_context(|| format!("no {kind} queries in the fixtures"))?;
        let recall = entry["recall"].as_f64().unwrap_or_default();
        let n = entry["n"].as_u64().unwrap_or_default();
        // The issue's target: 0.95 for every kind, crops and rotations included.
        assert!(n >= 20, "the fixtures hold only {n} {kind} queries");
        assert!(recall >= 0.95, "{kind} recall {recall} < 0.95: {report}");
    }
    // Best-hit labels say what happened: a crop is found by its windows, a caption or logo copy by
    // its whole image or centre, neither is called a rotation; a rotation is called one.
    let labels = &report["best_hit_signals_per_kind"];
    for kind in ["crop", "caption", "watermark", "jpeg", "resize"] {
        let kind_labels = labels[kind].as_object().with_context(|| format!("no labels for {kind}: {labels}"))?;
        assert!(!kind_labels.contains_key("rotated"), "{kind} copies labelled rotated: {labels}");
    }
    let regions = labels["crop"]["region"].as_u64().unwrap_or_default();
    assert!(regions as f64 >= 0.95 * per_kind["crop"]["n"].as_f64().unwrap_or_default(), "{labels}");
    let rotated = labels["rotate"]["rotated"].as_u64().unwrap_or_default();
    assert!(rotated as f64 >= 0.95 * per_kind["rotate"]["n"].as_f64().unwrap_or_default(), "{labels}");
    // The crop-robust signal is what finds crops: PDQ alone finds none of them.
    let pdq_crop = report["pdq_only_per_kind"]["crop"]["recall"].as_f64().unwrap_or(1.0);
    assert!(pdq_crop < per_kind["crop"]["recall"].as_f64().unwrap_or_default());
    Ok(())
}

/// Our PDQ on the fixture images, through the production decode path (JPEGs DCT-scaled), against the
/// reference implementation at full size: within 4 bits on at least 95% of images, within 10 on all.
#[test]
fn pdq_agrees_with_the_reference_implementation() -> Result<()> {
    let dir = corpus("images");
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("pdq_reference.json"))?)?;
    let reference = reference.as_object().context("reference is an object")?;
    let config = ImageConfig::default();
    let mut distances = Vec::new();
    let mut worst = Vec::new();
    for (file, entry) in reference {
        let expected = PdqHash::from_hex(entry["hash"].as_str().unwrap_or_default()).context("reference hex")?;
        let bytes = std::fs::read(dir.join(file))?;
        let decoded = decode_luma(&bytes, &config.limits, config.decode_min_side)?;
        let (ours, quality) = seal_engine::image::pdq(&decoded.luma);
        let distance = ours.distance(&expected);
        let reference_quality = entry["quality"].as_u64().unwrap_or_default() as i64;
        assert!(
            (i64::from(quality) - reference_quality).abs() <= 15,
            "{file}: quality {quality} vs {reference_quality}"
        );
        if distance > 4 {
            worst.push((distance, file.clone()));
        }
        distances.push(distance);
    }
    distances.sort_unstable();
    let n = distances.len();
    let within4 = distances.iter().filter(|&&d| d <= 4).count();
    let pct = |p: usize| distances[(n - 1) * p / 100];
    eprintln!(
        "PDQ vs reference over {n} images: median {}, p90 {}, p95 {}, max {}; within 4 bits {:.1}%",
        pct(50),
        pct(90),
        pct(95),
        distances[n - 1],
        100.0 * within4 as f64 / n as f64
    );
    worst.sort();
    assert!(
        within4 * 100 >= n * 95,
        "only {within4}/{n} within 4 bits; worst {:?}",
        &worst[worst.len().saturating_sub(10)..]
    );
    assert!(
        distances[n - 1] <= 10,
        "max distance {}; worst {:?}",
        distances[n - 1],
        &worst[worst.len().saturating_sub(10)..]
    );
    Ok(())
}

/// The library path end to end: register, query, remove, with the hit naming its signal and region.
#[test]
fn matcher_reports_signal_and_region_and_forgets_removed_works() -> Result<()> {
    let dir = corpus("images");
    let config = ImageConfig::default();
    let load = |path: PathBuf| -> Result<_> {
        Ok(decode_luma(&std::fs::read(path)?, &config.limits, config.decode_min_side)?)
    };
    let mut matcher = ImageMatcher::new(config.clone());
    let original = fingerprint_original(&load(dir.join("originals/sk_astronaut.jpg"))?, &config)?;
    matcher.register(42, &original);
    let other = fingerprint_original(&load(dir.join("originals/sk_coffee.jpg"))?, &config)?;
    matcher.register(7, &other);

    let flipped = fingerprint_query(&load(dir.join("queries/sk_astronaut__flip.jpg"))?, &config);
    let hits = matcher.query(&flipped);
    assert_eq!(hits.first().map(|h| (h.work, h.signal.kind())), Some((42, "flipped")), "{hits:?}");

    let cropped = fingerprint_query(&load(dir.join("queries/sk_astronaut__crop_0.jpg"))?, &config);
    let hits = matcher.query(&cropped);
    let hit = hits.first().context("the crop is found")?;
    assert_eq!((hit.work, hit.signal), (42, Signal::Region));
    let region = hit.region.context("a region hit says where")?;
    assert!(region.x1 > region.x0 && region.y1 > region.y0 && hit.confidence > 0.0);

    assert!(matcher.remove(42));
    assert!(matcher.query(&flipped).iter().all(|h| h.work != 42));
    Ok(())
}

/// The matcher's registered state survives its byte form: every fixture original registered (one
/// removed again), saved and loaded, and every third query answered identically (hits, distances,
/// signals, regions, confidences).
#[test]
fn matcher_bytes_round_trip_keeps_every_answer() -> Result<()> {
    let dir = corpus("images");
    let config = ImageConfig::default();
    let mut matcher = ImageMatcher::new(config.clone());
    let mut originals: Vec<PathBuf> =
        std::fs::read_dir(dir.join("originals"))?.map(|e| Ok(e?.path())).collect::<Result<_>>()?;
    originals.sort();
    for (work, path) in originals.iter().enumerate() {
        let decoded = decode_luma(&std::fs::read(path)?, &config.limits, config.decode_min_side)?;
        if let Ok(fingerprint) = fingerprint_original(&decoded, &config) {
            matcher.register(work as u32, &fingerprint);
        }
    }
    assert!(matcher.remove(0));
    matcher.optimize();
    let bytes = matcher.to_bytes();
    let loaded = ImageMatcher::from_bytes(&bytes, config.clone())?;
    assert_eq!((loaded.len(), loaded.region_count()), (matcher.len(), matcher.region_count()));
    let mut queries: Vec<PathBuf> =
        std::fs::read_dir(dir.join("queries"))?.map(|e| Ok(e?.path())).collect::<Result<_>>()?;
    queries.sort();
    let mut found = 0;
    for path in queries.iter().step_by(3) {
        let decoded = decode_luma(&std::fs::read(path)?, &config.limits, config.decode_min_side)?;
        let query = fingerprint_query(&decoded, &config);
        let hits = matcher.query(&query);
        found += usize::from(!hits.is_empty());
        assert_eq!(loaded.query(&query), hits, "{}", path.display());
    }
    assert!(found > 50, "only {found} queries found anything");
    Ok(())
}

#[test]
fn eval_image_survives_unreadable_queries() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("seal-image-eval-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("originals"))?;
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::copy(corpus("images").join("originals/sk_coffee.jpg"), dir.join("originals/a.jpg"))?;
    let bytes = std::fs::read(corpus("images").join("queries/sk_coffee__jpeg.jpg"))?;
    std::fs::write(dir.join("queries/cut.jpg"), &bytes[..bytes.len() / 2])?;
    std::fs::write(dir.join("queries/text.jpg"), b"not an image")?;
    std::fs::write(dir.join("queries/ok.jpg"), &bytes)?;
    std::fs::write(
        dir.join("truth.json"),
        r#"{"cut.jpg": {"original": "a.jpg", "kind": "jpeg"}, "text.jpg": {"original": null},
            "ok.jpg": {"original": "a.jpg", "kind": "jpeg"}}"#,
    )?;
    let report = eval_json("image", &dir)?;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(report["unreadable_queries"].as_array().map(Vec::len), Some(2), "{report}");
    assert_eq!(report["false_positives"].as_u64(), Some(0));
    assert_eq!(report["per_kind"]["jpeg"]["n"].as_u64(), Some(2));
    Ok(())
}
