//! Lays out and draws a widget: title, legend, and (here) the time-series view with its
//! axes, grid, lines, stacked areas and annotations. The other views are in `views`.

use std::collections::BTreeMap;

use crate::canvas::{AXIS, Canvas, GRID, MUTED, Rgb, TEXT, fit_text, parse_color, text_px};
use crate::font::LINE_HEIGHT;
use crate::scale::{ValueAxis, format_value, time_ticks, value_axis};
use crate::widget::{Axis, HorizontalFill, LegendPosition, VerticalFill, View, Widget};
use crate::{PALETTE, SeriesData, views};

/// Outer margin, in pixels.
pub const PAD: i64 = 8;

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Rect {
    pub fn right(&self) -> i64 {
        self.x + self.w
    }
    pub fn bottom(&self) -> i64 {
        self.y + self.h
    }
}

/// A float pixel position as an integer, limited far enough outside any image that
/// arithmetic on it cannot overflow (a cast alone saturates at `i64::MIN`/`MAX`).
pub fn px(v: f64) -> i64 {
    v.round().clamp(-1e9, 1e9) as i64
}

/// The colour of palette slot `i`.
pub fn palette(i: usize) -> Rgb {
    parse_color(PALETTE[i % PALETTE.len()]).unwrap_or(TEXT)
}

/// Draws the whole widget.
pub fn draw(widget: &Widget, range: (i64, i64), series: &[SeriesData]) -> Canvas {
    let mut cv = Canvas::new(widget.width() as usize, widget.height() as usize);
    let colors: Vec<Rgb> = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.color
                .as_deref()
                .and_then(parse_color)
                .unwrap_or_else(|| palette(i))
        })
        .collect();
    let mut area = Rect {
        x: 0,
        y: 0,
        w: cv.width(),
        h: cv.height(),
    };
    if let Some(title) = widget.title().filter(|t| !t.trim().is_empty()) {
        let text = fit_text(title, (area.w - 2 * PAD) * 6 / 7);
        cv.text(PAD, 7, &text, TEXT, 1, true);
        area.y += 22;
        area.h -= 22;
    }
    match widget.view() {
        View::TimeSeries => time_series(&mut cv, area, widget, range, series, &colors),
        View::Bar => views::bar(&mut cv, area, widget, range, series, &colors),
        View::Pie => views::pie(&mut cv, area, widget, range, series, &colors),
        View::SingleValue => views::single_value(&mut cv, area, range, series, &colors),
    }
    cv
}

/// The datapoints of a series that can be drawn, sorted by time.
pub fn finite_points(s: &SeriesData) -> Vec<(i64, f64)> {
    let mut pts: Vec<(i64, f64)> = s
        .timestamps
        .iter()
        .zip(&s.values)
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| (*t, *v))
        .collect();
    pts.sort_by_key(|p| p.0);
    pts
}

/// The latest finite value within the range, which single-value, bar and pie views show.
pub fn latest_in_range(s: &SeriesData, range: (i64, i64)) -> Option<f64> {
    finite_points(s)
        .into_iter()
        .filter(|(t, _)| *t >= range.0 && *t <= range.1)
        .map(|p| p.1)
        .next_back()
}

/// Draws the legend inside `area` and returns what is left for the graph.
pub fn legend(
    cv: &mut Canvas,
    area: Rect,
    items: &[(String, Rgb)],
    position: LegendPosition,
) -> Rect {
    if items.is_empty() || position == LegendPosition::Hidden || area.w < 40 || area.h < 40 {
        return area;
    }
    const SWATCH: i64 = 8;
    let row_h = LINE_HEIGHT as i64 + 3;
    if position == LegendPosition::Right {
        let widest = items
            .iter()
            .map(|(l, _)| text_px(l, 1, false))
            .max()
            .unwrap_or(0);
        let w = (widest + SWATCH + 6 + PAD).min(area.w / 3);
        let x = area.right() - w;
        for (i, (label, color)) in items.iter().enumerate() {
            let y = area.y + 6 + i as i64 * row_h;
            if y + row_h > area.bottom() {
                break;
            }
            cv.fill_rect(x, y, SWATCH, SWATCH, *color);
            cv.text(
                x + SWATCH + 4,
                y,
                &fit_text(label, w - SWATCH - 4 - PAD),
                TEXT,
                1,
                false,
            );
        }
        return Rect {
            w: area.w - w - 4,
            ..area
        };
    }
    // Bottom: flow items into rows, at most a third of the height.
    let max_rows = ((area.h / 3) / row_h).max(1);
    let usable = area.w - 2 * PAD;
    let mut rows: Vec<Vec<(String, Rgb, i64)>> = vec![Vec::new()];
    let mut x = 0;
    for (label, color) in items {
        let text = fit_text(label, usable - SWATCH - 4);
        let w = SWATCH + 4 + text_px(&text, 1, false);
        if x > 0 && x + w > usable {
            if rows.len() as i64 >= max_rows {
                break;
            }
            rows.push(Vec::new());
            x = 0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((text, *color, x));
        }
        x += w + 14;
    }
    let height = rows.len() as i64 * row_h + 6;
    let top = area.bottom() - height + 2;
    for (r, row) in rows.iter().enumerate() {
        let y = top + r as i64 * row_h;
        for (text, color, dx) in row {
            let x = area.x + PAD + dx;
            cv.fill_rect(x, y, SWATCH, SWATCH, *color);
            cv.text(x + SWATCH + 4, y, text, TEXT, 1, false);
        }
    }
    Rect {
        h: area.h - height,
        ..area
    }
}

/// The message CloudWatch shows when a graph has nothing to plot.
pub fn no_data(cv: &mut Canvas, area: Rect) {
    let msg = "No data available.";
    let x = area.x + (area.w - text_px(msg, 1, false)) / 2;
    let y = area.y + (area.h - 9) / 2;
    cv.text(x, y, msg, MUTED, 1, false);
}

/// Y-axis tick labels and the width they need.
pub struct AxisLabels {
    pub axis: ValueAxis,
    pub labels: Vec<String>,
    pub width: i64,
}

pub fn axis_labels(axis: ValueAxis, title: Option<&str>) -> AxisLabels {
    let labels: Vec<String> = axis
        .ticks
        .iter()
        .map(|v| format_value(*v, axis.step))
        .collect();
    let widest = labels
        .iter()
        .map(|l| text_px(l, 1, false))
        .max()
        .unwrap_or(0);
    let width = widest
        + 8
        + if title.is_some_and(|t| !t.is_empty()) {
            14
        } else {
            0
        };
    AxisLabels {
        axis,
        labels,
        width,
    }
}

/// Vertical pixel of value `v` on `axis` within `plot`.
pub fn y_of(plot: Rect, axis: &ValueAxis, v: f64) -> f64 {
    let bottom = (plot.bottom() - 1) as f64;
    bottom - axis.fraction(v) * (plot.h - 1) as f64
}

/// Draws tick labels (and the axis title) beside `plot` on the given side.
pub fn draw_axis(
    cv: &mut Canvas,
    plot: Rect,
    area: Rect,
    al: &AxisLabels,
    side: Axis,
    title: Option<&str>,
) {
    for (v, label) in al.axis.ticks.iter().zip(&al.labels) {
        let y = px(y_of(plot, &al.axis, *v)) - 4;
        let x = match side {
            Axis::Left => plot.x - 6 - text_px(label, 1, false),
            Axis::Right => plot.right() + 6,
        };
        cv.text(x, y, label, MUTED, 1, false);
    }
    if let Some(title) = title.filter(|t| !t.is_empty()) {
        let text = fit_text(title, plot.h);
        let mid = plot.y + (plot.h + text_px(&text, 1, false)) / 2;
        let x = match side {
            Axis::Left => area.x + 2,
            Axis::Right => area.right() - 11,
        };
        cv.text_vertical(x, mid, &text, MUTED);
    }
}

/// A series ready to draw: its points (with the stack base when stacked) and how far
/// apart two points may be and still be joined.
struct Prepared {
    points: Vec<(i64, f64, f64)>,
    color: Rgb,
    axis: Axis,
    max_gap: i64,
}

fn time_series(
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
    let mut prepared: Vec<Prepared> = series
        .iter()
        .zip(colors)
        .map(|(s, c)| {
            let pts = finite_points(s);
            // A metric may use a coarser period than the widget; never join across more
            // than one missing period of whichever is larger.
            let smallest = pts
                .windows(2)
                .map(|w| w[1].0.saturating_sub(w[0].0))
                .filter(|d| *d > 0)
                .min();
            let period = widget.period().max(smallest.unwrap_or(0)).max(1);
            Prepared {
                points: pts.into_iter().map(|(t, v)| (t, 0.0, v)).collect(),
                color: *c,
                axis: if s.right_axis {
                    Axis::Right
                } else {
                    Axis::Left
                },
                max_gap: period.saturating_mul(2),
            }
        })
        .collect();
    let in_range = |t: i64| t >= range.0 && t <= range.1;
    if !prepared
        .iter()
        .any(|p| p.points.iter().any(|q| in_range(q.0)))
    {
        no_data(cv, area);
        return;
    }
    if widget.stacked() {
        for axis in [Axis::Left, Axis::Right] {
            let mut sums: BTreeMap<i64, f64> = BTreeMap::new();
            for p in prepared.iter_mut().filter(|p| p.axis == axis) {
                for (t, base, top) in p.points.iter_mut() {
                    let acc = sums.entry(*t).or_insert(0.0);
                    *base = *acc;
                    *top += *acc;
                    *acc = *top;
                }
            }
        }
    }
    let annotations = widget.annotations();
    let right_used = prepared.iter().any(|p| p.axis == Axis::Right)
        || annotations
            .horizontal
            .iter()
            .any(|a| a.visible && a.y_axis == Axis::Right);
    let left_used = prepared.iter().any(|p| p.axis == Axis::Left) || !right_used;
    let extent = |axis: Axis| -> Option<(f64, f64)> {
        let mut values: Vec<f64> = Vec::new();
        for p in prepared.iter().filter(|p| p.axis == axis) {
            for (t, base, top) in &p.points {
                if in_range(*t) {
                    values.push(*top);
                    if widget.stacked() {
                        values.push(*base);
                    }
                }
            }
        }
        for a in annotations
            .horizontal
            .iter()
            .filter(|a| a.visible && a.y_axis == axis)
        {
            values.push(a.value);
            values.extend(a.band_value);
        }
        let finite = values.into_iter().filter(|v| v.is_finite());
        finite.fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        })
    };

    let plot_top = area.y + 8;
    let plot_bottom = area.bottom() - 18;
    let target = ((plot_bottom - plot_top) / 45).max(2) as usize;
    let make = |axis: Axis| {
        let opts = widget.y_axis(axis);
        axis_labels(
            value_axis(extent(axis), opts.min, opts.max, target),
            opts.label.as_deref(),
        )
    };
    let left = left_used.then(|| make(Axis::Left));
    let right = right_used.then(|| make(Axis::Right));
    let left_w = left.as_ref().map_or(PAD, |a| a.width + PAD);
    let right_w = right.as_ref().map_or(PAD + 10, |a| a.width + PAD);
    let plot = Rect {
        x: area.x + left_w,
        y: plot_top,
        w: area.w - left_w - right_w,
        h: plot_bottom - plot_top,
    };
    if plot.w < 8 || plot.h < 8 {
        return;
    }
    let span = (i128::from(range.1) - i128::from(range.0)) as f64;
    let x_of = |t: i64| {
        plot.x as f64 + (i128::from(t) - i128::from(range.0)) as f64 / span * (plot.w - 1) as f64
    };
    let axis_of = |axis: Axis| match axis {
        Axis::Right => right.as_ref().or(left.as_ref()),
        Axis::Left => left.as_ref().or(right.as_ref()),
    };

    // Grid, from the primary axis and the time ticks.
    if let Some(primary) = left.as_ref().or(right.as_ref()) {
        for v in &primary.axis.ticks {
            cv.hline(
                plot.x,
                plot.right() - 1,
                px(y_of(plot, &primary.axis, *v)),
                GRID,
            );
        }
    }
    let ticks = time_ticks(
        range.0,
        range.1,
        widget.timezone_offset_s(),
        (plot.w / 70).max(1) as usize,
    );
    let mut last_right = i64::MIN;
    for tick in &ticks {
        let x = px(x_of(tick.at));
        cv.vline(x, plot.y, plot.bottom() - 1, GRID);
        cv.vline(x, plot.bottom(), plot.bottom() + 3, AXIS);
        let w = text_px(&tick.label, 1, false);
        let lx = x - w / 2;
        if lx > last_right + 6 && lx >= 0 && lx + w <= cv.width() {
            cv.text(lx, plot.bottom() + 6, &tick.label, MUTED, 1, false);
            last_right = lx + w;
        }
    }
    cv.hline(plot.x, plot.right() - 1, plot.bottom(), AXIS);

    let n = series.len();
    cv.set_clip(plot.x, plot.y, plot.w, plot.h);
    annotation_fills(cv, plot, widget, n, &axis_of, &x_of);
    for p in &prepared {
        let Some(al) = axis_of(p.axis) else { continue };
        draw_series(cv, plot, &al.axis, p, widget.stacked(), &x_of);
    }
    annotation_lines(cv, plot, widget, n, &axis_of, &x_of, range);
    cv.reset_clip();

    if let Some(al) = &left {
        draw_axis(
            cv,
            plot,
            area,
            al,
            Axis::Left,
            widget.y_axis(Axis::Left).label.as_deref(),
        );
    }
    if let Some(al) = &right {
        draw_axis(
            cv,
            plot,
            area,
            al,
            Axis::Right,
            widget.y_axis(Axis::Right).label.as_deref(),
        );
    }
}

/// One series: joined segments, a dot for a datapoint with no joined neighbour, and for
/// stacked graphs a translucent band down to the series below.
fn draw_series(
    cv: &mut Canvas,
    plot: Rect,
    axis: &ValueAxis,
    p: &Prepared,
    stacked: bool,
    x_of: &dyn Fn(i64) -> f64,
) {
    let joined = |a: &(i64, f64, f64), b: &(i64, f64, f64)| b.0.saturating_sub(a.0) <= p.max_gap;
    let pt = |q: &(i64, f64, f64)| (x_of(q.0), y_of(plot, axis, q.2));
    if stacked {
        // Each pixel column is shaded once, or shared columns would show as stripes.
        let mut done = i64::MIN;
        for w in p.points.windows(2).filter(|w| joined(&w[0], &w[1])) {
            let (x0, x1) = (x_of(w[0].0), x_of(w[1].0));
            let from = (x0.round().max(plot.x as f64) as i64).max(done.saturating_add(1));
            let to = x1.round().min(plot.right() as f64) as i64;
            for x in from..=to {
                let f = if x1 > x0 {
                    ((x as f64 - x0) / (x1 - x0)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let top = y_of(plot, axis, w[0].2 + (w[1].2 - w[0].2) * f);
                let base = y_of(plot, axis, w[0].1 + (w[1].1 - w[0].1) * f);
                let clamp = |y: f64| y.clamp(plot.y as f64 - 1.0, plot.bottom() as f64) as i64;
                cv.tint_span(x, clamp(top), clamp(base), p.color, 80);
                done = x;
            }
        }
    }
    for w in p.points.windows(2).filter(|w| joined(&w[0], &w[1])) {
        cv.line(pt(&w[0]), pt(&w[1]), p.color, true);
    }
    for (i, q) in p.points.iter().enumerate() {
        let before = i > 0 && joined(&p.points[i - 1], q);
        let after = p.points.get(i + 1).is_some_and(|r| joined(q, r));
        if !before && !after {
            let (x, y) = pt(q);
            cv.fill_rect(px(x) - 1, px(y) - 1, 3, 3, p.color);
        }
    }
}

type AxisOf<'a> = dyn Fn(Axis) -> Option<&'a AxisLabels> + 'a;

fn annotation_color(color: Option<&str>, slot: usize) -> Rgb {
    color.and_then(parse_color).unwrap_or_else(|| palette(slot))
}

/// Shading for `fill` and bands, drawn under the series.
fn annotation_fills(
    cv: &mut Canvas,
    plot: Rect,
    widget: &Widget,
    n: usize,
    axis_of: &AxisOf,
    x_of: &dyn Fn(i64) -> f64,
) {
    let clamp_y = |y: f64| y.clamp(plot.y as f64 - 1.0, plot.bottom() as f64) as i64;
    let clamp_x = |x: f64| x.clamp(plot.x as f64 - 1.0, plot.right() as f64) as i64;
    let anns = widget.annotations();
    for (i, a) in anns
        .horizontal
        .iter()
        .enumerate()
        .filter(|(_, a)| a.visible)
    {
        let Some(al) = axis_of(a.y_axis) else {
            continue;
        };
        let color = annotation_color(a.color.as_deref(), n + i);
        let y = clamp_y(y_of(plot, &al.axis, a.value));
        let (y0, y1) = match (a.band_value, a.fill) {
            (Some(b), _) => (y, clamp_y(y_of(plot, &al.axis, b))),
            (None, Some(HorizontalFill::Above)) => (plot.y, y),
            (None, Some(HorizontalFill::Below)) => (y, plot.bottom()),
            (None, None) => continue,
        };
        cv.tint_rect(plot.x, y0.min(y1), plot.w, (y1 - y0).abs(), color, 40);
    }
    let m = n + anns.horizontal.len();
    for (i, a) in anns.vertical.iter().enumerate().filter(|(_, a)| a.visible) {
        let color = annotation_color(a.color.as_deref(), m + i);
        let x = clamp_x(x_of(a.value));
        let (x0, x1) = match (a.band_value, a.fill) {
            (Some(b), _) => (x, clamp_x(x_of(b))),
            (None, Some(VerticalFill::Before)) => (plot.x, x),
            (None, Some(VerticalFill::After)) => (x, plot.right()),
            (None, None) => continue,
        };
        cv.tint_rect(x0.min(x1), plot.y, (x1 - x0).abs(), plot.h, color, 40);
    }
}

/// Annotation lines and labels, drawn over the series.
fn annotation_lines(
    cv: &mut Canvas,
    plot: Rect,
    widget: &Widget,
    n: usize,
    axis_of: &AxisOf,
    x_of: &dyn Fn(i64) -> f64,
    range: (i64, i64),
) {
    let anns = widget.annotations();
    for (i, a) in anns
        .horizontal
        .iter()
        .enumerate()
        .filter(|(_, a)| a.visible)
    {
        let Some(al) = axis_of(a.y_axis) else {
            continue;
        };
        let color = annotation_color(a.color.as_deref(), n + i);
        for v in std::iter::once(a.value).chain(a.band_value) {
            let y = px(y_of(plot, &al.axis, v));
            if y < plot.y || y >= plot.bottom() {
                continue;
            }
            cv.hline(plot.x, plot.right() - 1, y, color);
        }
        if let Some(label) = a.label.as_deref().filter(|l| !l.is_empty()) {
            let y = px(y_of(plot, &al.axis, a.value));
            if y < plot.y || y >= plot.bottom() {
                continue;
            }
            let text = fit_text(label, plot.w - 8);
            let x = plot.right() - 4 - text_px(&text, 1, false);
            let ty = if y - 11 >= plot.y { y - 11 } else { y + 3 };
            cv.text(x, ty, &text, color, 1, false);
        }
    }
    let m = n + anns.horizontal.len();
    for (i, a) in anns.vertical.iter().enumerate().filter(|(_, a)| a.visible) {
        let color = annotation_color(a.color.as_deref(), m + i);
        for t in std::iter::once(a.value).chain(a.band_value) {
            if t >= range.0 && t <= range.1 {
                cv.vline(px(x_of(t)), plot.y, plot.bottom() - 1, color);
            }
        }
        if let Some(label) = a.label.as_deref().filter(|l| !l.is_empty())
            && a.value >= range.0
            && a.value <= range.1
        {
            let x = px(x_of(a.value));
            let text = fit_text(label, (plot.right() - x - 6).max(plot.w / 3));
            let w = text_px(&text, 1, false);
            let tx = if x + 4 + w <= plot.right() {
                x + 4
            } else {
                x - 4 - w
            };
            cv.text(tx, plot.y + 3, &text, color, 1, false);
        }
    }
}
