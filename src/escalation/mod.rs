//! Escalation to the shop's helpdesk: when the bot hands a conversation to a person, what the
//! ticket says, and the outbox it waits in until the helpdesk has it.
//!
//! The pieces, each owning its part:
//! - `crate::store::outbox`, re-exported here: the ticket as it is stored and sent (the
//!   generic payload, version 1, documented in `docs/webhook.md`), the [`Handoff`] state and
//!   the [`Outbox`] contract between the store and the delivery worker (they live under the
//!   store, which keeps them, so that `store` never imports `escalation`);
//! - `policy`: when to escalate (the triggers), the "leave a message" conversation outside
//!   business hours, priority and category;
//! - `hours`: business hours in the shop's time zone;
//! - `webhook`: signing (Standard Webhooks), the helpdesk formats, and the delivery worker.
//!
//! The invariant that matters: a ticket is written to the outbox in the same transaction as
//! the shopper's message that triggered it, before the shopper sees the reply; the worker only
//! ever moves it forward (pending → delivered, or pending → dead after the last attempt, and
//! back to pending by an explicit retry). `id` is the receiver's idempotency key and never
//! changes between attempts.

pub mod deliver;
pub(crate) mod email;
pub mod format;
pub mod hours;
pub mod policy;
pub mod sign;
mod texts;
pub mod ticket;
pub mod webhook;

pub use email::{find_email, EmailCheck, EmailProblem};
pub use hours::{BusinessHours, BusinessHoursSettings, HoursError};
pub use policy::{
    Decision, Policy, PolicyError, PolicySettings, Step, TicketDraft, TurnInput,
    HUMAN_HANDOFF_INTENT,
};
pub use ticket::{build_ticket, suggested_articles, EarlierConversation, TicketContext};

pub use crate::store::outbox::{
    DeliveryState, EscalationId, Handoff, Mode, Outbox, OutboxEntry, OutboxError, Priority, Reason,
    Role, SuggestedArticle, Ticket, TicketCustomer, TranscriptEntry, TICKET_TYPE,
};
