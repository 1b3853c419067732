//! smithy-rpc-v2-cbor bodies.

use crate::timestamp::{epoch_f64, from_epoch_f64};
use crate::value::{Value, ValueMap};
use ciborium::Value as C;

pub fn decode(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::map());
    }
    let c: C = ciborium::from_reader(body).map_err(|e| format!("Invalid CBOR: {e}"))?;
    match c {
        C::Map(_) => from_cbor(c),
        _ => Err("Request body must be a CBOR map".into()),
    }
}

fn from_cbor(c: C) -> Result<Value, String> {
    Ok(match c {
        C::Null => Value::Null,
        C::Bool(b) => Value::Bool(b),
        C::Integer(i) => {
            Value::Int(i64::try_from(i128::from(i)).map_err(|_| "integer out of range")?)
        }
        C::Float(f) => Value::Float(f),
        C::Text(s) => Value::String(s),
        C::Bytes(b) => Value::Blob(b),
        C::Array(a) => Value::List(a.into_iter().map(from_cbor).collect::<Result<_, _>>()?),
        C::Map(m) => {
            let mut out = ValueMap::new();
            for (k, v) in m {
                let C::Text(k) = k else {
                    return Err("CBOR map keys must be text".into());
                };
                // Smithy encodes absent optional members as null or omits them.
                let v = from_cbor(v)?;
                if v != Value::Null {
                    out.insert(k, v);
                }
            }
            Value::Map(out)
        }
        C::Tag(1, inner) => {
            let secs = match *inner {
                C::Integer(i) => i128::from(i) as f64,
                C::Float(f) => f,
                _ => return Err("timestamp tag must hold a number".into()),
            };
            Value::Timestamp(from_epoch_f64(secs).ok_or("timestamp out of range")?)
        }
        C::Tag(_, inner) => from_cbor(*inner)?,
        _ => return Err("unsupported CBOR item".into()),
    })
}

fn to_cbor(v: &Value) -> C {
    match v {
        Value::Null => C::Null,
        Value::Bool(b) => C::Bool(*b),
        Value::Int(i) => C::Integer((*i).into()),
        Value::Float(f) => C::Float(*f),
        Value::String(s) => C::Text(s.clone()),
        Value::Blob(b) => C::Bytes(b.clone()),
        Value::Timestamp(t) => C::Tag(1, Box::new(C::Float(epoch_f64(t)))),
        Value::List(l) => C::Array(l.iter().map(to_cbor).collect()),
        Value::RawJson(text) => to_cbor(&Value::raw_as_tree(text)),
        Value::Map(m) => match crate::timestamp::flat_items(m) {
            Some(items) => C::Array(items.iter().map(to_cbor).collect()),
            None => C::Map(
                m.iter()
                    .filter(|(k, v)| {
                        k.as_str() != crate::timestamp::MAP_MARKER
                            && !crate::timestamp::is_empty_flat(v)
                    })
                    .map(|(k, v)| (C::Text(k.clone()), to_cbor(v)))
                    .collect(),
            ),
        },
    }
}

pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    // Writing into a Vec cannot fail.
    let _ = ciborium::into_writer(&to_cbor(v), &mut out);
    out
}

pub fn encode_error(code: &str, message: &str) -> Vec<u8> {
    let mut m = ValueMap::new();
    m.insert("__type".into(), Value::String(code.into()));
    m.insert("message".into(), Value::String(message.into()));
    encode(&Value::Map(m))
}
