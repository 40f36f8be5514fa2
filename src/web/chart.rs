//! Small server-side SVG charts (no JavaScript): bars of a rate or a count per label.

/// One bar: its label (e.g. "2026-03"), the value, and a caption shown on hover.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub caption: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart as an inline `<svg>`. `max` fixes the scale (1.0 for rates); None
/// scales to the largest value. `percent` labels the axis in per cent.
pub fn bar_chart(title: &str, bars: &[Bar], max: Option<f64>, percent: bool) -> String {
    let w = 640.0_f64;
    let h = 240.0_f64;
    let (left, right, top, bottom) = (44.0, 8.0, 24.0, 40.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = max
        .unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(f64::MIN_POSITIVE);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = top + plot_h - plot_h * f64::from(i) / 4.0;
        let label = if percent {
            format!("{:.0}%", v * 100.0)
        } else if max >= 10.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        };
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\" stroke=\"#ddd\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">{label}</text>",
            x2 = w - right,
            tx = left - 4.0,
            ty = y + 3.0
        ));
    }
    if bars.is_empty() {
        s.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" fill=\"#555\">–</text>",
            x = w / 2.0,
            y = h / 2.0
        ));
    }
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let bw = (slot * 0.7).max(1.0);
    for (i, b) in bars.iter().enumerate() {
        let v = b.value.clamp(0.0, max);
        let bh = plot_h * v / max;
        let x = left + slot * i as f64 + (slot - bw) / 2.0;
        let y = top + plot_h - bh;
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"#2a6f97\"><title>{}</title></rect>",
            esc(&b.caption)
        ));
        if bars.len() <= 24 {
            s.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
                esc(&b.label),
                cx = x + bw / 2.0,
                ly = h - bottom + 14.0
            ));
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_max_and_escape() {
        let bars = vec![
            Bar {
                label: "2026-01".into(),
                value: 0.5,
                caption: "50% <on time>".into(),
            },
            Bar {
                label: "2026-02".into(),
                value: 1.0,
                caption: "100%".into(),
            },
        ];
        let svg = bar_chart("Õigeaegsus & kvaliteet", &bars, Some(1.0), true);
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("&lt;on time&gt;"));
        assert!(svg.contains("Õigeaegsus &amp; kvaliteet"));
        assert!(
            svg.contains("height=\"176.0\""),
            "full bar is the plot height: {svg}"
        );
        assert!(svg.contains("height=\"88.0\""));
        assert!(svg.contains("100%"));
        let empty = bar_chart("x", &[], None, false);
        assert_eq!(empty.matches("<rect").count(), 0);
    }
}
