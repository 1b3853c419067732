//! The remediation target: corrective actions as local commands. Only commands named in
//! the server configuration's allow-list run; the event arrives on standard input, the
//! run is bounded by the command's timeout, and every run is audited (an
//! `AwsServiceEvent` record with the exit status and the head of its output).

use crate::engine::Events;
use crate::invoke::{Failure, fail};
use crate::model::Delivery;
use serde_json::json;
use sightline_core::Scope;
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// How much of a command's output is kept in its audit record.
const OUTPUT_LIMIT: usize = 4096;

pub(crate) async fn run(
    me: &Arc<Events>,
    d: &Delivery,
    name: &str,
    input: String,
) -> Result<(), Failure> {
    let Some(cmd) = me
        .options
        .remediation
        .iter()
        .find(|c| c.name == name)
        .cloned()
    else {
        return Err(fail(
            "ResourceNotFoundException",
            format!("Remediation command {name} is not in the server's allow-list."),
            false,
        ));
    };
    let started = chrono::Utc::now();
    let mut child = tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .env("SIGHTLINE_RULE_ARN", &d.rule_arn)
        .env("SIGHTLINE_TARGET_ID", &d.target.id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            fail(
                "RemediationFailure",
                format!("{} could not start: {e}", cmd.program.display()),
                false,
            )
        })?;
    // The event is written while the command runs and under its timeout: a command
    // that reads none of a large event (or fills its output first) must not block us.
    let stdin = child.stdin.take();
    let feed = async move {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(input.as_bytes()).await;
        }
    };
    let waited = tokio::time::timeout(cmd.timeout, async {
        let (_, out) = tokio::join!(feed, child.wait_with_output());
        out
    })
    .await;
    let elapsed = (chrono::Utc::now() - started).num_milliseconds();
    let (status, stdout, stderr, outcome) = match waited {
        Err(_) => (
            None,
            String::new(),
            String::new(),
            Err(fail(
                "RemediationTimeout",
                format!(
                    "{name} did not finish within {} s",
                    cmd.timeout.as_secs_f64()
                ),
                true,
            )),
        ),
        Ok(Err(e)) => (
            None,
            String::new(),
            String::new(),
            Err(fail("RemediationFailure", e.to_string(), true)),
        ),
        Ok(Ok(out)) => {
            let code = out.status.code();
            let stdout =
                crate::deliver::truncate(&String::from_utf8_lossy(&out.stdout), OUTPUT_LIMIT);
            let stderr =
                crate::deliver::truncate(&String::from_utf8_lossy(&out.stderr), OUTPUT_LIMIT);
            let outcome = if out.status.success() {
                Ok(())
            } else {
                Err(fail(
                    "RemediationFailure",
                    format!(
                        "{name} exited with {}",
                        code.map_or("a signal".into(), |c| c.to_string())
                    ),
                    true,
                ))
            };
            (code, stdout, stderr, outcome)
        }
    };
    tracing::info!(command = %name, rule = %d.rule_arn, exit = ?status, elapsed_ms = elapsed, "remediation ran");
    audit(
        me,
        d,
        name,
        status,
        &stdout,
        &stderr,
        elapsed,
        outcome.is_ok(),
    )
    .await;
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn audit(
    me: &Arc<Events>,
    d: &Delivery,
    name: &str,
    status: Option<i32>,
    stdout: &str,
    stderr: &str,
    elapsed_ms: i64,
    succeeded: bool,
) {
    let Some(sinks) = me.sinks.get() else {
        return;
    };
    let now = chrono::Utc::now();
    let event_id = serde_json::from_str::<serde_json::Value>(&d.event)
        .ok()
        .and_then(|e| e.get("id").and_then(|i| i.as_str()).map(str::to_owned));
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSService", "invokedBy": "events.amazonaws.com"},
        "eventTime": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "eventSource": "events.amazonaws.com",
        "eventName": "InvokeRemediationCommand",
        "awsRegion": d.region,
        "sourceIPAddress": "events.amazonaws.com",
        "userAgent": "events.amazonaws.com",
        "requestParameters": null,
        "responseElements": null,
        "eventID": uuid::Uuid::new_v4().to_string(),
        "readOnly": false,
        "resources": [{"ARN": d.rule_arn, "accountId": d.account}],
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": d.account,
        "serviceEventDetails": {
            "command": name,
            "ruleArn": d.rule_arn,
            "targetId": d.target.id,
            "eventId": event_id,
            "attempt": d.attempts + 1,
            "exitStatus": status,
            "succeeded": succeeded,
            "durationMs": elapsed_ms,
            "stdout": stdout,
            "stderr": stderr,
        },
        "eventCategory": "Management",
    });
    if !succeeded {
        record["errorCode"] = json!("RemediationFailure");
    }
    let scope = Scope::new(d.account.clone(), d.region.clone());
    if let Err(e) = sinks.audit.record(&scope, now, record).await {
        tracing::error!(error = %e, command = %name, "remediation run could not be audited");
    }
}
