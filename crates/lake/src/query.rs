//! SQL over one account's datasets, with DataFusion.

use crate::{Error, Lake, Result};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use std::sync::Arc;

/// Result rows of a query, with the column names and types.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    pub columns: Vec<(String, String)>,
    pub batches: Vec<RecordBatch>,
}

impl QueryOutput {
    /// Rows as JSON objects, in column order.
    pub fn json_rows(&self) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        let mut buf = Vec::new();
        {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut buf);
            let refs: Vec<&RecordBatch> = self.batches.iter().collect();
            w.write_batches(&refs)
                .map_err(|e| Error::Arrow(e.to_string()))?;
            w.finish().map_err(|e| Error::Arrow(e.to_string()))?;
        }
        if buf.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_slice(&buf).map_err(|e| Error::Arrow(e.to_string()))?;
        // The writer omits nulls; put every column back, in order.
        Ok(rows
            .into_iter()
            .map(|mut r| {
                self.columns
                    .iter()
                    .map(|(c, _)| (c.clone(), r.remove(c).unwrap_or(serde_json::Value::Null)))
                    .collect()
            })
            .collect())
    }
}

impl Lake {
    /// A session in which every dataset is a table holding only this account's rows.
    pub async fn session(&self, account: &str) -> Result<SessionContext> {
        let config = SessionConfig::new().with_information_schema(true);
        let ctx = self.context(config);
        for ds in self.datasets() {
            let table = self
                .snapshot(ds.name(), account, None, i64::MIN, i64::MAX)
                .await?;
            ctx.register_table(ds.name(), Arc::new(table))?;
        }
        Ok(ctx)
    }

    /// Runs one read-only SQL statement for an account.
    pub async fn sql(&self, account: &str, sql: &str) -> Result<QueryOutput> {
        let ctx = self.session(account).await?;
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx.sql_with_options(sql, options).await?;
        let columns = df
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect();
        let batches = df.collect().await?;
        Ok(QueryOutput { columns, batches })
    }
}
