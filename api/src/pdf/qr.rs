//! QR codes drawn as vector shapes on a krilla surface, so a printed document can send a reader to its
//! online verification page. The modules are filled rectangles rather than an embedded image: they stay
//! sharp at any zoom or print resolution and add no image codec to the build.
//!
//! Encoding is done by the `qrcode` crate (without its image features). Runs of dark modules in a row
//! are merged into one rectangle, which keeps the content stream small and avoids the hairline seams
//! some viewers show between abutting squares.

use super::PdfError;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Rect};
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol. The QR specification asks for four: with fewer, phone cameras
/// often fail to find the finder patterns when the code sits next to other ink.
pub const QUIET_ZONE: usize = 4;

/// The modules of an encoded QR symbol, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` at error-correction level M (15 % of the symbol may be damaged or smudged),
    /// which keeps a typical verification URL at version 3–4 and so large modules at a small size.
    pub fn encode(text: &str) -> Result<QrMatrix, PdfError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| PdfError::Qr(e.to_string()))?;
        let width = code.width();
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(QrMatrix { width, dark })
    }

    /// Modules per side (21 for version 1, plus 4 per version above it).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module in column `x`, row `y` is dark; outside the symbol everything is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Horizontal runs of dark modules as (row, first column, length), row by row.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((y, start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

/// What [`draw_qr`] drew.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QrDrawing {
    /// Modules per side of the symbol, without the quiet zone.
    pub modules: usize,
    /// Side of one module in points.
    pub module_size: f32,
    /// Dark rectangles drawn (one per horizontal run of dark modules).
    pub rects: usize,
}

/// Draws a QR code for `text` as a `size` × `size` point square whose top-left corner is at (`x`, `y`),
/// quiet zone included: the square is first painted white, so the code scans on a tinted background.
/// Leaves the surface's fill unset.
pub fn draw_qr(surface: &mut Surface<'_>, x: f32, y: f32, size: f32, text: &str) -> Result<QrDrawing, PdfError> {
    let matrix = QrMatrix::encode(text)?;
    let module = size / (matrix.width() + 2 * QUIET_ZONE) as f32;
    let origin = (x + module * QUIET_ZONE as f32, y + module * QUIET_ZONE as f32);

    let white = Rect::from_xywh(x, y, size, size).ok_or_else(|| PdfError::Krilla("qr size".into()))?;
    let mut background = PathBuilder::new();
    background.push_rect(white);
    fill(surface, rgb::Color::white(), background)?;

    let runs = matrix.runs();
    let mut dark = PathBuilder::new();
    // A sliver of overlap with the row below, so that anti-aliasing leaves no light line between rows.
    let bleed = module * 0.02;
    for &(row, col, len) in &runs {
        let rect = Rect::from_xywh(
            origin.0 + col as f32 * module,
            origin.1 + row as f32 * module,
            len as f32 * module,
            module + bleed,
        )
        .ok_or_else(|| PdfError::Krilla("qr module".into()))?;
        dark.push_rect(rect);
    }
    fill(surface, rgb::Color::black(), dark)?;
    surface.set_fill(None);
    Ok(QrDrawing { modules: matrix.width(), module_size: module, rects: runs.len() })
}

fn fill(surface: &mut Surface<'_>, color: rgb::Color, path: PathBuilder) -> Result<(), PdfError> {
    let path = path.finish().ok_or_else(|| PdfError::Krilla("empty qr path".into()))?;
    surface.set_fill(Some(Fill { paint: color.into(), rule: FillRule::NonZero, ..Fill::default() }));
    surface.draw_path(&path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_url_makes_a_version_4_symbol_whose_runs_cover_exactly_the_dark_modules() {
        let url = "http://127.0.0.1:8080/verify?work=wk-8Hq2xN4tRbV7";
        let m = QrMatrix::encode(url).expect("encodes");
        // 49 bytes at level M need version 4 (up to 62 bytes; version 3 holds 42): 17 + 4 × 4 modules.
        assert_eq!(url.len(), 49);
        assert_eq!(m.width(), 33);
        // The three finder patterns: a dark 7×7 ring with a dark 3×3 centre in three corners.
        for (ox, oy) in [(0, 0), (m.width() - 7, 0), (0, m.width() - 7)] {
            for i in 0..7 {
                assert!(m.is_dark(ox + i, oy) && m.is_dark(ox + i, oy + 6) && m.is_dark(ox, oy + i));
            }
            assert!(!m.is_dark(ox + 1, oy + 1) && m.is_dark(ox + 3, oy + 3));
        }
        let mut rebuilt = vec![false; m.width() * m.width()];
        for (row, col, len) in m.runs() {
            assert!(len > 0);
            for x in col..col + len {
                assert!(!rebuilt[row * m.width() + x], "runs overlap");
                rebuilt[row * m.width() + x] = true;
            }
            // Maximal runs: the modules just outside are light.
            assert!(col == 0 || !m.is_dark(col - 1, row));
            assert!(!m.is_dark(col + len, row));
        }
        assert_eq!(rebuilt, m.dark);
    }

    #[test]
    fn draw_qr_draws_one_rectangle_per_run_inside_the_square() -> Result<(), PdfError> {
        let url = "http://127.0.0.1:8080/verify?work=wk-8Hq2xN4tRbV7";
        let mut doc = krilla::Document::new();
        let settings = krilla::page::PageSettings::from_wh(200.0, 200.0).ok_or(PdfError::Qr("page".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let drawn = draw_qr(&mut surface, 10.0, 10.0, 123.0, url)?;
        surface.finish();
        page.finish();
        let pdf = doc.finish().map_err(|e| PdfError::Krilla(format!("{e:?}")))?;
        assert!(pdf.starts_with(b"%PDF"));
        let m = QrMatrix::encode(url)?;
        assert_eq!(drawn.modules, 33);
        assert_eq!(drawn.rects, m.runs().len());
        // 33 modules plus two quiet zones of 4 fill the 123 pt square exactly.
        assert!((drawn.module_size - 3.0).abs() < 1e-4, "{drawn:?}");
        // Fewer rectangles than dark modules: runs were merged.
        assert!(drawn.rects < m.dark.iter().filter(|d| **d).count());
        Ok(())
    }

    #[test]
    fn text_too_long_for_any_symbol_is_an_error_not_a_panic() {
        assert!(matches!(QrMatrix::encode(&"x".repeat(5000)), Err(PdfError::Qr(_))));
    }
}
