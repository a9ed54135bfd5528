//! `seal eval text` over `fixtures/text`: the accuracy targets of the text engine, asserted through the
//! fixed command-line contract, plus the engine's behaviour on the fixture pages themselves.

use crate::{corpus, eval_json};
use anyhow::Result;
use seal_engine::text::{extract, ContentKind, ExtractConfig, MatchConfig, TextIndex, WorkId};
use std::path::{Path, PathBuf};

#[test]
fn eval_text_meets_the_accuracy_targets_on_the_fixtures() -> Result<()> {
    let report = eval_json("text", &corpus("text"))?;
    for key in ["precision", "recall", "f1", "false_positives", "per_kind", "pages_per_s", "bytes_per_work", "seconds"]
    {
        assert!(report.get(key).is_some(), "the JSON contract lacks {key}: {report}");
    }
    let precision = report["precision"].as_f64().unwrap_or_default();
    assert!(precision >= 0.995, "precision {precision}: {report}");
    let per_kind = &report["per_kind"];
    for (kind, target) in
        [("full", 0.99), ("edited10", 0.99), ("reordered", 0.99), ("excerpt50", 0.99), ("excerpt20", 0.95)]
    {
        let recall = per_kind[kind]["recall"].as_f64().unwrap_or_default();
        let n = per_kind[kind]["n"].as_u64().unwrap_or_default();
        assert!(n >= 20, "the fixtures hold only {n} {kind} pages");
        assert!(recall >= target, "{kind} recall {recall} < {target}: {report}");
    }
    Ok(())
}

#[test]
fn eval_text_rejects_a_broken_corpus_with_a_clear_error() -> Result<()> {
    let dir = tempdir()?;
    std::fs::create_dir_all(dir.join("originals"))?;
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::write(dir.join("originals/a.txt"), "Title\nbody text")?;
    std::fs::write(dir.join("queries/q.html"), "<p>body text</p>")?;
    std::fs::write(dir.join("truth.json"), "[1, 2]")?;
    let error = eval_json("text", &dir).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("must hold a JSON object"), "{error}");
    std::fs::write(
        dir.join("truth.json"),
        r#"{"q.html": {"original": "a.txt", "kind": "full", "extra": 1}, "note": "x"}"#,
    )?;
    let report = eval_json("text", &dir)?;
    assert_eq!(report["per_kind"]["full"]["n"], 1);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn every_fixture_page_extracts_and_its_hits_point_at_real_text() -> Result<()> {
    let dir = corpus("text");
    let mut index = TextIndex::default();
    let mut bodies = Vec::new();
    for entry in sorted(&dir.join("originals"))? {
        let text = extract(&std::fs::read(&entry)?, ContentKind::Auto, &ExtractConfig::default())?.text;
        let body = text.split_once('\n').map_or(text.clone(), |(_, body)| body.to_string());
        index.add(WorkId(bodies.len() as u64), &body)?;
        bodies.push(body.chars().collect::<Vec<char>>());
    }
    let mut checked_spans = 0;
    for page in sorted(&dir.join("queries"))? {
        let extracted = extract(&std::fs::read(&page)?, ContentKind::Auto, &ExtractConfig::default())?;
        assert!(!extracted.text.is_empty(), "{} extracted to nothing", page.display());
        assert!(!extracted.text.contains("<script") && !extracted.text.contains("<style"), "{}", page.display());
        let page_chars: Vec<char> = extracted.text.chars().collect();
        for hit in index.find(&extracted.text, &MatchConfig::default()) {
            let work = &bodies[hit.work.0 as usize];
            for span in &hit.spans {
                assert!(span.page.end as usize <= page_chars.len() && span.work.end as usize <= work.len());
                checked_spans += 1;
            }
        }
    }
    assert!(checked_spans > 100, "only {checked_spans} spans were checked");
    Ok(())
}

fn sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.sort();
    Ok(files)
}

/// A fresh folder under the system's temporary directory (tests never write into the checkout).
fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("seal-it-{}-{}", std::process::id(), line!()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
