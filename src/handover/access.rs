//! A conversation's own token: issued when the conversation starts (in the first reply), it
//! is what reads the conversation's history and its live events. The store keeps only its
//! SHA-256 (`ConversationState::access`), so a database leak reveals no token.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::identity::hex;

/// A fresh token (`ct_` and 32 random bytes as hex) and the hash to keep.
pub fn issue() -> (String, String) {
    let token = format!(
        "ct_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = hash(&token);
    (token, hash)
}

/// The hash a store keeps of a token.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.trim().as_bytes()))
}

/// Whether `given` is the token whose hash is `kept`, in constant time. A conversation that
/// keeps no hash (started before tokens existed) opens to no token.
pub fn check(kept: Option<&str>, given: Option<&str>) -> bool {
    let (Some(kept), Some(given)) = (kept, given) else {
        return false;
    };
    hash(given).as_bytes().ct_eq(kept.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_its_own_conversation() {
        let (a, a_hash) = issue();
        let (b, b_hash) = issue();
        assert_ne!(a, b);
        assert!(a.starts_with("ct_") && a.len() == 67, "{a}");
        assert!(check(Some(&a_hash), Some(&a)));
        assert!(!check(Some(&a_hash), Some(&b)));
        assert!(!check(Some(&b_hash), Some(&a)));
        assert!(!check(Some(&a_hash), None));
        assert!(!check(None, Some(&a)));
        assert!(!check(Some(&a_hash), Some("")));
    }
}
