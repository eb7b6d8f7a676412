//! Conversations, their messages and the shoppers' feedback: where they are kept.
//!
//! The [`Store`] trait is synchronous on purpose: the next backend is SQLite, whose calls
//! block, so the HTTP layer calls every store method on a blocking thread. Today the only
//! backend is [`MemoryStore`].

mod memory;

use std::fmt;

use serde::Serialize;

pub use memory::MemoryStore;

/// Errors of a store. `NotFound` is the caller's fault; `Backend` is ours.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no conversation `{0}`")]
    UnknownConversation(ConversationId),
    #[error("no message `{message}` in conversation `{conversation}`")]
    UnknownMessage {
        conversation: ConversationId,
        message: MessageId,
    },
    #[error("store backend: {0}")]
    Backend(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// Accepts what a client sends back: at most 64 letters, digits, `-` and `_`.
            pub fn parse(s: &str) -> Option<Self> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                ok.then(|| $name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
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

/// Who the shopper is, when the shop tells us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A conversation's header.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel: String,
    pub customer: Customer,
    /// Unix milliseconds.
    pub started_ms: u64,
}

/// A shopper's message and what the bot did with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub id: MessageId,
    /// What the shopper wrote (personal data masked before it is stored).
    pub text: String,
    /// What the bot replied.
    pub reply: String,
    pub outcome: String,
    pub language: String,
    pub intent: Option<String>,
    pub article: Option<String>,
    pub confidence: f32,
    /// Unix milliseconds.
    pub at_ms: u64,
}

/// What a shopper thought.
#[derive(Debug, Clone, PartialEq)]
pub enum Feedback {
    /// Thumbs up or down on one reply.
    Helpful { message: MessageId, helpful: bool },
    /// Satisfaction with the whole conversation, 1 to 5.
    Rating(u8),
}

/// Where conversations are kept. Every method may block.
pub trait Store: Send + Sync + 'static {
    /// Starts a conversation.
    fn create_conversation(&self, conversation: Conversation) -> Result<()>;
    fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>>;
    /// Appends a turn to a conversation.
    fn add_turn(&self, conversation: &ConversationId, turn: Turn) -> Result<()>;
    /// The turns of a conversation, oldest first.
    fn turns(&self, conversation: &ConversationId) -> Result<Vec<Turn>>;
    /// Records feedback; the conversation (and the message, for thumbs) must exist.
    fn add_feedback(&self, conversation: &ConversationId, feedback: Feedback) -> Result<()>;
    /// The feedback given in a conversation, oldest first.
    fn feedback(&self, conversation: &ConversationId) -> Result<Vec<Feedback>>;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
