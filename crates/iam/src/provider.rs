//! IAM resources through the one resource model: `AWS::IAM::User`, `AWS::IAM::Role` and
//! `AWS::IAM::ManagedPolicy` with CloudFormation property shapes, so stacks, Config and
//! drift detection get them without knowing IAM.

use crate::engine::Identity;
use crate::model::{Role, Tag, User};
use async_trait::async_trait;
use serde_json::{Value as J, json};
use sightline_core::{Error, ResourceProvider, ResourceRef, Result, Scope};
use std::collections::BTreeMap;
use std::sync::Arc;

fn core_err(e: crate::Error) -> Error {
    match e {
        crate::Error::NoSuchEntity(m) => Error::NotFound(m),
        crate::Error::EntityAlreadyExists(m) => Error::AlreadyExists(m),
        crate::Error::Storage(s) => Error::Storage(s.to_string()),
        other => Error::Invalid(other.to_string()),
    }
}

fn str_prop<'a>(p: &'a J, name: &str) -> Option<&'a str> {
    p.get(name).and_then(J::as_str)
}

/// Policy documents are objects in templates and strings on the IAM API.
fn doc_text(v: &J) -> Result<String> {
    match v {
        J::String(s) => Ok(s.clone()),
        J::Object(_) => Ok(v.to_string()),
        _ => Err(Error::Invalid("PolicyDocument must be an object".into())),
    }
}

fn doc_json(text: &str) -> J {
    serde_json::from_str(text).unwrap_or(J::String(text.to_owned()))
}

fn tags(p: &J) -> Vec<Tag> {
    p.get("Tags")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

fn inline(p: &J) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in p
        .get("Policies")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_prop(item, "PolicyName")
            .ok_or_else(|| Error::Invalid("PolicyName is required".into()))?;
        let doc = item
            .get("PolicyDocument")
            .ok_or_else(|| Error::Invalid("PolicyDocument is required".into()))?;
        out.insert(name.to_owned(), doc_text(doc)?);
    }
    Ok(out)
}

fn managed(p: &J) -> Vec<String> {
    p.get("ManagedPolicyArns")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(J::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn generated_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        crate::engine::unique_id("").to_ascii_lowercase()
    )
}

pub struct UserProvider(pub Arc<Identity>);
pub struct RoleProvider(pub Arc<Identity>);
pub struct ManagedPolicyProvider(pub Arc<Identity>);

/// Brings inline and attached policies of a user or role to the wanted sets.
fn sync_policies<T: crate::engine::Entity>(
    id: &Identity,
    account: &str,
    name: &str,
    p: &J,
) -> Result<()> {
    let want_inline = inline(p)?;
    for existing in id
        .list_inline_policies::<T>(account, name)
        .map_err(core_err)?
    {
        if !want_inline.contains_key(&existing) {
            id.delete_inline_policy::<T>(account, name, &existing)
                .map_err(core_err)?;
        }
    }
    for (pn, doc) in &want_inline {
        id.put_inline_policy::<T>(account, name, pn, doc)
            .map_err(core_err)?;
    }
    let want_managed = managed(p);
    for (_, arn) in id.list_attached::<T>(account, name).map_err(core_err)? {
        if !want_managed.contains(&arn) {
            id.detach_policy::<T>(account, name, &arn)
                .map_err(core_err)?;
        }
    }
    for arn in &want_managed {
        id.attach_policy::<T>(account, name, arn)
            .map_err(core_err)?;
    }
    let current: Vec<String> = {
        let mut e: T = id.get_entity(account, name).map_err(core_err)?;
        e.tags().iter().map(|t| t.key.clone()).collect()
    };
    id.untag::<T>(account, name, &current).map_err(core_err)?;
    id.tag::<T>(account, name, tags(p)).map_err(core_err)?;
    Ok(())
}

/// Deleting a user or role requires removing its policies first, as on IAM.
fn strip_policies<T: crate::engine::Entity>(
    id: &Identity,
    account: &str,
    name: &str,
) -> Result<()> {
    for pn in id
        .list_inline_policies::<T>(account, name)
        .map_err(core_err)?
    {
        id.delete_inline_policy::<T>(account, name, &pn)
            .map_err(core_err)?;
    }
    for (_, arn) in id.list_attached::<T>(account, name).map_err(core_err)? {
        id.detach_policy::<T>(account, name, &arn)
            .map_err(core_err)?;
    }
    Ok(())
}

fn read_common<T: crate::engine::Entity>(
    id: &Identity,
    account: &str,
    name: &str,
    e: &mut T,
    out: &mut serde_json::Map<String, J>,
) -> Result<()> {
    let policies: Vec<J> = id
        .list_inline_policies::<T>(account, name)
        .map_err(core_err)?
        .into_iter()
        .filter_map(|pn| {
            let doc = id.get_inline_policy::<T>(account, name, &pn).ok()?;
            Some(json!({"PolicyName": pn, "PolicyDocument": doc_json(&doc)}))
        })
        .collect();
    if !policies.is_empty() {
        out.insert("Policies".into(), J::Array(policies));
    }
    if !e.attached().is_empty() {
        out.insert("ManagedPolicyArns".into(), json!(e.attached().clone()));
    }
    if !e.tags().is_empty() {
        out.insert("Tags".into(), json!(e.tags().clone()));
    }
    Ok(())
}

#[async_trait]
impl ResourceProvider for UserProvider {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::User"
    }

    async fn create(&self, scope: &Scope, p: &J) -> Result<ResourceRef> {
        let name = str_prop(p, "UserName")
            .map(str::to_owned)
            .unwrap_or_else(|| generated_name("user"));
        let u = self
            .0
            .create_user(&scope.account_id, &name, str_prop(p, "Path"), vec![])
            .map_err(core_err)?;
        if let Err(e) = sync_policies::<User>(&self.0, &scope.account_id, &name, p) {
            // Leave nothing half-made behind.
            let _ = self.delete(scope, &name).await;
            return Err(e);
        }
        Ok(ResourceRef {
            type_name: self.type_name().into(),
            physical_id: name,
            arn: u.arn(),
        })
    }

    async fn read(&self, scope: &Scope, id: &str) -> Result<Option<J>> {
        let mut u: User = match self.0.get_entity(&scope.account_id, id) {
            Ok(u) => u,
            Err(crate::Error::NoSuchEntity(_)) => return Ok(None),
            Err(e) => return Err(core_err(e)),
        };
        let mut out = serde_json::Map::new();
        out.insert("UserName".into(), J::String(u.name.clone()));
        out.insert("Path".into(), J::String(u.path.clone()));
        read_common(&self.0, &scope.account_id, id, &mut u, &mut out)?;
        Ok(Some(J::Object(out)))
    }

    async fn update(&self, scope: &Scope, id: &str, p: &J) -> Result<ResourceRef> {
        if str_prop(p, "UserName").is_some_and(|n| n != id) {
            return Err(Error::Invalid(
                "changing UserName requires replacement".into(),
            ));
        }
        sync_policies::<User>(&self.0, &scope.account_id, id, p)?;
        let u: User = self.0.get_entity(&scope.account_id, id).map_err(core_err)?;
        Ok(ResourceRef {
            type_name: self.type_name().into(),
            physical_id: id.into(),
            arn: u.arn(),
        })
    }

    async fn delete(&self, scope: &Scope, id: &str) -> Result<()> {
        let acct = &scope.account_id;
        strip_policies::<User>(&self.0, acct, id)?;
        let owner = crate::model::KeyOwner::User(id.to_owned());
        for k in self.0.list_access_keys(acct, &owner).map_err(core_err)? {
            self.0
                .delete_access_key(acct, &owner, &k.id)
                .map_err(core_err)?;
        }
        self.0.delete_user(acct, id).map_err(core_err)
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<ResourceRef>> {
        Ok(self
            .0
            .list_users(&scope.account_id, None)
            .into_iter()
            .map(|u| ResourceRef {
                type_name: self.type_name().into(),
                arn: u.arn(),
                physical_id: u.name,
            })
            .collect())
    }
}

#[async_trait]
impl ResourceProvider for RoleProvider {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::Role"
    }

    async fn create(&self, scope: &Scope, p: &J) -> Result<ResourceRef> {
        let name = str_prop(p, "RoleName")
            .map(str::to_owned)
            .unwrap_or_else(|| generated_name("role"));
        let trust = doc_text(
            p.get("AssumeRolePolicyDocument")
                .ok_or_else(|| Error::Invalid("AssumeRolePolicyDocument is required".into()))?,
        )?;
        let r = self
            .0
            .create_role(
                &scope.account_id,
                crate::engine::NewRole {
                    name: &name,
                    path: str_prop(p, "Path"),
                    trust: &trust,
                    description: str_prop(p, "Description").map(str::to_owned),
                    max_session_duration: p.get("MaxSessionDuration").and_then(J::as_i64),
                    tags: vec![],
                },
            )
            .map_err(core_err)?;
        if let Err(e) = sync_policies::<Role>(&self.0, &scope.account_id, &name, p) {
            let _ = self.delete(scope, &name).await;
            return Err(e);
        }
        Ok(ResourceRef {
            type_name: self.type_name().into(),
            physical_id: name,
            arn: r.arn(),
        })
    }

    async fn read(&self, scope: &Scope, id: &str) -> Result<Option<J>> {
        let mut r: Role = match self.0.get_entity(&scope.account_id, id) {
            Ok(r) => r,
            Err(crate::Error::NoSuchEntity(_)) => return Ok(None),
            Err(e) => return Err(core_err(e)),
        };
        let mut out = serde_json::Map::new();
        out.insert("RoleName".into(), J::String(r.name.clone()));
        out.insert("Path".into(), J::String(r.path.clone()));
        out.insert("AssumeRolePolicyDocument".into(), doc_json(&r.trust.text));
        out.insert("MaxSessionDuration".into(), J::from(r.max_session_duration));
        if let Some(d) = &r.description {
            out.insert("Description".into(), J::String(d.clone()));
        }
        read_common(&self.0, &scope.account_id, id, &mut r, &mut out)?;
        Ok(Some(J::Object(out)))
    }

    async fn update(&self, scope: &Scope, id: &str, p: &J) -> Result<ResourceRef> {
        if str_prop(p, "RoleName").is_some_and(|n| n != id) {
            return Err(Error::Invalid(
                "changing RoleName requires replacement".into(),
            ));
        }
        if let Some(t) = p.get("AssumeRolePolicyDocument") {
            self.0
                .update_role_trust(&scope.account_id, id, &doc_text(t)?)
                .map_err(core_err)?;
        }
        sync_policies::<Role>(&self.0, &scope.account_id, id, p)?;
        let r: Role = self.0.get_entity(&scope.account_id, id).map_err(core_err)?;
        Ok(ResourceRef {
            type_name: self.type_name().into(),
            physical_id: id.into(),
            arn: r.arn(),
        })
    }

    async fn delete(&self, scope: &Scope, id: &str) -> Result<()> {
        let acct = &scope.account_id;
        strip_policies::<Role>(&self.0, acct, id)?;
        self.0.delete_role(acct, id).map_err(core_err)
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<ResourceRef>> {
        Ok(self
            .0
            .list_roles(&scope.account_id, None)
            .into_iter()
            .map(|r| ResourceRef {
                type_name: self.type_name().into(),
                arn: r.arn(),
                physical_id: r.name,
            })
            .collect())
    }
}

#[async_trait]
impl ResourceProvider for ManagedPolicyProvider {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::ManagedPolicy"
    }

    async fn create(&self, scope: &Scope, p: &J) -> Result<ResourceRef> {
        let name = str_prop(p, "ManagedPolicyName")
            .map(str::to_owned)
            .unwrap_or_else(|| generated_name("policy"));
        let doc = doc_text(
            p.get("PolicyDocument")
                .ok_or_else(|| Error::Invalid("PolicyDocument is required".into()))?,
        )?;
        let mp = self
            .0
            .create_policy(
                &scope.account_id,
                &name,
                str_prop(p, "Path"),
                &doc,
                str_prop(p, "Description").map(str::to_owned),
                vec![],
            )
            .map_err(core_err)?;
        let arn = mp.arn();
        self.attach_to(scope, &arn, p)?;
        Ok(ResourceRef {
            type_name: self.type_name().into(),
            physical_id: arn.clone(),
            arn,
        })
    }

    async fn read(&self, scope: &Scope, arn: &str) -> Result<Option<J>> {
        let mp = match self.0.get_policy(&scope.account_id, arn) {
            Ok(p) => p,
            Err(crate::Error::NoSuchEntity(_)) => return Ok(None),
            Err(e) => return Err(core_err(e)),
        };
        let users: Vec<String> = self
            .0
            .list_users(&scope.account_id, None)
            .into_iter()
            .filter(|u| u.attached.iter().any(|a| a == arn))
            .map(|u| u.name)
            .collect();
        let roles: Vec<String> = self
            .0
            .list_roles(&scope.account_id, None)
            .into_iter()
            .filter(|r| r.attached.iter().any(|a| a == arn))
            .map(|r| r.name)
            .collect();
        let mut out = serde_json::Map::new();
        out.insert("ManagedPolicyName".into(), J::String(mp.name.clone()));
        out.insert("Path".into(), J::String(mp.path.clone()));
        out.insert("PolicyDocument".into(), doc_json(&mp.document.text));
        if let Some(d) = &mp.description {
            out.insert("Description".into(), J::String(d.clone()));
        }
        if !users.is_empty() {
            out.insert("Users".into(), json!(users));
        }
        if !roles.is_empty() {
            out.insert("Roles".into(), json!(roles));
        }
        Ok(Some(J::Object(out)))
    }

    async fn update(&self, scope: &Scope, arn: &str, p: &J) -> Result<ResourceRef> {
        // A managed policy's document is versioned on AWS; here an update replaces it.
        self.delete(scope, arn).await?;
        self.create(scope, p).await
    }

    async fn delete(&self, scope: &Scope, arn: &str) -> Result<()> {
        let acct = &scope.account_id;
        for u in self
            .0
            .list_users(acct, None)
            .into_iter()
            .filter(|u| u.attached.iter().any(|a| a == arn))
        {
            self.0
                .detach_policy::<User>(acct, &u.name, arn)
                .map_err(core_err)?;
        }
        for r in self
            .0
            .list_roles(acct, None)
            .into_iter()
            .filter(|r| r.attached.iter().any(|a| a == arn))
        {
            self.0
                .detach_policy::<Role>(acct, &r.name, arn)
                .map_err(core_err)?;
        }
        self.0.delete_policy(acct, arn).map_err(core_err)
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<ResourceRef>> {
        Ok(self
            .0
            .list_policies(&scope.account_id, "Local", false, None)
            .into_iter()
            .map(|p| ResourceRef {
                type_name: self.type_name().into(),
                physical_id: p.arn(),
                arn: p.arn(),
            })
            .collect())
    }
}

impl ManagedPolicyProvider {
    fn attach_to(&self, scope: &Scope, arn: &str, p: &J) -> Result<()> {
        let names = |k: &str| -> Vec<String> {
            p.get(k)
                .and_then(J::as_array)
                .map(|a| a.iter().filter_map(J::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        for u in names("Users") {
            self.0
                .attach_policy::<User>(&scope.account_id, &u, arn)
                .map_err(core_err)?;
        }
        for r in names("Roles") {
            self.0
                .attach_policy::<Role>(&scope.account_id, &r, arn)
                .map_err(core_err)?;
        }
        Ok(())
    }
}

/// Every provider this crate serves.
pub fn providers(identity: &Arc<Identity>) -> Vec<Arc<dyn ResourceProvider>> {
    vec![
        Arc::new(UserProvider(Arc::clone(identity))),
        Arc::new(RoleProvider(Arc::clone(identity))),
        Arc::new(ManagedPolicyProvider(Arc::clone(identity))),
    ]
}
