//! What the live hand-over keeps (`crate::handover` decides, the store keeps): what the
//! shop's people did in a conversation ([`Activity`]: an agent's message, joined, resolved,
//! the shopper's CSAT rating of the agent, the shopper leaving), the helpdesk's events of a
//! handed-over conversation ([`ConversationEvent`], committed with the turn that caused
//! them), and the inbound requests' ids already accepted (replay refusal).

use super::outbox::{ConversationEvent, Handoff, Ticket};
use super::{ConversationId, ConversationState, Result, Turn};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityKind {
    /// An agent wrote to the shopper.
    Message,
    /// An agent took the conversation.
    Joined,
    /// The agents handed the conversation back to the bot.
    Resolved,
    /// The shopper rated the agent's help, 1 to 5.
    Rating,
    /// The shopper left the conversation.
    Closed,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Message => "message",
            ActivityKind::Joined => "joined",
            ActivityKind::Resolved => "resolved",
            ActivityKind::Rating => "rating",
            ActivityKind::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        [
            ActivityKind::Message,
            ActivityKind::Joined,
            ActivityKind::Resolved,
            ActivityKind::Rating,
            ActivityKind::Closed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One thing the shop's people (or the shopper, about them) did in a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub kind: ActivityKind,
    /// The agent's name as the helpdesk gave it.
    pub agent: Option<String>,
    /// The agent's message (masked when stored).
    pub text: Option<String>,
    /// The CSAT rating, 1 to 5.
    pub rating: Option<u8>,
    /// Unix milliseconds.
    pub at_ms: u64,
}

impl Activity {
    pub fn new(kind: ActivityKind, at_ms: u64) -> Self {
        Activity {
            kind,
            agent: None,
            text: None,
            rating: None,
            at_ms,
        }
    }
}

/// The activity as a store writes it: an agent's text masked too.
pub fn masked_activity(activity: &Activity) -> Activity {
    let mut a = activity.clone();
    if let Some(t) = &mut a.text {
        *t = crate::pii::mask(t).into_owned();
    }
    a
}

/// The event as a store writes it: the shopper's text masked.
pub fn masked_event(event: &ConversationEvent) -> ConversationEvent {
    let mut e = event.clone();
    if let Some(t) = &mut e.text {
        *t = crate::pii::mask(t).into_owned();
    }
    e
}

/// The hand-over's part of a store. Every method may block.
pub trait Handovers {
    /// [`super::Store::record_turn_with_state`], and the helpdesk's `events` (masked, pending
    /// and due now) in the same transaction, durable before this returns.
    fn record_turn_with_events(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
        events: &[ConversationEvent],
    ) -> Result<()>;
    /// In one transaction: the activity (masked), the conversation's new hand-over state and
    /// state when given, and `events`. An unknown conversation is
    /// [`super::Error::UnknownConversation`] and nothing is written.
    fn record_activity(
        &self,
        conversation: &ConversationId,
        activity: &Activity,
        handoff: Option<&Handoff>,
        state: Option<&ConversationState>,
        events: &[ConversationEvent],
    ) -> Result<()>;
    /// The conversation's activity, oldest first.
    fn activity(&self, conversation: &ConversationId) -> Result<Vec<Activity>>;
    /// Records the id of an accepted inbound request: `false` when it was seen before (a
    /// replay). Ids recorded before `forget_before_ms` are forgotten (a replay that old is
    /// refused by its timestamp).
    fn first_seen(&self, id: &str, now_ms: u64, forget_before_ms: u64) -> Result<bool>;
}
