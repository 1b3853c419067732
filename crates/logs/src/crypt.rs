//! Encryption at rest for log groups with a KMS key: each message is sealed with
//! AES-256-GCM under the group's data key (itself sealed by KMS and kept in the group),
//! and stored as base64 of nonce ‖ ciphertext, with the data key's id in the event's
//! `key_id` column. Reads open messages inside the DataFusion scan, so patterns and
//! queries see plaintext and nothing else changes.

use base64::Engine;
use datafusion::arrow::array::{Array, AsArray, StringViewBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A group's plaintext data key, ready to seal and open messages.
pub struct MessageKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageKey(<redacted>)")
    }
}

impl MessageKey {
    pub fn new(plaintext: &[u8]) -> Option<MessageKey> {
        let key = UnboundKey::new(&AES_256_GCM, plaintext).ok()?;
        Some(MessageKey {
            key: LessSafeKey::new(key),
        })
    }

    pub fn seal(&self, message: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut buf = message.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .ok()?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Some(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Option<String> {
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let mut body = raw.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&raw).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut body)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// The data keys a read may use, by `GROUP_ID:KEY_ID` (key ids count per group).
pub type Keyring = BTreeMap<String, Arc<MessageKey>>;

/// `open_message(message, group_id, key_id)`: the plaintext of sealed messages, other
/// messages as they are.
#[derive(Debug)]
pub struct OpenUdf {
    keys: Arc<Keyring>,
    signature: Signature,
}

impl PartialEq for OpenUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.keys, &other.keys)
    }
}

impl Eq for OpenUdf {}

impl Hash for OpenUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.keys) as usize).hash(state);
    }
}

impl OpenUdf {
    pub fn call(keys: Arc<Keyring>, message: Expr, group_id: Expr, key_id: Expr) -> Expr {
        ScalarUDF::new_from_impl(OpenUdf {
            keys,
            signature: Signature::exact(
                vec![DataType::Utf8View, DataType::Utf8View, DataType::Utf8View],
                Volatility::Immutable,
            ),
        })
        .call(vec![message, group_id, key_id])
    }
}

impl ScalarUDFImpl for OpenUdf {
    fn name(&self) -> &str {
        "open_message"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8View)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (Some(messages), Some(groups), Some(ids)) =
            (arrays.first(), arrays.get(1), arrays.get(2))
        else {
            return Err(DataFusionError::Internal(
                "open_message takes three arguments".into(),
            ));
        };
        let messages = messages.as_string_view();
        let groups = groups.as_string_view();
        let ids = ids.as_string_view();
        let mut out = StringViewBuilder::with_capacity(messages.len());
        for i in 0..messages.len() {
            if messages.is_null(i) {
                out.append_null();
                continue;
            }
            let m = messages.value(i);
            if ids.is_null(i) {
                out.append_value(m);
                continue;
            }
            let name = format!("{}:{}", groups.value(i), ids.value(i));
            let key = self.keys.get(&name).ok_or_else(|| {
                DataFusionError::Execution(format!(
                    "no data key {} for a sealed log event",
                    ids.value(i)
                ))
            })?;
            let plain = key.open(m).ok_or_else(|| {
                DataFusionError::Execution("a sealed log event does not open".into())
            })?;
            out.append_value(plain);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
