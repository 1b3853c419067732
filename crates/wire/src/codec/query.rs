//! awsQuery and ec2 query: form-encoded input, XML output.

use super::xml::{ListStyle, escape, write_members};
use crate::value::{Value, ValueMap};

/// Form parameters that belong to the protocol or to SigV4, not to the operation input.
fn is_envelope(key: &str) -> bool {
    key == "Action" || key == "Version" || key.starts_with("X-Amz-") || key == "AWSAccessKeyId"
}

/// The deepest parameter name accepted, in dot-separated segments. Real shapes nest a
/// handful of levels (`Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight`);
/// the bound keeps the recursive tree walk off the end of the stack.
const MAX_DEPTH: usize = 32;

/// Splits a form body into the Action, the Version and the input tree.
pub fn decode(form: &[u8], ec2: bool) -> Result<(Option<String>, Value), String> {
    if std::str::from_utf8(form).is_err() {
        return Err("Request body is not valid UTF-8".into());
    }
    let mut action = None;
    let mut root = Node::Branch(Vec::new());
    for (k, v) in form_urlencoded::parse(form) {
        if k == "Action" {
            action = Some(v.into_owned());
            continue;
        }
        if is_envelope(&k) {
            continue;
        }
        let parts: Vec<&str> = k.split('.').collect();
        if parts.len() > MAX_DEPTH {
            return Err(format!(
                "Parameter name nests more than {MAX_DEPTH} levels deep"
            ));
        }
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("Invalid parameter name '{k}'"));
        }
        root.insert(&parts, v.into_owned()).map_err(|c| match c {
            Conflict::Duplicate => format!("Duplicate parameter '{k}'"),
            Conflict::Scalar => format!("Parameter '{k}' conflicts with a scalar value"),
        })?;
    }
    // The input itself is always a structure, even if its only member is named `member`.
    let input = match root {
        Node::Branch(children) => Value::Map(
            children
                .into_iter()
                .map(|(k, n)| (k, n.into_value(ec2)))
                .collect(),
        ),
        Node::Leaf(_) => Value::map(),
    };
    Ok((action, input))
}

/// Why a parameter cannot be placed in the tree.
enum Conflict {
    /// The same name was given twice.
    Duplicate,
    /// A prefix of the name was already given a value of its own.
    Scalar,
}

/// Intermediate tree: the same path may be given once, and order of indices is free.
enum Node {
    Leaf(String),
    Branch(Vec<(String, Node)>),
}

impl Node {
    fn insert(&mut self, path: &[&str], value: String) -> Result<(), Conflict> {
        let Node::Branch(children) = self else {
            return Err(Conflict::Scalar);
        };
        let Some((head, rest)) = path.split_first() else {
            return Err(Conflict::Duplicate);
        };
        let pos = children.iter().position(|(k, _)| k == head);
        if rest.is_empty() {
            match pos {
                Some(_) => Err(Conflict::Duplicate),
                None => {
                    children.push(((*head).to_owned(), Node::Leaf(value)));
                    Ok(())
                }
            }
        } else {
            let idx = match pos {
                Some(i) => i,
                None => {
                    children.push(((*head).to_owned(), Node::Branch(Vec::new())));
                    children.len() - 1
                }
            };
            children[idx].1.insert(rest, value)
        }
    }

    fn into_value(self, ec2: bool) -> Value {
        match self {
            Node::Leaf(s) => Value::String(s),
            Node::Branch(children) => {
                // `member.N` (Query) or bare `N` (ec2) children form a list.
                let single = (children.len() == 1).then(|| children[0].0.clone());
                if single.as_deref() == Some("member") || single.as_deref() == Some("entry") {
                    let mut children = children;
                    if let Some((k, Node::Branch(items))) = children.pop() {
                        return if k == "member" {
                            indexed_list(items, ec2)
                        } else {
                            entry_map(items, ec2)
                        };
                    }
                    return Value::Map(ValueMap::new());
                }
                if ec2
                    && !children.is_empty()
                    && children.iter().all(|(k, _)| k.parse::<u32>().is_ok())
                {
                    return indexed_list(children, ec2);
                }
                Value::Map(
                    children
                        .into_iter()
                        .map(|(k, n)| (k, n.into_value(ec2)))
                        .collect(),
                )
            }
        }
    }
}

fn indexed_list(items: Vec<(String, Node)>, ec2: bool) -> Value {
    let mut indexed: Vec<(u32, Node)> = items
        .into_iter()
        .filter_map(|(k, n)| k.parse::<u32>().ok().map(|i| (i, n)))
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    Value::List(
        indexed
            .into_iter()
            .map(|(_, n)| n.into_value(ec2))
            .collect(),
    )
}

fn entry_map(items: Vec<(String, Node)>, ec2: bool) -> Value {
    let mut indexed: Vec<(u32, Node)> = items
        .into_iter()
        .filter_map(|(k, n)| k.parse::<u32>().ok().map(|i| (i, n)))
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    let mut m = ValueMap::new();
    for (_, n) in indexed {
        if let Value::Map(mut e) = n.into_value(ec2) {
            let key = e.remove("key").or_else(|| e.remove("Name"));
            let value = e
                .remove("value")
                .or_else(|| e.remove("Value"))
                .unwrap_or(Value::Null);
            if let Some(Value::String(k)) = key {
                m.insert(k, value);
            }
        }
    }
    Value::Map(m)
}

/// `<OpResponse xmlns><OpResult>…</OpResult><ResponseMetadata>…</ResponseMetadata></OpResponse>`.
pub fn encode(operation: &str, namespace: &str, request_id: &str, output: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push('<');
    out.push_str(operation);
    out.push_str("Response xmlns=\"");
    escape(namespace, &mut out);
    out.push_str("\">");
    match output {
        Value::Map(m) if !m.is_empty() => {
            out.push('<');
            out.push_str(operation);
            out.push_str("Result>");
            write_members(m, ListStyle::Wrapped("member"), &mut out);
            out.push_str("</");
            out.push_str(operation);
            out.push_str("Result>");
        }
        _ => {}
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(operation);
    out.push_str("Response>");
    out.into_bytes()
}

pub fn encode_error(
    namespace: &str,
    request_id: &str,
    code: &str,
    message: &str,
    sender: bool,
) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("<ErrorResponse xmlns=\"");
    escape(namespace, &mut out);
    out.push_str("\"><Error><Type>");
    out.push_str(if sender { "Sender" } else { "Receiver" });
    out.push_str("</Type><Code>");
    escape(code, &mut out);
    out.push_str("</Code><Message>");
    escape(message, &mut out);
    out.push_str("</Message></Error><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ErrorResponse>");
    out.into_bytes()
}

/// ec2 responses put members straight under `<OpResponse>` with a `requestId` first.
pub fn encode_ec2(operation: &str, namespace: &str, request_id: &str, output: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push('<');
    out.push_str(operation);
    out.push_str("Response xmlns=\"");
    escape(namespace, &mut out);
    out.push_str("\"><requestId>");
    escape(request_id, &mut out);
    out.push_str("</requestId>");
    if let Value::Map(m) = output {
        write_members(m, ListStyle::Wrapped("item"), &mut out);
    }
    out.push_str("</");
    out.push_str(operation);
    out.push_str("Response>");
    out.into_bytes()
}

pub fn encode_ec2_error(request_id: &str, code: &str, message: &str) -> Vec<u8> {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>");
    escape(code, &mut out);
    out.push_str("</Code><Message>");
    escape(message, &mut out);
    out.push_str("</Message></Error></Errors><RequestID>");
    escape(request_id, &mut out);
    out.push_str("</RequestID></Response>");
    out.into_bytes()
}
