//! CloudWatch metrics, alarms and dashboards (`monitoring`): PutMetricData into the
//! lake and an in-memory recent window, statistics and metric math over both, alarms
//! evaluated continuously with CloudWatch's M-of-N and missing-data rules, composite
//! alarms, dashboards and widget images. Metrics also arrive over Prometheus
//! remote-write and OTLP/HTTP ([`inputs`]).

pub mod alarms;
pub mod api;
pub mod dashboards;
pub mod engine;
pub mod evaluate;
pub mod hot;
pub mod ingest;
pub mod inputs;
pub mod math;
pub mod model;
pub mod query;
pub mod rollup;
pub mod sketch;
pub mod store;
pub mod widget;

pub use engine::{CloudWatch, Options};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    TagResourceNotFound(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("{message}")]
    DashboardInvalidInput {
        message: String,
        messages: Vec<(String, String)>,
    },
    #[error("{0}")]
    InvalidFormat(String),
    #[error("storage: {0}")]
    Storage(String),
    #[error("meta: {0}")]
    Meta(#[from] sightline_meta::Error),
    #[error("lake: {0}")]
    Lake(#[from] sightline_lake::Error),
    #[error("query: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for sightline_wire::ApiError {
    fn from(e: Error) -> Self {
        use sightline_wire::ApiError;
        let message = e.to_string();
        match e {
            Error::InvalidParameterValue(_) => {
                ApiError::bad_request("InvalidParameterValue", message)
            }
            Error::InvalidParameterCombination(_) => {
                ApiError::bad_request("InvalidParameterCombination", message)
            }
            Error::MissingParameter(_) => ApiError::bad_request("MissingParameter", message),
            Error::Validation(_) => ApiError::bad_request("ValidationError", message),
            Error::ResourceNotFound(_) => ApiError::new(404, "ResourceNotFound", message),
            Error::TagResourceNotFound(_) => {
                ApiError::new(404, "ResourceNotFoundException", message)
            }
            Error::LimitExceeded(_) => ApiError::bad_request("LimitExceeded", message),
            Error::InvalidNextToken(_) => ApiError::bad_request("InvalidNextToken", message),
            Error::InvalidFormat(_) => ApiError::bad_request("InvalidFormat", message),
            Error::DashboardInvalidInput { messages, .. } => {
                let list: Vec<serde_json::Value> = messages
                    .into_iter()
                    .map(|(path, m)| serde_json::json!({"dataPath": path, "message": m}))
                    .collect();
                ApiError::bad_request("InvalidParameterInput", message).with_member(
                    "dashboardValidationMessages",
                    serde_json::Value::Array(list),
                )
            }
            Error::Storage(_)
            | Error::Meta(_)
            | Error::Lake(_)
            | Error::DataFusion(_)
            | Error::Json(_) => {
                tracing::error!(error = %message, "cloudwatch internal failure");
                ApiError::new(500, "InternalServiceError", "Internal service error")
            }
        }
    }
}
