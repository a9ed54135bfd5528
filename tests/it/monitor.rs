//! `seal works import` and `seal match` end to end through the real binary and real files: accuracy
//! equal to `seal eval` on the fixtures, idempotent imports, indexes replayed from disk by a new process,
//! rebuilt from the content store when deleted, a torn log tail, and SIGKILL in the middle of a bulk
//! import followed by a check that the indexes hold exactly the store's engine ids, and a damaged
//! image snapshot that is used at once and rebuilt when its deferred check fails.

use crate::{corpus, eval_json};
use anyhow::{ensure, Context, Result};
use seal_api::monitor::{KindHint, Scope};
use seal_api::services::import::DataDir;
use seal_api::store::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn seal(args: &[&str], paths: &[&Path]) -> Result<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_seal")).args(args).args(paths).output().context("running seal")?;
    ensure!(output.status.success(), "seal {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).with_context(|| format!("seal {args:?} printed no JSON object"))
}

fn import(data: &Path, owner: &str, paths: &[&Path]) -> Result<Value> {
    let data = data.to_string_lossy();
    seal(&["works", "import", "--data", &data, "--owner", owner, "--json"], paths)
}

fn match_files(data: &Path, paths: &[&Path]) -> Result<Value> {
    let data = data.to_string_lossy();
    seal(&["match", "--data", &data, "--json"], paths)
}

/// query file name -> the `file` of its best hit (None: no hit).
fn best_files(report: &Value) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for result in report["results"].as_array().into_iter().flatten() {
        let name = Path::new(result["path"].as_str().unwrap_or_default())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.insert(name, result["hits"][0]["file"].as_str().map(str::to_owned));
    }
    out
}

/// Precision and recall of best hits against a truth.json, counted the way `seal eval` counts.
fn scores(best: &BTreeMap<String, Option<String>>, truth: &Value) -> (f64, f64) {
    let (mut tp, mut fp, mut positives) = (0usize, 0usize, 0usize);
    for (query, entry) in truth.as_object().into_iter().flatten() {
        let Some(expected) = entry.get("original") else { continue };
        let found = best.get(query).cloned().flatten();
        match expected.as_str() {
            Some(expected) => {
                positives += 1;
                if found.as_deref() == Some(expected) {
                    tp += 1;
                } else if found.is_some() {
                    fp += 1;
                }
            }
            None => fp += usize::from(found.is_some()),
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    (ratio(tp, tp + fp), ratio(tp, positives))
}

fn tempdir(tag: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("seal-it-monitor-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn text_fixtures_import_idempotently_and_match_as_accurately_as_eval() -> Result<()> {
    let dir = tempdir("text")?;
    let data = dir.join("data");
    let originals = corpus("text").join("originals");
    let first = import(&data, "rh-fixtures", &[&originals])?;
    assert_eq!(first["failed"].as_array().map(Vec::len), Some(0), "{first}");
    let works = first["works"].as_array().cloned().unwrap_or_default();
    assert_eq!(works.len(), 150);
    assert_eq!(first["imported"].as_u64().unwrap_or_default() + first["skipped"].as_u64().unwrap_or_default(), 150);
    for key in ["path", "file", "id", "kind", "new"] {
        assert!(works[0].get(key).is_some(), "works[] lacks {key}: {}", works[0]);
    }

    let second = import(&data, "rh-fixtures", &[&originals])?;
    assert_eq!(second["imported"].as_u64(), Some(0), "{second}");
    assert!(second["works"].as_array().into_iter().flatten().all(|w| w["new"] == Value::Bool(false)));
    let ids = |v: &Value| v["works"].as_array().into_iter().flatten().map(|w| w["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&second), "a second import must answer the same works");

    // A new process loads the snapshots written at the end of the import.
    let queries = corpus("text").join("queries");
    let report = match_files(&data, &[&queries])?;
    assert!(report["inputs_per_s"].as_f64().is_some());
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(corpus("text").join("truth.json"))?)?;
    let best = best_files(&report);
    let (precision, recall) = scores(&best, &truth);
    let eval = eval_json("text", &corpus("text"))?;
    assert_eq!(Some(precision), eval["precision"].as_f64(), "precision differs from seal eval text");
    assert_eq!(Some(recall), eval["recall"].as_f64(), "recall differs from seal eval text");
    assert_eq!((precision, recall), (1.0, 1.0));
    let hit = report["results"].as_array().and_then(|r| r.iter().find(|r| !r["hits"][0].is_null()));
    let hit = &hit.context("some query has a hit")?["hits"][0];
    for key in ["work", "file", "title", "kind", "copy", "score"] {
        assert!(hit.get(key).is_some(), "hits[] lacks {key}: {hit}");
    }
    assert_eq!(hit["kind"], "text");
    let score = hit["score"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&score), "{hit}");

    // Deleting the indexes: the next open rebuilds them from the content store and matches the same.
    for entry in std::fs::read_dir(data.join("index"))? {
        std::fs::remove_file(entry?.path())?;
    }
    let rebuilt = match_files(&data, &[&queries])?;
    assert_eq!(best_files(&rebuilt), best);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn image_fixtures_match_with_the_recall_of_eval() -> Result<()> {
    let dir = tempdir("image")?;
    let data = dir.join("data");
    let imported = import(&data, "rh-images", &[&corpus("images").join("originals")])?;
    let report = match_files(&data, &[&corpus("images").join("queries")])?;
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(corpus("images").join("truth.json"))?)?;
    let (precision, recall) = scores(&best_files(&report), &truth);
    let eval = eval_json("image", &corpus("images"))?;
    assert_eq!(Some(precision), eval["precision"].as_f64(), "precision differs from seal eval image: {imported}");
    assert_eq!(Some(recall), eval["recall"].as_f64(), "recall differs from seal eval image");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn a_torn_log_tail_is_dropped_and_the_store_repairs_the_rest() -> Result<()> {
    let dir = tempdir("torn")?;
    let data = dir.join("data");
    let originals = corpus("text").join("originals");
    let files: Vec<PathBuf> =
        (1..=6).map(|n| originals.join(format!("en-{n:04}.txt"))).filter(|p| p.exists()).collect();
    ensure!(files.len() >= 3, "fixture names changed");
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    import(&data, "rh-torn", &refs)?;
    // Registrations after the import's snapshot land in the log; tear its last record.
    let extra = dir.join("extra.txt");
    std::fs::copy(originals.join("en-0010.txt"), &extra)?;
    {
        let mut open = DataDir::open(&data)?;
        let work = seal_api::services::import::work_from_file(
            &extra,
            std::fs::read(&extra)?,
            &seal_licensing::ids::PartyId::new("rh-torn")?,
            None,
            "rh-torn",
        )
        .map_err(anyhow::Error::msg)?;
        let now = seal_licensing::Timestamp::from_unix_ms(1_700_000_000_000);
        seal_api::services::registration::register_work(&mut open.store, &open.content, &mut open.monitor, work, now)?;
    }
    let log = data.join("index").join("log");
    let len = std::fs::metadata(&log)?.len();
    std::fs::OpenOptions::new().write(true).open(&log)?.set_len(len - 5)?;
    let open = DataDir::open(&data)?;
    assert_eq!(open.report.added, 1, "{:?}", open.report);
    assert_engine_ids_agree(&open)?;
    let hits = open.monitor.match_bytes(&open.store, &std::fs::read(&extra)?, KindHint::Text, &Scope::All)?;
    assert_eq!(hits.first().and_then(|h| h.file.as_deref()), Some("extra.txt"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn a_damaged_image_snapshot_answers_at_once_and_is_rebuilt_when_its_check_fails() -> Result<()> {
    use seal_api::monitor::{ImageSnapshotState, Monitor, MonitorConfig};
    let dir = tempdir("damaged-image")?;
    let data = dir.join("data");
    let originals = corpus("images").join("originals");
    let mut names: Vec<String> =
        std::fs::read_dir(&originals)?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort();
    let files: Vec<PathBuf> = names.iter().take(3).map(|n| originals.join(n)).collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    import(&data, "rh-damaged", &refs)?;
    let snap = data.join("index").join("image.snap");
    let damage = |snap: &Path| -> Result<()> {
        let mut bytes = std::fs::read(snap)?;
        // Inside the windows' tables, before the checksum: only the full check sees it.
        let at = bytes.len() - 200;
        bytes[at] ^= 0x10;
        Ok(std::fs::write(snap, bytes)?)
    };
    damage(&snap)?;
    let query = std::fs::read(&files[1])?;
    let store = seal_api::store::SqliteStore::open_in(&data)?;
    let content = seal_api::content::ContentStore::open(&data)?;
    {
        let (mut monitor, report) = Monitor::open(&data, &store, &content, MonitorConfig::default())?;
        assert!(report.snapshots_loaded.1, "the damaged snapshot is used until its check fails: {report:?}");
        // Answers while (or after) the check runs, without a panic.
        let _ = monitor.match_bytes(&store, &query, KindHint::Image, &Scope::All)?;
        let repaired = monitor.repair_damaged_images(&store, &content)?.context("the check finds the damage")?;
        assert_eq!((repaired.added, repaired.registered.1), (3, 3), "{repaired:?}");
        assert_eq!(monitor.image_snapshot_state(), ImageSnapshotState::Verified);
        let hits = monitor.match_bytes(&store, &query, KindHint::Image, &Scope::All)?;
        assert_eq!(hits.first().and_then(|h| h.file.as_deref()), Some(names[1].as_str()));
    }
    // The repair wrote a sound snapshot: the next open uses it and its check passes.
    {
        let (mut monitor, report) = Monitor::open(&data, &store, &content, MonitorConfig::default())?;
        assert!(report.snapshots_loaded.1 && report.added == 0, "{report:?}");
        assert!(monitor.repair_damaged_images(&store, &content)?.is_none());
    }
    // The command line's open waits for the check and repairs before it returns.
    damage(&snap)?;
    let open = DataDir::open(&data)?;
    assert!(!open.report.snapshots_loaded.1 && open.report.added == 3, "{:?}", open.report);
    assert_engine_ids_agree(&open)?;
    let hits = open.monitor.match_bytes(&open.store, &query, KindHint::Image, &Scope::All)?;
    assert_eq!(hits.first().and_then(|h| h.file.as_deref()), Some(names[1].as_str()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn assert_engine_ids_agree(open: &DataDir) -> Result<()> {
    let mut stored: Vec<_> = open.store.engine_ids()?.into_iter().map(|(id, _)| id).collect();
    stored.sort_unstable();
    assert_eq!(open.monitor.engine_ids(), stored, "the indexes must hold exactly the store's engine ids");
    Ok(())
}

/// A deterministic text of ~120 distinct-ish words for work `n`.
fn generated_text(n: u64) -> String {
    let mut state = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    let mut words = Vec::with_capacity(120);
    for _ in 0..120 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = 3 + (state % 7) as usize;
        let word: String = (0..len).map(|i| char::from(b'a' + ((state >> (i * 5)) % 26) as u8)).collect();
        words.push(word);
    }
    format!("Generated work {n}\n{}\n", words.join(" "))
}

#[test]
fn sigkill_during_a_bulk_import_leaves_every_stored_work_findable() -> Result<()> {
    let dir = tempdir("kill")?;
    let data = dir.join("data");
    let corpus_dir = dir.join("corpus");
    std::fs::create_dir_all(&corpus_dir)?;
    for n in 0..6000u64 {
        std::fs::write(corpus_dir.join(format!("g{n:05}.txt")), generated_text(n))?;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(["works", "import", "--json", "--owner", "rh-kill", "--data"])
        .arg(&data)
        .arg(&corpus_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // Wait until something is committed (polling the store, not the clock), then kill it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let committed = seal_api::store::SqliteStore::open_in(&data)
            .ok()
            .and_then(|s| s.content_counts().ok())
            .map_or(0, |(_, rows)| rows);
        if committed > 0 || child.try_wait()?.is_some() {
            break;
        }
        ensure!(std::time::Instant::now() < deadline, "the import committed nothing in two minutes");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill()?; // SIGKILL on Unix
    child.wait()?;

    let open = DataDir::open(&data)?;
    assert_engine_ids_agree(&open)?;
    let rows = open.store.content_rows()?;
    assert!(!rows.is_empty());
    // The kill came after the first batch of 1,000 committed, with five more to go: it landed mid-import.
    ensure!(rows.len() < 6000, "the import finished before the kill, so the test proved nothing");
    for row in &rows {
        let bytes = open.content.get(&row.sha256)?;
        let hits = open.monitor.match_bytes(&open.store, &bytes, KindHint::Text, &Scope::All)?;
        assert_eq!(hits.first().map(|h| &h.work), Some(&row.work), "work {} is not findable", row.work);
    }
    drop(open);
    // Finishing the import afterwards adds exactly the rest; nothing is registered twice.
    let report = import(&data, "rh-kill", &[&corpus_dir])?;
    assert_eq!(report["imported"].as_u64().unwrap_or_default() + report["skipped"].as_u64().unwrap_or_default(), 6000);
    assert_eq!(report["skipped"].as_u64(), Some(rows.len() as u64), "{}", report["failed"]);
    let open = DataDir::open(&data)?;
    assert_engine_ids_agree(&open)?;
    assert_eq!(open.store.content_counts()?, (6000, 6000));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn owner_scope_and_channel_checks() -> Result<()> {
    let dir = tempdir("scope")?;
    let data = dir.join("data");
    let file = corpus("text").join("originals").join("en-0001.txt");
    import(&data, "rh-one", &[&file])?;
    let output = Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(["works", "import", "--owner", "rh-one", "--channel", "nope", "--data"])
        .arg(&data)
        .arg(&file)
        .output()?;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a channel of rh-one"));
    // The same content for another owner is another work.
    let other = import(&data, "rh-two", &[&file])?;
    assert_eq!(other["imported"].as_u64(), Some(1));
    let open = DataDir::open(&data)?;
    let bytes = std::fs::read(&file)?;
    let all = open.monitor.match_bytes(&open.store, &bytes, KindHint::Text, &Scope::All)?;
    assert_eq!(all.len(), 2);
    let owner = seal_licensing::ids::PartyId::new("rh-two")?;
    let mine = open.monitor.match_bytes(&open.store, &bytes, KindHint::Text, &Scope::Owner(owner.clone()))?;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].owner, owner);
    let events = open.store.unpublished_events(10)?;
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.kind == "work.registered"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `seal demo --works N` the way the CLI runs it, in-process with a small checkpoint interval: the demo
/// works get their content once however often the demo loads, the bulk works keep their `bulk-{n}` ids,
/// and a bulk import with deferred checkpoints writes no snapshot until its end, yet reopens complete.
#[test]
fn demo_content_attaches_once_and_deferred_checkpoints_wait_for_the_end() -> Result<()> {
    use seal_api::content::ContentStore;
    use seal_api::monitor::{Monitor, MonitorConfig};
    use seal_api::services::{demo, registration};
    let dir = tempdir("demo")?;
    let now = seal_licensing::Timestamp::from_unix_ms(1_795_000_000_000);
    let config = MonitorConfig { checkpoint_records: 10, ..MonitorConfig::default() };
    let mut store = seal_api::store::SqliteStore::open_in(&dir)?;
    let content = ContentStore::open(&dir)?;
    let (mut monitor, _) = Monitor::open(&dir, &store, &content, config.clone())?;
    assert_eq!(demo::load(&mut store, &content, &mut monitor, now)?.attached, 6);
    assert_eq!(demo::load(&mut store, &content, &mut monitor, now)?.attached, 0, "loading again adds nothing");
    assert_eq!(store.unpublished_events(100)?.len(), 6);
    let other = registration::NewItem {
        kind: seal_api::domain::ContentKind::Text,
        bytes: b"a different body for a work already registered with another".to_vec(),
        file: None,
        source: None,
    };
    let work = seal_licensing::ids::WorkId::new("rh-a-w0")?;
    let refused = registration::attach_content(&mut store, &content, &mut monitor, &work, vec![other], now);
    assert!(refused.is_err(), "a work's content must be what its content_sha256 names");

    let snap = dir.join("index").join("text.snap");
    let _ = std::fs::remove_file(&snap);
    monitor.defer_checkpoints();
    for from in (0..40).step_by(10) {
        let batch = demo::bulk_works(from, from + 10);
        let results = registration::register_batch_with_ids(&mut store, &content, &mut monitor, batch, now)?;
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.new)));
        assert!(!snap.exists(), "a deferred import wrote a snapshot before its end");
    }
    monitor.checkpoint()?;
    assert!(snap.exists());
    // Once the import has ended, the server's bound applies again.
    let batch = demo::bulk_works(40, 52);
    registration::register_batch_with_ids(&mut store, &content, &mut monitor, batch, now)?;
    let log = std::fs::metadata(dir.join("index").join("log"))?.len();
    assert!(log < 200, "the log was not emptied by the next checkpoint ({log} bytes)");
    drop((monitor, store));

    let open = DataDir::open(&dir)?;
    assert_engine_ids_agree(&open)?;
    assert_eq!(open.monitor.len(), (58, 0));
    let (_, _, _, _, _, body) = seal_api::store::demo::bulk_work(17);
    let hits = open.monitor.match_bytes(&open.store, body.as_bytes(), KindHint::Text, &Scope::All)?;
    assert_eq!(hits.first().map(|h| h.work.as_str()), Some("bulk-17"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The demo's monitoring history (`seal demo`, `seal serve --demo`) is found by the real pipeline and
/// coloured by the classifier: copies on unknown sites are black, the partner's allowlisted portal is
/// white, and loading it again updates hits rather than adding any.
#[test]
fn demo_monitoring_colours_hits_through_the_pipeline() -> Result<()> {
    use seal_api::services::demo;
    use seal_api::store::monitoring::HitFilter;
    let dir = tempdir("demo-monitoring")?;
    let now = seal_licensing::Timestamp::from_unix_ms(1_795_000_000_000);
    let mut data = DataDir::open(&dir)?;
    demo::load(&mut data.store, &data.content, &mut data.monitor, now)?;
    let first = demo::monitoring(&mut data.store, &data.monitor, &data.pages, now)?;
    let again = demo::monitoring(&mut data.store, &data.monitor, &data.pages, now)?;
    assert_eq!((first.pages, first.hits), (again.pages, again.hits));
    let hits = data.store.hits(&HitFilter::default(), 100)?;
    assert_eq!(hits.len(), first.hits, "a second load duplicated hits");
    // The named pages (the two months of archive reprints beside them are for the reports).
    let colours: BTreeMap<String, String> = hits
        .iter()
        .filter(|h| !h.page_url.contains("/archive/"))
        .map(|h| match h.page_url.split_once("__biz=") {
            // WeChat articles share one host: the account (`__biz`) tells them apart.
            Some((_, biz)) => (format!("wechat:{}", &biz[..biz.find('&').unwrap_or(biz.len())]), h.colour.clone()),
            None => (h.domain.clone(), h.colour.clone()),
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("aggregator.example", "black"),
        ("copycat-news.example", "black"),
        ("m.weibo-mirror.example", "black"),
        ("partner-portal.example", "white"),
        // The account licensed by contract, and another account's copy.
        ("wechat:MzA5NDc1NzQ4MA==", "white"),
        ("wechat:MzkzODA0NTY3OA==", "black"),
    ]
    .into_iter()
    .map(|(d, c)| (d.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(colours, expected);
    assert_eq!(data.store.jobs(None)?.len(), 2, "the paused job and the pending submission, once");
    drop(data);

    // `seal search` (a fixed contract) over the same data: it brings the index up to the hits first.
    let d = dir.to_string_lossy().to_string();
    let found = seal(&["search", "--data", &d, "--json", "--limit", "50", "稻谷"], &[])?;
    let total = found["total"].as_u64().context("total")?;
    assert!(total >= 2, "{found}");
    let results = found["results"].as_array().context("results")?;
    for r in results {
        let keys: Vec<&str> = r.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        assert_eq!(keys, ["colour", "file", "snippet", "title", "url", "work"], "the contract's keys: {r}");
        assert!(r["file"].is_null() || r["file"].is_string());
    }
    assert!(results.iter().any(|r| r["snippet"].as_str().is_some_and(|s| s.contains("稻谷"))), "{found}");
    for facet in ["domain", "colour", "work"] {
        assert!(found["facets"][facet].is_object(), "{facet} facet: {found}");
    }
    assert_eq!(found.as_object().map(|o| o.len()), Some(3), "total, results, facets: {found}");
    assert_eq!(found["facets"].as_object().map(|o| o.len()), Some(3));
    let colours = &found["facets"]["colour"];
    let by_colour = colours["white"].as_u64().unwrap_or(0) + colours["black"].as_u64().unwrap_or(0);
    assert_eq!(by_colour, total);
    let black = seal(&["search", "--data", &d, "--json", "--colour", "black", "--limit", "50", "稻谷"], &[])?;
    assert_eq!(black["total"], colours["black"]);
    assert!(black["results"].as_array().is_some_and(|r| r.iter().all(|r| r["colour"] == "black")));
    let one =
        seal(&["search", "--data", &d, "--json", "--domain", "copycat-news.example", "--limit", "1", "稻谷"], &[])?;
    assert_eq!(one["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["facets"]["domain"].as_object().map(|m| m.len()), Some(1));
    // A rebuild answers the same; a malformed query is an error with a reason, not a crash.
    let out = Command::new(env!("CARGO_BIN_EXE_seal")).args(["search", "--data", &d, "reindex"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(seal(&["search", "--data", &d, "--json", "稻谷"], &[])?["total"], found["total"]);
    let out = Command::new(env!("CARGO_BIN_EXE_seal")).args(["search", "--data", &d, "\"unclosed"]).output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be read"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A long run writes the page index's snapshot as it goes (here after every batch), so a crash keeps
/// the pages already seen for retroactive matching; with the default interval a short run leaves it
/// to the caller. Reopening with a smaller retention keeps the newest pages.
#[test]
fn long_runs_snapshot_the_page_index_as_they_go() -> Result<()> {
    use seal_api::monitor::pages::PageStore;
    use seal_api::services::pipeline::{run, Item, PageInput, PipelineConfig, Progress, Targets};
    let now = seal_licensing::Timestamp::from_unix_ms(1_795_000_000_000);
    let page = |n: usize| PageInput {
        url: format!("https://news.example/{n}"),
        frontier_url: None,
        content_type: Some("text/html; charset=utf-8".into()),
        body: format!(
            "<html><body><p>Story {n}: the harbour council met on Tuesday to debate the ferry.</p></body></html>"
        )
        .into_bytes(),
        seen: now,
        images: Vec::new(),
        discovered: Vec::new(),
    };
    for (every, kept) in [(std::time::Duration::ZERO, 3), (std::time::Duration::from_secs(600), 0)] {
        let dir = tempdir("page-snapshots")?;
        let mut data = DataDir::open(&dir)?;
        let config = PipelineConfig { workers: 1, batch: 1, snapshot_every: every, ..PipelineConfig::default() };
        let targets = Targets { monitor: &data.monitor, pages: Some(&data.pages) };
        run(
            targets,
            &mut data.store,
            &config,
            || now,
            &Progress::default(),
            |tx| {
                for n in 0..3 {
                    if tx.send(Item::Page(page(n))).is_err() {
                        break;
                    }
                }
            },
        )?;
        // Reopened as after a crash: no end-of-run checkpoint was written.
        let reopened = PageStore::open(&dir, Default::default())?;
        assert_eq!(reopened.len(), kept, "snapshot every {every:?}");
        // A smaller retention (`page_retention`) keeps the newest pages rather than starting empty.
        let smaller = seal_engine::text::PageIndexConfig { retention: 2, ..Default::default() };
        assert_eq!(PageStore::open(&dir, smaller)?.len(), kept.min(2), "snapshot every {every:?}");
        drop(data);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
