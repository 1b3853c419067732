//! `sightline query`: SQL over the caller's account's datasets, as an ordinary signed,
//! authorized and audited API call (awsJson1_1, action `sightline:ExecuteQuery`).

use serde::{Deserialize, Serialize};
use sightline_lake::Lake;
use sightline_wire::{
    ApiError, CallContext, DeError, OperationDef, Protocol, Service, ServiceDef, Value,
    any_resource, typed,
};
use std::sync::Arc;

pub static QUERY: ServiceDef = ServiceDef {
    signing_name: "sightline",
    endpoint_prefix: "sightline",
    protocols: &[Protocol::AwsJson1_1],
    xml_namespace: "",
    target_prefix: Some("Sightline_20261126"),
    query_compatible: false,
    global_region: None,
    operations: &[OperationDef::rpc(
        "ExecuteQuery",
        "sightline:ExecuteQuery",
        true,
        any_resource,
    )],
};

fn invalid(e: &DeError) -> ApiError {
    ApiError::bad_request("ValidationException", e.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExecuteQueryIn {
    sql: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Column {
    name: String,
    #[serde(rename = "Type")]
    kind: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExecuteQueryOut {
    columns: Vec<Column>,
    /// One JSON object per row, keyed by column name.
    rows: Vec<Value>,
}

pub struct QueryService {
    pub lake: Arc<Lake>,
}

#[async_trait::async_trait]
impl Service for QueryService {
    fn def(&self) -> &'static ServiceDef {
        &QUERY
    }

    async fn call(
        &self,
        ctx: &CallContext,
        _op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        typed(input, invalid, |r: ExecuteQueryIn| async move {
            let out = self
                .lake
                .sql(&ctx.scope.account_id, &r.sql)
                .await
                .map_err(|e| ApiError::bad_request("InvalidQueryException", e.to_string()))?;
            let rows = out
                .json_rows()
                .map_err(|e| ApiError::internal(e.to_string()))?
                .into_iter()
                .map(|r| sightline_wire::codec::json::from_json(serde_json::Value::Object(r)))
                .collect();
            let columns = out
                .columns
                .into_iter()
                .map(|(name, kind)| Column { name, kind })
                .collect();
            Ok(ExecuteQueryOut { columns, rows })
        })
        .await
    }
}
