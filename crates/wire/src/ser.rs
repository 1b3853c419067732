//! Typed shapes → [`Value`], through serde.

use crate::timestamp::{BLOB_TOKEN, MAP_MARKER, MAP_TOKEN, TIMESTAMP_TOKEN, parse_timestamp};
use crate::value::{Value, ValueMap};
use serde::ser::{self, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SerError(String);

impl ser::Error for SerError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

/// Converts any serializable shape; `None` fields become [`Value::Null`] and are
/// dropped from maps so that absent members stay absent on the wire.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, SerError> {
    v.serialize(ValueSerializer)
}

struct ValueSerializer;

pub struct SeqSer(Vec<Value>);
pub struct MapSer {
    map: ValueMap,
    key: Option<String>,
}
pub struct VariantSer {
    name: &'static str,
    inner: Vec<Value>,
}
pub struct StructVariantSer {
    name: &'static str,
    map: ValueMap,
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = SerError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSer;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = StructVariantSer;

    fn serialize_bool(self, v: bool) -> Result<Value, SerError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerError> {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerError> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| SerError("integer out of range".into()))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerError> {
        Ok(Value::Blob(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, SerError> {
        Ok(Value::Map(ValueMap::new()))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, SerError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, SerError> {
        let inner = v.serialize(ValueSerializer)?;
        match (name, inner) {
            (TIMESTAMP_TOKEN, Value::String(s)) => parse_timestamp(&s)
                .map(Value::Timestamp)
                .ok_or_else(|| SerError("invalid timestamp".into())),
            (BLOB_TOKEN, Value::Blob(b)) => Ok(Value::Blob(b)),
            (MAP_TOKEN, Value::Map(m)) => {
                let mut marked = ValueMap::new();
                marked.insert(MAP_MARKER.to_owned(), Value::Null);
                for (k, v) in m.into_iter() {
                    marked.insert(k, v);
                }
                Ok(Value::Map(marked))
            }
            (_, other) => Ok(other),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, SerError> {
        let mut m = ValueMap::new();
        m.insert(variant.to_owned(), v.serialize(ValueSerializer)?);
        Ok(Value::Map(m))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, SerError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<VariantSer, SerError> {
        Ok(VariantSer {
            name: variant,
            inner: Vec::new(),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, SerError> {
        Ok(MapSer {
            map: ValueMap::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer, SerError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<StructVariantSer, SerError> {
        Ok(StructVariantSer {
            name: variant,
            map: ValueMap::new(),
        })
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.0.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, SerError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, SerError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for VariantSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.inner.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        let mut m = ValueMap::new();
        m.insert(self.name.to_owned(), Value::List(self.inner));
        Ok(Value::Map(m))
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), SerError> {
        match k.serialize(ValueSerializer)? {
            Value::String(s) => self.key = Some(s),
            Value::Int(i) => self.key = Some(i.to_string()),
            _ => return Err(SerError("map keys must be strings".into())),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerError("value without key".into()))?;
        let v = v.serialize(ValueSerializer)?;
        self.map.insert(key, v);
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(Value::Map(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        let v = v.serialize(ValueSerializer)?;
        if v != Value::Null {
            self.map.insert(key.to_owned(), v);
        }
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(Value::Map(self.map))
    }
}

impl ser::SerializeStructVariant for StructVariantSer {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        let v = v.serialize(ValueSerializer)?;
        if v != Value::Null {
            self.map.insert(key.to_owned(), v);
        }
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        let mut m = ValueMap::new();
        m.insert(self.name.to_owned(), Value::Map(self.map));
        Ok(Value::Map(m))
    }
}
