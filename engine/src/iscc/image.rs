//! The Content-Code Image (iscc-core `gen_image_code_v0`) and the normalisation that prepares its
//! input.
//!
//! The code itself is defined on 32×32 grey pixels: a 2-D DCT (the recursive algorithm iscc-core uses,
//! evaluated in the same order so the floating-point values agree), then for each of the four 8×8
//! quadrants of the low-frequency 16×16 corner one bit per coefficient, set when it exceeds the
//! quadrant's median. [`image_code_from_pixels`] is that step and matches the conformance vectors
//! exactly.
//!
//! Getting from a decoded image to those pixels is not part of iscc-core 1.5.0, whose documentation
//! lists the steps; [`image_normalize`] follows them as the ISCC SDK implements them with Pillow:
//! transparency filled with white (Pillow's `paste` with the alpha channel as mask), uniform borders
//! trimmed (the SDK's exact `image_trim_border`: the bounding box of pixels differing from the top-left
//! one), grey by ITU-R 601-2 in Pillow's fixed point, and a bicubic resize to 32×32 with Pillow's
//! convolution (support scaled to the reduction, `a = −0.5`, 22-bit fixed-point weights, two passes in
//! Pillow's order). On the same pixels the result equals Pillow 13's, which
//! `fixtures/iscc/pillow_normalize.json` checks.
//!
//! Not covered, so the Image-Code of a file may differ from the SDK's in a few bits: EXIF orientation
//! (the engine's decoder does not read it); the decoders (the engine's JPEG decoder, its reduced-scale
//! DCT decoding and its floating-point luma do not reproduce libjpeg and Pillow pixel for pixel); and
//! newer SDK releases, which by default trim near-uniform borders with a tolerance. The Image-Code is a
//! similarity hash: a few bits of distance still mean "same image".

use super::codec::{encode_unit, MainType, SUBTYPE_IMAGE};
use super::error::IsccError;
use crate::image::Luma;

/// Side of the normalised image.
const SIDE: usize = 32;

/// A decoded image's pixels, row-major, 8 bits per channel unless stated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pixels<'a> {
    /// One grey value per pixel.
    Gray(&'a [u8]),
    /// Red, green, blue per pixel.
    Rgb(&'a [u8]),
    /// Red, green, blue, alpha per pixel (straight, not premultiplied, alpha).
    Rgba(&'a [u8]),
    /// One luminance value per pixel in 0.0..=255.0, as the engine's decoder produces ([`Luma`]).
    Luma(&'a [f32]),
}

impl Pixels<'_> {
    fn channels(&self) -> usize {
        match self {
            Pixels::Gray(_) | Pixels::Luma(_) => 1,
            Pixels::Rgb(_) => 3,
            Pixels::Rgba(_) => 4,
        }
    }

    fn len(&self) -> usize {
        match self {
            Pixels::Gray(p) | Pixels::Rgb(p) | Pixels::Rgba(p) => p.len(),
            Pixels::Luma(p) => p.len(),
        }
    }

    /// Pixel `i` as RGB over a white background. Grey stays grey (r = g = b), so the later conversion
    /// to grey gives it back unchanged.
    #[inline]
    fn rgb(&self, i: usize) -> [u8; 3] {
        match self {
            Pixels::Gray(p) => [p[i]; 3],
            Pixels::Luma(p) => [p[i].round().clamp(0.0, 255.0) as u8; 3],
            Pixels::Rgb(p) => [p[3 * i], p[3 * i + 1], p[3 * i + 2]],
            Pixels::Rgba(p) => {
                let alpha = u32::from(p[4 * i + 3]);
                let over_white = |c: u8| div255(u32::from(c) * alpha + 255 * (255 - alpha));
                [over_white(p[4 * i]), over_white(p[4 * i + 1]), over_white(p[4 * i + 2])]
            }
        }
    }
}

/// Pillow's rounded division by 255 (`DIV255`), used when it blends with a mask.
#[inline]
fn div255(value: u32) -> u8 {
    let t = value + 128;
    (((t >> 8) + t) >> 8) as u8
}

/// ITU-R 601-2 luma in Pillow's fixed point (`L24`): weights 0.299, 0.587, 0.114 scaled by 2^16, rounded.
#[inline]
fn luma_601(rgb: [u8; 3]) -> u8 {
    ((u32::from(rgb[0]) * 19595 + u32::from(rgb[1]) * 38470 + u32::from(rgb[2]) * 7471 + 0x8000) >> 16) as u8
}

/// Brings a decoded image to the 1024 grey values the Image-Code hashes (see the module documentation
/// for the steps and how closely they follow the reference).
pub fn image_normalize(pixels: Pixels<'_>, width: usize, height: usize) -> Result<[u8; 1024], IsccError> {
    let expected = width.checked_mul(height).and_then(|n| n.checked_mul(pixels.channels()));
    if width == 0 || height == 0 || expected != Some(pixels.len()) {
        return Err(IsccError::PixelBuffer { len: pixels.len(), width, height });
    }
    let (left, top, right, bottom) = content_bounds(&pixels, width, height);
    let (crop_w, crop_h) = (right - left, bottom - top);
    let mut gray = Vec::with_capacity(crop_w * crop_h);
    for y in top..bottom {
        gray.extend((left..right).map(|x| luma_601(pixels.rgb(y * width + x))));
    }
    let resized = resize_bicubic(&gray, crop_w, crop_h, SIDE, SIDE);
    let mut out = [0u8; 1024];
    out.copy_from_slice(&resized);
    Ok(out)
}

/// The bounding box `(left, top, right, bottom)` of pixels that differ from the top-left one, which
/// removes a uniform border; the whole image when every pixel equals it.
fn content_bounds(pixels: &Pixels<'_>, width: usize, height: usize) -> (usize, usize, usize, usize) {
    let background = pixels.rgb(0);
    let (mut left, mut top, mut right, mut bottom) = (width, height, 0, 0);
    for y in 0..height {
        let row = y * width;
        let Some(first) = (0..width).find(|&x| pixels.rgb(row + x) != background) else {
            continue;
        };
        // The last differing pixel of the row; at least `first` differs, so this always finds one.
        let last = (first..width).rev().find(|&x| pixels.rgb(row + x) != background).unwrap_or(first);
        left = left.min(first);
        right = right.max(last + 1);
        top = top.min(y);
        bottom = y + 1;
    }
    if right == 0 {
        (0, 0, width, height)
    } else {
        (left, top, right, bottom)
    }
}

/// Pillow's bicubic convolution kernel (`a = −0.5`), evaluated in the same order as its C code.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Fixed-point bits of Pillow's 8-bit resampling weights (`PRECISION_BITS`).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Resampling weights for one axis, as Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` compute
/// them: for each output position the first input index and a run of fixed-point weights.
struct AxisWeights {
    /// `(first input index, number of inputs)` per output position.
    bounds: Vec<(usize, usize)>,
    /// `ksize` weights per output position (unused ones are zero).
    weights: Vec<i32>,
    ksize: usize,
}

impl AxisWeights {
    fn new(in_size: usize, out_size: usize) -> AxisWeights {
        const SUPPORT: f64 = 2.0;
        let scale = in_size as f64 / out_size as f64;
        // When shrinking, the kernel stretches to cover every input pixel (antialiasing).
        let filter_scale = scale.max(1.0);
        let support = SUPPORT * filter_scale;
        let ksize = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * ksize];
        let mut raw = vec![0f64; ksize];
        for (xx, row) in weights.chunks_exact_mut(ksize).enumerate() {
            let center = (xx as f64 + 0.5) * scale;
            let inverse = 1.0 / filter_scale;
            // C's `(int)` truncates toward zero, as `as` does.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let count = xmax.saturating_sub(xmin).min(ksize);
            let mut total = 0.0;
            for (x, w) in raw[..count].iter_mut().enumerate() {
                *w = bicubic(((x + xmin) as f64 - center + 0.5) * inverse);
                total += *w;
            }
            for (w, fixed) in raw[..count].iter_mut().zip(row.iter_mut()) {
                if total != 0.0 {
                    *w /= total;
                }
                let scaled = *w * f64::from(1u32 << PRECISION_BITS);
                *fixed = if *w < 0.0 { (scaled - 0.5) as i32 } else { (scaled + 0.5) as i32 };
            }
            bounds.push((xmin, count));
        }
        AxisWeights { bounds, weights, ksize }
    }

    /// The weighted sum of `count` inputs read through `at`, rounded and clamped like Pillow's `clip8`.
    #[inline]
    fn apply(&self, out_index: usize, at: impl Fn(usize) -> u8) -> u8 {
        let (start, count) = self.bounds[out_index];
        let row = &self.weights[out_index * self.ksize..][..count];
        let mut sum: i32 = 1 << (PRECISION_BITS - 1);
        for (i, &w) in row.iter().enumerate() {
            sum += i32::from(at(start + i)) * w;
        }
        (sum >> PRECISION_BITS).clamp(0, 255) as u8
    }
}

/// Pillow's `Image.resize(..., BICUBIC)` for an 8-bit grey image: two separable passes, each skipped
/// when that side already has the target size. Their order changes the rounding between them, so it
/// follows Pillow (since 11): vertical first when the height shrinks by more than twice as many pixels
/// as the width, horizontal first otherwise.
fn resize_bicubic(src: &[u8], width: usize, height: usize, out_w: usize, out_h: usize) -> Vec<u8> {
    let shrink_h = height as i64 - out_h as i64;
    let shrink_w = width as i64 - out_w as i64;
    if shrink_h > 0 && shrink_h > shrink_w * 2 {
        let vertical = resize_vertical(src, width, height, out_h);
        resize_horizontal(&vertical, width, out_w)
    } else {
        let horizontal = resize_horizontal(src, width, out_w);
        resize_vertical(&horizontal, out_w, height, out_h)
    }
}

/// Resamples every row of a `width`-wide image to `out_w` pixels.
fn resize_horizontal(src: &[u8], width: usize, out_w: usize) -> Vec<u8> {
    if width == out_w {
        return src.to_vec();
    }
    let axis = AxisWeights::new(width, out_w);
    let mut out = Vec::with_capacity(src.len() / width * out_w);
    for row in src.chunks_exact(width) {
        out.extend((0..out_w).map(|xx| axis.apply(xx, |x| row[x])));
    }
    out
}

/// Resamples every column of a `width`×`height` image to `out_h` pixels.
fn resize_vertical(src: &[u8], width: usize, height: usize, out_h: usize) -> Vec<u8> {
    if height == out_h {
        return src.to_vec();
    }
    let axis = AxisWeights::new(height, out_h);
    let mut out = Vec::with_capacity(out_h * width);
    for yy in 0..out_h {
        out.extend((0..width).map(|xx| axis.apply(yy, |y| src[y * width + xx])));
    }
    out
}

/// The DCT-II without normalisation, by the recursive even/odd split iscc-core uses (`alg_dct`, after
/// Nayuki's fast DCT); `v.len()` must be a power of two.
fn dct(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    if n == 1 {
        return v.to_vec();
    }
    let half = n / 2;
    let alpha: Vec<f64> = (0..half).map(|i| v[i] + v[n - 1 - i]).collect();
    let beta: Vec<f64> = (0..half)
        .map(|i| (v[i] - v[n - 1 - i]) / (((i as f64 + 0.5) * std::f64::consts::PI / n as f64).cos() * 2.0))
        .collect();
    let (alpha, beta) = (dct(&alpha), dct(&beta));
    let mut out = Vec::with_capacity(n);
    for i in 0..half - 1 {
        out.push(alpha[i]);
        out.push(beta[i] + beta[i + 1]);
    }
    out.push(alpha[half - 1]);
    out.push(beta[half - 1]);
    out
}

/// Python's `statistics.median`: the mean of the two middle values for an even count.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The 256-bit Image-Hash of 32×32 grey pixels (iscc-core `soft_hash_image_v0`).
fn soft_hash_image(pixels: &[u8]) -> [u8; 32] {
    let rows: Vec<Vec<f64>> =
        pixels.chunks_exact(SIDE).map(|row| dct(&row.iter().map(|&p| f64::from(p)).collect::<Vec<_>>())).collect();
    // columns[c][r]: the column transform of the row-transformed matrix.
    let columns: Vec<Vec<f64>> = (0..SIDE).map(|c| dct(&rows.iter().map(|row| row[c]).collect::<Vec<_>>())).collect();
    let mut digest = [0u8; 32];
    // Top-left, top-right, bottom-left, bottom-right 8×8 blocks of the low-frequency 16×16 corner.
    for (block, (x0, y0)) in [(0, 0), (8, 0), (0, 8), (8, 8)].into_iter().enumerate() {
        let values: Vec<f64> =
            (y0..y0 + 8).flat_map(|y| (x0..x0 + 8).map(move |x| (x, y))).map(|(x, y)| columns[x][y]).collect();
        let med = median(&values);
        for (i, &value) in values.iter().enumerate() {
            if value > med {
                let bit = block * 64 + i;
                digest[bit / 8] |= 0x80 >> (bit % 8);
            }
        }
    }
    digest
}

/// The Image-Code of 1024 normalised grey pixels (32×32, row-major), cut to `bits` (iscc-core
/// `gen_image_code_v0`).
pub fn image_code_from_pixels(gray_32x32: &[u8], bits: u32) -> Result<String, IsccError> {
    if gray_32x32.len() != SIDE * SIDE {
        return Err(IsccError::PixelCount(gray_32x32.len()));
    }
    encode_unit(MainType::Content, SUBTYPE_IMAGE, bits, &soft_hash_image(gray_32x32))
}

/// The Image-Code of an image decoded by the engine ([`crate::image::decode_luma`]): its luma plane is
/// normalised and hashed. The decoder has already dropped alpha, so transparent areas are not whitened.
pub fn image_code_for(luma: &Luma, bits: u32) -> Result<String, IsccError> {
    image_code_from_pixels(&image_normalize(Pixels::Luma(&luma.pixels), luma.width, luma.height)?, bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The pattern of `fixtures/iscc/pillow_normalize.py`: structure at several scales, so resampling
    /// errors show.
    fn pattern(x: usize, y: usize, c: usize, seed: usize) -> u8 {
        (((x * (31 + c * 7) + y * (17 + c * 3) + ((x * y) >> 3) * (c + 1)) ^ (x * 13 + y * 29 + seed)) & 0xFF) as u8
    }

    fn pattern_alpha(x: usize, y: usize, seed: usize) -> u8 {
        if !(x / 5 + y / 7).is_multiple_of(3) {
            255
        } else {
            ((x * y * 3 + seed) & 0xFF) as u8
        }
    }

    /// Pillow 13.0 with the ISCC SDK's steps (transparency to white, exact border trim, grey, bicubic
    /// resize) on synthetic images of every pixel layout, up- and downscaling, with and without borders.
    #[test]
    fn normalisation_matches_pillow() {
        let fixture: Value =
            serde_json::from_str(include_str!("../../../fixtures/iscc/pillow_normalize.json")).expect("fixture parses");
        let cases = fixture["cases"].as_array().expect("cases");
        assert!(cases.len() >= 5);
        let number = |v: &Value| v.as_u64().expect("number") as usize;
        for case in cases {
            let (width, height, seed) = (number(&case["width"]), number(&case["height"]), number(&case["seed"]));
            let border: Vec<usize> = case["border"].as_array().expect("border").iter().map(number).collect();
            let color: Vec<u8> =
                case["border_color"].as_array().expect("color").iter().map(|v| number(v) as u8).collect();
            let mode = case["mode"].as_str().expect("mode");
            let channels = color.len();
            let mut data = Vec::with_capacity(width * height * channels);
            for y in 0..height {
                for x in 0..width {
                    if x < border[0] || y < border[1] || x >= width - border[2] || y >= height - border[3] {
                        data.extend_from_slice(&color);
                    } else {
                        data.extend((0..channels.min(3)).map(|c| pattern(x, y, c, seed)));
                        if channels == 4 {
                            data.push(pattern_alpha(x, y, seed));
                        }
                    }
                }
            }
            let pixels = match mode {
                "L" => Pixels::Gray(&data),
                "RGB" => Pixels::Rgb(&data),
                "RGBA" => Pixels::Rgba(&data),
                other => panic!("mode {other}"),
            };
            let got = image_normalize(pixels, width, height).expect("normalised");
            let expected = case["expected"].as_str().expect("expected");
            let expected: Vec<u8> = (0..expected.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&expected[i..i + 2], 16).expect("hex"))
                .collect();
            let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{mode} {width}x{height}: {differing} of 1024 pixels differ from Pillow");
        }
    }

    #[test]
    fn dct_of_a_constant_is_its_sum_in_the_first_coefficient() {
        let out = dct(&[3.0; 8]);
        assert_eq!(out[0], 24.0);
        assert!(out[1..].iter().all(|v| v.abs() < 1e-9), "{out:?}");
    }

    #[test]
    fn pixel_buffers_must_match_their_size() {
        assert!(matches!(image_normalize(Pixels::Rgb(&[0; 10]), 2, 2), Err(IsccError::PixelBuffer { .. })));
        assert!(matches!(image_normalize(Pixels::Gray(&[]), 0, 0), Err(IsccError::PixelBuffer { .. })));
        assert_eq!(image_code_from_pixels(&[0; 100], 64), Err(IsccError::PixelCount(100)));
    }

    #[test]
    fn a_32x32_grey_image_passes_through_unchanged() {
        let pixels: Vec<u8> = (0..1024).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(image_normalize(Pixels::Gray(&pixels), 32, 32).expect("normalised").to_vec(), pixels);
    }

    #[test]
    fn uniform_borders_are_trimmed() {
        // A 64x64 grey image whose centre 32x32 holds a pattern inside a white frame.
        let inner: Vec<u8> = (0..1024).map(|i| (i * 13 % 200) as u8).collect();
        let mut framed = vec![255u8; 64 * 64];
        for y in 0..32 {
            framed[(16 + y) * 64 + 16..][..32].copy_from_slice(&inner[y * 32..][..32]);
        }
        assert_eq!(image_normalize(Pixels::Gray(&framed), 64, 64).expect("normalised").to_vec(), inner);
    }

    #[test]
    fn transparency_becomes_white() {
        let clear = [10u8, 20, 30, 0].repeat(16);
        let normalised = image_normalize(Pixels::Rgba(&clear), 4, 4).expect("normalised");
        assert!(normalised.iter().all(|&v| v == 255));
        assert_eq!(div255(255 * 255), 255);
        assert_eq!(div255(128 * 255), 128);
    }

    #[test]
    fn luma_planes_from_the_decoder_are_accepted() {
        let luma = Luma { width: 40, height: 30, pixels: (0..1200).map(|i| (i % 40) as f32 * 6.0).collect() };
        let code = image_code_for(&luma, 64).expect("code");
        assert!(code.starts_with("ISCC:EE"), "{code}");
    }
}
