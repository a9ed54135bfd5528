//! Holder notifications end to end: real purchases, objections and settlement passes through the
//! in-process server and the SQLite store, the `notify` subscriber draining the outbox, the page in
//! both languages, the mails in the outbox, and who may see what.

use super::*;
use seal_api::services::notifications::{drain_notify, record_black_hits, Notified};
use seal_api::store::monitoring::{NewHit, PageDone, Reason};
use seal_api::store::notifications::Notification;
use seal_licensing::ids::{PartyId, WorkId};

const PUBLIC: &str = "https://seal.example.test";

fn drain(w: &World) -> Result<Notified> {
    let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    Ok(drain_notify(&mut s, PUBLIC, w.state.now())?)
}

fn stored(w: &World, holder: &str, kinds: &[&str]) -> Result<Vec<Notification>> {
    let s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    Ok(s.list_for(&PartyId::new(holder)?, kinds, None, 500)?)
}

fn title(w: &World, work: &str) -> Result<String> {
    use seal_api::store::Repository;
    let s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    Ok(s.work(&WorkId::new(work)?)?.context("work")?.title)
}

fn user_id(w: &World, email: &str) -> Result<PartyId> {
    let s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    Ok(s.user_by_email(email)?.context("user")?.id)
}

/// A signed-in licensee buys `work` of `holder` through the sandbox; returns the licence id.
async fn buy(w: &World, l: &mut Browser, work: &str, holder: &str, name: &str) -> Result<String> {
    l.get(w, &format!("/checkout?work={work}")).await;
    let offer = format!("{holder}-default");
    let fields = [("work", work), ("offer", offer.as_str()), ("name", name), ("use_url", "buyer.example.test")];
    let r = l.form(w, "/checkout", &fields).await;
    let r = l.form(w, &r.location(), &[("action", "pay")]).await;
    let bought = l.get(w, &format!("/api/v1{}", r.location())).await.json();
    Ok(bought["licence"].as_str().context("licensed")?.to_owned())
}

/// A user who is a member of `org` with `role`, signed in.
async fn member(w: &World, org: &str, email: &str, role: seal_api::domain::team::OrgRole) -> Result<Browser> {
    {
        let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let id = PartyId::new(format!("u-{}", role.as_str()))?;
        s.create_user(&seal_api::store::platform::User {
            id: id.clone(),
            email: email.into(),
            name: format!("Member {}", role.as_str()),
            role: seal_api::store::platform::Role::Licensee,
            password_hash: Some(seal_api::web::auth::hash_password("member password").map_err(anyhow::Error::msg)?),
            created_at: Timestamp::parse(T0)?,
            acting: None,
        })?;
        let m = seal_api::store::team::Member {
            org: PartyId::new(org)?,
            user: id,
            role,
            weekly_summary: false,
            last_summary_at: None,
        };
        s.put_member(&m, Timestamp::parse(T0)?)?;
    }
    Ok(sign_in(w, email, "member password").await)
}

#[actix_web::test]
async fn a_sale_notifies_the_holder_on_the_page_and_by_mail_once() -> Result<()> {
    let w = world()?;
    let work_title = title(&w, "rh-b-w0")?;
    // The holder chose English for their account: the mail comes in English, the page in the
    // browser's language.
    let holder_b = user_id(&w, "holder-b@demo.test")?;
    w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.set_user_lang(&holder_b, "en")?;
    drain(&w)?;
    let mails_before = queued_mail_to(&w, "holder-b@demo.test").len();
    let mut l = Browser::sign_up(&w, "buyer@example.test", "licensee").await;
    let lic = buy(&w, &mut l, "rh-b-w0", "rh-b", "Reuser Li").await?;

    let first = drain(&w)?;
    assert!(first.notifications >= 1 && first.mails >= 1, "{first:?}");
    let sales: Vec<Notification> = stored(&w, "rh-b", &["sale"])?.into_iter().filter(|n| n.subject_id == lic).collect();
    assert_eq!(sales.len(), 1, "{sales:?}");
    assert_eq!(sales[0].args["licensee"], "Reuser Li");
    let mails: Vec<_> = queued_mail_to(&w, "holder-b@demo.test");
    assert_eq!(mails.len(), mails_before + 1, "{mails:#?}");
    let mail = mails.iter().find(|m| m.subject.contains(&work_title)).context("the sale mail")?;
    assert_eq!(mail.subject, format!("A licence for “{work_title}” was sold"));
    assert!(mail.body.contains("Reuser Li") && mail.body.contains("for $5.00"), "{}", mail.body);
    assert!(mail.body.contains(&format!("{PUBLIC}/dashboard/licences")), "{}", mail.body);
    // Running the drain again (or after a restart) adds nothing and mails nobody again.
    assert_eq!(drain(&w)?, Notified::default());
    assert_eq!(stored(&w, "rh-b", &["sale"])?.iter().filter(|n| n.subject_id == lic).count(), 1);
    assert_eq!(queued_mail_to(&w, "holder-b@demo.test").len(), mails_before + 1);

    // The page, in Chinese by default and in English, with the sale unread and a badge on the dashboard.
    let mut b = sign_in(&w, "holder-b@demo.test", "demo-password").await;
    b.cookies.insert("seal_lang".into(), "zh-CN".into());
    let page = b.get(&w, "/dashboard/notifications").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let zh = page.text();
    assert!(zh.contains(&format!("《{work_title}》售出一份授权")) && zh.contains("Reuser Li"), "{zh}");
    assert!(zh.contains("class=\"notice unread\"") && zh.contains("条未读"), "{zh}");
    assert!(b.get(&w, "/dashboard").await.text().contains("id=\"unread-badge\""));
    b.cookies.insert("seal_lang".into(), "en".into());
    let en = b.get(&w, "/dashboard/notifications").await.text();
    assert!(en.contains(&format!("A licence for “{work_title}” was sold")) && en.contains("unread"), "{en}");
    assert!(en.contains("<h1>Notifications"), "{en}");
    // What the holder's other notifications (the demo's) name is theirs, in whatever language.
    let mut names: Vec<String> = vec![work_title.clone()];
    for n in stored(&w, "rh-b", &["sale", "objection", "settlement", "payout", "black_hits"])? {
        names.extend(["title", "licensee"].map(|f| n.args[f].as_str().unwrap_or_default().to_owned()));
    }
    let holder_name =
        w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.user(&holder_b)?.context("b")?.name;
    names.push(holder_name);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(co_stray_cjk(&en, &names), "", "{en}");

    // Another holder and a licensee see none of it.
    let mut a = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    let other = a.get(&w, "/dashboard/notifications").await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(!other.text().contains("Reuser Li") && !other.text().contains(&work_title), "{}", other.text());
    assert!(!a
        .get(&w, &format!("/dashboard/notifications?before={}", sales[0].id + 1))
        .await
        .text()
        .contains("Reuser Li"));
    assert_eq!(l.get(&w, "/dashboard/notifications").await.status, StatusCode::FORBIDDEN);
    assert_eq!(Browser::default().get(&w, "/dashboard/notifications").await.status, StatusCode::SEE_OTHER);
    // Marking read needs the form's token, and then only changes this holder's.
    let forged =
        b.send(&w, test::TestRequest::post().uri("/dashboard/notifications/read").set_form([("csrf", "x")])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(b.get(&w, "/dashboard/notifications").await.text().contains("class=\"notice unread\""));
    let a_unread = stored(&w, "rh-a", &["sale", "objection", "settlement", "payout", "black_hits"])?
        .iter()
        .filter(|n| n.read_at.is_none())
        .count();
    let r = b.form(&w, "/dashboard/notifications/read", &[]).await;
    assert_eq!((r.status, r.location().as_str()), (StatusCode::SEE_OTHER, "/dashboard/notifications"));
    let read = b.get(&w, "/dashboard/notifications").await.text();
    assert!(!read.contains("class=\"notice unread\"") && read.contains("Reuser Li"), "{read}");
    assert!(!b.get(&w, "/dashboard").await.text().contains("id=\"unread-badge\""));
    let a_still = stored(&w, "rh-a", &["sale", "objection", "settlement", "payout", "black_hits"])?
        .iter()
        .filter(|n| n.read_at.is_none())
        .count();
    assert_eq!(a_unread, a_still, "another holder's stay unread");
    Ok(())
}

#[actix_web::test]
async fn objections_settlements_and_payouts_notify_their_holders() -> Result<()> {
    let w = world()?;
    drain(&w)?;
    let mut l = Browser::sign_up(&w, "buyer@example.test", "licensee").await;
    let lic = buy(&w, &mut l, "rh-b-w0", "rh-b", "Reuser Li").await?;
    let r = l.form(&w, &format!("/dashboard/licences/{lic}/object"), &[("reason", "bought twice")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    drain(&w)?;
    let objections: Vec<Notification> =
        stored(&w, "rh-b", &["objection"])?.into_iter().filter(|n| n.subject_id == lic).collect();
    assert_eq!(objections.len(), 1, "{objections:?}");
    assert_eq!(objections[0].args["objection"], "refund_request");
    let work_title = title(&w, "rh-b-w0")?;
    let mails = queued_mail_to(&w, "holder-b@demo.test");
    assert!(mails.iter().any(|m| m.subject == format!("《{work_title}》的授权收到异议")), "{mails:#?}");
    assert!(stored(&w, "rh-a", &["objection"])?.is_empty(), "only the licence's holder hears of it");

    // Forty days on, a settlement pass settles the demo licences and pays their holders out.
    w.clock.fetch_add(40 * seal_licensing::time::MS_PER_DAY, Ordering::SeqCst);
    let run =
        w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.settle_and_record("schedule", w.state.now())?;
    assert!(run.licences > 0 && run.payouts > 0, "{run:?}");
    let done = drain(&w)?;
    assert!(done.notifications >= 2, "{done:?}");
    let settled = stored(&w, "rh-a", &["settlement"])?;
    assert_eq!(settled.len(), 1, "one per holder and currency: {settled:?}");
    assert!(settled[0].args["n"].as_i64() > Some(0));
    let payouts = stored(&w, "rh-a", &["payout"])?;
    assert!(!payouts.is_empty() && payouts.iter().all(|p| p.subject_id.starts_with("po/rh-a/")), "{payouts:?}");
    let mails = queued_mail_to(&w, "holder-a@demo.test");
    assert!(mails.iter().any(|m| m.subject.contains("份授权已结算")), "{mails:#?}");
    assert!(mails.iter().any(|m| m.subject.starts_with("已向您付款")), "{mails:#?}");
    let mut a = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    let page = a.get(&w, "/dashboard/notifications").await.text();
    assert!(page.contains("份授权已结算") && page.contains("已向您付款"), "{page}");
    // A second pass with nothing due announces nothing.
    w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.settle_and_record("schedule", w.state.now())?;
    assert_eq!(drain(&w)?.notifications, 0);
    assert_eq!(stored(&w, "rh-a", &["settlement"])?.len(), 1);
    invariants_hold(&w)?;
    Ok(())
}

#[actix_web::test]
async fn new_black_hits_are_one_notification_a_day_seen_by_the_roles_they_concern() -> Result<()> {
    use seal_api::domain::team::OrgRole;
    let w = world()?;
    drain(&w)?;
    // A day after the demo's own crawl, so that today's count starts from nothing.
    w.clock.fetch_add(seal_licensing::time::MS_PER_DAY, Ordering::SeqCst);
    let mut analyst = member(&w, "rh-a", "analyst@example.test", OrgRole::Analyst).await?;
    let mut finance = member(&w, "rh-a", "finance@example.test", OrgRole::Finance).await?;
    let mut l = Browser::sign_up(&w, "buyer@example.test", "licensee").await;
    buy(&w, &mut l, "rh-a-w0", "rh-a", "Reuser Li").await?;
    let now = w.state.now();
    let hit = |page: &str| -> Result<NewHit> {
        Ok(NewHit {
            work: WorkId::new("rh-a-w1")?,
            owner: PartyId::new("rh-a")?,
            page_url: page.into(),
            image_url: None,
            title: "copied".into(),
            kind: "text",
            copy: "full".into(),
            score: 0.9,
            page_coverage: 0.8,
            evidence: "[]".into(),
            file: None,
            reason: (Reason::Unlicensed, String::new()),
            source: "crawl",
            seen: now,
        })
    };
    let page = |url: &str| -> Result<PageDone> {
        Ok(PageDone {
            url: url.into(),
            title: "copied".into(),
            seen: now.unix_ms(),
            hits: vec![hit(url)?],
            ..PageDone::default()
        })
    };
    let commit = |pages: Vec<PageDone>| -> Result<usize> {
        let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        Ok(s.atomically(|s| -> Result<usize, seal_api::store::StoreError> {
            let stored = s.store_pages(&pages)?;
            record_black_hits(s, &stored, now)
        })?)
    };
    // Two new copies in one batch: one event for the holder.
    assert_eq!(commit(vec![page("https://copier.example.test/1")?, page("https://copier.example.test/2")?])?, 1);
    drain(&w)?;
    let black = stored(&w, "rh-a", &["black_hits"])?;
    assert_eq!(black.len(), 1);
    assert_eq!(black[0].args["n"], 2);
    // Seen again: nothing new. A third copy later that day grows the same notification, unread again.
    assert_eq!(commit(vec![page("https://copier.example.test/1")?])?, 0);
    {
        let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        s.mark_all_read(&PartyId::new("rh-a")?, &["black_hits"], now)?;
    }
    assert_eq!(commit(vec![page("https://copier.example.test/3")?])?, 1);
    drain(&w)?;
    let black = stored(&w, "rh-a", &["black_hits"])?;
    assert_eq!((black.len(), black[0].args["n"].as_i64(), black[0].read_at), (1, Some(3), None));
    // One mail for the day, to the holder and the analyst, not to finance.
    let about = |to: &str| queued_mail_to(&w, to).into_iter().filter(|m| m.subject.contains("未授权使用")).count();
    assert_eq!((about("holder-a@demo.test"), about("analyst@example.test"), about("finance@example.test")), (1, 1, 0));
    let sold = |to: &str| queued_mail_to(&w, to).into_iter().filter(|m| m.subject.contains("售出一份授权")).count();
    assert_eq!((sold("analyst@example.test"), sold("finance@example.test")), (0, 1));
    // Each member's page shows the kinds of their role.
    let seen_by_analyst = analyst.get(&w, "/dashboard/notifications").await;
    assert_eq!(seen_by_analyst.status, StatusCode::OK, "{}", seen_by_analyst.text());
    let text = seen_by_analyst.text();
    assert!(text.contains("发现 3 处新的未授权使用") && !text.contains("售出一份授权"), "{text}");
    let text = finance.get(&w, "/dashboard/notifications").await.text();
    assert!(!text.contains("未授权使用") && text.contains("售出一份授权"), "{text}");
    Ok(())
}

#[actix_web::test]
async fn a_crawl_that_finds_new_unlicensed_copies_tells_their_holder() -> Result<()> {
    use seal_api::services::pipeline::{run, Item, PageInput, PipelineConfig, Progress, Targets};
    let w = world()?;
    drain(&w)?;
    w.clock.fetch_add(seal_licensing::time::MS_PER_DAY, Ordering::SeqCst);
    let now = w.state.now();
    // Reprints of a demo work of rh-a on a site no licence covers.
    let body = seal_api::store::demo::work_body(0, 0).3;
    let article = body.rsplit("\n\n").next().context("article")?.trim().to_owned();
    let pages = |n: usize| -> Vec<Item> {
        (1..=n)
            .map(|i| {
                Item::Page(PageInput {
                    url: format!("https://copier.example.test/{i}"),
                    frontier_url: None,
                    content_type: Some("text/html; charset=utf-8".into()),
                    body: format!("<html><head><title>copy {i}</title></head><body><p>{article}</p></body></html>")
                        .into_bytes(),
                    seen: now,
                    images: Vec::new(),
                    discovered: Vec::new(),
                })
            })
            .collect()
    };
    let crawl = |items: Vec<Item>| -> Result<u64> {
        let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let targets = Targets { monitor: &w.state.monitor, pages: None };
        let report = run(
            targets,
            &mut s,
            &PipelineConfig::default(),
            || now,
            &Progress::default(),
            move |tx| {
                for item in items {
                    if tx.send(item).is_err() {
                        break;
                    }
                }
            },
        )?;
        Ok(report.new_hits)
    };
    assert_eq!(crawl(pages(3))?, 3);
    drain(&w)?;
    let black = stored(&w, "rh-a", &["black_hits"])?;
    assert_eq!(black.len(), 1, "{black:?}");
    assert_eq!((black[0].args["n"].as_i64(), black[0].args["work"].as_str()), (Some(3), Some("rh-a-w0")));
    assert!(stored(&w, "rh-b", &["black_hits"])?.iter().all(|n| n.created_at < now), "only the work's holder");
    // The same pages crawled again are no news.
    assert_eq!(crawl(pages(3))?, 0);
    assert_eq!(drain(&w)?.notifications, 0);
    assert_eq!(stored(&w, "rh-a", &["black_hits"])?[0].args["n"].as_i64(), Some(3));
    let mails = queued_mail_to(&w, "holder-a@demo.test");
    assert_eq!(mails.iter().filter(|m| m.subject == "发现 3 处新的未授权使用").count(), 1, "{mails:#?}");
    let mut a = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    let page = a.get(&w, "/dashboard/notifications").await.text();
    assert!(page.contains("发现 3 处新的未授权使用") && page.contains("/dashboard/hits?colour=black"), "{page}");
    Ok(())
}

#[actix_web::test]
async fn every_role_of_the_organisation_pages_through_its_own_notifications() -> Result<()> {
    use seal_api::store::notifications::NewNotification;
    let w = world()?;
    drain(&w)?;
    {
        let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        for i in 0..65 {
            let kind = if i % 5 == 0 { "black_hits" } else { "payout" };
            s.add(&NewNotification {
                holder: PartyId::new("rh-a")?,
                kind,
                subject_id: format!("test-{i}"),
                args: json!({"n": i, "title": format!("Work {i}"), "amount_minor": 100, "currency": "CNY", "payout": format!("po-{i}")}),
                link: "/dashboard/earnings".into(),
                created_at: w.state.now(),
            })?;
        }
    }
    let all = ["sale", "objection", "settlement", "payout", "black_hits"];
    let mut holder = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    let mut analyst = sign_in(&w, "analyst-a@demo.test", "demo-password").await;
    let mut finance = sign_in(&w, "finance-a@demo.test", "demo-password").await;
    let mut other = sign_in(&w, "holder-b@demo.test", "demo-password").await;
    let mut stranger = Browser::sign_up(&w, "stranger@example.test", "licensee").await;
    let cases: [(&mut Browser, Vec<&str>); 3] =
        [(&mut holder, all.to_vec()), (&mut analyst, vec!["black_hits"]), (&mut finance, all[..4].to_vec())];
    for (b, kinds) in cases {
        let expected: Vec<i64> = stored(&w, "rh-a", &kinds)?.iter().map(|n| n.id).collect();
        assert!(expected.len() >= 13, "{kinds:?}");
        // Page by page, newest first, each once, to the last one.
        let (mut seen, mut path, mut pages) = (Vec::new(), "/dashboard/notifications".to_owned(), 0);
        loop {
            let r = b.get(&w, &path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            let text = r.text();
            for part in text.split("<li id=\"n-").skip(1) {
                seen.push(part[..part.find('"').context("id")?].parse::<i64>()?);
            }
            pages += 1;
            let Some(at) = text.find("id=\"next\" rel=\"next\" href=\"") else { break };
            let rest = &text[at + 27..];
            path = rest[..rest.find('"').context("href")?].to_owned();
        }
        assert_eq!(seen, expected, "{kinds:?} over {pages} pages");
    }
    // Holder B reaches the page but sees none of A's; someone outside any organisation is refused.
    let b_page = other.get(&w, "/dashboard/notifications").await;
    assert_eq!(b_page.status, StatusCode::OK);
    assert!(!b_page.text().contains("po-1") && !b_page.text().contains("Work 5"), "{}", b_page.text());
    let stranger_page = stranger.get(&w, "/dashboard/notifications").await;
    assert_eq!(stranger_page.status, StatusCode::FORBIDDEN, "{}", stranger_page.text());
    assert_eq!(stranger.form(&w, "/dashboard/notifications/read", &[]).await.status, StatusCode::FORBIDDEN);
    // The analyst marks read what they see, and only that.
    let r = analyst.form(&w, "/dashboard/notifications/read", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let unread = |kind: &str| -> Result<usize> {
        Ok(stored(&w, "rh-a", &[kind])?.iter().filter(|n| n.read_at.is_none()).count())
    };
    assert_eq!((unread("black_hits")?, unread("payout")? >= 52), (0, true));
    Ok(())
}
