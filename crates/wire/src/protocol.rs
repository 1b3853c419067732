//! Which protocol a request speaks, and the generic decode/encode of operation input and
//! output for each one.

use crate::codec::{cbor, json, query, xml};
use crate::error::{ApiError, CommonError};
use crate::operation::{HttpRoute, ServiceDef};
use crate::value::{Value, ValueMap};
use http::{HeaderMap, Method};

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
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
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
            let input = json::decode(req.body).map_err(|m| (p, CommonError::MalformedInput(m)))?;
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
            for op in service.operations {
                let Some(route) = &op.http else { continue };
                if let Some(labels) = route.matches(req.method.as_str(), req.path) {
                    let mut input = match p {
                        Protocol::RestJson1 => json::decode(req.body)
                            .map_err(|m| (p, CommonError::MalformedInput(m)))?,
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
                    for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
                        if !k.starts_with("X-Amz-") {
                            m.insert(k.into_owned(), Value::String(v.into_owned()));
                        }
                    }
                    for (k, v) in labels {
                        m.insert(k, Value::String(v));
                    }
                    return Ok((p, op.name.to_owned(), input));
                }
            }
            Err((
                p,
                CommonError::UnknownOperation(format!("{} {}", req.method, req.path)),
            ))
        }
    }
}

impl HttpRoute {
    /// Matches a path against the route's template, returning the decoded labels.
    pub fn matches(&self, method: &str, path: &str) -> Option<Vec<(String, String)>> {
        if !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        // Only the one leading slash goes: `//k` has an empty first segment, not `k`.
        let tpl: Vec<&str> = self
            .path
            .strip_prefix('/')
            .unwrap_or(self.path)
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

pub fn encode_output(protocol: Protocol, ctx: &EncodeCtx<'_>, output: &Value) -> WireResponse {
    let (content_type, body, mut headers) = match protocol {
        Protocol::AwsJson1_0 => ("application/x-amz-json-1.0", json::encode(output), vec![]),
        Protocol::AwsJson1_1 => ("application/x-amz-json-1.1", json::encode(output), vec![]),
        Protocol::RestJson1 => ("application/json", json::encode(output), vec![]),
        Protocol::RpcV2Cbor => (
            "application/cbor",
            cbor::encode(output),
            vec![("smithy-protocol", "rpc-v2-cbor".to_owned())],
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
            let mut out = String::new();
            // S3 answers operations without an output document with an empty body.
            if let Value::Map(m) = output
                && let Some((root, Value::Map(inner))) = m.iter().next()
            {
                out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
                out.push('<');
                out.push_str(root);
                out.push_str(" xmlns=\"");
                xml::escape(ctx.service.xml_namespace, &mut out);
                out.push_str("\">");
                xml::write_members(inner, xml::ListStyle::Flattened, &mut out);
                out.push_str("</");
                out.push_str(root);
                out.push('>');
            }
            ("application/xml", out.into_bytes(), vec![])
        }
    };
    headers.push(("x-amzn-requestid", ctx.request_id.to_owned()));
    if protocol == Protocol::RestXml {
        // S3 clients read their own request-id header.
        headers.push(("x-amz-request-id", ctx.request_id.to_owned()));
    }
    WireResponse {
        status: 200,
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
    let mut headers = vec![("x-amzn-requestid", request_id.to_owned())];
    if protocol == Protocol::RestXml {
        headers.push(("x-amz-request-id", request_id.to_owned()));
    }
    let (content_type, body) = match protocol {
        Protocol::AwsJson1_0 | Protocol::AwsJson1_1 | Protocol::RestJson1 => {
            headers.push(("x-amzn-errortype", err.code.clone()));
            push_query_error(&mut headers, service, err);
            let ct = match protocol {
                Protocol::AwsJson1_0 => "application/x-amz-json-1.0",
                Protocol::AwsJson1_1 => "application/x-amz-json-1.1",
                _ => "application/json",
            };
            (ct, json::encode_error(&err.code, &err.message))
        }
        Protocol::RpcV2Cbor => {
            headers.push(("smithy-protocol", "rpc-v2-cbor".to_owned()));
            push_query_error(&mut headers, service, err);
            (
                "application/cbor",
                cbor::encode_error(&err.code, &err.message),
            )
        }
        Protocol::AwsQuery => (
            "text/xml",
            query::encode_error(ns, request_id, &err.code, &err.message, err.sender_fault),
        ),
        Protocol::Ec2Query => (
            "text/xml;charset=UTF-8",
            query::encode_ec2_error(request_id, &err.code, &err.message),
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
        content_type,
        headers,
        body,
    }
}

/// Services that once spoke Query let query-compatible clients recover the Query code.
fn push_query_error(
    headers: &mut Vec<(&'static str, String)>,
    service: Option<&ServiceDef>,
    err: &ApiError,
) {
    if service.is_some_and(|s| s.query_compatible) {
        let fault = if err.sender_fault {
            "Sender"
        } else {
            "Receiver"
        };
        headers.push(("x-amzn-query-error", format!("{};{fault}", err.code)));
    }
}

/// Empty input map, for operations without members.
pub fn empty() -> Value {
    Value::Map(ValueMap::new())
}
