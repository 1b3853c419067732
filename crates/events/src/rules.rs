//! Rules and their targets: PutRule (pattern and/or schedule), describe, list, enable,
//! disable, delete, and PutTargets / RemoveTargets with per-target failures.

use crate::engine::{Events, rebuild};
use crate::invoke::{self, Kind};
use crate::model::{Rule, Tag, Target};
use crate::names::{self, DEFAULT_BUS};
use crate::store::{self, Table};
use crate::{Error, Result, now_ms};
use sightline_core::Scope;

/// What PutRule asks for.
pub struct RuleSpec {
    pub name: String,
    pub bus: Option<String>,
    pub event_pattern: Option<String>,
    pub schedule: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub tags: Vec<Tag>,
}

/// One target PutTargets or RemoveTargets could not take.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFailure {
    pub target_id: String,
    pub code: String,
    pub message: String,
}

/// Event patterns longer than this are refused (formats.md: 2048 characters in PutRule).
pub const MAX_PATTERN_CHARS: usize = 2048;
const MAX_TARGETS: usize = 5;

pub fn check_pattern(pattern: &str) -> Result<()> {
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(Error::InvalidEventPattern(format!(
            "Event pattern is not valid. Reason: the pattern is longer than {MAX_PATTERN_CHARS} characters."
        )));
    }
    sightline_patterns::parse(pattern)
        .map(|_| ())
        .map_err(|e| Error::InvalidEventPattern(format!("Event pattern is not valid. Reason: {e}")))
}

fn rule_not_found(name: &str, bus: &str) -> Error {
    Error::ResourceNotFound(format!("Rule {name} does not exist on EventBus {bus}."))
}

impl Events {
    /// The (bus ARN, bus name) a rule call names; rules live in the caller's account.
    fn rule_bus(&self, scope: &Scope, bus: Option<&str>) -> Result<(String, String)> {
        let arn = self.own_bus(scope, bus)?;
        let name = crate::engine::bus_name(&arn).to_owned();
        Ok((arn, name))
    }

    pub fn put_rule(&self, scope: &Scope, spec: RuleSpec) -> Result<String> {
        names::simple(&spec.name, "name", 64)?;
        let (bus_arn, bus) = self.rule_bus(scope, spec.bus.as_deref())?;
        if spec.event_pattern.is_none() && spec.schedule.is_none() {
            return Err(Error::Validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.".into(),
            ));
        }
        if let Some(p) = &spec.event_pattern {
            check_pattern(p)?;
        }
        if let Some(s) = &spec.schedule {
            if bus != DEFAULT_BUS {
                return Err(Error::Validation(
                    "ScheduleExpression is supported only on the default event bus.".into(),
                ));
            }
            crate::schedules::check(s)?;
        }
        let state_value = spec.state.clone().unwrap_or_else(|| "ENABLED".into());
        if !matches!(
            state_value.as_str(),
            "ENABLED" | "DISABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
        ) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{state_value}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )));
        }
        if spec.description.as_ref().is_some_and(|d| d.len() > 512) {
            return Err(Error::Validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512".into(),
            ));
        }
        let arn = names::rule_arn(&scope.region, &scope.account_id, &bus, &spec.name);
        let now = now_ms();
        let mut state = self.state.write();
        let rule = match state.rules.get(&arn) {
            Some(existing) => {
                let was_enabled = existing.enabled();
                let mut r = existing.clone();
                r.event_pattern = spec.event_pattern;
                if r.schedule != spec.schedule {
                    r.last_fired_ms = None;
                    r.enabled_ms = now;
                }
                r.schedule = spec.schedule;
                r.state = state_value;
                // PutRule replaces the rule: what it omits is not kept.
                r.description = spec.description;
                r.role_arn = spec.role_arn;
                if !was_enabled && r.enabled() {
                    r.enabled_ms = now;
                }
                for t in spec.tags {
                    r.tags.retain(|x| x.key != t.key);
                    r.tags.push(t);
                }
                r
            }
            None => Rule {
                name: spec.name,
                arn: arn.clone(),
                bus,
                account: scope.account_id.clone(),
                region: scope.region.clone(),
                event_pattern: spec.event_pattern,
                schedule: spec.schedule,
                state: state_value,
                description: spec.description,
                role_arn: spec.role_arn,
                tags: spec.tags,
                targets: Vec::new(),
                created_ms: now,
                enabled_ms: now,
                last_fired_ms: None,
            },
        };
        store::put(&self.meta, Table::Rules, &arn, &rule)?;
        state.rules.insert(arn.clone(), rule);
        rebuild(&mut state, &bus_arn);
        Ok(arn)
    }

    pub fn rule(&self, scope: &Scope, name: &str, bus: Option<&str>) -> Result<Rule> {
        names::simple(name, "name", 64)?;
        let (_, bus) = self.rule_bus(scope, bus)?;
        let arn = names::rule_arn(&scope.region, &scope.account_id, &bus, name);
        self.state
            .read()
            .rules
            .get(&arn)
            .cloned()
            .ok_or_else(|| rule_not_found(name, &bus))
    }

    pub fn list_rules(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        bus: Option<&str>,
    ) -> Result<Vec<Rule>> {
        let (_, bus) = self.rule_bus(scope, bus)?;
        let state = self.state.read();
        let mut out: Vec<Rule> = state
            .rules
            .values()
            .filter(|r| {
                r.account == scope.account_id
                    && r.region == scope.region
                    && r.bus == bus
                    && prefix.is_none_or(|p| r.name.starts_with(p))
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub fn rule_names_by_target(
        &self,
        scope: &Scope,
        target_arn: &str,
        bus: Option<&str>,
    ) -> Result<Vec<String>> {
        Ok(self
            .list_rules(scope, None, bus)?
            .into_iter()
            .filter(|r| r.targets.iter().any(|t| t.arn == target_arn))
            .map(|r| r.name)
            .collect())
    }

    pub fn set_rule_state(
        &self,
        scope: &Scope,
        name: &str,
        bus: Option<&str>,
        enabled: bool,
    ) -> Result<()> {
        let rule = self.rule(scope, name, bus)?;
        self.change_rule(
            &rule.arn,
            || rule_not_found(name, &rule.bus),
            |r| {
                if enabled && !r.enabled() {
                    r.enabled_ms = now_ms();
                    r.last_fired_ms = None;
                }
                r.state = if enabled { "ENABLED" } else { "DISABLED" }.into();
                Ok(())
            },
        )
    }

    /// Changes a stored rule on a copy, stores it, then puts it in place, so a refused
    /// change or a failed write leaves the rule as it was.
    pub(crate) fn change_rule<T>(
        &self,
        arn: &str,
        not_found: impl FnOnce() -> Error,
        f: impl FnOnce(&mut Rule) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state.write();
        let mut r = state.rules.get(arn).cloned().ok_or_else(not_found)?;
        let out = f(&mut r)?;
        store::put(&self.meta, Table::Rules, arn, &r)?;
        let bus_arn = names::bus_arn(&r.region, &r.account, &r.bus);
        state.rules.insert(arn.to_owned(), r);
        rebuild(&mut state, &bus_arn);
        Ok(out)
    }

    pub fn delete_rule(&self, scope: &Scope, name: &str, bus: Option<&str>) -> Result<()> {
        names::simple(name, "name", 64)?;
        let (bus_arn, bus) = self.rule_bus(scope, bus)?;
        let arn = names::rule_arn(&scope.region, &scope.account_id, &bus, name);
        let mut state = self.state.write();
        let Some(rule) = state.rules.get(&arn) else {
            return Ok(());
        };
        if !rule.targets.is_empty() {
            return Err(Error::Validation(
                "Rule can't be deleted since it has targets.".into(),
            ));
        }
        store::delete(&self.meta, Table::Rules, &arn)?;
        state.rules.remove(&arn);
        rebuild(&mut state, &bus_arn);
        Ok(())
    }

    pub fn put_targets(
        &self,
        scope: &Scope,
        rule: &str,
        bus: Option<&str>,
        targets: Vec<Target>,
    ) -> Result<Vec<TargetFailure>> {
        let current = self.rule(scope, rule, bus)?;
        if targets.is_empty() || targets.len() > 10 {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length {}",
                if targets.is_empty() {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 10"
                }
            )));
        }
        for (i, t) in targets.iter().enumerate() {
            names::simple(&t.id, &format!("targets.{}.member.id", i + 1), 64)?;
            check_retry(t, i + 1)?;
            crate::transform::validate(t)?;
            if names::split_arn(&t.arn).is_none() {
                return Err(Error::Validation(format!(
                    "Parameter {} is not valid. Reason: Provided Arn is not in correct format.",
                    t.arn
                )));
            }
            if let Some(dlq) = t.dead_letter_arn()
                && !matches!(names::split_arn(dlq), Some(("sqs", _, _, _)))
            {
                return Err(Error::Validation(format!(
                    "Parameter {dlq} is not valid. Reason: Provided Arn is not an SQS queue ARN."
                )));
            }
        }
        let mut failures = Vec::new();
        let mut accepted = Vec::new();
        for t in targets {
            match self.target_problem(scope, &t.arn) {
                Some(message) => failures.push(TargetFailure {
                    target_id: t.id.clone(),
                    code: "ValidationException".into(),
                    message,
                }),
                None => accepted.push(t),
            }
        }
        self.change_rule(&current.arn, || rule_not_found(rule, &current.bus), |r| {
            for t in accepted {
                r.targets.retain(|x| x.id != t.id);
                r.targets.push(t);
            }
            if r.targets.len() > MAX_TARGETS {
                return Err(Error::LimitExceeded(format!(
                    "The requested resource exceeds the maximum number allowed: a rule can have at most {MAX_TARGETS} targets."
                )));
            }
            Ok(failures)
        })
    }

    /// Why a target ARN cannot be a target of a rule in `scope`, if it cannot: queues,
    /// topics and buses of other accounts are governed by their own policies, but API
    /// destinations, log groups and remediation commands must be the rule's own.
    fn target_problem(&self, scope: &Scope, arn: &str) -> Option<String> {
        let own = names::split_arn(arn).is_some_and(|(_, region, account, _)| {
            region == scope.region && account == scope.account_id
        });
        match invoke::classify(arn) {
            Kind::Unsupported(service) => {
                Some(format!("Sightline does not deliver to {service} targets."))
            }
            Kind::Remediation { .. } | Kind::LogGroup { .. } | Kind::ApiDestination if !own => {
                Some(format!(
                    "Target {arn} must be in the rule's account and region."
                ))
            }
            Kind::Remediation { name }
                if !self.options.remediation.iter().any(|c| c.name == name) =>
            {
                Some(format!(
                    "Remediation command {name} is not in the server's allow-list."
                ))
            }
            Kind::ApiDestination if !self.state.read().destinations.contains_key(arn) => {
                Some(format!("API destination {arn} does not exist."))
            }
            _ => None,
        }
    }

    pub fn remove_targets(
        &self,
        scope: &Scope,
        rule: &str,
        bus: Option<&str>,
        ids: &[String],
    ) -> Result<Vec<TargetFailure>> {
        let current = self.rule(scope, rule, bus)?;
        self.change_rule(
            &current.arn,
            || rule_not_found(rule, &current.bus),
            |r| {
                let failures = ids
                    .iter()
                    .filter(|id| !r.targets.iter().any(|t| &t.id == *id))
                    .map(|id| TargetFailure {
                        target_id: id.clone(),
                        code: "ResourceNotFoundException".into(),
                        message: format!("Target {id} does not exist on rule {rule}."),
                    })
                    .collect();
                r.targets.retain(|t| !ids.contains(&t.id));
                Ok(failures)
            },
        )
    }
}

fn check_retry(t: &Target, index: usize) -> Result<()> {
    let Some(p) = &t.retry_policy else {
        return Ok(());
    };
    let range = |v: Option<i64>, member: &str, lo: i64, hi: i64| -> Result<()> {
        match v {
            Some(n) if n < lo => Err(Error::Validation(format!(
                "1 validation error detected: Value '{n}' at 'targets.{index}.member.retryPolicy.{member}' failed to satisfy constraint: Member must have value greater than or equal to {lo}"
            ))),
            Some(n) if n > hi => Err(Error::Validation(format!(
                "1 validation error detected: Value '{n}' at 'targets.{index}.member.retryPolicy.{member}' failed to satisfy constraint: Member must have value less than or equal to {hi}"
            ))),
            _ => Ok(()),
        }
    };
    range(p.maximum_retry_attempts, "maximumRetryAttempts", 0, 185)?;
    range(
        p.maximum_event_age_in_seconds,
        "maximumEventAgeInSeconds",
        60,
        86_400,
    )
}
