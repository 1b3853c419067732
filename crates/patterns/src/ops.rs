//! The two operators whose operands need their own little parsers: `wildcard` globs and
//! `cidr` blocks. Both are parsed once at compile time so matching is allocation-free.

use std::net::IpAddr;

/// A `*` glob, stored as the literal pieces between stars.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wildcard {
    /// Literal pieces; there is a star between each consecutive pair.
    parts: Vec<String>,
}

impl Wildcard {
    /// Parses a wildcard operand. `\*` is a literal star and `\\` a literal backslash;
    /// consecutive stars are rejected as EventBridge does, since they add nothing but cost.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = vec![String::new()];
        let mut chars = text.chars();
        let mut last_was_star = false;
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    if last_was_star {
                        return Err(format!(
                            "wildcard {text:?} contains consecutive wildcard characters"
                        ));
                    }
                    parts.push(String::new());
                    last_was_star = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => push(&mut parts, e),
                    _ => return Err(format!("wildcard {text:?} contains an invalid escape")),
                },
                other => push(&mut parts, other),
            }
            last_was_star = false;
        }
        Ok(Self { parts })
    }

    /// The literal text before the first star (all of it when there is no star), which
    /// every matching string starts with; the compiled matcher indexes wildcards by it.
    pub(crate) fn head(&self) -> &str {
        self.parts.first().map_or("", String::as_str)
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return s == first;
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) {
            return false;
        }
        if !s.ends_with(last.as_str()) {
            return false;
        }
        let mut inner = &s[first.len()..s.len() - last.len()];
        for part in middle {
            match inner.find(part.as_str()) {
                Some(at) => inner = &inner[at + part.len()..],
                None => return false,
            }
        }
        true
    }
}

fn push(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

/// An IPv4 or IPv6 network, kept as the masked address widened to 128 bits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cidr {
    v6: bool,
    network: u128,
    mask: u128,
}

fn widen(ip: IpAddr) -> (bool, u128, u32) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (true, u128::from(a), 128),
    }
}

impl Cidr {
    /// Parses `address/length`; a bare address is accepted as a single-host block.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let (v6, bits, width) = widen(addr.parse().ok()?);
        let len: u32 = match len {
            Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => l.parse().ok()?,
            Some(_) => return None,
            None => width,
        };
        if len > width {
            return None;
        }
        let mask = prefix_mask(v6, len);
        Some(Self {
            v6,
            network: bits & mask,
            mask,
        })
    }

    pub(crate) fn contains(&self, s: &str) -> bool {
        address(s).is_some_and(|(v6, bits)| v6 == self.v6 && bits & self.mask == self.network)
    }

    /// The block as (IPv6?, prefix length, network bits), the key the compiled matcher
    /// files it under.
    pub(crate) fn key(&self) -> (bool, u32, u128) {
        (self.v6, self.mask.count_ones(), self.network)
    }
}

/// An event string read as an IP address, widened as blocks are, or `None` if it is not
/// one.
pub(crate) fn address(s: &str) -> Option<(bool, u128)> {
    let (v6, bits, _) = widen(s.parse::<IpAddr>().ok()?);
    Some((v6, bits))
}

/// The mask of a `len`-bit prefix of an address of the given family, widened.
pub(crate) fn prefix_mask(v6: bool, len: u32) -> u128 {
    let full = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    full & !full.checked_shr(len).unwrap_or(0)
}
