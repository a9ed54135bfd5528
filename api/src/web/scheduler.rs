//! The server's monitoring scheduler: one background thread that, every few seconds, applies pending
//! domain events (recolouring hits when licences or allowlists change, matching newly registered
//! works against the pages already seen) and runs the monitoring jobs
//! that are due, one at a time, resuming any run a restart interrupted; once an hour it also runs
//! automatic inclusion (the sealed pages of verified channels become works). Each pass also brings the
//! search index up to the hits, queues the weekly usage summaries that are due, and asks the external
//! time-stamp authority, if one is set, about registrations it has not stamped.
//!
//! A run gets its own SQLite connection (the pipeline commits in batches; the request handlers'
//! connection waits on SQLite's lock for at most a batch) and reads the shared monitor under its read
//! lock per page, so registration and matching requests are never held up for a whole crawl.

use super::State;
use crate::services::crawl::{run_job, CrawlSettings, RunProgress};
use crate::services::inclusion;
use crate::services::pipeline::Targets;
use crate::services::registration::register_batch;
use crate::services::retro::drain_retro;
use crate::services::subscribers::drain_recolour;
use crate::store::prelude::*;
use crate::store::SqliteStore;
use std::time::Duration;

/// How often the scheduler looks for work.
const TICK: Duration = Duration::from_secs(5);

/// How long a job whose run failed waits before it is tried again: 15 minutes, doubling with every
/// failure in a row up to a day (a failed run that was resuming keeps its frontier).
const RETRY_FAILED_JOB_MS: i64 = 15 * 60_000;
const RETRY_FAILED_JOB_MAX_MS: i64 = 24 * 3_600_000;

/// The wait after a job's `failures`-th failure in a row (counting this one from 1).
fn retry_wait_ms(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(16);
    RETRY_FAILED_JOB_MS.saturating_mul(1 << doublings).min(RETRY_FAILED_JOB_MAX_MS)
}

/// How often automatic inclusion reads the verified channels.
const INCLUDE_EVERY_MS: i64 = 3_600_000;

static LAST_INCLUSION: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);

/// Automatic inclusion, at most once an hour: the channels are planned under the store's lock,
/// fetched with no lock held, and the sealed pages registered under the store's and the monitor's
/// locks (in that order).
fn include_channels(state: &State) {
    use std::sync::atomic::Ordering;
    let now = state.now().unix_ms();
    let last = LAST_INCLUSION.load(Ordering::Relaxed);
    if last != i64::MIN && now.saturating_sub(last) < INCLUDE_EVERY_MS {
        return;
    }
    LAST_INCLUSION.store(now, Ordering::Relaxed);
    let planned = {
        let store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        match inclusion::plan(&store) {
            Ok(p) => p,
            Err(e) => return tracing::warn!(error = %e, "planning automatic inclusion"),
        }
    };
    if planned.is_empty() {
        return;
    }
    let (mut works, report) = inclusion::fetch_planned(&state.fetcher, &planned, Duration::from_millis(250));
    let mut store = state.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut monitor = state.monitor.write().unwrap_or_else(|p| p.into_inner());
    for work in &mut works {
        inclusion::keep_usable_images(&monitor, work);
    }
    match register_batch(&mut store, &state.content, &mut monitor, works, state.now()) {
        Ok(results) => {
            let new = results.iter().filter(|r| r.as_ref().is_ok_and(|r| r.new)).count();
            tracing::info!(channels = report.channels, sealed = report.sealed_pages, new, "automatic inclusion");
        }
        Err(e) => tracing::warn!(error = %e, "automatic inclusion"),
    }
}

/// Rebuilds the image matcher when the check of the snapshot it was opened from failed (the server
/// answers from the snapshot while its check runs; see `ImageSnapshotState`). Under the store's and
/// the monitor's locks, in that order; a pass where the check is running or passed takes neither
/// for more than a look.
fn repair_image_snapshot(state: &State) {
    use crate::monitor::ImageSnapshotState;
    let damaged = matches!(
        state.monitor.read().unwrap_or_else(|p| p.into_inner()).image_snapshot_state(),
        ImageSnapshotState::Damaged(_)
    );
    if !damaged {
        return;
    }
    let store = state.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut monitor = state.monitor.write().unwrap_or_else(|p| p.into_inner());
    match monitor.repair_damaged_images(&store, &state.content) {
        Ok(Some(report)) => tracing::info!(
            images = report.registered.1,
            unrepairable = report.unrepairable.len(),
            "image matcher rebuilt from the store"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "rebuilding the image matcher"),
    }
}

/// Starts the scheduler thread (once per server).
pub fn spawn(state: State) {
    std::thread::Builder::new()
        .name("seal-monitoring".into())
        .spawn(move || loop {
            repair_image_snapshot(&state);
            tick(&state);
            include_channels(&state);
            std::thread::sleep(TICK);
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "could not start the monitoring scheduler"));
}

/// Brings the search index up to the hits: each batch of changes is read under the store's lock and
/// indexed after it is released.
pub fn sync_search(state: &State) {
    let fetch = |after: i64, limit: usize| {
        let store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        store.hits_changed(after, limit)
    };
    match crate::services::search::sync(&state.search, fetch, |_| {}) {
        Ok(n) if n > 0 => tracing::info!(documents = n, "search index updated"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "updating the search index"),
    }
}

/// Rights protection's share of a pass: black hits of holders with automatic protection become
/// cases, every page of an open case is captured as evidence (fetched with no lock held), and
/// reminders and expiries go out.
fn protect(state: &State) {
    use crate::services::{cases, evidence};
    let pending = {
        let mut store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        match cases::auto_protect(&mut store, state.now()) {
            Ok(n) if n > 0 => tracing::info!(cases = n, "automatic protection opened or joined cases"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "automatic protection"),
        }
        match cases::sweep(&mut store, &state.config.public_url, state.now()) {
            Ok((r, x)) if r + x > 0 => tracing::info!(reminders = r, expired = x, "settlement deadlines"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "settlement deadlines"),
        }
        match store.uncaptured(evidence::MAX_ATTEMPTS, 8) {
            Ok(p) => p,
            Err(e) => return tracing::warn!(error = %e, "listing pages to capture"),
        }
    };
    if pending.is_empty() {
        return;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return tracing::error!(error = %e, "starting the capture runtime"),
    };
    for (case_id, hit, url, holder) in pending {
        let taken = match evidence::parse_url(&url) {
            Ok(u) => {
                runtime.block_on(evidence::take(&state.fetcher, &state.evidence, &state.notary, &u, || state.now()))
            }
            Err(e) => Err(e),
        };
        let mut store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        let filed = match taken {
            Ok(t) => {
                evidence::file(&mut store, &state.content, &t, Some(&holder), Some(&case_id), Some(hit), state.now())
                    .map(|c| tracing::info!(case = %case_id, capture = %c.id, url = %url, "evidence captured"))
            }
            Err(e) => Err(e),
        };
        if let Err(e) = filed {
            tracing::warn!(case = %case_id, url = %url, error = %e, "evidence capture failed");
            if let Err(e) = store.capture_failed(&case_id, hit, &e.to_string()) {
                tracing::warn!(error = %e, "recording a failed capture");
            }
        }
    }
}

/// One pass: events, the search index, then every due job (automatic inclusion runs beside it,
/// hourly); the search index again after each job.
pub fn tick(state: &State) {
    // Each drain takes the store for itself, so that a request waits for one drain at most, not for
    // the whole pass (the notary and retroactive matching can take seconds on a large backlog).
    let store = || state.store.lock().unwrap_or_else(|p| p.into_inner());
    match drain_recolour(&mut store(), state.now()) {
        Ok(d) if d.recoloured > 0 => tracing::info!(events = d.events, hits = d.recoloured, "hits recoloured"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "recolouring"),
    }
    match crate::services::notifications::drain_notify(&mut store(), &state.config.public_url, state.now()) {
        Ok(n) if n.notifications > 0 => {
            tracing::info!(notifications = n.notifications, mails = n.mails, "holders notified")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "notifying holders"),
    }
    let seals = (&state.seals, state.config.public_url.as_str());
    match state.notary.run(&mut store(), &state.content, Some(seals), state.now()) {
        Ok(n) if n > 0 => tracing::info!(works = n, "registrations timestamped and logged"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "notarising"),
    }
    match drain_retro(&mut store(), &state.content, &state.pages, state.now()) {
        Ok(n) if n > 0 => tracing::info!(hits = n, "new works found on pages already seen"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "retroactive matching"),
    }
    match crate::services::reports::send_weekly_summaries(&mut store(), &state.config.public_url, state.now()) {
        Ok(n) if n > 0 => tracing::info!(mails = n, "weekly summaries queued"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "weekly summaries"),
    }
    let due = match store().due_jobs(state.now()) {
        Ok(d) => d,
        Err(e) => return tracing::warn!(error = %e, "listing due monitoring jobs"),
    };
    sync_search(state);
    protect(state);
    if let Some(external) = &state.external_tsa {
        match external.run(&state.store, &state.fetcher, || state.now()) {
            Ok(r) if r.stamped > 0 => {
                tracing::info!(tokens = r.stamped, authority = %external.url(), "external timestamps")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "asking the external time-stamp authority"),
        }
    }
    if due.is_empty() {
        return;
    }
    // Runs get a connection of their own (opened only when there is one to run): see the module docs.
    let mut store = match SqliteStore::open_in(&state.config.data) {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "the monitoring scheduler could not open the store"),
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
        sync_search(state);
        match run {
            Ok(outcome) => tracing::info!(
                job = %job.id,
                pages = outcome.stats.pages_fetched,
                errors = outcome.stats.errors,
                hits = outcome.hits.len(),
                resumed = outcome.resumed,
                "monitoring job finished"
            ),
            Err(e) => {
                // Not again at the next tick: a failing job would otherwise run every few seconds.
                let until = state.now().saturating_add_ms(retry_wait_ms(job.failures.saturating_add(1)));
                tracing::warn!(job = %job.id, error = %e, retry_at = %until, "monitoring job failed");
                if let Err(e) = store.postpone_job(&job.id, until, &e.to_string()) {
                    tracing::warn!(job = %job.id, error = %e, "postponing a failed monitoring job");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_jobs_back_off_doubling_up_to_a_day() {
        let minutes: Vec<i64> = (1..=9).map(|n| retry_wait_ms(n) / 60_000).collect();
        assert_eq!(minutes, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
        assert_eq!(retry_wait_ms(u32::MAX), RETRY_FAILED_JOB_MAX_MS);
    }
}
