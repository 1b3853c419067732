//! The `MetricWidget` document: its fields, their defaults, and the checks CloudWatch
//! applies before drawing anything.
//!
//! Validation walks the parsed JSON by hand rather than through serde derive so that it
//! can report every problem with its JSON path and in CloudWatch's wording, and so that
//! unknown fields (`region`, `sparkline`, ...) are ignored as CloudWatch ignores them.

use serde_json::{Map, Value};

use crate::metrics::{self, MetricSpec, invalid_stat_message, is_valid_stat};
use crate::time::{self, TimeSpec};
use crate::{Error, Issue, Result};

/// Which Y axis a metric or annotation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Axis {
    #[default]
    Left,
    Right,
}

/// How the widget draws its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    TimeSeries,
    SingleValue,
    Bar,
    Pie,
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegendPosition {
    #[default]
    Bottom,
    Right,
    Hidden,
}

/// Settings of one Y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct YAxisOptions {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub label: Option<String>,
    /// Kept for completeness: series carry no unit here, so there is none to show.
    pub show_units: bool,
}

impl Default for YAxisOptions {
    fn default() -> Self {
        YAxisOptions {
            min: None,
            max: None,
            label: None,
            show_units: true,
        }
    }
}

/// Which side of a horizontal annotation is shaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HorizontalFill {
    Above,
    Below,
}

/// Which side of a vertical annotation is shaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerticalFill {
    Before,
    After,
}

/// A horizontal line at `value`, or a band up to `band_value` when given as a pair.
#[derive(Debug, Clone, PartialEq)]
pub struct HorizontalAnnotation {
    pub value: f64,
    pub band_value: Option<f64>,
    pub label: Option<String>,
    pub color: Option<String>,
    pub fill: Option<HorizontalFill>,
    pub visible: bool,
    pub y_axis: Axis,
}

/// A vertical line at `value` (epoch seconds), or a band up to `band_value`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerticalAnnotation {
    pub value: i64,
    pub band_value: Option<i64>,
    pub label: Option<String>,
    pub color: Option<String>,
    pub fill: Option<VerticalFill>,
    pub visible: bool,
}

/// The widget's `annotations`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Annotations {
    pub horizontal: Vec<HorizontalAnnotation>,
    pub vertical: Vec<VerticalAnnotation>,
    /// Alarm ARNs; kept so a caller can resolve them, not drawn here.
    pub alarms: Vec<String>,
}

/// A parsed and validated `MetricWidget`.
#[derive(Debug, Clone, PartialEq)]
pub struct Widget {
    metrics: Vec<MetricSpec>,
    annotations: Annotations,
    start: TimeSpec,
    end: TimeSpec,
    period: i64,
    stat: String,
    width: u32,
    height: u32,
    title: Option<String>,
    view: View,
    stacked: bool,
    left_axis: YAxisOptions,
    right_axis: YAxisOptions,
    legend: LegendPosition,
    live_data: bool,
    set_period_to_time_range: bool,
    timezone_offset_s: i64,
    region: Option<String>,
}

impl Widget {
    /// The rows of `metrics`, shorthands expanded and widget defaults applied.
    pub fn metrics(&self) -> &[MetricSpec] {
        &self.metrics
    }
    pub fn annotations(&self) -> &Annotations {
        &self.annotations
    }
    /// `start` as written (default `-PT3H`).
    pub fn start(&self) -> TimeSpec {
        self.start
    }
    /// `end` as written (default `-PT0H`, now).
    pub fn end(&self) -> TimeSpec {
        self.end
    }
    /// The graph's (start, end) in epoch seconds when the current time is `now_epoch_s`.
    pub fn time_range(&self, now_epoch_s: i64) -> Result<(i64, i64)> {
        let (start, end) = (
            self.start.resolve(now_epoch_s),
            self.end.resolve(now_epoch_s),
        );
        if start >= end {
            return Err(Error::Range(format!(
                "The start time must be earlier than the end time (start {start}, end {end})"
            )));
        }
        Ok((start, end))
    }
    /// The widget-wide default period in seconds (default 300).
    pub fn period(&self) -> i64 {
        self.period
    }
    /// The widget-wide default statistic (default `Average`).
    pub fn stat(&self) -> &str {
        &self.stat
    }
    /// Image width in pixels (default 600).
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Image height in pixels (default 400, as AWS documents).
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }
    pub fn view(&self) -> View {
        self.view
    }
    pub fn stacked(&self) -> bool {
        self.stacked
    }
    pub fn y_axis(&self, axis: Axis) -> &YAxisOptions {
        match axis {
            Axis::Left => &self.left_axis,
            Axis::Right => &self.right_axis,
        }
    }
    pub fn legend(&self) -> LegendPosition {
        self.legend
    }
    pub fn live_data(&self) -> bool {
        self.live_data
    }
    /// For single-value, bar and pie views: aggregate over the whole range rather than
    /// show the latest period.
    pub fn set_period_to_time_range(&self) -> bool {
        self.set_period_to_time_range
    }
    /// The `timezone` offset in seconds east of UTC (0 when absent).
    pub fn timezone_offset_s(&self) -> i64 {
        self.timezone_offset_s
    }
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}

/// Collects validation problems while reading typed fields.
#[derive(Default)]
pub(crate) struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    pub(crate) fn issue(&mut self, path: &str, message: &str) {
        self.issues.push(Issue {
            data_path: path.to_owned(),
            message: message.to_owned(),
        });
    }

    fn typed<'a, T>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
        kind: &str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let value = obj.get(key)?;
        let read = read(value);
        if read.is_none() {
            self.issue(&format!("{path}/{key}"), &format!("Should be {kind}"));
        }
        read
    }

    pub(crate) fn string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        self.typed(obj, key, path, "string", Value::as_str)
    }

    pub(crate) fn boolean(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<bool> {
        self.typed(obj, key, path, "boolean", Value::as_bool)
    }

    fn number(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<f64> {
        self.typed(obj, key, path, "number", Value::as_f64)
    }

    fn object<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        self.typed(obj, key, path, "object", Value::as_object)
    }

    fn array<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a [Value]> {
        self.typed(obj, key, path, "array", |v| v.as_array().map(Vec::as_slice))
    }

    /// An integer in `min..=max`; JSON numbers with a zero fraction count as integers, as
    /// they do for JSON-schema validators.
    fn integer(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let v = self.typed(obj, key, path, "integer", |v| {
            v.as_i64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
        })?;
        let at = format!("{path}/{key}");
        if v < min {
            self.issue(&at, &format!("Should be >= {min}"));
            None
        } else if v > max {
            self.issue(&at, &format!("Should be <= {max}"));
            None
        } else {
            Some(v)
        }
    }

    /// A period: 1, 5, 10, 30 or a positive multiple of 60 seconds.
    pub(crate) fn period(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<i64> {
        let p = self.integer(obj, key, path, 1, i64::from(i32::MAX))?;
        if matches!(p, 1 | 5 | 10 | 30) || p % 60 == 0 {
            Some(p)
        } else {
            self.issue(
                &format!("{path}/{key}"),
                "The period must be 1, 5, 10, 30 or a multiple of 60 seconds",
            );
            None
        }
    }

    pub(crate) fn one_of<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'a str> {
        let v = self.string(obj, key, path)?;
        if allowed.contains(&v) {
            Some(v)
        } else {
            self.issue(
                &format!("{path}/{key}"),
                &format!(
                    "Should be equal to one of the allowed values: {}",
                    allowed.join(", ")
                ),
            );
            None
        }
    }

    fn time(&mut self, obj: &Map<String, Value>, key: &str) -> Option<TimeSpec> {
        let text = self.string(obj, key, "")?;
        let spec = TimeSpec::parse(text);
        if spec.is_none() {
            self.issue(
                &format!("/{key}"),
                "Should be a relative time such as -PT3H or -P1D, or an ISO 8601 timestamp such as 2018-04-25T12:00:00.000Z",
            );
        }
        spec
    }

    fn color(&mut self, obj: &Map<String, Value>, path: &str) -> Option<String> {
        let c = self.string(obj, "color", path)?;
        if valid_color(c) {
            Some(c.to_owned())
        } else {
            self.issue(
                &format!("{path}/color"),
                "Should match pattern \"^#([0-9a-fA-F]{6})$\"",
            );
            None
        }
    }
}

/// Colours are six-digit hex with a leading `#`; CloudWatch refuses names like `red`.
pub(crate) fn valid_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn parse(json: &str) -> Result<Widget> {
    let value: Value = serde_json::from_str(json).map_err(|e| Error::Json(e.to_string()))?;
    let Some(root) = value.as_object() else {
        return Err(Error::Invalid(vec![Issue {
            data_path: String::new(),
            message: "Should be object".into(),
        }]));
    };
    let mut ck = Checker::default();
    let period = ck.period(root, "period", "").unwrap_or(300);
    let stat = match ck.string(root, "stat", "") {
        Some(s) if is_valid_stat(s) => s.to_owned(),
        Some(s) => {
            ck.issue("/stat", &invalid_stat_message(s));
            "Average".to_owned()
        }
        None => "Average".to_owned(),
    };
    let metrics = match root.get("metrics") {
        None => {
            ck.issue("", "Should have required property 'metrics'");
            Vec::new()
        }
        Some(Value::Array(rows)) => {
            if rows.is_empty() {
                ck.issue("/metrics", "Should NOT have fewer than 1 items");
            } else if rows.len() > 100 {
                ck.issue("/metrics", "Should NOT have more than 100 items");
            }
            metrics::parse_rows(rows, &stat, period, &mut ck)
        }
        Some(_) => {
            ck.issue("/metrics", "Should be array");
            Vec::new()
        }
    };
    let start = ck
        .time(root, "start")
        .unwrap_or(TimeSpec::Relative { seconds: 3 * 3_600 });
    let end = ck
        .time(root, "end")
        .unwrap_or(TimeSpec::Relative { seconds: 0 });
    if let (TimeSpec::Absolute { epoch_s: s }, TimeSpec::Absolute { epoch_s: e }) = (start, end)
        && s >= e
    {
        ck.issue("/start", "The start time must be earlier than the end time");
    }
    let timezone_offset_s = match ck.string(root, "timezone", "") {
        Some(tz) => {
            let shaped = tz.len() == 5 && tz[1..].bytes().all(|b| b.is_ascii_digit());
            match time::parse_offset(tz).filter(|_| shaped) {
                Some(offset) => offset,
                None => {
                    ck.issue(
                        "/timezone",
                        "Should match pattern \"^[+-][0-9]{4}$\" (such as +0130)",
                    );
                    0
                }
            }
        }
        None => 0,
    };
    let legend = match ck.object(root, "legend", "") {
        Some(l) => match ck.one_of(l, "position", "/legend", &["bottom", "right", "hidden"]) {
            Some("right") => LegendPosition::Right,
            Some("hidden") => LegendPosition::Hidden,
            _ => LegendPosition::Bottom,
        },
        None => LegendPosition::Bottom,
    };
    let view = match ck.one_of(
        root,
        "view",
        "",
        &["timeSeries", "singleValue", "bar", "pie"],
    ) {
        Some("singleValue") => View::SingleValue,
        Some("bar") => View::Bar,
        Some("pie") => View::Pie,
        _ => View::TimeSeries,
    };
    let (left_axis, right_axis) = match ck.object(root, "yAxis", "") {
        Some(y) => (y_axis(y, "left", &mut ck), y_axis(y, "right", &mut ck)),
        None => Default::default(),
    };
    let annotations = match ck.object(root, "annotations", "") {
        Some(a) => annotations(a, &mut ck),
        None => Annotations::default(),
    };
    let widget = Widget {
        metrics,
        annotations,
        start,
        end,
        period,
        stat,
        width: ck.integer(root, "width", "", 1, 2000).unwrap_or(600) as u32,
        height: ck.integer(root, "height", "", 1, 2000).unwrap_or(400) as u32,
        title: ck.string(root, "title", "").map(str::to_owned),
        view,
        stacked: ck.boolean(root, "stacked", "").unwrap_or(false),
        left_axis,
        right_axis,
        legend,
        live_data: ck.boolean(root, "liveData", "").unwrap_or(false),
        set_period_to_time_range: ck
            .boolean(root, "setPeriodToTimeRange", "")
            .unwrap_or(false),
        timezone_offset_s,
        region: ck.string(root, "region", "").map(str::to_owned),
    };
    if ck.issues.is_empty() {
        Ok(widget)
    } else {
        Err(Error::Invalid(ck.issues))
    }
}

fn y_axis(obj: &Map<String, Value>, side: &str, ck: &mut Checker) -> YAxisOptions {
    let Some(axis) = ck.object(obj, side, "/yAxis") else {
        return YAxisOptions::default();
    };
    let path = format!("/yAxis/{side}");
    YAxisOptions {
        min: ck.number(axis, "min", &path),
        max: ck.number(axis, "max", &path),
        label: ck.string(axis, "label", &path).map(str::to_owned),
        show_units: ck.boolean(axis, "showUnits", &path).unwrap_or(true),
    }
}

type Object = Map<String, Value>;

/// An annotation is one object, or a band given as an array of exactly two objects.
fn annotation_parts<'a>(
    item: &'a Value,
    path: &str,
    ck: &mut Checker,
) -> Option<(&'a Object, Option<&'a Object>)> {
    match item {
        Value::Object(o) => Some((o, None)),
        Value::Array(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
            (Value::Object(a), Value::Object(b)) => Some((a, Some(b))),
            _ => {
                ck.issue(path, "A band annotation should be an array of two objects");
                None
            }
        },
        _ => {
            ck.issue(
                path,
                "Should be object, or an array of two objects for a band",
            );
            None
        }
    }
}

fn annotations(obj: &Map<String, Value>, ck: &mut Checker) -> Annotations {
    let mut out = Annotations::default();
    for (i, item) in ck
        .array(obj, "horizontal", "/annotations")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let path = format!("/annotations/horizontal/{i}");
        let Some((first, second)) = annotation_parts(item, &path, ck) else {
            continue;
        };
        let value = |o: &Map<String, Value>, at: &str, ck: &mut Checker| {
            if !o.contains_key("value") {
                ck.issue(at, "Should have required property 'value'");
            }
            ck.number(o, "value", at)
        };
        let first_path = if second.is_some() {
            format!("{path}/0")
        } else {
            path.clone()
        };
        let v = value(first, &first_path, ck);
        let band = second.map(|b| value(b, &format!("{path}/1"), ck));
        let fill = match ck.one_of(first, "fill", &first_path, &["above", "below", "none"]) {
            Some("above") => Some(HorizontalFill::Above),
            Some("below") => Some(HorizontalFill::Below),
            _ => None,
        };
        let y_axis = match ck.one_of(first, "yAxis", &first_path, &["left", "right"]) {
            Some("right") => Axis::Right,
            _ => Axis::Left,
        };
        let entry = HorizontalAnnotation {
            value: v.unwrap_or(0.0),
            band_value: band.flatten(),
            label: ck.string(first, "label", &first_path).map(str::to_owned),
            color: ck.color(first, &first_path),
            fill,
            visible: ck.boolean(first, "visible", &first_path).unwrap_or(true),
            y_axis,
        };
        if v.is_some() && band.is_none_or(|b| b.is_some()) {
            out.horizontal.push(entry);
        }
    }
    for (i, item) in ck
        .array(obj, "vertical", "/annotations")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let path = format!("/annotations/vertical/{i}");
        let Some((first, second)) = annotation_parts(item, &path, ck) else {
            continue;
        };
        let instant = |o: &Map<String, Value>, at: &str, ck: &mut Checker| {
            if !o.contains_key("value") {
                ck.issue(at, "Should have required property 'value'");
            }
            let text = ck.string(o, "value", at)?;
            let t = time::parse_timestamp(text);
            if t.is_none() {
                ck.issue(
                    &format!("{at}/value"),
                    "Should be an ISO 8601 timestamp such as 2018-04-25T12:00:00.000Z",
                );
            }
            t
        };
        let first_path = if second.is_some() {
            format!("{path}/0")
        } else {
            path.clone()
        };
        let v = instant(first, &first_path, ck);
        let band = second.map(|b| instant(b, &format!("{path}/1"), ck));
        let fill = match ck.one_of(first, "fill", &first_path, &["before", "after", "none"]) {
            Some("before") => Some(VerticalFill::Before),
            Some("after") => Some(VerticalFill::After),
            _ => None,
        };
        let entry = VerticalAnnotation {
            value: v.unwrap_or(0),
            band_value: band.flatten(),
            label: ck.string(first, "label", &first_path).map(str::to_owned),
            color: ck.color(first, &first_path),
            fill,
            visible: ck.boolean(first, "visible", &first_path).unwrap_or(true),
        };
        if v.is_some() && band.is_none_or(|b| b.is_some()) {
            out.vertical.push(entry);
        }
    }
    for (i, alarm) in ck
        .array(obj, "alarms", "/annotations")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match alarm.as_str() {
            Some(arn) => out.alarms.push(arn.to_owned()),
            None => ck.issue(&format!("/annotations/alarms/{i}"), "Should be string"),
        }
    }
    out
}
