//! `seal match`: matches files (HTML, text, images; directories walked) against every registered work
//! of a data directory. The JSON keys are a fixed contract; `score` is the engine's work coverage for
//! text and its confidence for images (see `seal_api::monitor::MonitorHit::score`). Files are matched on
//! every core (rayon).

use super::eval::progress;
use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use seal_api::monitor::{EngineHit, Scope};
use seal_api::services::import::{collect_files, hint_of_path, DataDir};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `seal match`.
#[derive(Args, Debug)]
pub struct MatchArgs {
    /// Data directory (holds seal.db, content/ and index/).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Files and directories (walked, sorted).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Hit {
    work: String,
    file: Option<String>,
    title: String,
    kind: &'static str,
    copy: &'static str,
    score: f64,
}

#[derive(Serialize)]
struct Result1 {
    path: String,
    hits: Vec<Hit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Report {
    results: Vec<Result1>,
    inputs_per_s: f64,
}

/// Runs `seal match`.
pub fn run(args: &MatchArgs) -> Result<()> {
    let data = DataDir::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let files = collect_files(&args.paths).context("listing the files to match")?;
    let bar = progress(files.len(), "match");
    let started = Instant::now();
    // The engine runs on every core; naming the hits needs the store, which stays on this thread.
    let matched: Vec<Result<Vec<EngineHit>, String>> = files
        .par_iter()
        .map(|path| {
            let outcome = std::fs::read(path).map_err(|e| e.to_string()).and_then(|bytes| {
                data.monitor.engine_match(&bytes, hint_of_path(path), false).map_err(|e| e.to_string())
            });
            bar.inc(1);
            outcome
        })
        .collect();
    let mut results = Vec::with_capacity(files.len());
    for (path, outcome) in files.iter().zip(matched) {
        let outcome = outcome
            .and_then(|hits| data.monitor.resolve_hits(&data.store, hits, &Scope::All).map_err(|e| e.to_string()));
        let (hits, error) = match outcome {
            Ok(hits) => (hits, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let hits = hits
            .into_iter()
            .map(|h| Hit {
                work: h.work.to_string(),
                file: h.file,
                title: h.title,
                kind: h.kind.as_str(),
                copy: h.copy,
                score: f64::from(h.score),
            })
            .collect();
        results.push(Result1 { path: path.display().to_string(), hits, error });
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let inputs_per_s = if seconds > 0.0 { files.len() as f64 / seconds } else { 0.0 };
    let report = Report { results, inputs_per_s };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    for result in &report.results {
        match (result.hits.first(), &result.error) {
            (_, Some(error)) => println!("{}: error: {error}", result.path),
            (None, None) => println!("{}: no match", result.path),
            (Some(best), None) => println!(
                "{}: {} \"{}\" ({} {}, score {:.2}){}",
                result.path,
                best.work,
                best.title,
                best.kind,
                best.copy,
                best.score,
                if result.hits.len() > 1 { format!(" and {} more", result.hits.len() - 1) } else { String::new() }
            ),
        }
    }
    println!("{} inputs, {:.1} inputs/s", report.results.len(), report.inputs_per_s);
    Ok(())
}
