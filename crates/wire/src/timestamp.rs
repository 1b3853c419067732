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
