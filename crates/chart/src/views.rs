//! The views that show one number per series rather than a line over time: bar, pie
//! and single value. Each shows the series' latest datapoint in the range; with
//! `setPeriodToTimeRange` the caller is expected to have aggregated the whole range into
//! that datapoint.

use crate::SeriesData;
use crate::canvas::{AXIS, Canvas, GRID, MUTED, Rgb, TEXT, fit_text, text_px};
use crate::render::{
    PAD, Rect, axis_labels, draw_axis, latest_in_range, legend, no_data, px, y_of,
};
use crate::scale::{format_value, value_axis};
use crate::widget::{Axis, Widget};

/// One vertical bar per series, from zero to its latest value, labelled with the value.
pub fn bar(
    cv: &mut Canvas,
    area: Rect,
    widget: &Widget,
    range: (i64, i64),
    series: &[SeriesData],
    colors: &[Rgb],
) {
    let items: Vec<(String, Rgb)> = series
        .iter()
        .zip(colors)
        .map(|(s, c)| (s.label.clone(), *c))
        .collect();
    let area = legend(cv, area, &items, widget.legend());
    let values: Vec<Option<f64>> = series.iter().map(|s| latest_in_range(s, range)).collect();
    let present = values.iter().flatten().copied();
    let extent = present.fold(None, |acc: Option<(f64, f64)>, v| match acc {
        None => Some((v.min(0.0), v.max(0.0))),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    });
    if extent.is_none() {
        no_data(cv, area);
        return;
    }
    let plot_top = area.y + 8;
    let plot_bottom = area.bottom() - 10;
    let target = ((plot_bottom - plot_top) / 45).max(2) as usize;
    let opts = widget.y_axis(Axis::Left);
    let al = axis_labels(
        value_axis(extent, opts.min, opts.max, target),
        opts.label.as_deref(),
    );
    let plot = Rect {
        x: area.x + al.width + PAD,
        y: plot_top,
        w: area.w - al.width - 2 * PAD,
        h: plot_bottom - plot_top,
    };
    if plot.w < 8 || plot.h < 8 {
        return;
    }
    for v in &al.axis.ticks {
        cv.hline(plot.x, plot.right() - 1, px(y_of(plot, &al.axis, *v)), GRID);
    }
    let zero = px(y_of(plot, &al.axis, 0.0).clamp(plot.y as f64, (plot.bottom() - 1) as f64));
    let n = values.len().max(1) as i64;
    let slot = plot.w / n;
    let bar_w = (slot * 3 / 5).clamp(1, 80);
    cv.set_clip(plot.x, plot.y - 12, plot.w, plot.h + 12);
    for (i, (v, color)) in values.iter().zip(colors).enumerate() {
        let Some(v) = v else { continue };
        let x = plot.x + i as i64 * slot + (slot - bar_w) / 2;
        let y = px(y_of(plot, &al.axis, *v).clamp(plot.y as f64 - 1.0, plot.bottom() as f64));
        cv.fill_rect(x, y.min(zero), bar_w, (y - zero).abs().max(1), *color);
        let text = format_value(*v, al.axis.step / 10.0);
        let w = text_px(&text, 1, false);
        if w <= slot {
            let ty = if *v >= 0.0 {
                y.min(zero) - 11
            } else {
                y.max(zero) + 3
            };
            cv.text(
                x + (bar_w - w) / 2,
                ty.max(plot.y - 11),
                &text,
                TEXT,
                1,
                false,
            );
        }
    }
    cv.reset_clip();
    cv.hline(plot.x, plot.right() - 1, zero, AXIS);
    draw_axis(cv, plot, area, &al, Axis::Left, opts.label.as_deref());
}

/// A pie of the positive latest values, slices clockwise from twelve o'clock, with each
/// share written into the legend.
pub fn pie(
    cv: &mut Canvas,
    area: Rect,
    widget: &Widget,
    range: (i64, i64),
    series: &[SeriesData],
    colors: &[Rgb],
) {
    let values: Vec<f64> = series
        .iter()
        .map(|s| {
            latest_in_range(s, range)
                .filter(|v| *v > 0.0)
                .unwrap_or(0.0)
        })
        .collect();
    let total: f64 = values.iter().map(|v| v / values.len().max(1) as f64).sum();
    let items: Vec<(String, Rgb)> = series
        .iter()
        .zip(colors)
        .zip(&values)
        .map(|((s, c), v)| {
            let share = if total > 0.0 {
                v / values.len() as f64 / total * 100.0
            } else {
                0.0
            };
            (format!("{} ({share:.1}%)", s.label), *c)
        })
        .collect();
    let area = legend(cv, area, &items, widget.legend());
    if !(total > 0.0 && total.is_finite()) {
        no_data(cv, area);
        return;
    }
    let r = ((area.w.min(area.h) - 2 * PAD) / 2).max(0);
    let (cx, cy) = (area.x + area.w / 2, area.y + area.h / 2);
    // Cumulative fractions at which each slice ends.
    let mut ends = Vec::with_capacity(values.len());
    let mut acc = 0.0;
    for v in &values {
        acc += v / values.len() as f64 / total;
        ends.push(acc);
    }
    let r2 = (r * r) as f64;
    for y in (cy - r)..=(cy + r) {
        for x in (cx - r)..=(cx + r) {
            let (dx, dy) = ((x - cx) as f64, (y - cy) as f64);
            if dx * dx + dy * dy > r2 {
                continue;
            }
            let angle = dx.atan2(-dy).rem_euclid(std::f64::consts::TAU) / std::f64::consts::TAU;
            let slice = ends
                .iter()
                .position(|e| angle < *e)
                .unwrap_or(values.len().saturating_sub(1));
            if let Some(c) = colors.get(slice) {
                cv.put(x, y, *c);
            }
        }
    }
}

/// The latest value of each series in large digits, in a grid of cells with the label
/// above each number.
pub fn single_value(
    cv: &mut Canvas,
    area: Rect,
    range: (i64, i64),
    series: &[SeriesData],
    colors: &[Rgb],
) {
    let values: Vec<Option<f64>> = series.iter().map(|s| latest_in_range(s, range)).collect();
    if values.iter().all(Option::is_none) {
        no_data(cv, area);
        return;
    }
    let n = values.len() as i64;
    let cols = n.min((area.w / 150).max(1));
    let rows = (n + cols - 1) / cols;
    let cell_w = (area.w - PAD) / cols;
    let cell_h = (area.h - PAD) / rows.max(1);
    for (i, ((s, v), color)) in series.iter().zip(&values).zip(colors).enumerate() {
        let (col, row) = (i as i64 % cols, i as i64 / cols);
        let (x, y) = (area.x + PAD + col * cell_w, area.y + 4 + row * cell_h);
        cv.fill_rect(x, y, 8, 8, *color);
        cv.text(x + 12, y, &fit_text(&s.label, cell_w - 20), MUTED, 1, false);
        let text = match v {
            Some(v) => {
                let magnitude = v.abs();
                let step = if magnitude >= 1000.0 || magnitude == 0.0 {
                    magnitude / 100.0
                } else {
                    0.01
                };
                format_value(*v, step)
            }
            None => "-".to_owned(),
        };
        let fit_w = (cell_w - 12) / text_px(&text, 1, true).max(1);
        let fit_h = (cell_h - 20) / 10;
        let scale = fit_w.min(fit_h).clamp(1, 5);
        cv.text(x, y + 14, &text, TEXT, scale, true);
    }
}
