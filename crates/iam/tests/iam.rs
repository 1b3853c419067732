//! Engine-level tests of identity: persistence, authorization rules that sit outside the
//! policy language (root, cross-account), sessions, and the IAM resource providers.

use serde_json::json;
use sightline_core::{ResourceProvider, Scope};
use sightline_iam::model::{KeyOwner, User};
use sightline_iam::provider::{ManagedPolicyProvider, RoleProvider, UserProvider};
use sightline_iam::{Identity, Limits};
use sightline_meta::Meta;
use sightline_policy::{Context, Outcome};
use std::sync::Arc;

fn open(dir: &std::path::Path) -> Arc<Identity> {
    let meta = Arc::new(Meta::open(dir).expect("meta"));
    let id = Arc::new(Identity::open(meta, Limits::default()).expect("identity"));
    id.bootstrap().expect("bootstrap");
    id
}

fn root_caller(id: &Identity) -> sightline_core::Caller {
    let key = id.management_root_key().expect("root key");
    id.authenticate(&key.id).expect("root resolves").caller
}

#[test]
fn state_survives_reopen_and_bootstrap_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let (account, key_id) = {
        let id = open(dir.path());
        let account = id.management_account().unwrap();
        id.create_user(&account, "alice", None, vec![]).unwrap();
        id.put_inline_policy::<User>(&account, "alice", "p", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#).unwrap();
        let k = id
            .create_access_key(&account, KeyOwner::User("alice".into()))
            .unwrap();
        (account, k.id)
    };
    let id = open(dir.path());
    assert_eq!(
        id.management_account().unwrap(),
        account,
        "a restart must not create a second management account"
    );
    let resolved = id.authenticate(&key_id).expect("key survives restart");
    assert_eq!(resolved.caller.user_name.as_deref(), Some("alice"));
    let ctx = Context::new();
    assert_eq!(
        id.authorize(&resolved.caller, "iam:ListUsers", "*", &ctx, None),
        Outcome::Allowed
    );
    assert_eq!(
        id.authorize(&resolved.caller, "iam:CreateUser", "*", &ctx, None),
        Outcome::ImplicitDeny
    );
}

#[test]
fn root_is_bounded_by_its_account() {
    let dir = tempfile::tempdir().unwrap();
    let id = open(dir.path());
    let root = root_caller(&id);
    let ctx = Context::new();
    let own = format!("arn:aws:iam::{}:user/x", root.account_id);
    assert_eq!(
        id.authorize(&root, "iam:DeleteUser", &own, &ctx, None),
        Outcome::Allowed
    );
    assert_eq!(
        id.authorize(
            &root,
            "iam:DeleteUser",
            "arn:aws:iam::999999999999:user/x",
            &ctx,
            None
        ),
        Outcome::ImplicitDeny
    );
    // A resource policy in the other account can grant it.
    let grant = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"ROOT"},"Action":"sts:AssumeRole"}]}"#
        .replace("ROOT", &format!("arn:aws:iam::{}:root", root.account_id));
    let trust = sightline_wire::ResourcePolicy {
        document: grant,
        kind: sightline_wire::ResourcePolicyKind::Trust,
    };
    assert_eq!(
        id.authorize(
            &root,
            "sts:AssumeRole",
            "arn:aws:iam::999999999999:role/r",
            &ctx,
            Some(&trust)
        ),
        Outcome::Allowed
    );
}

#[test]
fn explicit_deny_beats_allow_for_users() {
    let dir = tempfile::tempdir().unwrap();
    let id = open(dir.path());
    let acct = id.management_account().unwrap();
    id.create_user(&acct, "bob", None, vec![]).unwrap();
    id.put_inline_policy::<User>(&acct, "bob", "allow", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#).unwrap();
    id.put_inline_policy::<User>(&acct, "bob", "deny", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}"#).unwrap();
    let k = id
        .create_access_key(&acct, KeyOwner::User("bob".into()))
        .unwrap();
    let bob = id.authenticate(&k.id).unwrap().caller;
    let ctx = Context::new();
    assert_eq!(
        id.authorize(&bob, "iam:GetUser", "*", &ctx, None),
        Outcome::Allowed
    );
    assert_eq!(
        id.authorize(&bob, "iam:DeleteUser", "*", &ctx, None),
        Outcome::ExplicitDeny
    );
}

#[test]
fn access_keys_are_limited_to_two_and_inactive_keys_do_not_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let id = open(dir.path());
    let acct = id.management_account().unwrap();
    id.create_user(&acct, "carol", None, vec![]).unwrap();
    let owner = KeyOwner::User("carol".into());
    let k1 = id.create_access_key(&acct, owner.clone()).unwrap();
    id.create_access_key(&acct, owner.clone()).unwrap();
    let third = id.create_access_key(&acct, owner.clone()).unwrap_err();
    assert!(
        matches!(third, sightline_iam::Error::LimitExceeded(_)),
        "{third:?}"
    );
    id.update_access_key(&acct, &owner, &k1.id, false).unwrap();
    assert!(id.authenticate(&k1.id).is_none());
    let del = id.delete_user(&acct, "carol").unwrap_err();
    assert!(
        matches!(del, sightline_iam::Error::DeleteConflict(_)),
        "{del:?}"
    );
}

#[test]
fn member_accounts_get_an_admin_role_trusting_management() {
    let dir = tempfile::tempdir().unwrap();
    let id = open(dir.path());
    let root = root_caller(&id);
    let req = id
        .create_account(&root.account_id, "ops", "ops@example.com", None)
        .unwrap();
    assert_eq!(req.state, "IN_PROGRESS");
    id.complete_pending().unwrap();
    let done = id
        .describe_create_account_status(&root.account_id, &req.id)
        .unwrap();
    assert_eq!(done.state, "SUCCEEDED");
    let member = done.account_id.unwrap();
    let role = format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole");
    let s = id
        .assume_role(&root, &role, "me", Some(900), &Context::new())
        .unwrap();
    let caller = id.authenticate(&s.access_key_id).unwrap().caller;
    assert_eq!(caller.account_id, member);
    assert_eq!(
        id.authorize(
            &caller,
            "iam:CreateUser",
            &format!("arn:aws:iam::{member}:user/x"),
            &Context::new(),
            None
        ),
        Outcome::Allowed
    );
    // The same email cannot open a second account.
    let again = id
        .create_account(&root.account_id, "ops2", "ops@example.com", None)
        .unwrap();
    id.complete_pending().unwrap();
    let failed = id
        .describe_create_account_status(&root.account_id, &again.id)
        .unwrap();
    assert_eq!(
        (failed.state.as_str(), failed.failure_reason.as_deref()),
        ("FAILED", Some("EMAIL_ALREADY_EXISTS"))
    );
    // A member's session cannot assume a role whose trust names only the management account.
    let other = id
        .create_account(&root.account_id, "dev", "dev@example.com", None)
        .unwrap();
    id.complete_pending().unwrap();
    let other_id = id
        .describe_create_account_status(&root.account_id, &other.id)
        .unwrap()
        .account_id
        .unwrap();
    let err = id
        .assume_role(
            &caller,
            &format!("arn:aws:iam::{other_id}:role/OrganizationAccountAccessRole"),
            "xx",
            None,
            &Context::new(),
        )
        .unwrap_err();
    assert!(
        matches!(err, sightline_iam::Error::AccessDenied(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn providers_create_read_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let id = open(dir.path());
    let scope = Scope::new(id.management_account().unwrap(), "us-east-1");
    let doc = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]});

    let users = UserProvider(Arc::clone(&id));
    let r = users
        .create(&scope, &json!({"UserName": "dave", "Policies": [{"PolicyName": "read", "PolicyDocument": doc}], "Tags": [{"Key": "team", "Value": "ops"}]}))
        .await
        .unwrap();
    assert_eq!(r.physical_id, "dave");
    let actual = users.read(&scope, "dave").await.unwrap().unwrap();
    assert_eq!(actual["Policies"][0]["PolicyDocument"], doc);
    assert_eq!(actual["Tags"], json!([{"Key": "team", "Value": "ops"}]));
    users
        .update(&scope, "dave", &json!({"UserName": "dave"}))
        .await
        .unwrap();
    let actual = users.read(&scope, "dave").await.unwrap().unwrap();
    assert!(
        actual.get("Policies").is_none() && actual.get("Tags").is_none(),
        "{actual}"
    );

    let policies = ManagedPolicyProvider(Arc::clone(&id));
    let p = policies
        .create(
            &scope,
            &json!({"ManagedPolicyName": "mp", "PolicyDocument": doc, "Users": ["dave"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        users.read(&scope, "dave").await.unwrap().unwrap()["ManagedPolicyArns"],
        json!([p.arn])
    );
    policies.delete(&scope, &p.physical_id).await.unwrap();
    assert!(
        policies
            .read(&scope, &p.physical_id)
            .await
            .unwrap()
            .is_none()
    );

    users.delete(&scope, "dave").await.unwrap();
    assert!(users.read(&scope, "dave").await.unwrap().is_none());

    let roles = RoleProvider(Arc::clone(&id));
    let trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]});
    roles
        .create(
            &scope,
            &json!({"RoleName": "app", "AssumeRolePolicyDocument": trust}),
        )
        .await
        .unwrap();
    assert_eq!(
        roles.read(&scope, "app").await.unwrap().unwrap()["AssumeRolePolicyDocument"],
        trust
    );
    assert_eq!(roles.list(&scope).await.unwrap().len(), 1);
    roles.delete(&scope, "app").await.unwrap();
    assert!(roles.list(&scope).await.unwrap().is_empty());
}
