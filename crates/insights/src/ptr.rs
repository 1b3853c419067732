//! `@ptr`: an opaque, URL-safe handle naming one log event, which GetLogRecord takes
//! back as `logRecordPointer`.
//!
//! It encodes the log group id, stream, timestamp and sequence number, which together
//! identify an event uniquely, as a versioned binary record in unpadded base64url.

const VERSION: u8 = 1;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The event an `@ptr` value points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPointer {
    pub group_id: String,
    pub log_stream: String,
    pub timestamp: i64,
    pub seq: i64,
}

impl RecordPointer {
    pub fn encode(&self) -> String {
        encode_ptr(&self.group_id, &self.log_stream, self.timestamp, self.seq)
    }

    /// Reads a pointer produced by [`RecordPointer::encode`]; anything else is `None`.
    pub fn decode(text: &str) -> Option<RecordPointer> {
        let bytes = base64url_decode(text)?;
        let (&version, mut rest) = bytes.split_first()?;
        if version != VERSION {
            return None;
        }
        let group_id = take_string(&mut rest)?;
        let log_stream = take_string(&mut rest)?;
        let timestamp = i64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
        let seq = i64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
        if rest.len() != 16 {
            return None;
        }
        Some(RecordPointer {
            group_id,
            log_stream,
            timestamp,
            seq,
        })
    }
}

fn take_string(rest: &mut &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let text = std::str::from_utf8(rest.get(4..4 + len)?).ok()?.to_string();
    *rest = rest.get(4 + len..)?;
    Some(text)
}

pub(crate) fn encode_ptr(group_id: &str, log_stream: &str, timestamp: i64, seq: i64) -> String {
    let mut bytes = Vec::with_capacity(25 + group_id.len() + log_stream.len());
    bytes.push(VERSION);
    for part in [group_id, log_stream] {
        bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&seq.to_be_bytes());
    base64url_encode(&bytes)
}

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let value = ALPHABET.iter().position(|&a| a == c)? as u32;
            n |= value << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (group, stream) in [("", ""), ("g1", "s/1"), ("grüße", "ストリーム")] {
            let pointer = RecordPointer {
                group_id: group.into(),
                log_stream: stream.into(),
                timestamp: -5,
                seq: i64::MAX,
            };
            assert_eq!(RecordPointer::decode(&pointer.encode()), Some(pointer));
        }
        assert_eq!(RecordPointer::decode("not a pointer!"), None);
        assert_eq!(RecordPointer::decode(""), None);
    }
}
