//! Walks the data-driven cases in `tests/data/` (parsing in `parse.json`, drawing in
//! `render.json`; each file's `about` describes its case format) and checks that no
//! render panics on arbitrary series and sizes.

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use sightline_chart::{
    Axis, HorizontalFill, LegendPosition, SeriesData, TimeSpec, VerticalFill, View, Widget,
    parse_widget, render_png,
};

fn load(name: &str) -> Vec<Value> {
    // At run time: a binary reused from a shared target directory may have been built
    // in another checkout, which the compile-time path would name.
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf())
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    doc["cases"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{name} has no cases"))
}

fn name(case: &Value) -> String {
    case["name"].as_str().unwrap_or("?").to_owned()
}

/// The document text of a case: `raw` as is, else `doc` with `repeat_rows` applied.
fn doc_text(case: &Value) -> String {
    if let Some(raw) = case["raw"].as_str() {
        return raw.to_owned();
    }
    let mut doc = case["doc"].clone();
    if let Some(n) = case["repeat_rows"].as_u64() {
        let row = doc["metrics"][0].clone();
        doc["metrics"] = Value::Array(vec![row; n as usize]);
    }
    doc.to_string()
}

fn axis(a: Axis) -> &'static str {
    match a {
        Axis::Left => "left",
        Axis::Right => "right",
    }
}

fn time(t: TimeSpec) -> Value {
    match t {
        TimeSpec::Relative { seconds } => json!({ "relative": seconds }),
        TimeSpec::Absolute { epoch_s } => json!({ "absolute": epoch_s }),
    }
}

/// Everything parsed, as JSON, so that cases can state expectations as data.
fn summary(w: &Widget) -> Value {
    let metrics: Vec<Value> = w
        .metrics()
        .iter()
        .map(|m| {
            json!({
                "namespace": m.namespace, "metricName": m.metric_name,
                "dimensions": m.dimensions.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "expression": m.expression, "stat": m.stat, "period": m.period, "label": m.label,
                "color": m.color, "yAxis": axis(m.y_axis), "visible": m.visible, "id": m.id,
                "region": m.region, "accountId": m.account_id,
            })
        })
        .collect();
    let y = |a: Axis| {
        let o = w.y_axis(a);
        json!({ "min": o.min, "max": o.max, "label": o.label, "showUnits": o.show_units })
    };
    let ann = w.annotations();
    let horizontal: Vec<Value> = ann
        .horizontal
        .iter()
        .map(|h| {
            let fill = h.fill.map(|f| {
                if f == HorizontalFill::Above {
                    "above"
                } else {
                    "below"
                }
            });
            json!({ "value": h.value, "band": h.band_value, "label": h.label, "color": h.color,
                    "fill": fill, "visible": h.visible, "yAxis": axis(h.y_axis) })
        })
        .collect();
    let vertical: Vec<Value> = ann
        .vertical
        .iter()
        .map(|v| {
            let fill = v.fill.map(|f| {
                if f == VerticalFill::Before {
                    "before"
                } else {
                    "after"
                }
            });
            json!({ "value": v.value, "band": v.band_value, "label": v.label, "color": v.color,
                    "fill": fill, "visible": v.visible })
        })
        .collect();
    json!({
        "metrics": metrics, "period": w.period(), "stat": w.stat(), "width": w.width(),
        "height": w.height(), "title": w.title(),
        "view": match w.view() { View::TimeSeries => "timeSeries", View::SingleValue => "singleValue", View::Bar => "bar", View::Pie => "pie" },
        "stacked": w.stacked(),
        "legend": match w.legend() { LegendPosition::Bottom => "bottom", LegendPosition::Right => "right", LegendPosition::Hidden => "hidden" },
        "liveData": w.live_data(), "setPeriodToTimeRange": w.set_period_to_time_range(),
        "timezone": w.timezone_offset_s(), "start": time(w.start()), "end": time(w.end()),
        "region": w.region(), "yAxis": { "left": y(Axis::Left), "right": y(Axis::Right) },
        "annotations": { "horizontal": horizontal, "vertical": vertical, "alarms": ann.alarms.len() },
    })
}

/// Checks that every key of `want` matches `got`; arrays must match in length and
/// element by element (objects inside them again by subset).
fn subset(want: &Value, got: &Value, at: &str, failures: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                subset(
                    v,
                    g.get(k).unwrap_or(&Value::Null),
                    &format!("{at}.{k}"),
                    failures,
                );
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                subset(a, b, &format!("{at}[{i}]"), failures);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ if want == got => {}
        _ => failures.push(format!("{at}: want {want}, got {got}")),
    }
}

#[test]
fn parse_cases() {
    let mut failures = Vec::new();
    let cases = load("parse.json");
    for case in &cases {
        let at = name(case);
        let result = parse_widget(&doc_text(case));
        if let Some(error) = case["error"].as_str() {
            let Err(e) = result else {
                failures.push(format!("{at}: parsed, expected error {error:?}"));
                continue;
            };
            let message = e.to_string();
            if !message.contains(error) && !e.issues().iter().any(|i| i.message.contains(error)) {
                failures.push(format!("{at}: message {message:?} lacks {error:?}"));
            }
            if let Some(path) = case["path"].as_str()
                && !e.issues().iter().any(|i| i.data_path == path)
            {
                failures.push(format!("{at}: no issue at {path:?} in {:?}", e.issues()));
            }
            if let Some(n) = case["issues"].as_u64()
                && e.issues().len() as u64 != n
            {
                failures.push(format!(
                    "{at}: {} issues, want {n}: {:?}",
                    e.issues().len(),
                    e.issues()
                ));
            }
            continue;
        }
        let widget = match result {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        if let Some(expect) = case.get("expect") {
            subset(expect, &summary(&widget), &at, &mut failures);
        }
        if let Some(now) = case["now"].as_i64() {
            match (
                widget.time_range(now),
                case.get("range"),
                case["range_error"].as_str(),
            ) {
                (Ok((s, e)), Some(want), _) if *want == json!([s, e]) => {}
                (Err(e), _, Some(msg)) if e.to_string().contains(msg) => {}
                (got, _, _) => failures.push(format!("{at}: time range {got:?}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn series_of(v: &Value) -> SeriesData {
    let mut s = SeriesData {
        label: v["label"].as_str().unwrap_or_default().to_owned(),
        color: v["color"].as_str().map(str::to_owned),
        right_axis: v["right_axis"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    if let Some(points) = v["points"].as_array() {
        for p in points {
            s.timestamps.push(p[0].as_i64().unwrap_or_default());
            s.values.push(p[1].as_f64().unwrap_or_default());
        }
    }
    if let Some(r) = v.get("ramp") {
        let skip: Vec<u64> = r["skip"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let (start, step) = (
            r["start"].as_i64().unwrap_or(0),
            r["step"].as_i64().unwrap_or(60),
        );
        let (from, by) = (
            r["from"].as_f64().unwrap_or(0.0),
            r["by"].as_f64().unwrap_or(0.0),
        );
        for i in (0..r["count"].as_u64().unwrap_or(0)).filter(|i| !skip.contains(i)) {
            s.timestamps.push(start + i as i64 * step);
            s.values.push(from + i as f64 * by);
        }
    }
    if let Some(ts) = v["timestamps"].as_array() {
        s.timestamps = ts.iter().filter_map(Value::as_i64).collect();
        s.values = v["values"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
    }
    s
}

/// A decoded image: width, height and RGB bytes.
struct Image {
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

fn decode(png_bytes: &[u8]) -> Image {
    let decoder = png::Decoder::new(Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    Image {
        w: info.width,
        h: info.height,
        rgb: buf,
    }
}

impl Image {
    fn pixels(&self, region: Option<&Value>) -> impl Iterator<Item = [u8; 3]> + '_ {
        let r: Vec<u32> = region
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|n| n as u32))
                    .collect()
            })
            .unwrap_or_else(|| vec![0, 0, self.w, self.h]);
        let (x0, y0, x1, y1) = (r[0], r[1], r[2].min(self.w), r[3].min(self.h));
        (y0..y1)
            .flat_map(move |y| (x0..x1).map(move |x| (y * self.w + x) as usize * 3))
            .map(|i| [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }
}

fn hex(c: &str) -> [u8; 3] {
    let byte = |i: usize| u8::from_str_radix(&c[i..i + 2], 16).expect("hex colour");
    [byte(1), byte(3), byte(5)]
}

/// Strictly between the colour and white on every channel that differs (a translucent
/// tint of it over the white background).
fn is_tint(p: [u8; 3], c: [u8; 3]) -> bool {
    p != c
        && p != [255; 3]
        && (0..3).all(|k| p[k] >= c[k] && (p[k] > c[k] || c[k] == 255))
        && (0..3).any(|k| p[k] != 255)
        && {
            // The blend keeps the channel ratios: (255 - p) / (255 - c) equal across channels.
            let ratios: Vec<f64> = (0..3)
                .filter(|k| c[*k] < 200)
                .map(|k| f64::from(255 - p[k]) / f64::from(255 - c[k]))
                .collect();
            ratios.windows(2).all(|w| (w[0] - w[1]).abs() < 0.08)
        }
}

#[test]
fn render_cases() {
    let mut failures = Vec::new();
    let cases = load("render.json");
    for case in &cases {
        let at = name(case);
        let widget = match parse_widget(&case["doc"].to_string()) {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        let range = (
            case["range"][0].as_i64().unwrap_or(0),
            case["range"][1].as_i64().unwrap_or(0),
        );
        let series: Vec<SeriesData> = case["series"]
            .as_array()
            .map(|a| a.iter().map(series_of).collect())
            .unwrap_or_default();
        let result = render_png(&widget, range, &series);
        if let Some(error) = case["error"].as_str() {
            match result {
                Err(e) if e.to_string().contains(error) => {}
                other => failures.push(format!(
                    "{at}: want error {error:?}, got {:?}",
                    other.map(|b| b.len())
                )),
            }
            continue;
        }
        // CHART_DUMP=dir writes each image out for inspection.
        if let (Some(dir), Ok(bytes)) = (std::env::var_os("CHART_DUMP"), &result) {
            let file = at.replace(|c: char| !c.is_ascii_alphanumeric(), "_") + ".png";
            std::fs::write(Path::new(&dir).join(file), bytes).expect("dump image");
        }
        let img = match result {
            Ok(bytes) => decode(&bytes),
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        if (img.w, img.h) != (widget.width(), widget.height()) {
            failures.push(format!("{at}: size {}x{}", img.w, img.h));
        }
        for (key, test) in [
            ("colors", (|p, c| p == c) as fn([u8; 3], [u8; 3]) -> bool),
            ("tints", is_tint),
        ] {
            for check in case[key].as_array().into_iter().flatten() {
                let c = hex(check["color"].as_str().unwrap_or("#000000"));
                let found = img.pixels(check.get("region")).any(|p| test(p, c));
                if found != check["present"].as_bool().unwrap_or(true) {
                    failures.push(format!("{at}: {key} {check}: found={found}"));
                }
            }
        }
        for region in case["ink"].as_array().into_iter().flatten() {
            if !img
                .pixels(Some(region))
                .any(|p| p.iter().map(|c| u32::from(*c)).sum::<u32>() < 450)
            {
                failures.push(format!("{at}: no ink in {region}"));
            }
        }
        for region in case["blank"].as_array().into_iter().flatten() {
            if !img.pixels(Some(region)).all(|p| p == [255; 3]) {
                failures.push(format!("{at}: {region} is not blank"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn validation_message_lists_every_issue_like_cloudwatch() {
    let err = parse_widget(r#"{"metrics": [["NS", "M"]], "width": 0}"#).expect_err("width 0");
    assert_eq!(
        err.to_string(),
        "The metric widget is invalid, there are 1 validation errors:\n[\n  {\n    \"dataPath\": \"/width\",\n    \"message\": \"Should be >= 1\"\n  }\n]"
    );
}

#[test]
fn same_input_gives_same_bytes() {
    let widget =
        parse_widget(r#"{"metrics": [["NS", "M"]], "width": 200, "height": 120, "title": "x"}"#)
            .expect("valid");
    let s = SeriesData {
        label: "m".into(),
        timestamps: vec![0, 60, 120],
        values: vec![1.0, 3.0, 2.0],
        ..Default::default()
    };
    let a = render_png(&widget, (0, 180), std::slice::from_ref(&s)).expect("render");
    let b = render_png(&widget, (0, 180), &[s]).expect("render");
    assert_eq!(a, b);
}

fn arb_series() -> impl Strategy<Value = SeriesData> {
    let value = prop_oneof![
        -1e6f64..1e6,
        -1e300f64..1e300,
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        Just(0.0)
    ];
    let point = (any::<i64>(), value);
    let points = prop_oneof![
        proptest::collection::vec(point.clone(), 0..40),
        proptest::collection::vec((-10_000i64..20_000, -1e3f64..1e3), 0..200),
    ];
    (
        points,
        any::<bool>(),
        proptest::option::of("#[0-9a-f]{6}"),
        "[ -~]{0,40}",
    )
        .prop_map(|(pts, right, color, label)| {
            let (timestamps, values) = pts.into_iter().unzip();
            SeriesData {
                label,
                timestamps,
                values,
                color,
                right_axis: right,
            }
        })
}

fn arb_range() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        (any::<i64>(), any::<i64>()),
        (-10_000i64..0, 1i64..20_000),
        Just((i64::MIN, i64::MAX))
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn render_never_panics(
        series in proptest::collection::vec(arb_series(), 0..5),
        range in arb_range(),
        width in 1u32..360,
        height in 1u32..260,
        view in prop_oneof![Just("timeSeries"), Just("bar"), Just("pie"), Just("singleValue")],
        stacked in any::<bool>(),
        legend in prop_oneof![Just("bottom"), Just("right"), Just("hidden")],
        title in proptest::option::of("[ -~]{0,80}"),
        bounds in (proptest::option::of(-1e9f64..1e9), proptest::option::of(-1e9f64..1e9)),
        tz in -1439i64..1440,
    ) {
        let mut doc = json!({
            "metrics": [["NS", "M"]], "width": width, "height": height, "view": view, "stacked": stacked,
            "legend": {"position": legend},
            "timezone": format!("{}{:02}{:02}", if tz < 0 { '-' } else { '+' }, tz.abs() / 60, tz.abs() % 60),
            "annotations": {"horizontal": [{"value": 5, "label": "a", "fill": "below"}, [{"value": -1}, {"value": 2}]],
                            "vertical": [{"value": "1970-01-01T01:00:00Z", "fill": "after", "label": "v"}]},
            "yAxis": {"left": {}, "right": {}},
        });
        if let Some(t) = title { doc["title"] = json!(t); }
        if let Some(min) = bounds.0 { doc["yAxis"]["left"]["min"] = json!(min); }
        if let Some(max) = bounds.1 { doc["yAxis"]["right"]["max"] = json!(max); }
        let widget = parse_widget(&doc.to_string()).expect("generated widget is valid");
        match render_png(&widget, range, &series) {
            Ok(bytes) => {
                let img = decode(&bytes);
                prop_assert_eq!((img.w, img.h), (width, height));
            }
            Err(e) => prop_assert!(range.1 <= range.0, "unexpected error {}", e),
        }
    }
}
