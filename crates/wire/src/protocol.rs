//! Which protocol a request speaks, and the generic decode/encode of operation input and
//! output for each one.

use crate::codec::{cbor, json, query, xml};
use crate::error::{ApiError, CommonError};
use crate::operation::{HttpRoute, ServiceDef};
use crate::value::{Value, ValueMap};
use http::{HeaderMap, Method};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    AwsJson1_0,
    AwsJson1_1,
    AwsQuery,
    Ec2Query,
    RpcV2Cbor,
    RestJson1,
    RestXml,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::AwsJson1_0 => "awsJson1_0",
            Protocol::AwsJson1_1 => "awsJson1_1",
            Protocol::AwsQuery => "awsQuery",
            Protocol::Ec2Query => "ec2",
            Protocol::RpcV2Cbor => "smithy-rpc-v2-cbor",
            Protocol::RestJson1 => "restJson1",
            Protocol::RestXml => "restXml",
        }
    }
}

/// The parts of an HTTP request the codecs read.
pub struct WireRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The encoded response; the server adds transport headers.
#[derive(Debug, Clone, PartialEq)]
pub struct WireResponse {
    pub status: u16,
    pub content_type: Cow<'static, str>,
    /// Lower-case names; S3 responses carry names only known at run time
    /// (`x-amz-meta-*`).
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// The protocol family a request looks like, before the service is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Json10,
    Json11,
    Query,
    Cbor,
    Rest,
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Classifies a request by its headers and path; the service then decides between
/// protocols of the same family (awsQuery vs ec2, restJson1 vs restXml).
pub fn classify(req: &WireRequest<'_>) -> Shape {
    let ct = header(req.headers, "content-type").unwrap_or("");
    if header(req.headers, "x-amz-target").is_some() {
        return if ct.starts_with("application/x-amz-json-1.0") {
            Shape::Json10
        } else {
            Shape::Json11
        };
    }
    if header(req.headers, "smithy-protocol") == Some("rpc-v2-cbor")
        || (req.path.starts_with("/service/") && req.path.contains("/operation/"))
    {
        return Shape::Cbor;
    }
    if ct.starts_with("application/x-www-form-urlencoded")
        || (req.method == Method::GET && query_has_action(req.query))
    {
        return Shape::Query;
    }
    Shape::Rest
}

fn query_has_action(q: &str) -> bool {
    form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "Action")
}

/// Resolves the protocol and the operation name for a service.
pub fn resolve(
    service: &ServiceDef,
    req: &WireRequest<'_>,
) -> Result<(Protocol, String, Value), (Protocol, CommonError)> {
    let shape = classify(req);
    let want = |p: Protocol| -> Result<Protocol, (Protocol, CommonError)> {
        if service.protocols.contains(&p) {
            Ok(p)
        } else {
            Err((
                service.protocols.first().copied().unwrap_or(p),
                CommonError::UnsupportedMediaType(format!(
                    "{} does not speak {}",
                    service.signing_name,
                    p.name()
                )),
            ))
        }
    };
    match shape {
        Shape::Json10 | Shape::Json11 => {
            let p = want(if shape == Shape::Json10 {
                Protocol::AwsJson1_0
            } else {
                Protocol::AwsJson1_1
            })?;
            let target = header(req.headers, "x-amz-target").unwrap_or("");
            let op = match target.rsplit_once('.') {
                Some((prefix, op)) if service.target_prefix.is_none_or(|t| t == prefix) => {
                    op.to_owned()
                }
                _ => return Err((p, CommonError::UnknownOperation(target.to_owned()))),
            };
            let raw = service.operation(&op).and_then(|o| o.raw_json);
            let input = json::decode_keeping(req.body, raw)
                .map_err(|m| (p, CommonError::MalformedInput(m)))?;
            Ok((p, op, input))
        }
        Shape::Cbor => {
            let p = want(Protocol::RpcV2Cbor)?;
            let op = req.path.rsplit('/').next().unwrap_or("").to_owned();
            let input = cbor::decode(req.body).map_err(|m| (p, CommonError::MalformedInput(m)))?;
            Ok((p, op, input))
        }
        Shape::Query => {
            let p = if service.protocols.contains(&Protocol::Ec2Query) {
                Protocol::Ec2Query
            } else {
                want(Protocol::AwsQuery)?
            };
            let form = if req.method == Method::GET {
                req.query.as_bytes()
            } else {
                req.body
            };
            let (action, input) = query::decode(form, p == Protocol::Ec2Query)
                .map_err(|m| (p, CommonError::MalformedInput(m)))?;
            let action = action.ok_or((p, CommonError::MissingParameter("Action".into())))?;
            Ok((p, action, input))
        }
        Shape::Rest => {
            let p = if service.protocols.contains(&Protocol::RestXml) {
                Protocol::RestXml
            } else if service.protocols.contains(&Protocol::RestJson1) {
                Protocol::RestJson1
            } else {
                let p = service
                    .protocols
                    .first()
                    .copied()
                    .unwrap_or(Protocol::AwsJson1_1);
                return Err((
                    p,
                    CommonError::UnsupportedMediaType(
                        "missing X-Amz-Target or form content type".into(),
                    ),
                ));
            };
            // Parsed once: every route's query discriminators and the input read it.
            let query: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            // The most specific route wins: `GET /{Bucket}?versioning` over `GET /{Bucket}`.
            let mut best: Option<(usize, &crate::operation::OperationDef, &HttpRoute, Labels)> =
                None;
            for op in service.operations {
                let Some(route) = &op.http else { continue };
                let Some(labels) = route.matches(req.method.as_str(), req.path) else {
                    continue;
                };
                let Some(specific) = route.matches_query(&query) else {
                    continue;
                };
                if best.as_ref().is_none_or(|(n, ..)| specific > *n) {
                    best = Some((specific, op, route, labels));
                }
            }
            if let Some((_, op, route, labels)) = best {
                let mut input = match p {
                    _ if route.raw => {
                        let mut m = ValueMap::new();
                        m.insert("$headers".into(), header_map(req.headers));
                        m.insert("Body".into(), Value::Blob(req.body.to_vec()));
                        Value::Map(m)
                    }
                    Protocol::RestJson1 => {
                        json::decode(req.body).map_err(|m| (p, CommonError::MalformedInput(m)))?
                    }
                    _ if req.body.is_empty() => Value::map(),
                    _ => {
                        let (_, v) = xml::parse(req.body)
                            .map_err(|m| (p, CommonError::MalformedInput(m)))?;
                        v
                    }
                };
                let Value::Map(m) = &mut input else {
                    return Err((
                        p,
                        CommonError::MalformedInput("body must be an object".into()),
                    ));
                };
                for (k, v) in query {
                    if !k.starts_with("X-Amz-") {
                        m.insert(k, Value::String(v));
                    }
                }
                for (k, v) in labels {
                    m.insert(k, Value::String(v));
                }
                return Ok((p, op.name.to_owned(), input));
            }
            Err((
                p,
                CommonError::UnknownOperation(format!("{} {}", req.method, req.path)),
            ))
        }
    }
}

/// Response headers: lower-case names, most of them static.
type Headers = Vec<(Cow<'static, str>, String)>;

/// Decoded path labels of a matched route.
type Labels = Vec<(String, String)>;

/// Request headers as a member map, lower-case names, repeated headers joined by `,`.
fn header_map(headers: &HeaderMap) -> Value {
    let mut m = ValueMap::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        m.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    Value::Map(m)
}

impl HttpRoute {
    fn template(&self) -> (&'static str, Option<&'static str>) {
        match self.path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.path, None),
        }
    }

    /// How many query parameters of the route's template the request carries, or
    /// `None` when one is missing (or has another value).
    pub fn matches_query(&self, given: &[(String, String)]) -> Option<usize> {
        let Some(wanted) = self.template().1 else {
            return Some(0);
        };
        let mut n = 0;
        for w in wanted.split('&') {
            let (k, v) = match w.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (w, None),
            };
            let found = given
                .iter()
                .any(|(gk, gv)| gk == k && v.is_none_or(|v| gv == v));
            if !found {
                return None;
            }
            n += 1;
        }
        Some(n)
    }

    /// Matches a path against the route's template, returning the decoded labels.
    pub fn matches(&self, method: &str, path: &str) -> Option<Vec<(String, String)>> {
        if !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let template = self.template().0;
        // Only the one leading slash goes: `//k` has an empty first segment, not `k`.
        let tpl: Vec<&str> = template
            .strip_prefix('/')
            .unwrap_or(template)
            .split('/')
            .collect();
        let segs: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let mut labels = Vec::new();
        for (i, t) in tpl.iter().enumerate() {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                if let Some(greedy) = name.strip_suffix('+') {
                    let rest = segs.get(i..)?.join("/");
                    // A greedy label matches at least one character, so `PUT /bucket`
                    // is not `PUT /{Bucket}/{Key+}` with an empty key.
                    if rest.is_empty() {
                        return None;
                    }
                    labels.push((greedy.to_owned(), decode_segment(&rest)));
                    return Some(labels);
                }
                let s = segs.get(i)?;
                if s.is_empty() {
                    return None;
                }
                labels.push((name.to_owned(), decode_segment(s)));
            } else if segs.get(i) != Some(t) {
                return None;
            }
        }
        (segs.len() == tpl.len()).then_some(labels)
    }
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Context for encoding a response.
pub struct EncodeCtx<'a> {
    pub service: &'a ServiceDef,
    pub operation: &'a str,
    pub request_id: &'a str,
}

/// Members a REST operation sets on the response itself: `$status`, `$headers`,
/// `$body` (raw bytes instead of a document).
fn raw_members(output: &Value) -> (Option<u16>, Headers, Option<Vec<u8>>) {
    let mut status = None;
    let mut headers = Vec::new();
    let mut body = None;
    if let Value::Map(m) = output {
        if let Some(Value::Int(code)) = m.get("$status") {
            status = u16::try_from(*code).ok();
        }
        if let Some(Value::Map(h)) = m.get("$headers") {
            for (k, v) in h.iter() {
                if let Some(v) = v.as_str() {
                    headers.push((Cow::Owned(k.to_ascii_lowercase()), v.to_owned()));
                }
            }
        }
        if let Some(Value::Blob(b)) = m.get("$body") {
            body = Some(b.clone());
        }
    }
    (status, headers, body)
}

pub fn encode_output(protocol: Protocol, ctx: &EncodeCtx<'_>, output: &Value) -> WireResponse {
    let mut status = 200;
    let (content_type, body, mut headers): (&'static str, Vec<u8>, Headers) = match protocol {
        Protocol::AwsJson1_0 => ("application/x-amz-json-1.0", json::encode(output), vec![]),
        Protocol::AwsJson1_1 => ("application/x-amz-json-1.1", json::encode(output), vec![]),
        Protocol::RestJson1 => {
            let (code, headers, raw_body) = raw_members(output);
            status = code.unwrap_or(status);
            let body = raw_body.unwrap_or_else(|| match output {
                Value::Map(m) => {
                    let mut doc = ValueMap::new();
                    for (k, v) in m.iter().filter(|(k, _)| !k.starts_with('$')) {
                        doc.insert(k.clone(), v.clone());
                    }
                    json::encode(&Value::Map(doc))
                }
                other => json::encode(other),
            });
            ("application/json", body, headers)
        }
        Protocol::RpcV2Cbor => (
            "application/cbor",
            cbor::encode(output),
            vec![("smithy-protocol".into(), "rpc-v2-cbor".to_owned())],
        ),
        Protocol::AwsQuery => (
            "text/xml",
            query::encode(
                ctx.operation,
                ctx.service.xml_namespace,
                ctx.request_id,
                output,
            ),
            vec![],
        ),
        Protocol::Ec2Query => (
            "text/xml;charset=UTF-8",
            query::encode_ec2(
                ctx.operation,
                ctx.service.xml_namespace,
                ctx.request_id,
                output,
            ),
            vec![],
        ),
        Protocol::RestXml => {
            let (code, headers, raw_body) = raw_members(output);
            status = code.unwrap_or(status);
            let mut out = String::new();
            if let Value::Map(m) = output {
                // S3 answers operations without an output document with an empty body.
                if let Some((root, doc)) = m.iter().find(|(k, _)| !k.starts_with('$')) {
                    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
                    out.push('<');
                    out.push_str(root);
                    out.push_str(" xmlns=\"");
                    xml::escape(ctx.service.xml_namespace, &mut out);
                    out.push_str("\">");
                    match doc {
                        Value::Map(inner) => {
                            xml::write_members(inner, xml::ListStyle::Flattened, &mut out)
                        }
                        Value::String(text) => xml::escape(text, &mut out),
                        _ => {}
                    }
                    out.push_str("</");
                    out.push_str(root);
                    out.push('>');
                }
            }
            let body = raw_body.unwrap_or_else(|| out.into_bytes());
            ("application/xml", body, headers)
        }
    };
    let content_type = match headers.iter().position(|(k, _)| k == "content-type") {
        Some(at) => Cow::Owned(headers.remove(at).1),
        None => Cow::Borrowed(content_type),
    };
    headers.push(("x-amzn-requestid".into(), ctx.request_id.to_owned()));
    if protocol == Protocol::RestXml {
        // S3 clients read their own request-id header.
        headers.push(("x-amz-request-id".into(), ctx.request_id.to_owned()));
    }
    WireResponse {
        status,
        content_type,
        headers,
        body,
    }
}

pub fn encode_error(
    protocol: Protocol,
    service: Option<&ServiceDef>,
    request_id: &str,
    err: &ApiError,
) -> WireResponse {
    let ns = service.map(|s| s.xml_namespace).unwrap_or("");
    let mut headers: Vec<(Cow<'static, str>, String)> =
        vec![("x-amzn-requestid".into(), request_id.to_owned())];
    if protocol == Protocol::RestXml {
        headers.push(("x-amz-request-id".into(), request_id.to_owned()));
    }
    // A service whose JSON error type differs from its Query code (SQS's
    // `QueueDoesNotExist` is `AWS.SimpleQueueService.NonExistentQueue`) sets the
    // `x-amzn-query-error` header itself; Query bodies carry that code.
    let query_code = err
        .headers
        .iter()
        .find(|(k, _)| k == QUERY_ERROR)
        .and_then(|(_, v)| v.split(';').next())
        .filter(|c| !c.is_empty());
    let query = matches!(protocol, Protocol::AwsQuery | Protocol::Ec2Query);
    for (k, v) in &err.headers {
        if !(query && k == QUERY_ERROR) {
            headers.push((Cow::Owned(k.clone()), v.clone()));
        }
    }
    let code = match query_code {
        Some(c) if query => c,
        _ => err.code.as_str(),
    };
    let (content_type, body) = match protocol {
        Protocol::AwsJson1_0 | Protocol::AwsJson1_1 | Protocol::RestJson1 => {
            headers.push(("x-amzn-errortype".into(), err.code.clone()));
            push_query_error(&mut headers, service, err);
            let ct = match protocol {
                Protocol::AwsJson1_0 => "application/x-amz-json-1.0",
                Protocol::AwsJson1_1 => "application/x-amz-json-1.1",
                _ => "application/json",
            };
            (
                ct,
                json::encode_error(&err.code, &err.message, &err.members),
            )
        }
        Protocol::RpcV2Cbor => {
            headers.push(("smithy-protocol".into(), "rpc-v2-cbor".to_owned()));
            push_query_error(&mut headers, service, err);
            (
                "application/cbor",
                cbor::encode_error(&err.code, &err.message),
            )
        }
        Protocol::AwsQuery => (
            "text/xml",
            query::encode_error(ns, request_id, code, &err.message, err.sender_fault),
        ),
        Protocol::Ec2Query => (
            "text/xml;charset=UTF-8",
            query::encode_ec2_error(request_id, code, &err.message),
        ),
        Protocol::RestXml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
            xml::escape(&err.code, &mut out);
            out.push_str("</Code><Message>");
            xml::escape(&err.message, &mut out);
            out.push_str("</Message><RequestId>");
            xml::escape(request_id, &mut out);
            out.push_str("</RequestId></Error>");
            ("application/xml", out.into_bytes())
        }
    };
    WireResponse {
        status: err.status,
        content_type: Cow::Borrowed(content_type),
        headers,
        body,
    }
}

/// The header carrying the Query code of a query-compatible service's error.
const QUERY_ERROR: &str = "x-amzn-query-error";

/// Services that once spoke Query let query-compatible clients recover the Query code
/// (the error's own code unless the service set the header itself).
fn push_query_error(
    headers: &mut Vec<(Cow<'static, str>, String)>,
    service: Option<&ServiceDef>,
    err: &ApiError,
) {
    let set = err.headers.iter().any(|(k, _)| k == QUERY_ERROR);
    if !set && service.is_some_and(|s| s.query_compatible) {
        let fault = if err.sender_fault {
            "Sender"
        } else {
            "Receiver"
        };
        headers.push((QUERY_ERROR.into(), format!("{};{fault}", err.code)));
    }
}

/// Empty input map, for operations without members.
pub fn empty() -> Value {
    Value::Map(ValueMap::new())
}
