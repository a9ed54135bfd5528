//! PDF renderings of authorization letters, invoices and payment receipts, for people. The signed JWS letter and the
//! invoice JSON are the authoritative forms; each PDF is drawn from exactly that JSON, so it cannot say
//! something the signed document does not.
//!
//! PDFs are written with krilla (typst's PDF backend). Chinese text needs a CJK font, which we do not
//! embed in the binary (a useful CJK font is 5–20 MB). [`find_font`] looks, in order, at the
//! `SEAL_PDF_FONT` environment variable, `DATA/fonts/*.{ttf,otf,ttc}`, and the usual Debian locations
//! (`fonts-noto-cjk`, `fonts-wqy-microhei`, `fonts-wqy-zenhei`, `fonts-arphic-uming`); failing those it
//! falls back to a Latin font (DejaVu Sans), and the PDF then says on its first line that Chinese
//! characters may show as boxes and the signed JSON is authoritative. With no font at all,
//! rendering fails with [`PdfError::NoFont`] and the JSON forms still work.
//!
//! Registration certificates ([`certificate_pdf`]) are laid out by hand on one page rather than by the
//! line [`Writer`]: they must look like a certificate, so text is measured with the font's own advance
//! widths (shaped by rustybuzz, as krilla does when drawing) to centre titles and wrap values. Their
//! QR code is drawn by [`qr::draw_qr`], which other documents can reuse.

mod certificate;
mod invoice;
mod letter;
pub mod qr;
mod receipt;

pub use certificate::certificate_pdf;
pub use invoice::invoice_pdf_in;
pub use letter::letter_pdf_in;
pub use receipt::receipt_pdf_in;

use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// No usable font was found.
    #[error(
        "no font for PDF output: set SEAL_PDF_FONT, put a .ttf/.otf/.ttc in DATA/fonts, or install fonts-noto-cjk"
    )]
    NoFont,
    /// krilla refused the document.
    #[error("pdf: {0}")]
    Krilla(String),
    /// The text for a QR code does not fit in one (longer than about 2 KB).
    #[error("qr code: {0}")]
    Qr(String),
}

/// A font chosen for PDF output.
#[derive(Clone)]
pub struct PdfFont {
    face: Face,
    /// A monospaced companion for hashes and codes, when one is at hand (see [`find_mono`]).
    mono: Option<Face>,
    /// Where it came from.
    pub path: PathBuf,
    /// Whether it is known to cover Chinese.
    pub cjk: bool,
}

impl PdfFont {
    /// The face for hashes and codes: the monospaced companion if there is one, else the main face.
    fn mono(&self) -> &Face {
        self.mono.as_ref().unwrap_or(&self.face)
    }
}

/// One face of a font file, with the bytes kept so that text can be measured before it is drawn
/// (krilla measures only while drawing and does not expose the widths).
#[derive(Clone)]
struct Face {
    font: Font,
    data: Arc<Vec<u8>>,
    index: u32,
}

impl Face {
    fn new(data: Arc<Vec<u8>>, index: u32) -> Option<Face> {
        let font = Font::new(data.clone().into(), index)?;
        Some(Face { font, data, index })
    }

    /// The grapheme clusters of `text` as (byte offset, advance in em), shaped exactly as krilla's
    /// `draw_text` shapes them, so measured widths match what is drawn.
    fn clusters(&self, text: &str) -> Vec<(usize, f32)> {
        let Some(face) = rustybuzz::Face::from_slice(&self.data, self.index) else {
            // krilla accepted the font, so this should not happen; estimate rather than fail.
            return text.char_indices().map(|(i, c)| (i, if c.is_ascii() { 0.55 } else { 1.0 })).collect();
        };
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let output = rustybuzz::shape(&face, &[], buffer);
        let upem = face.units_per_em() as f32;
        let mut out: Vec<(usize, f32)> = Vec::new();
        for (info, pos) in output.glyph_infos().iter().zip(output.glyph_positions()) {
            let advance = pos.x_advance as f32 / upem;
            match out.last_mut() {
                Some(last) if last.0 == info.cluster as usize => last.1 += advance,
                _ => out.push((info.cluster as usize, advance)),
            }
        }
        out
    }

    /// The width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        self.clusters(text).iter().map(|c| c.1).sum::<f32>() * size
    }
}

/// Known font files: path, collection index, covers CJK.
const SYSTEM_FONTS: &[(&str, u32, bool)] = &[
    // Index 2 of the Noto Sans CJK collection is Simplified Chinese.
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, true),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, true),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, true),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, true),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0, true),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0, false),
];

/// Monospaced Latin fonts to pair with a font that has no monospaced sibling in its own file.
const MONO_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
];

fn load(path: &Path, index: u32, cjk: bool) -> Option<PdfFont> {
    let data = Arc::new(std::fs::read(path).ok()?);
    let face = Face::new(data.clone(), index)?;
    let mono = find_mono(&data, index);
    Some(PdfFont { face, mono, path: path.to_owned(), cjk })
}

/// A monospaced face for hashes, which are far easier to read and compare in fixed columns. CJK font
/// collections often carry one (WenQuanYi Micro Hei Mono, Noto Sans Mono CJK) and it costs nothing to
/// use, since the file is already in memory; otherwise a system monospaced Latin font, if installed.
fn find_mono(data: &Arc<Vec<u8>>, index: u32) -> Option<Face> {
    use rustybuzz::ttf_parser;
    let faces = ttf_parser::fonts_in_collection(data).unwrap_or(1);
    let is_mono = |i: u32| {
        ttf_parser::Face::parse(data, i).ok().is_some_and(|f| {
            f.names()
                .into_iter()
                .any(|n| n.name_id == ttf_parser::name_id::FAMILY && n.to_string().is_some_and(|s| s.contains("Mono")))
        })
    };
    if let Some(i) = (0..faces).filter(|&i| i != index).find(|&i| is_mono(i)) {
        return Face::new(data.clone(), i);
    }
    MONO_FONTS.iter().find_map(|p| Face::new(Arc::new(std::fs::read(p).ok()?), 0))
}

/// Finds a font as described in the module docs.
pub fn find_font(data_dir: &Path) -> Result<PdfFont, PdfError> {
    if let Some(p) = std::env::var_os("SEAL_PDF_FONT") {
        if let Some(f) = load(Path::new(&p), 0, true) {
            return Ok(f);
        }
    }
    if let Ok(entries) = std::fs::read_dir(data_dir.join("fonts")) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let is_font =
            |p: &PathBuf| p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "ttf" | "otf" | "ttc"));
        if let Some(f) = paths.iter().filter(|p| is_font(p)).find_map(|p| load(p, 0, true)) {
            return Ok(f);
        }
    }
    SYSTEM_FONTS.iter().find_map(|(p, i, cjk)| load(Path::new(p), *i, *cjk)).ok_or(PdfError::NoFont)
}

/// Lays out lines of text on A4 pages, wrapping long lines and starting new pages as needed.
struct Writer {
    lines: Vec<(f32, String)>,
    /// A QR code drawn after the last line (with its caption): the public verification page.
    qr: Option<String>,
}

/// The side of a QR code under a document's text, and the room it takes with its caption.
const QR_SIZE: f32 = 96.0;
const QR_ROOM: f32 = QR_SIZE + 30.0;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

impl Writer {
    fn new(font: &PdfFont) -> Writer {
        let mut w = Writer { lines: Vec::new(), qr: None };
        if !font.cjk {
            w.line(
                8.0,
                "No CJK font was found: Chinese characters may show as boxes. The signed JSON is authoritative.",
            );
        }
        w
    }

    /// Adds text at `size`, wrapped by display width (CJK characters count double).
    fn line(&mut self, size: f32, text: &str) {
        let max_units = ((PAGE_W - 2.0 * MARGIN) / (size * 0.5)) as usize;
        let mut current = String::new();
        let mut units = 0;
        for c in text.chars() {
            let w = if c.is_ascii() { 1 } else { 2 };
            if units + w > max_units {
                self.lines.push((size, std::mem::take(&mut current)));
                units = 0;
            }
            current.push(c);
            units += w;
        }
        self.lines.push((size, current));
    }

    fn field(&mut self, label: &str, value: &str) {
        self.line(10.0, &format!("{label}: {value}"));
    }

    fn gap(&mut self) {
        self.lines.push((6.0, String::new()));
    }

    fn finish(self, font: &PdfFont, title: &str) -> Result<Vec<u8>, PdfError> {
        let mut doc = Document::new();
        doc.set_metadata(
            krilla::metadata::Metadata::new().title(title.to_owned()).creator("Copyright Seal".to_owned()),
        );
        let mut lines = self.lines.into_iter().peekable();
        let mut qr = self.qr;
        while lines.peek().is_some() || qr.is_some() {
            let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Krilla("page size".into()))?;
            let mut page = doc.start_page_with(settings);
            let mut surface = page.surface();
            let mut y = MARGIN;
            while let Some((size, text)) = lines.next_if(|(size, _)| y + size * 1.5 <= PAGE_H - MARGIN) {
                y += size * 1.5;
                if !text.is_empty() {
                    surface.draw_text(
                        Point::from_xy(MARGIN, y),
                        font.face.font.clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
            }
            if lines.peek().is_none() && y + QR_ROOM <= PAGE_H - MARGIN {
                if let Some(url) = qr.take() {
                    qr::draw_qr(&mut surface, MARGIN, y + 8.0, QR_SIZE, &url)?;
                    let caption = format!("扫码核验 Scan to verify: {url}");
                    let at = Point::from_xy(MARGIN, y + QR_SIZE + 22.0);
                    surface.set_fill(Some(krilla::paint::Fill::default()));
                    surface.draw_text(at, font.face.font.clone(), 8.0, &caption, false, TextDirection::Auto);
                }
            }
            surface.finish();
            page.finish();
        }
        doc.finish().map_err(|e| PdfError::Krilla(format!("{e:?}")))
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().fold(v, |v, k| &v[*k]).as_str().unwrap_or("—")
}

/// Renders an authorization letter payload (as returned by `verify_letter`) as a PDF in Chinese; see
/// [`letter_pdf_in`] for the same letter in the reader's language.
pub fn letter_pdf(payload: &Value, font: &PdfFont) -> Result<Vec<u8>, PdfError> {
    letter_pdf_in(payload, font, crate::i18n::Lang::Zh)
}

/// Renders a case's timeline (the dossier's `case.json` form) as a PDF: the case's facts, then every
/// entry in order, with who did what and what they wrote.
pub fn timeline_pdf(case: &Value, font: &PdfFont) -> Result<Vec<u8>, PdfError> {
    let mut w = Writer::new(font);
    w.line(18.0, "维权案件时间线 Case timeline");
    w.gap();
    w.field("案件 Case", s(case, &["id"]));
    w.field("作品 Work", &format!("{} ({})", s(case, &["work_title"]), s(case, &["work"])));
    w.field("权利人 Rights holder", &format!("{} ({})", s(case, &["holder_name"]), s(case, &["holder"])));
    w.field("侵权网站 Site", s(case, &["domain"]));
    w.field("状态 State", s(case, &["state_label"]));
    if let Some(track) = case["track"].as_str() {
        w.field("线下途径 Offline route", track);
    }
    if let Some(fee) = case["fee"].as_str() {
        w.field("和解费 Settlement fee", fee);
    }
    w.field("时区 Time zone", "北京时间 Beijing time (UTC+8)");
    w.gap();
    for e in case["timeline"].as_array().map(Vec::as_slice).unwrap_or_default() {
        w.line(11.0, &format!("{}  {}  ({})", s(e, &["at"]), s(e, &["kind"]), s(e, &["actor"])));
        if let Some(note) = e["note"].as_str().filter(|n| !n.is_empty()) {
            for para in note.lines() {
                w.line(9.0, &format!("    {para}"));
            }
        }
    }
    w.finish(font, &format!("Case timeline {}", s(case, &["id"])))
}

/// Renders an invoice (its `to_json()` form) as a PDF in Chinese; see [`invoice_pdf_in`] for the same
/// invoice in the reader's language.
pub fn invoice_pdf(invoice: &Value, font: &PdfFont) -> Result<Vec<u8>, PdfError> {
    invoice_pdf_in(invoice, font, crate::i18n::Lang::Zh)
}
