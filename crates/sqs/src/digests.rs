//! The digests SQS returns with every message: MD5OfMessageBody over the body's UTF-8,
//! and MD5OfMessageAttributes over AWS's binary encoding of the attributes. SDKs (Java,
//! .NET, Go v1) recompute them and refuse a response that does not match, so the
//! encoding must be exactly AWS's: attributes sorted by name, each as length-prefixed
//! name and data type, a transport byte (1 string, 2 binary) and the length-prefixed
//! value, lengths as 4-byte big-endian integers.

use crate::model::Attributes;
use md5::{Digest, Md5};

pub fn of_body(body: &str) -> String {
    hex::encode(Md5::digest(body.as_bytes()))
}

fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Attribute parts are bounded by the message size, far below 4 GiB.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// MD5OfMessageAttributes (and MD5OfMessageSystemAttributes, same encoding); `None`
/// for no attributes, where SQS leaves the member out.
pub fn of_attributes(attributes: &Attributes) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    // A BTreeMap of String iterates in byte order, which is AWS's sort.
    for (name, v) in attributes {
        put(&mut buf, name.as_bytes());
        put(&mut buf, v.data_type.as_bytes());
        if v.is_binary() {
            buf.push(2);
            put(&mut buf, v.binary.as_deref().unwrap_or_default());
        } else {
            buf.push(1);
            put(&mut buf, v.string.as_deref().unwrap_or_default().as_bytes());
        }
    }
    Some(hex::encode(Md5::digest(&buf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttributeValue;

    fn string(data_type: &str, v: &str) -> AttributeValue {
        AttributeValue {
            data_type: data_type.into(),
            string: Some(v.into()),
            binary: None,
        }
    }

    #[test]
    fn body_digest_is_the_md5_of_the_text() {
        assert_eq!(of_body("hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(of_body(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    /// Values AWS returned for these attributes (the SQS developer guide's example and
    /// digests SDK test suites check against the service).
    #[test]
    fn attribute_digests_match_aws() {
        let mut one = Attributes::new();
        one.insert("SellerName".into(), string("String", "Example Store"));
        assert_eq!(
            of_attributes(&one).as_deref(),
            Some("cd28f3b68aeee4b2eac9c66f2f694b58")
        );
        let mut two = Attributes::new();
        two.insert("ordinal".into(), string("Number", "1"));
        two.insert("category".into(), string("String", "test"));
        assert_eq!(
            of_attributes(&two).as_deref(),
            Some("d21ae90c49061e927f57df5f5d72be1f")
        );
        let mut ts = Attributes::new();
        ts.insert("timestamp".into(), string("Number", "1493147359900"));
        assert_eq!(
            of_attributes(&ts).as_deref(),
            Some("235c5c510d26fb653d073faed50ae77c")
        );
        assert_eq!(of_attributes(&Attributes::new()), None);
    }

    #[test]
    fn binary_attributes_use_their_own_transport_byte() {
        let mut a = Attributes::new();
        a.insert(
            "blob".into(),
            AttributeValue {
                data_type: "Binary".into(),
                string: None,
                binary: Some(vec![0, 1, 2]),
            },
        );
        // Encoding: len "blob", "blob", len "Binary", "Binary", 2, len 3, 0 1 2.
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 4]);
        expected.extend_from_slice(b"blob");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"Binary");
        expected.push(2);
        expected.extend_from_slice(&[0, 0, 0, 3, 0, 1, 2]);
        assert_eq!(of_attributes(&a), Some(hex::encode(Md5::digest(&expected))));
    }
}
