//! The KMS engine over a real SQLite store: what happens when time passes (deletion at
//! the end of the waiting period, automatic rotation) and what survives a reopen.

use chrono::{Duration, Utc};
use sightline_core::Scope;
use sightline_kms::crypto::{Context, MasterKey, parse_blob, random_secret};
use sightline_kms::engine::NewKey;
use sightline_kms::{Error, Kms};
use sightline_meta::Meta;
use std::sync::Arc;

fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

fn open(dir: &std::path::Path) -> Kms {
    let meta = Arc::new(Meta::open(dir).unwrap());
    let master = MasterKey::load_or_create(&dir.join("master.key")).unwrap();
    Kms::open(meta, master).unwrap()
}

#[test]
fn a_key_is_deleted_with_its_aliases_when_the_waiting_period_ends() {
    let dir = tempfile::tempdir().unwrap();
    let kms = open(dir.path());
    let key = kms.create_key(&scope(), NewKey::default()).unwrap();
    kms.create_alias(&scope(), "alias/doomed", &key.key_id)
        .unwrap();
    kms.schedule_deletion(&scope(), &key.key_id, Some(7))
        .unwrap();
    kms.run_due(Utc::now() + Duration::days(6)).unwrap();
    assert!(kms.describe(&scope(), &key.key_id).is_ok(), "still waiting");
    kms.run_due(Utc::now() + Duration::days(7) + Duration::minutes(1))
        .unwrap();
    assert!(matches!(
        kms.describe(&scope(), &key.key_id),
        Err(Error::NotFound(_))
    ));
    assert!(kms.list_aliases(&scope(), None).unwrap().is_empty());
    drop(kms);
    // Gone from storage too, not only from memory.
    let kms = open(dir.path());
    assert!(kms.list_keys(&scope()).unwrap().is_empty());
    assert!(kms.list_aliases(&scope(), None).unwrap().is_empty());
}

#[test]
fn automatic_rotation_adds_material_and_old_ciphertexts_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let kms = open(dir.path());
    let ctx = Context::new();
    let key = kms.create_key(&scope(), NewKey::default()).unwrap();
    let (_, old) = kms.encrypt(&scope(), &key.key_id, b"v1", &ctx).unwrap();
    kms.enable_rotation(&scope(), &key.key_id, Some(90))
        .unwrap();
    kms.run_due(Utc::now() + Duration::days(89)).unwrap();
    assert_eq!(
        kms.describe(&scope(), &key.key_id).unwrap().materials.len(),
        1
    );
    kms.run_due(Utc::now() + Duration::days(91)).unwrap();
    let rotated = kms.describe(&scope(), &key.key_id).unwrap();
    assert_eq!(rotated.materials.len(), 2);
    assert_eq!(
        rotated.materials[1].rotation_type.as_deref(),
        Some("AUTOMATIC")
    );
    let next = rotated.next_rotation.unwrap();
    assert!(next > Utc::now() + Duration::days(170) && next < Utc::now() + Duration::days(181));
    let (_, new) = kms.encrypt(&scope(), &key.key_id, b"v2", &ctx).unwrap();
    assert_eq!(parse_blob(&old).unwrap().version, 1);
    assert_eq!(parse_blob(&new).unwrap().version, 2);
    drop(kms);
    let kms = open(dir.path());
    let d = kms.decrypt(&scope(), &old, None, &ctx).unwrap();
    assert_eq!(d.plaintext, b"v1");
    let d = kms.decrypt(&scope(), &new, None, &ctx).unwrap();
    assert_eq!(d.plaintext, b"v2");
}

#[test]
fn stored_material_is_wrapped_and_another_master_key_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let kms = open(dir.path());
    kms.create_key(&scope(), NewKey::default()).unwrap();
    drop(kms);
    let meta = Arc::new(Meta::open(dir.path()).unwrap());
    let err = Kms::open(meta, MasterKey::from_secret(random_secret().unwrap()))
        .err()
        .expect("a foreign master key must be refused");
    assert!(matches!(err, Error::MasterKey(_)), "{err}");
}
