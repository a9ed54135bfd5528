//! Tuning the image engine on a labelled corpus: per-transform recall, false positives, the best-hit
//! signal of each copy, the time each stage takes, and what the matcher keeps per work. `seal eval image`
//! is the contract; this is the engine-only loop used to choose thresholds (it builds in seconds, without
//! the platform), and the tool that measured the recall/memory curve in `config.rs`.
//!
//! Run: `cargo run --release -p seal-engine --example image_tune -- fixtures/images`
//! Region ladder overrides (to trace the curve): `SEAL_MIN_WINDOW`, `SEAL_WINDOW_RATIO`, `SEAL_WINDOW_STEP`,
//! `SEAL_REGION_DISTANCE`.

use seal_engine::image::{decode_luma, fingerprint_original, fingerprint_query, ImageConfig, ImageMatcher};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn env_f32(name: &str) -> Option<f32> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args().nth(1).unwrap_or_else(|| "fixtures/images".into());
    let root = Path::new(&root);
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("truth.json"))?)?;
    let mut config = ImageConfig::default();
    if let Some(v) = env_f32("SEAL_MIN_WINDOW") {
        config.region.min_window = v;
    }
    if let Some(v) = env_f32("SEAL_WINDOW_RATIO") {
        config.region.window_ratio = v;
    }
    if let Some(v) = env_f32("SEAL_WINDOW_STEP") {
        config.region.window_step = v;
    }
    if let Some(v) = env_f32("SEAL_REGION_DISTANCE") {
        config.region.max_distance = v as u32;
    }
    let files = |dir: &str| -> Result<Vec<(String, Vec<u8>)>, std::io::Error> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root.join(dir))? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, std::fs::read(&path)?));
        }
        out.sort();
        Ok(out)
    };
    let originals = files("originals")?;
    let queries = files("queries")?;

    let mut matcher = ImageMatcher::new(config.clone());
    let mut names = Vec::new();
    let started = Instant::now();
    for (name, bytes) in &originals {
        let Ok(decoded) = decode_luma(bytes, &config.limits, config.decode_min_side) else { continue };
        if let Ok(fp) = fingerprint_original(&decoded, &config) {
            matcher.register(names.len() as u32, &fp);
            names.push(name.clone());
        }
    }
    matcher.optimize();
    let register_time = started.elapsed();

    let (mut decode_time, mut fingerprint_time, mut query_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut signals: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    let mut false_positives = Vec::new();
    let mut misses = Vec::new();
    for (name, bytes) in &queries {
        let Some(entry) = truth.get(name) else { continue };
        let expected = entry.get("original").and_then(|v| v.as_str());
        let kind = entry.get("transform").and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let t0 = Instant::now();
        let decoded = decode_luma(bytes, &config.limits, config.decode_min_side);
        let t1 = Instant::now();
        decode_time += t1 - t0;
        let Ok(decoded) = decoded else { continue };
        let fingerprint = fingerprint_query(&decoded, &config);
        let t2 = Instant::now();
        fingerprint_time += t2 - t1;
        let hits = matcher.query(&fingerprint);
        query_time += t2.elapsed();
        let best = hits.first();
        if std::env::var("SEAL_DUMP").is_ok_and(|d| name.contains(&d)) {
            let mut probe = fingerprint.clone();
            probe.windows.clear();
            println!("{name}: {hits:?}\n  no windows: {:?}", matcher.query(&probe));
        }
        let found = best.and_then(|h| names.get(h.work as usize)).map(String::as_str);
        let slot = per_kind.entry(kind.clone()).or_default();
        slot.1 += 1;
        if expected.is_some() && found == expected {
            slot.0 += 1;
            if let Some(hit) = best {
                *signals.entry((kind.clone(), hit.signal.kind())).or_default() += 1;
            }
        } else if let Some(found) = found {
            false_positives.push(format!("{name} -> {found} ({:?})", best.map(|h| (h.signal, h.distance))));
        } else if expected.is_some() {
            misses.push(name.clone());
        } else {
            slot.0 += 1;
        }
    }
    let n = queries.len() as f64;
    println!("registered {} in {:.2}s", names.len(), register_time.as_secs_f64());
    for (kind, (ok, total)) in &per_kind {
        println!("  {kind:<22} {ok:>3}/{total:<3}");
    }
    println!("signals {signals:?}");
    println!("false positives {false_positives:?}");
    println!("misses {misses:?}");
    let total = decode_time + fingerprint_time + query_time;
    println!(
        "images/s {:.1}  decode {:.1}  fingerprint {:.1}  query {:.1}",
        n / total.as_secs_f64(),
        n / decode_time.as_secs_f64(),
        n / fingerprint_time.as_secs_f64(),
        n / query_time.as_secs_f64()
    );
    let works = matcher.len().max(1) as f64;
    let (whole, regions) = matcher.heap_bytes();
    println!(
        "per work: {:.0} windows, {:.0} region bytes, {:.0} whole bytes, snapshot {:.0} bytes",
        matcher.region_count() as f64 / works,
        regions as f64 / works,
        whole as f64 / works,
        matcher.to_bytes().len() as f64 / works
    );
    Ok(())
}
