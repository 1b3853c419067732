//! Identifier formats AWS clients recognise (key ids, principal ids, account ids).

use rand::Rng;
use rand::distr::Alphanumeric;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn pick(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// 20 characters: a four-letter type prefix (`AKIA`, `ASIA`) and 16 base32 characters.
pub fn access_key_id(prefix: &str) -> String {
    format!("{prefix}{}", pick(UPPER_ALNUM, 16))
}

/// 40 characters of the secret-key alphabet.
pub fn secret_key() -> String {
    pick(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        40,
    )
}

/// Principal and policy ids: a type prefix (`AIDA`, `AROA`, `ANPA`) and 17 characters.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}{}", pick(UPPER_ALNUM, 17))
}

pub fn account_id() -> String {
    let mut rng = rand::rng();
    let first = rng.random_range(1..=9u8);
    let rest: String = (0..11)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    format!("{first}{rest}")
}

pub fn org_id() -> String {
    format!("o-{}", pick(b"abcdefghijklmnopqrstuvwxyz0123456789", 10))
}

pub fn create_account_request_id() -> String {
    format!("car-{}", pick(b"abcdef0123456789", 32))
}

pub fn session_token() -> String {
    let body: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(200)
        .map(char::from)
        .collect();
    format!("FwoGZXIvYXdzE{body}")
}
