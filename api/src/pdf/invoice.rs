//! The invoice as a one-page A4 document in one language: the platform's letterhead, the invoice's
//! number and dates, seller (the rights holder, with the platform collecting as agent) and buyer, the
//! lines with amounts right-aligned and the total, and the details a Chinese company needs to request
//! a fapiao (发票) for it.
//!
//! The platform's invoice is not a fapiao, and the page says so rather than look like one: a fapiao is
//! issued through the tax system, and a company's accounts department asks for it with exactly the
//! block printed here (buyer name, taxpayer ID, item, amount, rate and tax). Facts the invoice record
//! does not hold (the taxpayer ID, the tax rate) are left to fill in or shown as "—", never guessed.
//!
//! Everything is drawn from the invoice's `to_json()` form (`seal_licensing::invoice`), and every word
//! comes from the `doc-` catalogue; the line descriptions the ledger writes in English are recognised
//! and said in the document's language.

use super::letter::{grey, ink, letterhead, rect, red, title, when, wrap, Canvas, Style, LEFT, PAGE_H, PAGE_W, RIGHT};
use super::{s, PdfError, PdfFont};
use crate::i18n::{Arg, Lang};
use krilla::color::rgb;
use krilla::page::PageSettings;
use krilla::Document;
use serde_json::Value;

/// The light fill behind labels and key facts (shared with the receipt).
pub(super) fn tint() -> rgb::Color {
    rgb::Color::new(244, 240, 236)
}

/// Renders an invoice (its `to_json()` form) as a PDF in `lang`.
pub fn invoice_pdf_in(invoice: &Value, font: &PdfFont, lang: Lang) -> Result<Vec<u8>, PdfError> {
    // Documents are dated in Beijing time whatever zone the reader chose: a formal record reads the same for both parties.
    let lang = lang.in_zone(crate::i18n::Zone::BEIJING);
    let l = &lang;
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", l.t("doc-invoice-title"), s(invoice, &["number"])))
            .creator(l.t("doc-platform-name")),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Krilla("page size".into()))?;
    let mut page = doc.start_page_with(settings);
    let mut surface = page.surface();
    let mut c = Canvas { surface: &mut surface, font };
    letterhead(&mut c, l);
    title(&mut c, l, &l.t("doc-invoice-title"));
    let y = parties(&mut c, invoice, l);
    let y = lines(&mut c, invoice, l, y + 26.0)?;
    fapiao(&mut c, invoice, l, y + 34.0)?;
    footer(&mut c, invoice, l);
    surface.finish();
    page.finish();
    doc.finish().map_err(|e| PdfError::Krilla(format!("{e:?}")))
}

/// A total or line amount the locale's way, from the minor units (the decimal string as given when
/// they are missing).
pub(super) fn amount(minor: &Value, decimal: &Value, currency: &str, l: &Lang) -> String {
    match minor.as_i64() {
        Some(m) => l.money(m, currency),
        None => format!("{} {currency}", decimal.as_str().unwrap_or("—")),
    }
}

/// Seller and buyer on the left, the invoice's number and dates on the right; returns the bottom.
fn parties(c: &mut Canvas<'_, '_>, inv: &Value, l: &Lang) -> f32 {
    let label = Style { size: 8.5, color: grey(), mono: false, bold: false };
    let value = Style::body();
    let column = 250.0;
    let mut y = 178.0;
    c.styled(LEFT, y, &label, &l.t("doc-seller"));
    y += 16.0;
    c.styled(LEFT, y, &value, &l.t1("doc-seller-holder", "id", s(inv, &["rights_holder"])));
    let agent = l.t1("doc-seller-agent", "platform", l.t("doc-platform-name"));
    for line in wrap(c.face(false), &agent, 9.0, column) {
        y += 13.0;
        c.text(false, LEFT, y, 9.0, grey(), &line);
    }
    y += 24.0;
    c.styled(LEFT, y, &label, &l.t("doc-buyer"));
    for line in wrap(c.face(false), s(inv, &["licensee", "name"]), 12.0, column) {
        y += 17.0;
        c.styled(LEFT, y, &Style { size: 12.0, bold: true, ..Style::body() }, &line);
    }
    y += 14.0;
    c.text(false, LEFT, y, 9.0, grey(), &l.t1("doc-account", "id", s(inv, &["licensee", "id"])));

    // The facts a reader looks up first, in a tinted box on the right.
    let x = RIGHT - 220.0;
    let rows = [
        (l.t("doc-invoice-number"), s(inv, &["number"]).to_owned()),
        (l.t("doc-invoice-date"), date(&inv["issued_at"], l)),
        (l.t("doc-invoice-licence"), s(inv, &["licence"]).to_owned()),
    ];
    let box_top = 164.0;
    let box_h = 20.0 * rows.len() as f32 + 34.0;
    if let Ok(r) = rect(x, box_top, RIGHT - x, box_h) {
        c.fill(&r, tint(), 1.0);
    }
    let mut ry = box_top + 6.0;
    for (k, v) in &rows {
        ry += 20.0;
        c.text(false, x + 10.0, ry, 9.0, grey(), k);
        c.right(&Style { size: 10.0, ..Style::body() }, RIGHT - 10.0, ry, v);
    }
    let series = l.args(
        "doc-invoice-series",
        &[
            ("series", Arg::from(s(inv, &["series"]))),
            ("seq", Arg::from(inv["sequence"].as_u64().map_or_else(|| "—".to_owned(), |n| n.to_string()))),
        ],
    );
    c.right(&Style { size: 8.0, ..label.clone() }, RIGHT - 10.0, ry + 18.0, &series);
    y.max(box_top + box_h)
}

/// An issue date in Beijing time: near midnight UTC the Beijing day is the one the buyer books.
fn date(v: &Value, l: &Lang) -> String {
    match super::letter::parse_time(v) {
        Some(t) => l.date(t),
        None => when(v, l),
    }
}

/// A line description in the document's language: the ledger writes a few fixed English phrases.
fn describe(text: &str, l: &Lang) -> String {
    let fee = text.strip_prefix("Licence fee for work ").and_then(|rest| rest.strip_suffix(')'));
    if let Some((work, holder)) = fee.and_then(|rest| rest.split_once(" (to rights holder ")) {
        return l.t2("doc-line-licence-fee", ("work", work), ("holder", holder));
    }
    match text {
        "Platform service fee" => l.t("doc-line-service-fee"),
        "Platform service fee (app partner share)" => l.t("doc-line-app-fee"),
        other => other.to_owned(),
    }
}

/// Lines shown in the table; more would push the fapiao block off the page, and an invoice has two or
/// three.
const SHOWN: usize = 5;

/// The table of lines and the total, from `top`; returns its bottom.
fn lines(c: &mut Canvas<'_, '_>, inv: &Value, l: &Lang, top: f32) -> Result<f32, PdfError> {
    let cur = s(inv, &["currency"]);
    let desc_w = RIGHT - LEFT - 170.0;
    let head = Style { size: 9.5, color: ink(), mono: false, bold: true };
    c.fill(&rect(LEFT, top, RIGHT - LEFT, 22.0)?, tint(), 1.0);
    c.styled(LEFT + 8.0, top + 15.0, &head, &l.t("doc-col-item"));
    c.right(&head, RIGHT - 8.0, top + 15.0, &l.t("doc-col-amount"));
    let mut y = top + 22.0;
    let items = inv["lines"].as_array().map(Vec::as_slice).unwrap_or_default();
    for item in items.iter().take(SHOWN) {
        let mut b = y + 17.0;
        let first = b;
        let mut text = wrap(c.face(false), &describe(s(item, &["description"]), l), 10.0, desc_w);
        text.truncate(3);
        for line in &text {
            c.text(false, LEFT + 8.0, b, 10.0, ink(), line);
            b += 14.0;
        }
        let transfer = l.t1("doc-line-transfer", "id", s(item, &["transfer"]));
        c.text(true, LEFT + 8.0, b - 2.0, 7.5, grey(), &transfer);
        let money = amount(&item["amount_minor"], &item["amount"], cur, l);
        c.right(&Style { size: 10.5, ..Style::body() }, RIGHT - 8.0, first, &money);
        y = b + 6.0;
        c.hline(LEFT, RIGHT, y, 0.4, grey());
    }
    if items.len() > SHOWN {
        y += 16.0;
        c.text(false, LEFT + 8.0, y, 9.0, grey(), &l.n("doc-invoice-more", (items.len() - SHOWN) as i64));
        y += 8.0;
    }
    c.hline(LEFT, RIGHT, y + 2.0, 1.2, ink());
    let total = Style { size: 12.0, color: ink(), mono: false, bold: true };
    c.styled(LEFT + 8.0, y + 22.0, &total, &l.t("doc-total"));
    c.right(&total, RIGHT - 8.0, y + 22.0, &amount(&inv["total_minor"], &inv["total"], cur, l));
    c.right(
        &Style { size: 8.0, color: grey(), mono: false, bold: false },
        RIGHT - 8.0,
        y + 38.0,
        &l.t1("doc-currency", "code", cur),
    );
    Ok(y + 38.0)
}

/// The details for requesting a fapiao, as a two-column box.
fn fapiao(c: &mut Canvas<'_, '_>, inv: &Value, l: &Lang, top: f32) -> Result<(), PdfError> {
    let cur = s(inv, &["currency"]);
    // The record has no taxpayer ID today; print one if it ever carries it, else a line to write on.
    let tax_id = inv["licensee"]["tax_id"].as_str().filter(|t| !t.is_empty());
    let rows = [
        (l.t("doc-fapiao-buyer"), Some(s(inv, &["licensee", "name"]).to_owned())),
        (l.t("doc-fapiao-taxid"), tax_id.map(str::to_owned)),
        (l.t("doc-fapiao-item"), Some(l.t("doc-fapiao-item-value"))),
        (l.t("doc-fapiao-amount"), Some(amount(&inv["total_minor"], &inv["total"], cur, l))),
        (l.t("doc-fapiao-rate"), Some("—".to_owned())),
        (l.t("doc-fapiao-tax"), Some("—".to_owned())),
    ];
    fapiao_block(c, l, top, &l.t("doc-fapiao-note"), &rows)?;
    Ok(())
}

/// The fapiao block's rows: label width, the line height, the first line's offset and each row's height.
const FAPIAO_LABEL_W: f32 = 130.0;
const FAPIAO_LINE: f32 = 14.0;
const FAPIAO_ROW: f32 = 24.0;

/// The fapiao block's note and values, wrapped to their columns (a long company name takes more lines
/// rather than running out of the box).
fn fapiao_lines(
    c: &Canvas<'_, '_>,
    note: &str,
    rows: &[(String, Option<String>)],
) -> (Vec<String>, Vec<Option<Vec<String>>>) {
    let value_w = RIGHT - LEFT - FAPIAO_LABEL_W - 24.0;
    let note = wrap(c.face(false), note, 8.5, RIGHT - LEFT);
    let values = rows.iter().map(|(_, v)| v.as_ref().map(|v| wrap(c.face(false), v, 10.0, value_w))).collect();
    (note, values)
}

fn row_height(value: &Option<Vec<String>>) -> f32 {
    FAPIAO_ROW + FAPIAO_LINE * value.as_ref().map_or(0, |v| v.len().saturating_sub(1)) as f32
}

/// The height [`fapiao_block`] takes from its `top`, so a caller can move it to a new page.
pub(super) fn fapiao_height(c: &Canvas<'_, '_>, note: &str, rows: &[(String, Option<String>)]) -> f32 {
    let (note, values) = fapiao_lines(c, note, rows);
    14.0 + 13.0 * note.len() as f32 + values.iter().map(row_height).sum::<f32>()
}

/// The fapiao block shared by the invoice and the receipt: its title, `note`, and a two-column box of
/// label and value, a value of `None` being a line to write on. Returns the box's bottom.
pub(super) fn fapiao_block(
    c: &mut Canvas<'_, '_>,
    l: &Lang,
    top: f32,
    note: &str,
    rows: &[(String, Option<String>)],
) -> Result<f32, PdfError> {
    let (note, values) = fapiao_lines(c, note, rows);
    c.styled(LEFT, top, &Style { size: 11.5, color: red(), mono: false, bold: true }, &l.t("doc-fapiao-title"));
    let mut y = top + 4.0;
    for line in &note {
        y += 13.0;
        c.text(false, LEFT, y, 8.5, grey(), line);
    }
    let label_w = FAPIAO_LABEL_W;
    let box_top = y + 10.0;
    let box_h: f32 = values.iter().map(row_height).sum();
    c.fill(&rect(LEFT, box_top, label_w, box_h)?, tint(), 1.0);
    c.stroke(&rect(LEFT, box_top, RIGHT - LEFT, box_h)?, 0.6, grey(), 1.0);
    let mut ry = box_top;
    for (i, ((label, _), value)) in rows.iter().zip(&values).enumerate() {
        if i > 0 {
            c.hline(LEFT, RIGHT, ry, 0.4, grey());
        }
        let b = ry + 16.0;
        c.text(false, LEFT + 10.0, b, 9.5, ink(), label);
        match value {
            Some(lines) => {
                for (j, line) in lines.iter().enumerate() {
                    c.text(false, LEFT + label_w + 12.0, b + FAPIAO_LINE * j as f32, 10.0, ink(), line);
                }
            }
            None => c.hline(LEFT + label_w + 12.0, LEFT + label_w + 232.0, b + 2.0, 0.6, grey()),
        }
        ry += row_height(value);
    }
    Ok(box_top + box_h)
}

/// Where the invoice comes from, at the foot of the page.
fn footer(c: &mut Canvas<'_, '_>, inv: &Value, l: &Lang) {
    let text = l.t1("doc-invoice-record", "type", s(inv, &["type"]));
    let lines = wrap(c.face(false), &text, 7.5, RIGHT - LEFT);
    let mut y = PAGE_H - 34.0 - 10.5 * lines.len() as f32;
    c.hline(LEFT, RIGHT, y, 0.5, grey());
    for line in &lines {
        y += 10.5;
        c.text(false, LEFT, y, 7.5, grey(), line);
    }
}

#[cfg(test)]
mod tests {
    use super::super::letter::tests::{catalogue_phrases, pdf_text, squeeze, test_font};
    use super::*;
    use serde_json::json;

    fn invoice() -> Value {
        json!({
            "type": "seal-invoice/v1",
            "number": "SEAL-2026-00000042",
            "series": "SEAL-2026",
            "sequence": 42,
            "issuer": "Copyright Seal platform",
            "licence": "lic-0",
            "rights_holder": "hld-1",
            "licensee": {"id": "lsee-9", "name": "青禾文化传媒有限公司"},
            "currency": "CNY",
            "lines": [
                {"description": "Licence fee for work wk-8Hq2xN4tRbV7 (to rights holder hld-1)", "amount_minor": 1699,
                    "amount": "16.99", "transfer": "tr-lic-0-post-net"},
                {"description": "Platform service fee", "amount_minor": 300, "amount": "3.00",
                    "transfer": "tr-lic-0-post-fee"},
            ],
            "total_minor": 1999,
            "total": "19.99",
            "issued_at": "2026-12-07T17:30:00.000Z",
        })
    }

    #[test]
    fn the_invoice_reads_in_one_language_each() -> Result<(), PdfError> {
        let Some(font) = test_font() else { return Ok(()) };
        for lang in Lang::ALL {
            let pdf = invoice_pdf_in(&invoice(), &font, lang)?;
            assert!(pdf.starts_with(b"%PDF"));
            let Some(text) = pdf_text(&pdf, &format!("invoice-{}", lang.code())) else { continue };
            let flat = squeeze(&text);
            assert!(flat.contains("青禾文化传媒有限公司") && flat.contains("SEAL-2026-00000042"), "{text}");
            // 17:30 UTC on 7 December is already 8 December in Beijing.
            assert!(flat.contains("2026-12-08"), "{text}");
            assert!(flat.contains("¥16.99") && flat.contains("¥3.00") && flat.contains("¥19.99"), "{text}");
            assert!(flat.contains("tr-lic-0-post-net") && flat.contains("hld-1") && flat.contains("lic-0"), "{text}");
            match lang.tongue() {
                crate::i18n::Tongue::Zh => {
                    for word in
                        ["授权费用账单", "购买方名称", "纳税人识别号", "项目名称", "著作权使用费", "税率", "税额"]
                    {
                        assert!(flat.contains(word), "{word}: {text}");
                    }
                }
                crate::i18n::Tongue::En => {
                    assert!(flat.contains("Invoice") && flat.contains("Taxpayer") && flat.contains("fapiao"), "{text}");
                }
            }
            for phrase in catalogue_phrases(lang.other()) {
                assert!(!flat.contains(&phrase), "{} invoice shows {phrase:?}:\n{text}", lang.code());
            }
        }
        Ok(())
    }

    #[test]
    fn an_empty_invoice_or_an_unknown_line_renders_with_dashes() -> Result<(), PdfError> {
        assert_eq!(describe("Something else", &Lang::Zh), "Something else");
        assert_eq!(describe("Platform service fee", &Lang::Zh), "平台服务费");
        let Some(font) = test_font() else { return Ok(()) };
        assert!(invoice_pdf_in(&json!({}), &font, Lang::Zh)?.starts_with(b"%PDF"));
        let mut many = invoice();
        many["lines"] = json!(vec![json!({"description": "Platform service fee", "amount_minor": 1}); 9]);
        let pdf = invoice_pdf_in(&many, &font, Lang::En)?;
        if let Some(text) = pdf_text(&pdf, "invoice-many-en") {
            assert!(squeeze(&text).contains("4moreitems"), "{text}");
        }
        Ok(())
    }
}
