//! Event buses: the default bus every account has, custom buses, their resource
//! policies (PutPermission / RemovePermission) and tags on buses and rules.

use crate::engine::{Events, rebuild};
use crate::model::{Bus, Tag};
use crate::names::{self, DEFAULT_BUS};
use crate::policy::{self, Grant};
use crate::store::{self, Table};
use crate::{Error, Result, now_ms};
use sightline_core::Scope;

impl Events {
    pub fn create_bus(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        tags: Vec<Tag>,
    ) -> Result<String> {
        names::bus(name, "name")?;
        if name == DEFAULT_BUS || name.starts_with("aws.") {
            return Err(Error::Validation(format!(
                "Event bus name {name} is not valid."
            )));
        }
        if name.contains('/') {
            return Err(Error::Validation(
                "Event bus name must not contain '/'.".into(),
            ));
        }
        let arn = names::bus_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        if state.buses.contains_key(&arn) {
            return Err(Error::ResourceAlreadyExists(format!(
                "Event bus {name} already exists."
            )));
        }
        let now = now_ms();
        let bus = Bus {
            name: name.to_owned(),
            arn: arn.clone(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            description,
            policy: None,
            created_ms: now,
            modified_ms: now,
            tags,
        };
        store::put(&self.meta, Table::Buses, &arn, &bus)?;
        state.buses.insert(arn.clone(), bus);
        Ok(arn)
    }

    /// The bus as DescribeEventBus shows it; the default bus exists without being made.
    pub fn bus(&self, scope: &Scope, name: Option<&str>) -> Result<Bus> {
        let arn = self.own_bus(scope, name)?;
        let state = self.state.read();
        if let Some(b) = state.buses.get(&arn) {
            return Ok(b.clone());
        }
        Ok(default_bus(&arn))
    }

    pub fn list_buses(&self, scope: &Scope, prefix: Option<&str>) -> Vec<Bus> {
        let state = self.state.read();
        let default_arn = names::bus_arn(&scope.region, &scope.account_id, DEFAULT_BUS);
        let mut out: Vec<Bus> = state
            .buses
            .values()
            .filter(|b| b.account == scope.account_id && b.region == scope.region)
            .cloned()
            .collect();
        if !out.iter().any(|b| b.arn == default_arn) {
            out.push(default_bus(&default_arn));
        }
        out.retain(|b| prefix.is_none_or(|p| b.name.starts_with(p)));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub fn delete_bus(&self, scope: &Scope, name: &str) -> Result<()> {
        names::bus(name, "name")?;
        if name == DEFAULT_BUS {
            return Err(Error::Validation("Cannot delete event bus default.".into()));
        }
        let arn = names::bus_arn(&scope.region, &scope.account_id, name);
        let mut state = self.state.write();
        if state
            .rules
            .values()
            .any(|r| r.account == scope.account_id && r.region == scope.region && r.bus == name)
        {
            return Err(Error::Validation(format!(
                "Cannot delete event bus {name} because it has rules."
            )));
        }
        if state.buses.remove(&arn).is_some() {
            store::delete(&self.meta, Table::Buses, &arn)?;
            state.matchers.remove(&arn);
        }
        Ok(())
    }

    /// The policy of a bus, for authorization of another account's PutEvents.
    pub fn bus_policy(&self, arn: &str) -> Option<String> {
        self.state.read().buses.get(arn)?.policy.clone()
    }

    fn update_bus(&self, arn: &str, f: impl FnOnce(&mut Bus) -> Result<()>) -> Result<()> {
        let mut state = self.state.write();
        let mut bus = state
            .buses
            .get(arn)
            .cloned()
            .unwrap_or_else(|| default_bus(arn));
        f(&mut bus)?;
        bus.modified_ms = now_ms();
        store::put(&self.meta, Table::Buses, arn, &bus)?;
        state.buses.insert(arn.to_owned(), bus);
        rebuild(&mut state, arn);
        Ok(())
    }

    pub fn put_permission(
        &self,
        scope: &Scope,
        bus: Option<&str>,
        grant: Option<Grant<'_>>,
        document: Option<&str>,
    ) -> Result<()> {
        let arn = self.own_bus(scope, bus)?;
        self.update_bus(&arn, |b| {
            b.policy = match (document, grant) {
                (Some(doc), _) => {
                    if doc.len() > 10_240 {
                        return Err(Error::PolicyLengthExceeded(
                            "Event bus policy exceeds the maximum allowed length.".into(),
                        ));
                    }
                    policy::validate(doc)?;
                    Some(doc.to_owned())
                }
                (None, Some(g)) => Some(policy::add(b.policy.as_deref(), &arn, &g)?),
                (None, None) => {
                    return Err(Error::Validation(
                        "Either Policy or StatementId, Action and Principal must be provided."
                            .into(),
                    ));
                }
            };
            Ok(())
        })
    }

    pub fn remove_permission(
        &self,
        scope: &Scope,
        bus: Option<&str>,
        statement_id: Option<&str>,
        all: bool,
    ) -> Result<()> {
        let arn = self.own_bus(scope, bus)?;
        self.update_bus(&arn, |b| {
            if all {
                b.policy = None;
                return Ok(());
            }
            let sid = statement_id
                .ok_or_else(|| Error::Validation("StatementId must be provided.".into()))?;
            let current = b.policy.as_deref().ok_or_else(|| {
                Error::ResourceNotFound("EventBus does not have a policy.".into())
            })?;
            b.policy = policy::remove(current, sid)?;
            Ok(())
        })
    }

    /// Tags of a bus or rule named by ARN.
    pub fn tags(&self, scope: &Scope, arn: &str) -> Result<Vec<Tag>> {
        let state = self.state.read();
        if let Some(b) = state.buses.get(arn) {
            return Ok(b.tags.clone());
        }
        if let Some(r) = state.rules.get(arn) {
            return Ok(r.tags.clone());
        }
        if arn == names::bus_arn(&scope.region, &scope.account_id, DEFAULT_BUS) {
            return Ok(Vec::new());
        }
        Err(not_found_resource(arn))
    }

    pub fn tag(&self, scope: &Scope, arn: &str, tags: Vec<Tag>) -> Result<()> {
        self.retag(scope, arn, |list| {
            for t in tags {
                list.retain(|x| x.key != t.key);
                list.push(t);
            }
            if list.len() > 50 {
                return Err(Error::LimitExceeded(
                    "Tag limit exceeded: a resource can have at most 50 tags.".into(),
                ));
            }
            Ok(())
        })
    }

    pub fn untag(&self, scope: &Scope, arn: &str, keys: &[String]) -> Result<()> {
        self.retag(scope, arn, |list| {
            list.retain(|t| !keys.contains(&t.key));
            Ok(())
        })
    }

    fn retag(
        &self,
        scope: &Scope,
        arn: &str,
        f: impl FnOnce(&mut Vec<Tag>) -> Result<()>,
    ) -> Result<()> {
        let default_arn = names::bus_arn(&scope.region, &scope.account_id, DEFAULT_BUS);
        let is_bus = self.state.read().buses.contains_key(arn) || arn == default_arn;
        if is_bus {
            return self.update_bus(arn, |b| {
                f(&mut b.tags)?;
                Ok(())
            });
        }
        self.change_rule(arn, || not_found_resource(arn), |r| f(&mut r.tags))
    }
}

fn not_found_resource(arn: &str) -> Error {
    Error::ResourceNotFound(format!("Resource {arn} does not exist."))
}

/// The default bus as it exists before anything about it was stored.
fn default_bus(arn: &str) -> Bus {
    let (region, account) = names::split_arn(arn)
        .map(|(_, r, a, _)| (r.to_owned(), a.to_owned()))
        .unwrap_or_default();
    Bus {
        name: DEFAULT_BUS.to_owned(),
        arn: arn.to_owned(),
        account,
        region,
        description: None,
        policy: None,
        created_ms: 0,
        modified_ms: 0,
        tags: Vec::new(),
    }
}
