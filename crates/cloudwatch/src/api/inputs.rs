//! The restJson1 routes of the service, for senders that do not speak PutMetricData:
//! Prometheus remote-write (`POST /api/v1/write`) and OTLP/HTTP metrics
//! (`POST /v1/metrics`). Both take the raw request and answer with a raw response;
//! the mapping is in [`crate::inputs`].

use crate::engine::{CloudWatch, now_ms};
use crate::inputs::{self, Batch, InputError, otlp, prometheus};
use sightline_core::Scope;
use sightline_wire::{ApiError, Value, ValueMap};
use std::sync::Arc;

fn header<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input
        .get("$headers")
        .and_then(|h| h.get(name))
        .and_then(Value::as_str)
}

fn body(input: &Value) -> &[u8] {
    match input.get("Body") {
        Some(Value::Blob(b)) => b,
        _ => &[],
    }
}

fn refused(e: InputError) -> ApiError {
    match e {
        InputError::Unsupported(m) => ApiError::new(415, "UnsupportedMediaType", m),
        InputError::Malformed(m) => ApiError::bad_request("InvalidParameterValue", m),
    }
}

/// The namespace the request names in its header, else in its query string: some
/// senders cannot set headers (Debian's Prometheus 2.42 drops `remote_write.headers`
/// once `authorization` is set), every one can set its URL.
fn namespace_given(input: &Value) -> Option<&str> {
    header(input, inputs::NAMESPACE_HEADER)
        .or_else(|| {
            input
                .get(inputs::NAMESPACE_PARAMETER)
                .and_then(Value::as_str)
        })
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

fn raw(status: i64, headers: ValueMap, body: Vec<u8>) -> Value {
    let mut out = ValueMap::new();
    out.insert("$status".into(), Value::Int(status));
    out.insert("$headers".into(), Value::Map(headers));
    out.insert("$body".into(), Value::Blob(body));
    Value::Map(out)
}

/// Prometheus remote-write 1.0: 204 and an empty body once the samples are durable.
pub(super) async fn remote_write(
    cw: &CloudWatch,
    scope: &Scope,
    input: Value,
) -> Result<Value, ApiError> {
    let request = prometheus::decode(
        header(&input, "content-type"),
        header(&input, "content-encoding"),
        body(&input),
    )
    .map_err(refused)?;
    let namespace: Arc<str> = namespace_given(&input)
        .unwrap_or(prometheus::DEFAULT_NAMESPACE)
        .into();
    let now = now_ms();
    let mut batch = Batch::default();
    prometheus::map(&request, &namespace, &mut batch, now).map_err(refused)?;
    let (accepted, rejected, why) = (batch.accepted, batch.rejected, batch.message());
    cw.store_batch(scope, batch, now).await?;
    if rejected > 0 {
        tracing::warn!(
            account = %scope.account_id,
            accepted,
            rejected,
            why = %why,
            "remote-write samples not stored"
        );
    }
    tracing::debug!(
        series = request.timeseries.len(),
        accepted,
        "remote-write stored"
    );
    let mut headers = ValueMap::new();
    headers.insert(
        "x-sightline-rejected-samples".into(),
        Value::String(rejected.to_string()),
    );
    Ok(raw(204, headers, Vec::new()))
}

/// OTLP/HTTP metrics, answered in the request's encoding with the refused points
/// counted in `partialSuccess`.
pub(super) async fn export_metrics(
    cw: &CloudWatch,
    scope: &Scope,
    input: Value,
) -> Result<Value, ApiError> {
    let encoding =
        otlp::encoding_of(header(&input, "content-type").unwrap_or("")).map_err(refused)?;
    let gzip = match header(&input, "content-encoding").map(str::trim) {
        None | Some("") | Some("identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return Err(refused(InputError::Unsupported(format!(
                "OTLP/HTTP bodies are plain or gzip, not '{other}'"
            ))));
        }
    };
    let plain;
    let bytes = if gzip {
        plain = inputs::gunzip(body(&input)).map_err(refused)?;
        plain.as_slice()
    } else {
        body(&input)
    };
    let request = otlp::decode(encoding, bytes).map_err(refused)?;
    let now = now_ms();
    let mut batch = Batch::default();
    otlp::map(&request, namespace_given(&input), &mut batch, now);
    let (accepted, rejected, why) = (batch.accepted, batch.rejected, batch.message());
    cw.store_batch(scope, batch, now).await?;
    if rejected > 0 {
        tracing::warn!(
            account = %scope.account_id,
            accepted,
            rejected,
            why = %why,
            "OTLP data points not stored"
        );
    }
    let mut headers = ValueMap::new();
    headers.insert(
        "content-type".into(),
        Value::String(encoding.content_type().into()),
    );
    Ok(raw(
        200,
        headers,
        otlp::encode_response(encoding, rejected, &why),
    ))
}
