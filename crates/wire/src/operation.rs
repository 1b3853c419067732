//! Operations are declared once, as data: name, IAM action, read-only flag, the resources
//! they touch and (for REST protocols) the HTTP route. Every protocol the service speaks
//! serves the same declaration.

use crate::Protocol;
use crate::value::Value;

/// Where an operation lives on a REST service.
#[derive(Debug, Clone, Copy)]
pub struct HttpRoute {
    pub method: &'static str,
    /// Template with `{label}` and greedy `{label+}` segments, optionally followed by
    /// `?` and query parameters the request must carry (`?versioning`, `?list-type=2`):
    /// S3 tells many operations apart only by those.
    pub path: &'static str,
    /// The operation reads its request raw: headers as the `$headers` member (lower-case
    /// names) and the body as the `Body` blob, instead of a body decoded into members.
    pub raw: bool,
}

/// What the authorizer needs to know about the caller when computing resource ARNs.
pub struct ResourceCtx<'a> {
    pub partition: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// The caller's own ARN, for operations that default to acting on the caller.
    pub caller_arn: &'a str,
}

#[derive(Clone, Copy)]
pub struct OperationDef {
    pub name: &'static str,
    /// IAM action, e.g. `iam:CreateUser`.
    pub action: &'static str,
    pub read_only: bool,
    /// ARNs the call acts on, computed from the decoded input before the call runs, so
    /// that authorization happens before anything changes.
    pub resources: fn(&ResourceCtx<'_>, &Value) -> Vec<String>,
    pub http: Option<HttpRoute>,
    /// False only for calls every authenticated principal may make (GetCallerIdentity).
    pub authorize: bool,
    /// The request members the audit record keeps, when not all of them: a batch of
    /// log events belongs in the log, not again in the trail's record of the call.
    pub audited_members: Option<&'static [&'static str]>,
    /// A top-level JSON request member the codec leaves as text ([`Value::RawJson`])
    /// because the operation reads it faster itself than as a tree.
    pub raw_json: Option<&'static str>,
}

impl OperationDef {
    /// An RPC-style operation (JSON, Query, CBOR protocols).
    pub const fn rpc(
        name: &'static str,
        action: &'static str,
        read_only: bool,
        resources: fn(&ResourceCtx<'_>, &Value) -> Vec<String>,
    ) -> OperationDef {
        OperationDef {
            name,
            action,
            read_only,
            resources,
            http: None,
            authorize: true,
            audited_members: None,
            raw_json: None,
        }
    }

    /// Keeps only these request members in the call's audit record.
    pub const fn audit_only(mut self, members: &'static [&'static str]) -> OperationDef {
        self.audited_members = Some(members);
        self
    }

    /// Leaves this top-level member of a JSON request as its text.
    pub const fn raw_json(mut self, member: &'static str) -> OperationDef {
        self.raw_json = Some(member);
        self
    }

    /// Marks an operation that needs no permission.
    pub const fn public(mut self) -> OperationDef {
        self.authorize = false;
        self
    }

    pub const fn route(mut self, method: &'static str, path: &'static str) -> OperationDef {
        self.http = Some(HttpRoute {
            method,
            path,
            raw: false,
        });
        self
    }

    /// Hands the operation its request headers and raw body (see [`HttpRoute::raw`]);
    /// call after [`OperationDef::route`].
    pub const fn raw_request(mut self) -> OperationDef {
        if let Some(r) = &mut self.http {
            r.raw = true;
        }
        self
    }
}

impl std::fmt::Debug for OperationDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationDef")
            .field("name", &self.name)
            .field("action", &self.action)
            .finish()
    }
}

/// Resource function for operations that act on no particular resource.
pub fn any_resource(_: &ResourceCtx<'_>, _: &Value) -> Vec<String> {
    vec!["*".to_owned()]
}

#[derive(Debug)]
pub struct ServiceDef {
    /// SigV4 signing name: the service in the credential scope.
    pub signing_name: &'static str,
    /// `eventSource` in audit records.
    pub endpoint_prefix: &'static str,
    pub protocols: &'static [Protocol],
    pub xml_namespace: &'static str,
    pub target_prefix: Option<&'static str>,
    /// JSON services that were Query services once answer with `x-amzn-query-error`.
    pub query_compatible: bool,
    /// Services that sign only in us-east-1 (IAM, Organizations) report this region.
    pub global_region: Option<&'static str>,
    /// The code of an authorization denial when the service has its own (SNS says
    /// `AuthorizationError`); the protocol's AccessDenied form otherwise.
    pub denied_code: Option<&'static str>,
    pub operations: &'static [OperationDef],
}

impl ServiceDef {
    pub fn operation(&self, name: &str) -> Option<&OperationDef> {
        self.operations.iter().find(|o| o.name == name)
    }

    pub fn event_source(&self) -> String {
        format!("{}.amazonaws.com", self.endpoint_prefix)
    }

    /// What a service answers for an operation its table declares but its dispatch does
    /// not handle: the unknown-operation error in its first protocol's form.
    pub fn undispatched(&self, operation: &str) -> crate::ApiError {
        let protocol = self
            .protocols
            .first()
            .copied()
            .unwrap_or(Protocol::AwsJson1_1);
        crate::CommonError::UnknownOperation(operation.to_owned()).to_api_error(protocol)
    }
}
