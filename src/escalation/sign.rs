//! Signing and verifying deliveries the Standard Webhooks way: `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! keyed with the bytes of a `whsec_<base64>` secret.
//!
//! [`verify`] is what a receiver runs; the tests' receiver uses it, and `docs/webhook.md` shows
//! the same check in Python and Node for shops.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a secret as written in the configuration.
pub const SECRET_PREFIX: &str = "whsec_";

/// Header names of a signed delivery.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How far a timestamp may be from the receiver's clock, the specification's suggestion.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The key both sides share. Never printed: `Debug` shows `WebhookSecret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// Why a configured secret is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the webhook secret must start with `whsec_` followed by base64 (e.g. `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`)")]
    MissingPrefix,
    #[error("the webhook secret after `whsec_` is not valid base64 ({0})")]
    NotBase64(String),
    #[error("the webhook secret decodes to {0} bytes; use 24 to 64 random bytes, e.g. `whsec_$(openssl rand -base64 32)`")]
    BadLength(usize),
}

impl WebhookSecret {
    /// Parses `whsec_<base64>`; the key is 24 to 64 bytes, as the specification requires.
    pub fn parse(text: &str) -> Result<WebhookSecret, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = BASE64
            .decode(encoded)
            .map_err(|e| SecretError::NotBase64(e.to_string()))?;
        if !(24..=64).contains(&key.len()) {
            return Err(SecretError::BadLength(key.len()));
        }
        Ok(WebhookSecret(key))
    }

    /// A fresh random secret in its configuration form (`whsec_` + 32 random bytes).
    pub fn generate() -> String {
        let mut key = [0u8; 32];
        for b in &mut key {
            *b = fastrand::u8(..);
        }
        format!("{SECRET_PREFIX}{}", BASE64.encode(key))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl TryFrom<String> for WebhookSecret {
    type Error = SecretError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        WebhookSecret::parse(&text)
    }
}

/// Serialized as `whsec_***`: the secret never leaves in a printed configuration.
impl serde::Serialize for WebhookSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("whsec_***")
    }
}

impl<'de> serde::Deserialize<'de> for WebhookSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        WebhookSecret::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn content(mut mac: HmacSha256, id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for one attempt: `v1,<base64>`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: u64, body: &[u8]) -> String {
    let mac = content(secret.mac(), id, &timestamp.to_string(), body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// Why a delivery was refused by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("header `{0}` is missing or not text")]
    MissingHeader(&'static str),
    #[error("`webhook-timestamp` is not Unix seconds")]
    BadTimestamp,
    #[error("`webhook-timestamp` is {0} s away from now, more than the tolerance")]
    OutsideTolerance(u64),
    #[error("no `v1` signature matches")]
    NoMatch,
}

/// Checks a delivery: the timestamp is within `tolerance` of `now_secs` (Unix seconds), and one
/// of the space-separated `v1,<base64>` entries of `signature` is the HMAC of
/// `"{id}.{timestamp}.{body}"`. Compared in constant time; other versions are skipped, so a
/// sender can add signatures while rotating keys.
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now_secs: u64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let sent: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = sent.abs_diff(now_secs);
    if skew > tolerance.as_secs() {
        return Err(VerifyError::OutsideTolerance(skew));
    }
    let expected = content(secret.mac(), id, timestamp.trim(), body);
    for entry in signature.split_ascii_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else {
            continue;
        };
        let Ok(given) = BASE64.decode(encoded) else {
            continue;
        };
        // `verify_slice` compares in constant time.
        if expected.clone().verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

/// [`verify`] on the headers of a request.
pub fn verify_headers(
    secret: &WebhookSecret,
    headers: &http::HeaderMap,
    body: &[u8],
    now_secs: u64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(VerifyError::MissingHeader(name))
    };
    verify(
        secret,
        get(HEADER_ID)?,
        get(HEADER_TIMESTAMP)?,
        get(HEADER_SIGNATURE)?,
        body,
        now_secs,
        tolerance,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector published with the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: u64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    #[test]
    fn signs_like_the_specification_test_vector() {
        assert_eq!(sign(&secret(), ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn verifies_the_test_vector_and_refuses_any_change() {
        let tol = DEFAULT_TOLERANCE;
        let ts = TIMESTAMP.to_string();
        assert_eq!(
            verify(&secret(), ID, &ts, SIGNATURE, BODY, TIMESTAMP, tol),
            Ok(())
        );
        // Several signatures, one of another version and one wrong: the good one is found.
        let several = format!("v2,abc v1,AAAA {SIGNATURE}");
        assert_eq!(
            verify(&secret(), ID, &ts, &several, BODY, TIMESTAMP + 10, tol),
            Ok(())
        );

        let altered = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify(&secret(), ID, &ts, SIGNATURE, altered, TIMESTAMP, tol),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(&secret(), "msg_other", &ts, SIGNATURE, BODY, TIMESTAMP, tol),
            Err(VerifyError::NoMatch)
        );
        let other = WebhookSecret::parse(&WebhookSecret::generate()).unwrap();
        assert_eq!(
            verify(&other, ID, &ts, SIGNATURE, BODY, TIMESTAMP, tol),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(&secret(), ID, &ts, "v1,not-base64!", BODY, TIMESTAMP, tol),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn refuses_timestamps_outside_the_tolerance() {
        let ts = TIMESTAMP.to_string();
        let tol = Duration::from_secs(300);
        assert_eq!(
            verify(&secret(), ID, &ts, SIGNATURE, BODY, TIMESTAMP + 301, tol),
            Err(VerifyError::OutsideTolerance(301))
        );
        assert_eq!(
            verify(&secret(), ID, &ts, SIGNATURE, BODY, TIMESTAMP - 301, tol),
            Err(VerifyError::OutsideTolerance(301))
        );
        assert_eq!(
            verify(&secret(), ID, "yesterday", SIGNATURE, BODY, TIMESTAMP, tol),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn verify_headers_reads_the_three_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert(HEADER_ID, ID.parse().unwrap());
        headers.insert(HEADER_TIMESTAMP, TIMESTAMP.to_string().parse().unwrap());
        assert_eq!(
            verify_headers(&secret(), &headers, BODY, TIMESTAMP, DEFAULT_TOLERANCE),
            Err(VerifyError::MissingHeader(HEADER_SIGNATURE))
        );
        headers.insert(HEADER_SIGNATURE, SIGNATURE.parse().unwrap());
        assert_eq!(
            verify_headers(&secret(), &headers, BODY, TIMESTAMP, DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn secrets_must_be_whsec_base64_of_24_to_64_bytes() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert!(matches!(
            WebhookSecret::parse("whsec_not base64!"),
            Err(SecretError::NotBase64(_))
        ));
        assert_eq!(
            WebhookSecret::parse("whsec_c2hvcnQ="),
            Err(SecretError::BadLength(5))
        );
        let generated = WebhookSecret::generate();
        assert!(WebhookSecret::parse(&generated).is_ok(), "{generated}");
        assert_eq!(format!("{:?}", secret()), "WebhookSecret(***)");
    }
}
