//! CloudWatch's GetMetricWidgetImage: parses and validates a `MetricWidget` JSON document
//! and draws the graph it describes as a PNG.
//!
//! The crate fetches no data. A caller parses the document with [`parse_widget`], resolves
//! its time range with [`Widget::time_range`], queries each visible row of
//! [`Widget::metrics`] itself (the metric store and the math evaluator live elsewhere) and
//! hands the resulting [`SeriesData`] to [`render_png`]. Keeping rendering pure makes it
//! deterministic, so the same document and data always give the same bytes.
//!
//! Everything is drawn here, text included (a built-in bitmap font), so output does not
//! depend on the fonts or libraries of the host.

mod canvas;
mod error;
mod font;
mod metrics;
mod render;
mod scale;
mod time;
mod views;
mod widget;

pub use error::{Error, Issue};
pub use metrics::{MetricSpec, is_valid_stat};
pub use time::TimeSpec;
pub use widget::{
    Annotations, Axis, HorizontalAnnotation, HorizontalFill, LegendPosition, VerticalAnnotation,
    VerticalFill, View, Widget, YAxisOptions,
};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// AWS's default series palette, used in order for series without a `color`.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One line of the graph: the datapoints of a visible metric or expression, as the
/// caller fetched them for the widget's time range.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesData {
    /// Legend text.
    pub label: String,
    /// Datapoint times in epoch seconds, one per value; need not be sorted.
    pub timestamps: Vec<i64>,
    /// Datapoint values; a non-finite value counts as a missing datapoint.
    pub values: Vec<f64>,
    /// `#rrggbb`; the palette colour for the series' position is used when absent or
    /// malformed.
    pub color: Option<String>,
    /// Plot against the right Y axis.
    pub right_axis: bool,
}

/// Parses and validates a `MetricWidget` document, refusing what CloudWatch refuses.
///
/// Every problem found is reported at once, each with the JSON path it concerns, so a
/// caller can answer with one complete `InvalidParameterInput` message.
pub fn parse_widget(json: &str) -> Result<Widget> {
    widget::parse(json)
}

/// Draws `series` as `widget` describes, over `range` (epoch seconds, start before end),
/// into an 8-bit RGB PNG of exactly the widget's width × height.
///
/// Series are drawn in order and coloured by position; the caller passes only visible
/// series. Fails only for an empty or inverted range, a series whose timestamps and
/// values differ in number, or a failure of the PNG encoder.
pub fn render_png(widget: &Widget, range: (i64, i64), series: &[SeriesData]) -> Result<Vec<u8>> {
    if range.1 <= range.0 {
        return Err(Error::Range(format!(
            "the time range must end after it starts (start {}, end {})",
            range.0, range.1
        )));
    }
    for (index, s) in series.iter().enumerate() {
        if s.timestamps.len() != s.values.len() {
            return Err(Error::Series {
                index,
                message: format!(
                    "{} timestamps but {} values",
                    s.timestamps.len(),
                    s.values.len()
                ),
            });
        }
    }
    let canvas = render::draw(widget, range, series);
    canvas.encode_png()
}
