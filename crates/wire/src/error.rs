//! API errors as the protocols carry them: a code, a message and a status, plus the
//! families of authentication errors whose code differs between Query and JSON services.

use crate::Protocol;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub status: u16,
    /// `Sender` or `Receiver` in Query error bodies.
    pub sender_fault: bool,
    /// Headers the error response carries besides the protocol's own (S3 says
    /// `x-amz-delete-marker: true` when the key's latest version is a marker).
    pub headers: Vec<(String, String)>,
    /// Members JSON error bodies carry besides `__type` and `message` (Logs'
    /// `MalformedQueryException` says where in the query the error is).
    pub members: Vec<(String, serde_json::Value)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault: status < 500,
            headers: Vec::new(),
            members: Vec::new(),
        }
    }

    pub fn with_member(mut self, name: &str, value: serde_json::Value) -> Self {
        self.members.push((name.to_owned(), value));
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalFailure", message)
    }
}

/// Errors raised before an operation runs, whose code depends on the protocol family
/// (Query services say `AccessDenied`, JSON services `AccessDeniedException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommonError {
    MissingAuthenticationToken,
    IncompleteSignature(String),
    InvalidClientTokenId,
    SignatureDoesNotMatch(String),
    SignatureExpired(String),
    ExpiredToken,
    AccessDenied(String),
    UnknownOperation(String),
    MalformedInput(String),
    /// A required member is absent.
    MissingParameter(String),
    InvalidParameter(String),
    PayloadTooLarge,
    UnsupportedMediaType(String),
    UnknownService(String),
}

impl CommonError {
    pub fn to_api_error(&self, protocol: Protocol) -> ApiError {
        use CommonError::*;
        let query = matches!(protocol, Protocol::AwsQuery | Protocol::Ec2Query);
        let rest_xml = protocol == Protocol::RestXml;
        let (status, code, message): (u16, &str, String) = match self {
            MissingAuthenticationToken if query => (
                403,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token".into(),
            ),
            MissingAuthenticationToken if rest_xml => (403, "AccessDenied", "Access Denied".into()),
            MissingAuthenticationToken => (
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token".into(),
            ),
            IncompleteSignature(m) if query || rest_xml => (400, "IncompleteSignature", m.clone()),
            IncompleteSignature(m) => (400, "IncompleteSignatureException", m.clone()),
            InvalidClientTokenId if rest_xml => (
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.".into(),
            ),
            InvalidClientTokenId if query => (
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.".into(),
            ),
            InvalidClientTokenId => (
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.".into(),
            ),
            SignatureDoesNotMatch(m) if query || rest_xml => {
                (403, "SignatureDoesNotMatch", m.clone())
            }
            SignatureDoesNotMatch(m) => (400, "InvalidSignatureException", m.clone()),
            SignatureExpired(m) if rest_xml => (403, "RequestTimeTooSkewed", m.clone()),
            SignatureExpired(_) if protocol == Protocol::Ec2Query => {
                (400, "RequestExpired", "Request has expired.".into())
            }
            SignatureExpired(m) if query => (403, "SignatureDoesNotMatch", m.clone()),
            SignatureExpired(m) => (400, "InvalidSignatureException", m.clone()),
            ExpiredToken if query || rest_xml => (
                403,
                "ExpiredToken",
                "The security token included in the request is expired".into(),
            ),
            ExpiredToken => (
                400,
                "ExpiredTokenException",
                "The security token included in the request is expired".into(),
            ),
            AccessDenied(m) if query || rest_xml => (403, "AccessDenied", m.clone()),
            AccessDenied(m) => (400, "AccessDeniedException", m.clone()),
            UnknownOperation(op) if query => (
                400,
                "InvalidAction",
                format!("Could not find operation {op} for version"),
            ),
            UnknownOperation(op) => (
                400,
                "UnknownOperationException",
                format!("Unknown operation {op}"),
            ),
            MalformedInput(m) if query => (400, "MalformedInput", m.clone()),
            MalformedInput(m) if rest_xml => (400, "MalformedXML", m.clone()),
            MalformedInput(m) => (400, "SerializationException", m.clone()),
            MissingParameter(m) if query => (400, "MissingParameter", m.clone()),
            MissingParameter(m) => (400, "ValidationException", m.clone()),
            InvalidParameter(m) if query => (400, "InvalidParameterValue", m.clone()),
            InvalidParameter(m) => (400, "ValidationException", m.clone()),
            PayloadTooLarge if rest_xml => (
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size".into(),
            ),
            PayloadTooLarge => (
                413,
                "RequestEntityTooLarge",
                "Request body is larger than the service accepts".into(),
            ),
            UnsupportedMediaType(m) => (
                415,
                if query {
                    "UnsupportedMediaType"
                } else {
                    "UnsupportedMediaTypeException"
                },
                m.clone(),
            ),
            UnknownService(s) => (
                400,
                if query {
                    "InvalidAction"
                } else {
                    "UnknownServiceException"
                },
                format!("Credential should be scoped to a valid service: '{s}'."),
            ),
        };
        ApiError::new(status, code, message)
    }
}
