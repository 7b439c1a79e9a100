//! Line charts drawn on the server as inline SVG: the console's KPI pages need no script, no canvas
//! and nothing from another site (the strict content policy), and a chart prints and reads without
//! JavaScript. A point per day; a day without a figure (no denominator) breaks the line rather than
//! drawing a zero; the target, when there is one, is a dashed line.

use std::fmt::Write;

use crate::recipients::escape;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 150.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

/// One chart: its title, the values of each day (in order), how a value is written, and the target.
pub struct Chart<'a> {
    pub title: &'a str,
    pub days: &'a [String],
    pub values: &'a [Option<f64>],
    pub target: Option<f64>,
    pub format: fn(f64) -> String,
}

impl Chart<'_> {
    /// The chart as an `<svg>` element with a text alternative (its title, last value and target).
    pub fn svg(&self) -> String {
        let known: Vec<f64> = self.values.iter().flatten().copied().chain(self.target).collect();
        let (mut low, mut high) = known.iter().fold((0.0f64, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        if high <= low {
            high = low + 1.0;
        }
        // A little room above the highest value so the line does not run along the frame.
        high += (high - low) * 0.08;
        low = low.min(0.0);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x = |i: usize| {
            if self.values.len() <= 1 {
                LEFT + plot_w / 2.0
            } else {
                LEFT + plot_w * i as f64 / (self.values.len() - 1) as f64
            }
        };
        let y = |v: f64| TOP + plot_h * (1.0 - (v - low) / (high - low));
        let last = self.values.iter().rev().flatten().next().map_or("-".to_owned(), |v| (self.format)(*v));
        let target_text = self.target.map(|t| format!(", target {}", (self.format)(t))).unwrap_or_default();
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}: {}{}\">\
             <rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"#fff\" stroke=\"#ccc\"/>",
            escape(self.title),
            escape(&last),
            escape(&target_text),
        );
        for value in [high, low] {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"end\" fill=\"#555\">{}</text>",
                LEFT - 3.0,
                y(value) + 3.0,
                escape(&(self.format)(value))
            );
        }
        if let (Some(first), Some(final_day)) = (self.days.first(), self.days.last()) {
            let _ = write!(
                svg,
                "<text x=\"{LEFT}\" y=\"{}\" font-size=\"9\" fill=\"#555\">{}</text>\
                 <text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"end\" fill=\"#555\">{}</text>",
                HEIGHT - 6.0,
                escape(first),
                WIDTH - RIGHT,
                HEIGHT - 6.0,
                escape(final_day)
            );
        }
        if let Some(target) = self.target {
            let _ = write!(
                svg,
                "<line class=\"target\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>",
                WIDTH - RIGHT,
                y(target),
                y(target)
            );
        }
        // One polyline per run of known days; a lone day is a dot.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let flush = |run: &mut Vec<(f64, f64)>, svg: &mut String| {
            match run.len() {
                0 => {}
                1 => {
                    let _ = write!(
                        svg,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#0b5fff\"/>",
                        run[0].0, run[0].1
                    );
                }
                _ => {
                    let points: Vec<String> = run.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
                    let _ = write!(
                        svg,
                        "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"#0b5fff\" stroke-width=\"2\"/>",
                        points.join(" ")
                    );
                }
            }
            run.clear();
        };
        for (i, value) in self.values.iter().enumerate() {
            match value {
                Some(v) => run.push((x(i), y(*v))),
                None => flush(&mut run, &mut svg),
            }
        }
        flush(&mut run, &mut svg);
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(v: f64) -> String {
        format!("{:.0} %", v * 100.0)
    }

    #[test]
    fn a_gap_breaks_the_line_and_the_target_is_drawn() {
        let days: Vec<String> = (1..=5).map(|d| format!("2026-12-0{d}")).collect();
        let values = [Some(0.5), Some(0.9), None, Some(0.7), Some(0.8)];
        let chart = Chart { title: "Pickup rate", days: &days, values: &values, target: Some(0.85), format: pct };
        let svg = chart.svg();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"target\"").count(), 1);
        assert!(svg.contains("aria-label=\"Pickup rate: 80 %, target 85 %\""), "{svg}");
        assert!(svg.contains(">2026-12-01<") && svg.contains(">2026-12-05<"));
        // The highest value (0.9) is drawn below the top of the frame, the target at its height.
        let target_y: f64 = svg.split("y1=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(target_y > TOP && target_y < HEIGHT - BOTTOM, "{target_y}");
    }

    #[test]
    fn nothing_known_is_an_empty_frame_not_a_zero_line() {
        let days = vec!["2026-12-01".to_owned()];
        let chart = Chart { title: "NPS", days: &days, values: &[None], target: None, format: |v| format!("{v:.0}") };
        let svg = chart.svg();
        assert!(!svg.contains("<polyline") && !svg.contains("<circle"), "{svg}");
        assert!(svg.contains("aria-label=\"NPS: -\""));
    }
}
