//! SendMessage and SendMessageBatch: each message checked against its queue, all of a
//! call's messages committed in one job, and only then made receivable (and waiting
//! long polls woken), so nothing is received that a crash could still take back. The
//! batch rules (entry count, ids, total size) are shared by every batch operation.

use crate::digests;
use crate::engine::Sqs;
use crate::message::{self, Outgoing};
use crate::model::{Content, Message};
use crate::store::Op;
use crate::{Error, Result};
use std::collections::HashSet;
use std::sync::Arc;

/// Entries a batch may hold.
pub const MAX_BATCH: usize = 10;
/// The most a SendMessageBatch may carry, all messages together.
pub const MAX_BATCH_BYTES: usize = 1_048_576;

/// What SendMessage returns for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub message_id: String,
    pub md5_body: String,
    pub md5_attributes: Option<String>,
    pub md5_system: Option<String>,
}

/// Checks a batch's shape: 1 to 10 entries with distinct, well-formed ids. `entry` is
/// the entry member's name as AWS words its errors (`SendMessageBatchRequestEntry`).
pub fn check_batch<'a>(ids: impl ExactSizeIterator<Item = &'a str>, entry: &str) -> Result<()> {
    let n = ids.len();
    if n == 0 {
        return Err(Error::EmptyBatchRequest(format!(
            "There should be at least one {entry} in the request."
        )));
    }
    if n > MAX_BATCH {
        return Err(Error::TooManyEntriesInBatchRequest(format!(
            "Maximum number of entries per request are {MAX_BATCH}. You have sent {n}."
        )));
    }
    let mut seen = HashSet::new();
    for id in ids {
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(Error::InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.".into(),
            ));
        }
        if !seen.insert(id) {
            return Err(Error::BatchEntryIdsNotDistinct(format!(
                "Id {id} repeated."
            )));
        }
    }
    Ok(())
}

/// Refuses a SendMessageBatch whose messages together are over the limit.
pub fn check_batch_size(messages: &[Outgoing]) -> Result<()> {
    let total: usize = messages
        .iter()
        .map(|m| {
            m.body.len()
                + m.attributes
                    .iter()
                    .map(|(k, v)| {
                        k.len()
                            + v.data_type.as_ref().map_or(0, String::len)
                            + v.string.as_ref().map_or(0, String::len)
                            + v.binary.as_ref().map_or(0, Vec::len)
                    })
                    .sum::<usize>()
        })
        .sum();
    if total > MAX_BATCH_BYTES {
        return Err(Error::BatchRequestTooLong(format!(
            "Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes."
        )));
    }
    Ok(())
}

impl Sqs {
    /// Sends `messages` to the queue `arn` as `sender` (a principal id, or a service
    /// principal's name); each message's own outcome, in order. The call fails as a
    /// whole only when the queue does not exist or nothing could be stored.
    pub async fn send(
        &self,
        arn: &str,
        messages: Vec<Outgoing>,
        sender: &str,
    ) -> Result<Vec<Result<Sent>>> {
        let (queue_id, max_size, queue_delay) = {
            let state = self.state.lock();
            let q = &state.queue(arn)?.queue;
            (q.id.clone(), q.max_message_size(), q.delay_seconds())
        };
        let now = self.now();
        let mut outcomes = Vec::with_capacity(messages.len());
        let mut accepted = Vec::new();
        let mut ops = Vec::new();
        for m in &messages {
            let checked = match message::check(m, max_size) {
                Ok(c) => c,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            let delay = checked.delay.unwrap_or(queue_delay);
            let content = Content {
                id: uuid::Uuid::new_v4().to_string(),
                md5_body: digests::of_body(&checked.body),
                body: checked.body,
                attributes: checked.attributes,
                system: checked.system,
                sent: now,
                sender: sender.to_owned(),
                dead_letter_source: None,
            };
            let sent = Sent {
                message_id: content.id.clone(),
                md5_body: content.md5_body.clone(),
                md5_attributes: digests::of_attributes(&content.attributes),
                md5_system: digests::of_attributes(&content.system),
            };
            let message = Message {
                seq: self.next_seq(),
                queue: queue_id.clone(),
                content: Arc::new(content),
                visible_at: now + delay * 1000,
                receive_count: 0,
                first_receive: None,
                receipt: None,
            };
            ops.push(Op::put(&message)?);
            accepted.push(message);
            outcomes.push(Ok(sent));
        }
        if accepted.is_empty() {
            return Ok(outcomes);
        }
        self.writer.submit(ops).wait().await?;
        let n = accepted.len();
        let cleanup = {
            let mut state = self.state.lock();
            // The queue may have been deleted, or purged, while the rows were written:
            // those messages go (from disk too, where a purge may have run first).
            let live = state.queues.get_mut(arn).filter(|q| q.queue.id == queue_id);
            let mut gone = Vec::new();
            match live {
                Some(q) => {
                    for m in accepted {
                        if m.seq > q.purged_through {
                            q.insert(m);
                        } else {
                            gone.push(Op::delete(&m));
                        }
                    }
                    q.notify.notify_waiters();
                }
                None => gone.extend(accepted.iter().map(Op::delete)),
            }
            self.writer.submit(gone)
        };
        cleanup.wait().await?;
        tracing::debug!(queue = %arn, messages = n, "messages sent");
        Ok(outcomes)
    }

    /// SendMessage: one message, whose refusal is the call's error.
    pub async fn send_one(&self, arn: &str, message: Outgoing, sender: &str) -> Result<Sent> {
        self.send(arn, vec![message], sender)
            .await?
            .pop()
            .unwrap_or_else(|| Err(Error::Storage("no outcome for the message".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_one_to_ten_distinct_ids() {
        let e = "SendMessageBatchRequestEntry";
        assert!(matches!(
            check_batch(std::iter::empty(), e),
            Err(Error::EmptyBatchRequest(_))
        ));
        let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        assert!(matches!(
            check_batch(eleven.iter().map(String::as_str), e),
            Err(Error::TooManyEntriesInBatchRequest(_))
        ));
        assert!(matches!(
            check_batch(["a", "b", "a"].into_iter(), e),
            Err(Error::BatchEntryIdsNotDistinct(m)) if m == "Id a repeated."
        ));
        assert!(matches!(
            check_batch(["a b"].into_iter(), e),
            Err(Error::InvalidBatchEntryId(_))
        ));
        assert!(check_batch(["a-1", "b_2"].into_iter(), e).is_ok());
    }

    #[test]
    fn batches_are_at_most_one_mebibyte_together() {
        let big = |n| Outgoing {
            body: "x".repeat(n),
            ..Outgoing::default()
        };
        assert!(check_batch_size(&[big(600_000), big(448_576)]).is_ok());
        assert!(matches!(
            check_batch_size(&[big(600_000), big(448_577)]),
            Err(Error::BatchRequestTooLong(_))
        ));
    }
}
