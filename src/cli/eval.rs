//! The labelled-corpus evaluation shared by `seal eval text` and `seal eval image`.
//!
//! The corpus format and the JSON keys are a fixed contract (other corpora are run through it):
//! a folder of originals, a folder of queries, and `truth.json` mapping each query file name to
//! `{"original": name | null, "kind": label}`. A query counts as found when its best hit is the right
//! original; a hit on a page whose truth is null, or on the wrong original, is a false positive.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Arguments shared by every `seal eval` subcommand.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Folder of registered originals.
    #[arg(long)]
    pub originals: PathBuf,
    /// Folder of query pages.
    #[arg(long)]
    pub queries: PathBuf,
    /// truth.json: query file name -> {"original": name | null, "kind": label}.
    #[arg(long)]
    pub truth: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What the truth file says about one query.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The original the query copies, or `None` for a page that copies nothing registered.
    pub original: Option<String>,
    /// The label used for per-kind recall (`kind`, else `transform`, else "unlabelled").
    pub kind: String,
}

/// Reads truth.json. Entries that are not objects with an `original` key are ignored, as are unknown keys.
pub fn load_truth(path: &Path) -> Result<HashMap<String, Truth>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?;
    let Some(object) = value.as_object() else {
        bail!("{} must hold a JSON object mapping query names to truth entries", path.display());
    };
    let mut truth = HashMap::new();
    for (query, entry) in object {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        let Some(original) = entry.get("original") else {
            continue;
        };
        let original = match original {
            serde_json::Value::Null => None,
            serde_json::Value::String(name) => Some(name.clone()),
            other => bail!("truth for {query}: \"original\" must be a string or null, not {other}"),
        };
        let kind = ["kind", "transform"]
            .iter()
            .find_map(|key| entry.get(*key).and_then(|v| v.as_str()))
            .unwrap_or("unlabelled")
            .to_string();
        truth.insert(query.clone(), Truth { original, kind });
    }
    Ok(truth)
}

/// Lists the regular files of a folder, sorted by name, skipping hidden files.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        files.push(entry.path());
    }
    files.sort();
    if files.is_empty() {
        bail!("{} holds no files", dir.display());
    }
    Ok(files)
}

/// The file name of a path as a string (corpus names are compared by file name only).
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A progress bar on a terminal, nothing otherwise (CI logs and pipes stay clean).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Per-kind recall in the fixed JSON shape `{kind: {"recall": x, "n": n}}`.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct KindRecall {
    /// Found / labelled queries of this kind.
    pub recall: f64,
    /// Queries of this kind with a non-null original.
    pub n: usize,
}

/// Counts correct and wrong best hits over a corpus.
#[derive(Debug, Default)]
pub struct Tally {
    true_positives: usize,
    false_positives: usize,
    positives: usize,
    per_kind: BTreeMap<String, (usize, usize)>,
    /// Queries whose best hit was wrong or missing, for the human report.
    pub misses: Vec<String>,
}

impl Tally {
    /// Records one query's outcome: its truth and the original its best hit names, if any.
    pub fn record(&mut self, query: &str, truth: &Truth, best: Option<&str>) {
        if let Some(expected) = &truth.original {
            self.positives += 1;
            let slot = self.per_kind.entry(truth.kind.clone()).or_default();
            slot.1 += 1;
            if best == Some(expected.as_str()) {
                self.true_positives += 1;
                slot.0 += 1;
                return;
            }
        }
        if best.is_some() {
            self.false_positives += 1;
        }
        if best.is_some() || truth.original.is_some() {
            self.misses.push(format!(
                "{query}: expected {}, best hit {} ({})",
                truth.original.as_deref().unwrap_or("nothing"),
                best.unwrap_or("nothing"),
                truth.kind
            ));
        }
    }

    /// Precision, recall, F1, false positives and per-kind recall.
    pub fn scores(&self) -> Scores {
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let precision = ratio(self.true_positives, self.true_positives + self.false_positives);
        let recall = ratio(self.true_positives, self.positives);
        let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        let per_kind = self
            .per_kind
            .iter()
            .map(|(kind, &(found, n))| (kind.clone(), KindRecall { recall: ratio(found, n), n }))
            .collect();
        Scores { precision, recall, f1, false_positives: self.false_positives, per_kind }
    }
}

/// Accuracy figures of one evaluation run.
#[derive(Debug, Serialize, Clone)]
pub struct Scores {
    /// Correct best hits / all best hits.
    pub precision: f64,
    /// Correct best hits / queries that copy an original.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Best hits on the wrong original or on a page that copies nothing.
    pub false_positives: usize,
    /// Recall per truth kind.
    pub per_kind: BTreeMap<String, KindRecall>,
}

/// Loads a corpus folder's files into memory so that timings cover the engine, not the disk.
pub fn read_all(files: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    files
        .iter()
        .map(|path| Ok((file_name(path), std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)))
        .collect()
}

/// Prints the per-kind table and the misses shared by every human-readable eval report.
pub fn print_accuracy(scores: &Scores, tally: &Tally) {
    println!("precision        {:.4}", scores.precision);
    println!("recall           {:.4}", scores.recall);
    println!("f1               {:.4}", scores.f1);
    println!("false positives  {}", scores.false_positives);
    println!();
    println!("{:<24} {:>8} {:>6}", "kind", "recall", "n");
    for (kind, recall) in &scores.per_kind {
        println!("{:<24} {:>8.4} {:>6}", kind, recall.recall, recall.n);
    }
    if !tally.misses.is_empty() {
        println!();
        println!("misses and false positives ({}):", tally.misses.len());
        for miss in tally.misses.iter().take(50) {
            println!("  {miss}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(original: Option<&str>, kind: &str) -> Truth {
        Truth { original: original.map(str::to_string), kind: kind.to_string() }
    }

    #[test]
    fn tally_counts_wrong_originals_and_null_pages_as_false_positives() {
        let mut tally = Tally::default();
        tally.record("a", &truth(Some("x"), "full"), Some("x"));
        tally.record("b", &truth(Some("x"), "full"), Some("y"));
        tally.record("c", &truth(None, "distractor"), Some("x"));
        tally.record("d", &truth(None, "distractor"), None);
        tally.record("e", &truth(Some("z"), "excerpt20"), None);
        let scores = tally.scores();
        assert_eq!(scores.false_positives, 2);
        assert!((scores.precision - 1.0 / 3.0).abs() < 1e-9);
        assert!((scores.recall - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(scores.per_kind["full"], KindRecall { recall: 0.5, n: 2 });
        assert_eq!(scores.per_kind["excerpt20"], KindRecall { recall: 0.0, n: 1 });
        assert_eq!(tally.misses.len(), 3);
    }
}
