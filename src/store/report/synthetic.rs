//! A synthetic history with known proportions, written straight into a store in one
//! transaction: for the report's tests (`report/tests.rs`) and its benchmark
//! (`benches/report.rs`). Not for shops.
//!
//! Conversation `i` (of `conversations`, the `i`-th starting `i * step_ms` after `start_ms`)
//! follows `k = i % 10`:
//! - language `[en, es, pt, nl][i % 4]`; channel `api` when `i % 5 == 0`, else `web`;
//! - every message answered, except: `k = 6` only "did you mean" (clarify), `k = 7, 8, 9` the
//!   last message escalates; `k = 7` a ticket for low confidence, priority normal; `k = 8` a
//!   ticket because a person was asked for, priority high; `k = 9` no ticket; the ticket's
//!   category is `shipping` when `i % 20 < 10`, else `returns`; delivered
//!   `60 s × (1 + i % 3)` after it was created; for `k = 8` an agent writes into the conversation
//!   `60 s × (1 + (i / 10) % 4)` after the ticket was created (its first human response);
//! - `k = 0`: thumbs up on the first message and a rating of 5; `k = 1`: thumbs down and 1;
//!   `k = 3`: thumbs up; `k = 4`: rating 4;
//! - `k = 2` and `k = 3` belong to one customer, who came back (`k = 3` starts `step_ms`
//!   after `k = 2`);
//! - message `m` (from 1) of conversation `i` is sent `m` seconds after it started, and the bot
//!   took `100 + ((i × messages + m) % 100) × 10` ms to reply.

use rusqlite::params;

use super::super::sqlite::SqliteStore;
use super::super::Result;

/// The shape of the history.
#[derive(Debug, Clone, Copy)]
pub struct History {
    pub conversations: usize,
    pub messages_per_conversation: usize,
    pub start_ms: u64,
    pub step_ms: u64,
}

impl History {
    /// What the report's tests use: 100,000 conversations of 4 messages, 1,000 a day for 100
    /// days from 2026-01-01T00:00:00Z (up to 2026-04-11).
    pub const HUNDRED_DAYS: History = History {
        conversations: 100_000,
        messages_per_conversation: 4,
        start_ms: 1_767_225_600_000,
        step_ms: 86_400,
    };
}

/// Writes `h` into `store`, in one transaction.
pub fn generate(store: &SqliteStore, h: &History) -> Result<()> {
    let m_per = h.messages_per_conversation.max(1);
    store.write(false, |tx| {
        let mut customer = tx.prepare(
            "INSERT INTO customers (id, name, email, created_ms, updated_ms) \
             VALUES (?1, NULL, NULL, ?2, ?2)",
        )?;
        let mut conversation = tx.prepare(
            "INSERT INTO conversations (id, channel, customer_id, customer_name, \
               customer_email, started_ms, last_ms, handoff) \
             VALUES (?1, ?2, ?3, NULL, NULL, ?4, ?5, '{\"stage\":\"bot\"}')",
        )?;
        let mut message = tx.prepare(
            "INSERT INTO messages (id, conversation_id, n, at_ms, text, reply, outcome, \
               language, intent, article, confidence, response_ms) \
             VALUES (?1, ?2, ?3, ?4, 'a question', 'an answer', ?5, ?6, NULL, NULL, 0.5, ?7)",
        )?;
        let mut feedback = tx.prepare(
            "INSERT INTO feedback (conversation_id, n, message_id, helpful, rating, at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut agent = tx.prepare(
            "INSERT INTO activity (conversation_id, n, kind, agent, text, rating, at_ms) \
             VALUES (?1, 1, 'message', 'Sam', 'On it', NULL, ?2)",
        )?;
        let mut ticket = tx.prepare(
            "INSERT INTO outbox (id, conversation_id, customer_id, ticket, state, attempts, \
               next_attempt_ms, last_error, created_ms, updated_ms, delivered_ms, reason, \
               category, priority) \
             VALUES (?1, ?2, ?3, ?4, 'delivered', 1, ?5, NULL, ?5, ?6, ?6, ?7, ?8, ?9)",
        )?;
        for i in 0..h.conversations {
            let k = i % 10;
            let id = format!("c_syn{i:09}");
            let started = (h.start_ms + i as u64 * h.step_ms) as i64;
            let last = started + m_per as i64 * 1000;
            let language = ["en", "es", "pt", "nl"][i % 4];
            let channel = if i % 5 == 0 { "api" } else { "web" };
            let customer_id = match k {
                2 => Some(format!("r{i}")),
                3 if i > 0 => Some(format!("r{}", i - 1)),
                _ => None,
            };
            if k == 2 {
                customer.execute(params![customer_id, started])?;
            }
            conversation.execute(params![id, channel, customer_id, started, last])?;
            let mut first_message = String::new();
            for m in 1..=m_per {
                let outcome = match k {
                    6 => "clarify",
                    7..=9 if m == m_per => "escalate",
                    _ => "answer",
                };
                let mid = format!("m_syn{i:09}_{m}");
                let response = 100 + ((i * m_per + m) % 100) as i64 * 10;
                message.execute(params![
                    mid,
                    id,
                    m as i64,
                    started + m as i64 * 1000,
                    outcome,
                    language,
                    response
                ])?;
                if m == 1 {
                    first_message = mid;
                }
            }
            let thumb = match k {
                0 | 3 => Some(true),
                1 => Some(false),
                _ => None,
            };
            let rating = match k {
                0 => Some(5),
                1 => Some(1),
                4 => Some(4),
                _ => None,
            };
            let mut n = 0;
            if let Some(up) = thumb {
                n += 1;
                feedback.execute(params![id, n, first_message, up, None::<i64>, last])?;
            }
            if let Some(r) = rating {
                n += 1;
                feedback.execute(params![id, n, None::<String>, None::<bool>, r, last])?;
            }
            if k == 7 || k == 8 {
                let (reason, priority) = if k == 7 {
                    ("low_confidence", "normal")
                } else {
                    ("human_requested", "high")
                };
                let category = if i % 20 < 10 { "shipping" } else { "returns" };
                let delivered = last + 60_000 * (1 + (i % 3) as i64);
                let json = serde_json::json!({
                    "type": "escalation.created",
                    "id": format!("esc_syn{i:09}"),
                    "created_at": "2026-01-01T00:00:00Z",
                    "conversation_id": id,
                    "customer": {"id": customer_id, "name": null, "email": null},
                    "channel": channel,
                    "language": language,
                    "reason": reason,
                    "mode": "live",
                    "priority": priority,
                    "category": category,
                    "intent": null,
                    "confidence": 0.1,
                    "subject": "a question",
                    "transcript": [],
                    "suggested_articles": []
                });
                ticket.execute(params![
                    format!("esc_syn{i:09}"),
                    id,
                    customer_id,
                    json.to_string(),
                    last,
                    delivered,
                    reason,
                    category,
                    priority
                ])?;
                if k == 8 {
                    agent.execute(params![id, last + 60_000 * (1 + ((i / 10) % 4) as i64)])?;
                }
            }
        }
        Ok(())
    })
}
