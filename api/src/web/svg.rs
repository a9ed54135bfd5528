//! Server-drawn SVG: the no-JavaScript seal badge and the dashboards' charts. Drawn by hand because a
//! bar chart is a few rectangles, and this keeps the dashboards free of any JavaScript build.

use super::html_escape;
use std::fmt::Write;

/// The badge: a shield, "© 版权印 Copyright Seal", and the licence count when the work is known.
pub fn badge(licences: Option<i64>) -> String {
    let tail = match licences {
        Some(n) => format!(" · 已授权 {n}"),
        None => String::new(),
    };
    let text = format!("版权印 Copyright Seal{tail}");
    // Roughly 7 px per Latin character and 13 per CJK character at 12 px.
    let width: usize = 34 + text.chars().map(|c| if c.is_ascii() { 7 } else { 13 }).sum::<usize>();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"28\" role=\"img\" aria-label=\"{label}\">\
<title>{label}</title><rect rx=\"14\" width=\"{width}\" height=\"28\" fill=\"#0f5132\"/>\
<path d=\"M14 5l8 3v6c0 5-3.5 8-8 9.5C9.5 22 6 19 6 14V8z\" fill=\"#d1e7dd\"/>\
<text x=\"14\" y=\"18\" font-size=\"9\" text-anchor=\"middle\" fill=\"#0f5132\" font-family=\"sans-serif\">©</text>\
<text x=\"28\" y=\"18.5\" font-size=\"12\" fill=\"#fff\" font-family=\"-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif\">{label}</text></svg>",
        label = html_escape(&text)
    )
}

/// The top of a y axis with four ticks at round values: 4 × (1, 2 or 5 × 10^k), at least the maximum.
fn nice_axis_max(max: i64) -> f64 {
    let raw = (max.max(1) as f64 / 4.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
    step * 4.0
}

/// A bar chart of `values` labelled by `labels`, with a y axis in `unit`.
pub fn bar_chart(title: &str, labels: &[String], values: &[i64], unit: &str) -> String {
    let (w, h, left, bottom, top) = (640.0_f64, 220.0_f64, 48.0_f64, 28.0_f64, 28.0_f64);
    let max = nice_axis_max(values.iter().copied().max().unwrap_or(0));
    let n = values.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"{t}\">\
<title>{t}</title><text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"600\">{t}</text>",
        t = html_escape(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = h - bottom - (h - bottom - top) * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
<text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#666\">{v:.0}{unit}</text>",
            x2 = w - 8.0,
            lx = left - 4.0,
            ty = y + 3.0,
            unit = html_escape(unit)
        );
    }
    for (i, (&v, label)) in values.iter().zip(labels).enumerate() {
        let bh = (h - bottom - top) * v as f64 / max;
        let x = left + slot * i as f64 + slot * 0.15;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"#198754\"><title>{l}: {v}</title></rect>",
            y = h - bottom - bh,
            bw = slot * 0.7,
            l = html_escape(label)
        );
        // Label every few bars so they do not overlap.
        if i % (values.len() / 8).max(1) == 0 {
            let _ = write!(
                s,
                "<text x=\"{cx:.1}\" y=\"{ly}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#666\">{l}</text>",
                cx = x + slot * 0.35,
                ly = h - 10.0,
                l = html_escape(label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_one_bar_per_value_scaled_to_the_maximum() {
        let svg = bar_chart("t", &["a".into(), "b".into()], &[5, 10], "");
        assert_eq!(svg.matches("<rect").count(), 2);
        // The axis tops at 20 (ticks 0, 5, 10, 15, 20), so 10 is half of the 164-pixel plot.
        assert!(svg.contains("height=\"82.0\""), "{svg}");
        assert!(svg.contains("height=\"41.0\""), "{svg}");
        assert!(svg.contains(">20<"), "{svg}");
    }

    #[test]
    fn axes_end_at_round_numbers() {
        assert_eq!(nice_axis_max(1), 4.0);
        assert_eq!(nice_axis_max(19), 20.0);
        assert_eq!(nice_axis_max(21), 40.0);
        assert_eq!(nice_axis_max(880), 2000.0);
        assert_eq!(nice_axis_max(0), 4.0);
    }

    #[test]
    fn text_is_escaped() {
        assert!(bar_chart("<x>", &[], &[], "").contains("&lt;x&gt;"));
        assert!(badge(Some(3)).contains("已授权 3"));
    }
}
