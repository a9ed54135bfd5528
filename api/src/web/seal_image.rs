//! The seal as an image, for channels where no script runs: a WeChat official account's article or a
//! Weibo post cannot load `seal.js`, so the editor pastes this PNG (the seal's mark and a QR code to the
//! work's seal page) into the article, with the short link beside it. A reader who scans the code lands
//! on the same seal page the widget opens: who owns the work, its rules, and "Get licence".
//!
//! `GET /w/{id}/seal.png` draws it on request (a few kilobytes, cached by browsers for a day); only works
//! that have a seal are drawn, so the route cannot be used to make QR codes of arbitrary text.

use super::error::ApiError;
use super::State;
use crate::pdf::qr::{QrMatrix, QUIET_ZONE};
use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// Pixels per QR module: large enough for a phone camera on a 1080 px wide screenshot of the article.
const MODULE_PX: usize = 8;
/// The red of a Chinese company seal (朱红).
const SEAL_RED: [u8; 3] = [0xc8, 0x1e, 0x1e];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
const INK: [u8; 3] = [0x1d, 0x23, 0x20];

/// An RGB canvas.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas { w, h, px: WHITE.repeat(w * h) }
    }

    fn set(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.w && y < self.h {
            let i = (y * self.w + x) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }

    /// A ring between radii `r_in` and `r_out` around (cx, cy).
    fn ring(&mut self, cx: f32, cy: f32, r_in: f32, r_out: f32, c: [u8; 3]) {
        let (x0, x1) = ((cx - r_out).max(0.0) as usize, (cx + r_out) as usize + 1);
        let (y0, y1) = ((cy - r_out).max(0.0) as usize, (cy + r_out) as usize + 1);
        for y in y0..y1 {
            for x in x0..x1 {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                if d >= r_in && d <= r_out {
                    self.set(x, y, c);
                }
            }
        }
    }

    /// A five-pointed star of outer radius `r`, the centre of a Chinese seal.
    fn star(&mut self, cx: f32, cy: f32, r: f32, c: [u8; 3]) {
        let points: Vec<(f32, f32)> = (0..10)
            .map(|i| {
                let radius = if i % 2 == 0 { r } else { r * 0.4 };
                let a = std::f32::consts::PI * (i as f32) / 5.0 - std::f32::consts::FRAC_PI_2;
                (cx + radius * a.cos(), cy + radius * a.sin())
            })
            .collect();
        for y in (cy - r) as usize..=(cy + r) as usize {
            for x in (cx - r) as usize..=(cx + r) as usize {
                if inside(&points, x as f32 + 0.5, y as f32 + 0.5) {
                    self.set(x, y, c);
                }
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.w as u32, self.h as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::High);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&self.px)?;
        }
        Ok(out)
    }
}

/// Even-odd point-in-polygon.
fn inside(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut c = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let ((xi, yi), (xj, yj)) = (poly[i], poly[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            c = !c;
        }
        j = i;
    }
    c
}

/// The seal image of a work whose seal page is `url`: a red seal mark above the QR code, in a red frame.
pub fn seal_png(url: &str) -> Result<Vec<u8>, ApiError> {
    let qr = QrMatrix::encode(url).map_err(ApiError::internal)?;
    let side = (qr.width() + 2 * QUIET_ZONE) * MODULE_PX;
    let frame = 6;
    let mark = side / 3;
    let (w, h) = (side + 2 * frame, side + mark + 2 * frame);
    let mut c = Canvas::new(w, h);
    // The frame.
    c.rect(0, 0, w, frame, SEAL_RED);
    c.rect(0, h - frame, w, frame, SEAL_RED);
    c.rect(0, 0, frame, h, SEAL_RED);
    c.rect(w - frame, 0, frame, h, SEAL_RED);
    // The seal mark: a double ring and a star, like a company seal.
    let (cx, cy, r) = (w as f32 / 2.0, (frame + mark / 2) as f32 + 4.0, mark as f32 * 0.42);
    c.ring(cx, cy, r - 6.0, r, SEAL_RED);
    c.ring(cx, cy, r - 11.0, r - 9.0, SEAL_RED);
    c.star(cx, cy, r * 0.5, SEAL_RED);
    // The QR code.
    let (ox, oy) = (frame + QUIET_ZONE * MODULE_PX, frame + mark + QUIET_ZONE * MODULE_PX);
    for y in 0..qr.width() {
        for x in 0..qr.width() {
            if qr.is_dark(x, y) {
                c.rect(ox + x * MODULE_PX, oy + y * MODULE_PX, MODULE_PX, MODULE_PX, INK);
            }
        }
    }
    c.png().map_err(ApiError::internal)
}

async fn seal_image(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    // Only works with a seal: the cache knows every registered work.
    if state.seals.get(&path).is_none() {
        return Err(ApiError::not_found(format!("work {}", path.as_str())));
    }
    let url = format!("{}/w/{}", state.config.public_url, path.as_str());
    let png = web::block(move || seal_png(&url)).await??;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"seal-{}.png\"", path.as_str())))
        .body(png))
}

/// The route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/w/{id}/seal.png", web::get().to(seal_image));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_a_png_with_the_code() {
        let png = seal_png("https://seal.example/w/rh-a-w0").expect("drawn");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert!(info.width >= 200 && info.height > info.width, "{}x{}", info.width, info.height);
        // The frame's corner is seal red, and the QR's top-left finder pattern is dark ink.
        assert_eq!(&buf[..3], &SEAL_RED);
        let qr_side = (info.width as usize) - 12;
        let (x, y) = (6 + QUIET_ZONE * MODULE_PX + 2, 6 + qr_side / 3 + QUIET_ZONE * MODULE_PX + 2);
        let i = (y * info.width as usize + x) * 3;
        assert_eq!(&buf[i..i + 3], &INK);
        assert!(png.len() < 40_000, "{} bytes", png.len());
    }
}
