//! Query requests name SQS's members differently from JSON ones: lists and maps are
//! flattened under their element names (`AttributeName.1`, `Attribute.1.Name` /
//! `Attribute.1.Value`, `SendMessageBatchRequestEntry.1.Id`, `Tag.1.Key`), which the
//! Query decoder hands over as maps of indices. This renames them to the JSON members
//! so one set of shapes serves both protocols. JSON requests never carry these
//! element names, and a JSON `Tags` map has string values, so they pass unchanged.

use sightline_wire::{Value, ValueMap};

/// Flattened lists: the Query element name and the JSON member.
const LISTS: &[(&str, &str)] = &[
    ("AttributeName", "AttributeNames"),
    ("MessageAttributeName", "MessageAttributeNames"),
    ("MessageSystemAttributeName", "MessageSystemAttributeNames"),
    ("TagKey", "TagKeys"),
    ("SendMessageBatchRequestEntry", "Entries"),
    ("DeleteMessageBatchRequestEntry", "Entries"),
    ("ChangeMessageVisibilityBatchRequestEntry", "Entries"),
    ("StringListValue", "StringListValues"),
    ("BinaryListValue", "BinaryListValues"),
];

/// Flattened maps: the Query element name, the JSON member, the key and value names.
const MAPS: &[(&str, &str, &str, &str)] = &[
    ("Attribute", "Attributes", "Name", "Value"),
    ("Tag", "tags", "Key", "Value"),
    ("MessageAttribute", "MessageAttributes", "Name", "Value"),
    (
        "MessageSystemAttribute",
        "MessageSystemAttributes",
        "Name",
        "Value",
    ),
];

/// The items of a Query list (`{"1": a, "2": b}`, or `""` for an empty one), by index.
fn indexed(v: Value) -> Vec<Value> {
    match v {
        Value::Map(m) => {
            let mut items: Vec<(u32, Value)> = m
                .into_iter()
                .filter_map(|(k, v)| k.parse::<u32>().ok().map(|i| (i, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            items.into_iter().map(|(_, v)| v).collect()
        }
        Value::String(s) if s.is_empty() => Vec::new(),
        other => vec![other],
    }
}

fn to_map(v: Value, key: &str, value: &str) -> Value {
    let mut out = ValueMap::new();
    for entry in indexed(v) {
        if let Value::Map(mut e) = entry
            && let Some(Value::String(k)) = e.remove(key)
        {
            out.insert(k, e.remove(value).map(normalize).unwrap_or(Value::Null));
        }
    }
    Value::Map(out)
}

/// A Query map given under the JSON member's own name (TagQueue's `Tags.1.Key`).
fn is_indexed_entries(v: &Value, key: &str) -> bool {
    match v {
        Value::Map(m) => {
            !m.is_empty()
                && m.iter()
                    .all(|(k, e)| k.parse::<u32>().is_ok() && e.get(key).is_some())
        }
        _ => false,
    }
}

/// Renames the Query members of a request (at any depth) to the JSON ones.
pub fn normalize(input: Value) -> Value {
    let Value::Map(m) = input else {
        return input;
    };
    let mut out = ValueMap::new();
    for (k, v) in m {
        if let Some((_, json)) = LISTS.iter().find(|(q, _)| *q == k) {
            let items = indexed(v).into_iter().map(normalize).collect();
            out.insert((*json).to_owned(), Value::List(items));
        } else if let Some((_, json, key, value)) = MAPS.iter().find(|(q, ..)| *q == k) {
            out.insert((*json).to_owned(), to_map(v, key, value));
        } else if k == "Tags" && is_indexed_entries(&v, "Key") {
            out.insert(k, to_map(v, "Key", "Value"));
        } else {
            out.insert(k, normalize(v));
        }
    }
    Value::Map(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(form: &str) -> Value {
        sightline_wire::codec::query::decode(form.as_bytes(), false)
            .unwrap()
            .1
    }

    #[test]
    fn flattened_lists_and_maps_become_json_members() {
        let v = normalize(decode(
            "QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Attribute.2.Name=DelaySeconds&Attribute.2.Value=1&Tag.1.Key=team&Tag.1.Value=ops",
        ));
        let attrs = v.get("Attributes").unwrap();
        assert_eq!(
            attrs.get("VisibilityTimeout").and_then(Value::as_str),
            Some("5")
        );
        assert_eq!(attrs.get("DelaySeconds").and_then(Value::as_str), Some("1"));
        assert_eq!(
            v.get("tags").unwrap().get("team").and_then(Value::as_str),
            Some("ops")
        );
        let v = normalize(decode(
            "QueueUrl=u&AttributeName.2=SentTimestamp&AttributeName.1=All&MessageAttributeName.1=All",
        ));
        assert_eq!(
            v.get("AttributeNames"),
            Some(&Value::List(vec![
                Value::String("All".into()),
                Value::String("SentTimestamp".into())
            ]))
        );
    }

    #[test]
    fn batch_entries_and_their_attributes_are_renamed_inside() {
        let v = normalize(decode(
            "QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=hi&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v",
        ));
        let Some(Value::List(entries)) = v.get("Entries") else {
            panic!("{v:?}")
        };
        let attr = entries[0]
            .get("MessageAttributes")
            .unwrap()
            .get("n")
            .unwrap();
        assert_eq!(attr.get("StringValue").and_then(Value::as_str), Some("v"));
        assert_eq!(attr.get("DataType").and_then(Value::as_str), Some("String"));
    }

    #[test]
    fn tag_queue_maps_and_json_maps() {
        let v = normalize(decode("QueueUrl=u&Tags.1.Key=a&Tags.1.Value=b&TagKey.1=c"));
        assert_eq!(
            v.get("Tags").unwrap().get("a").and_then(Value::as_str),
            Some("b")
        );
        assert_eq!(
            v.get("TagKeys"),
            Some(&Value::List(vec![Value::String("c".into())]))
        );
        // A JSON Tags map is left as it is.
        let json = sightline_wire::codec::json::decode(br#"{"Tags":{"1":"x"}}"#).unwrap();
        assert_eq!(normalize(json.clone()), json);
    }
}
