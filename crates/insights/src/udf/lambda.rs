//! Fields Insights discovers in AWS Lambda platform log lines (`START`, `END`, `REPORT`),
//! such as `@type`, `@requestId`, `@duration` and `@maxMemoryUsed`, which the
//! documentation's Lambda sample queries rely on. Memory sizes are reported in bytes
//! (the documented samples divide by 1000 twice to get megabytes).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringViewBuilder};
use datafusion::common::Result;

use super::dynamic::{format_number, parse_number};
use super::strings::Strings;

/// The discovered Lambda fields, by their Insights names.
pub(crate) const FIELDS: &[&str] = &[
    "@type",
    "@requestId",
    "@duration",
    "@billedDuration",
    "@memorySize",
    "@maxMemoryUsed",
    "@initDuration",
    "@xrayTraceId",
    "@xraySegmentId",
];

fn after<'a>(message: &'a str, label: &str) -> Option<&'a str> {
    let mut search = 0;
    while let Some(found) = message.get(search..)?.find(label) {
        let at = search + found;
        // "Duration: " must not match inside "Billed Duration: " or "Init Duration: ".
        let boundary = at == 0 || matches!(message.as_bytes()[at - 1], b'\t' | b'\n' | b' ');
        let qualified = label != "Duration: " || at == 0 || message.as_bytes()[at - 1] == b'\t';
        if boundary && qualified {
            let rest = &message[at + label.len()..];
            let end = rest.find(['\t', '\n', ' ']).unwrap_or(rest.len());
            return Some(&rest[..end]);
        }
        search = at + label.len();
    }
    None
}

/// The value of discovered field `name` in `message`, if it is a Lambda platform line.
pub(crate) fn field(message: &str, name: &str) -> Option<String> {
    let kind = ["START", "END", "REPORT", "INIT_START"]
        .into_iter()
        .find(|k| message.starts_with(k) && message[k.len()..].starts_with([' ', '\t']));
    let kind = kind?;
    let megabytes = |label: &str| {
        after(message, label)
            .and_then(parse_number)
            .and_then(|mb| format_number(mb * 1_000_000.0))
    };
    match name {
        "@type" => Some(kind.to_string()),
        "@requestId" => after(message, "RequestId: ").map(str::to_string),
        "@duration" => after(message, "Duration: ").map(str::to_string),
        "@billedDuration" => after(message, "Billed Duration: ").map(str::to_string),
        "@initDuration" => after(message, "Init Duration: ").map(str::to_string),
        "@memorySize" => megabytes("Memory Size: "),
        "@maxMemoryUsed" => megabytes("Max Memory Used: "),
        "@xrayTraceId" => after(message, "XRAY TraceId: ").map(str::to_string),
        "@xraySegmentId" => after(message, "SegmentId: ").map(str::to_string),
        _ => None,
    }
}

pub(crate) fn column(messages: &ArrayRef, name: &str) -> Result<ArrayRef> {
    let strings = Strings::new(messages)?;
    let mut out = StringViewBuilder::with_capacity(strings.len());
    for i in 0..strings.len() {
        out.append_option(strings.get(i).and_then(|m| field(m, name)));
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn reads_a_report_line() {
        let line = "REPORT RequestId: abc-1\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 150.30 ms\t\n";
        assert_eq!(field(line, "@type").as_deref(), Some("REPORT"));
        assert_eq!(field(line, "@requestId").as_deref(), Some("abc-1"));
        assert_eq!(field(line, "@duration").as_deref(), Some("102.25"));
        assert_eq!(field(line, "@billedDuration").as_deref(), Some("103"));
        assert_eq!(field(line, "@initDuration").as_deref(), Some("150.30"));
        assert_eq!(field(line, "@memorySize").as_deref(), Some("128000000"));
        assert_eq!(field(line, "@maxMemoryUsed").as_deref(), Some("70000000"));
        assert_eq!(field("hello", "@type"), None);
    }
}
