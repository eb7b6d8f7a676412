//! A retried message: the client sent it again with the same `client_message_id` (its first
//! attempt was committed but the answer never reached it: the replica died, the connection
//! broke). It is answered with the turn stored for the first attempt, never decided or stored
//! again.
//!
//! A turn commits the shopper's message and the bot's reply in ONE transaction, so a retry
//! finds either the whole turn (answered from here) or nothing (decided as a new message,
//! once: the conversation's turn lock serializes the attempts, and the store's uniqueness of
//! the client id in a conversation refuses a second turn should two attempts race anyway).
//!
//! What the shopper was shown besides the reply's text (suggestions, link, hand-over stage,
//! quick replies…) is kept with such a turn as [`Shown`] (`Turn::shown`, JSON the store does
//! not read); the text itself is the turn's `reply`, masked as stored.

use serde::{Deserialize, Serialize};

use super::{FlowView, Recorded, Turned};
use crate::engine::{self, Reply};
use crate::escalation::{Handoff, Reason, Step};
use crate::flows::QuickReply;
use crate::locale::Language;
use crate::store::{ConversationId, Outcome, Turn};

/// What the shopper was shown for a turn, but the reply's text.
#[derive(Debug, Serialize, Deserialize)]
struct Shown {
    outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    escalation: Option<Reason>,
    /// The reply with an empty `text` (the turn's `reply` holds it).
    reply: Reply,
    /// ISO 639-1.
    language: String,
    handoff: Handoff,
    follow_up: bool,
    step: Step,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flow: Option<ShownFlow>,
}

/// A flow's part of what was shown: the quick replies, not the slots (they may hold what the
/// shopper typed; a store keeps them masked in the conversation's state only).
#[derive(Debug, Serialize, Deserialize)]
struct ShownFlow {
    flow: String,
    running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    asks: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    choices: Vec<QuickReply>,
}

/// What to keep with a turn the client named, to answer its retries with.
pub(super) fn shown(turned: &Turned) -> serde_json::Value {
    let mut reply = turned.reply.clone();
    reply.text = String::new();
    let shown = Shown {
        outcome: turned.outcome,
        escalation: turned.escalation,
        reply,
        language: turned.language.as_str().to_string(),
        handoff: turned.handoff.clone(),
        follow_up: turned.follow_up,
        step: turned.step,
        flow: turned.flow.as_ref().map(|f| ShownFlow {
            flow: f.flow.clone(),
            running: f.running,
            asks: f.asks.clone(),
            choices: f.choices.clone(),
        }),
    };
    serde_json::to_value(shown).unwrap_or(serde_json::Value::Null)
}

/// The answer to a retry of `turn`: what its first attempt was answered with. `handoff` is the
/// conversation's state now, shown only for a turn kept without [`Shown`] (or whose `shown`
/// no longer parses), which is answered from the turn's own columns.
pub(super) fn replay(conversation: &ConversationId, turn: &Turn, handoff: &Handoff) -> Recorded {
    let kept = turn
        .shown
        .clone()
        .and_then(|v| serde_json::from_value::<Shown>(v).ok());
    let turned = match kept {
        Some(shown) => {
            let mut reply = shown.reply;
            reply.text = turn.reply.clone();
            Turned {
                outcome: shown.outcome,
                escalation: shown.escalation,
                reply,
                language: shown
                    .language
                    .parse()
                    .unwrap_or_else(|_| Language::english()),
                handoff: shown.handoff,
                // Committed with the first attempt: nothing new for the outbox.
                ticket: None,
                follow_up: shown.follow_up,
                step: shown.step,
                flow: shown.flow.map(|f| FlowView {
                    flow: f.flow,
                    running: f.running,
                    asks: f.asks,
                    slots: Default::default(),
                    choices: f.choices,
                    action: None,
                }),
            }
        }
        None => from_columns(turn, handoff),
    };
    Recorded {
        conversation: conversation.clone(),
        message: turn.id.clone(),
        turned,
        // Issued with a conversation's first turn only, which is never a retry.
        access_token: None,
        replayed: true,
    }
}

/// A turn's answer from what every store keeps of it.
fn from_columns(turn: &Turn, handoff: &Handoff) -> Turned {
    let (outcome, engine_outcome) = match turn.outcome {
        Outcome::Answer => (Outcome::Answer, engine::Outcome::Answer),
        Outcome::Clarify => (Outcome::Clarify, engine::Outcome::Clarify),
        Outcome::Escalate | Outcome::Handoff => (Outcome::Escalate, engine::Outcome::Escalate),
    };
    let language = turn
        .language
        .parse()
        .unwrap_or_else(|_| Language::english());
    Turned {
        outcome,
        escalation: None,
        reply: Reply {
            outcome: engine_outcome,
            language: turn.language.clone(),
            intent: turn.intent.as_deref().and_then(|i| i.parse().ok()),
            article: turn.article.as_deref().and_then(|a| a.parse().ok()),
            confidence: turn.confidence,
            text: turn.reply.clone(),
            suggestions: Vec::new(),
            link: None,
            fallback: false,
            escalation: None,
        },
        language,
        handoff: handoff.clone(),
        ticket: None,
        follow_up: false,
        step: if turn.outcome == Outcome::Handoff {
            Step::AlreadyHandedOver
        } else {
            Step::Bot
        },
        flow: None,
    }
}
