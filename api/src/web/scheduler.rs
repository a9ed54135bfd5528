//! The server's monitoring scheduler: one background thread that, every few seconds, applies pending
//! domain events (recolouring hits when licences or allowlists change, matching newly registered
//! works against the pages already seen) and runs the monitoring jobs
//! that are due, one at a time, resuming any run a restart interrupted.
//!
//! A run gets its own SQLite connection (the pipeline commits in batches; the request handlers'
//! connection waits on SQLite's lock for at most a batch) and reads the shared monitor under its read
//! lock per page, so registration and matching requests are never held up for a whole crawl.

use super::State;
use crate::services::crawl::{run_job, CrawlSettings, RunProgress};
use crate::services::pipeline::Targets;
use crate::services::retro::drain_retro;
use crate::services::subscribers::drain_recolour;
use crate::store::prelude::*;
use crate::store::SqliteStore;
use std::time::Duration;

/// How often the scheduler looks for work.
const TICK: Duration = Duration::from_secs(5);

/// Starts the scheduler thread (once per server).
pub fn spawn(state: State) {
    std::thread::Builder::new()
        .name("seal-monitoring".into())
        .spawn(move || loop {
            tick(&state);
            std::thread::sleep(TICK);
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "could not start the monitoring scheduler"));
}

/// One pass: events, then every due job.
pub fn tick(state: &State) {
    {
        let mut store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        match drain_recolour(&mut store, state.now()) {
            Ok(d) if d.recoloured > 0 => tracing::info!(events = d.events, hits = d.recoloured, "hits recoloured"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "recolouring"),
        }
        match drain_retro(&mut store, &state.content, &state.pages, state.now()) {
            Ok(n) if n > 0 => tracing::info!(hits = n, "new works found on pages already seen"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retroactive matching"),
        }
    }
    let mut store = match SqliteStore::open_in(&state.config.data) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the monitoring scheduler could not open the store");
            return;
        }
    };
    let due = match store.due_jobs(state.now()) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "listing due monitoring jobs");
            return;
        }
    };
    for job in due {
        let settings = CrawlSettings::default();
        let progress = RunProgress::default();
        let clock = || state.now();
        let targets = Targets { monitor: &state.monitor, pages: Some(&state.pages) };
        let run = run_job(targets, &mut store, &state.fetcher, &job, &settings, clock, &progress);
        if let Err(e) = state.pages.checkpoint() {
            tracing::warn!(error = %e, "writing the page index snapshot");
        }
        match run {
            Ok(outcome) => tracing::info!(
                job = %job.id,
                pages = outcome.stats.pages_fetched,
                errors = outcome.stats.errors,
                hits = outcome.hits.len(),
                resumed = outcome.resumed,
                "monitoring job finished"
            ),
            Err(e) => tracing::warn!(job = %job.id, error = %e, "monitoring job failed"),
        }
    }
}
