//! Offers can be edited and withdrawn (issue 14): an edit replaces the offer with a new one at the new
//! price, a withdrawal closes it to new purchases, licences already sold keep their snapshot, and a
//! refused offer form shows its error beside the form with what was typed.

use super::*;

#[actix_web::test]
async fn offers_are_edited_and_withdrawn_and_licences_keep_their_snapshot() -> Result<()> {
    let w = world()?;
    // A licence bought under the demo offer first.
    let mut g = Browser::default();
    let r = start_checkout(&w, &mut g, "rh-a-w0", "rh-a-default", "snapshot@example.test").await;
    let r = g.form(&w, &r.location(), &[("action", "pay")]).await;
    let bought = g.get(&w, &format!("/api/v1{}", r.location())).await.json();
    let lic = bought["licence"].as_str().context("licensed")?.to_owned();
    let sold_price = bought["amount_minor"].as_i64().context("amount")?;

    let mut a = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    a.get(&w, "/dashboard/channels/rh-a-site").await;
    // Someone else's offer is not found.
    let mut b = sign_in(&w, "holder-b@demo.test", "demo-password").await;
    b.get(&w, "/dashboard").await;
    assert_eq!(b.form(&w, "/dashboard/offers/rh-a-default/withdraw", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        b.form(&w, "/dashboard/offers/rh-a-default/edit", &[("price", "1")]).await.status,
        StatusCode::NOT_FOUND
    );

    // A bad price comes back beside the form, typed text kept.
    let r = a.form(&w, "/dashboard/offers/rh-a-default/edit", &[("price", "12.345"), ("currency", "CNY")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains(r#"id="offer-error""#) && r.text().contains(r#"value="12.345""#), "{}", r.text());

    let r = a.form(&w, "/dashboard/offers/rh-a-default/edit", &[("price", "88.00"), ("currency", "CNY")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = a.get(&w, "/dashboard/channels/rh-a-site").await.text();
    assert!(page.contains("¥88.00") && page.contains("已于"), "new price shown, old one marked withdrawn: {page}");
    let checkout = Browser::default().get(&w, "/checkout?work=rh-a-w0").await.text();
    assert!(checkout.contains("¥88.00") && !checkout.contains(r#"value="rh-a-default""#), "{checkout}");
    let seal = Browser::default().get(&w, "/api/v1/seal/rh-a-w0").await.json();
    let prices: Vec<i64> =
        seal["offers"].as_array().into_iter().flatten().filter_map(|o| o["price_minor"].as_i64()).collect();
    assert!(prices.contains(&8800) && !prices.contains(&sold_price), "the seal shows the new price only: {prices:?}");
    // Buying under the withdrawn offer is refused.
    let late = start_checkout(&w, &mut Browser::default(), "rh-a-w0", "rh-a-default", "late@example.test").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.text());
    // The licence sold before keeps its offer snapshot and price.
    let l = g.get(&w, &format!("/api/v1{}", r_location(&bought))).await.json();
    assert_eq!(l["amount_minor"].as_i64(), Some(sold_price));
    let stored = {
        let s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        s.licence(&seal_licensing::ids::LicenceId::new(lic.as_str())?)?.context("licence")?
    };
    assert_eq!(stored.offer.id.as_str(), "rh-a-default");
    assert_eq!(stored.offer.withdrawn_at, None, "the snapshot is the offer as bought");
    assert_eq!(stored.price.amount.minor(), sold_price);

    // Withdraw the new one too: the checkout then has nothing to offer for that channel.
    let new_id = page
        .split("/dashboard/offers/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .context("an offer with actions")?
        .to_owned();
    let r = a.form(&w, &format!("/dashboard/offers/{new_id}/withdraw"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let again = a.form(&w, &format!("/dashboard/offers/{new_id}/withdraw"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "withdrawing twice changes nothing");
    let checkout = Browser::default().get(&w, "/checkout?work=rh-a-w0").await.text();
    assert!(!checkout.contains("¥88.00"), "{checkout}");
    let events = {
        let s = w.state.store.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        s.unpublished_events(5000)?.into_iter().filter(|e| e.kind == "offer.changed").count()
    };
    assert_eq!(events, 3, "published + withdrawn by the edit, withdrawn once more");
    invariants_hold(&w)?;
    Ok(())
}

fn r_location(status: &Value) -> String {
    format!("/checkout/{}", status["id"].as_str().unwrap_or_default())
}

/// A licensee downloads the letter as a PDF from the dashboard; nobody else can.
#[actix_web::test]
async fn the_licensee_downloads_the_letter_pdf_from_the_dashboard() -> Result<()> {
    let w = world()?;
    let mut l = Browser::sign_up(&w, "pdf-buyer@example.test", "licensee").await;
    l.get(&w, "/checkout?work=rh-b-w0").await;
    let fields = [("work", "rh-b-w0"), ("offer", "rh-b-default"), ("name", "买家"), ("use_url", "pdf.example.test")];
    let r = l.form(&w, "/checkout", &fields).await;
    let r = l.form(&w, &r.location(), &[("action", "pay")]).await;
    let lic =
        l.get(&w, &format!("/api/v1{}", r.location())).await.json()["licence"].as_str().context("licensed")?.to_owned();
    let path = format!("/dashboard/licences/{lic}/letter.pdf");
    let mut other = Browser::sign_up(&w, "pdf-other@example.test", "licensee").await;
    assert_eq!(other.get(&w, &path).await.status, StatusCode::NOT_FOUND);
    if w.state.font.is_none() {
        assert!(std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_none(), ".ci/run installs a CJK font: none was found");
        return Ok(());
    }
    assert!(l.get(&w, "/dashboard").await.text().contains(&path), "the dashboard links the PDF");
    let pdf = l.get(&w, &path).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with(b"%PDF"));
    Ok(())
}

/// The dashboard's channel and registration forms explain a refusal beside the form and keep what
/// was typed (only a chosen file cannot be kept).
#[actix_web::test]
async fn refused_channel_and_registration_forms_keep_the_input() -> Result<()> {
    let w = world()?;
    let mut a = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    a.get(&w, "/dashboard").await;
    let r = a.form(&w, "/dashboard/channels", &[("kind", "website"), ("handle", "not a domain")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = r.text();
    assert!(page.contains(r#"id="channel-error""#) && page.contains(r#"value="not a domain""#), "{page}");
    assert!(page.contains("<header") && page.contains(r#"id="works""#), "the whole dashboard, not an error page");

    let boundary = "----sealform";
    let body = multipart(
        boundary,
        &[("csrf", &a.csrf()), ("title", "江畔新闻稿"), ("author", "记者甲"), ("source_url", "")],
        None,
    );
    let req = test::TestRequest::post()
        .uri("/dashboard/works")
        .insert_header((header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")))
        .set_payload(body);
    let r = a.send(&w, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let page = r.text();
    assert!(page.contains(r#"id="work-error""#) && page.contains(r#"value="江畔新闻稿""#), "{page}");
    assert!(page.contains(r#"value="记者甲""#) && page.contains(r#"<details id="register" open>"#), "{page}");
    Ok(())
}
