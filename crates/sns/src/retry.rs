//! Delivery policies: how often and how far apart a failed delivery is retried. HTTP(S)
//! subscriptions take theirs from the subscription's or the topic's `DeliveryPolicy`
//! (AWS's four phases: immediate, pre-backoff, backoff, post-backoff); other protocols
//! have the fixed policies SNS documents for them.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// The longest total retry time an HTTP(S) policy may ask for, in seconds.
const MAX_TOTAL_SECONDS: u64 = 3600;
const MAX_RETRIES: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

impl Backoff {
    fn parse(s: &str) -> Option<Backoff> {
        Some(match s {
            "linear" => Backoff::Linear,
            "arithmetic" => Backoff::Arithmetic,
            "geometric" => Backoff::Geometric,
            "exponential" => Backoff::Exponential,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Backoff::Linear => "linear",
            Backoff::Arithmetic => "arithmetic",
            Backoff::Geometric => "geometric",
            Backoff::Exponential => "exponential",
        }
    }
}

/// A healthy-retry policy; delays are in policy seconds (see `Timing::policy_second`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub min_delay: u32,
    pub max_delay: u32,
    pub num_retries: u32,
    pub num_no_delay: u32,
    pub num_min_delay: u32,
    pub num_max_delay: u32,
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// AWS's default for HTTP(S): three retries, 20 seconds apart.
    pub const HTTP_DEFAULT: RetryPolicy = RetryPolicy {
        min_delay: 20,
        max_delay: 20,
        num_retries: 3,
        num_no_delay: 0,
        num_min_delay: 0,
        num_max_delay: 0,
        backoff: Backoff::Linear,
    };

    /// SNS's fixed policy for customer-managed endpoints such as SMTP: 50 attempts
    /// over some six hours.
    pub const EMAIL: RetryPolicy = RetryPolicy {
        min_delay: 10,
        max_delay: 600,
        num_retries: 49,
        num_no_delay: 0,
        num_min_delay: 2,
        num_max_delay: 37,
        backoff: Backoff::Exponential,
    };

    /// SNS's policy for AWS-managed endpoints (SQS), cut to a day of retries: the
    /// documented 23 days would only keep a dead queue's messages around longer.
    pub const QUEUE: RetryPolicy = RetryPolicy {
        min_delay: 1,
        max_delay: 20,
        num_retries: 4_335,
        num_no_delay: 3,
        num_min_delay: 2,
        num_max_delay: 4_320,
        backoff: Backoff::Exponential,
    };

    /// The delay before retry `n` (1-based), in policy seconds.
    pub fn delay_before(&self, n: u32) -> u32 {
        let backoff_count = self
            .num_retries
            .saturating_sub(self.num_no_delay + self.num_min_delay + self.num_max_delay);
        if n <= self.num_no_delay {
            return 0;
        }
        let n = n - self.num_no_delay;
        if n <= self.num_min_delay {
            return self.min_delay;
        }
        let n = n - self.num_min_delay;
        if n > backoff_count {
            return self.max_delay;
        }
        let (min, max) = (f64::from(self.min_delay), f64::from(self.max_delay));
        let (i, k) = (f64::from(n), f64::from(backoff_count));
        let d = match self.backoff {
            Backoff::Linear => min + (max - min) * i / k,
            Backoff::Arithmetic => min + (max - min) * (i * (i + 1.0)) / (k * (k + 1.0)),
            Backoff::Geometric => min + (max - min) * (2f64.powf(i) - 1.0) / (2f64.powf(k) - 1.0),
            Backoff::Exponential if min > 0.0 => min * (max / min).powf(i / k),
            Backoff::Exponential => max * i / k,
        };
        d.round().clamp(min, max) as u32
    }

    fn total_seconds(&self) -> u64 {
        (1..=self.num_retries)
            .map(|n| u64::from(self.delay_before(n)))
            .sum()
    }

    pub fn to_json(&self) -> Json {
        json!({
            "minDelayTarget": self.min_delay,
            "maxDelayTarget": self.max_delay,
            "numRetries": self.num_retries,
            "numMaxDelayRetries": self.num_max_delay,
            "numNoDelayRetries": self.num_no_delay,
            "numMinDelayRetries": self.num_min_delay,
            "backoffFunction": self.backoff.as_str(),
        })
    }

    /// Reads a `healthyRetryPolicy` object; absent members take AWS's defaults.
    fn from_json(v: &Json, at: &str) -> Result<RetryPolicy> {
        let bad = |why: &str| Error::invalid(format!("DeliveryPolicy: {at}.{why}"));
        let Some(obj) = v.as_object() else {
            return Err(bad("must be an object"));
        };
        let num = |key: &str, default: u32| -> Result<u32> {
            match obj.get(key) {
                None | Some(Json::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(&format!("{key} must be a non-negative integer"))),
            }
        };
        let d = RetryPolicy::HTTP_DEFAULT;
        let backoff = match obj.get("backoffFunction") {
            None | Some(Json::Null) => d.backoff,
            Some(v) => v.as_str().and_then(Backoff::parse).ok_or_else(|| {
                bad("backoffFunction must be one of linear, arithmetic, geometric, exponential")
            })?,
        };
        let p = RetryPolicy {
            min_delay: num("minDelayTarget", d.min_delay)?,
            max_delay: num("maxDelayTarget", d.max_delay)?,
            num_retries: num("numRetries", d.num_retries)?,
            num_no_delay: num("numNoDelayRetries", 0)?,
            num_min_delay: num("numMinDelayRetries", 0)?,
            num_max_delay: num("numMaxDelayRetries", 0)?,
            backoff,
        };
        if p.min_delay < 1 {
            return Err(bad("minDelayTarget must be at least 1"));
        }
        if p.max_delay < p.min_delay {
            return Err(bad("maxDelayTarget must be at least minDelayTarget"));
        }
        if p.max_delay > MAX_TOTAL_SECONDS as u32 {
            return Err(bad("maxDelayTarget must be at most 3600"));
        }
        if p.num_retries > MAX_RETRIES {
            return Err(bad("numRetries must be at most 100"));
        }
        if p.num_no_delay + p.num_min_delay + p.num_max_delay > p.num_retries {
            return Err(bad(
                "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries",
            ));
        }
        if p.total_seconds() > MAX_TOTAL_SECONDS {
            return Err(bad("total retry time must not exceed 3600 seconds"));
        }
        Ok(p)
    }
}

/// A topic's `DeliveryPolicy`, as far as Sightline applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDeliveryPolicy {
    pub retry: RetryPolicy,
    pub disable_subscription_overrides: bool,
    pub content_type: Option<String>,
}

fn parse_document(text: &str) -> Result<serde_json::Map<String, Json>> {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(m)) => Ok(m),
        _ => Err(Error::invalid("DeliveryPolicy: failed to parse JSON")),
    }
}

fn content_type(obj: Option<&Json>, at: &str) -> Result<Option<String>> {
    match obj.and_then(|r| r.get("headerContentType")) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(format!(
            "DeliveryPolicy: {at}.headerContentType must be a string"
        ))),
    }
}

/// Validates and reads a topic's `DeliveryPolicy` (`{"http": {...}}`).
pub fn parse_topic_policy(text: &str) -> Result<TopicDeliveryPolicy> {
    let doc = parse_document(text)?;
    let http = doc.get("http").cloned().unwrap_or(Json::Null);
    let retry = match http.get("defaultHealthyRetryPolicy") {
        None | Some(Json::Null) => RetryPolicy::HTTP_DEFAULT,
        Some(v) => RetryPolicy::from_json(v, "http.defaultHealthyRetryPolicy")?,
    };
    Ok(TopicDeliveryPolicy {
        retry,
        disable_subscription_overrides: http
            .get("disableSubscriptionOverrides")
            .and_then(Json::as_bool)
            .unwrap_or(false),
        content_type: content_type(
            http.get("defaultRequestPolicy"),
            "http.defaultRequestPolicy",
        )?,
    })
}

/// Validates and reads a subscription's `DeliveryPolicy`.
pub fn parse_subscription_policy(text: &str) -> Result<(RetryPolicy, Option<String>)> {
    let doc = parse_document(text)?;
    let retry = match doc.get("healthyRetryPolicy") {
        None | Some(Json::Null) => RetryPolicy::HTTP_DEFAULT,
        Some(v) => RetryPolicy::from_json(v, "healthyRetryPolicy")?,
    };
    Ok((
        retry,
        content_type(doc.get("requestPolicy"), "requestPolicy")?,
    ))
}

/// The policy and content type an HTTP(S) subscription is delivered with: its own
/// unless the topic forbids overrides, else the topic's, else AWS's defaults.
pub fn effective_http(
    topic_policy: Option<&str>,
    subscription_policy: Option<&str>,
) -> (RetryPolicy, Option<String>) {
    let topic = topic_policy.and_then(|t| parse_topic_policy(t).ok());
    let overrides = !topic
        .as_ref()
        .is_some_and(|t| t.disable_subscription_overrides);
    if overrides && let Some(Ok(own)) = subscription_policy.map(parse_subscription_policy) {
        let content = own
            .1
            .or_else(|| topic.as_ref().and_then(|t| t.content_type.clone()));
        return (own.0, content);
    }
    match topic {
        Some(t) => (t.retry, t.content_type),
        None => (RetryPolicy::HTTP_DEFAULT, None),
    }
}

/// The topic's `EffectiveDeliveryPolicy` attribute.
pub fn effective_topic_json(topic_policy: Option<&str>) -> String {
    let t = topic_policy
        .and_then(|p| parse_topic_policy(p).ok())
        .unwrap_or(TopicDeliveryPolicy {
            retry: RetryPolicy::HTTP_DEFAULT,
            disable_subscription_overrides: false,
            content_type: None,
        });
    json!({
        "http": {
            "defaultHealthyRetryPolicy": t.retry.to_json(),
            "disableSubscriptionOverrides": t.disable_subscription_overrides,
            "defaultRequestPolicy": {
                "headerContentType": t.content_type.as_deref().unwrap_or("text/plain; charset=UTF-8"),
            },
        }
    })
    .to_string()
}

/// An HTTP(S) subscription's `EffectiveDeliveryPolicy` attribute.
pub fn effective_subscription_json(retry: &RetryPolicy, content: Option<&str>) -> String {
    json!({
        "healthyRetryPolicy": retry.to_json(),
        "sicklyRetryPolicy": null,
        "throttlePolicy": null,
        "requestPolicy": {
            "headerContentType": content.unwrap_or("text/plain; charset=UTF-8"),
        },
        "guaranteed": false,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_http_policy_is_three_retries_twenty_seconds_apart() {
        let p = RetryPolicy::HTTP_DEFAULT;
        assert_eq!(
            (1..=3).map(|n| p.delay_before(n)).collect::<Vec<_>>(),
            [20, 20, 20]
        );
    }

    #[test]
    fn phases_run_in_order() {
        let p = RetryPolicy {
            min_delay: 2,
            max_delay: 64,
            num_retries: 10,
            num_no_delay: 2,
            num_min_delay: 1,
            num_max_delay: 2,
            backoff: Backoff::Exponential,
        };
        let d: Vec<u32> = (1..=10).map(|n| p.delay_before(n)).collect();
        assert_eq!(&d[..3], &[0, 0, 2]);
        assert_eq!(&d[8..], &[64, 64]);
        assert!(d[3..8].windows(2).all(|w| w[0] <= w[1]), "{d:?}");
        assert_eq!(d[7], 64, "the backoff phase ends at the maximum");
    }

    #[test]
    fn email_policy_makes_fifty_attempts() {
        let p = RetryPolicy::EMAIL;
        assert_eq!(p.num_retries + 1, 50);
        assert_eq!(p.delay_before(1), 10);
        assert_eq!(p.delay_before(49), 600);
    }

    #[test]
    fn policies_are_validated() {
        assert!(parse_topic_policy("not json").is_err());
        assert!(
            parse_topic_policy(r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":101}}}"#)
                .is_err()
        );
        assert!(
            parse_topic_policy(
                r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":30,"maxDelayTarget":10}}}"#
            )
            .is_err()
        );
        assert!(
            parse_subscription_policy(r#"{"healthyRetryPolicy":{"backoffFunction":"sideways"}}"#)
                .is_err()
        );
        let (p, ct) = parse_subscription_policy(
            r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":5,"numRetries":4,"backoffFunction":"exponential"},"requestPolicy":{"headerContentType":"application/json"}}"#,
        )
        .unwrap();
        assert_eq!(p.num_retries, 4);
        assert_eq!(ct.as_deref(), Some("application/json"));
    }

    #[test]
    fn topic_may_forbid_subscription_overrides() {
        let topic = r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":5},"disableSubscriptionOverrides":true}}"#;
        let sub = r#"{"healthyRetryPolicy":{"numRetries":1}}"#;
        assert_eq!(effective_http(Some(topic), Some(sub)).0.num_retries, 5);
        let topic = r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":5}}}"#;
        assert_eq!(effective_http(Some(topic), Some(sub)).0.num_retries, 1);
        assert_eq!(effective_http(None, None).0, RetryPolicy::HTTP_DEFAULT);
    }
}
