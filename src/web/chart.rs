//! Small server-side SVG charts (no JavaScript): bars of a rate or a count per
//! label ([`bar_chart`]), and bars of several series side by side, each in its
//! own colour, with a legend and whole-number axes ([`grouped_chart`]).

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
    let two_lines = labels_on_two_lines(bars.iter().map(|b| b.label.as_str()), slot);
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
            s.push_str(&axis_label(
                &b.label,
                x + bw / 2.0,
                h - bottom + 14.0,
                two_lines,
            ));
        }
    }
    s.push_str("</svg>");
    s
}

/// Whether a chart's labels go on two lines: when any of them is wider than
/// its `slot` (about 5.6 units a character at font size 10, and a gap).
fn labels_on_two_lines<'a>(labels: impl IntoIterator<Item = &'a str>, slot: f64) -> bool {
    labels
        .into_iter()
        .any(|t| 5.6 * t.chars().count() as f64 > slot - 8.0)
}

/// A label under a bar or group, centred on `cx`: on one line, or (`two_lines`,
/// the same for every label of a chart) broken at its last space ("märts" over
/// "2026"), so that neighbouring labels never run into each other.
fn axis_label(label: &str, cx: f64, y: f64, two_lines: bool) -> String {
    match label.rsplit_once(' ') {
        Some((a, b)) if two_lines => format!(
            "<text x=\"{cx:.1}\" y=\"{y:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\"><tspan x=\"{cx:.1}\">{}</tspan><tspan x=\"{cx:.1}\" dy=\"11\">{}</tspan></text>",
            esc(a),
            esc(b)
        ),
        _ => format!(
            "<text x=\"{cx:.1}\" y=\"{y:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
            esc(label)
        ),
    }
}

/// One series of a [`grouped_chart`]: its name (the legend) and one value per label.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<i64>,
}

/// The series' colours, in order: distinguishable for the common colour-vision
/// deficiencies (Okabe–Ito) and ≥ 3:1 against white.
pub const PALETTE: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56506b",
];

/// The axis of counts up to `max`: (top, step) with a whole-number step and
/// four steps to the top (an empty chart still has 0..4).
pub fn int_axis(max: i64) -> (i64, i64) {
    let step = ((max.max(1) + 3) / 4).max(1);
    (step * 4, step)
}

/// Counts per label in several series, bars side by side, with a legend; the
/// axis has whole numbers only. `labels` are shown under the groups.
pub fn grouped_chart(title: &str, labels: &[String], series: &[Series]) -> String {
    let w = 640.0_f64;
    let h = 260.0_f64;
    let (left, right, top, bottom) = (44.0, 8.0, 44.0, 40.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (axis_top, step) = int_axis(max);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    // the legend, across the top
    let mut lx = left;
    for (i, se) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        s.push_str(&format!(
            "<g class=\"legend\"><rect x=\"{lx:.1}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{c}\"/><text x=\"{tx:.1}\" y=\"18\" font-size=\"12\" fill=\"#1d2a33\">{n}</text></g>",
            tx = lx + 16.0,
            n = esc(&se.name)
        ));
        lx += 16.0 + 7.5 * se.name.chars().count() as f64 + 18.0;
    }
    for i in 0..=4_i64 {
        let v = step * i;
        let y = top + plot_h - plot_h * (v as f64) / (axis_top as f64);
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\" stroke=\"#ddd\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">{v}</text>",
            x2 = w - right,
            tx = left - 4.0,
            ty = y + 3.0
        ));
    }
    let n = labels.len().max(1) as f64;
    let slot = plot_w / n;
    let k = series.len().max(1) as f64;
    let bw = ((slot * 0.8) / k).max(1.0);
    let two_lines = labels_on_two_lines(labels.iter().map(String::as_str), slot);
    for (g, label) in labels.iter().enumerate() {
        let x0 = left + slot * g as f64 + (slot - bw * k) / 2.0;
        for (i, se) in series.iter().enumerate() {
            let v = se.values.get(g).copied().unwrap_or(0).clamp(0, axis_top);
            let bh = plot_h * v as f64 / axis_top as f64;
            let x = x0 + bw * i as f64;
            let y = top + plot_h - bh;
            s.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{c}\"><title>{lab}: {n} {v}</title></rect>",
                c = PALETTE[i % PALETTE.len()],
                lab = esc(label),
                n = esc(&se.name),
            ));
        }
        if labels.len() <= 24 {
            s.push_str(&axis_label(
                label,
                left + slot * g as f64 + slot / 2.0,
                h - bottom + 14.0,
                two_lines,
            ));
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    /// Regression: twelve month labels ("märts 2026") ran into each other
    /// under a 640-unit chart; a label wider than its slot takes two lines.
    #[test]
    fn month_labels_wider_than_their_slot_take_two_lines() {
        let labels: Vec<String> = (1..=12)
            .map(|m| super::super::i18n::Lang::Et.month_label(&format!("2026-{m:02}")))
            .collect();
        let svg = super::grouped_chart(
            "t",
            &labels,
            &[super::Series {
                name: "a".into(),
                values: vec![1; 12],
            }],
        );
        assert!(svg.contains(">märts</tspan><tspan"), "{svg}");
        assert!(!svg.contains(">märts 2026<"), "{svg}");
        // every label of the chart alike, the short ones too
        assert!(svg.contains(">mai</tspan><tspan"), "{svg}");
        // three labels fit on one line
        let svg = super::grouped_chart(
            "t",
            &labels[..3],
            &[super::Series {
                name: "a".into(),
                values: vec![1; 3],
            }],
        );
        assert!(svg.contains(">märts 2026</text>"), "{svg}");
    }

    use super::*;

    #[test]
    fn grouped_chart_has_a_legend_colours_and_whole_number_axis() {
        let labels = vec!["jaan 2026".to_string(), "veebr 2026".to_string()];
        let series = vec![
            Series {
                name: "õigeaegselt".into(),
                values: vec![1, 3],
            },
            Series {
                name: "hilinenult".into(),
                values: vec![2, 0],
            },
        ];
        let svg = grouped_chart("Vastused", &labels, &series);
        assert_eq!(svg.matches("class=\"legend\"").count(), 2);
        assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]));
        assert_eq!(svg.matches("<rect").count(), 2 + 4, "2 legend keys, 4 bars");
        assert!(svg.contains(">veebr 2026<"));
        // axis labels: whole numbers only
        let re = regex::Regex::new(r##"text-anchor="end" fill="#555">([^<]+)<"##).unwrap();
        let ticks: Vec<String> = re.captures_iter(&svg).map(|c| c[1].to_string()).collect();
        assert_eq!(ticks, vec!["0", "1", "2", "3", "4"]);
    }

    #[test]
    fn int_axis_steps_are_whole_numbers() {
        assert_eq!(int_axis(0), (4, 1));
        assert_eq!(int_axis(3), (4, 1));
        assert_eq!(int_axis(5), (8, 2));
        assert_eq!(int_axis(57), (60, 15));
    }

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
