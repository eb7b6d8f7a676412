//! Verified customers: a customer id the client claims counts only with its identity hash,
//! the HMAC-SHA256 of the id made with the shop's identity secret (`handover.identity_secret`),
//! as Intercom's and Chatwoot's identity validation do. The shop's server computes it and
//! puts it in the page; a visitor cannot, so an id without it is an anonymous visitor: it
//! links nothing (no earlier conversations of that id on a ticket) and overwrites nothing
//! (not the customer's name or e-mail).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::store::Customer;

type HmacSha256 = Hmac<Sha256>;

/// The shop's identity secret. Never printed: `Debug` and `Serialize` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentitySecret(String);

impl IdentitySecret {
    /// The shortest secret accepted.
    pub const MIN_CHARS: usize = 16;

    /// A secret from configuration or the environment; blank means none.
    pub fn new(text: &str) -> Option<IdentitySecret> {
        let t = text.trim();
        (!t.is_empty()).then(|| IdentitySecret(t.to_string()))
    }

    /// Too short to be a secret: the message for `Settings::validate`.
    pub fn check(&self) -> Result<(), String> {
        if self.0.chars().count() < Self::MIN_CHARS {
            return Err(format!(
                "handover.identity_secret must be at least {} characters (e.g. `openssl rand -hex 32`)",
                Self::MIN_CHARS
            ));
        }
        Ok(())
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.as_bytes()).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySecret(***)")
    }
}

impl serde::Serialize for IdentitySecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> serde::Deserialize<'de> for IdentitySecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        IdentitySecret::new(&text)
            .ok_or_else(|| serde::de::Error::custom("handover.identity_secret is blank"))
    }
}

/// The identity hash of a customer id: lowercase hex of HMAC-SHA256(secret, id). What the
/// shop's server computes (`docs/handover.md` shows it in three languages).
pub fn identifier_hash(secret: &IdentitySecret, id: &str) -> String {
    let mut mac = secret.mac();
    mac.update(id.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Whether `hash` is the identity hash of `id`, compared in constant time (case-insensitive
/// hex). Without a secret nothing is verified.
pub fn verify(secret: Option<&IdentitySecret>, id: &str, hash: Option<&str>) -> bool {
    let (Some(secret), Some(hash)) = (secret, hash) else {
        return false;
    };
    let expected = identifier_hash(secret, id);
    let given = hash.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// What a client claims about the shopper.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    pub id: Option<String>,
    pub identifier_hash: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The customer a conversation starts with: the claimed id only when verified; otherwise an
/// anonymous visitor whose name and e-mail stay with this conversation alone (a store
/// records and updates a customer only for an id).
pub fn customer(secret: Option<&IdentitySecret>, claim: Claim) -> Customer {
    let verified = claim
        .id
        .as_deref()
        .is_some_and(|id| verify(secret, id, claim.identifier_hash.as_deref()));
    Customer {
        id: if verified { claim.id } else { None },
        name: claim.name,
        email: claim.email,
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> IdentitySecret {
        IdentitySecret::new("a-shop-identity-secret-0123").unwrap()
    }

    #[test]
    fn the_hash_is_hex_hmac_sha256_of_the_id() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let jefe = IdentitySecret("Jefe".into());
        assert_eq!(
            identifier_hash(&jefe, "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_the_right_hash_verifies_an_id() {
        let s = secret();
        let good = identifier_hash(&s, "cu-1");
        assert!(verify(Some(&s), "cu-1", Some(&good)));
        assert!(verify(Some(&s), "cu-1", Some(&good.to_uppercase())));
        assert!(!verify(Some(&s), "cu-2", Some(&good)), "another id");
        assert!(!verify(Some(&s), "cu-1", None), "no hash");
        assert!(!verify(Some(&s), "cu-1", Some("")), "empty hash");
        assert!(!verify(None, "cu-1", Some(&good)), "no secret configured");
        let other = IdentitySecret::new("another-secret-entirely").unwrap();
        assert!(!verify(Some(&other), "cu-1", Some(&good)));
    }

    #[test]
    fn an_unverified_id_is_an_anonymous_visitor() {
        let s = secret();
        let claim = Claim {
            id: Some("cu-1".into()),
            identifier_hash: Some("00".into()),
            name: Some("Mallory".into()),
            email: Some("mallory@example.com".into()),
        };
        let c = customer(Some(&s), claim.clone());
        assert_eq!(c.id, None);
        assert_eq!(c.email.as_deref(), Some("mallory@example.com"));
        let verified = customer(
            Some(&s),
            Claim {
                identifier_hash: Some(identifier_hash(&s, "cu-1")),
                ..claim
            },
        );
        assert_eq!(verified.id.as_deref(), Some("cu-1"));
    }

    #[test]
    fn the_secret_never_prints() {
        let s = secret();
        assert_eq!(format!("{s:?}"), "IdentitySecret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert!(IdentitySecret::new("short").unwrap().check().is_err());
        assert!(s.check().is_ok());
    }
}
