//! The registration certificate as a one-page A4 PDF for people: bilingual, laid out like a paper
//! certificate (double border, centred title, a table of the registered facts, a seal and a QR code to
//! the public verification page).
//!
//! Everything on the page is drawn from the certificate JSON the platform signs, through the same
//! lookup as the letters (missing or null fields show as "—"), so the PDF cannot claim what the signed
//! certificate does not. The long proofs (timestamp tokens, the log checkpoint and inclusion proof) are
//! not printed: nobody verifies those by eye, and the footer points to the JSON and `seal verify`.
//!
//! Times are shown in the certificate's own `time_zone` (Beijing time when absent), converted from the
//! RFC 3339 UTC strings by a small pure formatter: a registration date that is a day off because of the
//! time zone is exactly the kind of detail a reader would distrust.

use super::letter::{circle, rect, wrap, Canvas};
use super::qr::draw_qr;
use super::{s, PdfError, PdfFont};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::TextDirection;
use krilla::Document;
use serde_json::Value;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
/// Left and right edges of the text block, inside the double border.
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
/// Width of the label column of the table.
const LABEL_W: f32 = 140.0;
const CELL_PAD_X: f32 = 8.0;

// A restrained palette: seal red and old gold on warm paper, near-black ink.
fn red() -> rgb::Color {
    rgb::Color::new(150, 28, 30)
}
fn gold() -> rgb::Color {
    rgb::Color::new(178, 140, 62)
}
fn ink() -> rgb::Color {
    rgb::Color::new(28, 28, 30)
}
fn grey() -> rgb::Color {
    rgb::Color::new(105, 100, 96)
}
fn paper() -> rgb::Color {
    rgb::Color::new(253, 250, 242)
}
fn label_tint() -> rgb::Color {
    rgb::Color::new(246, 238, 220)
}
fn stamp_red() -> rgb::Color {
    rgb::Color::new(206, 32, 38)
}

/// Renders a registration certificate (the JSON the platform signs) as a one-page A4 PDF.
pub fn certificate_pdf(cert: &Value, font: &PdfFont) -> Result<Vec<u8>, PdfError> {
    let zone = Zone::of(cert);
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("作品登记证书 Certificate of Registration {}", s(cert, &["work", "id"])))
            .creator(s(cert, &["issuer", "name"]).to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Krilla("page size".into()))?;
    let mut page = doc.start_page_with(settings);
    let mut surface = page.surface();
    let mut c = Canvas { surface: &mut surface, font };
    frame(&mut c)?;
    let top = header(&mut c, cert)?;
    let bottom = footer(&mut c, cert)?;
    let signature_top = signature(&mut c, cert, &zone, bottom)?;
    let notes = notes(&c, &zone);
    let limit = signature_top - 10.0 - NOTE_LEADING * notes.len() as f32;
    let mut y = table(&mut c, &rows(cert, &zone), top, limit)? + 4.0;
    for line in notes {
        y += NOTE_LEADING;
        c.text(false, LEFT, y, 8.0, grey(), &line);
    }
    surface.finish();
    page.finish();
    doc.finish().map_err(|e| PdfError::Krilla(format!("{e:?}")))
}

fn diamond(p: &mut PathBuilder, cx: f32, cy: f32, r: f32) {
    p.move_to(cx, cy - r);
    p.line_to(cx + r, cy);
    p.line_to(cx, cy + r);
    p.line_to(cx - r, cy);
    p.close();
}

/// Paper tint and the double border: a heavy red rule outside a fine gold one, with gold diamonds at
/// the inner corners.
fn frame(c: &mut Canvas<'_, '_>) -> Result<(), PdfError> {
    let (outer, inner) = (20.0, 27.0);
    c.fill(&rect(outer, outer, PAGE_W - 2.0 * outer, PAGE_H - 2.0 * outer)?, paper(), 1.0);
    c.stroke(&rect(outer, outer, PAGE_W - 2.0 * outer, PAGE_H - 2.0 * outer)?, 2.6, red(), 1.0);
    c.stroke(&rect(inner, inner, PAGE_W - 2.0 * inner, PAGE_H - 2.0 * inner)?, 0.9, gold(), 1.0);
    let mut corners = PathBuilder::new();
    for (x, y) in [(inner, inner), (PAGE_W - inner, inner), (inner, PAGE_H - inner), (PAGE_W - inner, PAGE_H - inner)] {
        diamond(&mut corners, x, y, 4.0);
    }
    if let Some(p) = corners.finish() {
        c.fill(&p, gold(), 1.0);
    }
    Ok(())
}

/// Issuer, title, certificate number and the opening sentence; returns where the table starts.
fn header(c: &mut Canvas<'_, '_>, cert: &Value) -> Result<f32, PdfError> {
    if !c.font.cjk {
        c.centered(
            false,
            45.0,
            8.0,
            red(),
            "No CJK font was found: Chinese characters may show as boxes. The signed JSON is authoritative.",
        );
    }
    let issuer = s(cert, &["issuer", "name"]);
    c.tracked(74.0, 10.0, 2.5, gold(), &issuer.to_uppercase());
    c.tracked(118.0, 30.0, 8.0, red(), "作品登记证书");
    c.centered(false, 144.0, 14.0, ink(), "Certificate of Registration");
    // An ornamental rule: two gold lines meeting at a diamond.
    let mid = PAGE_W / 2.0;
    c.hline(mid - 130.0, mid - 9.0, 158.0, 0.8, gold());
    c.hline(mid + 9.0, mid + 130.0, 158.0, 0.8, gold());
    let mut d = PathBuilder::new();
    diamond(&mut d, mid, 158.0, 4.0);
    if let Some(p) = d.finish() {
        c.fill(&p, gold(), 1.0);
    }
    c.centered(false, 178.0, 10.0, ink(), &format!("证书编号 Certificate No.  {}", s(cert, &["work", "id"])));
    let mut y = 202.0;
    for (size, color, text) in [
        (10.0, ink(), format!("兹证明下列作品已在 {issuer} 登记，登记事项如下。")),
        (8.5, grey(), format!("This is to certify that the work described below has been registered with {issuer}.")),
    ] {
        for line in wrap(c.face(false), &text, size, RIGHT - LEFT) {
            c.centered(false, y, size, color, &line);
            y += size * 1.45;
        }
    }
    Ok(y + 2.0)
}

/// How a paragraph in a table cell is set.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Style {
    /// The title: larger.
    Lead,
    Body,
    /// Hashes and codes, in the monospaced face.
    Mono,
    /// Small print: lists and secondary facts.
    Small,
}

impl Style {
    /// (monospaced, size, line height, colour)
    fn spec(self) -> (bool, f32, f32, rgb::Color) {
        match self {
            Style::Lead => (false, 12.5, 16.0, ink()),
            Style::Body => (false, 10.0, 13.5, ink()),
            Style::Mono => (true, 8.5, 12.0, ink()),
            Style::Small => (false, 8.5, 11.5, grey()),
        }
    }
}

struct Row {
    cn: &'static str,
    en: &'static str,
    paras: Vec<(Style, String)>,
}

fn row(cn: &'static str, en: &'static str, paras: Vec<(Style, String)>) -> Row {
    Row { cn, en, paras }
}

/// The table's contents, all from the certificate JSON.
fn rows(cert: &Value, zone: &Zone) -> Vec<Row> {
    let work = &cert["work"];
    let time = |v: &Value| zone.format(v);
    let owner = match work["owner"]["id"].as_str() {
        Some(id) => vec![(Style::Body, s(work, &["owner", "name"]).to_owned()), (Style::Small, format!("ID {id}"))],
        None => vec![(Style::Body, s(work, &["owner", "name"]).to_owned())],
    };

    let items = cert["content"]["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    // A few files are listed; a large registration would push the QR code off the page.
    const SHOWN: usize = 4;
    let mut files: Vec<(Style, String)> = items
        .iter()
        .take(SHOWN)
        .map(|item| {
            let bytes =
                item["bytes"].as_u64().map_or_else(|| "—".to_owned(), |b| format!("{} 字节 bytes", thousands(b)));
            (Style::Small, format!("{} · {} · {bytes}", s(item, &["file"]), kind(item["kind"].as_str())))
        })
        .collect();
    if items.len() > SHOWN {
        let more = items.len() - SHOWN;
        files.push((
            Style::Small,
            format!("另有 {more} 个文件，见 JSON 证书 · and {more} more in the JSON certificate"),
        ));
    }
    let mut hash = vec![(Style::Mono, s(cert, &["content", "sha256"]).to_owned())];
    hash.extend(files);

    let ts = &cert["timestamp"];
    let mut stamp = vec![
        (Style::Body, s(ts, &["authority"]).to_owned()),
        (Style::Body, time(&ts["time"])),
        (Style::Mono, format!("Serial {}", s(ts, &["serial"]))),
    ];
    let external: Vec<&str> = cert["external_timestamps"]
        .as_array()
        .map(|a| a.iter().map(|t| t["authority"].as_str().unwrap_or("—")).collect())
        .unwrap_or_default();
    if !external.is_empty() {
        stamp.push((
            Style::Small,
            format!("另有 {} 个外部时间戳 Also timestamped by: {}", external.len(), external.join(", ")),
        ));
    }

    let log = &cert["log"];
    let number = |k: &str| log[k].as_u64().map_or_else(|| "—".to_owned(), |n| n.to_string());
    let log_paras = vec![
        (Style::Body, s(log, &["origin"]).to_owned()),
        (Style::Body, format!("索引 Index {} · 树大小 Tree size {}", number("index"), number("tree_size"))),
        (Style::Mono, format!("Root {}", s(log, &["root_hash"]))),
    ];

    vec![
        row("作品名称", "Title", vec![(Style::Lead, s(work, &["title"]).to_owned())]),
        row("作者", "Author", vec![(Style::Body, s(work, &["author"]).to_owned())]),
        row("著作权人", "Rights holder", owner),
        row("首次发表", "First published", vec![(Style::Body, time(&work["published_at"]))]),
        row("登记时间", "Registered", vec![(Style::Body, time(&work["registered_at"]))]),
        row("来源", "Source", vec![(Style::Body, s(work, &["source_url"]).to_owned())]),
        row("内容哈希", "SHA-256", hash),
        row("ISCC", "", vec![(Style::Mono, s(cert, &["iscc", "iscc"]).to_owned())]),
        row("可信时间戳", "Trusted timestamp", stamp),
        row("透明日志", "Transparency log", log_paras),
        row("签发时间", "Issued", vec![(Style::Body, time(&cert["issued_at"]))]),
    ]
}

fn kind(kind: Option<&str>) -> String {
    match kind {
        Some("text") => "文本 text".to_owned(),
        Some("image") => "图片 image".to_owned(),
        Some("audio") => "音频 audio".to_owned(),
        Some("video") => "视频 video".to_owned(),
        Some(other) => other.to_owned(),
        None => "—".to_owned(),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A row laid out: its wrapped lines with their styles, and its height.
struct Laid {
    lines: Vec<(Style, String)>,
    height: f32,
}

/// Lines a cell paragraph may take before it is cut short with "…": bounds the table's height so that
/// the seal and QR code always fit on the page.
const MAX_LINES: usize = 3;

fn lay(c: &Canvas<'_, '_>, row: &Row, pad: f32) -> Laid {
    let width = RIGHT - LEFT - LABEL_W - 2.0 * CELL_PAD_X;
    let mut lines = Vec::new();
    let mut height = 0.0;
    for (style, text) in &row.paras {
        let (mono, size, leading, _) = style.spec();
        let mut wrapped = wrap(c.face(mono), text, size, width);
        if wrapped.len() > MAX_LINES {
            wrapped.truncate(MAX_LINES);
            if let Some(last) = wrapped.last_mut() {
                while !last.is_empty() && c.width(mono, &format!("{last}…"), size) > width {
                    last.pop();
                }
                last.push('…');
            }
        }
        for line in wrapped {
            height += leading;
            lines.push((*style, line));
        }
    }
    Laid { lines, height: height + 2.0 * pad }
}

/// Draws the table from `top`, within `limit`; returns its bottom edge.
fn table(c: &mut Canvas<'_, '_>, rows: &[Row], top: f32, limit: f32) -> Result<f32, PdfError> {
    // Roomy cells if they fit, tighter ones otherwise.
    let mut pad = 5.0;
    let mut laid: Vec<Laid> = rows.iter().map(|r| lay(c, r, pad)).collect();
    while pad > 1.5 && top + laid.iter().map(|l| l.height).sum::<f32>() > limit {
        pad -= 1.0;
        laid = rows.iter().map(|r| lay(c, r, pad)).collect();
    }
    let label_x = LEFT + CELL_PAD_X;
    let value_x = LEFT + LABEL_W + CELL_PAD_X;
    let total: f32 = laid.iter().map(|l| l.height).sum();
    c.fill(&rect(LEFT, top, LABEL_W, total.min(limit - top).max(1.0))?, label_tint(), 1.0);
    c.hline(LEFT, RIGHT, top, 1.2, gold());
    let mut y = top;
    for (row, laid) in rows.iter().zip(&laid) {
        if y + laid.height > limit {
            // Cannot happen with the caps above on this page size; if it ever does, say so rather than
            // overprint the QR code.
            c.text(
                false,
                value_x,
                y + 12.0,
                8.5,
                red(),
                "（其余事项见 JSON 证书）Remaining entries: see the JSON certificate",
            );
            y += 16.0;
            break;
        }
        let mut baseline = y + pad;
        let mut first_baseline = None;
        for (style, line) in &laid.lines {
            let (mono, size, leading, color) = style.spec();
            // Centre the glyphs' x-height band in the line box.
            let b = baseline + leading / 2.0 + size * 0.36;
            first_baseline.get_or_insert(b);
            c.text(mono, value_x, b, size, color, line);
            baseline += leading;
        }
        // The label sits on the first value line's baseline, English after the Chinese (or beneath it
        // when both do not fit the column).
        let b = first_baseline.unwrap_or(y + pad + 12.0);
        let cn_w = c.width(false, row.cn, 10.0);
        c.text(false, label_x, b, 10.0, red(), row.cn);
        if !row.en.is_empty() {
            let room = LABEL_W - 2.0 * CELL_PAD_X;
            if cn_w + 5.0 + c.width(false, row.en, 8.5) <= room {
                c.text(false, label_x + cn_w + 5.0, b, 8.5, grey(), row.en);
            } else {
                c.text(false, label_x, b + 11.5, 8.5, grey(), row.en);
            }
        }
        y += laid.height;
        c.hline(LEFT, RIGHT, y, 0.4, gold());
    }
    c.hline(LEFT, RIGHT, y, 1.2, gold());
    Ok(y)
}

const NOTE_LEADING: f32 = 11.0;

/// The notes under the table, wrapped: the time zone, and where the proofs not printed are.
fn notes(c: &Canvas<'_, '_>, zone: &Zone) -> Vec<String> {
    let (cn, en) = zone.names();
    let utc = zone.utc();
    [
        format!("所有时间均为{cn}（{utc}）。All times are {en} ({utc})."),
        "时间戳令牌、日志检查点与包含证明见 JSON 证书。Timestamp tokens, log checkpoint and inclusion proof are in the JSON certificate.".to_owned(),
    ]
    .iter()
    .flat_map(|t| wrap(c.face(false), t, 8.0, RIGHT - LEFT))
    .collect()
}

/// The issuing block with the seal (bottom left) and the QR code (bottom right), above `bottom`;
/// returns the block's top.
fn signature(c: &mut Canvas<'_, '_>, cert: &Value, zone: &Zone, bottom: f32) -> Result<f32, PdfError> {
    // QR column: the code, its caption and the URL in small print.
    let url = s(cert, &["verify_url"]);
    let column = 176.0;
    let col_x = RIGHT - column;
    let url_lines = wrap(c.face(true), url, 8.0, column);
    let qr_size = 100.0;
    let url_top = bottom - 10.0 * url_lines.len() as f32;
    let caption_y = url_top - 4.0;
    let qr_y = caption_y - 12.0 - qr_size;
    let qr_x = col_x + (column - qr_size) / 2.0;
    if url != "—" {
        draw_qr(c.surface, qr_x, qr_y, qr_size, url)?;
    }
    let cap = "扫码核验 Scan to verify";
    let cap_w = c.width(false, cap, 9.0);
    c.text(false, col_x + (column - cap_w) / 2.0, caption_y, 9.0, ink(), cap);
    for (i, line) in url_lines.iter().enumerate() {
        let w = c.width(true, line, 8.0);
        c.text(true, col_x + (column - w) / 2.0, url_top + 8.0 + 10.0 * i as f32, 8.0, grey(), line);
    }

    // Issuing block: who issued it and when, with the seal stamped across it as on paper.
    let issuer = s(cert, &["issuer", "name"]);
    let x = LEFT + 8.0;
    let y = qr_y + 18.0;
    c.text(false, x, y, 9.0, grey(), "签发机构 Issuing authority");
    c.text(false, x, y + 20.0, 15.0, ink(), issuer);
    c.text(false, x, y + 40.0, 9.0, grey(), "签发日期 Date of issue");
    c.text(false, x, y + 56.0, 11.0, ink(), &zone.date(&cert["issued_at"]));
    c.text(false, x, y + 72.0, 8.5, grey(), &format!("签名密钥 Signing key  {}", s(cert, &["issuer", "key_id"])));
    seal(c, x + 178.0, y + 22.0, 44.0, issuer);
    Ok(qr_y)
}

/// A round red seal: double ring, the issuer's name around the top, a star and 作品登记 in the middle.
/// Drawn slightly rotated and translucent, as a hand-applied stamp is.
fn seal(c: &mut Canvas<'_, '_>, cx: f32, cy: f32, r: f32, issuer: &str) {
    let opacity = 0.82;
    c.surface.push_transform(&Transform::from_rotate_at(-9.0, cx, cy));
    let mut ring = PathBuilder::new();
    circle(&mut ring, cx, cy, r);
    if let Some(p) = ring.finish() {
        c.stroke(&p, 2.8, stamp_red(), opacity);
    }
    let mut inner = PathBuilder::new();
    circle(&mut inner, cx, cy, r - 4.5);
    if let Some(p) = inner.finish() {
        c.stroke(&p, 0.7, stamp_red(), opacity);
    }

    // The name around the top arc, one glyph at a time, each rotated to face outwards.
    let name = issuer.to_uppercase();
    let mut size = 9.5;
    let face = c.face(false).clone();
    let clusters = face.clusters(&name);
    let radius = r - 8.0 - size * 0.72;
    let tracking = 1.2;
    let mut arc: f32 = clusters.iter().map(|g| g.1 * size + tracking).sum();
    // At most 240° of the ring, shrinking the type for long names.
    let max_arc = radius * 240f32.to_radians();
    if arc > max_arc {
        size *= max_arc / arc;
        arc = max_arc;
    }
    let mut along = -arc / 2.0;
    for (i, &(start, advance)) in clusters.iter().enumerate() {
        let end = clusters.get(i + 1).map_or(name.len(), |g| g.0);
        let w = advance * size;
        let angle = (along + w / 2.0) / radius;
        c.surface.push_transform(&Transform::from_rotate_at(angle.to_degrees(), cx, cy));
        c.surface.set_fill(Some(Fill {
            paint: stamp_red().into(),
            opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
            ..Fill::default()
        }));
        c.surface.draw_text(
            Point::from_xy(cx - w / 2.0, cy - radius),
            face.font.clone(),
            size,
            &name[start..end],
            false,
            TextDirection::Auto,
        );
        c.surface.pop();
        along += w + tracking;
    }

    // A five-pointed star.
    let mut star = PathBuilder::new();
    let (sr, sy) = (r * 0.3, cy + r * 0.02);
    for i in 0..10 {
        let rr = if i % 2 == 0 { sr } else { sr * 0.4 };
        let a = (i as f32 * 36.0 - 90.0).to_radians();
        let (px, py) = (cx + rr * a.cos(), sy + rr * a.sin());
        if i == 0 {
            star.move_to(px, py);
        } else {
            star.line_to(px, py);
        }
    }
    star.close();
    if let Some(p) = star.finish() {
        c.fill(&p, stamp_red(), opacity);
    }
    let label = "作品登记";
    let w = c.width(false, label, 9.0);
    c.surface.set_fill(Some(Fill {
        paint: stamp_red().into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        ..Fill::default()
    }));
    c.surface.draw_text(
        Point::from_xy(cx - w / 2.0, cy + r * 0.62),
        face.font.clone(),
        9.0,
        label,
        false,
        TextDirection::Auto,
    );
    c.surface.pop();
}

/// The bilingual footer at the foot of the page; returns the top of the space above it.
fn footer(c: &mut Canvas<'_, '_>, cert: &Value) -> Result<f32, PdfError> {
    let issuer = s(cert, &["issuer", "name"]);
    let y = 792.0;
    c.hline(LEFT, RIGHT, y - 16.0, 0.5, gold());
    c.centered(false, y, 8.5, ink(), &format!("本证书由 {issuer} 签发，可在上述网址或使用 seal verify 离线核验。"));
    c.centered(
        false,
        y + 12.0,
        8.0,
        grey(),
        &format!(
            "Issued by {issuer}. Verify online at the address above or offline with `seal verify certificate.json`."
        ),
    );
    Ok(y - 24.0)
}

/// The time zone times are shown in: the certificate's own, or Beijing time.
#[derive(Debug, Clone, PartialEq)]
struct Zone {
    offset_minutes: i64,
    name: Option<String>,
}

/// Zone names that mean UTC+8 mainland China time.
const BEIJING: &[&str] = &["Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"];

impl Zone {
    fn of(cert: &Value) -> Zone {
        let tz = &cert["time_zone"];
        match tz["offset_minutes"].as_i64().filter(|m| m.abs() < 24 * 60) {
            Some(offset_minutes) => Zone { offset_minutes, name: tz["name"].as_str().map(str::to_owned) },
            None => Zone { offset_minutes: 480, name: None },
        }
    }

    fn is_beijing(&self) -> bool {
        self.offset_minutes == 480 && self.name.as_deref().is_none_or(|n| BEIJING.contains(&n))
    }

    /// "UTC+08:00".
    fn utc(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let m = self.offset_minutes.abs();
        format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
    }

    /// The zone's name in Chinese and in English.
    fn names(&self) -> (String, String) {
        if self.is_beijing() {
            ("北京时间".to_owned(), "Beijing time".to_owned())
        } else {
            let name = self.name.clone().unwrap_or_else(|| self.utc());
            (format!(" {name} 时间"), name)
        }
    }

    /// A JSON time as "2026-11-30 16:15:42 (UTC+08:00 北京时间)"; "—" when absent, and the string as
    /// given when it is not RFC 3339 (the reader sees what was signed rather than nothing).
    fn format(&self, v: &Value) -> String {
        let Some(text) = v.as_str() else {
            return if v.is_null() { "—".to_owned() } else { v.to_string() };
        };
        let Some((date, time)) = self.local(text) else { return text.to_owned() };
        let label = if self.is_beijing() { "北京时间".to_owned() } else { self.name.clone().unwrap_or_default() };
        let zone = if label.is_empty() { self.utc() } else { format!("{} {label}", self.utc()) };
        format!("{date} {time} ({zone})")
    }

    /// Just the local date, "2026-11-30".
    fn date(&self, v: &Value) -> String {
        match v.as_str().and_then(|t| self.local(t)) {
            Some((date, _)) => date,
            None => v.as_str().unwrap_or("—").to_owned(),
        }
    }

    /// ("YYYY-MM-DD", "HH:MM:SS") in this zone of a time as the platform writes it (RFC 3339 UTC,
    /// `seal_licensing::Timestamp`'s form, whose parser and calendar this reuses).
    fn local(&self, text: &str) -> Option<(String, String)> {
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return None; // Timestamp::parse also reads bare milliseconds; a certificate never holds them.
        }
        let utc = seal_licensing::Timestamp::parse(text).ok()?;
        let local = utc.saturating_add_ms(self.offset_minutes * 60_000).to_string();
        Some((local.get(..10)?.to_owned(), local.get(11..19)?.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::process::Command;

    fn beijing() -> Zone {
        Zone { offset_minutes: 480, name: Some("Asia/Shanghai".into()) }
    }

    #[test]
    fn times_are_shown_in_the_certificates_zone() {
        let bj = beijing();
        assert_eq!(bj.format(&json!("2026-11-30T08:15:42.123Z")), "2026-11-30 16:15:42 (UTC+08:00 北京时间)");
        // Across a day, month and year boundary.
        assert_eq!(bj.format(&json!("2026-12-31T20:00:00Z")), "2027-01-01 04:00:00 (UTC+08:00 北京时间)");
        // Into a leap day.
        assert_eq!(bj.format(&json!("2028-02-28T23:30:00.000Z")), "2028-02-29 07:30:00 (UTC+08:00 北京时间)");
        let ny = Zone { offset_minutes: -300, name: Some("America/New_York".into()) };
        assert_eq!(ny.format(&json!("2026-03-01T02:00:00.000Z")), "2026-02-28 21:00:00 (UTC-05:00 America/New_York)");
        let india = Zone { offset_minutes: 330, name: None };
        assert_eq!(india.format(&json!("1970-01-01T00:00:00Z")), "1970-01-01 05:30:00 (UTC+05:30)");
        // Absent zone: Beijing time.
        assert_eq!(Zone::of(&json!({})), Zone { offset_minutes: 480, name: None });
        assert_eq!(
            Zone::of(&json!({})).format(&json!("2026-03-01T02:00:00.000Z")),
            "2026-03-01 10:00:00 (UTC+08:00 北京时间)"
        );
        // Missing, null and malformed values never panic.
        assert_eq!(bj.format(&Value::Null), "—");
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-30",
            "2026-11-30T08:15:42",
            "2026-11-30T25:00:00Z",
            "x",
            "２０２６-11-30T08:15:42Z",
        ] {
            assert_eq!(bj.format(&json!(bad)), bad);
        }
        assert_eq!(bj.date(&json!("2026-11-30T17:00:00Z")), "2026-12-01");
    }

    /// The font the PDF tests use, or `None` to skip them; fails when .ci/run promised a CJK font.
    fn test_font() -> Option<PdfFont> {
        let required = std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_some();
        let font = super::super::find_font(&std::env::temp_dir().join("seal-no-such-data-dir")).ok();
        let cjk = font.as_ref().is_some_and(|f| f.cjk);
        assert!(cjk || !required, ".ci/run installs a CJK font and sets SEAL_REQUIRE_PDF_FONT: none was found");
        font
    }

    fn example() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/certificates/example.json");
        let text = std::fs::read_to_string(path).expect("fixtures/certificates/example.json");
        serde_json::from_str(&text).expect("example certificate is JSON")
    }

    #[test]
    fn wrapped_lines_fit_and_lose_nothing_but_break_spaces() {
        let Some(font) = test_font() else { return };
        let hash = "1e9bb3644e9a33eba47d5d1de55779dc020f80fd9caae4099d6e0b7179746239";
        for (text, width) in [
            (hash, 120.0),
            ("兹证明下列作品已在 Copyright Seal 登记，登记事项如下。", 100.0),
            ("https://news.example.cn/2026/a/very/long/path/to/spring.html?utm=1", 90.0),
            ("", 50.0),
        ] {
            let lines = wrap(&font.face, text, 10.0, width);
            for line in &lines {
                assert!(font.face.width(line, 10.0) <= width + 0.01, "{line:?} wider than {width}");
            }
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""), "{lines:?}");
        }
        assert!(wrap(&font.face, hash, 10.0, 120.0).len() > 2);
    }

    fn tool(name: &str) -> bool {
        Command::new(name).arg("-v").output().is_ok()
    }

    #[test]
    fn the_example_certificate_renders_in_chinese_with_embedded_fonts() -> Result<(), Box<dyn std::error::Error>> {
        let Some(font) = test_font() else { return Ok(()) };
        let pdf = certificate_pdf(&example(), &font)?;
        assert!(pdf.starts_with(b"%PDF"));
        // Set SEAL_CERT_PDF=/tmp/cert.pdf to look at the result (pdftoppm -png -r 80 /tmp/cert.pdf /tmp/cert).
        if let Some(out) = std::env::var_os("SEAL_CERT_PDF") {
            std::fs::write(out, &pdf)?;
        }
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("cert.pdf");
        std::fs::write(&file, &pdf)?;
        if tool("pdftotext") {
            let out = Command::new("pdftotext").arg(&file).arg("-").output()?;
            let text = String::from_utf8(out.stdout)?;
            assert!(text.contains("Certificate of Registration"), "{text}");
            assert!(text.contains("1e9bb3644e9a33eba47d5d1de55779dc020f80fd9caae4099d6e0b7179746239"), "{text}");
            if font.cjk {
                assert!(text.contains("长江流域的春天"), "{text}");
                assert!(text.contains("作品登记证书"), "{text}");
                // Registered 08:15:42 UTC is 16:15:42 in Beijing.
                assert!(text.contains("2026-11-30 16:15:42 (UTC+08:00 北京时间)"), "{text}");
            }
        }
        if tool("pdffonts") {
            let out = Command::new("pdffonts").arg(&file).output()?;
            let listing = String::from_utf8(out.stdout)?;
            let fonts: Vec<&str> = listing.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
            assert!(!fonts.is_empty(), "{listing}");
            for line in fonts {
                // Columns from the right: object ID, generation, uni, sub, emb.
                let cols: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(cols.get(cols.len().saturating_sub(5)), Some(&"yes"), "not embedded: {line}");
            }
        }
        Ok(())
    }

    #[test]
    fn an_empty_or_sparse_certificate_renders_with_dashes() -> Result<(), PdfError> {
        let Some(font) = test_font() else { return Ok(()) };
        for cert in [
            json!({}),
            json!({"work": {"title": "无题", "source_url": null, "published_at": "not a date"}, "content": {"items": [{}]}, "iscc": {"content": null}, "external_timestamps": [{}], "log": {"index": "x"}}),
        ] {
            assert!(certificate_pdf(&cert, &font)?.starts_with(b"%PDF"));
            let rows = rows(&cert, &Zone::of(&cert));
            assert_eq!(rows.len(), 11);
            assert!(rows.iter().any(|r| r.paras.iter().any(|(_, t)| t == "—")));
        }
        // A very long title and many files are cut short rather than overflowing the page.
        let mut cert = example();
        cert["work"]["title"] = json!("长".repeat(400));
        cert["content"]["items"] = json!(vec![json!({"kind": "image", "file": "photo.jpg", "bytes": 1}); 40]);
        let rows = rows(&cert, &Zone::of(&cert));
        assert_eq!(rows[0].paras.len(), 1);
        assert_eq!(rows[6].paras.len(), 1 + 4 + 1, "hash, four files, and a 'more' line");
        assert!(rows[6].paras[5].1.contains("36"));
        assert!(certificate_pdf(&cert, &font)?.starts_with(b"%PDF"));
        Ok(())
    }
}
