//! Crash test (its own binary, as fault tests are): a child process runs purchases and settlement
//! passes against a real SQLite file and is killed with SIGKILL at a random moment, 50 times over,
//! restarting each time. After every kill the parent reopens the database and checks SQLite's
//! integrity and every licensing invariant (nothing settled twice, no invoice gap, debits equal
//! credits, escrow never negative); at the end it settles everything and checks every licence reached
//! one final state and was paid out once.
//!
//! The child is this same test binary, re-run with `SEAL_CRASH_DB` set and filtered to
//! [`crash_child_entry_point`], which does nothing when that variable is absent. The child announces
//! each step on stdout (`step N` before purchase N, `step 60` before the settlement pass), and the parent
//! kills it right after the step it picked at random is announced, so each kill lands inside the run's
//! work however fast or slow the disk is, not on a timer that a fast machine outruns.

use anyhow::{Context, Result};
use seal_api::store::{demo, Repository, SettleOptions, SqliteStore};
use seal_licensing::ids::{LicenceId, OperationId};
use seal_licensing::invariants;
use seal_licensing::licence::{LicenceStatus, ObjectionKind};
use seal_licensing::time::MS_PER_DAY;
use seal_licensing::Timestamp;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: u64 = 50;
const PURCHASES_PER_RUN: u64 = 60;

fn t0() -> Timestamp {
    Timestamp::parse("2026-11-01T00:00:00Z").expect("valid")
}

/// The clock of run `r`: two days per run, so 1-, 7- and 30-day publicity periods end along the way.
fn now_of(run: u64) -> Timestamp {
    t0().saturating_add_ms(run as i64 * 2 * MS_PER_DAY)
}

/// One child run's work: purchases (some objected to), then a settlement pass in small transactions.
fn child_work(db: &Path, run: u64) -> Result<()> {
    let mut store = SqliteStore::open(db)?;
    let now = now_of(run);
    let world = demo::seed(&mut store, t0())?;
    let announce = |step: u64| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "step {step}");
        let _ = out.flush();
    };
    for i in 0..PURCHASES_PER_RUN {
        announce(i);
        let n = run * PURCHASES_PER_RUN + i;
        store.purchase(&demo::purchase(&world, n), now)?;
        if n.is_multiple_of(7) {
            let op = OperationId::new(format!("obj-{n}"))?;
            store.object(&op, &LicenceId::new(format!("lic-{n}"))?, ObjectionKind::RefundRequest, now)?;
        }
    }
    announce(PURCHASES_PER_RUN);
    store.settle(now, SettleOptions { batch: 1 + (run % 4) as usize, payouts: true })?;
    announce(PURCHASES_PER_RUN + 1);
    Ok(())
}

#[test]
fn crash_child_entry_point() -> Result<()> {
    let (Ok(db), Ok(run)) = (std::env::var("SEAL_CRASH_DB"), std::env::var("SEAL_CRASH_RUN")) else {
        return Ok(()); // Not a child: nothing to do.
    };
    child_work(Path::new(&db), run.parse()?)
}

fn check(db: &Path, when: &str) -> Result<SqliteStore> {
    let store = SqliteStore::open(db)?;
    store.integrity_check()?;
    let snapshot = store.snapshot()?;
    let violations = invariants::check(&snapshot);
    assert!(violations.is_empty(), "{when}: {violations:#?}");
    Ok(store)
}

#[test]
fn settlement_survives_sigkill_at_random_points() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("seal.db");
    let exe = std::env::current_exe()?;
    let mut rng = 0x00C0_FFEE_u64;
    let mut killed_mid_run = 0;
    for run in 0..RUNS {
        // SplitMix64 step: which step to kill after (0..=60, the last being the settlement pass, which
        // commits in small batches), and a 0..2 ms pause so the kill falls inside that step's
        // transaction as often as between steps. Run 0 also covers start-up (migrations, seeding).
        rng = rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let target = if run == 0 { 0 } else { z % (PURCHASES_PER_RUN + 1) };
        let pause = Duration::from_micros((z >> 32) % 2_000);
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child_entry_point", "--test-threads=1", "--quiet", "--nocapture"])
            .env("SEAL_CRASH_DB", &db)
            .env("SEAL_CRASH_RUN", run.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("spawning the child")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let wanted = format!("step {target}");
        let reached = std::io::BufRead::lines(std::io::BufReader::new(stdout))
            .map_while(Result::ok)
            .any(|line| line.trim() == wanted);
        if reached {
            let start = Instant::now();
            while start.elapsed() < pause {
                std::hint::spin_loop();
            }
            child.kill()?; // SIGKILL on Unix: no destructor, no rollback, no flush runs in the child.
        }
        let status = child.wait()?;
        if !status.success() {
            killed_mid_run += 1;
        }
        check(&db, &format!("after run {run}"))?;
    }
    // Restart once more and finish: resolve every objection, wait out every period, settle.
    let mut store = check(&db, "before the final pass")?;
    let frozen: Vec<LicenceId> = store
        .snapshot()?
        .licences
        .values()
        .filter(|l| l.status == LicenceStatus::Frozen)
        .map(|l| l.id.clone())
        .collect();
    for (i, lic) in frozen.iter().enumerate() {
        let res = if i % 2 == 0 {
            seal_licensing::licence::Resolution::Refund
        } else {
            seal_licensing::licence::Resolution::Release
        };
        store.resolve(&OperationId::new(format!("final-{lic}"))?, lic, res, now_of(RUNS))?;
    }
    store.settle(now_of(RUNS).saturating_add_ms(400 * MS_PER_DAY), SettleOptions::default())?;
    let store = check(&db, "after the final pass")?;
    let snapshot = store.snapshot()?;
    for l in snapshot.licences.values() {
        match l.status {
            LicenceStatus::Refunded => {}
            LicenceStatus::Settled => assert!(l.payout.is_some(), "{} never paid out", l.id),
            other => panic!("licence {} ended {other:?}", l.id),
        }
    }
    eprintln!(
        "{RUNS} runs, {killed_mid_run} killed mid-run; {} licences, {} invoices, {} payouts",
        snapshot.licences.len(),
        snapshot.invoices.len(),
        snapshot.payouts.len()
    );
    // Each kill follows a step announcement with work still to do, so (almost) every run dies mid-way.
    assert!(
        killed_mid_run >= RUNS * 9 / 10,
        "only {killed_mid_run} of {RUNS} runs were killed mid-way: the step announcements did not arrive"
    );
    assert!(snapshot.licences.len() > 100);
    Ok(())
}
