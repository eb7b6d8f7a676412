//! Where a turn is decided: a shopper's message goes in, one typed [`Turned`] comes out, and
//! the conversation's store commit goes with it.
//!
//! ```text
//! message ─ context (hand-over state, turns, feedback, topic: one read of the store)
//!         ─ engine (`Engine::ask`, or `ask_follow_up` with the previous topic)
//!         ─ the editors' notices on the answer's topic, prepended (`Engine::prepend_notices`)
//!         ─ escalation policy (triggers, the leave-a-message dialogue)
//!         ─ Turned { outcome, escalation, reply, handoff, ticket }
//!         ─ ONE store transaction: turn + hand-over state + ticket + conversation state
//! ```
//!
//! The adapters are thin: `http` validates the request, takes the conversation's turn lock
//! and a core's permit, and calls [`Core::take_turn`] on a blocking thread; `chat` calls the
//! same over a [`crate::store::MemoryStore`]; `ask` and `eval` have no conversation and call
//! [`Core::alone`] / [`Core::settle_alone`], which apply the single-message triggers (a
//! request for a person, abuse and frustration words, intents marked `escalate: true`, low
//! confidence) through the same policy. So every way in decides a message identically.
//!
//! Synchronous on purpose: the engine searches tantivy and the store blocks.
//!
//! Flows (`flows/`, multi-turn slot filling) plug in here (`flow.rs`): a running flow's state
//! is [`ConversationState::flow`], loaded before the turn ([`Context::state`]) and committed
//! with it; it takes the message once the engine has read it (the engine says whether it is
//! a question on another topic). A flow's action runs between [`Core::begin_turn`] and
//! [`Core::complete_turn`], outside the store and off the core's permit.
//!
//! A message the client named ([`Message::client_id`]) is taken once per conversation: a
//! retry of one whose turn is stored is answered with that turn (`replay.rs`), decided and
//! stored again never.

mod driver;
mod flow;
mod replay;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;

use crate::engine::{self, Engine, Question, Reply};
use crate::escalation::{
    build_ticket, suggested_articles, Decision, EarlierConversation, Handoff, Policy, Reason, Step,
    Ticket, TicketContext, TurnInput,
};
use crate::flows::{ActionCall, ActionResult};
use crate::locale::{Language, Locale};
use crate::nlu::words;
use crate::store::{
    self, ClientMessageId, Conversation, ConversationId, ConversationState, EscalationId, Feedback,
    MessageId, Store, Topic, Turn,
};

pub use crate::store::Outcome;
pub use driver::TestDriver;
pub use flow::FlowView;

/// Earlier conversations of the same customer that a ticket carries.
const EARLIER_CONVERSATIONS: usize = 5;

/// A follow-up has at most this many words: longer messages say what they are about.
const FOLLOW_UP_MAX_WORDS: usize = 6;

/// A message the engine answers on its own is still read as a follow-up when it has at most
/// this many search terms (after stop words) and they land in the previous topic: "and to
/// Canada?" is one term, "how do I return my boots?" two.
const FOLLOW_UP_MAX_TERMS: usize = 1;

/// The engine and the policy a turn is decided with (the store is given per call).
#[derive(Clone, Copy)]
pub struct Core<'a> {
    pub engine: &'a Engine,
    pub policy: &'a Policy,
}

/// One shopper message, already checked by the adapter.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// What the shopper wrote, personal data masked.
    pub text: &'a str,
    /// The language the channel suggests.
    pub locale: Option<Locale>,
    /// `Engine::embed_question` of it when the adapter embedded it beforehand (`Some(None)`:
    /// the model does not cover its language); `None`: the core embeds it.
    pub embedding: Option<Option<&'a [f32]>>,
    /// The time the editors' notices are shown for (the HTTP adapter's clock); `None`: now.
    pub notices_at: Option<Timestamp>,
    /// When the message arrived at the adapter: the turn records how long the reply took
    /// (`Turn::response_ms`); `None`: not measured.
    pub received: Option<Instant>,
    /// The id the client gave the message: a retry with it in the same conversation is
    /// answered with the turn stored for it. `None`: every attempt is a new message.
    pub client_id: Option<ClientMessageId>,
}

impl<'a> Message<'a> {
    pub fn new(text: &'a str) -> Self {
        Message {
            text,
            locale: None,
            embedding: None,
            notices_at: None,
            received: None,
            client_id: None,
        }
    }

    /// The id the client gave the message (`client_message_id`), to recognise its retries.
    pub fn with_client_id(mut self, id: Option<ClientMessageId>) -> Self {
        self.client_id = id;
        self
    }

    pub fn with_locale(mut self, locale: Option<Locale>) -> Self {
        self.locale = locale;
        self
    }

    /// The message's `Engine::embed_question`, computed by the caller.
    pub fn with_embedding(mut self, embedding: Option<&'a [f32]>) -> Self {
        self.embedding = Some(embedding);
        self
    }

    /// The time the notices are shown for (`AppState::now` in the HTTP adapter).
    pub fn with_notices_at(mut self, at: Timestamp) -> Self {
        self.notices_at = Some(at);
        self
    }

    /// When the message arrived, to measure the response time from.
    pub fn with_received(mut self, received: Instant) -> Self {
        self.received = Some(received);
        self
    }
}

/// Which conversation a message belongs to.
#[derive(Debug, Clone)]
pub enum Start {
    /// A conversation the client named; it must exist.
    Existing(ConversationId),
    /// A new one, created with this first turn in the same transaction.
    New(Conversation),
}

/// What a conversation is before a turn: everything the decision reads.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Earlier turns, oldest first.
    pub turns: Vec<Turn>,
    pub feedback: Vec<Feedback>,
    pub handoff: Handoff,
    pub customer: store::Customer,
    pub state: ConversationState,
}

/// What one message came to: the one typed result every adapter shows.
#[derive(Debug, Clone)]
pub struct Turned {
    /// What the shopper sees: `Answer`, `Clarify` or `Escalate` (never `Handoff`, which is
    /// only recorded).
    pub outcome: Outcome,
    /// Why the conversation is being handed to a person, once a trigger fired.
    pub escalation: Option<Reason>,
    /// The reply as shown: the policy's text in place of the engine's when the hand-over
    /// dialogue speaks, and then no "did you mean" choices.
    pub reply: Reply,
    pub language: Language,
    /// The hand-over state after this message.
    pub handoff: Handoff,
    /// The ticket committed with the turn (never for a message alone).
    pub ticket: Option<Ticket>,
    /// The message was understood with the previous topic.
    pub follow_up: bool,
    /// The policy's step (for the adapters' logs and the tests).
    pub step: Step,
    /// What a flow did with this message (asked, re-asked, answered, cancelled, handed
    /// over); `None` when no flow was involved.
    pub flow: Option<FlowView>,
}

/// A turn recorded in a conversation.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub conversation: ConversationId,
    pub message: MessageId,
    pub turned: Turned,
    /// The conversation's own token, issued with its first turn only (`handover::access`):
    /// what reads its history later.
    pub access_token: Option<String>,
    /// A retry of a message the client named whose turn was already stored: this is that
    /// turn's answer, and nothing was decided or written now.
    pub replayed: bool,
}

/// What [`Core::decide`] works out, before anything is written.
struct Decided {
    reply: Reply,
    decision: Decision,
    follow_up: bool,
    state: ConversationState,
    flow: Option<FlowView>,
    /// A flow's slots for the ticket this turn creates.
    ticket_slots: BTreeMap<String, String>,
    /// A flow's action to run before the turn is finished.
    pending: Option<flow::PendingAction>,
}

/// A turn decided but not yet committed: [`Core::begin_turn`]'s result. When it holds an
/// action ([`PendingTurn::action`]), the adapter runs it outside any lock and hands the
/// result to [`Core::complete_turn`].
pub struct PendingTurn(Pending);

enum Pending {
    /// A retry of a turn already stored: its answer, nothing to commit.
    Replay(Box<Recorded>),
    Open(Box<OpenTurn>),
}

/// A turn decided, to be committed.
struct OpenTurn {
    /// The store's turn lock of an existing conversation, held until the commit (see
    /// [`Store::lock_turns`]).
    _serialized: Option<store::TurnLock>,
    conversation: Conversation,
    context: Context,
    is_new: bool,
    /// The ticket of a conversation already handed over: this message goes to the helpdesk.
    handed_over: Option<EscalationId>,
    text: String,
    received: Option<Instant>,
    client_id: Option<ClientMessageId>,
    now: Timestamp,
    decided: Decided,
}

impl PendingTurn {
    /// The flow's action this turn waits for, if any.
    pub fn action(&self) -> Option<&ActionCall> {
        match &self.0 {
            Pending::Open(open) => open.decided.pending.as_ref().map(|p| &p.call),
            Pending::Replay(_) => None,
        }
    }
}

impl<'a> Core<'a> {
    pub fn new(engine: &'a Engine, policy: &'a Policy) -> Self {
        Core { engine, policy }
    }

    /// A message in a conversation: loads its context, decides, and commits in ONE store
    /// transaction the turn, the new hand-over state, the ticket (if any) and the
    /// conversation's state, so a ticket exists before the shopper sees the reply.
    /// `before_commit` runs once the answer is computed, before the commit is waited for (the
    /// HTTP adapter gives its core permit back there). A flow's action runs through `actions`
    /// between deciding and committing (the HTTP adapter splits the turn with
    /// [`Core::begin_turn`] and [`Core::complete_turn`] to run it on the async runtime). The
    /// caller serializes the messages of one conversation in its process; other processes on
    /// the same database wait for the store's turn lock ([`Store::lock_turns`]), taken before
    /// the conversation is read and held until the commit. Blocking.
    pub fn take_turn(
        &self,
        store: &dyn Store,
        start: Start,
        message: &Message<'_>,
        before_commit: impl FnOnce(),
        actions: &mut dyn FnMut(&ActionCall) -> ActionResult,
    ) -> Result<Recorded, store::Error> {
        let pending = self.begin_turn(store, start, message)?;
        let result = pending.action().map(actions);
        self.complete_turn(store, pending, result, before_commit)
    }

    /// The first half of [`Core::take_turn`]: takes the store's turn lock of an existing
    /// conversation, reads it and decides. Nothing is written. A message whose client id
    /// names a turn already stored in the conversation is not decided: the pending turn is
    /// that turn's answer, which [`Core::complete_turn`] returns as it is. When a flow's action must run,
    /// [`PendingTurn::action`] says which; the caller runs it (with no core permit and no
    /// store transaction; the conversation's turn lock stays held, so its next message sees
    /// the result) and passes the result to [`Core::complete_turn`]. Blocking.
    pub fn begin_turn(
        &self,
        store: &dyn Store,
        start: Start,
        message: &Message<'_>,
    ) -> Result<PendingTurn, store::Error> {
        // Another process's turn of this conversation (a replica on the same database)
        // finishes before this one reads the conversation, and waits for this commit.
        let serialized = match &start {
            Start::Existing(id) => Some(store.lock_turns(id)?),
            Start::New(_) => None,
        };
        let (conversation, context, is_new) = match start {
            Start::Existing(id) => {
                let conversation = store
                    .conversation(&id)?
                    .ok_or_else(|| store::Error::UnknownConversation(id.clone()))?;
                let turns = store.turns(&id)?;
                // A retry: the first attempt's turn is stored (read under the turn lock, so
                // an attempt being decided elsewhere has committed or rolled back by now).
                if let Some(done) = message
                    .client_id
                    .as_ref()
                    .and_then(|c| turns.iter().find(|t| t.client_id.as_ref() == Some(c)))
                {
                    let recorded = replay::replay(&id, done, &conversation.handoff);
                    return Ok(PendingTurn(Pending::Replay(Box::new(recorded))));
                }
                let context = Context {
                    turns,
                    feedback: store.feedback(&id)?,
                    handoff: conversation.handoff.clone(),
                    customer: conversation.customer.clone(),
                    state: store.state(&id)?.unwrap_or_default(),
                };
                (conversation, context, false)
            }
            Start::New(conversation) => {
                let context = Context {
                    handoff: conversation.handoff.clone(),
                    customer: conversation.customer.clone(),
                    ..Context::default()
                };
                (conversation, context, true)
            }
        };
        let now = Timestamp::now();
        // Handed over: people have the conversation (issue 13). The shopper's message goes to
        // the helpdesk as an event with the turn, and while an agent is there the bot is silent.
        let handed_over = crate::handover::handed_over_ticket(&context.handoff);
        let agent_present = match handed_over {
            Some(_) => crate::handover::agent_present(&store.activity(&conversation.id)?),
            None => false,
        };
        let mut decided = self.decide(&context, message, now);
        if agent_present {
            crate::handover::silence(&mut decided.decision);
            // No flow action runs while a person has the conversation.
            decided.pending = None;
        }
        Ok(PendingTurn(Pending::Open(Box::new(OpenTurn {
            _serialized: serialized,
            conversation,
            context,
            is_new,
            handed_over,
            text: message.text.to_string(),
            received: message.received,
            client_id: message.client_id.clone(),
            now,
            decided,
        }))))
    }

    /// The second half of [`Core::take_turn`]: the action's result (when the turn waited
    /// for one; `None` otherwise) into the reply, then ONE store transaction: the turn, the
    /// hand-over state, the ticket and the conversation's state. `before_commit` runs once the
    /// answer is computed, before the commit is waited for. Blocking.
    pub fn complete_turn(
        &self,
        store: &dyn Store,
        pending: PendingTurn,
        result: Option<ActionResult>,
        before_commit: impl FnOnce(),
    ) -> Result<Recorded, store::Error> {
        let open = match pending.0 {
            Pending::Replay(recorded) => {
                before_commit();
                return Ok(*recorded);
            }
            Pending::Open(open) => *open,
        };
        let OpenTurn {
            _serialized,
            conversation,
            context,
            is_new,
            handed_over,
            text,
            received,
            client_id,
            now,
            mut decided,
        } = open;
        if let Some(action) = decided.pending.take() {
            let result = result.unwrap_or(ActionResult::Failed {
                status: None,
                reason: "the action did not run".into(),
            });
            self.finish_flow(&context, &text, &mut decided, action, &result, now);
        }
        let Decided {
            reply,
            decision,
            follow_up,
            mut state,
            flow,
            ticket_slots,
            ..
        } = decided;
        // A new conversation gets its own token; only its hash is kept, with the first turn.
        let access_token = is_new.then(|| {
            let (token, hash) = crate::handover::access::issue();
            state.access = Some(hash);
            token
        });
        let id = MessageId::generate();
        let mut turn = Turn {
            id: id.clone(),
            text: text.clone(),
            reply: decision.text(&reply).to_string(),
            outcome: decision.recorded_outcome(&reply),
            language: decision.language.clone(),
            intent: reply.intent.as_ref().map(|i| i.to_string()),
            article: reply.article.as_ref().map(|a| a.to_string()),
            confidence: reply.confidence,
            at_ms: now.as_millisecond().max(0) as u64,
            response_ms: received
                .map(|r| u32::try_from(r.elapsed().as_millis()).unwrap_or(u32::MAX)),
            client_id,
            shown: None,
        };
        let ticket = match &decision.ticket {
            None => None,
            Some(draft) => {
                let history = match &conversation.customer.id {
                    Some(customer) => {
                        store.customer_history(customer, &conversation.id, EARLIER_CONVERSATIONS)?
                    }
                    None => Vec::new(),
                };
                let earlier: Vec<EarlierConversation<'_>> = history
                    .iter()
                    .map(|(c, t)| EarlierConversation {
                        conversation: c,
                        turns: t,
                    })
                    .collect();
                let mut all = context.turns;
                all.push(turn.clone());
                let kb = self.engine.knowledge_base();
                let suggested = suggested_articles(&reply, |id| {
                    kb.get(id).map(|a| self.engine.link(a, "").url)
                });
                let mut ticket = build_ticket(
                    draft,
                    &TicketContext {
                        conversation: &conversation,
                        turns: &all,
                        earlier: &earlier,
                        suggested_articles: &suggested,
                        now,
                    },
                );
                // A flow's slots: from this turn, or kept while the dialogue asked for an
                // address and a message.
                ticket.slots = if ticket_slots.is_empty() {
                    std::mem::take(&mut state.handover_slots)
                } else {
                    ticket_slots
                };
                Some(ticket)
            }
        };
        let handoff = decision.handoff.clone();
        let mut turned = settle(reply, decision, context.handoff, ticket, follow_up);
        turned.flow = flow;
        if turned.handoff == Handoff::Bot || turned.ticket.is_some() {
            state.handover_slots.clear();
        }
        if turn.client_id.is_some() {
            turn.shown = Some(replay::shown(&turned));
        }
        // The answer is computed; waiting for the commit (a group commit may be syncing to
        // disk) must not keep another message from being answered.
        before_commit();
        let conversation_id = conversation.id.clone();
        let committed = if is_new {
            store.record_first_turn_with_state(
                conversation,
                turn,
                handoff.as_ref(),
                turned.ticket.as_ref(),
                &state,
            )
        } else if let Some(ticket) = handed_over {
            let event = crate::handover::message_event(&conversation_id, &ticket, &text, now);
            store.record_turn_with_events(
                &conversation_id,
                turn,
                handoff.as_ref(),
                turned.ticket.as_ref(),
                &state,
                &[event],
            )
        } else {
            store.record_turn_with_state(
                &conversation_id,
                turn,
                handoff.as_ref(),
                turned.ticket.as_ref(),
                &state,
            )
        };
        match committed {
            Ok(()) => Ok(Recorded {
                conversation: conversation_id,
                message: id,
                turned,
                access_token,
                replayed: false,
            }),
            // Another attempt of this message committed first (a process that shares the
            // store without sharing its turn lock): nothing of this one was written, and the
            // shopper is answered with what was.
            Err(store::Error::DuplicateClientMessage {
                conversation,
                client_id,
            }) => stored_answer(store, &conversation, &client_id),
            Err(e) => Err(e),
        }
    }

    /// A message alone, with no conversation (`ask`, `eval`): the engine, then the policy's
    /// single-message triggers, exactly as the service decides a conversation's first message.
    /// Writes nothing.
    pub fn alone(&self, message: &Message<'_>) -> Turned {
        let Decided {
            reply,
            decision,
            follow_up,
            flow,
            pending,
            ..
        } = self.decide(&Context::default(), message, Timestamp::now());
        let mut turned = settle(reply, decision, Handoff::Bot, None, follow_up);
        // A flow's first question is shown; a flow that would run its action at once (the
        // message filled every slot) does not run it with no conversation to answer in.
        if pending.is_none() {
            turned.flow = flow;
        }
        turned
    }

    /// [`Core::alone`] for a reply the caller already has from the engine (`eval` ranks its
    /// questions itself, to keep their features).
    pub fn settle_alone(&self, text: &str, reply: Reply) -> Turned {
        let context = Context::default();
        let decision = self
            .policy
            .decide(&turn_input(&context, text, &reply, Timestamp::now()));
        settle(reply, decision, Handoff::Bot, None, false)
    }

    /// Decides a message in its context; pure apart from the engine's search.
    ///
    /// The engine answers first; a follow-up that makes no sense alone is asked again with
    /// the previous topic ([`Core::follow_up`]). A running flow then takes the message, or
    /// lets a digression through; the policy decides on the reply; an intent with a flow
    /// starts it. The new state keeps the topic of an answer and the flow's state.
    fn decide(&self, context: &Context, message: &Message<'_>, now: Timestamp) -> Decided {
        let engine = self.engine;
        let question = Question::new(message.text).with_locale_hint(message.locale.clone());
        // `Engine::ask_embedded`, keeping the analysis for the follow-up test.
        let computed;
        let embedding = match message.embedding {
            Some(given) => given,
            None => {
                computed = engine.embed_question(&question);
                computed.as_deref()
            }
        };
        let mut analysis = engine.retrieve_message(&question, embedding);
        let cal = *engine.calibration_for(&analysis);
        engine.rank(&mut analysis, &cal);
        let mut reply = engine.decide(&analysis);
        let mut follow_up = false;
        let mut topic_question = None;
        if context.handoff == Handoff::Bot {
            if let Some(topic) = &context.state.topic {
                if let Some(better) = self.follow_up(message, &analysis, &reply, topic) {
                    reply = better;
                    follow_up = true;
                    topic_question = Some(topic.question.clone());
                }
            }
        }
        // Notices (issue 15): the editors' active notices on the answer's topic go before it,
        // in what the shopper sees and in what is recorded, whatever the policy does next.
        engine.prepend_notices(&mut reply, message.notices_at.unwrap_or(now));
        // A running flow takes the message first (a slot's answer, cancel, a person); a
        // question on another topic goes on as usual and the flow asks again after it.
        let locale_language = message.locale.as_ref().map(|l| l.language());
        let digression = match self.plan_flow(context, message.text, locale_language, &reply, now) {
            flow::Plan::Took(decided) => return *decided,
            flow::Plan::Digression(state) => Some(state),
            flow::Plan::None => None,
        };
        let decision = self
            .policy
            .decide(&turn_input(context, message.text, &reply, now));
        if digression.is_none() && decision.step == Step::Bot {
            // An intent with a flow starts it (pre-filled from the message and the customer).
            if let flow::Plan::Took(decided) =
                self.start_flow(context, message.text, locale_language, &reply, now)
            {
                return *decided;
            }
        }
        let mut state = context.state.clone();
        if context.handoff == Handoff::Bot && digression.is_none() {
            // A flow state that no longer parses (or whose flow is gone) ends here.
            state.flow = None;
        }
        state.topic = if decision.step == Step::Bot {
            self.topic(
                &reply,
                topic_question.unwrap_or_else(|| message.text.to_string()),
            )
        } else {
            None
        };
        let mut decided = Decided {
            reply,
            decision,
            follow_up,
            state,
            flow: None,
            ticket_slots: BTreeMap::new(),
            pending: None,
        };
        if let Some(running) = digression {
            let language = decided.decision.language.clone();
            self.resume_flow(&mut decided, running, &language);
        }
        decided
    }

    /// The reply to `message` understood with the previous `topic`, when the message makes no
    /// sense alone. It must be short and certain of nothing (no intent's pattern). Then:
    /// - the engine found no answer of its own: asked together with the topic's question,
    ///   any answer will do;
    /// - the engine answered something else, but the message's few words also land in the
    ///   topic's article ("and to Canada?" after a question on delivery times: the article
    ///   has a section on Canada): asked together, it must answer the same topic.
    fn follow_up(
        &self,
        message: &Message<'_>,
        alone: &engine::Analysis,
        reply: &Reply,
        topic: &Topic,
    ) -> Option<Reply> {
        let n = words(message.text).count();
        if n == 0 || n > FOLLOW_UP_MAX_WORDS || !alone.pattern_hits.is_empty() {
            return None;
        }
        let same_topic = |article: Option<&crate::kb::ArticleId>| {
            let (Some(a), Some(t)) = (article, topic.article.as_ref()) else {
                return false;
            };
            a.path_without_locale() == t.path_without_locale()
        };
        let answered = reply.outcome == engine::Outcome::Answer;
        if answered {
            let terms = alone.candidates.first().map_or(0, |c| c.n_terms);
            let lands_in_topic = alone
                .candidates
                .iter()
                .any(|c| same_topic(self.engine.target_ids(c.target).0));
            if terms > FOLLOW_UP_MAX_TERMS || !lands_in_topic || same_topic(reply.article.as_ref())
            {
                return None;
            }
        }
        let hint = message
            .locale
            .clone()
            .or_else(|| topic.language.parse().ok());
        let question = Question::new(message.text).with_locale_hint(hint);
        let better = self.engine.ask_follow_up(&question, alone, &topic.question);
        let fits = better.outcome == engine::Outcome::Answer
            && (!answered || same_topic(better.article.as_ref()));
        fits.then_some(better)
    }

    /// What an answer was about, to understand a follow-up with; `None` for anything but an
    /// answer about the shop (small talk says nothing about a topic).
    fn topic(&self, reply: &Reply, question: String) -> Option<Topic> {
        if reply.outcome != engine::Outcome::Answer {
            return None;
        }
        let small_talk = reply.intent.as_ref().is_some_and(|id| {
            self.engine
                .intents()
                .iter()
                .any(|i| &i.id == id && (i.builtin || i.escalate))
        });
        if small_talk || (reply.article.is_none() && reply.intent.is_none()) {
            return None;
        }
        Some(Topic {
            question,
            article: reply.article.clone(),
            intent: reply.intent.clone(),
            language: reply.language.clone(),
        })
    }
}

/// The answer stored for the message `client_id` of `conversation`.
fn stored_answer(
    store: &dyn Store,
    conversation: &ConversationId,
    client_id: &ClientMessageId,
) -> Result<Recorded, store::Error> {
    let handoff = store
        .conversation(conversation)?
        .ok_or_else(|| store::Error::UnknownConversation(conversation.clone()))?
        .handoff;
    store
        .turns(conversation)?
        .iter()
        .find(|t| t.client_id.as_ref() == Some(client_id))
        .map(|t| replay::replay(conversation, t, &handoff))
        .ok_or_else(|| store::Error::DuplicateClientMessage {
            conversation: conversation.clone(),
            client_id: client_id.clone(),
        })
}

fn turn_input<'c>(
    context: &'c Context,
    text: &'c str,
    reply: &'c Reply,
    now: Timestamp,
) -> TurnInput<'c> {
    TurnInput {
        text,
        reply,
        turns: &context.turns,
        feedback: &context.feedback,
        handoff: &context.handoff,
        customer: &context.customer,
        language: &reply.language,
        now,
    }
}

/// The one typed result of a decided message: the outcome shown, the reason of a hand-over,
/// the reply as shown.
fn settle(
    mut reply: Reply,
    decision: Decision,
    before: Handoff,
    ticket: Option<Ticket>,
    follow_up: bool,
) -> Turned {
    let handoff = decision.handoff.clone().unwrap_or(before);
    if let Some(text) = &decision.text {
        reply.text = text.clone();
    }
    let engine_outcome = match reply.outcome {
        engine::Outcome::Answer => Outcome::Answer,
        engine::Outcome::Clarify => Outcome::Clarify,
        engine::Outcome::Escalate => Outcome::Escalate,
    };
    let (outcome, escalation) = match decision.step {
        Step::Bot => (engine_outcome, None),
        step => {
            // The dialogue speaks now: no "did you mean" choices under it.
            reply.suggestions.clear();
            let reason = match (&ticket, &handoff) {
                (Some(t), _) => Some(t.reason),
                (
                    None,
                    Handoff::AwaitingEmail { reason, .. } | Handoff::AwaitingMessage { reason, .. },
                ) => Some(*reason),
                _ => decision.ticket.as_ref().map(|d| d.reason),
            };
            let outcome = if step == Step::Cancelled {
                Outcome::Answer
            } else {
                Outcome::Escalate
            };
            (outcome, reason)
        }
    };
    let language = decision
        .language
        .parse()
        .or_else(|_| reply.language.parse())
        .unwrap_or_else(|_| Language::english());
    Turned {
        outcome,
        escalation,
        reply,
        language,
        handoff,
        ticket,
        follow_up,
        step: decision.step,
        flow: None,
    }
}
