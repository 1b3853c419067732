//! ReceiveMessage (long polling woken by sends, visibility timeouts, redrive to the
//! dead-letter queue once a message was received maxReceiveCount times), DeleteMessage
//! and ChangeMessageVisibility with their batches, and the retention sweep.
//!
//! A receive changes the messages it returns (new receipt, receive count, hidden until
//! the visibility timeout) under the engine lock and answers once that is committed, so
//! a receipt handed out survives a restart and still deletes its message.

use crate::engine::{QueueState, Sqs};
use crate::message::{select_attributes, system_attributes};
use crate::model::{Attributes, Content, Message, Receipt};
use crate::store::{Op, Pending};
use crate::{Error, Result, digests};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// The longest visibility timeout, and the longest long poll.
pub const MAX_VISIBILITY: i64 = 43_200;
pub const MAX_WAIT: i64 = 20;

/// What a ReceiveMessage asks for.
#[derive(Debug, Clone, Default)]
pub struct ReceiveOptions {
    pub max: Option<i64>,
    pub visibility: Option<i64>,
    pub wait: Option<i64>,
    /// AttributeNames and MessageSystemAttributeNames together.
    pub system_names: Vec<String>,
    pub attribute_names: Vec<String>,
}

/// One received message, as ReceiveMessage returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub md5_body: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: Attributes,
    /// Of the attributes returned (SDKs check it against them).
    pub md5_attributes: Option<String>,
}

fn out_of_range(name: &str, value: i64, lo: i64, hi: i64) -> Error {
    Error::invalid(format!(
        "Value {value} for parameter {name} is invalid. Reason: Must be between {lo} and {hi}, if provided."
    ))
}

fn check_visibility(v: i64) -> Result<()> {
    if !(0..=MAX_VISIBILITY).contains(&v) {
        return Err(out_of_range("VisibilityTimeout", v, 0, MAX_VISIBILITY));
    }
    Ok(())
}

/// The receipt a handle carries, if it is one of this queue's.
fn receipt_of(qs: &QueueState, handle: &str) -> Result<Receipt> {
    let (queue, receipt) = Receipt::decode(handle)?;
    if queue != qs.queue.id {
        return Err(Error::ReceiptHandleIsInvalid(format!(
            "The input receipt handle \"{handle}\" is not a valid receipt handle."
        )));
    }
    Ok(receipt)
}

/// Deletes the message a handle names (nothing when the handle is not the latest
/// receipt, as SQS documents: the other receiver still holds the message).
fn delete_in(qs: &mut QueueState, handle: &str) -> Result<Option<Op>> {
    let r = receipt_of(qs, handle)?;
    let current = qs
        .messages
        .get(&r.seq)
        .is_some_and(|m| m.receipt.as_deref() == Some(r.nonce.as_str()));
    Ok(current
        .then(|| qs.remove(r.seq))
        .flatten()
        .map(|m| Op::delete(&m)))
}

fn change_in(qs: &mut QueueState, handle: &str, timeout: i64, now: i64) -> Result<Op> {
    check_visibility(timeout)?;
    let r = receipt_of(qs, handle)?;
    let m = qs
        .messages
        .get(&r.seq)
        .filter(|m| m.receipt.as_deref() == Some(r.nonce.as_str()))
        .ok_or_else(|| {
            Error::invalid(format!(
                "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
            ))
        })?;
    if !m.in_flight(now) {
        return Err(Error::MessageNotInflight(
            "The message referred to is not in flight.".into(),
        ));
    }
    let m = qs
        .update(r.seq, |m| m.visible_at = now + timeout * 1000)
        .ok_or(Error::QueueDoesNotExist)?;
    let op = Op::state(m);
    if timeout == 0 {
        qs.notify.notify_waiters();
    }
    Ok(op)
}

impl Sqs {
    /// ReceiveMessage: up to `max` messages, waiting up to `wait` seconds (the queue's
    /// ReceiveMessageWaitTimeSeconds by default) for one to arrive.
    pub async fn receive(&self, arn: &str, opts: &ReceiveOptions) -> Result<Vec<Received>> {
        let max = opts.max.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(out_of_range("MaxNumberOfMessages", max, 1, 10));
        }
        if let Some(v) = opts.visibility {
            check_visibility(v)?;
        }
        let wait = match opts.wait {
            Some(w) if !(0..=MAX_WAIT).contains(&w) => {
                return Err(out_of_range("WaitTimeSeconds", w, 0, MAX_WAIT));
            }
            Some(w) => w,
            None => self.state.lock().queue(arn)?.queue.wait_seconds(),
        };
        let deadline = Instant::now() + Duration::from_secs(u64::try_from(wait).unwrap_or(0));
        let max = usize::try_from(max).unwrap_or(1);
        loop {
            let notify = self.state.lock().queue(arn)?.notify.clone();
            // Registered before looking, so a send committed after the look wakes us.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            let (got, next_visible, pending) = self.take(arn, max, opts)?;
            pending.wait().await?;
            if !got.is_empty() {
                return Ok(got);
            }
            let now = Instant::now();
            if now >= deadline || self.closing.load(Ordering::SeqCst) {
                return Ok(got);
            }
            let mut until = deadline;
            if let Some(at) = next_visible {
                let ms = u64::try_from((at - self.now()).max(1)).unwrap_or(1);
                until = until.min(now + Duration::from_millis(ms));
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = &mut closed => {}
                _ = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// Takes what is receivable now: expired messages go, messages received
    /// maxReceiveCount times move to the dead-letter queue, the rest are returned
    /// hidden for the visibility timeout. Also says when the next hidden one shows.
    fn take(
        &self,
        arn: &str,
        max: usize,
        opts: &ReceiveOptions,
    ) -> Result<(Vec<Received>, Option<i64>, Pending)> {
        let now = self.now();
        let mut state = self.state.lock();
        let qs = state.queue_mut(arn)?;
        let visibility = opts.visibility.unwrap_or(qs.queue.visibility_timeout());
        let redrive = qs.queue.redrive().filter(|(dlq, _)| dlq != arn);
        let mut expired = Vec::new();
        let mut moving = Vec::new();
        let mut picked = Vec::new();
        for &(at, seq) in &qs.ready {
            if at > now || picked.len() == max {
                break;
            }
            let Some(m) = qs.messages.get(&seq) else {
                continue;
            };
            if qs.expired(m, now) {
                expired.push(seq);
            } else if redrive
                .as_ref()
                .is_some_and(|(_, limit)| m.receive_count >= *limit)
            {
                moving.push(seq);
            } else {
                picked.push(seq);
            }
        }
        let mut ops = Vec::new();
        for seq in expired {
            if let Some(m) = qs.remove(seq) {
                ops.push(Op::delete(&m));
            }
        }
        let moved: Vec<Message> = moving.into_iter().filter_map(|s| qs.remove(s)).collect();
        let queue_id = qs.queue.id.clone();
        let mut out = Vec::with_capacity(picked.len());
        for seq in picked {
            let nonce = Receipt::new_nonce();
            let Some(m) = qs.update(seq, |m| {
                m.receive_count += 1;
                m.first_receive.get_or_insert(now);
                m.receipt = Some(nonce.clone());
                m.visible_at = now + visibility * 1000;
            }) else {
                continue;
            };
            ops.push(Op::state(m));
            let handle = Receipt { seq, nonce }.encode(&queue_id);
            out.push(received(m, handle, opts));
        }
        let next_visible = qs.ready.iter().next().map(|(t, _)| *t).filter(|t| *t > now);
        if let Some((dlq, _)) = redrive.filter(|_| !moved.is_empty()) {
            match state.queues.get_mut(&dlq) {
                Some(target) => {
                    for m in moved {
                        let content = Content {
                            dead_letter_source: Some(arn.to_owned()),
                            ..(*m.content).clone()
                        };
                        let moved = Message {
                            seq: m.seq,
                            queue: target.queue.id.clone(),
                            content: Arc::new(content),
                            visible_at: now,
                            receive_count: 0,
                            first_receive: None,
                            receipt: None,
                        };
                        ops.push(Op::put(&moved)?);
                        tracing::info!(queue = %arn, dead_letter_queue = %dlq, message = %moved.content.id, "message moved to the dead-letter queue");
                        target.insert(moved);
                    }
                    target.notify.notify_waiters();
                }
                // The target went away: the messages stay (and are received again).
                None => {
                    if let Ok(qs) = state.queue_mut(arn) {
                        for m in moved {
                            qs.insert(m);
                        }
                    }
                }
            }
        }
        Ok((out, next_visible, self.writer.submit(ops)))
    }

    pub async fn delete_message(&self, arn: &str, handle: &str) -> Result<()> {
        let pending = {
            let mut state = self.state.lock();
            let qs = state.queue_mut(arn)?;
            let op = delete_in(qs, handle)?;
            self.writer.submit(op.into_iter().collect())
        };
        pending.wait().await
    }

    /// DeleteMessageBatch's entries (id, receipt handle): each one's outcome.
    pub async fn delete_messages(
        &self,
        arn: &str,
        entries: &[(String, String)],
    ) -> Result<Vec<Result<()>>> {
        let (outcomes, pending) = {
            let mut state = self.state.lock();
            let qs = state.queue_mut(arn)?;
            let mut ops = Vec::new();
            let mut outcomes = Vec::new();
            for (_, handle) in entries {
                match delete_in(qs, handle) {
                    Ok(op) => {
                        ops.extend(op);
                        outcomes.push(Ok(()));
                    }
                    Err(e) => outcomes.push(Err(e)),
                }
            }
            (outcomes, self.writer.submit(ops))
        };
        pending.wait().await?;
        Ok(outcomes)
    }

    pub async fn change_visibility(&self, arn: &str, handle: &str, timeout: i64) -> Result<()> {
        let pending = {
            let now = self.now();
            let mut state = self.state.lock();
            let qs = state.queue_mut(arn)?;
            let op = change_in(qs, handle, timeout, now)?;
            self.writer.submit(vec![op])
        };
        pending.wait().await
    }

    /// ChangeMessageVisibilityBatch's entries (receipt handle, timeout).
    pub async fn change_visibilities(
        &self,
        arn: &str,
        entries: &[(String, i64)],
    ) -> Result<Vec<Result<()>>> {
        let (outcomes, pending) = {
            let now = self.now();
            let mut state = self.state.lock();
            let qs = state.queue_mut(arn)?;
            let mut ops = Vec::new();
            let mut outcomes = Vec::new();
            for (handle, timeout) in entries {
                match change_in(qs, handle, *timeout, now) {
                    Ok(op) => {
                        ops.push(op);
                        outcomes.push(Ok(()));
                    }
                    Err(e) => outcomes.push(Err(e)),
                }
            }
            (outcomes, self.writer.submit(ops))
        };
        pending.wait().await?;
        Ok(outcomes)
    }

    /// Removes every message past its queue's MessageRetentionPeriod; returns how many.
    pub async fn sweep(&self) -> Result<usize> {
        let (n, pending) = {
            let now = self.now();
            let mut state = self.state.lock();
            let mut ops = Vec::new();
            for qs in state.queues.values_mut() {
                let gone: Vec<u64> = qs
                    .messages
                    .values()
                    .filter(|m| qs.expired(m, now))
                    .map(|m| m.seq)
                    .collect();
                for seq in gone {
                    if let Some(m) = qs.remove(seq) {
                        ops.push(Op::delete(&m));
                    }
                }
            }
            (ops.len(), self.writer.submit(ops))
        };
        pending.wait().await?;
        if n > 0 {
            tracing::info!(messages = n, "expired messages removed");
        }
        Ok(n)
    }

    /// The retention sweep, until shutdown; then long polls still waiting answer.
    pub fn spawn(
        self: &Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let sqs = self.clone();
        tokio::spawn(async move {
            let every = sqs.config.sweep_interval.max(Duration::from_millis(10));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {
                        if let Err(e) = sqs.sweep().await {
                            tracing::warn!(error = %e, "sqs retention sweep failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
            sqs.closing.store(true, Ordering::SeqCst);
            sqs.closed.notify_waiters();
        })
    }
}

fn received(m: &Message, receipt_handle: String, opts: &ReceiveOptions) -> Received {
    let message_attributes = select_attributes(&m.content.attributes, &opts.attribute_names);
    Received {
        message_id: m.content.id.clone(),
        receipt_handle,
        md5_body: m.content.md5_body.clone(),
        body: m.content.body.clone(),
        attributes: system_attributes(m, &opts.system_names),
        md5_attributes: digests::of_attributes(&message_attributes),
        message_attributes,
    }
}
