//! `seal works import`: registers files as works of one rights holder through the same registration
//! service the web paths use, in batches (one content flush, one SQLite transaction and one index-log
//! fsync per batch), then snapshots the indexes. The JSON keys are a fixed contract.

use super::eval::progress;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use seal_api::domain::ContentKind;
use seal_api::services::import::{base_name, collect_files, ensure_owner, kind_of_path, work_from_file, DataDir};
use seal_api::services::registration::{register_batch, NewWork};
use serde::Serialize;
use std::path::PathBuf;

/// Works per batch: one durable commit each.
const BATCH: usize = 1000;

/// `seal works …`.
#[derive(Subcommand, Debug)]
pub enum WorksCommand {
    /// Register .txt (first line is the title), .html/.htm and image files as works of a rights holder.
    Import(ImportArgs),
}

/// Arguments of `seal works import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Data directory (holds seal.db, content/ and index/).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// The rights holder (party id); created if missing.
    #[arg(long)]
    pub owner: String,
    /// A channel of that rights holder the works were published on.
    #[arg(long)]
    pub channel: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Files and directories (walked, sorted).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Failed {
    path: String,
    error: String,
}

#[derive(Serialize)]
struct Imported {
    path: String,
    file: String,
    id: String,
    kind: &'static str,
    new: bool,
}

#[derive(Serialize, Default)]
struct Report {
    imported: usize,
    skipped: usize,
    failed: Vec<Failed>,
    works: Vec<Imported>,
}

/// Runs `seal works …`.
pub fn run(cmd: &WorksCommand) -> Result<()> {
    match cmd {
        WorksCommand::Import(args) => import(args),
    }
}

fn import(args: &ImportArgs) -> Result<()> {
    let now = super::settle::parse_now(None)?;
    let mut data = DataDir::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let (holder, channel) = ensure_owner(&mut data.store, &args.owner, args.channel.as_deref())?;
    let files = collect_files(&args.paths).context("listing the files to import")?;
    let bar = progress(files.len(), "import");
    let mut report = Report::default();
    // Snapshots once at the end (below) instead of every 20,000 works; the log keeps every batch
    // durable meanwhile (see `Monitor::defer_checkpoints`).
    data.monitor.defer_checkpoints();
    for chunk in files.chunks(BATCH) {
        let mut works: Vec<NewWork> = Vec::with_capacity(chunk.len());
        let mut paths: Vec<&PathBuf> = Vec::with_capacity(chunk.len());
        for path in chunk {
            let work = std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| work_from_file(path, bytes, &holder.id, channel.as_ref(), &holder.name));
            match work {
                Ok(work) => {
                    works.push(work);
                    paths.push(path);
                }
                Err(error) => report.failed.push(Failed { path: path.display().to_string(), error }),
            }
        }
        let results = register_batch(&mut data.store, &data.content, &mut data.monitor, works, now)
            .context("registering a batch of works")?;
        for (path, result) in paths.into_iter().zip(results) {
            match result {
                Ok(registered) => {
                    if registered.new {
                        report.imported += 1;
                    } else {
                        report.skipped += 1;
                    }
                    let kind = if kind_of_path(path) == Some(ContentKind::Image) { "image" } else { "text" };
                    report.works.push(Imported {
                        path: path.display().to_string(),
                        file: base_name(path),
                        id: registered.work.to_string(),
                        kind,
                        new: registered.new,
                    });
                }
                Err(error) => report.failed.push(Failed { path: path.display().to_string(), error: error.to_string() }),
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    if report.imported > 0 {
        data.monitor.checkpoint().context("writing index snapshots")?;
        // New works are looked for at once on the pages already crawled or ingested.
        seal_api::services::retro::drain_retro(&mut data.store, &data.content, &data.pages, now)
            .context("retroactive matching")?;
        // Each new work's proof: ISCC codes, a trusted timestamp and its transparency-log entry.
        let notary = super::proof::open_notary(&args.data, &mut data.store, &data.content, now)?;
        notary.run(&mut data.store, &data.content, None, now).context("timestamping and logging the works")?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{} imported, {} already registered, {} failed (owner {}, data {})",
        report.imported,
        report.skipped,
        report.failed.len(),
        holder.id,
        args.data.display()
    );
    for failed in report.failed.iter().take(50) {
        println!("  failed {}: {}", failed.path, failed.error);
    }
    Ok(())
}
