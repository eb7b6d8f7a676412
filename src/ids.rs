//! Typed ids, all from one macro: what a client or an operator sends back is checked once, at
//! the edge ([`ConversationId::parse`]), and travels inward as its type, never as a string.

use std::fmt;

/// Defines an id: a string of at most 64 letters, digits, `-` and `_`, generated as `prefix`
/// and 32 hex digits; (de)serialized as that string, checked when read.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A new random id: the prefix and 32 hex digits.
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// Accepts what a client or an operator sends back: at most 64 letters, digits,
            /// `-` and `_`.
            pub fn parse(s: &str) -> Option<Self> {
                valid(s).then(|| $name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An id a store wrote itself, read back unchecked.
            #[allow(dead_code)] // generated for every id; the stores read back only some
            pub(crate) fn from_stored(s: String) -> Self {
                $name(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                if valid(&s) {
                    Ok($name(s))
                } else {
                    Err(format!(
                        "`{s}` is not a {}: at most 64 letters, digits, `-` and `_`",
                        stringify!($name)
                    ))
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

fn valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

id_type!(
    /// A conversation: what the widget remembers across page loads.
    ConversationId,
    "c_"
);
id_type!(
    /// One message of a conversation (the shopper's and the bot's reply share it).
    MessageId,
    "m_"
);
id_type!(
    /// One escalation: the ticket's id and the `webhook-id` of every delivery attempt.
    EscalationId,
    "esc_"
);

id_type!(
    /// One event of a handed-over conversation for the helpdesk (`conversation.message`,
    /// `conversation.closed`): the `webhook-id` of every delivery attempt.
    EventId,
    "evt_"
);

id_type!(
    /// The id a client gave one of its messages (`client_message_id` of `POST /v1/messages`):
    /// unique within a conversation, so a retry of the message is recognised and answered
    /// with the turn stored for it, never stored again. Chosen by the client (the widget: a
    /// random one per message); `generate` is for tests and other clients of the library.
    ClientMessageId,
    "cm_"
);

/// The ticket of an escalation is named by the escalation's id.
pub type TicketId = EscalationId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_generated_with_their_prefix_and_checked_when_parsed() {
        assert!(ConversationId::generate().as_str().starts_with("c_"));
        assert!(MessageId::generate().as_str().starts_with("m_"));
        assert_eq!(EscalationId::generate().as_str().len(), 4 + 32);
        assert!(ConversationId::parse("c_ok-1").is_some());
        assert!(ClientMessageId::parse("7d1f0c2e-5b9a-4c1e-9f3a-2b6d8e0a4c11").is_some());
        assert!(ClientMessageId::parse(&"x".repeat(64)).is_some());
        for bad in ["", "a b", "ü", &"x".repeat(65), "a/b"] {
            assert!(ConversationId::parse(bad).is_none(), "{bad:?}");
            assert!(ClientMessageId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn ids_deserialize_only_when_valid() {
        let id: MessageId = serde_json::from_str("\"m_1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"m_1\"");
        assert!(serde_json::from_str::<MessageId>("\"no way\"").is_err());
    }
}
