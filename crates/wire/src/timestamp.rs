//! Timestamp and blob newtypes for typed shapes: they mark values that each protocol
//! encodes its own way, so the serde bridge recognises them by their newtype name.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub(crate) const TIMESTAMP_TOKEN: &str = "$sightline::Timestamp";
pub(crate) const BLOB_TOKEN: &str = "$sightline::Blob";
pub(crate) const MAP_TOKEN: &str = "$sightline::Map";

/// The member a [`Value::Map`](crate::Value) carries first when it is a map shape
/// rather than a structure: Query XML writes maps as `<entry><key/><value/></entry>`,
/// every other encoder drops the marker.
pub const MAP_MARKER: &str = "$map";

/// A map in an output shape (string keys), marked so Query XML writes it as entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WireMap<V>(pub Vec<(String, V)>);

impl<V> From<std::collections::BTreeMap<String, V>> for WireMap<V> {
    fn from(m: std::collections::BTreeMap<String, V>) -> Self {
        WireMap(m.into_iter().collect())
    }
}

impl<V: Serialize> Serialize for WireMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Inner<'a, V>(&'a [(String, V)]);
        impl<V: Serialize> Serialize for Inner<'_, V> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        s.serialize_newtype_struct(MAP_TOKEN, &Inner(&self.0))
    }
}

/// The member a [`Value::Map`](crate::Value) carries when it stands for a list that
/// Query XML writes flattened; its value is the element name of each item, and the
/// items are the `items` member. Every other encoder writes the items as a plain list.
pub const LIST_MARKER: &str = "$list";

/// An output map Query XML writes flattened, as SQS's shapes say: one
/// `<Entry><Key/><Value/></Entry>` per item straight inside the parent, with the element
/// names the shape gives, instead of WireMap's `<Member><entry><key/><value/>…`. It is
/// the same map marker as [`WireMap`], carrying the names as its value
/// (`"Attribute Name Value"`); every other encoder writes a plain map, and leaves an
/// empty one out.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatMap<V> {
    /// Element names of an entry, its key and its value.
    pub names: (&'static str, &'static str, &'static str),
    pub entries: Vec<(String, V)>,
}

impl<V> FlatMap<V> {
    pub fn new(names: (&'static str, &'static str, &'static str)) -> Self {
        FlatMap {
            names,
            entries: Vec::new(),
        }
    }
}

impl<V: Serialize> Serialize for FlatMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (entry, key, value) = self.names;
        let mut m = s.serialize_map(Some(self.entries.len() + 1))?;
        m.serialize_entry(MAP_MARKER, &format!("{entry} {key} {value}"))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// An output list Query XML writes flattened (each item an `<item>` element straight
/// inside the parent, SQS's `<QueueUrl>` repeated); a plain list elsewhere, left out
/// when empty.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatList<T> {
    pub item: &'static str,
    pub items: Vec<T>,
}

impl<T: Serialize> Serialize for FlatList<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(LIST_MARKER, self.item)?;
        m.serialize_entry("items", &self.items)?;
        m.end()
    }
}

/// An empty [`FlatList`] or [`FlatMap`]: JSON and CBOR leave the member out, as SQS's
/// JSON protocol does (`{}` for a receive of nothing), while Query XML still writes the
/// result element around it, which Query clients look for.
pub(crate) fn is_empty_flat(v: &crate::Value) -> bool {
    match v {
        crate::Value::Map(m) => match flat_items(m) {
            Some(items) => items.is_empty(),
            None => matches!(m.get(MAP_MARKER), Some(crate::Value::String(_))) && m.len() == 1,
        },
        _ => false,
    }
}

/// The items of a map standing for a flattened list ([`FlatList`]), if it is one.
pub(crate) fn flat_items(m: &crate::ValueMap) -> Option<&[crate::Value]> {
    m.get(LIST_MARKER)?;
    match m.get("items") {
        Some(crate::Value::List(items)) => Some(items),
        _ => Some(&[]),
    }
}

/// A point in time in a request or response shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Outside the wire bridge (e.g. plain serde_json) an RFC 3339 string is right.
        s.serialize_newtype_struct(TIMESTAMP_TOKEN, &format_iso(&self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                parse_timestamp(v)
                    .map(Timestamp)
                    .ok_or_else(|| E::custom(format!("invalid timestamp '{v}'")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Utc.timestamp_opt(v, 0)
                    .single()
                    .map(Timestamp)
                    .ok_or_else(|| E::custom("timestamp out of range"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_i64(i64::try_from(v).map_err(|_| E::custom("timestamp out of range"))?)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Timestamp, E> {
                from_epoch_f64(v)
                    .map(Timestamp)
                    .ok_or_else(|| E::custom("timestamp out of range"))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Timestamp, D::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_newtype_struct(TIMESTAMP_TOKEN, V)
    }
}

/// Opaque bytes in a shape (base64 in JSON and XML, a byte string in CBOR).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(BLOB_TOKEN, &serde_bytes_ref(&self.0))
    }
}

struct BytesRef<'a>(&'a [u8]);
impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}
fn serde_bytes_ref(b: &[u8]) -> BytesRef<'_> {
    BytesRef(b)
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a blob")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Blob, E> {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map(Blob)
                    .map_err(|_| E::custom("invalid base64"))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Blob, D::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_newtype_struct(BLOB_TOKEN, V)
    }
}

pub fn format_iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// CloudTrail's `eventTime` shape: second precision, `Z`.
pub fn format_audit(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn epoch_f64(t: &DateTime<Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0
}

pub fn from_epoch_f64(v: f64) -> Option<DateTime<Utc>> {
    if !v.is_finite() {
        return None;
    }
    let millis = (v * 1000.0).round();
    if millis.abs() > 8.0e15 {
        return None;
    }
    Utc.timestamp_millis_opt(millis as i64).single()
}

/// Accepts the forms AWS clients send: RFC 3339 / ISO 8601 (with or without fraction or
/// offset), epoch seconds as text, and the HTTP date format.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ") {
        return Some(t.and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ") {
        return Some(t.and_utc());
    }
    if let Ok(v) = s.parse::<f64>() {
        return from_epoch_f64(v);
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.with_timezone(&Utc));
    }
    None
}
