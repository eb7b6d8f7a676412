//! The tickets a store keeps and the outbox contract between the store and the delivery
//! worker: the vocabulary both sides share. It lives here, under the store, so that imports
//! point downhill: `escalation` (the policy that writes tickets, the worker that sends them)
//! uses these types, the store never imports `escalation`.

use serde::{Deserialize, Serialize};

pub use crate::ids::EscalationId;

/// Why the bot handed the conversation over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The confidence was below the clarify threshold.
    LowConfidence,
    /// The shopper asked for a person.
    HumanRequested,
    /// Several clarify or fallback turns in a row.
    RepeatedFallback,
    /// The shopper is angry: frustration words or repeated thumbs-down.
    Frustration,
    /// An intent the shop always hands to a person (`escalate: true`: fraud, injury, legal…).
    EscalateIntent,
    /// A flow's look-up failed (timeout, error) and the flow says to hand over.
    FlowFailed,
}

impl Reason {
    /// The name used in payloads and the API (`low_confidence`, `human_requested`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::LowConfidence => "low_confidence",
            Reason::HumanRequested => "human_requested",
            Reason::RepeatedFallback => "repeated_fallback",
            Reason::Frustration => "frustration",
            Reason::EscalateIntent => "escalate_intent",
            Reason::FlowFailed => "flow_failed",
        }
    }
}

/// Whether a person takes over now (inside business hours) or answers the message later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Live,
    Offline,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Offline => "offline",
        }
    }
}

/// Triage order for the helpdesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Who said a line of the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Bot,
}

/// The shopper, as far as the shop told us or the shopper typed (an email for the offline
/// path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCustomer {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// One line of the transcript; personal data already masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub role: Role,
    pub text: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// Channel the line was written in, when it differs from the ticket's (earlier
    /// conversations of the same customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Conversation the line belongs to, when it is an earlier one of the same customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

/// An article the agent may want to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestedArticle {
    pub id: String,
    pub title: String,
    pub url: String,
}

/// The ticket: the generic webhook payload, version 1 (`docs/webhook.md`). The helpdesk
/// formats are rendered from it at delivery time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Always `escalation.created`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: EscalationId,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub conversation_id: String,
    pub customer: TicketCustomer,
    /// Where the shopper is: the agent replies there (`web`, `api`, `email`…).
    pub channel: String,
    /// ISO 639-1 code of the shopper's language.
    pub language: String,
    pub reason: Reason,
    pub mode: Mode,
    pub priority: Priority,
    pub category: String,
    pub intent: Option<String>,
    /// The engine's confidence for the message that triggered the escalation.
    pub confidence: f32,
    pub subject: String,
    /// This conversation, oldest first; earlier conversations of the same customer come
    /// first, marked with their channel and conversation id.
    pub transcript: Vec<TranscriptEntry>,
    pub suggested_articles: Vec<SuggestedArticle>,
    /// The slots a flow had collected when it handed over (`order_number`, `email`…), so
    /// the agent need not ask again; absent when no flow ran.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub slots: std::collections::BTreeMap<String, String>,
}

/// The `type` of every ticket.
pub const TICKET_TYPE: &str = "escalation.created";

/// Where a ticket is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; waits for `concierge tickets retry`.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }
}

/// A ticket in the outbox, with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub ticket: Ticket,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// Unix milliseconds of the next attempt (pending only).
    pub next_attempt_ms: u64,
    /// What went wrong last, for the operator.
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_ms: u64,
    pub delivered_ms: Option<u64>,
}

/// Errors of an outbox backend.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("no ticket `{0}`")]
    UnknownTicket(EscalationId),
    #[error("outbox backend: {0}")]
    Backend(String),
}

/// The outbox as the delivery worker and the operator see it. Implemented by the store (in
/// the same database as the conversations, so a ticket and its message commit together).
/// Every method may block.
pub trait Outbox: Send + Sync + 'static {
    /// Pending tickets whose next attempt is due at `now_ms`, oldest first, at most `limit`.
    fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError>;
    /// The earliest `next_attempt_ms` of any pending ticket.
    fn next_due_ms(&self) -> Result<Option<u64>, OutboxError>;
    /// The receiver answered 2xx.
    fn mark_delivered(&self, id: &EscalationId, now_ms: u64) -> Result<(), OutboxError>;
    /// An attempt failed; try again at `next_attempt_ms`.
    fn mark_failed(
        &self,
        id: &EscalationId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError>;
    /// The last attempt failed: dead letter.
    fn mark_dead(&self, id: &EscalationId, attempts: u32, error: &str) -> Result<(), OutboxError>;
    /// Tickets in a state (all when `None`), newest first, at most `limit`.
    fn list(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError>;
    /// Puts a dead (or pending) ticket back in line for an attempt now, with its attempts
    /// reset; a delivered ticket is left alone and `Ok(false)` returned.
    fn retry(&self, id: &EscalationId, now_ms: u64) -> Result<bool, OutboxError>;
}

/// Where a conversation is in the hand-over to a person; kept with the conversation and
/// changed in the same transaction as the turn that moves it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Handoff {
    /// The bot is answering.
    #[default]
    Bot,
    /// Outside business hours, no email known: the bot asked for one.
    AwaitingEmail {
        reason: Reason,
        /// Invalid addresses typed so far.
        attempts: u8,
        intent: Option<String>,
        confidence: f32,
    },
    /// Outside business hours: the bot asked the shopper to leave a message.
    AwaitingMessage {
        reason: Reason,
        email: Option<String>,
        intent: Option<String>,
        confidence: f32,
    },
    /// A ticket was created; people have the conversation.
    HandedOver { ticket: EscalationId, mode: Mode },
}

pub use crate::ids::EventId;

/// The `type` of a shopper's message after the hand-over.
pub const MESSAGE_EVENT: &str = "conversation.message";
/// The `type` of the shopper leaving a handed-over conversation.
pub const CLOSED_EVENT: &str = "conversation.closed";

/// What a handed-over conversation tells the helpdesk after its ticket (`docs/handover.md`):
/// sent on the same signed webhook, from an outbox of its own beside the tickets', in order
/// per conversation and each after the conversation's ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationEvent {
    /// [`MESSAGE_EVENT`] or [`CLOSED_EVENT`].
    #[serde(rename = "type")]
    pub kind: String,
    pub id: EventId,
    /// The ticket the conversation was handed over with.
    pub ticket_id: EscalationId,
    pub conversation_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// What the shopper wrote, masked (a message only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// An event in its outbox, with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEntry {
    pub event: ConversationEvent,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Unix milliseconds.
    pub next_attempt_ms: u64,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_ms: u64,
    pub delivered_ms: Option<u64>,
}

/// The events' outbox as the delivery worker sees it. Every method may block.
pub trait EventOutbox: Send + Sync + 'static {
    /// Events to attempt at `now_ms`, oldest first, at most `limit`: pending and due, the
    /// first pending one of their conversation (so they go in order), and whose ticket is
    /// not pending any more (the helpdesk has it, or it is dead).
    fn due_events(&self, now_ms: u64, limit: usize) -> Result<Vec<EventEntry>, OutboxError>;
    /// The receiver answered 2xx.
    fn event_delivered(&self, id: &EventId, now_ms: u64) -> Result<(), OutboxError>;
    /// An attempt failed; try again at `next_attempt_ms`.
    fn event_failed(
        &self,
        id: &EventId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError>;
    /// The last attempt failed: the event is given up, and the next one of its conversation
    /// may go.
    fn event_dead(&self, id: &EventId, attempts: u32, error: &str) -> Result<(), OutboxError>;
    /// A conversation's events, in order.
    fn events_of(&self, conversation: &str) -> Result<Vec<EventEntry>, OutboxError>;
}
