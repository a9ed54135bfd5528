//! The authorization letter as a formal A4 document in one language: the platform's letterhead, a
//! centred title and licence number, the grant in numbered clauses ("兹授权……"), the issuing block
//! with a red round seal, a QR code to the public verification page, and a footer saying that the
//! signed JWS is the authoritative form.
//!
//! Every fact comes from the letter's signed payload (`seal_licensing::letter::letter_payload`, plus the
//! `log` block and `verify_url` of a logged letter), and every word from the `doc-` catalogue
//! (`locales/*/documents.ftl`), so the PDF neither claims what the JWS does not nor mixes languages.
//! Times are RFC 3339 UTC in the payload and shown in Beijing time, which the text says.
//!
//! The page is laid out by hand like the registration certificate, with text measured by the font's
//! own advance widths. A long letter flows onto a second page; the issuing block always stays with
//! the end of the text. The drawing kit here (`Canvas`, shapes, letterhead, wrapping) is shared with the
//! invoice, the receipt and the registration certificate.

use super::qr::draw_qr;
use super::{s, Face, PdfError, PdfFont};
use crate::i18n::{Arg, Lang, Tongue};
use krilla::blend::BlendMode;
use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Rect, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Document;
use serde_json::Value;
use std::ops::Range;

pub(super) const PAGE_W: f32 = 595.0;
pub(super) const PAGE_H: f32 = 842.0;
/// Edges of the text block: about 2.2 cm, the margin of a printed business letter.
pub(super) const LEFT: f32 = 62.0;
pub(super) const RIGHT: f32 = PAGE_W - 62.0;

// Official-document red for the letterhead and seal, near-black ink for the text.
pub(super) fn red() -> rgb::Color {
    rgb::Color::new(176, 24, 30)
}
pub(super) fn ink() -> rgb::Color {
    rgb::Color::new(25, 25, 28)
}
pub(super) fn grey() -> rgb::Color {
    rgb::Color::new(100, 100, 104)
}
fn stamp_red() -> rgb::Color {
    rgb::Color::new(214, 30, 36)
}

/// Renders an authorization letter payload (as returned by `verify_letter`) as a PDF in `lang`.
pub fn letter_pdf_in(payload: &Value, font: &PdfFont, lang: Lang) -> Result<Vec<u8>, PdfError> {
    // Documents are dated in Beijing time whatever zone the reader chose: a formal record reads the same for both parties.
    let lang = lang.in_zone(crate::i18n::Zone::BEIJING);
    let l = &lang;
    let face = &font.face;
    let body = body(face, payload, l);
    let footer = footer_lines(face, payload, l);
    let footer_top = PAGE_H - 34.0 - FOOTER_LEADING * footer.len() as f32;
    let block_top = footer_top - 16.0 - BLOCK_H;
    let heights: Vec<f32> = body.iter().map(|line| line.leading).collect();
    let pages = paginate(&heights, FIRST_TOP, NEXT_TOP, block_top - 4.0, footer_top - 20.0);

    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", l.t("doc-letter-title"), s(payload, &["licence_id"])))
            .creator(l.t("doc-platform-name")),
    );
    for (n, range) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Krilla("page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let mut c = Canvas { surface: &mut surface, font };
        letterhead(&mut c, l);
        let number = l.t1("doc-letter-number", "id", s(payload, &["licence_id"]));
        let mut y = if n == 0 {
            title(&mut c, l, &l.t("doc-letter-title"));
            c.centered(false, 162.0, 10.0, grey(), &number);
            FIRST_TOP
        } else {
            c.centered(false, 122.0, 11.0, ink(), &l.t("doc-letter-continued"));
            c.centered(false, 138.0, 9.0, grey(), &number);
            NEXT_TOP
        };
        for line in &body[range.clone()] {
            y += line.leading;
            for (x, style, text) in &line.spans {
                c.styled(*x, y, style, text);
            }
        }
        if n + 1 == pages.len() {
            // The signature follows the text, as in a letter, rather than sinking to the foot of the page.
            issuing_block(&mut c, payload, l, (y + 28.0).min(block_top))?;
        }
        let mut fy = footer_top;
        c.hline(LEFT, RIGHT, fy, 0.5, grey());
        for line in &footer {
            fy += FOOTER_LEADING;
            c.text(false, LEFT, fy, FOOTER_SIZE, grey(), line);
        }
        if pages.len() > 1 {
            let label = l.args("doc-page", &[("n", Arg::from(n + 1)), ("total", Arg::from(pages.len()))]);
            c.centered(false, PAGE_H - 20.0, 8.0, grey(), &label);
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Krilla(format!("{e:?}")))
}

/// Where the body starts on the first page (under the title) and on later pages.
const FIRST_TOP: f32 = 184.0;
const NEXT_TOP: f32 = 152.0;
/// Height of the issuing block: QR code with its caption on the left, signature and seal on the right.
const BLOCK_H: f32 = 156.0;
const FOOTER_SIZE: f32 = 7.5;
const FOOTER_LEADING: f32 = 10.5;
const BODY_SIZE: f32 = 10.5;
const BODY_LEADING: f32 = 17.0;

/// How a run of text is set.
#[derive(Clone, Debug)]
pub(super) struct Style {
    pub size: f32,
    pub color: rgb::Color,
    pub mono: bool,
    pub bold: bool,
}

impl Style {
    pub(super) fn body() -> Style {
        Style { size: BODY_SIZE, color: ink(), mono: false, bold: false }
    }
    fn heading() -> Style {
        Style { bold: true, ..Style::body() }
    }
    fn small() -> Style {
        Style { size: 8.5, color: grey(), mono: false, bold: false }
    }
}

/// One line of the body: its height (added before its baseline) and its runs of text.
struct Line {
    leading: f32,
    spans: Vec<(f32, Style, String)>,
}

/// An empty line of `h` points, between paragraphs.
fn gap(h: f32) -> Line {
    Line { leading: h, spans: Vec::new() }
}

/// A paragraph wrapped to the text block, its first line indented by `indent`.
fn paragraph(face: &Face, text: &str, style: &Style, indent: f32, leading: f32) -> Vec<Line> {
    let width = RIGHT - LEFT;
    wrap_first(face, text, style.size, width - indent, width)
        .into_iter()
        .enumerate()
        .map(|(i, t)| Line { leading, spans: vec![(if i == 0 { LEFT + indent } else { LEFT }, style.clone(), t)] })
        .collect()
}

/// A numbered clause: its heading in bold, run into the first line of its text.
fn clause(face: &Face, heading: &str, text: &str) -> Vec<Line> {
    let width = RIGHT - LEFT;
    let run_in = face.width(heading, BODY_SIZE) + BODY_SIZE * 0.8;
    let mut lines: Vec<Line> = wrap_first(face, text, BODY_SIZE, width - run_in, width)
        .into_iter()
        .enumerate()
        .map(|(i, t)| Line {
            leading: BODY_LEADING,
            spans: vec![(if i == 0 { LEFT + run_in } else { LEFT }, Style::body(), t)],
        })
        .collect();
    if let Some(first) = lines.first_mut() {
        first.spans.insert(0, (LEFT, Style::heading(), heading.to_owned()));
    }
    lines
}

/// The letter's text: the parties, the opening sentence and the eight clauses.
fn body(face: &Face, p: &Value, l: &Lang) -> Vec<Line> {
    let terms = &p["terms"];
    let licensor = s(p, &["licensor", "name"]);
    let licensee = s(p, &["licensee", "name"]);
    let mut lines = Vec::new();
    for (key, who) in [("doc-licensor", "licensor"), ("doc-licensee", "licensee")] {
        let text = l.t2(key, ("name", s(p, &[who, "name"])), ("id", s(p, &[who, "id"])));
        lines.extend(paragraph(face, &text, &Style::body(), 0.0, BODY_LEADING));
    }
    lines.push(gap(8.0));
    // Chinese paragraphs open with a two-character indent, English ones flush left.
    let indent = if l.tongue() == Tongue::Zh { BODY_SIZE * 2.0 } else { 0.0 };
    let opening = l.t2("doc-letter-opening", ("licensee", licensee), ("licensor", licensor));
    lines.extend(paragraph(face, &opening, &Style::body(), indent, BODY_LEADING));
    lines.push(gap(6.0));

    let work = &p["work"];
    let desc = l.args(
        "doc-work-desc",
        &[
            ("title", Arg::from(s(work, &["title"]))),
            ("author", Arg::from(s(work, &["author"]))),
            ("source", Arg::from(s(work, &["source_url"]))),
        ],
    );
    let fee = match p["payment"].as_object() {
        Some(pay) => {
            let text = |k: &str| pay.get(k).and_then(Value::as_str).unwrap_or("—");
            let amount = match pay.get("amount_minor").and_then(Value::as_i64) {
                Some(minor) => l.money(minor, text("currency")),
                None => format!("{} {}", text("amount"), text("currency")),
            };
            l.args(
                "doc-fee-paid",
                &[
                    ("amount", Arg::from(amount)),
                    ("provider", Arg::from(text("provider"))),
                    ("ref", Arg::from(text("provider_ref"))),
                ],
            )
        }
        None => l.t("doc-fee-free"),
    };
    let validity = match terms["valid_until"].as_str() {
        Some(_) => {
            l.t2("doc-validity", ("from", when(&terms["valid_from"], l)), ("until", when(&terms["valid_until"], l)))
        }
        None => l.t1("doc-validity-open", "from", when(&terms["valid_from"], l)),
    };
    let clauses = [
        ("doc-clause-work", desc),
        ("doc-clause-scope", scope(&terms["scope"], l)),
        ("doc-clause-permissions", l.t1("doc-permissions", "acts", permissions(&terms["permissions"], l))),
        ("doc-clause-conditions", conditions(&terms["constraints"], l)),
        ("doc-clause-attribution", l.t1("doc-attribution", "text", s(terms, &["attribution"]))),
        ("doc-clause-validity", validity),
        ("doc-clause-fee", fee),
        ("doc-clause-general", l.t1("doc-general", "offer", s(p, &["offer_id"]))),
    ];
    for (i, (key, text)) in clauses.iter().enumerate() {
        lines.extend(clause(face, &l.t(key), text));
        if i == 0 {
            // The work's identifiers, in small print under its description: a reader compares the hash
            // with the file rather than reading it.
            let ids = l.t2("doc-work-ids", ("id", s(work, &["id"])), ("hash", s(work, &["content_sha256"])));
            lines.extend(paragraph(face, &ids, &Style::small(), 0.0, 13.0));
        }
        lines.push(gap(5.0));
    }
    lines
}

/// The scope in words; an unknown shape is shown as its JSON rather than hidden.
fn scope(scope: &Value, l: &Lang) -> String {
    use seal_licensing::licence::UseScope;
    match serde_json::from_value::<UseScope>(scope.clone()) {
        Ok(UseScope::Domain(d)) => l.t1("doc-scope-domain", "domain", d),
        Ok(UseScope::UrlPrefix(p)) => l.t1("doc-scope-prefix", "prefix", p),
        // Accounts and apps: the same words as on the pages.
        Ok(place) => l.scope(&place),
        Err(_) => l.t1("doc-scope-other", "scope", scope),
    }
}

/// "a, b and c" (English) or "a、b、c" (Chinese).
fn list(items: &[String], l: &Lang) -> String {
    match items {
        [] => "—".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{}{last}", init.join(&l.t("doc-list-sep")), l.t("doc-list-and")),
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn permissions(v: &Value, l: &Lang) -> String {
    let acts: Vec<String> = strings(v)
        .into_iter()
        .map(|a| match a {
            "reproduce" => l.t("doc-act-reproduce"),
            "display" => l.t("doc-act-display"),
            "distribute" => l.t("doc-act-distribute"),
            "modify" => l.t("doc-act-modify"),
            "commercial_use" => l.t("doc-act-commercial-use"),
            other => other.to_owned(),
        })
        .collect();
    list(&acts, l)
}

fn conditions(c: &Value, l: &Lang) -> String {
    let mut parts = Vec::new();
    let kinds: Vec<String> = strings(&c["channel_kinds"])
        .into_iter()
        .map(|k| match k {
            "website" => l.t("doc-channel-website"),
            "wechat_official_account" => l.t("doc-channel-wechat"),
            "weibo" => l.t("doc-channel-weibo"),
            "blog" => l.t("doc-channel-blog"),
            "app" => l.t("doc-channel-app"),
            other => other.to_owned(),
        })
        .collect();
    if !kinds.is_empty() {
        parts.push(l.t1("doc-cond-channels", "kinds", list(&kinds, l)));
    }
    let territories: Vec<String> = strings(&c["territories"]).into_iter().map(str::to_owned).collect();
    if !territories.is_empty() {
        parts.push(l.t1("doc-cond-territories", "list", list(&territories, l)));
    }
    if let Some(d) = c["duration_days"].as_i64() {
        parts.push(l.n("doc-cond-duration", d));
    }
    if let Some(n) = c["max_excerpt_chars"].as_i64() {
        parts.push(l.n("doc-cond-excerpt", n));
    }
    if c["online_only"] == true {
        parts.push(l.t("doc-cond-online"));
    }
    if parts.is_empty() {
        parts.push(l.t("doc-cond-none"));
    }
    // The conditions are one sentence: its first letter is a capital (a no-op in Chinese).
    let joined = parts.join(&l.t("doc-clause-sep"));
    let mut chars = joined.chars();
    let sentence: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    l.t1("doc-sentence", "text", sentence)
}

/// A payload time in Beijing time, saying so; "—" when absent, and the string as signed when it is not
/// RFC 3339 (the reader sees what was signed rather than nothing).
pub(super) fn when(v: &Value, l: &Lang) -> String {
    match parse_time(v) {
        Some(t) => l.t1("doc-beijing-time", "time", l.time(t)),
        None => v.as_str().unwrap_or("—").to_owned(),
    }
}

pub(super) fn parse_time(v: &Value) -> Option<seal_licensing::Timestamp> {
    let text = v.as_str()?;
    // Timestamp::parse also reads bare milliseconds, which a payload never holds for a time.
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seal_licensing::Timestamp::parse(text).ok()
}

/// The footer's lines: the JWS is authoritative, and where the letter sits in the transparency log.
fn footer_lines(face: &Face, p: &Value, l: &Lang) -> Vec<String> {
    let mut text = vec![l.t1("doc-letter-jws", "type", s(p, &["type"]))];
    if let Some(log) = p["log"].as_object() {
        let get = |k: &str| log.get(k).unwrap_or(&Value::Null);
        let num = |k: &str| get(k).as_u64().map_or_else(|| "—".to_owned(), |n| n.to_string());
        text.push(l.args(
            "doc-letter-log",
            &[
                ("origin", Arg::from(get("origin").as_str().unwrap_or("—"))),
                ("index", Arg::from(num("index"))),
                ("size", Arg::from(num("tree_size"))),
                ("root", Arg::from(get("root_hash").as_str().unwrap_or("—"))),
            ],
        ));
    }
    text.iter().flat_map(|t| wrap(face, t, FOOTER_SIZE, RIGHT - LEFT)).collect()
}

/// Splits lines of the given heights into pages: as many as fit on each page, the last page also
/// holding the issuing block (so its limit is `last_limit`, higher up than `limit`). A page always
/// takes at least one line, so a line taller than a page cannot loop forever.
fn paginate(heights: &[f32], first_top: f32, next_top: f32, last_limit: f32, limit: f32) -> Vec<Range<usize>> {
    let mut pages = Vec::new();
    let mut start = 0;
    let mut top = first_top;
    loop {
        if top + heights[start..].iter().sum::<f32>() <= last_limit {
            pages.push(start..heights.len());
            return pages;
        }
        let mut end = start;
        let mut y = top;
        while end < heights.len() && y + heights[end] <= limit {
            y += heights[end];
            end += 1;
        }
        let end = end.max(start + 1).min(heights.len());
        pages.push(start..end);
        start = end;
        top = next_top;
    }
}

/// The QR code with its caption (left) and the signature with the seal (right), from `top`.
fn issuing_block(c: &mut Canvas<'_, '_>, p: &Value, l: &Lang, top: f32) -> Result<(), PdfError> {
    let qr = 96.0;
    let url = s(p, &["verify_url"]);
    if p["verify_url"].is_string() {
        draw_qr(c.surface, LEFT - 6.0, top, qr, url)?;
        c.text(false, LEFT, top + qr + 10.0, 9.0, ink(), &l.t("doc-scan"));
        for (i, line) in wrap(c.face(true), url, 7.5, 200.0).iter().enumerate() {
            c.text(true, LEFT, top + qr + 22.0 + 9.5 * i as f32, 7.5, grey(), line);
        }
    }

    // The closing, right-aligned as in a Chinese letter: the licensor, then the platform's name with
    // the seal stamped over it, then the date and key beneath the seal where it cannot hide them.
    let end = RIGHT - 8.0;
    let body = Style::body();
    let mut y = top + 14.0;
    let licensor = l.t2("doc-licensor", ("name", s(p, &["licensor", "name"])), ("id", s(p, &["licensor", "id"])));
    for line in wrap(c.face(false), &licensor, body.size, 300.0) {
        c.right(&body, end, y, &line);
        y += 17.0;
    }
    let r = 42.0;
    let (cx, cy) = (end - r - 4.0, y + r - 6.0);
    c.right(&body, end, cy + 4.0, &l.t1("doc-issued-by", "platform", l.t("doc-platform-name")));
    y = cy + r + 16.0;
    c.right(&Style { size: 9.5, ..Style::body() }, end, y, &l.t1("doc-issued-at", "time", when(&p["issued_at"], l)));
    let key = Style { size: 8.0, color: grey(), mono: true, bold: false };
    c.right(&key, end, y + 14.0, &l.t1("doc-signing-key", "kid", s(p, &["kid"])));
    seal(c, cx, cy, r, l);
    Ok(())
}

/// A surface with the document's font and drawing helpers.
pub(super) struct Canvas<'a, 'b> {
    pub surface: &'a mut Surface<'b>,
    pub font: &'a PdfFont,
}

impl Canvas<'_, '_> {
    pub(super) fn face(&self, mono: bool) -> &Face {
        if mono {
            self.font.mono()
        } else {
            &self.font.face
        }
    }

    pub(super) fn width(&self, mono: bool, text: &str, size: f32) -> f32 {
        self.face(mono).width(text, size)
    }

    pub(super) fn text(&mut self, mono: bool, x: f32, y: f32, size: f32, color: rgb::Color, text: &str) {
        self.styled(x, y, &Style { size, color, mono, bold: false }, text);
    }

    /// Draws text; bold is the regular face filled and outlined, since we carry one weight only.
    pub(super) fn styled(&mut self, x: f32, y: f32, style: &Style, text: &str) {
        if text.is_empty() {
            return;
        }
        let face = self.face(style.mono).font.clone();
        self.surface.set_fill(Some(Fill { paint: style.color.into(), ..Fill::default() }));
        if style.bold {
            self.surface.set_stroke(Some(Stroke {
                paint: style.color.into(),
                width: style.size * 0.035,
                ..Stroke::default()
            }));
        }
        self.surface.draw_text(Point::from_xy(x, y), face, style.size, text, false, TextDirection::Auto);
        self.surface.set_stroke(None);
    }

    pub(super) fn centered(&mut self, bold: bool, y: f32, size: f32, color: rgb::Color, text: &str) {
        let w = self.width(false, text, size);
        self.styled((PAGE_W - w) / 2.0, y, &Style { size, color, mono: false, bold }, text);
    }

    /// Centred text with extra space between characters, as engraved titles are set.
    pub(super) fn tracked(&mut self, y: f32, size: f32, tracking: f32, color: rgb::Color, text: &str) {
        let clusters = self.face(false).clusters(text);
        let total: f32 =
            clusters.iter().map(|g| g.1 * size).sum::<f32>() + tracking * clusters.len().saturating_sub(1) as f32;
        let mut x = (PAGE_W - total) / 2.0;
        for (i, &(start, advance)) in clusters.iter().enumerate() {
            let end = clusters.get(i + 1).map_or(text.len(), |g| g.0);
            self.text(false, x, y, size, color, &text[start..end]);
            x += advance * size + tracking;
        }
    }

    /// Text whose right edge is at `x`.
    pub(super) fn right(&mut self, style: &Style, x: f32, y: f32, text: &str) {
        let w = self.width(style.mono, text, style.size);
        self.styled(x - w, y, style, text);
    }

    pub(super) fn fill(&mut self, path: &Path, color: rgb::Color, opacity: f32) {
        let opacity = NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE);
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill { paint: color.into(), opacity, ..Fill::default() }));
        self.surface.draw_path(path);
    }

    pub(super) fn stroke(&mut self, path: &Path, width: f32, color: rgb::Color, opacity: f32) {
        let opacity = NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE);
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke {
            paint: color.into(),
            width,
            opacity,
            line_cap: LineCap::Round,
            ..Stroke::default()
        }));
        self.surface.draw_path(path);
        self.surface.set_stroke(None);
    }

    pub(super) fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32, color: rgb::Color) {
        let mut p = PathBuilder::new();
        p.move_to(x1, y);
        p.line_to(x2, y);
        if let Some(p) = p.finish() {
            self.stroke(&p, width, color, 1.0);
        }
    }
}

pub(super) fn rect(x: f32, y: f32, w: f32, h: f32) -> Result<Path, PdfError> {
    let mut p = PathBuilder::new();
    p.push_rect(Rect::from_xywh(x, y, w, h).ok_or_else(|| PdfError::Krilla("rect".into()))?);
    p.finish().ok_or_else(|| PdfError::Krilla("rect".into()))
}

/// An arc of radius `r` from angle `a0` to `a1` (degrees, clockwise on the page since y points
/// down), as cubic Béziers of at most 90° each.
fn arc(p: &mut PathBuilder, cx: f32, cy: f32, r: f32, a0: f32, a1: f32) {
    let steps = ((a1 - a0).abs() / 90.0).ceil().max(1.0) as usize;
    let step = (a1 - a0).to_radians() / steps as f32;
    let k = 4.0 / 3.0 * (step / 4.0).tan() * r;
    let at = |a: f32| (cx + r * a.cos(), cy + r * a.sin());
    let mut a = a0.to_radians();
    let (x, y) = at(a);
    p.move_to(x, y);
    for _ in 0..steps {
        let b = a + step;
        let (x0, y0) = at(a);
        let (x1, y1) = at(b);
        p.cubic_to(x0 - k * a.sin(), y0 + k * a.cos(), x1 + k * b.sin(), y1 - k * b.cos(), x1, y1);
        a = b;
    }
}

/// A full circle (shared with the certificate).
pub(super) fn circle(p: &mut PathBuilder, cx: f32, cy: f32, r: f32) {
    arc(p, cx, cy, r, 0.0, 360.0);
    p.close();
}

/// The letterhead: the platform's mark (a red ring around a "C") and name on the left, its tagline on
/// the right, and a red double rule across the page, as Chinese official letters are headed.
pub(super) fn letterhead(c: &mut Canvas<'_, '_>, l: &Lang) {
    if !c.font.cjk {
        c.centered(false, 30.0, 7.5, red(), &l.t("doc-no-cjk"));
    }
    let (cx, cy, r) = (LEFT + 15.0, 64.0, 15.0);
    let mut ring = PathBuilder::new();
    circle(&mut ring, cx, cy, r);
    let mut letter_c = PathBuilder::new();
    // The "C" opens to the right: from 40° below the horizontal round through the left to 40° above.
    arc(&mut letter_c, cx, cy, r * 0.48, 40.0, 320.0);
    for (path, width) in [(ring.finish(), 2.2), (letter_c.finish(), 2.6)] {
        if let Some(path) = path {
            c.stroke(&path, width, red(), 1.0);
        }
    }
    let name = Style { size: 18.0, color: red(), mono: false, bold: true };
    c.styled(LEFT + 40.0, cy + 6.5, &name, &l.t("doc-platform-name"));
    c.right(&Style { size: 8.5, ..Style::small() }, RIGHT, cy + 5.0, &l.t("doc-platform-tagline"));
    c.hline(LEFT, RIGHT, 92.0, 1.8, red());
    c.hline(LEFT, RIGHT, 95.6, 0.5, red());
}

/// The document's title, centred under the letterhead: Chinese set wide, as titles of official
/// documents are; English in plain capitals-and-lowercase.
pub(super) fn title(c: &mut Canvas<'_, '_>, l: &Lang, text: &str) {
    match l.tongue() {
        Tongue::Zh => {
            let (size, tracking) = (24.0, 5.0);
            let clusters = c.face(false).clusters(text);
            let total: f32 =
                clusters.iter().map(|g| g.1 * size).sum::<f32>() + tracking * clusters.len().saturating_sub(1) as f32;
            let mut x = (PAGE_W - total) / 2.0;
            let style = Style { size, color: ink(), mono: false, bold: true };
            for (i, &(start, advance)) in clusters.iter().enumerate() {
                let end = clusters.get(i + 1).map_or(text.len(), |g| g.0);
                c.styled(x, 138.0, &style, &text[start..end]);
                x += advance * size + tracking;
            }
        }
        Tongue::En => c.centered(true, 136.0, 19.0, ink(), text),
    }
}

/// A round red company seal (公章): a heavy ring, the platform's name around the top, a five-pointed
/// star in the middle and the seal's purpose beneath it. Slightly rotated and translucent, as a
/// hand-applied stamp is.
fn seal(c: &mut Canvas<'_, '_>, cx: f32, cy: f32, r: f32, l: &Lang) {
    let opacity = 0.85;
    let fill = || Fill {
        paint: stamp_red().into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        ..Fill::default()
    };
    // Multiplied like ink on paper, so the signature under the seal stays legible.
    c.surface.push_blend_mode(BlendMode::Multiply);
    c.surface.push_transform(&Transform::from_rotate_at(-8.0, cx, cy));
    let mut ring = PathBuilder::new();
    circle(&mut ring, cx, cy, r);
    if let Some(p) = ring.finish() {
        c.stroke(&p, r * 0.07, stamp_red(), opacity);
    }

    // The name around the top, evenly spread over about 220° as on a real seal; long names are set
    // smaller rather than running into the purpose line.
    let name = l.t("doc-seal-name");
    let face = c.face(false).clone();
    let clusters = face.clusters(&name);
    let mut size = r * 0.27;
    let radius = |size: f32| r * 0.9 - size * 0.95;
    let span = |size: f32| radius(size) * 220f32.to_radians();
    let natural = |size: f32| clusters.iter().map(|g| g.1 * size).sum::<f32>();
    let gaps = clusters.len().saturating_sub(1).max(1) as f32;
    while size > 4.0 && natural(size) + 0.5 * gaps > span(size) {
        size *= 0.95;
    }
    let tracking = ((span(size) - natural(size)) / gaps).min(size * 1.2);
    let rad = radius(size);
    let arc_len = natural(size) + tracking * gaps;
    let mut along = -arc_len / 2.0;
    for (i, &(start, advance)) in clusters.iter().enumerate() {
        let end = clusters.get(i + 1).map_or(name.len(), |g| g.0);
        let w = advance * size;
        let angle = (along + w / 2.0) / rad;
        c.surface.push_transform(&Transform::from_rotate_at(angle.to_degrees(), cx, cy));
        c.surface.set_fill(Some(fill()));
        c.surface.draw_text(
            Point::from_xy(cx - w / 2.0, cy - rad),
            face.font.clone(),
            size,
            &name[start..end],
            false,
            TextDirection::Auto,
        );
        c.surface.pop();
        along += w + tracking;
    }

    let mut star = PathBuilder::new();
    let sr = r * 0.3;
    for i in 0..10 {
        let rr = if i % 2 == 0 { sr } else { sr * 0.4 };
        let a = (i as f32 * 36.0 - 90.0).to_radians();
        let (px, py) = (cx + rr * a.cos(), cy + rr * a.sin());
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
    let purpose = l.t("doc-seal-purpose");
    let mut size = r * 0.2;
    while size > 4.0 && face.width(&purpose, size) > r * 1.3 {
        size *= 0.95;
    }
    let w = face.width(&purpose, size);
    c.surface.set_fill(Some(fill()));
    c.surface.draw_text(
        Point::from_xy(cx - w / 2.0, cy + r * 0.62),
        face.font.clone(),
        size,
        &purpose,
        false,
        TextDirection::Auto,
    );
    c.surface.pop();
    c.surface.pop();
}

/// [`wrap`] with a different width for the first line (a run-in heading or an indent).
pub(super) fn wrap_first(face: &Face, text: &str, size: f32, first: f32, rest: f32) -> Vec<String> {
    let mut lines = wrap(face, text, size, first);
    if lines.len() <= 1 {
        return lines;
    }
    let head = lines.swap_remove(0);
    let tail = text[head.len()..].trim_start();
    let mut out = vec![head];
    out.extend(wrap(face, tail, size, rest));
    out
}

/// Breaks `text` into lines no wider than `width` at `size`, measured with `face`. Breaks after spaces
/// and slashes and between Chinese characters; a run with no break opportunity (a hash) is cut wherever
/// it reaches the edge. Closing punctuation stays with the character before it.
pub(super) fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let clusters = face.clusters(text);
    let mut lines = Vec::new();
    let mut line_start = 0;
    let mut x = 0.0;
    let mut last_break: Option<usize> = None;
    let byte = |i: usize| clusters.get(i).map_or(text.len(), |c| c.0);
    let mut i = 0;
    while i < clusters.len() {
        let w = clusters[i].1 * size;
        if i > line_start {
            let prev = text[byte(i - 1)..byte(i)].chars().next().unwrap_or(' ');
            let this = text[byte(i)..byte(i + 1)].chars().next().unwrap_or(' ');
            let closing = "，。、；：？！）》」』”".contains(this) || ",.;:)".contains(this);
            let opening = "（《「『“".contains(prev);
            if !closing && !opening && (prev == ' ' || prev == '/' || !prev.is_ascii() || !this.is_ascii()) {
                last_break = Some(i);
            }
        }
        if x + w > width && i > line_start {
            let at = last_break.filter(|&b| b > line_start).unwrap_or(i);
            lines.push(text[byte(line_start)..byte(at)].trim_end().to_owned());
            line_start = at;
            while line_start < clusters.len() && text[byte(line_start)..].starts_with(' ') {
                line_start += 1;
            }
            last_break = None;
            x = 0.0;
            i = line_start;
            continue;
        }
        x += w;
        i += 1;
    }
    if line_start < clusters.len() || lines.is_empty() {
        lines.push(text[byte(line_start.min(clusters.len()))..].to_owned());
    }
    lines
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;
    use std::process::Command;

    /// The font the PDF tests use, or `None` to skip them; fails when .ci/run promised a CJK font.
    pub(in crate::pdf) fn test_font() -> Option<PdfFont> {
        let required = std::env::var_os("SEAL_REQUIRE_PDF_FONT").is_some();
        let font = super::super::find_font(&std::env::temp_dir().join("seal-no-such-data-dir")).ok();
        let cjk = font.as_ref().is_some_and(|f| f.cjk);
        assert!(cjk || !required, ".ci/run installs a CJK font and sets SEAL_REQUIRE_PDF_FONT: none was found");
        if !cjk {
            println!("no CJK font found: the document PDF tests are skipped");
            return None;
        }
        font
    }

    /// The text of a PDF by pdftotext, or `None` (with a note) when poppler is not installed.
    pub(in crate::pdf) fn pdf_text(pdf: &[u8], name: &str) -> Option<String> {
        let dir = tempfile::tempdir().ok()?;
        let file = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&file, pdf).ok()?;
        // Pictures for a person to look at; failures here do not matter to the test.
        let shots = std::path::Path::new("/tmp/pdfshots");
        if std::fs::create_dir_all(shots).is_ok() {
            let _ = std::fs::write(shots.join(format!("{name}.pdf")), pdf);
            let _ = Command::new("pdftoppm").args(["-png", "-r", "60"]).arg(&file).arg(shots.join(name)).status();
        }
        match Command::new("pdftotext").args(["-layout"]).arg(&file).arg("-").output() {
            Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
            Err(_) => {
                println!("pdftotext not found: the text of {name} is not checked");
                None
            }
        }
    }

    /// The fixed text of every `doc-` message of `lang` (the parts between placeholders), without
    /// whitespace: none of it may appear in a document written in the other language.
    pub(in crate::pdf) fn catalogue_phrases(lang: Lang) -> Vec<String> {
        let other = lang.other();
        let mut out = Vec::new();
        for key in crate::i18n::keys(lang).into_iter().filter(|k| k.starts_with("doc-")) {
            let mine = lang.t(&key);
            let theirs: String = other.t(&key).split_whitespace().collect();
            for part in mine.split(['{', '}']).step_by(2) {
                let part: String = part.split_whitespace().collect();
                let part = part.trim_matches(|c: char| c.is_ascii_punctuation() || "，。：；（）".contains(c));
                // Short pieces ("—", "、", "of") prove nothing; shared ones (a URL-like word) are allowed.
                if part.chars().count() >= 4 && !theirs.contains(part) && key != "doc-no-cjk" {
                    out.push(part.to_owned());
                }
            }
        }
        out
    }

    pub(in crate::pdf) fn squeeze(text: &str) -> String {
        text.split_whitespace().collect()
    }

    fn payload() -> Value {
        json!({
            "type": "seal-authorization-letter/v1",
            "licence_id": "lic-0",
            "offer_id": "off-7",
            "work": {
                "id": "wk-8Hq2xN4tRbV7",
                "title": "长江流域的春天",
                "author": "李明",
                "source_url": "https://news.example.cn/2026/spring.html",
                "content_sha256": "1e9bb3644e9a33eba47d5d1de55779dc020f80fd9caae4099d6e0b7179746239",
            },
            "licensor": {"id": "hld-1", "name": "江城日报社"},
            "licensee": {"id": "lsee-9", "name": "青禾文化传媒有限公司"},
            "terms": {
                "permissions": ["reproduce", "display"],
                "constraints": {"channel_kinds": ["website", "wechat_official_account"], "territories": ["CN"],
                    "duration_days": 365, "max_excerpt_chars": 500, "online_only": true},
                "attribution": "作者：李明｜原题：《长江流域的春天》｜来源：https://news.example.cn/2026/spring.html",
                "scope": {"domain": "qinghe.example.cn"},
                "valid_from": "2026-11-30T20:15:00.000Z",
                "valid_until": "2027-11-30T20:15:00.000Z",
            },
            "payment": {"amount_minor": 1999, "amount": "19.99", "currency": "CNY", "provider": "alipay",
                "provider_ref": "2026113022001400001"},
            "issued_at": "2026-11-30T20:16:05.000Z",
            "kid": "pk-3f9a2c",
            "log": {"origin": "seal.example.cn/log", "index": 41, "tree_size": 57,
                "root_hash": "q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng="},
            "verify_url": "https://seal.example.cn/verify",
        })
    }

    #[test]
    fn the_letter_reads_in_one_language_each() -> Result<(), PdfError> {
        let Some(font) = test_font() else { return Ok(()) };
        for lang in Lang::ALL {
            let pdf = letter_pdf_in(&payload(), &font, lang)?;
            assert!(pdf.starts_with(b"%PDF"));
            let Some(text) = pdf_text(&pdf, &format!("letter-{}", lang.code())) else { continue };
            let flat = squeeze(&text);
            assert!(flat.contains("青禾文化传媒有限公司"), "{text}");
            // 20:16 UTC on 30 November is 04:16 on 1 December in Beijing.
            assert!(flat.contains("2026-12-0104:16"), "{text}");
            assert!(flat.contains("¥19.99"), "{text}");
            assert!(flat.contains("https://seal.example.cn/verify"), "{text}");
            assert!(flat.contains("lic-0") && flat.contains("pk-3f9a2c") && flat.contains("off-7"), "{text}");
            match lang.tongue() {
                Tongue::Zh => {
                    assert!(flat.contains("著作权使用授权书"), "{text}");
                    assert!(flat.contains("兹授权青禾文化传媒有限公司"), "{text}");
                    assert!(flat.contains("北京时间") && flat.contains("复制、展示"), "{text}");
                }
                Tongue::En => {
                    assert!(flat.contains("CopyrightLicenceAuthorizationLetter"), "{text}");
                    assert!(flat.contains("Beijingtime") && flat.contains("reproductionandpublicdisplay"), "{text}");
                }
            }
            for phrase in catalogue_phrases(lang.other()) {
                assert!(!flat.contains(&phrase), "{} letter shows {phrase:?}:\n{text}", lang.code());
            }
        }
        Ok(())
    }

    #[test]
    fn a_free_unlogged_or_sparse_letter_still_renders() -> Result<(), PdfError> {
        let Some(font) = test_font() else { return Ok(()) };
        let mut free = payload();
        free["payment"] = Value::Null;
        free["terms"]["valid_until"] = Value::Null;
        free["terms"]["scope"] = json!({"url_prefix": "qinghe.example.cn/news/"});
        free["terms"]["constraints"] = json!({"channel_kinds": [], "territories": [], "online_only": false});
        if let Some(o) = free.as_object_mut() {
            o.remove("log");
        }
        let pdf = letter_pdf_in(&free, &font, Lang::Zh)?;
        if let Some(text) = pdf_text(&pdf, "letter-free-zh") {
            let flat = squeeze(&text);
            assert!(flat.contains("免费授权") && flat.contains("未设截止日期"), "{text}");
            assert!(!flat.contains("透明日志"), "{text}");
        }
        assert!(letter_pdf_in(&json!({}), &font, Lang::En)?.starts_with(b"%PDF"));
        // A very long title flows onto a second page rather than running over the seal.
        let mut long = payload();
        long["work"]["title"] = json!("长江".repeat(700));
        let pdf = letter_pdf_in(&long, &font, Lang::Zh)?;
        if let Some(text) = pdf_text(&pdf, "letter-long-zh") {
            assert!(squeeze(&text).contains("第2页，共2页"), "{text}");
        }
        Ok(())
    }

    #[test]
    fn a_platform_place_reads_as_words_not_json() {
        let wx = json!({"wechat_account": {"id": "MzA3NjE1NDkwMA==", "name": "示例日报"}});
        assert_eq!(scope(&wx, &Lang::Zh), "微信公众号“示例日报”（__biz MzA3NjE1NDkwMA==）");
        assert_eq!(scope(&json!({"app": {"id": "com.example.news"}}), &Lang::En), "the app com.example.news");
        assert!(scope(&json!({"domain": "example.com"}), &Lang::Zh).contains("example.com"));
        assert!(scope(&json!({"galaxy": 1}), &Lang::En).contains("galaxy"), "an unknown shape is shown, not hidden");
    }

    #[test]
    fn pages_keep_the_issuing_block_with_the_last_lines() {
        // Everything fits with the block.
        assert_eq!(paginate(&[10.0; 5], 0.0, 0.0, 60.0, 80.0), vec![0..5]);
        // Fits a page but not with the block: the block goes alone onto the next page.
        assert_eq!(paginate(&[10.0; 7], 0.0, 0.0, 60.0, 80.0), vec![0..7, 7..7]);
        // Overflows: fill the first page, the rest with the block.
        assert_eq!(paginate(&[10.0; 10], 0.0, 0.0, 60.0, 80.0), vec![0..8, 8..10]);
        // A line taller than a page still makes progress.
        assert_eq!(paginate(&[500.0, 10.0], 0.0, 0.0, 60.0, 80.0), vec![0..1, 1..2]);
    }
}
