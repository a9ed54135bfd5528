//! The payment receipt (收据) as a one-page A4 document in one language: the platform's letterhead,
//! the receipt's number, payer and payee (the rights holder, the platform collecting as agent), the
//! paid item "著作权使用费 —《title》" with its place of use and amount, the payment's provider,
//! reference and escrow date, and the block a company's accounts department needs to ask for a VAT
//! fapiao once the fee has settled.
//!
//! A receipt is not an invoice and not a fapiao: the fee is held in escrow when it is paid, the
//! platform's invoice is issued at settlement, and a fapiao goes through the tax system on request.
//! The page says so, and leaves what the record does not hold (the taxpayer ID) as a line to write on.
//!
//! Everything is drawn from the receipt's JSON document (built by the web layer from the checkout and
//! its licence; keys below), with the invoice's drawing kit (`letter.rs` canvas, `invoice.rs` fapiao
//! block) and every word from the `doc-` catalogue. The document never carries the checkout id, which
//! is the secret that opens the letter: a printed receipt travels through accounts departments.
//!
//! Keys: `type`, `number`, `licence`, `paid.{amount_minor,currency}`, `provider`, `provider_ref`,
//! `buyer.{name,email}`, `payee.{id,name}`, `work.{id,title}`, `scope` (a `UseScope`), `paid_at`,
//! `escrow_until` (RFC 3339 UTC).

use super::invoice::{amount, fapiao_block, fapiao_height, tint};
use super::letter::{grey, ink, letterhead, rect, title, when, wrap, Canvas, Style, LEFT, PAGE_H, PAGE_W, RIGHT};
use super::{s, PdfError, PdfFont};
use crate::i18n::Lang;
use krilla::page::PageSettings;
use krilla::Document;
use seal_licensing::licence::UseScope;
use serde_json::Value;

/// Renders a receipt document (keys in the module docs) as a PDF in `lang`.
pub fn receipt_pdf_in(receipt: &Value, font: &PdfFont, lang: Lang) -> Result<Vec<u8>, PdfError> {
    // Documents are dated in Beijing time whatever zone the reader chose: a formal record reads the same for both parties.
    let lang = lang.in_zone(crate::i18n::Zone::BEIJING);
    let l = &lang;
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", l.t("doc-receipt-title"), s(receipt, &["number"])))
            .creator(l.t("doc-platform-name")),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Krilla("page size".into()))?;
    let mut page = doc.start_page_with(settings.clone());
    let mut surface = page.surface();
    let mut c = Canvas { surface: &mut surface, font };
    letterhead(&mut c, l);
    title(&mut c, l, &l.t("doc-receipt-title"));
    let number = l.t1("doc-receipt-number-line", "number", s(receipt, &["number"]));
    c.centered(false, 162.0, 10.0, grey(), &number);
    let y = parties(&mut c, receipt, l);
    let y = item(&mut c, receipt, l, y + 26.0)?;
    let y = escrow(&mut c, receipt, l, y + 22.0);
    let (note, rows) = fapiao_rows(receipt, l);
    let footer_top = footer(&mut c, receipt, l);
    if y + 30.0 + fapiao_height(&c, &note, &rows) <= footer_top - 12.0 {
        fapiao_block(&mut c, l, y + 30.0, &note, &rows)?;
        surface.finish();
        page.finish();
    } else {
        // Only a very long name and title get here: the fapiao block goes whole onto a second page
        // rather than running into the footer.
        surface.finish();
        page.finish();
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let mut c = Canvas { surface: &mut surface, font };
        letterhead(&mut c, l);
        c.centered(false, 122.0, 10.0, grey(), &number);
        fapiao_block(&mut c, l, 156.0, &note, &rows)?;
        footer(&mut c, receipt, l);
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Krilla(format!("{e:?}")))
}

/// The amount paid, the locale's way.
fn paid(r: &Value, l: &Lang) -> String {
    amount(&r["paid"]["amount_minor"], &Value::Null, s(r, &["paid", "currency"]), l)
}

/// Payer and payee on the left, the payment's facts in a tinted box on the right; returns the bottom.
fn parties(c: &mut Canvas<'_, '_>, r: &Value, l: &Lang) -> f32 {
    let label = Style { size: 8.5, color: grey(), mono: false, bold: false };
    let strong = Style { size: 12.0, bold: true, ..Style::body() };
    let column = 250.0;
    let mut y = 200.0;
    c.styled(LEFT, y, &label, &l.t("doc-receipt-payer"));
    for line in wrap(c.face(false), s(r, &["buyer", "name"]), 12.0, column) {
        y += 17.0;
        c.styled(LEFT, y, &strong, &line);
    }
    y += 14.0;
    c.text(false, LEFT, y, 9.0, grey(), s(r, &["buyer", "email"]));
    y += 26.0;
    c.styled(LEFT, y, &label, &l.t("doc-receipt-payee"));
    for line in wrap(c.face(false), s(r, &["payee", "name"]), 12.0, column) {
        y += 17.0;
        c.styled(LEFT, y, &strong, &line);
    }
    y += 14.0;
    c.text(false, LEFT, y, 9.0, grey(), &l.t1("doc-account", "id", s(r, &["payee", "id"])));
    let agent = l.t1("doc-receipt-agent", "platform", l.t("doc-platform-name"));
    for line in wrap(c.face(false), &agent, 9.0, column) {
        y += 13.0;
        c.text(false, LEFT, y, 9.0, grey(), &line);
    }

    let x = RIGHT - 230.0;
    let rows = [
        (l.t("doc-receipt-paid-at"), when(&r["paid_at"], l), false),
        (l.t("doc-invoice-licence"), s(r, &["licence"]).to_owned(), false),
        (l.t("doc-receipt-provider"), s(r, &["provider"]).to_owned(), false),
        (l.t("doc-receipt-ref"), s(r, &["provider_ref"]).to_owned(), true),
    ];
    let box_top = 186.0;
    let row_h = 30.0;
    let box_h = row_h * rows.len() as f32 + 10.0;
    if let Ok(p) = rect(x, box_top, RIGHT - x, box_h) {
        c.fill(&p, tint(), 1.0);
    }
    let mut ry = box_top + 4.0;
    for (k, v, mono) in &rows {
        // Label above value: a Beijing time or a provider's reference is too long to share a line.
        c.text(false, x + 10.0, ry + 11.0, 8.0, grey(), k);
        let value = Style { size: if *mono { 8.5 } else { 9.5 }, mono: *mono, ..Style::body() };
        let text = wrap(c.face(*mono), v, value.size, RIGHT - x - 20.0).into_iter().next().unwrap_or_default();
        c.styled(x + 10.0, ry + 24.0, &value, &text);
        ry += row_h;
    }
    y.max(box_top + box_h)
}

/// The one line of the receipt and its total, from `top`; returns its bottom.
fn item(c: &mut Canvas<'_, '_>, r: &Value, l: &Lang, top: f32) -> Result<f32, PdfError> {
    let head = Style { size: 9.5, color: ink(), mono: false, bold: true };
    c.fill(&rect(LEFT, top, RIGHT - LEFT, 22.0)?, tint(), 1.0);
    c.styled(LEFT + 8.0, top + 15.0, &head, &l.t("doc-col-item"));
    c.right(&head, RIGHT - 8.0, top + 15.0, &l.t("doc-col-amount"));
    let desc_w = RIGHT - LEFT - 150.0;
    let money = paid(r, l);
    let mut b = top + 22.0 + 17.0;
    c.right(&Style { size: 10.5, ..Style::body() }, RIGHT - 8.0, b, &money);
    let text = l.t1("doc-receipt-item", "title", s(r, &["work", "title"]));
    let mut lines = wrap(c.face(false), &text, 10.5, desc_w);
    if lines.len() > 3 {
        // A title this long is cut, and says so; the letter carries it in full.
        lines.truncate(3);
        if let Some(last) = lines.last_mut() {
            last.pop();
            last.push('…');
        }
    }
    for line in &lines {
        c.text(false, LEFT + 8.0, b, 10.5, ink(), line);
        b += 15.0;
    }
    let scope = match serde_json::from_value::<UseScope>(r["scope"].clone()) {
        Ok(scope) => l.scope(&scope),
        Err(_) => r["scope"].to_string(),
    };
    for line in wrap(c.face(false), &l.t1("doc-receipt-scope", "scope", scope), 8.5, desc_w).iter().take(2) {
        c.text(false, LEFT + 8.0, b - 1.0, 8.5, grey(), line);
        b += 12.0;
    }
    let work = l.t1("doc-receipt-work-id", "id", s(r, &["work", "id"]));
    c.text(true, LEFT + 8.0, b - 1.0, 7.5, grey(), &work);
    let y = b + 8.0;
    c.hline(LEFT, RIGHT, y, 1.2, ink());
    let total = Style { size: 12.0, color: ink(), mono: false, bold: true };
    c.styled(LEFT + 8.0, y + 22.0, &total, &l.t("doc-receipt-total"));
    c.right(&total, RIGHT - 8.0, y + 22.0, &money);
    c.right(
        &Style { size: 8.0, color: grey(), mono: false, bold: false },
        RIGHT - 8.0,
        y + 38.0,
        &l.t1("doc-currency", "code", s(r, &["paid", "currency"])),
    );
    Ok(y + 38.0)
}

/// Where the money is until settlement; returns the bottom.
fn escrow(c: &mut Canvas<'_, '_>, r: &Value, l: &Lang, top: f32) -> f32 {
    let text = l.t1("doc-receipt-escrow", "until", when(&r["escrow_until"], l));
    let mut y = top;
    for line in wrap(c.face(false), &text, 9.5, RIGHT - LEFT) {
        c.text(false, LEFT, y, 9.5, ink(), &line);
        y += 14.0;
    }
    y
}

/// The note and rows of the block for requesting a fapiao after settlement.
fn fapiao_rows(r: &Value, l: &Lang) -> (String, Vec<(String, Option<String>)>) {
    let rows = vec![
        (l.t("doc-fapiao-buyer"), Some(s(r, &["buyer", "name"]).to_owned())),
        (l.t("doc-fapiao-taxid"), None),
        (l.t("doc-fapiao-item"), Some(l.t("doc-fapiao-item-value"))),
        (l.t("doc-fapiao-amount"), Some(paid(r, l))),
        (l.t("doc-fapiao-rate"), Some("—".to_owned())),
    ];
    (l.t("doc-receipt-fapiao-note"), rows)
}

/// Where the receipt comes from, at the foot of the page; returns the footer's top.
fn footer(c: &mut Canvas<'_, '_>, r: &Value, l: &Lang) -> f32 {
    let text = l.t1("doc-receipt-record", "type", s(r, &["type"]));
    let lines = wrap(c.face(false), &text, 7.5, RIGHT - LEFT);
    let top = PAGE_H - 34.0 - 10.5 * lines.len() as f32;
    let mut y = top;
    c.hline(LEFT, RIGHT, y, 0.5, grey());
    for line in &lines {
        y += 10.5;
        c.text(false, LEFT, y, 7.5, grey(), line);
    }
    top
}

#[cfg(test)]
mod tests {
    use super::super::letter::tests::{catalogue_phrases, pdf_text, squeeze, test_font};
    use super::*;
    use serde_json::json;

    fn receipt() -> Value {
        json!({
            "type": "seal-receipt/v1",
            "number": "R20261201-3F9A2C1B",
            "licence": "lic-0",
            "paid": {"amount_minor": 1999, "currency": "CNY"},
            "provider": "alipay",
            "provider_ref": "2026113022001400001",
            "buyer": {"name": "青禾文化传媒有限公司", "email": "finance@qinghe.example.cn"},
            "payee": {"id": "hld-1", "name": "江城日报社"},
            "work": {"id": "wk-8Hq2xN4tRbV7", "title": "长江流域的春天"},
            "scope": {"domain": "qinghe.example.cn"},
            "paid_at": "2026-11-30T20:15:00.000Z",
            "escrow_until": "2026-12-14T20:15:00.000Z",
        })
    }

    #[test]
    fn the_receipt_reads_in_one_language_each() -> Result<(), PdfError> {
        let Some(font) = test_font() else { return Ok(()) };
        for lang in Lang::ALL {
            let pdf = receipt_pdf_in(&receipt(), &font, lang)?;
            assert!(pdf.starts_with(b"%PDF"));
            let Some(text) = pdf_text(&pdf, &format!("receipt-{}", lang.code())) else { continue };
            let flat = squeeze(&text);
            for fact in ["青禾文化传媒有限公司", "江城日报社", "长江流域的春天", "R20261201-3F9A2C1B", "¥19.99"]
            {
                assert!(flat.contains(fact), "{fact}: {text}");
            }
            assert!(
                flat.contains("2026113022001400001") && flat.contains("lic-0") && flat.contains("alipay"),
                "{text}"
            );
            // 20:15 UTC on 30 November is 04:15 on 1 December in Beijing.
            assert!(flat.contains("2026-12-0104:15") && flat.contains("2026-12-1504:15"), "{text}");
            match lang.tongue() {
                crate::i18n::Tongue::Zh => {
                    for word in ["收据", "付款方", "收款方", "著作权使用费", "购买方名称", "纳税人识别号", "税率"]
                    {
                        assert!(flat.contains(word), "{word}: {text}");
                    }
                }
                crate::i18n::Tongue::En => {
                    assert!(
                        flat.contains("Receipt") && flat.contains("TaxpayerID") && flat.contains("fapiao"),
                        "{text}"
                    );
                }
            }
            for phrase in catalogue_phrases(lang.other()) {
                assert!(!flat.contains(&phrase), "{} receipt shows {phrase:?}:\n{text}", lang.code());
            }
        }
        Ok(())
    }

    #[test]
    fn an_empty_or_long_receipt_still_renders() -> Result<(), PdfError> {
        let Some(font) = test_font() else { return Ok(()) };
        assert!(receipt_pdf_in(&json!({}), &font, Lang::Zh)?.starts_with(b"%PDF"));
        let mut long = receipt();
        long["work"]["title"] = json!("长江".repeat(300));
        // The longest name a checkout accepts (100 characters).
        long["buyer"]["name"] = json!("青禾".repeat(50));
        let pdf = receipt_pdf_in(&long, &font, Lang::En)?;
        if let Some(text) = pdf_text(&pdf, "receipt-long-en") {
            assert!(squeeze(&text).contains("TaxpayerID"), "{text}");
        }
        Ok(())
    }
}
