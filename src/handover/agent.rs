//! The shop's people speaking in a conversation, through the helpdesk's inbound API (already
//! authenticated by `inbound`): an agent's reply, "joined", "typing", "resolved" (back to the
//! bot); and the shopper's side of the end: the CSAT rating of the agent, leaving.
//!
//! Each is one store transaction; what the open widget must see next is returned as a
//! [`Live`] for the adapter to push (it owns the connections).

use jiff::Timestamp;

use super::{closed_event, handed_over_ticket, last_agent, Error};
use crate::store::{
    Activity, ActivityKind, ConversationId, ConversationState, Feedback, Handoff, Store,
};

/// Longest agent name kept.
pub const MAX_AGENT_CHARS: usize = 80;

/// What the helpdesk says happened.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentAction {
    /// An agent's reply to the shopper.
    Message { agent: String, text: String },
    /// An agent took the conversation.
    Joined { agent: String },
    /// An agent is typing (shown, never stored).
    Typing { agent: String },
    /// Back to the bot; the widget asks the shopper for a rating.
    Resolved { agent: Option<String> },
}

/// What the open widget of the conversation should see now.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// A stored activity, at this position (1-based) of the conversation's activity.
    Stored { n: usize, activity: Activity },
    /// An agent is typing.
    Typing { agent: String },
}

fn now_ms(at: Timestamp) -> u64 {
    at.as_millisecond().max(0) as u64
}

fn agent_name(name: &str) -> String {
    name.trim().chars().take(MAX_AGENT_CHARS).collect()
}

/// Applies the helpdesk's action to a handed-over conversation (an unknown one is
/// [`Error::UnknownConversation`], one the bot has [`Error::NotHandedOver`]). The caller
/// serializes it with the conversation's turns. Blocking.
pub fn apply(
    store: &dyn Store,
    id: &ConversationId,
    action: AgentAction,
    at: Timestamp,
) -> Result<Live, Error> {
    let conversation = store
        .conversation(id)?
        .ok_or_else(|| Error::UnknownConversation(id.clone()))?;
    if handed_over_ticket(&conversation.handoff).is_none() {
        return Err(Error::NotHandedOver(id.clone()));
    }
    let at_ms = now_ms(at);
    let (activity, handoff) = match action {
        AgentAction::Typing { agent } => {
            return Ok(Live::Typing {
                agent: agent_name(&agent),
            })
        }
        AgentAction::Message { agent, text } => (
            Activity {
                agent: Some(agent_name(&agent)),
                text: Some(text),
                ..Activity::new(ActivityKind::Message, at_ms)
            },
            None,
        ),
        AgentAction::Joined { agent } => (
            Activity {
                agent: Some(agent_name(&agent)),
                ..Activity::new(ActivityKind::Joined, at_ms)
            },
            None,
        ),
        AgentAction::Resolved { agent } => {
            let before = store.activity(id)?;
            let agent = agent
                .map(|a| agent_name(&a))
                .or_else(|| last_agent(&before));
            (
                Activity {
                    agent,
                    ..Activity::new(ActivityKind::Resolved, at_ms)
                },
                Some(Handoff::Bot),
            )
        }
    };
    store.record_activity(id, &activity, handoff.as_ref(), None, &[])?;
    let n = store.activity(id)?.len();
    Ok(Live::Stored { n, activity })
}

/// Whether the widget should ask for a rating: the conversation was resolved by people and
/// not rated since.
pub fn rating_requested(activity: &[Activity]) -> bool {
    activity
        .iter()
        .rev()
        .find(|a| matches!(a.kind, ActivityKind::Resolved | ActivityKind::Rating))
        .is_some_and(|a| a.kind == ActivityKind::Resolved)
}

/// The shopper's CSAT rating (1–5) of the agent who resolved the conversation, recorded
/// against the conversation and that agent (and as the conversation's satisfaction rating,
/// which the reports count). Only once per resolution. Blocking.
pub fn rate(
    store: &dyn Store,
    id: &ConversationId,
    rating: u8,
    at: Timestamp,
) -> Result<Activity, Error> {
    if !(1..=5).contains(&rating) {
        return Err(Error::BadRating);
    }
    let before = store.activity(id)?;
    if !rating_requested(&before) {
        return Err(Error::NothingToRate);
    }
    let activity = Activity {
        agent: last_agent(&before),
        rating: Some(rating),
        ..Activity::new(ActivityKind::Rating, now_ms(at))
    };
    store.record_activity(id, &activity, None, None, &[])?;
    store.add_feedback(id, Feedback::Rating(rating))?;
    Ok(activity)
}

/// The shopper leaves the conversation: while people have it, the helpdesk gets a
/// `conversation.closed` event, committed with the record of it; once per conversation.
/// Returns whether an event was queued. Blocking.
pub fn close(store: &dyn Store, id: &ConversationId, at: Timestamp) -> Result<bool, Error> {
    let conversation = store
        .conversation(id)?
        .ok_or_else(|| Error::UnknownConversation(id.clone()))?;
    let Some(ticket) = handed_over_ticket(&conversation.handoff) else {
        return Ok(false);
    };
    let activity = store.activity(id)?;
    let already = activity
        .iter()
        .rev()
        .take_while(|a| a.kind != ActivityKind::Resolved)
        .any(|a| a.kind == ActivityKind::Closed);
    if already {
        return Ok(false);
    }
    let event = closed_event(id, &ticket, at);
    store.record_activity(
        id,
        &Activity::new(ActivityKind::Closed, now_ms(at)),
        None,
        None::<&ConversationState>,
        &[event],
    )?;
    Ok(true)
}
