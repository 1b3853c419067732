//! XML writing and reading shared by awsQuery, ec2 and restXml.

use crate::timestamp::format_iso;
use crate::value::{Value, ValueMap};
use base64::Engine;
use quick_xml::events::Event;

/// How lists are written: Query wraps items in `<member>`, ec2 in `<item>`, restXml
/// (S3) repeats the member's own element name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStyle {
    Wrapped(&'static str),
    Flattened,
}

pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::String(s) => s.clone(),
        Value::Blob(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Value::Timestamp(t) => format_iso(t),
        Value::List(_) | Value::Map(_) => return None,
        Value::RawJson(text) => return scalar(&Value::raw_as_tree(text)),
    })
}

fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{f:?}")
    }
}

/// Writes the members of a structure as child elements.
pub fn write_members(m: &ValueMap, style: ListStyle, out: &mut String) {
    for (k, v) in m.iter() {
        write_element(k, v, style, out);
    }
}

pub fn write_element(name: &str, v: &Value, style: ListStyle, out: &mut String) {
    match v {
        Value::List(items) => match style {
            ListStyle::Wrapped(item) => {
                out.push('<');
                out.push_str(name);
                out.push('>');
                for it in items {
                    write_element(item, it, style, out);
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            ListStyle::Flattened => {
                for it in items {
                    write_element(name, it, style, out);
                }
            }
        },
        // A flattened list (`FlatList`): each item its own element, no wrapper.
        Value::Map(m) if let Some(items) = crate::timestamp::flat_items(m) => {
            let item = m
                .get(crate::timestamp::LIST_MARKER)
                .and_then(Value::as_str)
                .unwrap_or(name);
            for it in items {
                write_element(item, it, style, out);
            }
        }
        Value::Map(m) if let Some(Value::String(names)) = m.get(crate::timestamp::MAP_MARKER) => {
            // A flattened map (`FlatMap`): the entry, key and value element names.
            let mut parts = names.split(' ');
            let entry = parts.next().unwrap_or("entry");
            let key = parts.next().unwrap_or("key");
            let value = parts.next().unwrap_or("value");
            for (k, v) in m.iter() {
                if k.as_str() == crate::timestamp::MAP_MARKER {
                    continue;
                }
                out.push('<');
                out.push_str(entry);
                out.push('>');
                write_element(key, &Value::String(k.clone()), style, out);
                write_element(value, v, style, out);
                out.push_str("</");
                out.push_str(entry);
                out.push('>');
            }
        }
        Value::Map(m) if m.get(crate::timestamp::MAP_MARKER).is_some() => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in m.iter() {
                if k.as_str() == crate::timestamp::MAP_MARKER {
                    continue;
                }
                out.push_str("<entry>");
                write_element("key", &Value::String(k.clone()), style, out);
                write_element("value", v, style, out);
                out.push_str("</entry>");
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Map(m) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            write_members(m, style, out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        other => {
            let text = scalar(other).unwrap_or_default();
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape(&text, out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// An open element while parsing: its name, the children collected so far and its text.
type Frame = (String, Vec<(String, Value)>, String);

/// The deepest element nesting accepted. Request documents nest a few levels; the bound
/// keeps the parsed tree (whose drop and decode recurse) off the end of the stack.
const MAX_DEPTH: usize = 64;

/// Parses an XML document into its root element name and a [`Value`]: text-only
/// elements become strings (whitespace kept, as in S3 object keys), repeated children
/// become lists, and text between child elements is ignored. Shapes decide the rest.
pub fn parse(body: &[u8]) -> Result<(String, Value), String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| "The XML you provided was not well-formed".to_string())?;
    // Text is not trimmed per event: quick-xml splits `1 &amp; 2` into three events and
    // trimming each would lose the spaces around the entity.
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("The XML you provided was not well-formed: {e}"))?
        {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "The XML you provided was not well-formed: elements nest more than {MAX_DEPTH} levels deep"
                    ));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push((name, Vec::new(), String::new()));
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, Value::String(String::new()))),
                    None => root = Some((name, Value::String(String::new()))),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t
                        .decode()
                        .map_err(|e| format!("The XML you provided was not well-formed: {e}"))?;
                    let s = quick_xml::escape::unescape(&s)
                        .map_err(|e| format!("The XML you provided was not well-formed: {e}"))?;
                    top.2.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    let entity = format!("&{name};");
                    let s = quick_xml::escape::unescape(&entity)
                        .map_err(|e| format!("The XML you provided was not well-formed: {e}"))?;
                    top.2.push_str(&s);
                }
            }
            Event::End(_) => {
                let (name, children, text) = stack
                    .pop()
                    .ok_or("The XML you provided was not well-formed")?;
                let value = if children.is_empty() {
                    Value::String(text)
                } else {
                    group(children)
                };
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, value)),
                    None => root = Some((name, value)),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("The XML you provided was not well-formed".into());
    }
    root.ok_or_else(|| "The XML you provided was not well-formed".into())
}

fn group(children: Vec<(String, Value)>) -> Value {
    let mut m = ValueMap::new();
    for (k, v) in children {
        match m.get_mut(&k) {
            Some(Value::List(l)) => l.push(v),
            Some(existing) => {
                let first = std::mem::replace(existing, Value::Null);
                *existing = Value::List(vec![first, v]);
            }
            None => m.insert(k, v),
        }
    }
    Value::Map(m)
}
