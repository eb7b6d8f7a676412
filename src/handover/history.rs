//! A conversation as its shopper reads it again (a page reload): the shopper's messages, the
//! bot's replies and, once people have it, the agents' messages, oldest first. Readable only
//! with the conversation's own token.

use super::{access, agent, Error};
use crate::store::{ActivityKind, Conversation, ConversationId, Store};

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Bot,
    Agent,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Customer => "customer",
            Speaker::Bot => "bot",
            Speaker::Agent => "agent",
        }
    }
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub speaker: Speaker,
    pub text: String,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// The agent's name, for an agent's line.
    pub agent: Option<String>,
}

/// What [`read`] returns.
#[derive(Debug, Clone)]
pub struct History {
    pub conversation: Conversation,
    pub lines: Vec<Line>,
    /// How many activities the conversation has: live events continue after this many.
    pub cursor: usize,
    /// People resolved the conversation and the shopper has not rated them yet.
    pub rating_requested: bool,
}

/// Checks `token` against the conversation's own: [`Error::Unauthorized`] for a missing or
/// wrong one, [`Error::UnknownConversation`] for no such conversation. Blocking.
pub fn authorize(
    store: &dyn Store,
    id: &ConversationId,
    token: Option<&str>,
) -> Result<Conversation, Error> {
    let conversation = store
        .conversation(id)?
        .ok_or_else(|| Error::UnknownConversation(id.clone()))?;
    let state = store.state(id)?.unwrap_or_default();
    if !access::check(state.access.as_deref(), token) {
        return Err(Error::Unauthorized);
    }
    Ok(conversation)
}

/// The conversation's history, for the holder of its token. Blocking.
pub fn read(store: &dyn Store, id: &ConversationId, token: Option<&str>) -> Result<History, Error> {
    let conversation = authorize(store, id, token)?;
    let mut lines = Vec::new();
    for turn in store.turns(id)? {
        lines.push(Line {
            speaker: Speaker::Customer,
            text: turn.text,
            at_ms: turn.at_ms,
            agent: None,
        });
        lines.push(Line {
            speaker: Speaker::Bot,
            text: turn.reply,
            at_ms: turn.at_ms,
            agent: None,
        });
    }
    let activity = store.activity(id)?;
    for a in &activity {
        if a.kind == ActivityKind::Message {
            lines.push(Line {
                speaker: Speaker::Agent,
                text: a.text.clone().unwrap_or_default(),
                at_ms: a.at_ms,
                agent: a.agent.clone(),
            });
        }
    }
    // Turns and agents' messages by time; a turn's two lines stay together (stable sort).
    lines.sort_by_key(|l| l.at_ms);
    lines.retain(|l| !(l.speaker == Speaker::Bot && l.text.is_empty()));
    Ok(History {
        conversation,
        lines,
        cursor: activity.len(),
        rating_requested: agent::rating_requested(&activity),
    })
}
