//! One request through the pipeline: authenticate (SigV4), decode, authorize (IAM),
//! run the operation, audit, encode. Every outcome past service identification leaves
//! exactly one audit record, and the response waits for that record to be durable.

use crate::record::{self, RecordParts};
use crate::state::AppState;
use chrono::Utc;
use http::{HeaderMap, Method};
use serde_json::Value as J;
use sightline_core::{Caller, PrincipalKind, Scope};
use sightline_policy::{Context, Outcome};
use sightline_wire::protocol::{Shape, classify, encode_error, encode_output, header};
use sightline_wire::{
    ApiError, CallContext, CommonError, EncodeCtx, OperationDef, Permission, Protocol, ResourceCtx,
    Service, ServiceDef, Value, WireRequest, WireResponse, sigv4,
};
use std::sync::Arc;

pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    pub tls: bool,
    pub body_too_large: bool,
}

/// The protocol to answer in before the operation is known.
fn protocol_hint(service: Option<&dyn Service>, shape: Shape) -> Protocol {
    let pick = |p: Protocol| match service {
        Some(s) if s.def().protocols.contains(&p) => p,
        Some(s) => s.def().protocols.first().copied().unwrap_or(p),
        None => p,
    };
    match shape {
        Shape::Json10 => pick(Protocol::AwsJson1_0),
        Shape::Json11 => pick(Protocol::AwsJson1_1),
        Shape::Cbor => pick(Protocol::RpcV2Cbor),
        Shape::Query => match service {
            Some(s) if s.def().protocols.contains(&Protocol::Ec2Query) => Protocol::Ec2Query,
            _ => pick(Protocol::AwsQuery),
        },
        Shape::Rest => match service {
            Some(s) if s.def().protocols.contains(&Protocol::RestJson1) => Protocol::RestJson1,
            _ => pick(Protocol::RestXml),
        },
    }
}

/// The plain body of a gzip-encoded RPC request (`Content-Encoding: gzip`); `None` when
/// the body is not encoded. REST bodies are left alone: for S3 the encoding belongs to
/// the object, and OTLP reads its own.
fn inflate_rpc_body(req: &WireRequest<'_>, shape: Shape) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let gzip = header(req.headers, "content-encoding")
        .is_some_and(|e| e.split(',').any(|p| p.trim().eq_ignore_ascii_case("gzip")));
    if !gzip || shape == Shape::Rest {
        return Ok(None);
    }
    // Bounded like any body: a small bomb must not expand without end.
    const LIMIT: u64 = 64 << 20;
    let mut out = Vec::with_capacity(req.body.len() * 4);
    flate2::read::GzDecoder::new(req.body)
        .take(LIMIT + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("The request body is not valid gzip: {e}"))?;
    if out.len() as u64 > LIMIT {
        return Err("The decompressed request body is too large".into());
    }
    Ok(Some(out))
}

/// Best-effort operation name for records of calls that failed before decoding.
fn operation_hint(req: &WireRequest<'_>, shape: Shape) -> String {
    match shape {
        Shape::Json10 | Shape::Json11 => header(req.headers, "x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("Unknown")
            .to_owned(),
        Shape::Cbor => req.path.rsplit('/').next().unwrap_or("Unknown").to_owned(),
        Shape::Query => {
            let src = if req.method == Method::GET {
                req.query.as_bytes()
            } else {
                req.body
            };
            form_urlencoded::parse(src)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| "Unknown".into())
        }
        Shape::Rest => format!("{} {}", req.method, req.path),
    }
}

pub async fn handle(state: &Arc<AppState>, inc: Incoming<'_>) -> WireResponse {
    let request_id = uuid::Uuid::new_v4().to_string();
    let req = WireRequest {
        method: inc.method,
        path: inc.path,
        query: inc.query,
        headers: inc.headers,
        body: inc.body,
    };
    let shape = classify(&req);
    let user_agent = header(inc.headers, "user-agent").unwrap_or("").to_owned();
    let now = Utc::now();
    // The record is timed now but written after the call: readers of the trail must
    // wait for it however long the call takes.
    let _inflight = state.clock.begin(now.timestamp_millis());

    let bearer = bearer_auth(state, &req, now);
    let token_route = bearer
        .as_ref()
        .and_then(|b| b.as_ref().ok())
        .map(|(_, route)| *route);
    let by_token = bearer.is_some();
    let auth = match bearer.map_or_else(|| sigv4::parse(&req), |b| b.map(|(a, _)| Some(a))) {
        Ok(Some(a)) => a,
        Ok(None) => {
            let p = protocol_hint(None, shape);
            return encode_error(
                p,
                None,
                &request_id,
                &CommonError::MissingAuthenticationToken.to_api_error(p),
            );
        }
        Err(e) => {
            let p = protocol_hint(None, shape);
            return encode_error(p, None, &request_id, &e.to_api_error(p));
        }
    };
    let Some(service) = state
        .services
        .get(auth.credential.service.as_str())
        .cloned()
    else {
        let p = protocol_hint(None, shape);
        return encode_error(
            p,
            None,
            &request_id,
            &CommonError::UnknownService(auth.credential.service.clone()).to_api_error(p),
        );
    };
    let def = service.def();
    let protocol = protocol_hint(Some(service.as_ref()), shape);
    let region = auth.credential.region.clone();
    // Global services (IAM, Organizations) file their events in their home region, as
    // CloudTrail does, whatever region the client signed for.
    let audit_region = def
        .global_region
        .map(str::to_owned)
        .unwrap_or_else(|| region.clone());

    let op_hint = operation_hint(&req, shape);
    let caller = match authenticate(state, &req, &auth, &inc, def, now, by_token) {
        Ok(c) => c,
        Err(rejected) => {
            let Rejected {
                caller,
                account,
                error,
            } = *rejected;
            let api = error.to_api_error(protocol);
            let identity = match &caller {
                Some(c) => record::user_identity(c),
                None => record::unknown_identity(Some(&auth.credential.access_key_id), &account),
            };
            let resp = encode_error(protocol, Some(def), &request_id, &api);
            return audit_then(
                state,
                &account,
                &audit_region,
                resp,
                RecordParts {
                    user_identity: identity,
                    time: now,
                    event_source: def.event_source(),
                    event_name: &op_hint,
                    region: &audit_region,
                    source_ip: &inc.source_ip,
                    user_agent: &user_agent,
                    error: Some((&api.code, &api.message)),
                    request_parameters: J::Null,
                    response_elements: J::Null,
                    request_id: &request_id,
                    read_only: None,
                    resources: vec![],
                    recipient_account: &account,
                    tls: inc.tls,
                },
                protocol,
                def,
            )
            .await;
        }
    };
    let account = caller.account_id.clone();
    let scope = Scope::new(account.clone(), region.clone());

    let mut op_name = op_hint.clone();
    let mut read_only = None;
    let mut resources = Vec::new();
    let mut request_parameters = J::Null;
    let outcome: Result<(Protocol, &'static OperationDef, Value), (Protocol, ApiError)> = async {
        // Virtual-hosted S3 (`bucket.localhost`) is routed as path style; the signature
        // was checked over the request as sent.
        let hosted_path = virtual_host_path(def, &req);
        // RPC bodies may come gzipped (botocore compresses large PutMetricData calls);
        // the signature covered the compressed bytes, the codecs read the plain ones.
        let inflated = inflate_rpc_body(&req, shape).map_err(|m| (protocol, CommonError::MalformedInput(m).to_api_error(protocol)))?;
        let routed = WireRequest {
            path: hosted_path.as_deref().unwrap_or(req.path),
            body: inflated.as_deref().unwrap_or(req.body),
            ..req
        };
        let (protocol, name, input) = sightline_wire::protocol::resolve(def, &routed).map_err(|(p, e)| (p, e.to_api_error(p)))?;
        op_name = name.clone();
        let op: &'static OperationDef =
            def.operation(&name).ok_or_else(|| (protocol, CommonError::UnknownOperation(name.clone()).to_api_error(protocol)))?;
        if let Some(route) = token_route
            && op.name != route.operation
        {
            let msg = format!("An ingest token may call {} (POST {}) only, not {}", route.operation, route.path, op.name);
            return Err((protocol, CommonError::AccessDenied(msg).to_api_error(protocol)));
        }
        read_only = Some(op.read_only);
        request_parameters = match (&input, op.audited_members) {
            (Value::Map(m), _) if m.is_empty() => J::Null,
            (Value::Map(m), Some(keep)) => J::Object(
                keep.iter()
                    .filter_map(|k| m.get(k).map(|v| ((*k).to_owned(), v.to_audit_json())))
                    .collect(),
            ),
            (v, _) => v.to_audit_json(),
        };
        let rctx = ResourceCtx { partition: "aws", account_id: &account, region: &region, caller_arn: &caller.identity_arn };
        let declared = (op.resources)(&rctx, &input);
        let permissions = service.permissions(&scope, op, &input, declared).await.map_err(|e| (protocol, e))?;
        resources = Vec::with_capacity(permissions.len());
        for p in &permissions {
            if !resources.contains(&p.resource) {
                resources.push(p.resource.clone());
            }
        }
        if op.authorize {
            let context = global_context(&caller, &inc.source_ip, inc.tls, &region, now);
            for Permission { action, resource } in &permissions {
                let policy = service.resource_policy(&scope, resource).await;
                let owner = service.resource_owner(op, resource).await;
                match state.identity.authorize_owned(&caller, action, resource, &context, policy.as_ref(), owner.as_deref()) {
                    Outcome::Allowed => {}
                    denied => {
                        let why = if denied == Outcome::ExplicitDeny {
                            "with an explicit deny in an identity-based policy".to_owned()
                        } else {
                            format!("because no identity-based policy allows the {action} action")
                        };
                        let msg = format!(
                            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
                            caller.identity_arn
                        );
                        let mut denied = CommonError::AccessDenied(msg).to_api_error(protocol);
                        if let Some(code) = def.denied_code {
                            denied.code = code.into();
                        }
                        return Err((protocol, denied));
                    }
                }
            }
        }
        let ctx = CallContext {
            caller: caller.clone(),
            scope: scope.clone(),
            request_id: request_id.clone(),
            source_ip: inc.source_ip.clone(),
            user_agent: user_agent.clone(),
            secure_transport: inc.tls,
            permissions,
        };
        let output = service.call(&ctx, op, input).await.map_err(|e| (protocol, e))?;
        Ok((protocol, op, output))
    }
    .await;

    let (resp, error, response_elements) = match &outcome {
        Ok((p, op, output)) => {
            let resp = encode_output(
                *p,
                &EncodeCtx {
                    service: def,
                    operation: op.name,
                    request_id: &request_id,
                },
                output,
            );
            let elements = if op.read_only {
                J::Null
            } else {
                output.to_audit_json()
            };
            (resp, None, elements)
        }
        Err((p, e)) => (
            encode_error(*p, Some(def), &request_id, e),
            Some(e.clone()),
            J::Null,
        ),
    };
    audit_then(
        state,
        &account,
        &audit_region,
        resp,
        RecordParts {
            user_identity: record::user_identity(&caller),
            time: now,
            event_source: def.event_source(),
            event_name: &op_name,
            region: &audit_region,
            source_ip: &inc.source_ip,
            user_agent: &user_agent,
            error: error
                .as_ref()
                .map(|e| (e.code.as_str(), e.message.as_str())),
            request_parameters,
            response_elements: match response_elements {
                J::Object(m) if m.is_empty() => J::Null,
                other => other,
            },
            request_id: &request_id,
            read_only,
            resources,
            recipient_account: &account,
            tls: inc.tls,
        },
        protocol,
        def,
    )
    .await
}

/// A request refused before its operation ran; still audited, in `account`.
struct Rejected {
    caller: Option<Caller>,
    account: String,
    error: CommonError,
}

/// A push endpoint an ingest token is good for: a bearer request carries no signing
/// scope, so its path picks the service, and there the token may call one operation.
#[derive(Debug)]
struct TokenRoute {
    path: &'static str,
    service: &'static str,
    operation: &'static str,
}

const TOKEN_ROUTES: &[TokenRoute] = &[
    // OTLP/HTTP logs.
    TokenRoute {
        path: "/v1/logs",
        service: "logs",
        operation: "ExportLogs",
    },
    // OTLP/HTTP metrics.
    TokenRoute {
        path: "/v1/metrics",
        service: "monitoring",
        operation: "ExportMetrics",
    },
    // Prometheus remote-write.
    TokenRoute {
        path: "/api/v1/write",
        service: "monitoring",
        operation: "RemoteWrite",
    },
];

/// `Authorization: Bearer <ingest token>` on a push path, as the credential of the
/// access key the token acts through, with the route it may use; `None` when the
/// request is not one.
fn bearer_auth(
    state: &AppState,
    req: &WireRequest<'_>,
    now: chrono::DateTime<Utc>,
) -> Option<Result<(sigv4::ParsedAuth, &'static TokenRoute), CommonError>> {
    let token = header(req.headers, "authorization")?.strip_prefix("Bearer ")?;
    let route = TOKEN_ROUTES.iter().find(|r| r.path == req.path)?;
    let Some(t) = state.tokens.resolve(token.trim()) else {
        return Some(Err(CommonError::InvalidClientTokenId));
    };
    let auth = sigv4::ParsedAuth {
        credential: sigv4::Credential {
            access_key_id: t.access_key_id,
            date: now.format("%Y%m%d").to_string(),
            region: t.region,
            service: route.service.to_owned(),
        },
        signed_headers: Vec::new(),
        signature: String::new(),
        amz_date: now.format("%Y%m%dT%H%M%SZ").to_string(),
        time: now,
        security_token: None,
        presigned: false,
        expires_seconds: None,
    };
    Some(Ok((auth, route)))
}

/// Resolves the access key and checks token, clock, body size and signature.
fn authenticate(
    state: &AppState,
    req: &WireRequest<'_>,
    auth: &sigv4::ParsedAuth,
    inc: &Incoming<'_>,
    def: &sightline_wire::ServiceDef,
    now: chrono::DateTime<Utc>,
    by_token: bool,
) -> Result<Caller, Box<Rejected>> {
    let Some(resolved) = state.identity.authenticate(&auth.credential.access_key_id) else {
        return Err(Box::new(Rejected {
            caller: None,
            account: state.management_account.clone(),
            error: CommonError::InvalidClientTokenId,
        }));
    };
    let caller = resolved.caller;
    let reject = |error: CommonError| {
        Box::new(Rejected {
            caller: Some(caller.clone()),
            account: caller.account_id.clone(),
            error,
        })
    };
    // An ingest token was checked when it was resolved: there is no signature.
    if !by_token {
        match (&resolved.token, &auth.security_token) {
            (Some(want), Some(got)) if want == got => {}
            (None, None) => {}
            _ => return Err(reject(CommonError::InvalidClientTokenId)),
        }
        sigv4::check_time(auth, now).map_err(&reject)?;
    }
    // An oversized body was not read, so its signature cannot be checked.
    if inc.body_too_large {
        return Err(reject(CommonError::PayloadTooLarge));
    }
    if !by_token {
        let key = state.signing_key(&auth.credential, &resolved.secret);
        sigv4::verify(req, auth, &key, def.signing_name == "s3").map_err(&reject)?;
    }
    if resolved.expiration.is_some_and(|exp| exp < now) {
        return Err(reject(CommonError::ExpiredToken));
    }
    Ok(caller)
}

/// The global condition keys of a call, from its parts: also what a service's request
/// to another on the caller's behalf (S3 asking KMS for a data key) is checked with.
pub fn global_context(
    caller: &Caller,
    source_ip: &str,
    tls: bool,
    region: &str,
    now: chrono::DateTime<Utc>,
) -> Context {
    let mut c = Context::new();
    c.set("aws:SourceIp", source_ip.to_owned());
    c.set("aws:SecureTransport", if tls { "true" } else { "false" });
    c.set(
        "aws:CurrentTime",
        now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    c.set("aws:EpochTime", now.timestamp().to_string());
    c.set("aws:PrincipalArn", caller.arn.clone());
    c.set("aws:PrincipalAccount", caller.account_id.clone());
    c.set("aws:userid", caller.principal_id.clone());
    c.set("aws:RequestedRegion", region.to_owned());
    c.set(
        "aws:PrincipalType",
        match caller.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::IAMUser => "User",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            _ => "Unknown",
        },
    );
    if let Some(u) = &caller.user_name {
        c.set("aws:username", u.clone());
    }
    if let Some(s) = &caller.session {
        c.set(
            "aws:MultiFactorAuthPresent",
            if s.mfa_authenticated { "true" } else { "false" },
        );
        c.set(
            "aws:TokenIssueTime",
            s.creation_date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
    }
    c
}

/// Writes the record, then answers; a record that cannot be made durable turns the
/// answer into a 500 so that nothing unaudited is acknowledged.
async fn audit_then(
    state: &Arc<AppState>,
    account: &str,
    region: &str,
    resp: WireResponse,
    parts: RecordParts<'_>,
    protocol: Protocol,
    def: &sightline_wire::ServiceDef,
) -> WireResponse {
    let request_id = parts.request_id.to_owned();
    let time = parts.time;
    let record = record::build(parts);
    match state
        .audit
        .record(&Scope::new(account, region), time, record)
        .await
    {
        Ok(()) => resp,
        Err(e) => {
            tracing::error!(error = %e, "audit record not durable, failing the call");
            let err = ApiError::new(
                500,
                "InternalFailure",
                "The request could not be recorded in the audit trail.",
            );
            encode_error(protocol, Some(def), &request_id, &err)
        }
    }
}

/// The path-style form of a virtual-hosted S3 request: `Host: bucket.localhost[:port]`
/// (or `bucket.s3.localhost`) with path `/key` becomes `/bucket/key`.
fn virtual_host_path(def: &ServiceDef, req: &WireRequest<'_>) -> Option<String> {
    if def.signing_name != "s3" {
        return None;
    }
    let host = header(req.headers, "host")?;
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let bucket = name
        .strip_suffix(".s3.localhost")
        .or_else(|| name.strip_suffix(".localhost"))
        .filter(|b| !b.is_empty() && *b != "s3")?;
    match req.path {
        "" | "/" => Some(format!("/{bucket}")),
        path => Some(format!("/{bucket}{path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::TOKEN_ROUTES;

    /// Every token route names a raw `POST` route of its service, so a token is never
    /// good for a path its service does not serve.
    #[test]
    fn token_routes_are_their_services_push_routes() {
        for r in TOKEN_ROUTES {
            let def = match r.service {
                "logs" => &sightline_logs::api::LOGS,
                "monitoring" => &sightline_cloudwatch::api::MONITORING,
                other => panic!("no service {other}"),
            };
            let op = def
                .operation(r.operation)
                .unwrap_or_else(|| panic!("{} has no {}", r.service, r.operation));
            let route = op.http.as_ref().expect("a REST route");
            assert_eq!(
                (route.method, route.path, route.raw),
                ("POST", r.path, true)
            );
        }
    }
}
