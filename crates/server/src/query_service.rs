//! Sightline's own API (awsJson1_1, signing name `sightline`), as ordinary signed,
//! authorized and audited calls: `sightline query` (SQL over the caller's account's
//! datasets) and the transparency log (checkpoints, inclusion and consistency proofs of
//! the caller's account and region).

use serde::{Deserialize, Serialize};
use sightline_lake::Lake;
use sightline_trail::tlog::Tlog;
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
    denied_code: None,
    operations: &[
        OperationDef::rpc("ExecuteQuery", "sightline:ExecuteQuery", true, any_resource),
        OperationDef::rpc(
            "GetCheckpoint",
            "sightline:GetCheckpoint",
            true,
            any_resource,
        ),
        OperationDef::rpc(
            "GetInclusionProof",
            "sightline:GetInclusionProof",
            true,
            any_resource,
        ),
        OperationDef::rpc(
            "GetConsistencyProof",
            "sightline:GetConsistencyProof",
            true,
            any_resource,
        ),
        OperationDef::rpc(
            "CreateIngestToken",
            "sightline:CreateIngestToken",
            false,
            any_resource,
        )
        // The response holds the token's secret: the trail keeps the call, not it.
        .audit_only(&["Description"]),
        OperationDef::rpc(
            "ListIngestTokens",
            "sightline:ListIngestTokens",
            true,
            any_resource,
        ),
        OperationDef::rpc(
            "DeleteIngestToken",
            "sightline:DeleteIngestToken",
            false,
            any_resource,
        ),
    ],
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTokenIn {
    #[serde(default)]
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TokenOut {
    token_id: String,
    description: String,
    created_by: String,
    region: String,
    created_at: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTokenOut {
    token_id: String,
    /// The bearer secret, shown once.
    token: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTokensOut {
    tokens: Vec<TokenOut>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteTokenIn {
    token_id: String,
}

fn token_error(e: crate::tokens::TokenError) -> ApiError {
    use crate::tokens::TokenError as E;
    match e {
        E::Limit(m) => ApiError::bad_request("LimitExceededException", m),
        E::NotFound(m) => ApiError::bad_request("ResourceNotFoundException", m),
        E::Invalid(m) => ApiError::bad_request("ValidationException", m),
        other => ApiError::internal(other.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InclusionIn {
    event_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConsistencyIn {
    first_size: u64,
    /// Default: the current size.
    second_size: Option<u64>,
}

#[derive(Deserialize)]
struct NoInput {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CheckpointOut {
    checkpoint: String,
    verifier_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InclusionOut {
    leaf_index: u64,
    tree_size: u64,
    /// Base64 hashes, leaf side first.
    proof: Vec<String>,
    /// The record the leaf hashes (its exact bytes as logged).
    record: String,
    checkpoint: String,
    verifier_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConsistencyOut {
    proof: Vec<String>,
    checkpoint: String,
    verifier_key: String,
}

fn b64(h: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(h)
}

fn tlog_error(e: sightline_trail::Error) -> ApiError {
    ApiError::internal(e.to_string())
}

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
    pub tlog: Arc<Tlog>,
    pub tokens: Arc<crate::tokens::IngestTokens>,
}

#[async_trait::async_trait]
impl Service for QueryService {
    fn def(&self) -> &'static ServiceDef {
        &QUERY
    }

    async fn call(
        &self,
        ctx: &CallContext,
        op: &'static OperationDef,
        input: Value,
    ) -> Result<Value, ApiError> {
        let (account, region) = (&ctx.scope.account_id, &ctx.scope.region);
        match op.name {
            "GetCheckpoint" => {
                return typed(input, invalid, |_: NoInput| async move {
                    let checkpoint = self
                        .tlog
                        .checkpoint(account, region)
                        .await
                        .map_err(tlog_error)?;
                    Ok(CheckpointOut {
                        checkpoint,
                        verifier_key: self.tlog.verifier_key(),
                    })
                })
                .await;
            }
            "GetInclusionProof" => {
                return typed(input, invalid, |r: InclusionIn| async move {
                    let p = self
                        .tlog
                        .prove_inclusion(account, region, &r.event_id)
                        .await
                        .map_err(tlog_error)?
                        .ok_or_else(|| {
                            ApiError::new(
                                404,
                                "ResourceNotFoundException",
                                format!(
                                    "Event {} is not in the transparency log of {account} in {region} (yet: records are sequenced within seconds)",
                                    r.event_id
                                ),
                            )
                        })?;
                    Ok(InclusionOut {
                        leaf_index: p.index,
                        tree_size: p.size,
                        proof: p.proof.iter().map(|h| b64(h)).collect(),
                        record: p.record,
                        checkpoint: p.checkpoint,
                        verifier_key: self.tlog.verifier_key(),
                    })
                })
                .await;
            }
            "GetConsistencyProof" => {
                return typed(input, invalid, |r: ConsistencyIn| async move {
                    let p = self
                        .tlog
                        .prove_consistency(account, region, r.first_size, r.second_size)
                        .await
                        .map_err(tlog_error)?
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "ValidationException",
                                format!(
                                    "FirstSize {} and SecondSize {:?} must satisfy FirstSize <= SecondSize <= the size of the log of {account} in {region}",
                                    r.first_size, r.second_size
                                ),
                            )
                        })?;
                    Ok(ConsistencyOut {
                        proof: p.proof.iter().map(|h| b64(h)).collect(),
                        checkpoint: p.checkpoint,
                        verifier_key: self.tlog.verifier_key(),
                    })
                })
                .await;
            }
            "CreateIngestToken" => {
                return typed(input, invalid, |r: CreateTokenIn| async move {
                    let (t, token) = self
                        .tokens
                        .create(&ctx.caller, region, r.description)
                        .map_err(token_error)?;
                    Ok(CreateTokenOut {
                        token_id: t.id,
                        token,
                    })
                })
                .await;
            }
            "ListIngestTokens" => {
                return typed(input, invalid, |_: NoInput| async move {
                    Ok(ListTokensOut {
                        tokens: self
                            .tokens
                            .list(account)
                            .into_iter()
                            .map(|t| TokenOut {
                                token_id: t.id,
                                description: t.description,
                                created_by: t.created_by,
                                region: t.region,
                                created_at: t.created_ms as f64 / 1000.0,
                            })
                            .collect(),
                    })
                })
                .await;
            }
            "DeleteIngestToken" => {
                return typed(input, invalid, |r: DeleteTokenIn| async move {
                    self.tokens
                        .delete(account, &r.token_id)
                        .map_err(token_error)?;
                    Ok(serde_json::json!({}))
                })
                .await;
            }
            _ => {}
        }
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
