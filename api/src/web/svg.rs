//! Server-drawn SVG: the no-JavaScript seal badge and the dashboards' charts. Drawn by hand because a
//! bar chart is a few rectangles, and this keeps the dashboards free of any JavaScript build.

use super::html_escape;
use crate::i18n::Lang;
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

/// Where a chart's plot area sits in its view box.
#[derive(Clone, Copy)]
struct Frame {
    w: f64,
    h: f64,
    left: f64,
    bottom: f64,
    plot: f64,
}

/// Five grid lines from 0 to `max`, each labelled at 11 px.
fn y_axis(s: &mut String, f: Frame, max: f64, unit: &str) {
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = f.h - f.bottom - f.plot * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
<text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">{v:.0}{unit}</text>",
            left = f.left,
            x2 = f.w - 8.0,
            lx = f.left - 4.0,
            ty = y + 4.0,
            unit = html_escape(unit)
        );
    }
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
    y_axis(&mut s, Frame { w, h, left, bottom, plot: h - bottom - top }, max, unit);
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
                "<text x=\"{cx:.1}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{l}</text>",
                cx = x + slot * 0.35,
                ly = h - 10.0,
                l = html_escape(label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Colours of licensed (white-list) and unlicensed (black-list) uses: green and a dark red, told apart
/// by lightness too, for readers who do not see the hue.
const WHITE: &str = "#2e8b57";
const BLACK: &str = "#7a1f2b";

/// The legend of licensed (white-list) and unlicensed (black-list) uses, in `l`.
fn uses(l: Lang) -> [String; 2] {
    [l.t("an-chart-legend-licensed"), l.t("an-chart-legend-unlicensed")]
}

/// Bars over time, each split into licensed (below) and unlicensed (above) uses, with a legend in `l`;
/// every segment names its bucket and count on hover.
pub fn stacked_bars(l: Lang, title: &str, labels: &[String], white: &[i64], black: &[i64]) -> String {
    let [lower, upper] = uses(l);
    stacked_bars_named(title, labels, white, black, [&lower, &upper])
}

/// [`stacked_bars`] with other names for the lower (green) and upper (dark) parts.
pub fn stacked_bars_named(title: &str, labels: &[String], white: &[i64], black: &[i64], names: [&str; 2]) -> String {
    let (w, h, left, bottom, top) = (720.0_f64, 260.0_f64, 52.0_f64, 30.0_f64, 44.0_f64);
    let totals: Vec<i64> = white.iter().zip(black).map(|(a, b)| a + b).collect();
    let max = nice_axis_max(totals.iter().copied().max().unwrap_or(0));
    let n = totals.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let plot = h - bottom - top;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"{t}\">\
<title>{t}</title><text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"600\">{t}</text>{legend}",
        t = html_escape(title),
        legend = legend(left, 34.0, names)
    );
    y_axis(&mut s, Frame { w, h, left, bottom, plot }, max, "");
    for (i, label) in labels.iter().enumerate() {
        let (wv, bv) = (white.get(i).copied().unwrap_or(0), black.get(i).copied().unwrap_or(0));
        let x = left + slot * i as f64 + slot * 0.15;
        let wh = plot * wv as f64 / max;
        let bh = plot * bv as f64 / max;
        let l = html_escape(label);
        let _ = write!(
            s,
            "<g><title>{l}: {total} · {lower} {wv} · {upper} {bv}</title>\
<rect x=\"{x:.1}\" y=\"{wy:.1}\" width=\"{bw:.1}\" height=\"{wh:.1}\" fill=\"{WHITE}\"/>\
<rect x=\"{x:.1}\" y=\"{by:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{BLACK}\"/></g>",
            total = wv + bv,
            lower = html_escape(names[0]),
            upper = html_escape(names[1]),
            wy = h - bottom - wh,
            by = h - bottom - wh - bh,
            bw = (slot * 0.7).max(1.0),
        );
        if i % (labels.len() / 8).max(1) == 0 {
            let _ = write!(
                s,
                "<text x=\"{cx:.1}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{l}</text>",
                cx = x + slot * 0.35,
                ly = h - 10.0,
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn legend(x: f64, y: f64, names: [&str; 2]) -> String {
    format!(
        "<rect x=\"{x}\" y=\"{ry}\" width=\"11\" height=\"11\" fill=\"{WHITE}\"/>\
<text x=\"{tx}\" y=\"{y}\" font-size=\"12\">{lower}</text>\
<rect x=\"{x2}\" y=\"{ry}\" width=\"11\" height=\"11\" fill=\"{BLACK}\"/>\
<text x=\"{tx2}\" y=\"{y}\" font-size=\"12\">{upper}</text>",
        lower = html_escape(names[0]),
        upper = html_escape(names[1]),
        ry = y - 10.0,
        tx = x + 16.0,
        x2 = x + 170.0,
        tx2 = x + 186.0
    )
}

/// Horizontal bars, one per row (label, licensed, unlicensed), longest first as given; the count is
/// written at the end of each bar and both parts are named on hover, in `l`.
pub fn hbars(l: Lang, title: &str, rows: &[(String, i64, i64)]) -> String {
    let [lower, upper] = uses(l);
    let (w, label_w, row_h, top) = (720.0_f64, 230.0_f64, 24.0_f64, 48.0_f64);
    let h = top + row_h * rows.len().max(1) as f64 + 8.0;
    let max = rows.iter().map(|r| r.1 + r.2).max().unwrap_or(0).max(1) as f64;
    let span = w - label_w - 60.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"{t}\">\
<title>{t}</title><text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"600\">{t}</text>{legend}",
        t = html_escape(title),
        legend = legend(0.0, 36.0, [&lower, &upper])
    );
    if rows.is_empty() {
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{y}\" font-size=\"12\" fill=\"#555\">{none}</text>",
            y = top + 16.0,
            none = html_escape(&l.t("an-chart-no-data"))
        );
    }
    for (i, (label, wv, bv)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let ww = span * *wv as f64 / max;
        let bw = span * *bv as f64 / max;
        // Long labels are cut so they stay left of the bars.
        let shown: String =
            if label.chars().count() > 32 { label.chars().take(31).chain(['…']).collect() } else { label.clone() };
        let _ = write!(
            s,
            "<g><title>{l}: {total} · {lower} {wv} · {upper} {bv}</title>\
<text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"12\" text-anchor=\"end\">{shown}</text>\
<rect x=\"{label_w}\" y=\"{ry:.1}\" width=\"{ww:.1}\" height=\"16\" fill=\"{WHITE}\"/>\
<rect x=\"{bx:.1}\" y=\"{ry:.1}\" width=\"{bw:.1}\" height=\"16\" fill=\"{BLACK}\"/>\
<text x=\"{nx:.1}\" y=\"{ty:.1}\" font-size=\"12\" fill=\"#333\">{total}</text></g>",
            l = html_escape(label),
            lower = html_escape(&lower),
            upper = html_escape(&upper),
            shown = html_escape(&shown),
            total = wv + bv,
            lx = label_w - 6.0,
            ty = y + 13.0,
            ry = y + 1.0,
            bx = label_w + ww,
            nx = label_w + ww + bw + 6.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// One bar split into shares of 100%, with the percentages written on it.
pub fn share_bar(title: &str, parts: &[(&str, i64, &str)]) -> String {
    let (w, h, top) = (720.0_f64, 64.0_f64, 24.0_f64);
    let total: i64 = parts.iter().map(|p| p.1).sum();
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"{t}\">\
<title>{t}</title><text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"600\">{t}</text>",
        t = html_escape(title)
    );
    let mut x = 0.0;
    for (label, n, colour) in parts {
        let part = if total > 0 { *n as f64 / total as f64 } else { 0.0 };
        let pw = w * part;
        let l = html_escape(label);
        let _ = write!(
            s,
            "<g><title>{l}: {n} ({pct:.1}%)</title><rect x=\"{x:.1}\" y=\"{top}\" width=\"{pw:.1}\" height=\"28\" fill=\"{c}\"/>",
            pct = part * 100.0,
            c = html_escape(colour)
        );
        if pw > 120.0 {
            let _ = write!(
                s,
                "<text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"12\" fill=\"#fff\">{l} {pct:.0}% ({n})</text>",
                tx = x + 8.0,
                ty = top + 19.0,
                pct = part * 100.0
            );
        }
        s.push_str("</g>");
        x += pw;
    }
    s.push_str("</svg>");
    s
}

/// The colour of licensed uses, for share bars.
pub const LICENSED: &str = WHITE;
/// The colour of unlicensed uses.
pub const UNLICENSED: &str = BLACK;

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
    fn report_charts_label_axes_at_11px_and_name_values_on_hover() {
        let svg = stacked_bars(Lang::En, "t", &["11-01".into(), "11-02".into()], &[3, 0], &[1, 4]);
        assert_eq!(svg.matches("<g><title>").count(), 2);
        assert!(svg.contains("11-02: 4 · Licensed (white list) 0 · Unlicensed (black list) 4"), "{svg}");
        let zh = stacked_bars(Lang::Zh, "t", &["11-01".into()], &[3], &[1]);
        assert!(zh.contains("11-01: 4 · 已授权（白名单） 3 · 未授权（黑名单） 1"), "{zh}");
        let named = stacked_bars_named("c", &["d".into()], &[1], &[2], ["和解 settled", "立案 <opened>"]);
        assert!(
            named.contains("d: 3 · 和解 settled 1 · 立案 &lt;opened&gt; 2") && !named.contains("licensed"),
            "{named}"
        );
        assert!(!svg.contains("font-size=\"10\""), "axis labels are at least 11 px");
        let bars = hbars(Lang::En, "d", &[("<b>.example".into(), 2, 1)]);
        assert!(bars.contains("&lt;b&gt;.example: 3"), "{bars}");
        let empty = hbars(Lang::En, "e", &[]);
        assert!(
            empty.contains(">No data<") && !empty.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{empty}"
        );
        let share = share_bar("s", &[("white", 1, LICENSED), ("black", 3, UNLICENSED)]);
        assert!(share.contains("black: 3 (75.0%)"), "{share}");
    }

    #[test]
    fn text_is_escaped() {
        assert!(bar_chart("<x>", &[], &[], "").contains("&lt;x&gt;"));
        assert!(badge(Some(3)).contains("已授权 3"));
    }
}
