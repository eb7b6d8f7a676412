//! Who may speak for the shop's people: the helpdesk's inbound requests are authenticated by
//! its signature (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`,
//! keyed with `handover.inbound_secret`; the timestamp within the tolerance and each
//! `webhook-id` accepted once) or by the integration's bearer token
//! (`handover.inbound_token`), compared in constant time. Anything else is refused before a
//! byte of the request is used.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::escalation::sign::{self, WebhookSecret, HEADER_ID, HEADER_SIGNATURE};

/// The integration's bearer token. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundToken(String);

impl InboundToken {
    pub const MIN_CHARS: usize = 16;

    /// A token from configuration or the environment; blank means none.
    pub fn new(text: &str) -> Option<InboundToken> {
        let t = text.trim();
        (!t.is_empty()).then(|| InboundToken(t.to_string()))
    }

    /// Too short to be a secret: the message for `Settings::validate`.
    pub fn check(&self) -> Result<(), String> {
        if self.0.chars().count() < Self::MIN_CHARS {
            return Err(format!(
                "handover.inbound_token must be at least {} characters (e.g. `openssl rand -hex 32`)",
                Self::MIN_CHARS
            ));
        }
        Ok(())
    }

    /// Compares digests in constant time, whatever the lengths.
    fn matches(&self, given: &str) -> bool {
        let a = Sha256::digest(given.trim().as_bytes());
        let b = Sha256::digest(self.0.as_bytes());
        a.ct_eq(&b).into()
    }
}

impl fmt::Debug for InboundToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InboundToken(***)")
    }
}

impl serde::Serialize for InboundToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> serde::Deserialize<'de> for InboundToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        InboundToken::new(&text)
            .ok_or_else(|| serde::de::Error::custom("handover.inbound_token is blank"))
    }
}

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// Signed: its `webhook-id`, to be accepted once ([`crate::store::Handovers::first_seen`]).
    Signed { webhook_id: String },
    /// The integration's bearer token.
    Token,
}

/// Why a request was refused (always 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "the inbound API is not configured: set handover.inbound_secret or handover.inbound_token"
    )]
    NotConfigured,
    #[error("unsigned: send `webhook-id`, `webhook-timestamp` and `webhook-signature`, or `Authorization: Bearer <handover.inbound_token>`")]
    Unsigned,
    #[error("the signature does not verify: {0}")]
    BadSignature(sign::VerifyError),
    #[error("the bearer token does not match")]
    BadToken,
    #[error("this `webhook-id` was already accepted: a replay")]
    Replayed,
}

/// Checks a request's headers and body: the signature when it carries one, else the token.
/// The caller still has to accept a signed request's `webhook-id` once.
pub fn authenticate(
    secret: Option<&WebhookSecret>,
    token: Option<&InboundToken>,
    headers: &http::HeaderMap,
    body: &[u8],
    now_secs: u64,
    tolerance: Duration,
) -> Result<Proof, Refused> {
    if secret.is_none() && token.is_none() {
        return Err(Refused::NotConfigured);
    }
    let signed = headers.contains_key(HEADER_SIGNATURE);
    if signed {
        let Some(secret) = secret else {
            return Err(Refused::Unsigned);
        };
        sign::verify_headers(secret, headers, body, now_secs, tolerance)
            .map_err(Refused::BadSignature)?;
        let webhook_id = headers
            .get(HEADER_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        return Ok(Proof::Signed { webhook_id });
    }
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    match (token, bearer) {
        (Some(t), Some(given)) if t.matches(given) => Ok(Proof::Token),
        (Some(_), Some(_)) => Err(Refused::BadToken),
        _ => Err(Refused::Unsigned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::sign::{sign, HEADER_TIMESTAMP};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &[u8] = br#"{"type":"message","agent":"Sam","text":"hi"}"#;
    const NOW: u64 = 1_800_000_000;
    const TOL: Duration = Duration::from_secs(300);

    fn signed(id: &str, at: u64, body: &[u8]) -> http::HeaderMap {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let mut h = http::HeaderMap::new();
        h.insert(HEADER_ID, id.parse().unwrap());
        h.insert(HEADER_TIMESTAMP, at.to_string().parse().unwrap());
        h.insert(
            HEADER_SIGNATURE,
            sign(&secret, id, at, body).parse().unwrap(),
        );
        h
    }

    #[test]
    fn a_signed_request_is_checked_by_its_signature() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let s = Some(&secret);
        assert_eq!(
            authenticate(s, None, &signed("msg_1", NOW, BODY), BODY, NOW, TOL),
            Ok(Proof::Signed {
                webhook_id: "msg_1".into()
            })
        );
        // Forged: another body under the same signature.
        let forged = authenticate(s, None, &signed("msg_1", NOW, BODY), b"{}", NOW, TOL);
        assert!(
            matches!(forged, Err(Refused::BadSignature(_))),
            "{forged:?}"
        );
        // Too old.
        let old = authenticate(s, None, &signed("msg_1", NOW - 301, BODY), BODY, NOW, TOL);
        assert!(matches!(old, Err(Refused::BadSignature(_))), "{old:?}");
        // Unsigned.
        assert_eq!(
            authenticate(s, None, &http::HeaderMap::new(), BODY, NOW, TOL),
            Err(Refused::Unsigned)
        );
    }

    #[test]
    fn a_token_request_needs_the_exact_token() {
        let token = InboundToken::new("integration-token-0123456789").unwrap();
        let t = Some(&token);
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer integration-token-0123456789".parse().unwrap(),
        );
        assert_eq!(authenticate(None, t, &h, BODY, NOW, TOL), Ok(Proof::Token));
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer integration-token-012345678".parse().unwrap(),
        );
        assert_eq!(
            authenticate(None, t, &h, BODY, NOW, TOL),
            Err(Refused::BadToken)
        );
        assert_eq!(
            authenticate(None, None, &h, BODY, NOW, TOL),
            Err(Refused::NotConfigured)
        );
        assert_eq!(format!("{token:?}"), "InboundToken(***)");
    }
}
