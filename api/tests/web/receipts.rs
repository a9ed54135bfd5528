//! The buyer's documents after a real sandbox purchase: the receipt as an HTML page in each language
//! (with the fapiao details, never raw JSON) and as a PDF, the JSON receipt kept for machines, the
//! success page leading with the letter PDF, and the licence mail arriving at a real SMTP server
//! (aiosmtpd) with the letter attached as a PDF, or as the JWS when no font can draw it.

use super::*;
use base64::Engine;

const WORK: &str = "rh-a-w0";
const WORK_TITLE: &str = "示例作品 0-0";
const HOLDER_NAME: &str = "权利人 rh-a";
const BUYER_NAME: &str = "转载方 Reuser";

/// A guest buys `WORK` through the sandbox in `b`'s language; returns the checkout id.
async fn buy(w: &World, b: &mut Browser, email: &str) -> Result<String> {
    let r = start_checkout(w, b, WORK, "rh-a-default", email).await;
    anyhow::ensure!(r.status == StatusCode::SEE_OTHER, "checkout: {}", r.text());
    let r = b.form(w, &r.location(), &[("action", "pay")]).await;
    let co = r.location().trim_start_matches("/checkout/").to_owned();
    let status = b.get(w, &format!("/api/v1/checkout/{co}")).await.json();
    anyhow::ensure!(status["status"] == "licensed", "{status}");
    Ok(co)
}

/// The text of a PDF by poppler's pdftotext, whitespace removed; `None` when poppler is missing. As
/// the PDF unit tests do, it also leaves pictures in /tmp/pdfshots for a person to look at.
fn pdf_text(pdf: &[u8], name: &str) -> Result<Option<String>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(format!("{name}.pdf"));
    std::fs::write(&file, pdf)?;
    let shots = std::path::Path::new("/tmp/pdfshots");
    if std::fs::create_dir_all(shots).is_ok() {
        let _ =
            std::process::Command::new("pdftoppm").args(["-png", "-r", "60"]).arg(&file).arg(shots.join(name)).status();
    }
    match std::process::Command::new("pdftotext").arg(&file).arg("-").output() {
        Ok(out) => Ok(Some(String::from_utf8_lossy(&out.stdout).split_whitespace().collect())),
        Err(_) => {
            println!("pdftotext not found: the PDF's text is not checked");
            Ok(None)
        }
    }
}

fn content_type(r: &Reply) -> &str {
    r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[actix_web::test]
async fn the_receipt_is_a_page_and_a_pdf_in_the_buyers_language() -> Result<()> {
    let w = world()?;
    let mut g = Browser::default();
    let co = buy(&w, &mut g, "receipt@example.test").await?;
    let json = g.get(&w, &format!("/api/v1/checkout/{co}/receipt")).await;
    assert_eq!(content_type(&json), "application/json");
    let json = json.json();
    let licence = json["licence"].as_str().context("licence")?.to_owned();

    // Chinese (the default): every fapiao field, the item, amount and parties; no JSON.
    let page = g.get(&w, &format!("/checkout/{co}/receipt")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(content_type(&page).starts_with("text/html"), "{}", content_type(&page));
    assert_eq!(page.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    let zh = page.text();
    for fact in [
        "<h1>收据</h1>",
        "著作权使用费 —《示例作品 0-0》",
        "¥19.99",
        "购买方名称",
        "纳税人识别号",
        "项目名称",
        "<td>著作权使用费</td>",
        "税率",
        "<td>—</td>",
        "增值税发票",
        "收款方",
        HOLDER_NAME,
        BUYER_NAME,
        "receipt@example.test",
        "北京时间",
        "支付渠道",
        "sandbox",
        "托管至",
        "reuse.example.test/news/1",
        licence.as_str(),
    ] {
        assert!(zh.contains(fact), "{fact} missing:\n{zh}");
    }
    assert!(!zh.contains("receipt_for") && !zh.contains("amount_minor") && !zh.trim_start().starts_with('{'), "{zh}");
    // The number is derived (the same on every visit) and the checkout id, which opens the letter, is
    // only in the links, never printed.
    let number = between(&zh, "id=\"receipt-number\">", "<").context("receipt number")?;
    assert!(number.starts_with("R20261120-") && number.len() == 18, "{number}");
    assert!(g.get(&w, &format!("/checkout/{co}/receipt")).await.text().contains(&number));
    assert_eq!(zh.matches(co.as_str()).count(), zh.matches(&format!("href=\"/checkout/{co}")).count(), "{zh}");
    assert!(zh.contains("@media print{") && zh.contains("header.top nav"), "print styles hide the navigation");

    // English: the same facts, and no Chinese but the names and the title.
    let en = co_english().get(&w, &format!("/checkout/{co}/receipt")).await.text();
    for fact in
        ["Payment Receipt", "Copyright licence fee", "¥19.99", "Buyer name", "Taxpayer ID", "Tax rate", "fapiao"]
    {
        assert!(en.contains(fact), "{fact} missing:\n{en}");
    }
    assert!(en.contains(&number) && en.contains(HOLDER_NAME) && en.contains(WORK_TITLE), "{en}");
    assert_eq!(co_stray_cjk(&en, &[WORK_TITLE, HOLDER_NAME, BUYER_NAME]), "", "{en}");

    // The machine form keeps its keys.
    assert_eq!(json["receipt_for"], co.as_str());
    assert_eq!(json["paid"], json!({"amount_minor": 1999, "currency": "CNY"}));
    assert_eq!(json["buyer"], json!({"name": BUYER_NAME, "email": "receipt@example.test"}));
    for key in ["provider", "provider_ref", "paid_at", "escrow_until", "note"] {
        assert!(json.get(key).is_some(), "{key}: {json}");
    }

    // The PDF, in each language.
    let pdf = g.get(&w, &format!("/checkout/{co}/receipt.pdf")).await;
    if w.state.font.is_none() {
        assert_eq!(pdf.json()["code"], "no_font");
        assert!(std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_none(), ".ci/run installs a CJK font: none was found");
        return Ok(());
    }
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(content_type(&pdf), "application/pdf");
    assert!(pdf.body.starts_with(b"%PDF"));
    if let Some(text) = pdf_text(&pdf.body, "web-receipt-zh-CN")? {
        for fact in ["¥19.99", "著作权使用费", "购买方名称", "纳税人识别号", "示例作品0-0", number.as_str()]
        {
            assert!(text.contains(fact), "{fact} missing: {text}");
        }
        assert!(!text.contains(co.as_str()), "the PDF prints the checkout id: {text}");
    }
    let pdf_en = co_english().get(&w, &format!("/checkout/{co}/receipt.pdf")).await;
    assert!(pdf_en.body.starts_with(b"%PDF"));
    if let Some(text) = pdf_text(&pdf_en.body, "web-receipt-en")? {
        assert!(
            text.contains("Copyrightlicencefee") && text.contains("¥19.99") && text.contains("TaxpayerID"),
            "{text}"
        );
    }
    Ok(())
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let at = text.find(start)? + start.len();
    Some(text[at..at + text[at..].find(end)?].to_owned())
}

#[actix_web::test]
async fn only_a_licensed_checkout_has_a_receipt_and_its_id_is_the_key() -> Result<()> {
    let w = world()?;
    let mut g = Browser::default();
    // A declined checkout has none, in every form; an unknown id is not found.
    let r = start_checkout(&w, &mut g, WORK, "rh-a-default", "declined@example.test").await;
    let declined = g.form(&w, &r.location(), &[("action", "decline")]).await.location();
    assert!(declined.starts_with("/checkout/co_"), "{declined}");
    for path in [format!("{declined}/receipt"), format!("{declined}/receipt.pdf"), format!("/api/v1{declined}/receipt")]
    {
        let r = g.get(&w, &path).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{path}: {}", r.text());
    }
    for path in ["/checkout/co_nope/receipt", "/checkout/co_nope/receipt.pdf", "/api/v1/checkout/co_nope/receipt"] {
        assert_eq!(b_get_status(&w, path).await, StatusCode::NOT_FOUND, "{path}");
    }
    // A paid one: its id alone opens the receipt (as it does the status page and the letter).
    let co = buy(&w, &mut g, "key@example.test").await?;
    assert_eq!(b_get_status(&w, &format!("/checkout/{co}/receipt")).await, StatusCode::OK);
    Ok(())
}

#[actix_web::test]
async fn the_success_page_leads_with_the_letter_pdf() -> Result<()> {
    let w = world()?;
    let mut g = Browser::default();
    let co = buy(&w, &mut g, "success@example.test").await?;
    for mut b in [g.clone(), co_english()] {
        let html = b.get(&w, &format!("/checkout/{co}")).await.text();
        let at = |id: &str| html.find(&format!("id=\"{id}\"")).with_context(|| format!("{id} missing: {html}"));
        if w.state.font.is_some() {
            let (letter, receipt, receipt_pdf, jws) =
                (at("letter-pdf")?, at("receipt")?, at("receipt-pdf")?, at("letter-jws")?);
            assert!(letter < receipt && receipt < receipt_pdf && receipt_pdf < jws, "{html}");
            // The letter is the one big button; the JWS a small link for machines.
            let button = &html[html[..letter].rfind('<').context("tag")?..letter];
            assert!(button.contains("class=\"button\""), "{button}");
            let jws_line = &html[html[..jws].rfind("<p").context("p")?..jws];
            assert!(jws_line.contains("class=\"small\""), "{jws_line}");
        } else {
            assert!(at("receipt")? < at("letter-jws")?, "{html}");
        }
    }
    let zh = g.get(&w, &format!("/checkout/{co}")).await.text();
    assert!(zh.contains("下载授权书 (PDF)") || w.state.font.is_none(), "{zh}");
    let en = co_english().get(&w, &format!("/checkout/{co}")).await.text();
    assert!(en.contains("For machines") && en.contains("Signed letter (JWS)"), "{en}");
    assert_eq!(co_stray_cjk(&en, &[WORK_TITLE, HOLDER_NAME, BUYER_NAME]), "", "{en}");
    // The page's links answer.
    assert!(g.get(&w, &format!("/checkout/{co}/letter.jws")).await.status.is_success());
    if w.state.font.is_some() {
        assert!(g.get(&w, &format!("/checkout/{co}/letter.pdf")).await.body.starts_with(b"%PDF"));
    }
    Ok(())
}

/// The MIME part of `mail` whose headers contain `content_type`: its headers and decoded body.
fn mime_part(mail: &str, content_type: &str) -> Option<(String, Vec<u8>)> {
    let mail = mail.replace("\r\n", "\n");
    let found = mail.find(&format!("Content-Type: {content_type}"))?;
    // The part's headers run from its boundary line to the first empty line.
    let at = mail[..found].rfind("\n--").map_or(0, |b| b + 1);
    let head_end = found + mail[found..].find("\n\n")?;
    let headers = mail[at..head_end].to_owned();
    let body = &mail[head_end + 2..];
    let body = &body[..body.find("\n--").unwrap_or(body.len())];
    let b64: String = body.split_whitespace().collect();
    Some((headers, base64::engine::general_purpose::STANDARD.decode(b64).ok()?))
}

#[actix_web::test]
async fn the_licence_mail_attaches_the_letter_pdf_in_the_buyers_language() -> Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let w = world_with(|c| c.smtp = Some(("127.0.0.1".into(), port)))?;
    let server = smtp_server(port)?;
    let mut g = co_english();
    let co = buy(&w, &mut g, "pdfmail@example.test").await?;
    assert_eq!(seal_api::web::mail::drain_once(&w.state), Ok(1));
    let got = mails(&server);
    assert_eq!(got.len(), 1, "{got:?}");
    let mail = &got[0];
    assert!(mail.contains("To: pdfmail@example.test"), "{mail}");
    // The JWS stays available for machines, by link.
    assert!(mail.contains(&format!("/checkout/{co}/letter.jws")), "{mail}");
    let Some(font) = w.state.font.as_ref() else {
        assert!(std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_none(), ".ci/run installs a CJK font: none was found");
        assert!(mime_part(mail, "application/jose").is_some(), "{mail}");
        return Ok(());
    };
    assert!(font.cjk || std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_none());
    assert!(mail.contains("The licence letter (PDF"), "{mail}");
    let (headers, pdf) = mime_part(mail, "application/pdf").context("no application/pdf part")?;
    assert!(headers.contains("authorization-letter.pdf"), "{headers}");
    assert!(pdf.starts_with(b"%PDF"), "{headers}");
    assert!(mime_part(mail, "application/jose").is_none(), "one attachment: the PDF");
    // The letter is the buyer's, in their language (English here).
    let licence =
        g.get(&w, &format!("/api/v1/checkout/{co}")).await.json()["licence"].as_str().context("licence")?.to_owned();
    if let Some(text) = pdf_text(&pdf, "mail-letter-en")? {
        assert!(text.contains(&licence) && text.contains("AuthorizationLetter"), "{text}");
        assert!(text.contains(&BUYER_NAME.replace(' ', "")) && text.contains("reuse.example.test/news/1"), "{text}");
        // The mailed letter carries the QR code to the verification page, as the downloaded one does.
        assert!(text.contains("Scantoverifyonline"), "{text}");
    }
    Ok(())
}

#[actix_web::test]
async fn without_a_font_the_mail_still_goes_with_the_signed_letter() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = ServeConfig::for_tests(dir.path(), "127.0.0.1:1".parse()?);
    config.demo = true;
    let clock = Arc::new(AtomicI64::new(Timestamp::parse(T0)?.unix_ms()));
    let c = clock.clone();
    let mut state = open_state(config, Arc::new(move || Timestamp::from_unix_ms(c.load(Ordering::SeqCst))))?;
    state.font = None;
    let w = World { _dir: dir, state: web::Data::new(state), clock };
    let mut g = Browser::default();
    let co = buy(&w, &mut g, "nofont@example.test").await?;
    let queued = queued_mail_to(&w, "nofont@example.test");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (name, bytes) = queued[0].attachment.clone().context("an attachment")?;
    assert_eq!(name, "authorization-letter.jws");
    let payload = seal_licensing::letter::verify_letter(&bytes, &w.state.key.public())?;
    assert_eq!(payload["licensee"]["name"], BUYER_NAME);
    assert!(queued[0].body.contains(&format!("/checkout/{co}/letter.jws")), "{}", queued[0].body);
    // The pages say PDFs are unavailable rather than link to a 503.
    let page = g.get(&w, &format!("/checkout/{co}/receipt")).await.text();
    assert!(!page.contains("receipt.pdf") && page.contains("著作权使用费"), "{page}");
    assert_eq!(g.get(&w, &format!("/checkout/{co}/receipt.pdf")).await.json()["code"], "no_font");
    Ok(())
}
