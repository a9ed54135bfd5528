//! Places of use beyond the open web (issue 14): a buyer names a WeChat official account, a Weibo
//! account or an app; the licence carries it, monitoring hits on that account's pages turn white, an
//! allowlist entry can name an account, and buying the same place twice asks first.

use super::*;
use seal_api::services::classify::Classifier;
use seal_api::store::monitoring::Reason;

const BIZ: &str = "MzA3NjE1NDkwMA==";

async fn buy(w: &World, b: &mut Browser, fields: &[(&str, &str)]) -> Reply {
    b.get(w, "/checkout?work=rh-b-w0").await;
    let mut all = vec![("work", "rh-b-w0"), ("offer", "rh-b-default"), ("name", "公众号买家")];
    all.extend_from_slice(fields);
    b.form(w, "/checkout", &all).await
}

fn colour(w: &World, url: &str) -> Result<Reason> {
    let store = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let work = seal_licensing::ids::WorkId::new("rh-b-w0")?;
    let owner = seal_licensing::ids::PartyId::new("rh-b")?;
    Ok(Classifier::new().classify(&store, &work, &owner, url, Timestamp::parse(T0)?)?.0)
}

#[actix_web::test]
async fn a_wechat_account_is_a_place_of_use_and_a_second_purchase_asks_first() -> Result<()> {
    let w = world()?;
    let article = format!("https://mp.weixin.qq.com/s?__biz={}&mid=2247&idx=1", BIZ.replace('=', "%3D"));
    let page_of_account = format!("https://mp.weixin.qq.com/s?__biz={BIZ}&mid=99&idx=3#rd");
    let page_of_other = "https://mp.weixin.qq.com/s?__biz=MzIwMDAwMDAwMA==&mid=99";
    assert_eq!(colour(&w, &page_of_account)?, Reason::Unlicensed, "nothing licensed yet");

    let mut l = Browser::sign_up(&w, "wechat-buyer@example.test", "licensee").await;
    let r = buy(&w, &mut l, &[("place", "wechat"), ("use_url", &article), ("place_name", "人民日报")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = l.form(&w, &r.location(), &[("action", "pay")]).await;
    let bought = l.get(&w, &format!("/api/v1{}", r.location())).await.json();
    let lic = bought["licence"].as_str().context("licensed")?.to_owned();
    let dto = l.get(&w, &format!("/api/v1/licences/{lic}")).await.json();
    assert_eq!(dto["scope"], format!("the WeChat official account 人民日报 ({BIZ})"));
    let page = l.get(&w, "/dashboard").await.text();
    assert!(page.contains("微信公众号“人民日报”"), "the licensee's dashboard names the account");

    // Monitoring: the account's pages are licensed, another account's are not.
    assert_eq!(colour(&w, &page_of_account)?, Reason::Licence);
    assert_eq!(colour(&w, page_of_other)?, Reason::Unlicensed);

    // The same place again: the form comes back with everything typed and asks for a confirmation.
    let again = buy(&w, &mut l, &[("place", "wechat"), ("use_url", BIZ), ("place_name", "人民日报")]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    let text = again.text();
    assert!(text.contains("您已持有该作品在此使用场所的有效授权") && text.contains(&lic), "{text}");
    assert!(text.contains(r#"value="人民日报""#) && text.contains(r#"value="wechat" checked"#), "input kept: {text}");
    let confirmed =
        buy(&w, &mut l, &[("place", "wechat"), ("use_url", BIZ), ("place_name", "人民日报"), ("again", "yes")]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER, "{}", confirmed.text());
    // A different place needs no confirmation.
    let weibo = buy(&w, &mut l, &[("place", "weibo"), ("use_url", "https://weibo.com/u/1974576991")]).await;
    assert_eq!(weibo.status, StatusCode::SEE_OTHER, "{}", weibo.text());
    invariants_hold(&w)?;
    Ok(())
}

#[actix_web::test]
async fn bad_places_are_explained_in_the_form_which_keeps_the_input() -> Result<()> {
    let w = world()?;
    let mut e = co_english();
    e.get(&w, "/checkout?work=rh-b-w0").await;
    let fields = [
        ("work", "rh-b-w0"),
        ("offer", "rh-b-default"),
        ("email", "guest-weibo@example.test"),
        ("name", "Guest"),
        ("place", "weibo"),
        ("use_url", "https://example.com/u/123"),
    ];
    let r = e.form(&w, "/checkout", &fields).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let text = r.text();
    assert!(text.contains("is neither a Weibo profile or post link nor a numeric UID"), "{text}");
    assert!(text.contains(r#"value="https://example.com/u/123""#), "{text}");
    assert!(text.contains(r#"value="guest-weibo@example.test""#), "{text}");
    let mut z = Browser::default();
    z.get(&w, "/checkout?work=rh-b-w0").await;
    let mut zh = fields;
    zh[4] = ("place", "wechat");
    zh[5] = ("use_url", "https://mp.weixin.qq.com/s/AbCdEf");
    let r = z.form(&w, "/checkout", &zh).await;
    assert!(r.text().contains("既不是带 __biz= 的公众号文章链接"), "{}", r.text());
    Ok(())
}

#[actix_web::test]
async fn an_allowlist_entry_can_name_a_weibo_account() -> Result<()> {
    let w = world()?;
    let post = "https://weibo.com/1974576991/NqZ3xAbC";
    assert_eq!(colour(&w, post)?, Reason::Unlicensed);
    let mut h = sign_in(&w, "holder-b@demo.test", "demo-password").await;
    h.get(&w, "/dashboard/allowlist").await;
    let r = h
        .form(&w, "/dashboard/allowlist", &[("pattern", "weibo:https://weibo.com/u/1974576991"), ("note", "合作")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(colour(&w, post)?, Reason::Allowlist);
    assert_eq!(colour(&w, "https://weibo.com/1974576992/NqZ3xAbC")?, Reason::Unlicensed);
    assert!(h.get(&w, "/dashboard/allowlist").await.text().contains("微博账号"));
    let app = h.form(&w, "/dashboard/allowlist", &[("pattern", "app:com.example.news")]).await;
    assert_eq!(app.status, StatusCode::BAD_REQUEST);
    assert!(app.text().contains("应用没有可供监测的网页"), "{}", app.text());
    Ok(())
}

#[actix_web::test]
async fn a_wechat_channel_shows_under_review_once_submitted() -> Result<()> {
    let w = world()?;
    let mut h = Browser::sign_up(&w, "wx-review@example.test", "holder").await;
    let ch = h
        .post_json(&w, "/api/v1/channels", json!({"kind": "wechat_official_account", "handle": "新闻早知道"}))
        .await
        .json();
    let id = ch["id"].as_str().context("channel id")?.to_owned();
    let page = h.get(&w, &format!("/dashboard/channels/{id}")).await.text();
    assert!(page.contains("功能介绍") && page.contains("提交审核"), "WeChat has its own steps: {page}");
    assert!(!page.contains("copyright-seal-verification"), "no website meta tag for a WeChat account");
    assert!(page.contains(r#"id="status">待验证<"#), "{page}");
    let r = h.form(&w, &format!("/dashboard/channels/{id}/verify"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = h.get(&w, &format!("/dashboard/channels/{id}")).await.text();
    assert!(page.contains(r#"id="status">审核中<"#), "{page}");
    assert!(h.get(&w, "/dashboard").await.text().contains("审核中"));
    h.get(&w, "/lang/en").await;
    assert!(h.get(&w, &format!("/dashboard/channels/{id}")).await.text().contains(">Under review<"));
    // Asking twice records one request.
    h.form(&w, &format!("/dashboard/channels/{id}/verify"), &[]).await;
    let requests = {
        let store = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        store.unpublished_events(1000)?.into_iter().filter(|e| e.kind == "channel.review_requested").count()
    };
    assert_eq!(requests, 1);
    Ok(())
}

/// Whoever types a guest's address must not learn what that guest already bought: the "already
/// licensed" question is for signed-in buyers only.
#[actix_web::test]
async fn a_guests_earlier_licence_is_not_revealed_to_whoever_types_the_address() -> Result<()> {
    let w = world()?;
    let first = start_checkout(&w, &mut Browser::default(), "rh-a-w1", "rh-a-w1-free", "quiet@example.test").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let mut stranger = Browser::default();
    let r = start_checkout(&w, &mut stranger, "rh-a-w1", "rh-a-w1-free", "quiet@example.test").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(!r.text().contains("您已持有"));
    Ok(())
}

/// The demo shows the capability: a WeChat account licensed by contract, its article white, another
/// account's copy of the same work on the same host black.
#[actix_web::test]
async fn the_demo_tells_two_wechat_accounts_apart() -> Result<()> {
    use seal_api::store::monitoring::HitFilter;
    use seal_api::store::Monitoring;
    let w = world()?;
    let hits = {
        let mut s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let monitor = w.state.monitor.read().map_err(|_| anyhow::anyhow!("poisoned"))?;
        seal_api::services::demo::monitoring(&mut s, &monitor, &w.state.pages, w.state.now())?;
        let filter = HitFilter { owner: Some(seal_licensing::ids::PartyId::new("rh-b")?), ..HitFilter::default() };
        s.hits(&filter, 500)?
    };
    let wechat: Vec<(&str, &str)> = hits
        .iter()
        .filter(|h| h.page_url.starts_with("https://mp.weixin.qq.com/"))
        .map(|h| (h.page_url.as_str(), h.colour.as_str()))
        .collect();
    assert!(wechat.iter().any(|(u, c)| u.contains("MzA5NDc1NzQ4MA==") && *c == "white"), "{wechat:?}");
    assert!(wechat.iter().any(|(u, c)| u.contains("MzkzODA0NTY3OA==") && *c == "black"), "{wechat:?}");
    // The article reached by a short link is stored under the link it declares, and is licensed.
    assert!(wechat.iter().any(|(u, c)| u.contains("mid=2247483651") && *c == "white"), "{wechat:?}");
    assert!(!wechat.iter().any(|(u, _)| u.contains("/s/SealDemoShortLink")), "{wechat:?}");
    Ok(())
}
