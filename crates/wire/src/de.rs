//! [`Value`] → typed shapes, through serde.
//!
//! Lenient on scalars: the Query protocol sends every member as text, so numbers and
//! booleans are parsed from strings when the shape asks for them. Errors carry the member
//! path so the protocol error can name the member, as AWS does.

use crate::timestamp::format_iso;
use crate::value::Value;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeError {
    /// A required member is absent; the path names it (`Tags.1.Key`).
    #[error("missing required member '{0}'")]
    Missing(String),
    #[error("invalid value for '{path}': {message}")]
    Invalid { path: String, message: String },
}

impl DeError {
    fn at(self, key: &str) -> DeError {
        let join = |p: String| {
            if p.is_empty() {
                key.to_owned()
            } else {
                format!("{key}.{p}")
            }
        };
        match self {
            DeError::Missing(p) => DeError::Missing(join(p)),
            DeError::Invalid { path, message } => DeError::Invalid {
                path: join(path),
                message,
            },
        }
    }

    pub fn path(&self) -> &str {
        match self {
            DeError::Missing(p) => p,
            DeError::Invalid { path, .. } => path,
        }
    }
}

impl de::Error for DeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        DeError::Invalid {
            path: String::new(),
            message: msg.to_string(),
        }
    }
    fn missing_field(field: &'static str) -> Self {
        DeError::Missing(field.to_owned())
    }
}

pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, DeError> {
    T::deserialize(v.into_plain().map_err(<DeError as de::Error>::custom)?)
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Int(i) => de::Unexpected::Signed(*i),
        Value::Float(f) => de::Unexpected::Float(*f),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Blob(b) => de::Unexpected::Bytes(b),
        Value::Timestamp(_) => de::Unexpected::Other("timestamp"),
        Value::List(_) => de::Unexpected::Seq,
        Value::Map(_) => de::Unexpected::Map,
        Value::RawJson(_) => de::Unexpected::Other("JSON text"),
    }
}

impl Value {
    fn parse_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.parse_int().and_then(|i| <$ty>::try_from(i).ok()) {
                Some(i) => visitor.$visit(i),
                None => Err(de::Error::invalid_type(unexpected(&self), &visitor)),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Float(f) => visitor.visit_f64(f),
            Value::String(s) => visitor.visit_string(s),
            Value::Blob(b) => visitor.visit_byte_buf(b),
            Value::Timestamp(t) => visitor.visit_string(format_iso(&t)),
            Value::List(l) => visitor.visit_seq(SeqAccess {
                iter: l.into_iter(),
                index: 0,
            }),
            Value::Map(m) => visitor.visit_map(MapAccess {
                iter: m.into_iter(),
                value: None,
            }),
            raw @ Value::RawJson(_) => raw
                .into_plain()
                .map_err(<DeError as de::Error>::custom)?
                .deserialize_any(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            _ => Err(de::Error::invalid_type(unexpected(&self), &visitor)),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self {
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) => visitor.visit_f64(f),
                Err(_) => Err(de::Error::invalid_type(unexpected(&self), &visitor)),
            },
            _ => Err(de::Error::invalid_type(unexpected(&self), &visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::String(s) => visitor.visit_string(s),
            Value::Timestamp(t) => visitor.visit_string(format_iso(&t)),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Blob(b) => visitor.visit_byte_buf(b),
            Value::String(s) => visitor.visit_string(s),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::List(l) => visitor.visit_seq(SeqAccess {
                iter: l.into_iter(),
                index: 0,
            }),
            // The Query protocol writes an empty list as `Name=`.
            Value::String(s) if s.is_empty() => visitor.visit_seq(SeqAccess {
                iter: Vec::new().into_iter(),
                index: 0,
            }),
            Value::Null => visitor.visit_seq(SeqAccess {
                iter: Vec::new().into_iter(),
                index: 0,
            }),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Map(m) => visitor.visit_map(MapAccess {
                iter: m.into_iter(),
                value: None,
            }),
            Value::String(s) if s.is_empty() => visitor.visit_map(MapAccess {
                iter: Vec::new().into_iter(),
                value: None,
            }),
            Value::Null => visitor.visit_map(MapAccess {
                iter: Vec::new().into_iter(),
                value: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqAccess {
    iter: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for SeqAccess {
    type Error = DeError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            Some(v) => {
                self.index += 1;
                seed.deserialize(v)
                    .map(Some)
                    .map_err(|e| e.at(&self.index.to_string()))
            }
            None => Ok(None),
        }
    }
}

struct MapAccess {
    iter: <crate::value::ValueMap as IntoIterator>::IntoIter,
    value: Option<(String, Value)>,
}

impl<'de> de::MapAccess<'de> for MapAccess {
    type Error = DeError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((k, v)) => {
                let key = seed.deserialize(Value::String(k.clone()))?;
                self.value = Some((k, v));
                Ok(Some(key))
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        let (k, v) = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value without key"))?;
        seed.deserialize(v).map_err(|e| e.at(&k))
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}
