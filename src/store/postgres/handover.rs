//! The hand-over's part of the PostgreSQL store (see the SQLite store's `handover.rs`): the
//! helpdesk's events, the agents' activity, the inbound request ids already accepted.
//!
//! Events are not leased like tickets: two replicas may attempt the same event at once, and
//! the receiver drops the duplicate by its `webhook-id`; the order within a conversation
//! holds, since an event is attempted only once the one before it is delivered or dead.

use postgres::Row;

use super::{
    insert_turn, lock_conversation, ms, outbox_error, parse_state, unsigned, PostgresStore, Tx,
};
use crate::store::handover::{masked_activity, masked_event, Activity, ActivityKind, Handovers};
use crate::store::outbox::{
    ConversationEvent, EventEntry, EventId, EventOutbox, Handoff, OutboxError, Ticket,
};
use crate::store::{
    masked_state, masked_turn, now_ms, ConversationId, ConversationState, Error, Result, Turn,
};

/// Queues events (masked), pending and due now, each after the conversation's last.
fn insert_events(tx: &mut Tx<'_>, events: &[ConversationEvent]) -> Result<()> {
    let now = ms(now_ms());
    for e in events {
        let json = serde_json::to_string(&masked_event(e))?;
        tx.execute(
            "INSERT INTO events (id, conversation_id, ticket_id, n, event, state, attempts, \
               next_attempt_ms, last_error, created_ms, updated_ms, delivered_ms) \
             VALUES ($1, $2, $3, (SELECT COALESCE(MAX(n), 0) + 1 FROM events \
               WHERE conversation_id = $2), $4, 'pending', 0, $5, NULL, $5, $5, NULL)",
            &[
                &e.id.as_str(),
                &e.conversation_id,
                &e.ticket_id.as_str(),
                &json,
                &now,
            ],
        )?;
    }
    Ok(())
}

/// `event, state, attempts, next_attempt_ms, last_error, created_ms, delivered_ms`.
fn event_entry(r: &Row) -> Result<EventEntry> {
    let json: String = r.get(0);
    let state: String = r.get(1);
    let attempts: i32 = r.get(2);
    Ok(EventEntry {
        event: serde_json::from_str(&json)?,
        state: parse_state(&state)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_ms: unsigned(r.get(3)),
        last_error: r.get(4),
        created_ms: unsigned(r.get(5)),
        delivered_ms: r.get::<_, Option<i64>>(6).map(unsigned),
    })
}

fn unknown_event(id: &EventId) -> OutboxError {
    OutboxError::Backend(format!("no event `{id}`"))
}

impl PostgresStore {
    fn move_event(
        &self,
        id: &EventId,
        f: impl FnOnce(&mut Tx<'_>) -> Result<u64>,
    ) -> Result<(), OutboxError> {
        let known = self
            .transaction(|tx| {
                if f(tx)? > 0 {
                    return Ok(true);
                }
                Ok(tx
                    .query_opt("SELECT 1 FROM events WHERE id = $1", &[&id.as_str()])?
                    .is_some())
            })
            .map_err(outbox_error)?;
        if known {
            Ok(())
        } else {
            Err(unknown_event(id))
        }
    }
}

impl EventOutbox for PostgresStore {
    fn due_events(&self, now_ms: u64, max: usize) -> Result<Vec<EventEntry>, OutboxError> {
        self.transaction(|tx| {
            let rows = tx.query(
                "SELECT e.event, e.state, e.attempts, e.next_attempt_ms, e.last_error, \
                   e.created_ms, e.delivered_ms FROM events e \
                 WHERE e.state = 'pending' AND e.next_attempt_ms <= $1 \
                   AND NOT EXISTS (SELECT 1 FROM events p WHERE p.conversation_id = \
                     e.conversation_id AND p.state = 'pending' AND p.n < e.n) \
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = e.ticket_id \
                     AND o.state = 'pending') \
                 ORDER BY e.created_ms, e.conversation_id, e.n LIMIT $2",
                &[&ms(now_ms), &super::limit(max)],
            )?;
            rows.iter().map(event_entry).collect()
        })
        .map_err(outbox_error)
    }

    fn event_delivered(&self, id: &EventId, now_ms: u64) -> Result<(), OutboxError> {
        self.move_event(id, |tx| {
            tx.execute(
                "UPDATE events SET state = 'delivered', attempts = attempts + 1, \
                   delivered_ms = $2, updated_ms = $2 WHERE id = $1 AND state != 'delivered'",
                &[&id.as_str(), &ms(now_ms)],
            )
        })
    }

    fn event_failed(
        &self,
        id: &EventId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.move_event(id, |tx| {
            tx.execute(
                "UPDATE events SET state = 'pending', attempts = $2, next_attempt_ms = $3, \
                   last_error = $4, updated_ms = $5 WHERE id = $1 AND state != 'delivered'",
                &[
                    &id.as_str(),
                    &attempts,
                    &ms(next_attempt_ms),
                    &error,
                    &ms(now_ms()),
                ],
            )
        })
    }

    fn event_dead(&self, id: &EventId, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.move_event(id, |tx| {
            tx.execute(
                "UPDATE events SET state = 'dead', attempts = $2, last_error = $3, \
                   updated_ms = $4 WHERE id = $1 AND state != 'delivered'",
                &[&id.as_str(), &attempts, &error, &ms(now_ms())],
            )
        })
    }

    fn events_of(&self, conversation: &str) -> Result<Vec<EventEntry>, OutboxError> {
        self.transaction(|tx| {
            let rows = tx.query(
                "SELECT event, state, attempts, next_attempt_ms, last_error, created_ms, \
                   delivered_ms FROM events WHERE conversation_id = $1 ORDER BY n",
                &[&conversation],
            )?;
            rows.iter().map(event_entry).collect()
        })
        .map_err(outbox_error)
    }
}

impl Handovers for PostgresStore {
    fn record_turn_with_events(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
        events: &[ConversationEvent],
    ) -> Result<()> {
        let turn = masked_turn(turn);
        let state = serde_json::to_string(&masked_state(state))?;
        self.transaction(|tx| {
            insert_turn(tx, conversation, &turn, handoff, ticket, Some(&state))?;
            insert_events(tx, events)
        })
    }

    fn record_activity(
        &self,
        conversation: &ConversationId,
        activity: &Activity,
        handoff: Option<&Handoff>,
        state: Option<&ConversationState>,
        events: &[ConversationEvent],
    ) -> Result<()> {
        let a = masked_activity(activity);
        let handoff = handoff.map(serde_json::to_string).transpose()?;
        let state = state
            .map(|s| serde_json::to_string(&masked_state(s)))
            .transpose()?;
        self.transaction(|tx| {
            if lock_conversation(tx, conversation)?.is_none() {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            tx.execute(
                "UPDATE conversations SET last_ms = GREATEST(last_ms, $2), \
                   handoff = COALESCE($3, handoff), state = COALESCE($4, state) WHERE id = $1",
                &[&conversation.as_str(), &ms(a.at_ms), &handoff, &state],
            )?;
            tx.execute(
                "INSERT INTO activity (conversation_id, n, kind, agent, text, rating, at_ms) \
                 VALUES ($1, (SELECT COALESCE(MAX(n), 0) + 1 FROM activity \
                   WHERE conversation_id = $1), $2, $3, $4, $5, $6)",
                &[
                    &conversation.as_str(),
                    &a.kind.as_str(),
                    &a.agent,
                    &a.text,
                    &a.rating.map(i16::from),
                    &ms(a.at_ms),
                ],
            )?;
            insert_events(tx, events)
        })
    }

    fn activity(&self, conversation: &ConversationId) -> Result<Vec<Activity>> {
        self.transaction(|tx| {
            if !super::conversation_exists(tx, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            let rows = tx.query(
                "SELECT kind, agent, text, rating, at_ms FROM activity \
                 WHERE conversation_id = $1 ORDER BY n",
                &[&conversation.as_str()],
            )?;
            Ok(rows
                .iter()
                .filter_map(|r| {
                    let kind: String = r.get(0);
                    Some(Activity {
                        kind: ActivityKind::parse(&kind)?,
                        agent: r.get(1),
                        text: r.get(2),
                        rating: r
                            .get::<_, Option<i16>>(3)
                            .and_then(|v| u8::try_from(v).ok()),
                        at_ms: unsigned(r.get(4)),
                    })
                })
                .collect())
        })
    }

    fn first_seen(&self, id: &str, now_ms: u64, forget_before_ms: u64) -> Result<bool> {
        self.transaction(|tx| {
            tx.execute(
                "DELETE FROM inbound_seen WHERE seen_ms < $1",
                &[&ms(forget_before_ms)],
            )?;
            let inserted = tx.execute(
                "INSERT INTO inbound_seen (id, seen_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[&id, &ms(now_ms)],
            )?;
            Ok(inserted == 1)
        })
    }
}

/// Forgetting a customer: the events of their conversations (the activity goes with the
/// conversations, `ON DELETE CASCADE`).
pub(super) fn forget_events(tx: &mut Tx<'_>, customer_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM events WHERE conversation_id IN \
         (SELECT id FROM conversations WHERE customer_id = $1)",
        &[&customer_id],
    )?;
    Ok(())
}

/// Retention: delivered and dead events last touched before the cutoff; never a pending one.
pub(super) fn purge_events(tx: &mut Tx<'_>, cutoff: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM events WHERE state IN ('delivered', 'dead') AND updated_ms < $1",
        &[&cutoff],
    )?;
    Ok(())
}
