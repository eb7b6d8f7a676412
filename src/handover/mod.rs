//! The live hand-over between the bot and the shop's people, both ways (`docs/handover.md`):
//! - `identity`: which customer ids are verified (the shop's identity hash), so that an
//!   anonymous visitor links and overwrites nothing;
//! - `access`: the token of one conversation, which alone reads its history and live events.
//!
//! Business decisions live here and in `conversation::Core`; `http/` only translates.

pub mod access;
pub mod agent;
pub mod history;
pub mod identity;
pub mod inbound;

use serde::{Deserialize, Serialize};

pub use identity::{Claim, IdentitySecret};
pub use inbound::InboundToken;

use jiff::Timestamp;

use crate::escalation::{Decision, Step};
use crate::store::outbox::{EventId, CLOSED_EVENT, MESSAGE_EVENT};
use crate::store::{self, Activity, ActivityKind, ConversationEvent, ConversationId};
use crate::store::{EscalationId, Handoff};

/// Errors of the hand-over: the caller's (unknown conversation, no or a wrong token) and
/// the store's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no conversation `{0}`")]
    UnknownConversation(ConversationId),
    #[error("this conversation's token is missing or does not match")]
    Unauthorized,
    /// The helpdesk spoke in a conversation people do not have.
    #[error("conversation `{0}` is not handed over to people")]
    NotHandedOver(ConversationId),
    #[error("a rating is 1 to 5")]
    BadRating,
    #[error("no agent has resolved this conversation: there is nothing to rate yet")]
    NothingToRate,
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// `handover:` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HandoverSettings {
    /// The key of the customers' identity hashes (`CONCIERGE_IDENTITY_SECRET` overrides
    /// it). Without one no customer id is verified: every shopper is an anonymous visitor.
    pub identity_secret: Option<IdentitySecret>,
    /// The `whsec_…` key the helpdesk signs its requests to the inbound API with
    /// (`CONCIERGE_HANDOVER_SECRET` overrides it).
    pub inbound_secret: Option<crate::escalation::sign::WebhookSecret>,
    /// The bearer token of an integration that does not sign (`CONCIERGE_HANDOVER_TOKEN`
    /// overrides it).
    pub inbound_token: Option<InboundToken>,
    /// How far a signed request's `webhook-timestamp` may be from now, in seconds.
    pub inbound_tolerance_secs: u64,
}

impl Default for HandoverSettings {
    fn default() -> Self {
        HandoverSettings {
            identity_secret: None,
            inbound_secret: None,
            inbound_token: None,
            inbound_tolerance_secs: 300,
        }
    }
}

impl HandoverSettings {
    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(s) = &self.identity_secret {
            s.check()?;
        }
        if let Some(t) = &self.inbound_token {
            t.check()?;
        }
        if self.inbound_tolerance_secs == 0 {
            return Err("handover.inbound_tolerance_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// The ticket of a conversation people have; `None` while the bot (or its dialogue) has it.
pub fn handed_over_ticket(handoff: &Handoff) -> Option<EscalationId> {
    match handoff {
        Handoff::HandedOver { ticket, .. } => Some(ticket.clone()),
        _ => None,
    }
}

/// Whether an agent is in the conversation: one joined or wrote since it was last resolved.
pub fn agent_present(activity: &[Activity]) -> bool {
    activity
        .iter()
        .rev()
        .take_while(|a| a.kind != ActivityKind::Resolved)
        .any(|a| matches!(a.kind, ActivityKind::Joined | ActivityKind::Message))
}

/// The agent who last joined or wrote, since the conversation was last resolved (or before
/// the resolution, for the rating that follows it).
pub fn last_agent(activity: &[Activity]) -> Option<String> {
    activity
        .iter()
        .rev()
        .filter(|a| matches!(a.kind, ActivityKind::Joined | ActivityKind::Message))
        .find_map(|a| a.agent.clone())
}

/// The bot says nothing while an agent is in the conversation: the message is recorded as
/// part of the hand-over (and forwarded), not answered.
pub fn silence(decision: &mut Decision) {
    decision.step = Step::AlreadyHandedOver;
    decision.text = Some(String::new());
    decision.dialogue = true;
    decision.handoff = None;
    decision.ticket = None;
}

fn rfc3339(at: Timestamp) -> String {
    at.round(jiff::Unit::Millisecond).unwrap_or(at).to_string()
}

/// The `conversation.message` event of a shopper's message after the hand-over (`text` as
/// the adapter masked it; the store masks again).
pub fn message_event(
    conversation: &ConversationId,
    ticket: &EscalationId,
    text: &str,
    at: Timestamp,
) -> ConversationEvent {
    ConversationEvent {
        kind: MESSAGE_EVENT.to_string(),
        id: EventId::generate(),
        ticket_id: ticket.clone(),
        conversation_id: conversation.to_string(),
        created_at: rfc3339(at),
        text: Some(crate::pii::mask(text).into_owned()),
    }
}

/// The `conversation.closed` event of the shopper leaving a handed-over conversation.
pub fn closed_event(
    conversation: &ConversationId,
    ticket: &EscalationId,
    at: Timestamp,
) -> ConversationEvent {
    ConversationEvent {
        kind: CLOSED_EVENT.to_string(),
        id: EventId::generate(),
        ticket_id: ticket.clone(),
        conversation_id: conversation.to_string(),
        created_at: rfc3339(at),
        text: None,
    }
}

/// Whether a person can join a conversation now (business hours), and when next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    pub open: bool,
    /// The next opening, when closed now (none: never, or open now).
    pub next_opening: Option<Timestamp>,
}

/// What the widget shows: "chat open now", or "leave a message" outside business hours.
pub fn availability(hours: &crate::escalation::BusinessHours, at: Timestamp) -> Availability {
    let open = hours.is_open(at);
    Availability {
        open,
        next_opening: if open { None } else { hours.next_opening(at) },
    }
}
