//! `seal eval text`: registers every original, matches every query, and reports accuracy and speed.

use super::eval::{list_files, load_truth, print_accuracy, progress, read_all, EvalArgs, Scores, Tally};
use anyhow::{Context, Result};
use seal_engine::text::{extract, ContentKind, ExtractConfig, MatchConfig, TextIndex, WorkId};
use serde::Serialize;
use std::time::Instant;

/// The report; the first eight keys are the fixed contract shared with `seal eval image`.
#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    scores: Scores,
    pages_per_s: f64,
    bytes_per_work: f64,
    seconds: f64,
    mb_per_s: f64,
    works: usize,
    queries: usize,
}

/// Runs the evaluation described in the module docs.
pub fn run(args: &EvalArgs) -> Result<()> {
    let started = Instant::now();
    let truth = load_truth(&args.truth)?;
    let originals = read_all(&list_files(&args.originals)?)?;
    let queries = read_all(&list_files(&args.queries)?)?;
    let extract_config = ExtractConfig::default();
    let match_config = MatchConfig::default();

    let mut index = TextIndex::default();
    let bar = progress(originals.len(), "register");
    let mut names = Vec::with_capacity(originals.len());
    for (n, (name, bytes)) in originals.iter().enumerate() {
        let body = original_body(name, bytes, &extract_config).with_context(|| format!("original {name}"))?;
        index.add(WorkId(n as u64), &body).with_context(|| format!("registering original {name}"))?;
        names.push(name.clone());
        bar.inc(1);
    }
    bar.finish_and_clear();
    index.compact();
    let bytes_per_work = index.heap_bytes() as f64 / index.len().max(1) as f64;

    let bar = progress(queries.len(), "match");
    let mut tally = Tally::default();
    let mut query_bytes = 0usize;
    let mut matching = std::time::Duration::ZERO;
    let mut unlabelled = 0usize;
    for (name, bytes) in &queries {
        let Some(expected) = truth.get(name) else {
            unlabelled += 1;
            bar.inc(1);
            continue;
        };
        let kind = if name.ends_with(".txt") { ContentKind::PlainText } else { ContentKind::Html };
        let timer = Instant::now();
        let best = match extract(bytes, kind, &extract_config) {
            Ok(page) => index.find(&page.text, &match_config).into_iter().next().map(|hit| hit.work),
            Err(_) => None,
        };
        matching += timer.elapsed();
        query_bytes += bytes.len();
        tally.record(name, expected, best.map(|id| names[id.0 as usize].as_str()));
        bar.inc(1);
    }
    bar.finish_and_clear();

    let matched = queries.len() - unlabelled;
    let seconds_matching = matching.as_secs_f64().max(1e-9);
    let report = Report {
        scores: tally.scores(),
        pages_per_s: matched as f64 / seconds_matching,
        bytes_per_work,
        seconds: started.elapsed().as_secs_f64(),
        mb_per_s: query_bytes as f64 / 1e6 / seconds_matching,
        works: index.len(),
        queries: matched,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    print_accuracy(&report.scores, &tally);
    println!();
    println!("works            {}", report.works);
    println!("queries          {} ({} without truth skipped)", report.queries, unlabelled);
    println!("pages/s          {:.0} (extraction + matching, one thread)", report.pages_per_s);
    println!("MB/s             {:.1}", report.mb_per_s);
    println!("index bytes/work {:.0}", report.bytes_per_work);
    println!("wall time        {:.2} s", report.seconds);
    Ok(())
}

/// An original's registered text: a `.txt` file's body after its title line, or an HTML page's visible text.
fn original_body(name: &str, bytes: &[u8], config: &ExtractConfig) -> Result<String> {
    if name.ends_with(".txt") {
        let text = extract(bytes, ContentKind::PlainText, config)?.text;
        return Ok(text.split_once('\n').map_or(text.clone(), |(_, body)| body.to_string()));
    }
    Ok(extract(bytes, ContentKind::Html, config)?.text)
}
