//! The in-memory store: conversations live as long as the process, up to a fixed number
//! (the oldest are forgotten first), so a flood of new conversations cannot exhaust memory.
//! Tickets in the outbox are never forgotten that way: only delivery, `forget` and retention
//! remove them. For unit tests and trying things out; `serve` uses [`super::SqliteStore`].

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::report::{
    MessageFact, Report, ReportBuilder, ReportQuery, Reports, TicketFact, RETURN_WINDOW_MS,
};
use super::unanswered::{Collector, GapReason, Unanswered};
use super::{
    masked_state, masked_ticket, masked_turn, now_ms, Conversation, ConversationId,
    ConversationState, Customer, Error, Feedback, ForgetReport, Outcome, PurgeReport, Result,
    Store, Turn,
};
use crate::store::handover::{masked_activity, masked_event, Activity, ActivityKind, Handovers};
use crate::store::outbox::Reason;
use crate::store::outbox::{
    ConversationEvent, DeliveryState, EscalationId, EventEntry, EventId, EventOutbox, Handoff,
    Outbox, OutboxEntry, OutboxError, Ticket,
};

/// Turns kept per conversation; older ones are dropped.
const MAX_TURNS: usize = 500;

#[derive(Debug)]
struct Entry {
    conversation: Conversation,
    turns: VecDeque<Turn>,
    feedback: Vec<Feedback>,
    state: ConversationState,
    activity: Vec<Activity>,
}

#[derive(Debug)]
struct Evented {
    entry: EventEntry,
    /// Unix milliseconds of the last change of state, for retention.
    updated_ms: u64,
}

#[derive(Debug)]
struct Ticketed {
    entry: OutboxEntry,
    customer_id: Option<String>,
    /// Unix milliseconds of the last change of state, for retention.
    updated_ms: u64,
}

#[derive(Debug)]
struct KnownCustomer {
    name: Option<String>,
    email: Option<String>,
    updated_ms: u64,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<ConversationId, Entry>,
    /// Creation order, for forgetting the oldest.
    order: VecDeque<ConversationId>,
    customers: HashMap<String, KnownCustomer>,
    outbox: HashMap<EscalationId, Ticketed>,
    /// The helpdesk's events, in the order they were written.
    events: Vec<Evented>,
    /// Inbound request ids already accepted, with when.
    seen: HashMap<String, u64>,
}

impl Inner {
    /// The conversation with its customer's latest name and email.
    fn header(&self, entry: &Entry) -> Conversation {
        let mut c = entry.conversation.clone();
        if let Some(known) = c.customer.id.as_ref().and_then(|id| self.customers.get(id)) {
            c.customer.name = known.name.clone().or(c.customer.name);
            c.customer.email = known.email.clone().or(c.customer.email);
        }
        c
    }

    fn remove_conversation(&mut self, id: &ConversationId) -> Option<Entry> {
        self.order.retain(|x| x != id);
        self.by_id.remove(id)
    }
}

/// Conversations in a `Mutex<HashMap>`, bounded.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl MemoryStore {
    /// A store keeping at most `capacity` conversations.
    pub fn new(capacity: usize) -> Self {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing the service, so a poisoned lock is used as it is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryStore {
    /// Records a turn, the new hand-over state, the ticket and the new conversation state,
    /// all or nothing.
    fn record(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: Option<&ConversationState>,
        events: &[ConversationEvent],
    ) -> Result<()> {
        let mut inner = self.lock();
        // Check everything before changing anything: the turn and the ticket go in together.
        let entry = inner
            .by_id
            .get(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        if let Some(client_id) = &turn.client_id {
            if entry
                .turns
                .iter()
                .any(|t| t.client_id.as_ref() == Some(client_id))
            {
                return Err(Error::DuplicateClientMessage {
                    conversation: conversation.clone(),
                    client_id: client_id.clone(),
                });
            }
        }
        let customer_id = entry.conversation.customer.id.clone();
        if let Some(t) = ticket {
            if inner.outbox.contains_key(&t.id) {
                return Err(Error::DuplicateTicket(t.id.clone()));
            }
        }
        let turn = masked_turn(turn);
        let at = turn.at_ms;
        let entry = inner
            .by_id
            .get_mut(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        if entry.turns.len() >= MAX_TURNS {
            entry.turns.pop_front();
        }
        entry.turns.push_back(turn);
        entry.conversation.last_ms = entry.conversation.last_ms.max(at);
        if let Some(h) = handoff {
            entry.conversation.handoff = h.clone();
        }
        if let Some(state) = state {
            entry.state = masked_state(state);
        }
        if let Some(t) = ticket {
            let now = now_ms();
            inner.outbox.insert(
                t.id.clone(),
                Ticketed {
                    entry: OutboxEntry {
                        ticket: masked_ticket(t),
                        state: DeliveryState::Pending,
                        attempts: 0,
                        next_attempt_ms: now,
                        last_error: None,
                        created_ms: now,
                        delivered_ms: None,
                    },
                    customer_id,
                    updated_ms: now,
                },
            );
        }
        inner.push_events(events);
        Ok(())
    }
}

impl Inner {
    /// Queues events, pending and due now.
    fn push_events(&mut self, events: &[ConversationEvent]) {
        let now = now_ms();
        for e in events {
            self.events.push(Evented {
                entry: EventEntry {
                    event: masked_event(e),
                    state: DeliveryState::Pending,
                    attempts: 0,
                    next_attempt_ms: now,
                    last_error: None,
                    created_ms: now,
                    delivered_ms: None,
                },
                updated_ms: now,
            });
        }
    }

    fn event_mut(&mut self, id: &EventId) -> Result<&mut Evented, OutboxError> {
        self.events
            .iter_mut()
            .find(|e| &e.entry.event.id == id)
            .ok_or_else(|| OutboxError::Backend(format!("no event `{id}`")))
    }
}

impl Store for MemoryStore {
    fn create_conversation(&self, conversation: Conversation) -> Result<()> {
        let mut inner = self.lock();
        while inner.by_id.len() >= self.capacity {
            match inner.order.pop_front() {
                Some(old) => {
                    inner.by_id.remove(&old);
                }
                None => break,
            }
        }
        if let Some(id) = conversation.customer.id.clone() {
            let Customer { name, email, .. } = &conversation.customer;
            let known = inner.customers.entry(id).or_insert(KnownCustomer {
                name: None,
                email: None,
                updated_ms: conversation.started_ms,
            });
            if name.is_some() {
                known.name = name.clone();
            }
            if email.is_some() {
                known.email = email.clone();
            }
            known.updated_ms = known.updated_ms.max(conversation.started_ms);
        }
        inner.order.push_back(conversation.id.clone());
        inner.by_id.insert(
            conversation.id.clone(),
            Entry {
                conversation,
                turns: VecDeque::new(),
                feedback: Vec::new(),
                state: ConversationState::default(),
                activity: Vec::new(),
            },
        );
        Ok(())
    }

    fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>> {
        let inner = self.lock();
        Ok(inner.by_id.get(id).map(|e| inner.header(e)))
    }

    fn record_first_turn(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()> {
        // All or nothing, like the SQLite transaction: the one way `record_turn` can fail
        // on a conversation that exists is a ticket id already in the outbox.
        if let Some(t) = ticket {
            if self.lock().outbox.contains_key(&t.id) {
                return Err(Error::DuplicateTicket(t.id.clone()));
            }
        }
        let id = conversation.id.clone();
        self.create_conversation(conversation)?;
        self.record_turn(&id, turn, handoff, ticket)
    }

    fn record_turn(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()> {
        self.record(conversation, turn, handoff, ticket, None, &[])
    }

    fn state(&self, conversation: &ConversationId) -> Result<Option<ConversationState>> {
        Ok(self.lock().by_id.get(conversation).map(|e| e.state.clone()))
    }

    fn record_turn_with_state(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()> {
        self.record(conversation, turn, handoff, ticket, Some(state), &[])
    }

    fn record_first_turn_with_state(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()> {
        if let Some(t) = ticket {
            if self.lock().outbox.contains_key(&t.id) {
                return Err(Error::DuplicateTicket(t.id.clone()));
            }
        }
        let id = conversation.id.clone();
        self.create_conversation(conversation)?;
        self.record(&id, turn, handoff, ticket, Some(state), &[])
    }

    fn turns(&self, conversation: &ConversationId) -> Result<Vec<Turn>> {
        let inner = self.lock();
        let entry = inner
            .by_id
            .get(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        Ok(entry.turns.iter().cloned().collect())
    }

    fn add_feedback(&self, conversation: &ConversationId, feedback: Feedback) -> Result<()> {
        let mut inner = self.lock();
        let entry = inner
            .by_id
            .get_mut(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        if let Feedback::Helpful { message, .. } = &feedback {
            if !entry.turns.iter().any(|t| &t.id == message) {
                return Err(Error::UnknownMessage {
                    conversation: conversation.clone(),
                    message: message.clone(),
                });
            }
        }
        entry.feedback.push(feedback);
        Ok(())
    }

    fn feedback(&self, conversation: &ConversationId) -> Result<Vec<Feedback>> {
        let inner = self.lock();
        let entry = inner
            .by_id
            .get(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        Ok(entry.feedback.clone())
    }

    fn customer_history(
        &self,
        customer_id: &str,
        except: &ConversationId,
        limit: usize,
    ) -> Result<Vec<(Conversation, Vec<Turn>)>> {
        let inner = self.lock();
        let mut found: Vec<(Conversation, Vec<Turn>)> = inner
            .by_id
            .values()
            .filter(|e| {
                &e.conversation.id != except
                    && e.conversation.customer.id.as_deref() == Some(customer_id)
            })
            .map(|e| (inner.header(e), e.turns.iter().cloned().collect()))
            .collect();
        found.sort_by(|a, b| {
            (b.0.last_ms, b.0.started_ms, &b.0.id).cmp(&(a.0.last_ms, a.0.started_ms, &a.0.id))
        });
        found.truncate(limit);
        Ok(found)
    }

    fn forget_customer(&self, customer_id: &str) -> Result<ForgetReport> {
        let mut inner = self.lock();
        let mut report = ForgetReport::default();
        let ids: Vec<ConversationId> = inner
            .by_id
            .values()
            .filter(|e| e.conversation.customer.id.as_deref() == Some(customer_id))
            .map(|e| e.conversation.id.clone())
            .collect();
        for id in &ids {
            if let Some(e) = inner.remove_conversation(id) {
                report.conversations += 1;
                report.messages += e.turns.len();
                report.feedback += e.feedback.len();
            }
        }
        let before = inner.outbox.len();
        inner.outbox.retain(|_, t| {
            t.customer_id.as_deref() != Some(customer_id)
                && !ids
                    .iter()
                    .any(|c| c.as_str() == t.entry.ticket.conversation_id)
        });
        report.tickets = before - inner.outbox.len();
        inner.events.retain(|e| {
            !ids.iter()
                .any(|c| c.as_str() == e.entry.event.conversation_id)
        });
        report.customers = usize::from(inner.customers.remove(customer_id).is_some());
        Ok(report)
    }

    fn purge_before(&self, cutoff_ms: u64) -> Result<PurgeReport> {
        let mut inner = self.lock();
        let mut report = PurgeReport::default();
        let old: Vec<ConversationId> = inner
            .by_id
            .values()
            .filter(|e| e.conversation.last_ms < cutoff_ms)
            .map(|e| e.conversation.id.clone())
            .collect();
        for id in &old {
            if let Some(e) = inner.remove_conversation(id) {
                report.conversations += 1;
                report.messages += e.turns.len();
                report.feedback += e.feedback.len();
            }
        }
        let before = inner.outbox.len();
        inner
            .outbox
            .retain(|_, t| t.entry.state == DeliveryState::Pending || t.updated_ms >= cutoff_ms);
        report.tickets = before - inner.outbox.len();
        inner
            .events
            .retain(|e| e.entry.state == DeliveryState::Pending || e.updated_ms >= cutoff_ms);
        let Inner {
            by_id,
            customers,
            outbox,
            ..
        } = &mut *inner;
        let before = customers.len();
        customers.retain(|id, c| {
            c.updated_ms >= cutoff_ms
                || by_id
                    .values()
                    .any(|e| e.conversation.customer.id.as_deref() == Some(id))
                || outbox
                    .values()
                    .any(|t| t.customer_id.as_deref() == Some(id))
        });
        report.customers = before - customers.len();
        Ok(report)
    }
}

fn unknown(id: &EscalationId) -> OutboxError {
    OutboxError::UnknownTicket(id.clone())
}

impl Outbox for MemoryStore {
    fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        let inner = self.lock();
        let mut due: Vec<&OutboxEntry> = inner
            .outbox
            .values()
            .map(|t| &t.entry)
            .filter(|e| e.state == DeliveryState::Pending && e.next_attempt_ms <= now_ms)
            .collect();
        due.sort_by(|a, b| (a.created_ms, &a.ticket.id).cmp(&(b.created_ms, &b.ticket.id)));
        Ok(due.into_iter().take(limit).cloned().collect())
    }

    fn next_due_ms(&self) -> Result<Option<u64>, OutboxError> {
        let inner = self.lock();
        Ok(inner
            .outbox
            .values()
            .filter(|t| t.entry.state == DeliveryState::Pending)
            .map(|t| t.entry.next_attempt_ms)
            .min())
    }

    fn mark_delivered(&self, id: &EscalationId, now_ms: u64) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let t = inner.outbox.get_mut(id).ok_or_else(|| unknown(id))?;
        if t.entry.state != DeliveryState::Delivered {
            t.entry.state = DeliveryState::Delivered;
            t.entry.attempts += 1;
            t.entry.delivered_ms = Some(now_ms);
            t.updated_ms = now_ms;
        }
        Ok(())
    }

    fn mark_failed(
        &self,
        id: &EscalationId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let t = inner.outbox.get_mut(id).ok_or_else(|| unknown(id))?;
        // Only forward: a delivered ticket stays delivered.
        if t.entry.state != DeliveryState::Delivered {
            t.entry.state = DeliveryState::Pending;
            t.entry.attempts = attempts;
            t.entry.next_attempt_ms = next_attempt_ms;
            t.entry.last_error = Some(error.to_string());
            t.updated_ms = now_ms();
        }
        Ok(())
    }

    fn mark_dead(&self, id: &EscalationId, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let t = inner.outbox.get_mut(id).ok_or_else(|| unknown(id))?;
        if t.entry.state != DeliveryState::Delivered {
            t.entry.state = DeliveryState::Dead;
            t.entry.attempts = attempts;
            t.entry.last_error = Some(error.to_string());
            t.updated_ms = now_ms();
        }
        Ok(())
    }

    fn list(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        let inner = self.lock();
        let mut all: Vec<&OutboxEntry> = inner
            .outbox
            .values()
            .map(|t| &t.entry)
            .filter(|e| state.is_none_or(|s| e.state == s))
            .collect();
        all.sort_by(|a, b| (b.created_ms, &b.ticket.id).cmp(&(a.created_ms, &a.ticket.id)));
        Ok(all.into_iter().take(limit).cloned().collect())
    }

    fn retry(&self, id: &EscalationId, now_ms: u64) -> Result<bool, OutboxError> {
        let mut inner = self.lock();
        let t = inner.outbox.get_mut(id).ok_or_else(|| unknown(id))?;
        if t.entry.state == DeliveryState::Delivered {
            return Ok(false);
        }
        t.entry.state = DeliveryState::Pending;
        t.entry.attempts = 0;
        t.entry.next_attempt_ms = now_ms;
        t.updated_ms = now_ms;
        Ok(true)
    }
}

impl Handovers for MemoryStore {
    fn record_turn_with_events(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
        events: &[ConversationEvent],
    ) -> Result<()> {
        self.record(conversation, turn, handoff, ticket, Some(state), events)
    }

    fn record_activity(
        &self,
        conversation: &ConversationId,
        activity: &Activity,
        handoff: Option<&Handoff>,
        state: Option<&ConversationState>,
        events: &[ConversationEvent],
    ) -> Result<()> {
        let mut inner = self.lock();
        let entry = inner
            .by_id
            .get_mut(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        entry.activity.push(masked_activity(activity));
        entry.conversation.last_ms = entry.conversation.last_ms.max(activity.at_ms);
        if let Some(h) = handoff {
            entry.conversation.handoff = h.clone();
        }
        if let Some(s) = state {
            entry.state = masked_state(s);
        }
        inner.push_events(events);
        Ok(())
    }

    fn activity(&self, conversation: &ConversationId) -> Result<Vec<Activity>> {
        let inner = self.lock();
        let entry = inner
            .by_id
            .get(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        Ok(entry.activity.clone())
    }

    fn first_seen(&self, id: &str, now_ms: u64, forget_before_ms: u64) -> Result<bool> {
        let mut inner = self.lock();
        inner.seen.retain(|_, at| *at >= forget_before_ms);
        if inner.seen.contains_key(id) {
            return Ok(false);
        }
        inner.seen.insert(id.to_string(), now_ms);
        Ok(true)
    }
}

impl EventOutbox for MemoryStore {
    fn due_events(&self, now_ms: u64, limit: usize) -> Result<Vec<EventEntry>, OutboxError> {
        let inner = self.lock();
        let mut heads: Vec<&EventEntry> = Vec::new();
        let mut seen_conversations = std::collections::HashSet::new();
        for e in inner
            .events
            .iter()
            .map(|e| &e.entry)
            .filter(|e| e.state == DeliveryState::Pending)
        {
            // Only the first pending event of a conversation may go.
            if !seen_conversations.insert(e.event.conversation_id.clone()) {
                continue;
            }
            let ticket_pending = inner
                .outbox
                .get(&e.event.ticket_id)
                .is_some_and(|t| t.entry.state == DeliveryState::Pending);
            if e.next_attempt_ms <= now_ms && !ticket_pending {
                heads.push(e);
            }
        }
        heads.sort_by_key(|e| e.created_ms);
        Ok(heads.into_iter().take(limit).cloned().collect())
    }

    fn event_delivered(&self, id: &EventId, now_ms: u64) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let e = inner.event_mut(id)?;
        if e.entry.state != DeliveryState::Delivered {
            e.entry.state = DeliveryState::Delivered;
            e.entry.attempts += 1;
            e.entry.delivered_ms = Some(now_ms);
            e.updated_ms = now_ms;
        }
        Ok(())
    }

    fn event_failed(
        &self,
        id: &EventId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let e = inner.event_mut(id)?;
        if e.entry.state != DeliveryState::Delivered {
            e.entry.state = DeliveryState::Pending;
            e.entry.attempts = attempts;
            e.entry.next_attempt_ms = next_attempt_ms;
            e.entry.last_error = Some(error.to_string());
            e.updated_ms = now_ms();
        }
        Ok(())
    }

    fn event_dead(&self, id: &EventId, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let e = inner.event_mut(id)?;
        if e.entry.state != DeliveryState::Delivered {
            e.entry.state = DeliveryState::Dead;
            e.entry.attempts = attempts;
            e.entry.last_error = Some(error.to_string());
            e.updated_ms = now_ms();
        }
        Ok(())
    }

    fn events_of(&self, conversation: &str) -> Result<Vec<EventEntry>, OutboxError> {
        let inner = self.lock();
        Ok(inner
            .events
            .iter()
            .filter(|e| e.entry.event.conversation_id == conversation)
            .map(|e| e.entry.clone())
            .collect())
    }
}

impl Reports for MemoryStore {
    fn report(&self, q: &ReportQuery) -> Result<Report> {
        let inner = self.lock();
        let mut b: ReportBuilder<&str> = ReportBuilder::new(q);
        let (since, until) = b.window();
        let started = |e: &Entry| e.conversation.started_ms.min(i64::MAX as u64) as i64;
        let window: Vec<&Entry> = inner
            .by_id
            .values()
            .filter(|e| (since..until).contains(&started(e)))
            .collect();
        // Per customer, when each of their conversations started (sorted): "came back
        // within a week" is a binary search, not a scan of every conversation.
        let mut starts: HashMap<&str, Vec<u64>> = HashMap::new();
        for e in inner.by_id.values() {
            if let Some(customer) = &e.conversation.customer.id {
                starts
                    .entry(customer.as_str())
                    .or_default()
                    .push(e.conversation.started_ms);
            }
        }
        for v in starts.values_mut() {
            v.sort_unstable();
        }
        for e in &window {
            let id = e.conversation.id.as_str();
            let (channel, at) = (e.conversation.channel.as_str(), started(e));
            if e.turns.is_empty() {
                b.conversation(id, channel, at, None);
            }
            for (n, t) in e.turns.iter().enumerate() {
                let message = MessageFact {
                    n: n as i64 + 1,
                    outcome: t.outcome.as_str(),
                    language: &t.language,
                    response_ms: t.response_ms.map(i64::from),
                };
                b.conversation(id, channel, at, Some(message));
            }
            for f in &e.feedback {
                match f {
                    Feedback::Helpful { helpful, .. } => b.feedback(&id, Some(*helpful), None),
                    Feedback::Rating(r) => b.feedback(&id, None, Some(i64::from(*r))),
                }
            }
            for a in e
                .activity
                .iter()
                .filter(|a| a.kind == ActivityKind::Message)
            {
                b.agent_message(&id, a.at_ms.min(i64::MAX as u64) as i64);
            }
            // Customers who came back within a week.
            if let Some(customer) = &e.conversation.customer.id {
                let from = e.conversation.started_ms;
                let came_back = starts.get(customer.as_str()).is_some_and(|s| {
                    let next = s.partition_point(|&at| at <= from);
                    s.get(next)
                        .is_some_and(|&at| at <= from.saturating_add(RETURN_WINDOW_MS))
                });
                if came_back {
                    b.returned(&id);
                }
            }
        }
        for t in inner.outbox.values() {
            let e = &t.entry;
            let key = e.ticket.conversation_id.as_str();
            if !b.contains(&key) {
                continue;
            }
            b.ticket(
                &key,
                TicketFact {
                    reason: Some(e.ticket.reason.as_str()),
                    category: Some(&e.ticket.category),
                    priority: Some(e.ticket.priority.as_str()),
                    state: e.state.as_str(),
                    created_ms: e.created_ms.min(i64::MAX as u64) as i64,
                    delivered_ms: e.delivered_ms.map(|d| d.min(i64::MAX as u64) as i64),
                },
            );
        }
        Ok(b.finish())
    }

    fn unanswered(&self, since_ms: u64, until_ms: u64) -> Result<Vec<Unanswered>> {
        let inner = self.lock();
        let mut gaps = Collector::default();
        let in_window = |t: &Turn| (since_ms..until_ms).contains(&t.at_ms);
        let unanswered = |e: &Entry, t: &Turn, reason: GapReason| Unanswered {
            conversation: e.conversation.id.to_string(),
            message: t.id.to_string(),
            at_ms: t.at_ms,
            language: t.language.clone(),
            text: t.text.clone(),
            reason,
            article: t.article.clone(),
        };
        // The conversations whose ticket says the bot was not confident enough.
        let unsure: std::collections::HashSet<&str> = inner
            .outbox
            .values()
            .filter(|t| {
                matches!(
                    t.entry.ticket.reason,
                    Reason::LowConfidence | Reason::RepeatedFallback
                )
            })
            .map(|t| t.entry.ticket.conversation_id.as_str())
            .collect();
        // In the order of precedence of the SQL backends.
        for e in inner.by_id.values() {
            if unsure.contains(e.conversation.id.as_str()) {
                for t in e.turns.iter().filter(|t| in_window(t)) {
                    if matches!(t.outcome, Outcome::Escalate | Outcome::Clarify) {
                        gaps.add(unanswered(e, t, GapReason::Escalated));
                    }
                }
            }
        }
        for e in inner.by_id.values() {
            for f in &e.feedback {
                let Feedback::Helpful {
                    message,
                    helpful: false,
                } = f
                else {
                    continue;
                };
                if let Some(t) = e.turns.iter().find(|t| &t.id == message) {
                    if t.outcome == Outcome::Answer && in_window(t) {
                        gaps.add(unanswered(e, t, GapReason::ThumbsDown));
                    }
                }
            }
        }
        for e in inner.by_id.values() {
            let turns: Vec<&Turn> = e.turns.iter().collect();
            for (i, t) in turns.iter().enumerate() {
                let taken = turns
                    .get(i + 1)
                    .is_some_and(|nx| nx.outcome == Outcome::Answer);
                if t.outcome == Outcome::Clarify && !taken && in_window(t) {
                    gaps.add(unanswered(e, t, GapReason::ChoiceNotTaken));
                }
            }
        }
        Ok(gaps.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{contract, MessageId};

    #[test]
    fn keeps_the_store_contract() {
        contract::check_all(&|| Box::new(MemoryStore::new(1000)));
    }

    fn conversation() -> Conversation {
        Conversation::new(ConversationId::generate(), "web", Customer::default(), 0)
    }

    fn turn() -> Turn {
        Turn {
            id: MessageId::generate(),
            text: "hi".into(),
            reply: "Hello!".into(),
            outcome: crate::store::Outcome::Answer,
            language: "en".into(),
            intent: None,
            article: None,
            confidence: 1.0,
            at_ms: 0,
            response_ms: None,
            client_id: None,
            shown: None,
        }
    }

    #[test]
    fn feedback_needs_a_known_conversation_and_message() {
        let store = MemoryStore::new(10);
        let c = conversation();
        store.create_conversation(c.clone()).unwrap();
        let t = turn();
        store.record_turn(&c.id, t.clone(), None, None).unwrap();
        store
            .add_feedback(
                &c.id,
                Feedback::Helpful {
                    message: t.id.clone(),
                    helpful: true,
                },
            )
            .unwrap();
        let unknown = store.add_feedback(
            &c.id,
            Feedback::Helpful {
                message: MessageId::generate(),
                helpful: true,
            },
        );
        assert!(matches!(unknown, Err(Error::UnknownMessage { .. })));
        let other = ConversationId::generate();
        assert!(matches!(
            store.add_feedback(&other, Feedback::Rating(5)),
            Err(Error::UnknownConversation(_))
        ));
        assert_eq!(store.feedback(&c.id).unwrap().len(), 1);
    }

    #[test]
    fn the_oldest_conversations_are_forgotten_beyond_capacity() {
        let store = MemoryStore::new(2);
        let (a, b, c) = (conversation(), conversation(), conversation());
        for x in [&a, &b, &c] {
            store.create_conversation(x.clone()).unwrap();
        }
        assert!(store.conversation(&a.id).unwrap().is_none());
        assert!(store.conversation(&b.id).unwrap().is_some());
        assert!(store.conversation(&c.id).unwrap().is_some());
    }

    #[test]
    fn ids_from_clients_are_checked() {
        assert!(ConversationId::parse("c_0123abc").is_some());
        assert!(ConversationId::parse("").is_none());
        assert!(ConversationId::parse("a/b").is_none());
        assert!(ConversationId::parse(&"x".repeat(65)).is_none());
    }
}
