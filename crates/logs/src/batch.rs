//! A batch of log events held as one text buffer and a table of (time, span) slots.
//!
//! A PutLogEvents batch is up to 10,000 messages; as one `String` each, decoding and
//! freeing them was a third of the server's work under ingestion. Read straight from
//! the request's JSON text into one buffer, a batch costs one pass over the bytes.

use crate::ingest::InputEvent;
use sightline_wire::codec::json::{string_stops, word_at};

/// Where one event's message lies in its batch's text.
#[derive(Debug, Clone, Copy)]
struct Slot {
    timestamp: i64,
    start: usize,
    len: usize,
}

/// Events with their messages back to back in one buffer, in the order given.
#[derive(Debug, Clone, Default)]
pub struct EventBatch {
    text: String,
    slots: Vec<Slot>,
}

/// Some consecutive events of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    text: &'a str,
    slots: &'a [Slot],
}

/// One event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    pub timestamp: i64,
    pub message: &'a str,
}

impl EventBatch {
    pub fn with_capacity(events: usize, text_bytes: usize) -> Self {
        EventBatch {
            text: String::with_capacity(text_bytes),
            slots: Vec::with_capacity(events),
        }
    }

    pub fn push(&mut self, timestamp: i64, message: &str) {
        let start = self.text.len();
        self.text.push_str(message);
        self.slots.push(Slot {
            timestamp,
            start,
            len: message.len(),
        });
    }

    pub fn all(&self) -> Events<'_> {
        Events {
            text: &self.text,
            slots: &self.slots,
        }
    }

    /// Reads a `logEvents` array from its JSON text. Only the plain form clients send
    /// is read here: objects with exactly a `timestamp` integer and a `message`
    /// string. Anything else (another member, a fractional timestamp, a missing
    /// field, malformed JSON) gives `None`, and the caller decodes the request the
    /// general way, which also words any error.
    pub fn from_json(json: &str) -> Option<EventBatch> {
        let mut r = Reader { json, at: 0 };
        // Unescaping only shortens text, so the messages fit in the JSON's length.
        let mut text = Vec::with_capacity(json.len());
        // ~256 bytes of JSON per event is typical; the slots grow if not.
        let mut slots = Vec::with_capacity(json.len() / 256 + 1);
        r.space();
        r.expect(b'[')?;
        r.space();
        if r.peek()? == b']' {
            r.at += 1;
        } else {
            loop {
                slots.push(r.event(&mut text)?);
                r.space();
                match r.next()? {
                    b',' => r.space(),
                    b']' => break,
                    _ => return None,
                }
            }
        }
        r.space();
        if r.at != json.len() {
            return None;
        }
        // The text is copied runs of the JSON (which is UTF-8, cut only before ASCII
        // bytes) and whole characters, so this check only confirms it.
        let text = String::from_utf8(text).ok()?;
        Some(EventBatch { text, slots })
    }
}

impl From<Vec<InputEvent>> for EventBatch {
    fn from(events: Vec<InputEvent>) -> Self {
        let bytes = events.iter().map(|e| e.message.len()).sum();
        let mut batch = EventBatch::with_capacity(events.len(), bytes);
        for e in &events {
            batch.push(e.timestamp, &e.message);
        }
        batch
    }
}

impl<'a> Events<'a> {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn first(&self) -> Option<Event<'a>> {
        self.slots.first().map(|s| event(self.text, s))
    }

    pub fn last(&self) -> Option<Event<'a>> {
        self.slots.last().map(|s| event(self.text, s))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Event<'a>> + 'a {
        let text = self.text;
        self.slots.iter().map(move |s| event(text, s))
    }

    /// The events in `range` (clamped to the batch).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Events<'a> {
        let end = range.end.min(self.slots.len());
        Events {
            text: self.text,
            slots: &self.slots[range.start.min(end)..end],
        }
    }

    /// The first index whose event is not `pred`, for events ordered so that `pred`
    /// holds for a prefix.
    pub fn partition_point(&self, pred: impl Fn(i64) -> bool) -> usize {
        self.slots.partition_point(|s| pred(s.timestamp))
    }

    pub fn message_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.len).sum()
    }
}

fn event<'a>(text: &'a str, s: &Slot) -> Event<'a> {
    Event {
        timestamp: s.timestamp,
        message: &text[s.start..s.start + s.len],
    }
}

/// A cursor over JSON text that checks what it reads.
struct Reader<'a> {
    json: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.json.as_bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// `{"timestamp": N, "message": "…"}` in either order, its message onto `text`.
    fn event(&mut self, text: &mut Vec<u8>) -> Option<Slot> {
        self.expect(b'{')?;
        let (mut timestamp, mut message) = (None, None);
        loop {
            self.space();
            self.expect(b'"')?;
            let key = self.plain_key()?;
            self.space();
            self.expect(b':')?;
            self.space();
            match key {
                "timestamp" if timestamp.is_none() => timestamp = Some(self.integer()?),
                "message" if message.is_none() => {
                    self.expect(b'"')?;
                    let start = text.len();
                    self.string_into(text)?;
                    message = Some((start, text.len() - start));
                }
                _ => return None,
            }
            self.space();
            match self.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        let (timestamp, (start, len)) = (timestamp?, message?);
        Some(Slot {
            timestamp,
            start,
            len,
        })
    }

    /// A member name without escapes, after its opening quote.
    fn plain_key(&mut self) -> Option<&'a str> {
        let json = self.json;
        let rest = &json[self.at..];
        let end = rest
            .bytes()
            .position(|c| c == b'"' || c == b'\\' || c < 0x20)?;
        if rest.as_bytes()[end] != b'"' {
            return None;
        }
        self.at += end + 1;
        Some(&rest[..end])
    }

    /// An integer that fits i64, in JSON's spelling, with no fraction or exponent.
    fn integer(&mut self) -> Option<i64> {
        let rest = &self.json.as_bytes()[self.at..];
        let sign = usize::from(rest.first() == Some(&b'-'));
        let digits = rest[sign..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = sign + digits;
        let leading_zero = digits > 1 && rest[sign] == b'0';
        if digits == 0 || leading_zero || matches!(rest.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n = self.json[self.at..self.at + end].parse().ok()?;
        self.at += end;
        Some(n)
    }

    /// Unescapes a string's contents, after its opening quote, onto `out`. Messages
    /// that are JSON have an escape every few bytes, so plain text is copied eight bytes
    /// at a time, whole words even where a stop cuts them (the excess is cut off
    /// again), rather than as runs found one by one.
    fn string_into(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let b = self.json.as_bytes();
        loop {
            if let Some(word) = word_at(b, self.at) {
                let stops = string_stops(word);
                let plain = if stops == 0 {
                    8
                } else {
                    stops.trailing_zeros() as usize / 8
                };
                let len = out.len();
                out.extend_from_slice(&word.to_le_bytes());
                out.truncate(len + plain);
                self.at += plain;
                if plain == 8 {
                    continue;
                }
            }
            let c = *b.get(self.at)?;
            self.at += 1;
            match c {
                b'"' => return Some(()),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let mut utf8 = [0; 4];
                            out.extend_from_slice(
                                self.unicode_escape()?.encode_utf8(&mut utf8).as_bytes(),
                            );
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                // JSON allows no control characters unescaped in a string.
                0..0x20 => return None,
                _ => out.push(c),
            }
        }
    }

    /// The character of a `\uXXXX` escape (a surrogate pair takes two); a lone
    /// surrogate gives `None`, and the general decoder decides what it means.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return char::from_u32(first);
        }
        if self.json.as_bytes().get(self.at..self.at + 2) != Some(b"\\u") {
            return None;
        }
        self.at += 2;
        let second = self.hex4()?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.json.as_bytes().get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_back(b: &EventBatch) -> Vec<(i64, String)> {
        b.all()
            .iter()
            .map(|e| (e.timestamp, e.message.to_owned()))
            .collect()
    }

    #[test]
    fn the_plain_form_is_read_with_its_escapes() {
        let b = EventBatch::from_json(
            r#" [ {"timestamp": 5, "message": "{\"a\":\"b\\\\c\"}\n\u00e9\ud83d\ude00\/"},
                 {"message":"x","timestamp":-3} ] "#,
        )
        .unwrap();
        assert_eq!(
            read_back(&b),
            vec![
                (5, "{\"a\":\"b\\\\c\"}\n\u{e9}\u{1f600}/".to_owned()),
                (-3, "x".to_owned())
            ]
        );
        assert!(EventBatch::from_json("[]").unwrap().all().is_empty());
    }

    #[test]
    fn anything_but_the_plain_form_is_left_to_the_general_decoder() {
        for json in [
            r#"[{"timestamp": 1}]"#,
            r#"[{"message": "a"}]"#,
            r#"[{"timestamp": 1, "message": "a", "x": 1}]"#,
            r#"[{"timestamp": 1, "timestamp": 2, "message": "a"}]"#,
            r#"[{"timestamp": 1.5, "message": "a"}]"#,
            r#"[{"timestamp": 1e3, "message": "a"}]"#,
            r#"[{"timestamp": 99999999999999999999, "message": "a"}]"#,
            r#"[{"timestamp": "1", "message": "a"}]"#,
            r#"[{"timestamp": 1, "message": null}]"#,
            r#"[{"timestamp": 1, "message": "\ud800"}]"#,
            r#"[{"timestamp": 1, "message": "\udc00"}]"#,
            r#"[{"time\u0073tamp": 1, "message": "a"}]"#,
            r#"[1]"#,
            r#"{}"#,
            r#"null"#,
            // Malformed JSON, which the codec leaves to its reader to find.
            "[{\"timestamp\": 1, \"message\": \"a\u{1}\"}]",
            r#"[{"timestamp": 1, "message": "a\qb"}]"#,
            r#"[{"timestamp": 1, "message": "\u12G4"}]"#,
            r#"[{"timestamp": 01, "message": "a"}]"#,
            r#"[{"timestamp": -, "message": "a"}]"#,
            r#"[{"timestamp": 1, "message": "a"},]"#,
            r#"[{"timestamp": 1, "message": "a"}"#,
            r#"[{"timestamp": 1 "message": "a"}]"#,
            r#"[{"timestamp": 1, "message": "a"}] x"#,
            r#"[{"timestamp": 1, "message": "a}]"#,
        ] {
            assert!(EventBatch::from_json(json).is_none(), "{json}");
        }
    }

    #[test]
    fn slices_and_lookups_see_the_events_they_cover() {
        let mut b = EventBatch::default();
        for (t, m) in [(1, "a"), (2, "bb"), (3, "ccc")] {
            b.push(t, m);
        }
        let all = b.all();
        assert_eq!(all.message_bytes(), 6);
        assert_eq!(all.partition_point(|t| t < 2), 1);
        let mid = all.slice(1..3);
        assert_eq!(mid.first().map(|e| e.message), Some("bb"));
        assert_eq!(mid.last().map(|e| e.message), Some("ccc"));
        assert_eq!(mid.len(), 2);
        assert!(all.slice(3..9).is_empty());
    }

    proptest! {
        #[test]
        fn reading_agrees_with_serde_json(
            events in prop::collection::vec(
                (any::<i64>(), prop::collection::vec(any::<char>(), 0..40)),
                0..8,
            )
            .prop_map(|v| {
                v.into_iter()
                    .map(|(t, m)| (t, m.into_iter().collect::<String>()))
                    .collect::<Vec<_>>()
            }),
            spaced in any::<bool>(),
        ) {
            let items: Vec<serde_json::Value> = events
                .iter()
                .map(|(t, m)| serde_json::json!({"timestamp": t, "message": m}))
                .collect();
            let json = if spaced {
                serde_json::to_string_pretty(&items).unwrap()
            } else {
                serde_json::to_string(&items).unwrap()
            };
            let b = EventBatch::from_json(&json).unwrap();
            prop_assert_eq!(read_back(&b), events);
        }

        #[test]
        fn escaped_unicode_reads_as_its_characters(s in "\\PC{0,20}") {
            let escaped: String = s
                .encode_utf16()
                .map(|u| format!("\\u{u:04x}"))
                .collect();
            let json = format!(r#"[{{"timestamp":0,"message":"{escaped}"}}]"#);
            let b = EventBatch::from_json(&json).unwrap();
            prop_assert_eq!(b.all().first().map(|e| e.message.to_owned()), Some(s));
        }
    }
}
