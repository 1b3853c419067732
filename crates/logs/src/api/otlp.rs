//! OTLP/HTTP logs (`POST /v1/logs`), the one restJson1 route of the service.

use crate::engine::Logs;
use crate::{Error, Result};
use sightline_wire::Value;

/// OTLP/HTTP logs: the body (possibly gzipped) in the request's encoding, answered in
/// the same encoding.
pub(super) async fn export(l: &Logs, scope: &sightline_core::Scope, input: Value) -> Result<Value> {
    use crate::otlp::{self, Routing};
    use sightline_wire::ValueMap;
    let header = |name: &str| {
        input
            .get("$headers")
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let encoding = otlp::encoding_of(&header("content-type").unwrap_or_default())?;
    let mut body = match input.get("Body") {
        Some(Value::Blob(b)) => b.clone(),
        _ => Vec::new(),
    };
    if header("content-encoding").is_some_and(|e| e.eq_ignore_ascii_case("gzip")) {
        use std::io::Read;
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut plain)
            .map_err(|e| Error::InvalidParameter(format!("gzip body: {e}")))?;
        body = plain;
    }
    let request = otlp::decode(encoding, &body)?;
    let routing = Routing {
        group: header("x-aws-log-group"),
        stream: header("x-aws-log-stream"),
    };
    let routed = otlp::route(&request, &routing, crate::engine::now_ms());
    let (rejected, why) = l.ingest_otlp(scope, routed).await?;
    let mut headers = ValueMap::new();
    headers.insert(
        "content-type".into(),
        Value::String(encoding.content_type().into()),
    );
    let mut out = ValueMap::new();
    out.insert("$status".into(), Value::Int(200));
    out.insert("$headers".into(), Value::Map(headers));
    out.insert(
        "$body".into(),
        Value::Blob(otlp::encode_response(encoding, rejected, &why)),
    );
    Ok(Value::Map(out))
}
