//! KMS-keyed log groups: associating a key makes a data key for the group under it
//! (generated as the logs service principal, `logs.REGION.amazonaws.com`, with the
//! group's ARN as `aws:logs:arn` encryption context, so the key policy must allow the
//! service as on AWS). New events are sealed with that data key; reading a group's
//! events needs the caller's own `kms:Decrypt` on every key that sealed them.

use crate::crypt::{Keyring, MessageKey};
use crate::engine::{Logs, key, not_found_group};
use crate::model::{DataKeyRecord, LogGroup};
use crate::{Error, Result, names, store};
use sightline_core::{Caller, KeyRequest, Scope};
use std::collections::BTreeMap;
use std::sync::Arc;

const CONTEXT_KEY: &str = "aws:logs:arn";
const SERVICE_SOURCE: &str = "logs.amazonaws.com";

/// Who reads a group's events, for the `kms:Decrypt` each sealed read needs.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub caller: &'a Caller,
    pub source_ip: &'a str,
    pub secure_transport: bool,
}

fn service_name(region: &str) -> String {
    format!("logs.{region}.amazonaws.com")
}

fn context(arn: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(CONTEXT_KEY.to_owned(), arn.to_owned())])
}

fn association_error(arn: &str, e: sightline_core::Error) -> Error {
    match e {
        sightline_core::Error::Service { code, .. } if code == "DisabledException" => {
            Error::InvalidParameter(format!("The specified KMS key is disabled: '{arn}'"))
        }
        _ => Error::InvalidParameter(format!(
            "The specified KMS key does not exist or is not allowed to be used with LogGroup ARN '{arn}'"
        )),
    }
}

impl Logs {
    /// A fresh data key for a group under `kms_key_id`, as the logs service.
    pub(crate) async fn new_data_key(
        &self,
        scope: &Scope,
        group_arn: &str,
        kms_key_id: &str,
        id: u32,
    ) -> Result<(DataKeyRecord, Arc<MessageKey>)> {
        let service = Caller::service(&service_name(&scope.region));
        let request = KeyRequest {
            caller: &service,
            scope,
            source_ip: SERVICE_SOURCE,
            secure_transport: true,
            via_service: service_name(&scope.region),
            source_arn: Some(group_arn),
        };
        let dk = self
            .keys
            .generate_data_key(&request, kms_key_id, &context(group_arn))
            .await
            .map_err(|e| association_error(group_arn, e))?;
        let key = MessageKey::new(&dk.plaintext)
            .ok_or_else(|| Error::InvalidParameter("KMS returned an unusable data key".into()))?;
        Ok((
            DataKeyRecord {
                id,
                kms_key_arn: dk.key_arn,
                ciphertext: dk.ciphertext,
            },
            Arc::new(key),
        ))
    }

    pub async fn associate_key(&self, scope: &Scope, group: &str, kms_key_id: &str) -> Result<()> {
        names::group(group, "logGroupName")?;
        let (arn, id) = self.with_group(scope, group, |g| {
            let next = g
                .info
                .data_keys
                .iter()
                .map(|k| k.id)
                .max()
                .map_or(1, |m| m + 1);
            Ok((g.info.arn(), next))
        })?;
        let (record, plain) = self.new_data_key(scope, &arn, kms_key_id, id).await?;
        self.with_group_mut(scope, group, |g| {
            if g.info.arn() != arn {
                return Err(not_found_group());
            }
            let mut info = g.info.clone();
            info.active_key = Some(record.id);
            info.data_keys.push(record);
            store::put_group(&self.meta, &info)?;
            self.data_keys
                .lock()
                .insert((info.id.clone(), id), plain.clone());
            g.info = info;
            Ok(())
        })
    }

    pub fn disassociate_key(&self, scope: &Scope, group: &str) -> Result<()> {
        names::group(group, "logGroupName")?;
        self.with_group_mut(scope, group, |g| {
            if g.info.active_key.is_none() {
                return Err(Error::InvalidParameter(
                    "The log group is not associated with a KMS key.".into(),
                ));
            }
            let mut info = g.info.clone();
            info.active_key = None;
            store::put_group(&self.meta, &info)?;
            g.info = info;
            Ok(())
        })
    }

    /// A data key's plaintext as the service sees it (cached after the first use).
    async fn service_key(
        &self,
        scope: &Scope,
        info: &LogGroup,
        id: u32,
    ) -> Result<Arc<MessageKey>> {
        if let Some(k) = self.data_keys.lock().get(&(info.id.clone(), id)) {
            return Ok(k.clone());
        }
        let service = Caller::service(&service_name(&scope.region));
        let reader = Reader {
            caller: &service,
            source_ip: SERVICE_SOURCE,
            secure_transport: true,
        };
        let k = self.open_key(scope, info, id, &reader).await?;
        self.data_keys
            .lock()
            .insert((info.id.clone(), id), k.clone());
        Ok(k)
    }

    async fn open_key(
        &self,
        scope: &Scope,
        info: &LogGroup,
        id: u32,
        reader: &Reader<'_>,
    ) -> Result<Arc<MessageKey>> {
        let record = info
            .data_keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| Error::InvalidParameter(format!("no data key {id}")))?;
        let arn = info.arn();
        let request = KeyRequest {
            caller: reader.caller,
            scope,
            source_ip: reader.source_ip,
            secure_transport: reader.secure_transport,
            via_service: service_name(&scope.region),
            source_arn: Some(&arn),
        };
        let (_, plain) = self
            .keys
            .decrypt(&request, &record.ciphertext, &context(&arn))
            .await
            .map_err(|e| match e {
                sightline_core::Error::AccessDenied(m) => Error::AccessDenied(m),
                sightline_core::Error::Service { code, message } => {
                    Error::AccessDenied(format!("{code}: {message}"))
                }
                other => Error::AccessDenied(other.to_string()),
            })?;
        MessageKey::new(&plain)
            .map(Arc::new)
            .ok_or_else(|| Error::InvalidParameter("KMS returned an unusable data key".into()))
    }

    /// The key new events of the group are sealed with, if any.
    pub(crate) async fn write_key(
        &self,
        scope: &Scope,
        info: &LogGroup,
    ) -> Result<Option<(u32, Arc<MessageKey>)>> {
        match info.active_key {
            Some(id) => Ok(Some((id, self.service_key(scope, info, id).await?))),
            None => Ok(None),
        }
    }

    /// Every data key of the group, opened as `reader` (the caller's `kms:Decrypt`), or
    /// as the service for Sightline's own reads (subscription deliveries).
    pub(crate) async fn read_keys(
        &self,
        scope: &Scope,
        info: &LogGroup,
        reader: Option<&Reader<'_>>,
    ) -> Result<Arc<Keyring>> {
        let mut ring = Keyring::new();
        for k in &info.data_keys {
            let opened = match reader {
                Some(r) => self.open_key(scope, info, k.id, r).await?,
                None => self.service_key(scope, info, k.id).await?,
            };
            ring.insert(format!("{}:{}", info.id, k.id), opened);
        }
        Ok(Arc::new(ring))
    }

    /// The group's current record, for key lookups.
    pub(crate) fn group_info(&self, scope: &Scope, group: &str) -> Result<LogGroup> {
        let state = self.state.read();
        state
            .groups
            .get(&key(scope))
            .and_then(|m| m.get(group))
            .map(|g| g.info.clone())
            .ok_or_else(not_found_group)
    }
}
