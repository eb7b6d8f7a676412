//! The hand-over's part of the SQLite store: the helpdesk's events beside the tickets'
//! outbox, what the agents did, the inbound request ids already accepted (`0005_handover`).

use rusqlite::{params, Connection, OptionalExtension};

use super::{exec, insert_turn, ms, outbox_error, parse_state, ticket_row, unsigned, SqliteStore};
use crate::store::handover::{masked_activity, masked_event, Activity, ActivityKind, Handovers};
use crate::store::outbox::{
    ConversationEvent, EventEntry, EventId, EventOutbox, Handoff, OutboxError, Ticket,
};
use crate::store::{
    masked_state, masked_turn, now_ms, ConversationId, ConversationState, Error, Result, Turn,
};

/// The events as their rows: id, conversation, ticket and masked JSON.
fn event_rows(events: &[ConversationEvent]) -> Result<Vec<(String, String, String, String)>> {
    events
        .iter()
        .map(|e| {
            Ok((
                e.id.to_string(),
                e.conversation_id.clone(),
                e.ticket_id.to_string(),
                serde_json::to_string(&masked_event(e))?,
            ))
        })
        .collect()
}

/// Queues events, pending and due now, each after the conversation's last.
pub(super) fn insert_events(
    tx: &Connection,
    rows: &[(String, String, String, String)],
) -> Result<()> {
    let now = ms(now_ms());
    for (id, conversation, ticket, json) in rows {
        exec(
            tx,
            "INSERT INTO events (id, conversation_id, ticket_id, n, event, state, attempts, \
               next_attempt_ms, last_error, created_ms, updated_ms, delivered_ms) \
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(n), 0) + 1 FROM events \
               WHERE conversation_id = ?2), ?4, 'pending', 0, ?5, NULL, ?5, ?5, NULL)",
            params![id, conversation, ticket, json, now],
        )?;
    }
    Ok(())
}

const EVENT_COLUMNS: &str =
    "e.event, e.state, e.attempts, e.next_attempt_ms, e.last_error, e.created_ms, e.delivered_ms";

fn event_entries(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<EventEntry>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                parse_state(&r.get::<_, String>(1)?)?,
                r.get::<_, u32>(2)?,
                unsigned(r.get(3)?),
                r.get::<_, Option<String>>(4)?,
                unsigned(r.get(5)?),
                r.get::<_, Option<i64>>(6)?.map(unsigned),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(
            |(json, state, attempts, next_attempt_ms, last_error, created_ms, delivered_ms)| {
                Ok(EventEntry {
                    event: serde_json::from_str(&json)?,
                    state,
                    attempts,
                    next_attempt_ms,
                    last_error,
                    created_ms,
                    delivered_ms,
                })
            },
        )
        .collect()
}

fn unknown_event(id: &EventId) -> OutboxError {
    OutboxError::Backend(format!("no event `{id}`"))
}

impl SqliteStore {
    /// An update of one event that leaves a delivered one alone.
    fn move_event(
        &self,
        id: &EventId,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> Result<(), OutboxError> {
        let changed = self
            .write(false, |tx| Ok(exec(tx, sql, p)?))
            .map_err(outbox_error)?;
        if changed == 0 {
            let known = self
                .read(|c| {
                    Ok(
                        c.query_row("SELECT 1 FROM events WHERE id = ?1", [id.as_str()], |_| {
                            Ok(())
                        })
                        .optional()?
                        .is_some(),
                    )
                })
                .map_err(outbox_error)?;
            if !known {
                return Err(unknown_event(id));
            }
        }
        Ok(())
    }
}

impl EventOutbox for SqliteStore {
    fn due_events(&self, now_ms: u64, limit: usize) -> Result<Vec<EventEntry>, OutboxError> {
        self.read(|conn| {
            event_entries(
                conn,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events e \
                     WHERE e.state = 'pending' AND e.next_attempt_ms <= ?1 \
                       AND NOT EXISTS (SELECT 1 FROM events p WHERE p.conversation_id = \
                         e.conversation_id AND p.state = 'pending' AND p.n < e.n) \
                       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = e.ticket_id \
                         AND o.state = 'pending') \
                     ORDER BY e.created_ms, e.conversation_id, e.n LIMIT ?2"
                ),
                params![ms(now_ms), super::limit(limit)],
            )
        })
        .map_err(outbox_error)
    }

    fn event_delivered(&self, id: &EventId, now_ms: u64) -> Result<(), OutboxError> {
        self.move_event(
            id,
            "UPDATE events SET state = 'delivered', attempts = attempts + 1, \
               delivered_ms = ?2, updated_ms = ?2 WHERE id = ?1 AND state != 'delivered'",
            params![id.as_str(), ms(now_ms)],
        )
    }

    fn event_failed(
        &self,
        id: &EventId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.move_event(
            id,
            "UPDATE events SET state = 'pending', attempts = ?2, next_attempt_ms = ?3, \
               last_error = ?4, updated_ms = ?5 WHERE id = ?1 AND state != 'delivered'",
            params![
                id.as_str(),
                attempts,
                ms(next_attempt_ms),
                error,
                ms(now_ms())
            ],
        )
    }

    fn event_dead(&self, id: &EventId, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.move_event(
            id,
            "UPDATE events SET state = 'dead', attempts = ?2, last_error = ?3, updated_ms = ?4 \
             WHERE id = ?1 AND state != 'delivered'",
            params![id.as_str(), attempts, error, ms(now_ms())],
        )
    }

    fn events_of(&self, conversation: &str) -> Result<Vec<EventEntry>, OutboxError> {
        self.read(|conn| {
            event_entries(
                conn,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events e WHERE e.conversation_id = ?1 ORDER BY e.n"
                ),
                [conversation],
            )
        })
        .map_err(outbox_error)
    }
}

impl Handovers for SqliteStore {
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
        let handoff = handoff.map(serde_json::to_string).transpose()?;
        let ticket = ticket_row(ticket)?;
        let state = serde_json::to_string(&masked_state(state))?;
        let rows = event_rows(events)?;
        let conversation = conversation.clone();
        let durable = ticket.is_some() || !rows.is_empty();
        self.write_grouped(durable, move |tx| {
            insert_turn(
                tx,
                &conversation,
                &turn,
                handoff.as_deref(),
                ticket.as_ref(),
                Some(&state),
            )?;
            insert_events(tx, &rows)
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
        let rows = event_rows(events)?;
        self.write(true, |tx| {
            let changed = exec(
                tx,
                "UPDATE conversations SET \
                   last_ms = CASE WHEN last_ms < ?2 THEN ?2 ELSE last_ms END, \
                   handoff = COALESCE(?3, handoff), \
                   state = CASE WHEN ?4 IS NULL THEN state ELSE ?4 END \
                 WHERE id = ?1",
                params![conversation.as_str(), ms(a.at_ms), handoff, state],
            )?;
            if changed == 0 {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            exec(
                tx,
                "INSERT INTO activity (conversation_id, n, kind, agent, text, rating, at_ms) \
                 VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM activity \
                   WHERE conversation_id = ?1), ?2, ?3, ?4, ?5, ?6)",
                params![
                    conversation.as_str(),
                    a.kind.as_str(),
                    a.agent,
                    a.text,
                    a.rating,
                    ms(a.at_ms)
                ],
            )?;
            insert_events(tx, &rows)
        })
    }

    fn activity(&self, conversation: &ConversationId) -> Result<Vec<Activity>> {
        self.read(|conn| {
            if !super::conversation_exists(conn, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            let mut stmt = conn.prepare_cached(
                "SELECT kind, agent, text, rating, at_ms FROM activity \
                 WHERE conversation_id = ?1 ORDER BY n",
            )?;
            let rows = stmt
                .query_map([conversation.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<u8>>(3)?,
                        unsigned(r.get(4)?),
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(kind, agent, text, rating, at_ms)| {
                    Some(Activity {
                        kind: ActivityKind::parse(&kind)?,
                        agent,
                        text,
                        rating,
                        at_ms,
                    })
                })
                .collect())
        })
    }

    fn first_seen(&self, id: &str, now_ms: u64, forget_before_ms: u64) -> Result<bool> {
        self.write(false, |tx| {
            exec(
                tx,
                "DELETE FROM inbound_seen WHERE seen_ms < ?1",
                [ms(forget_before_ms)],
            )?;
            let inserted = exec(
                tx,
                "INSERT INTO inbound_seen (id, seen_ms) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![id, ms(now_ms)],
            )?;
            Ok(inserted == 1)
        })
    }
}

/// Deletes the activity of the conversations `which` selects (a subquery on `?1`), and their
/// events too when `events` (forgetting a customer; retention keeps pending events).
pub(super) fn forget_handover(
    tx: &Connection,
    which: &str,
    p: impl rusqlite::Params + Copy,
    events: bool,
) -> Result<()> {
    if events {
        tx.execute(
            &format!("DELETE FROM events WHERE conversation_id IN ({which})"),
            p,
        )?;
    }
    tx.execute(
        &format!("DELETE FROM activity WHERE conversation_id IN ({which})"),
        p,
    )?;
    Ok(())
}

/// Retention of the events: delivered and dead ones last touched before the cutoff.
pub(super) fn purge_events(tx: &Connection, cutoff: i64) -> Result<()> {
    // Never a pending event, whatever its age, like the tickets.
    tx.execute(
        "DELETE FROM events WHERE state IN ('delivered', 'dead') AND updated_ms < ?1",
        [cutoff],
    )?;
    Ok(())
}
