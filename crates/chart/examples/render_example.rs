//! Renders a sample widget to a PNG (default `/tmp/chart-example.png`) so that the
//! drawing can be checked by eye: `cargo run -p sightline-chart --example render_example
//! [path] [view]`.

use sightline_chart::{SeriesData, parse_widget, render_png};

const NOW: i64 = 1_714_053_600; // 2024-04-25T14:00:00Z

fn wave(
    offset: f64,
    scale: f64,
    step: i64,
    range: (i64, i64),
    skip: &[i64],
) -> (Vec<i64>, Vec<f64>) {
    let mut ts = Vec::new();
    let mut vs = Vec::new();
    let mut t = range.0;
    let mut i = 0;
    while t <= range.1 {
        if !skip.contains(&i) {
            ts.push(t);
            vs.push(
                offset + scale * ((i as f64) / 5.0).sin() + scale * 0.3 * ((i as f64) / 1.7).cos(),
            );
        }
        t += step;
        i += 1;
    }
    (ts, vs)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/chart-example.png".to_owned());
    let view = args.next().unwrap_or_else(|| "timeSeries".to_owned());
    let stacked = view == "stacked";
    let view = if stacked { "timeSeries" } else { view.as_str() };
    let doc = format!(
        r##"{{
        "title": "EC2 CPUUtilization (i-0abc, i-0def) and NetworkIn",
        "view": "{view}", "stacked": {stacked}, "period": 300, "stat": "Average",
        "width": 640, "height": 400, "start": "-PT6H", "timezone": "+0130",
        "metrics": [
            ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0abc", {{"label": "web-1 CPU"}}],
            ["...", "i-0def", {{"label": "web-2 CPU"}}],
            [".", "NetworkIn", ".", ".", {{"yAxis": "right", "label": "web-2 NetworkIn", "stat": "Sum"}}]
        ],
        "yAxis": {{"left": {{"min": 0, "label": "Percent"}}, "right": {{"label": "Bytes"}}}},
        "annotations": {{
            "horizontal": [{{"value": 80, "label": "CPU alarm", "color": "#d62728", "fill": "above"}}],
            "vertical": [{{"value": "2024-04-25T11:00:00Z", "label": "deploy"}}]
        }}
    }}"##
    );
    let widget = parse_widget(&doc)?;
    let range = widget.time_range(NOW)?;
    let (t1, v1) = wave(45.0, 20.0, 300, range, &[20, 21, 22, 23]);
    let (t2, v2) = wave(30.0, 12.0, 300, range, &[40]);
    let (t3, mut v3) = wave(2.0e6, 8.0e5, 300, range, &[]);
    v3.iter_mut().for_each(|v| *v = v.abs());
    let series = vec![
        SeriesData {
            label: "web-1 CPU".into(),
            timestamps: t1,
            values: v1,
            ..Default::default()
        },
        SeriesData {
            label: "web-2 CPU".into(),
            timestamps: t2,
            values: v2,
            ..Default::default()
        },
        SeriesData {
            label: "web-2 NetworkIn".into(),
            timestamps: t3,
            values: v3,
            right_axis: true,
            ..Default::default()
        },
    ];
    let png = render_png(&widget, range, &series)?;
    std::fs::write(&path, png)?;
    println!("wrote {path}");
    Ok(())
}
