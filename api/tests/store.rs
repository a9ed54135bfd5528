//! SQLite store tests: real database files in temporary directories, the same operation code as the
//! in-memory simulation, and the invariants checked on what is on disk.

use anyhow::Result;
use seal_api::store::prelude::*;
use seal_api::store::{demo, SettleOptions, SqliteStore, StoreError};
use seal_licensing::book::{self, BookError, BookStore};
use seal_licensing::ids::{LicenceId, OfferId, OperationId};
use seal_licensing::invariants;
use seal_licensing::licence::{LicenceStatus, ObjectionKind, Resolution};
use seal_licensing::memory::MemoryBook;
use seal_licensing::money::MoneyError;
use seal_licensing::time::MS_PER_DAY;
use seal_licensing::Timestamp;

fn t0() -> Timestamp {
    Timestamp::parse("2026-11-01T00:00:00Z").expect("valid")
}

fn days(n: i64) -> Timestamp {
    t0().saturating_add_ms(n * MS_PER_DAY)
}

fn open() -> Result<(tempfile::TempDir, SqliteStore)> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_in(dir.path())?;
    Ok((dir, store))
}

fn assert_invariants(store: &SqliteStore) -> Result<()> {
    let violations = invariants::check(&store.snapshot()?);
    assert!(violations.is_empty(), "{violations:#?}");
    Ok(())
}

#[test]
fn fresh_database_is_wal_full_and_migrated_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_in(dir.path())?;
    assert_eq!(store.durability()?, ("wal".to_owned(), 2));
    assert_eq!(store.schema_version()?, 18);
    drop(store);
    let store = SqliteStore::open_in(dir.path())?;
    assert_eq!(store.schema_version()?, 18);
    store.integrity_check()?;
    // Every table is STRICT: a float or text in a money column is refused by SQLite itself.
    let conn = rusqlite::Connection::open(dir.path().join("seal.db"))?;
    let err = conn.execute("INSERT INTO accounts VALUES ('escrow@CNY', 'CNY', 'lots', 0, 0, 0)", []);
    assert!(err.is_err());
    Ok(())
}

#[test]
fn purchase_holds_until_the_publicity_period_ends_then_settles_and_pays_out() -> Result<()> {
    let (_dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    for n in 0..9 {
        let out = store.purchase(&demo::purchase(&world, n), t0())?;
        assert_eq!(out.value.status, LicenceStatus::Held);
    }
    assert_invariants(&store)?;
    // Nothing is due on the day of purchase.
    let r = store.settle(t0(), SettleOptions::default())?;
    assert!(r.invoices.is_empty() && r.payouts.is_empty());
    // After 8 days the 7-day and 1-day holders settle; the 30-day one does not.
    let r = store.settle(days(8), SettleOptions::default())?;
    assert_eq!(r.invoices.len(), 6);
    assert_eq!(r.invoices.iter().map(|n| n.number).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(r.payouts.len(), 2);
    assert_invariants(&store)?;
    let settled = store.licence(&LicenceId::new("lic-0")?)?.expect("exists");
    assert_eq!(settled.status, LicenceStatus::Settled);
    assert!(settled.payout.is_some());
    let invoice = store.invoice_for(&settled.id)?.expect("invoiced");
    assert_eq!(invoice.total, settled.price.amount);
    assert_eq!(invoice.to_json()["total"], "19.99");
    // A second pass at the same time does nothing.
    let r = store.settle(days(8), SettleOptions::default())?;
    assert!(r.invoices.is_empty() && r.payouts.is_empty());
    let r = store.settle(days(31), SettleOptions::default())?;
    assert_eq!(r.invoices.len(), 3);
    assert_invariants(&store)?;
    let escrow: i64 =
        store.accounts()?.iter().filter(|a| a.id.to_string().starts_with("escrow")).map(|a| a.credit_balance()).sum();
    assert_eq!(escrow, 0);
    Ok(())
}

#[test]
fn bad_input_is_a_typed_error_and_writes_nothing() -> Result<()> {
    let (_dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    store.purchase(&demo::purchase(&world, 0), t0())?;
    let before = store.snapshot()?;
    let mut cmd = demo::purchase(&world, 1);
    let mut payment = cmd.payment.clone().expect("paid");

    payment.amount_minor = -1999;
    cmd.payment = Some(payment.clone());
    assert!(matches!(store.purchase(&cmd, t0()), Err(StoreError::Book(BookError::Money(MoneyError::Negative(_))))));

    payment.amount_minor = i64::MAX;
    cmd.payment = Some(payment.clone());
    assert!(matches!(store.purchase(&cmd, t0()), Err(StoreError::Book(BookError::Money(MoneyError::TooLarge(_))))));

    payment.amount_minor = 500;
    payment.currency = "RMB".into();
    cmd.payment = Some(payment.clone());
    assert!(matches!(
        store.purchase(&cmd, t0()),
        Err(StoreError::Book(BookError::Money(MoneyError::UnknownCurrency(_))))
    ));

    payment.currency = "CNY".into();
    payment.amount_minor = 1;
    cmd.payment = Some(payment);
    assert!(matches!(store.purchase(&cmd, t0()), Err(StoreError::Book(BookError::PaymentMismatch { .. }))));

    // The id of licence 0 replayed with a different body.
    let mut replay = demo::purchase(&world, 0);
    replay.licensee_name = "someone else".into();
    assert!(matches!(store.purchase(&replay, t0()), Err(StoreError::Book(BookError::IdConflict { .. }))));

    // An expired offer.
    let mut offer = store.snapshot()?.offers.values().next().cloned().expect("offers");
    offer.id = OfferId::new("short-lived")?;
    offer.target = seal_licensing::offer::OfferTarget::Work(world.paid[0].1.clone());
    offer.valid_until = Some(days(1));
    store.publish_offer(&offer)?;
    let before = {
        let mut b = before;
        b.offers.insert(offer.id.clone(), offer.clone());
        b
    };
    let mut late = demo::purchase(&world, 3);
    late.offer = offer.id.clone();
    late.work = world.paid[0].1.clone();
    assert!(matches!(store.purchase(&late, days(2)), Err(StoreError::Book(BookError::OfferClosed(_)))));

    // A ledger-level failure inside an operation rolls the whole operation back: refunding a licence
    // that is not frozen is refused before any write, and objecting after the period likewise.
    let op = OperationId::new("late-objection")?;
    let lic = LicenceId::new("lic-0")?;
    assert!(matches!(
        store.object(&op, &lic, ObjectionKind::RefundRequest, days(30)),
        Err(StoreError::Book(BookError::PublicityOver(_)))
    ));
    assert!(matches!(
        store.resolve(&op, &lic, Resolution::Refund, t0()),
        Err(StoreError::Book(BookError::WrongStatus { .. }))
    ));
    assert_eq!(store.snapshot()?, before, "a refused operation wrote something");
    assert_invariants(&store)?;
    Ok(())
}

#[test]
fn duplicate_deliveries_are_answered_from_the_first() -> Result<()> {
    let (_dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    let cmd = demo::purchase(&world, 7);
    assert!(!store.purchase(&cmd, t0())?.replayed);
    let op = OperationId::new("obj-1")?;
    store.object(&op, &cmd.licence_id, ObjectionKind::OwnershipDispute, t0())?;
    let before = store.snapshot()?;
    assert!(store.purchase(&cmd, t0())?.replayed);
    assert!(store.object(&op, &cmd.licence_id, ObjectionKind::OwnershipDispute, t0())?.replayed);
    assert!(matches!(
        store.object(&op, &cmd.licence_id, ObjectionKind::RefundRequest, t0()),
        Err(StoreError::Book(BookError::IdConflict { .. }))
    ));
    assert_eq!(store.snapshot()?, before);
    let refunded = store.resolve(&OperationId::new("res-1")?, &cmd.licence_id, Resolution::Refund, t0())?;
    assert_eq!(refunded.value.status, LicenceStatus::Refunded);
    assert_invariants(&store)?;
    Ok(())
}

#[test]
fn the_database_itself_refuses_edits_to_transfers_and_gaps_in_invoices() -> Result<()> {
    let (dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    store.purchase(&demo::purchase(&world, 0), t0())?;
    store.settle(days(8), SettleOptions::default())?;
    let conn = rusqlite::Connection::open(dir.path().join("seal.db"))?;
    assert!(conn.execute("UPDATE transfers SET amount = amount + 1", []).is_err());
    assert!(conn.execute("DELETE FROM transfers", []).is_err());
    let gap = conn.execute(
        "INSERT INTO invoices (series, number, licence, currency, total_minor, issued_at, doc)
         SELECT series, number + 2, 'lic-x', currency, total_minor, issued_at, doc FROM invoices",
        [],
    );
    assert!(gap.is_err());
    assert!(conn.execute("UPDATE licences SET status = 'held' WHERE status = 'settled'", []).is_err());
    assert!(conn.execute("UPDATE licences SET payout = 'other' WHERE payout IS NOT NULL", []).is_err());
    Ok(())
}

/// SplitMix64, as in the licensing simulation.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// The memory store's equivalent of [`Repository::settle`]: the same steps in the same order.
fn settle_memory(book: &mut MemoryBook, now: Timestamp) {
    loop {
        let due = book.due_licences(now, 256).expect("memory");
        if due.is_empty() {
            break;
        }
        book.atomically(|b| -> Result<(), BookError> {
            for id in &due {
                book::settle_licence(b, id, now)?;
            }
            Ok(())
        })
        .expect("settles");
    }
    for (holder, cur) in book.unpaid_holders().expect("memory") {
        while book.atomically(|b| book::pay_out(b, &holder, cur, now)).expect("payout").is_some() {}
    }
}

#[test]
fn sqlite_and_memory_stores_agree_on_random_operations() -> Result<()> {
    let (_dir, mut store) = open()?;
    let mut mem = MemoryBook::default();
    let world = demo::seed(&mut store, t0())?;
    for h in store.snapshot()?.holders.values() {
        mem.atomically(|b| book::register_holder(b, h))?;
    }
    let snap = store.snapshot()?;
    for c in snap.channels.values() {
        let mut c = c.clone();
        c.default_offers.clear();
        mem.atomically(|b| book::register_channel(b, &c))?;
    }
    for w in snap.works.values() {
        mem.atomically(|b| book::register_work(b, w))?;
    }
    for o in snap.offers.values() {
        mem.atomically(|b| book::publish_offer(b, o))?;
    }
    assert_eq!(mem.snapshot(), store.snapshot()?);
    let mut rng = Rng(2026);
    let mut now = t0();
    let mut next = 0_u64;
    for step in 0..1500 {
        match rng.below(10) {
            0..=3 => {
                let mut cmd = demo::purchase(&world, next);
                next += 1;
                if rng.below(10) == 0 {
                    if let Some(p) = cmd.payment.as_mut() {
                        p.amount_minor = -p.amount_minor;
                    }
                }
                let a = store.purchase(&cmd, now);
                let b = mem.atomically(|m| book::purchase(m, &cmd, now));
                assert_eq!(a.is_ok(), b.is_ok(), "step {step}");
            }
            4 | 5 => {
                let lic = LicenceId::new(format!("lic-{}", rng.below(next.max(1))))?;
                let op = OperationId::new(format!("op-{step}"))?;
                let kind =
                    if rng.below(2) == 0 { ObjectionKind::RefundRequest } else { ObjectionKind::OwnershipDispute };
                let a = store.object(&op, &lic, kind, now);
                let b = mem.atomically(|m| book::object(m, &op, &lic, kind, now));
                assert_eq!(a.is_ok(), b.is_ok(), "step {step}");
            }
            6 => {
                let lic = LicenceId::new(format!("lic-{}", rng.below(next.max(1))))?;
                let op = OperationId::new(format!("op-{step}"))?;
                let res = if rng.below(2) == 0 { Resolution::Refund } else { Resolution::Release };
                let a = store.resolve(&op, &lic, res, now);
                let b = mem.atomically(|m| book::resolve(m, &op, &lic, res, now));
                assert_eq!(a.is_ok(), b.is_ok(), "step {step}");
            }
            7 | 8 => now = now.saturating_add_ms(rng.below(5 * MS_PER_DAY as u64) as i64),
            _ => {
                store.settle(now, SettleOptions { batch: 1 + rng.below(50) as usize, payouts: true })?;
                settle_memory(&mut mem, now);
            }
        }
        if step % 100 == 0 {
            assert_invariants(&store)?;
        }
    }
    assert_invariants(&store)?;
    assert_eq!(mem.snapshot(), store.snapshot()?, "SQLite and memory stores diverged");
    let s = store.snapshot()?;
    assert!(s.licences.values().any(|l| l.status == LicenceStatus::Refunded));
    assert!(s.licences.values().any(|l| l.payout.is_some()));
    Ok(())
}

#[test]
fn batched_purchases_commit_together_and_refuse_individually() -> Result<()> {
    let (_dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    let mut cmds: Vec<_> = (0..50).map(|n| demo::purchase(&world, n)).collect();
    if let Some(p) = cmds[10].payment.as_mut() {
        p.currency = "XXX".into();
    }
    let results = store.purchase_batch(&cmds, t0())?;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 49);
    assert!(results[10].is_err());
    assert!(store.licence(&cmds[10].licence_id)?.is_none());
    assert_invariants(&store)?;
    Ok(())
}

#[test]
fn letters_verify_offline_and_detect_tampering() -> Result<()> {
    let (dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    let cmd = demo::purchase(&world, 0);
    store.purchase(&cmd, t0())?;
    let key = seal_api::keys::load_or_create(dir.path())?;
    let again = seal_api::keys::load_or_create(dir.path())?;
    assert_eq!(key.public(), again.public(), "the key is created once and then reused");
    let letter = seal_api::letters::issue_letter(&store, &key, &cmd.licence_id, t0())?;
    let payload = seal_licensing::letter::verify_letter(letter.as_bytes(), &key.public())?;
    assert_eq!(payload["licence_id"], "lic-0");
    assert_eq!(payload["work"]["content_sha256"].as_str().map(str::len), Some(64));
    assert_eq!(payload["payment"]["amount"], "19.99");
    assert_eq!(payload["kid"], key.public().kid());
    let mut tampered = letter.clone().into_bytes();
    tampered[40] ^= 1;
    assert!(seal_licensing::letter::verify_letter(&tampered, &key.public()).is_err());

    // The readable forms. Without any font on the machine the PDF is refused with a typed error.
    match seal_api::pdf::find_font(dir.path()) {
        Ok(font) => {
            let pdf = seal_api::pdf::letter_pdf(&payload, &font)?;
            assert!(pdf.starts_with(b"%PDF-"));
            store.settle(days(8), SettleOptions::default())?;
            let invoice = store.invoice_for(&cmd.licence_id)?.expect("settled");
            let pdf = seal_api::pdf::invoice_pdf(&invoice.to_json(), &font)?;
            assert!(pdf.starts_with(b"%PDF-"));
        }
        Err(e) => {
            assert!(matches!(e, seal_api::pdf::PdfError::NoFont));
            // .ci/run installs a CJK font and sets SEAL_REQUIRE_PDF_FONT, so there a missing font is a
            // broken setup that fails, not a silent skip.
            assert!(
                std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_none(),
                "no CJK font found although .ci/run installs one: the PDF tests would not run"
            );
        }
    }
    Ok(())
}

#[test]
fn reports_read_plain_columns_for_days_and_sites() -> Result<()> {
    let (_dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    // Ten licences today, five two days later.
    for n in 0..10 {
        store.purchase(&demo::purchase(&world, n), days(0))?;
    }
    for n in 10..15 {
        store.purchase(&demo::purchase(&world, n), days(2))?;
    }
    let points = store.licences_per_day(None, days(2), 3)?;
    let per_day: Vec<i64> = points.iter().map(|p| p.licences).collect();
    assert_eq!(per_day, [10, 0, 5]);
    let aggregates = store.licence_aggregates(None)?;
    assert_eq!(aggregates.iter().map(|(_, a)| a.count).sum::<i64>(), 15);
    let snapshot = store.snapshot()?;
    for (work, agg) in &aggregates {
        let expected: std::collections::BTreeSet<String> =
            snapshot.licences.values().filter(|l| &l.work == work).map(|l| l.scope.describe()).collect();
        assert!(!agg.sites.is_empty(), "{work}: no sites");
        for site in &agg.sites {
            assert!(expected.iter().any(|e| e.contains(site.as_str())), "{work}: {site} not among {expected:?}");
        }
    }
    Ok(())
}

#[test]
fn a_use_case_commits_whole_or_not_at_all() -> Result<()> {
    let (_dir, mut store) = open()?;
    let world = demo::seed(&mut store, t0())?;
    let first = demo::purchase(&world, 0);
    // A later step fails: the purchase and the event written before it are gone too.
    let failed: Result<(), StoreError> = store.atomically(|s| {
        s.purchase(&first, t0())?;
        s.record_event("licence.granted", first.licence_id.as_str(), &serde_json::json!({}), t0())?;
        Err(StoreError::Conflict("a later step failed".into()))
    });
    assert!(failed.is_err());
    assert!(store.licence(&first.licence_id)?.is_none());
    assert!(store.unpublished_events(10)?.is_empty());
    // A refused step inside the unit rolls back alone (it is a savepoint); the rest commits.
    let mut refused = demo::purchase(&world, 1);
    refused.offer = OfferId::new("no-such-offer")?;
    store.atomically(|s| -> Result<(), StoreError> {
        s.purchase(&first, t0())?;
        assert!(s.purchase(&refused, t0()).is_err());
        s.record_event("licence.granted", first.licence_id.as_str(), &serde_json::json!({}), t0())?;
        Ok(())
    })?;
    assert!(store.licence(&first.licence_id)?.is_some());
    assert!(store.licence(&refused.licence_id)?.is_none());
    assert_eq!(store.unpublished_events(10)?.len(), 1);
    assert_invariants(&store)?;
    Ok(())
}

/// Analyst search: the tantivy index follows the hits by revision, finds Chinese substrings, filters,
/// counts facets and refuses malformed queries with a typed error.
mod search {
    use super::*;
    use seal_api::search::{SearchError, SearchIndex, SearchQuery, Sort};
    use seal_api::services::search::{reindex, sync};
    use seal_api::store::monitoring::{NewHit, PageDone, Reason};
    use seal_licensing::ids::{PartyId, WorkId};

    fn hit(work: &str, url: &str, reason: Reason, seen: Timestamp, evidence: &str) -> Result<NewHit> {
        let owner = work.rsplit_once("-w").map(|(o, _)| o).unwrap_or(work);
        Ok(NewHit {
            work: WorkId::new(work)?,
            owner: PartyId::new(owner)?,
            page_url: url.into(),
            image_url: None,
            title: format!("转载 {url}"),
            kind: "text",
            copy: "excerpt".into(),
            score: 0.5,
            page_coverage: 0.4,
            evidence: evidence.into(),
            file: Some("flood-report".into()),
            reason: (reason, String::new()),
            source: "crawl",
            seen,
        })
    }

    fn page(h: NewHit, text: &str) -> PageDone {
        PageDone {
            url: h.page_url.clone(),
            title: h.title.clone(),
            seen: h.seen.unix_ms(),
            hits: vec![h],
            text: Some(text.into()),
            ..PageDone::default()
        }
    }

    fn update(index: &SearchIndex, store: &SqliteStore) -> Result<usize> {
        Ok(sync(index, |after, limit| store.hits_changed(after, limit), |_| {})?)
    }

    fn query(text: &str) -> SearchQuery {
        SearchQuery { text: text.into(), limit: 100, ..SearchQuery::default() }
    }

    #[test]
    fn hits_are_indexed_recoloured_filtered_and_rebuilt() -> Result<()> {
        let (dir, mut store) = open()?;
        demo::seed(&mut store, t0())?;
        let index = SearchIndex::open(&dir.path().join("search"))?;
        let flood =
            "今年夏天长江流域遭遇特大洪水灾害，沿岸多个城市启动应急响应。The flood report was reprinted widely.";
        store.store_pages(&[
            page(
                hit("rh-a-w0", "https://copy.example/a", Reason::Unlicensed, days(1), r#"{"spans":[[10,16,0,6]]}"#)?,
                flood,
            ),
            page(
                hit("rh-a-w1", "https://mirror.example/b", Reason::Allowlist, days(40), "{}")?,
                "一篇关于丰收的报道。",
            ),
            page(hit("rh-b-w0", "https://copy.example/c", Reason::Unlicensed, days(2), "{}")?, "洪水过后重建家园"),
        ])?;
        assert_eq!(update(&index, &store)?, 3);
        assert_eq!(update(&index, &store)?, 0, "nothing changed, nothing reindexed");

        // Chinese phrases, English words, one organisation, facets.
        let r = index.search(&query("洪水"))?;
        assert_eq!(r.total, 2);
        let r = index.search(&SearchQuery { holder: Some("rh-a".into()), ..query("洪水") })?;
        assert_eq!(r.total, 1);
        let f = &r.found[0];
        assert_eq!(
            (f.url.as_str(), f.work.as_str(), f.file.as_deref()),
            ("https://copy.example/a", "rh-a-w0", Some("flood-report"))
        );
        let marked: Vec<&str> = f.snippet.marks.iter().map(|&(a, b)| &f.snippet.text[a..b]).collect();
        assert_eq!(marked, ["洪水"], "{:?}", f.snippet);
        assert_eq!(index.search(&query("\"flood report\" AND 长江"))?.total, 1);
        assert_eq!(index.search(&query("洪水 NOT 长江"))?.total, 1);
        assert_eq!(index.search(&query("\"report flood\""))?.total, 0, "a phrase keeps its order");
        let all = index.search(&query(""))?;
        assert_eq!(all.total, 3);
        assert_eq!(all.facets["colour"], [("black".to_owned(), 2), ("white".to_owned(), 1)]);
        assert_eq!(all.facets["domain"][0], ("copy.example".to_owned(), 2));
        assert_eq!(all.facets["month"].len(), 2, "{:?}", all.facets["month"]);
        // Filters: colour, domain, date range; sort by date.
        assert_eq!(index.search(&SearchQuery { colour: Some("white".into()), ..query("") })?.total, 1);
        assert_eq!(index.search(&SearchQuery { domain: Some("copy.example".into()), ..query("") })?.total, 2);
        let range = SearchQuery { from: Some(days(0).unix_ms()), to: Some(days(3).unix_ms()), ..query("") };
        assert_eq!(index.search(&range)?.total, 2);
        let newest = index.search(&SearchQuery { sort: Sort::Date, ..query("") })?;
        assert_eq!(newest.found[0].url, "https://mirror.example/b");
        // Without free text, the snippet marks the copied span from the evidence.
        let a = &index.search(&SearchQuery { work: Some("rh-a-w0".into()), ..query("") })?.found[0];
        let (x, y) = a.snippet.marks[0];
        assert_eq!(&a.snippet.text[x..y], "特大洪水灾害");

        // Recolouring reaches the index by revision, replacing the document, never duplicating it.
        let id = a.hit;
        assert!(store.recolour_hit(id, Reason::Licence, "lic-x")?);
        assert_eq!(update(&index, &store)?, 1);
        let r = index.search(&SearchQuery { work: Some("rh-a-w0".into()), ..query("") })?;
        assert_eq!((r.total, r.found[0].colour.as_str()), (1, "white"));
        // A re-crawl of the same page updates the same hit.
        store.store_pages(&[page(hit("rh-a-w0", "https://copy.example/a", Reason::Licence, days(5), "{}")?, flood)])?;
        update(&index, &store)?;
        assert_eq!(index.search(&query(""))?.total, 3);

        // Malformed queries are typed errors.
        for bad in ["\"unclosed", "nofield:x", "a AND ("] {
            assert!(matches!(index.search(&query(bad)), Err(SearchError::BadQuery(_))), "{bad}");
        }
        assert!(matches!(index.search(&query(&"洪".repeat(400))), Err(SearchError::BadQuery(_))));

        // A rebuild from the records store gives the same answers; a second writer is refused.
        assert!(matches!(SearchIndex::open(&dir.path().join("search")), Err(SearchError::Locked)));
        assert_eq!(reindex(&index, &store, |_| {})?, 3);
        assert_eq!(index.search(&query("洪水"))?.total, 2);
        drop(index);
        let reopened = SearchIndex::open(&dir.path().join("search"))?;
        assert_eq!(reopened.rev()?, store.latest_hit_rev()?);
        assert_eq!(reopened.search(&query("丰收"))?.total, 1);
        Ok(())
    }

    /// The tokenizer's choice, checked: every 2-, 3- and 5-character substring of the Chinese fixture
    /// pages finds its page (see `seal_api::search::tokenizer` for the measurement against jieba).
    #[test]
    fn search_finds_chinese_substrings() -> Result<()> {
        let (dir, mut store) = open()?;
        demo::seed(&mut store, t0())?;
        let index = SearchIndex::open(&dir.path().join("search"))?;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/text/originals");
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(&root)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if name.starts_with("zh-") && name.ends_with(".txt") {
                texts.push((name, std::fs::read_to_string(&path)?));
            }
        }
        texts.sort();
        assert!(texts.len() >= 40, "{} Chinese fixture pages", texts.len());
        let pages: Vec<PageDone> = texts
            .iter()
            .map(|(name, text)| -> Result<PageDone> {
                Ok(page(hit("rh-a-w0", &format!("https://c.example/{name}"), Reason::Unlicensed, days(1), "{}")?, text))
            })
            .collect::<Result<_>>()?;
        store.store_pages(&pages)?;
        update(&index, &store)?;
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let (mut asked, mut found) = (0, 0);
        for (name, text) in &texts {
            let chars: Vec<char> = text.chars().collect();
            for len in [2usize, 3, 5] {
                for _ in 0..5 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let start = (seed % chars.len().saturating_sub(len).max(1) as u64) as usize;
                    let piece: String = chars[start..(start + len).min(chars.len())].iter().collect();
                    if piece.chars().count() != len || !piece.chars().all(seal_engine::text::tokens::is_cjk) {
                        continue;
                    }
                    asked += 1;
                    let r = index.search(&SearchQuery { limit: 100, ..query(&format!("\"{piece}\"")) })?;
                    if r.found.iter().any(|f| f.url.ends_with(name.as_str())) {
                        found += 1;
                    } else {
                        eprintln!("missed {piece:?} of {name}");
                    }
                }
            }
        }
        assert!(asked > 300, "{asked} queries");
        assert_eq!(found, asked, "recall {found}/{asked}");
        Ok(())
    }
}

mod log {
    //! The transparency log on SQLite: proofs as the reference computes them, append-only by the
    //! database's own refusal, and every earlier proof still valid as the log grows.
    use super::*;
    use proptest::prelude::*;
    use seal_licensing::merkle::{self, Hash};

    fn leaf(i: u64) -> Vec<u8> {
        format!(r#"{{"type":"registration","work":"wk-{i}"}}"#).into_bytes()
    }

    #[test]
    fn the_stored_log_proves_what_the_reference_proves_and_refuses_edits() -> Result<()> {
        let (dir, mut store) = open()?;
        assert_eq!(store.log_size()?, 0);
        let mut hashes: Vec<Hash> = Vec::new();
        for i in 0..37 {
            assert_eq!(store.log_append("registration", &format!("wk-{i}"), &leaf(i), t0())?, i);
            hashes.push(merkle::leaf_hash(&leaf(i)));
            assert_eq!(store.log_root(i + 1)?, merkle::root(&hashes));
        }
        for size in 1..=37u64 {
            for index in 0..size {
                let want = merkle::inclusion_proof(&hashes[..size as usize], index as usize).expect("in range");
                assert_eq!(store.log_inclusion(index, size)?, want, "inclusion {index} of {size}");
            }
            let want = merkle::consistency_proof(&hashes, size as usize).expect("in range");
            assert_eq!(store.log_consistency(size, 37)?, want, "consistency {size} → 37");
        }
        let leaf5 = store.log_leaf(5)?.expect("leaf 5");
        assert_eq!((leaf5.kind.as_str(), leaf5.subject.as_str(), leaf5.data), ("registration", "wk-5", leaf(5)));
        assert_eq!(store.log_leaf_for("registration", "wk-9")?.map(|l| l.index), Some(9));
        assert!(matches!(store.log_inclusion(37, 37), Err(StoreError::OutOfRange(_))));
        assert!(matches!(store.log_root(38), Err(StoreError::OutOfRange(_))));
        assert!(matches!(store.log_consistency(5, 3), Err(StoreError::OutOfRange(_))));
        // The database itself refuses to rewrite history.
        drop(store);
        let conn = rusqlite::Connection::open(dir.path().join("seal.db"))?;
        assert!(conn.execute("UPDATE log_leaves SET data = x'00' WHERE idx = 3", []).is_err());
        assert!(conn.execute("DELETE FROM log_leaves WHERE idx = 36", []).is_err());
        assert!(conn.execute("UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 3", []).is_err());
        assert!(conn.execute("DELETE FROM log_nodes", []).is_err());
        Ok(())
    }

    /// A checkpoint's size and root, and the inclusion proof of every leaf issued at it.
    type Issued = (u64, Hash, Vec<(u64, Vec<Hash>)>);

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Random append sequences with checkpoints between them: every inclusion proof issued at an
        /// earlier checkpoint stays valid against its checkpoint, and each later checkpoint is proven
        /// consistent with every earlier one, so the earlier proofs carry over to the newer tree.
        #[test]
        fn earlier_proofs_stay_valid_through_consistency(batches in proptest::collection::vec(1u64..40, 1..8)) {
            let (_dir, mut store) = open().expect("store");
            let mut size = 0u64;
            let mut checkpoints: Vec<Issued> = Vec::new();
            for batch in batches {
                store.atomically(|s| -> Result<(), StoreError> {
                    for i in size..size + batch {
                        s.log_append("registration", &format!("wk-{i}"), &leaf(i), t0())?;
                    }
                    Ok(())
                }).expect("append");
                size += batch;
                let root = store.log_root(size).expect("root");
                let proofs: Vec<(u64, Vec<Hash>)> =
                    (0..size).map(|i| (i, store.log_inclusion(i, size).expect("inclusion"))).collect();
                for (old_size, old_root, old_proofs) in &checkpoints {
                    let c = store.log_consistency(*old_size, size).expect("consistency");
                    prop_assert_eq!(merkle::verify_consistency(*old_size, size, &c, old_root, &root), Ok(()));
                    for (i, p) in old_proofs {
                        let h = merkle::leaf_hash(&leaf(*i));
                        prop_assert_eq!(merkle::verify_inclusion(*i, *old_size, &h, p, old_root), Ok(()));
                        let now = &proofs[*i as usize].1;
                        prop_assert_eq!(merkle::verify_inclusion(*i, size, &h, now, &root), Ok(()));
                    }
                }
                checkpoints.push((size, root, proofs));
            }
        }
    }
}
