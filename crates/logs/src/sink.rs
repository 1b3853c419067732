//! Log groups as a destination for other services (EventBridge log-group targets):
//! the stream is created on first use and the events go through the same PutLogEvents
//! path as a client's, retention and encryption included.

use crate::Error;
use crate::batch::EventBatch;
use crate::engine::Logs;
use async_trait::async_trait;
use sightline_core::{LogSink, Scope};

fn to_core(e: Error) -> sightline_core::Error {
    match e {
        Error::ResourceNotFound(m) => sightline_core::Error::NotFound(m),
        Error::AccessDenied(m) => sightline_core::Error::AccessDenied(m),
        Error::InvalidParameter(m) => sightline_core::Error::Invalid(m),
        Error::Storage(e) => sightline_core::Error::Storage(e.to_string()),
        Error::Meta(e) => sightline_core::Error::Storage(e.to_string()),
        other => sightline_core::Error::Service {
            code: "ServiceUnavailableException".into(),
            message: other.to_string(),
        },
    }
}

#[async_trait]
impl LogSink for Logs {
    async fn write(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        mut events: Vec<(i64, String)>,
    ) -> sightline_core::Result<()> {
        match self.create_stream(scope, group, stream) {
            Ok(()) | Err(Error::ResourceAlreadyExists(_)) => {}
            Err(e) => return Err(to_core(e)),
        }
        events.sort_by_key(|(t, _)| *t);
        let mut batch = EventBatch::default();
        for (timestamp, message) in &events {
            batch.push(*timestamp, message);
        }
        let outcome = self
            .put_events(scope, group, stream, &batch)
            .await
            .map_err(to_core)?;
        if outcome.rejected.any() {
            return Err(sightline_core::Error::Invalid(
                "the event's time is outside what the log group accepts".into(),
            ));
        }
        Ok(())
    }
}
