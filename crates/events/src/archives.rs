//! Archives (events of a bus matching an optional pattern, kept in the lake for their
//! retention: `archived`) and replays (a time range of an archive sent back to its bus,
//! to all rules or the chosen ones, each event marked with `replay-name`). A replay
//! moves through STARTING, RUNNING and COMPLETED (or FAILED when its archive is
//! deleted), or CANCELLING and CANCELLED; its cursor, the last (time, event id)
//! replayed, is stored with every batch, so a restart resumes it after that event.

use crate::archived::{PurgePass, SETTLE_MS};
use crate::engine::{Events, rebuild};
use crate::model::{Archive, Replay, ReplayCursor, ReplayDestination};
use crate::names;
use crate::rules::check_pattern;
use crate::store::{self, Table};
use crate::{Error, Result, now_ms};
use serde_json::Value;
use sightline_core::Scope;
use std::sync::Arc;
use std::time::Duration;

/// Events replayed per batch (one journal commit each).
const REPLAY_BATCH: usize = 100;

/// How often archive retention runs (archives deleted meanwhile are purged at once).
const RETENTION_EVERY_MS: i64 = 3_600_000;

fn archive_not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("Archive {name} does not exist."))
}

fn replay_not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("Replay {name} does not exist."))
}

fn check_retention(days: Option<i64>) -> Result<i64> {
    match days {
        None => Ok(0),
        Some(d) if d >= 0 => Ok(d),
        Some(d) => Err(Error::Validation(format!(
            "1 validation error detected: Value '{d}' at 'retentionDays' failed to satisfy constraint: Member must have value greater than or equal to 0"
        ))),
    }
}

impl Events {
    pub fn create_archive(
        &self,
        scope: &Scope,
        name: &str,
        source_arn: &str,
        description: Option<String>,
        pattern: Option<String>,
        retention: Option<i64>,
    ) -> Result<Archive> {
        names::simple(name, "archiveName", 48)?;
        let bus = self.own_bus(scope, Some(source_arn))?;
        if let Some(p) = &pattern {
            check_pattern(p)?;
        }
        let retention_days = check_retention(retention)?;
        let arn = names::archive_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        if state.archives.contains_key(&arn) {
            return Err(Error::ResourceAlreadyExists(format!(
                "Archive {name} already exists."
            )));
        }
        let a = Archive {
            name: name.to_owned(),
            arn: arn.clone(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            source_arn: bus.clone(),
            description,
            event_pattern: pattern,
            retention_days,
            state: "ENABLED".into(),
            created_ms: now_ms(),
        };
        store::put(&self.meta, Table::Archives, &arn, &a)?;
        state.archives.insert(arn, a.clone());
        rebuild(&mut state, &bus);
        Ok(a)
    }

    pub async fn archive(&self, scope: &Scope, name: &str) -> Result<(Archive, i64, i64)> {
        names::simple(name, "archiveName", 48)?;
        let arn = names::archive_arn(&scope.region, &scope.account_id, name);
        let a = self
            .state
            .read()
            .archives
            .get(&arn)
            .cloned()
            .ok_or_else(|| archive_not_found(name))?;
        let sizes = self.archive_sizes(std::slice::from_ref(&a)).await?;
        let (count, bytes) = sizes.get(&arn).copied().unwrap_or((0, 0));
        Ok((a, count, bytes))
    }

    pub async fn list_archives(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        source: Option<&str>,
        state_filter: Option<&str>,
    ) -> Result<Vec<(Archive, i64, i64)>> {
        let list: Vec<Archive> = self
            .state
            .read()
            .archives
            .values()
            .filter(|a| {
                a.account == scope.account_id
                    && a.region == scope.region
                    && prefix.is_none_or(|p| a.name.starts_with(p))
                    && source.is_none_or(|s| a.source_arn == s)
                    && state_filter.is_none_or(|s| a.state == s)
            })
            .cloned()
            .collect();
        let sizes = self.archive_sizes(&list).await?;
        Ok(list
            .into_iter()
            .map(|a| {
                let (c, b) = sizes.get(&a.arn).copied().unwrap_or((0, 0));
                (a, c, b)
            })
            .collect())
    }

    pub fn update_archive(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        pattern: Option<String>,
        retention: Option<i64>,
    ) -> Result<Archive> {
        names::simple(name, "archiveName", 48)?;
        if let Some(p) = &pattern {
            check_pattern(p)?;
        }
        let retention_days = retention.map(|r| check_retention(Some(r))).transpose()?;
        let arn = names::archive_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        let mut a = state
            .archives
            .get(&arn)
            .cloned()
            .ok_or_else(|| archive_not_found(name))?;
        if description.is_some() {
            a.description = description;
        }
        if pattern.is_some() {
            a.event_pattern = pattern;
        }
        if let Some(days) = retention_days {
            a.retention_days = days;
        }
        store::put(&self.meta, Table::Archives, &arn, &a)?;
        state.archives.insert(arn, a.clone());
        rebuild(&mut state, &a.source_arn);
        Ok(a)
    }

    pub fn delete_archive(&self, scope: &Scope, name: &str) -> Result<()> {
        names::simple(name, "archiveName", 48)?;
        let arn = names::archive_arn(&scope.region, &scope.account_id, name);
        let removed = {
            let mut state = self.state.write();
            let a = state
                .archives
                .remove(&arn)
                .ok_or_else(|| archive_not_found(name))?;
            rebuild(&mut state, &a.source_arn);
            a
        };
        store::delete(&self.meta, Table::Archives, &removed.arn)?;
        // Its events are purged from the lake by the next pass, within a second; no read
        // sees them meanwhile (there is no archive to read them through, and a new one
        // of the same name starts at its own creation).
        self.deleted_archives
            .lock()
            .insert((removed.account, removed.region));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn start_replay(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        archive_arn: &str,
        start_ms: i64,
        end_ms: i64,
        destination: ReplayDestination,
    ) -> Result<Replay> {
        names::simple(name, "replayName", 64)?;
        let archive = self
            .state
            .read()
            .archives
            .get(archive_arn)
            .cloned()
            .filter(|a| a.account == scope.account_id)
            .ok_or_else(|| {
                Error::ResourceNotFound(format!("Archive {archive_arn} does not exist."))
            })?;
        if start_ms >= end_ms {
            return Err(Error::Validation(
                "Parameter EventStartTime is not valid. Reason: EventStartTime must be before EventEndTime.".into(),
            ));
        }
        if destination.arn != archive.source_arn {
            return Err(Error::Validation(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.".into(),
            ));
        }
        for f in destination.filter_arns.iter().flatten() {
            if !self.state.read().rules.contains_key(f) {
                return Err(Error::Validation(format!(
                    "Parameter Destination.FilterArns is not valid. Reason: Rule {f} does not exist on the destination event bus."
                )));
            }
        }
        let arn = names::replay_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        if state.replays.contains_key(&arn) {
            return Err(Error::ResourceAlreadyExists(format!(
                "Replay {name} already exists."
            )));
        }
        let r = Replay {
            name: name.to_owned(),
            arn: arn.clone(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            description,
            archive_arn: archive_arn.to_owned(),
            start_ms,
            end_ms,
            destination,
            state: "STARTING".into(),
            state_reason: None,
            replay_start_ms: now_ms(),
            replay_end_ms: None,
            last_replayed_ms: None,
            resume_after: None,
        };
        store::put(&self.meta, Table::Replays, &arn, &r)?;
        state.replays.insert(arn, r.clone());
        Ok(r)
    }

    pub fn replay(&self, scope: &Scope, name: &str) -> Result<Replay> {
        names::simple(name, "replayName", 64)?;
        let arn = names::replay_arn(&scope.region, &scope.account_id, name);
        self.state
            .read()
            .replays
            .get(&arn)
            .cloned()
            .ok_or_else(|| replay_not_found(name))
    }

    pub fn list_replays(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        state_filter: Option<&str>,
        source: Option<&str>,
    ) -> Vec<Replay> {
        self.state
            .read()
            .replays
            .values()
            .filter(|r| {
                r.account == scope.account_id
                    && r.region == scope.region
                    && prefix.is_none_or(|p| r.name.starts_with(p))
                    && state_filter.is_none_or(|s| r.state == s)
                    && source.is_none_or(|s| r.archive_arn == s)
            })
            .cloned()
            .collect()
    }

    pub fn cancel_replay(&self, scope: &Scope, name: &str) -> Result<Replay> {
        names::simple(name, "replayName", 64)?;
        let arn = names::replay_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        let r = state
            .replays
            .get_mut(&arn)
            .ok_or_else(|| replay_not_found(name))?;
        if !matches!(r.state.as_str(), "STARTING" | "RUNNING") {
            return Err(Error::IllegalStatus(format!(
                "Replay {name} is not in a state that it can be cancelled."
            )));
        }
        r.state = "CANCELLING".into();
        store::put(&self.meta, Table::Replays, &arn, r)?;
        Ok(r.clone())
    }

    fn save_replay(&self, r: &Replay) {
        let mut state = self.state.write();
        // A cancellation that arrived meanwhile wins over progress.
        let mut next = r.clone();
        if let Some(current) = state.replays.get(&r.arn)
            && current.state == "CANCELLING"
            && r.state == "RUNNING"
        {
            next.state = "CANCELLING".into();
        }
        if let Err(e) = store::put(&self.meta, Table::Replays, &next.arn, &next) {
            tracing::warn!(replay = %next.name, error = %e, "saving replay progress failed");
        }
        state.replays.insert(next.arn.clone(), next);
    }

    /// Advances one replay by a batch (the background task's step, public for tests);
    /// false when there was nothing to replay (finished, or waiting for its range to
    /// settle).
    pub async fn step_replay(&self, arn: &str) -> Result<bool> {
        let Some(mut r) = self.state.read().replays.get(arn).cloned() else {
            return Ok(false);
        };
        match r.state.as_str() {
            "CANCELLING" => {
                r.state = "CANCELLED".into();
                r.replay_end_ms = Some(now_ms());
                self.save_replay(&r);
                return Ok(false);
            }
            "STARTING" => {
                r.state = "RUNNING".into();
                self.save_replay(&r);
            }
            "RUNNING" => {}
            _ => return Ok(false),
        }
        let archive = self.state.read().archives.get(&r.archive_arn).cloned();
        let Some(archive) = archive else {
            r.state = "FAILED".into();
            r.state_reason = Some(format!("Archive {} does not exist.", r.archive_arn));
            r.replay_end_ms = Some(now_ms());
            self.save_replay(&r);
            return Ok(false);
        };
        // Only events whose appends have surely finished: the range's later part waits.
        let settled = now_ms() - SETTLE_MS;
        let upto = r.end_ms.min(settled);
        let batch = self
            .archived_after(
                &archive,
                r.start_ms,
                upto,
                r.resume_after.as_ref(),
                REPLAY_BATCH,
            )
            .await?;
        if batch.is_empty() {
            if upto == r.end_ms {
                r.state = "COMPLETED".into();
                r.replay_end_ms = Some(now_ms());
                self.save_replay(&r);
            }
            return Ok(false);
        }
        let mut routed = crate::put::Routed::default();
        for stored in batch {
            r.last_replayed_ms = Some(stored.time_ms);
            let event = serde_json::from_str::<Value>(&stored.event);
            r.resume_after = Some(ReplayCursor {
                time_ms: stored.time_ms,
                event_id: stored.event_id,
            });
            let Ok(mut event) = event else {
                continue;
            };
            if let Some(m) = event.as_object_mut() {
                m.insert("replay-name".into(), Value::String(r.name.clone()));
            }
            self.route(
                &r.destination.arn,
                event,
                now_ms(),
                r.destination.filter_arns.as_deref(),
                false,
                &mut routed,
            );
        }
        self.commit(routed).await?;
        self.save_replay(&r);
        Ok(true)
    }
}

/// Runs replays and applies archive retention until shutdown.
pub(crate) async fn run(me: Arc<Events>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut last_retention = 0i64;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let active: Vec<String> = me
            .state
            .read()
            .replays
            .values()
            .filter(|r| matches!(r.state.as_str(), "STARTING" | "RUNNING" | "CANCELLING"))
            .map(|r| r.arn.clone())
            .collect();
        let mut busy = false;
        for arn in active {
            match me.step_replay(&arn).await {
                Ok(more) => busy |= more,
                Err(e) => tracing::warn!(replay = %arn, error = %e, "replay step failed"),
            }
        }
        let now = now_ms();
        let pass = if now - last_retention > RETENTION_EVERY_MS {
            last_retention = now;
            Some(PurgePass::Everything)
        } else if !me.deleted_archives.lock().is_empty() {
            Some(PurgePass::Deleted)
        } else {
            None
        };
        if let Some(pass) = pass {
            match me.purge_archived(pass).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, pass = ?pass, "archived events purged"),
                Err(e) => tracing::warn!(pass = ?pass, error = %e, "archive retention failed"),
            }
        }
        let pause = if busy {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(500)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}
