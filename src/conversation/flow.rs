//! How a turn meets a flow: starting one from the intent the engine found, stepping a running
//! one with the shopper's message (a slot answered, re-asked, a digression, cancel, a person),
//! and settling the action's result. The flow state machine (`flows::Flows`) decides; this
//! turns its `Step` into the reply, the policy's decision and the state to commit.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{turn_input, Context, Core, Decided};
use crate::engine::{self, Reply};
use crate::escalation::{Decision, Reason, Step as PolicyStep, HUMAN_HANDOFF_INTENT};
use crate::flows::{
    ActionCall, ActionResult, Customer, FlowState, Input, QuickReply, Step, Transition,
};
use crate::intents::IntentId;

/// What a flow did in a turn, for the adapters (quick replies) and `concierge test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowView {
    /// The flow's id.
    pub flow: String,
    /// The flow still runs after this turn.
    pub running: bool,
    /// The slot it asks for now.
    pub asks: Option<String>,
    /// The slots filled so far (of the running flow, or of the one that just ended).
    pub slots: BTreeMap<String, String>,
    /// The quick replies of a choice slot: buttons in the widget, numbered in `chat`.
    pub choices: Vec<QuickReply>,
    /// The action's result when one ran: `found`, `not_found`, `timeout`, `failed`.
    pub action: Option<&'static str>,
}

/// A flow whose action must run before the turn can be finished (outside any lock).
#[derive(Debug, Clone)]
pub(super) struct PendingAction {
    pub call: ActionCall,
    pub state: FlowState,
    pub language: String,
}

/// What the flows make of a message before the policy has spoken.
pub(super) enum Plan {
    /// No flow has anything to do with it: the engine's reply as usual.
    None,
    /// A running flow let a message on another topic through: answered as usual, then its
    /// question asked again.
    Digression(FlowState),
    /// The flow took the message.
    Took(Box<Decided>),
}

impl Core<'_> {
    /// Steps the running flow (`context.state.flow`) with the message; `reply` is the
    /// engine's.
    pub(super) fn plan_flow(
        &self,
        context: &Context,
        text: &str,
        locale_language: Option<&str>,
        reply: &Reply,
        now: Timestamp,
    ) -> Plan {
        let flows = self.engine.flows();
        if flows.is_empty() || context.handoff != crate::escalation::Handoff::Bot {
            return Plan::None;
        }
        let running = context
            .state
            .flow
            .as_ref()
            .and_then(|v| serde_json::from_value::<FlowState>(v.clone()).ok());
        let answered = reply.outcome == engine::Outcome::Answer;
        match running {
            Some(state) => {
                let language = locale_language
                    .map(str::to_string)
                    .or_else(|| state.language.clone())
                    .unwrap_or_else(|| reply.language.clone());
                let flow_intent = flows.get(&state.flow).map(|f| f.intent.clone());
                let input = Input {
                    text,
                    language: &language,
                    // An answer of its own (an article, another intent) that fills no slot,
                    // to a message that reads as a question rather than a wrong value.
                    other_topic: answered
                        && (reply.intent.is_some() || reply.article.is_some())
                        && reply.intent != flow_intent
                        && reads_as_a_question(text),
                    wants_person: answered
                        && reply
                            .intent
                            .as_ref()
                            .is_some_and(|i| i.as_str() == HUMAN_HANDOFF_INTENT),
                };
                let keep = state.clone();
                let t = flows.advance(state, &input);
                match (&t.step, &t.state) {
                    (Step::NotForMe, Some(_)) => Plan::Digression(keep),
                    (Step::NotForMe, None) => Plan::None,
                    _ => match flow_intent {
                        Some(intent) => Plan::Took(Box::new(
                            self.flow_step(context, text, reply, t, intent, language, now),
                        )),
                        None => Plan::None,
                    },
                }
            }
            None => Plan::None,
        }
    }

    /// Starts the flow of the intent the engine answered with, if it has one.
    pub(super) fn start_flow(
        &self,
        context: &Context,
        text: &str,
        locale_language: Option<&str>,
        reply: &Reply,
        now: Timestamp,
    ) -> Plan {
        let flows = self.engine.flows();
        if flows.is_empty() || context.handoff != crate::escalation::Handoff::Bot {
            return Plan::None;
        }
        let answered = reply.outcome == engine::Outcome::Answer;
        let Some(intent) = reply.intent.as_ref().filter(|_| answered) else {
            return Plan::None;
        };
        let language = locale_language
            .map(str::to_string)
            .unwrap_or_else(|| reply.language.clone());
        let customer = Customer {
            email: context.customer.email.as_deref(),
        };
        match flows.start(intent, &Input::new(text, &language), &customer) {
            Some(t) => Plan::Took(Box::new(self.flow_step(
                context,
                text,
                reply,
                t,
                intent.clone(),
                language,
                now,
            ))),
            None => Plan::None,
        }
    }

    /// A flow's step as the turn's reply, decision and new state.
    #[allow(clippy::too_many_arguments)]
    fn flow_step(
        &self,
        context: &Context,
        text: &str,
        engine_reply: &Reply,
        t: Transition,
        intent: IntentId,
        language: String,
        now: Timestamp,
    ) -> Decided {
        let mut state = context.state.clone();
        state.flow = t.state.as_ref().and_then(|s| serde_json::to_value(s).ok());
        let flow_id = t
            .state
            .as_ref()
            .map(|s| s.flow.to_string())
            .or_else(|| {
                self.engine
                    .flows()
                    .for_intent(&intent)
                    .map(|f| f.id.to_string())
            })
            .unwrap_or_default();
        let mut view = FlowView {
            flow: flow_id,
            running: t.state.is_some(),
            asks: None,
            slots: t
                .state
                .as_ref()
                .map(|s| s.slots.clone())
                .unwrap_or_default(),
            choices: Vec::new(),
            action: None,
        };
        let mut reply = flow_reply(engine_reply, &intent, &language, String::new());
        let mut pending = None;
        let mut ticket_slots = BTreeMap::new();
        let decision = match t.step {
            Step::Ask(prompt) => {
                view.asks = Some(prompt.slot);
                view.choices = prompt.choices;
                reply.text = prompt.text;
                bot(&language)
            }
            Step::Run(call) => {
                // Replaced by the action's answer; shown as is only by `Core::alone`, which
                // runs no action.
                reply.text = engine_reply.text.clone();
                pending = Some(PendingAction {
                    call,
                    state: t
                        .state
                        .clone()
                        .expect("a flow that runs its action goes on"),
                    language: language.clone(),
                });
                bot(&language)
            }
            Step::Finished(done) => {
                reply.text = done.text;
                view.slots = done.slots;
                bot(&language)
            }
            Step::Cancelled { text } => {
                reply.text = text;
                bot(&language)
            }
            Step::Escalate { text: said, slots } => {
                let person = crate::flows::wants_person(text)
                    || engine_reply.intent.as_ref().map(IntentId::as_str)
                        == Some(HUMAN_HANDOFF_INTENT);
                let reason = if person {
                    Reason::HumanRequested
                } else {
                    Reason::RepeatedFallback
                };
                view.slots = slots.clone();
                let customer = self.customer_with_slots(context, &view.flow, &slots);
                ticket_slots = slots;
                let mut input = turn_input(context, text, &reply, now);
                input.language = &language;
                input.customer = &customer;
                self.policy.escalate(&input, reason, said)
            }
            // Not reached: a digression is planned apart.
            Step::NotForMe => bot(&language),
        };
        if decision.step != PolicyStep::Bot && !ticket_slots.is_empty() {
            state.handover_slots = ticket_slots.clone();
        }
        Decided {
            reply,
            decision,
            follow_up: false,
            state,
            flow: Some(view),
            ticket_slots,
            pending,
        }
    }

    /// The action's result into the pending turn: the answer, or the flow's apology and,
    /// when the flow says so, a hand-over with the slots.
    pub(super) fn finish_flow(
        &self,
        context: &Context,
        text: &str,
        decided: &mut Decided,
        pending: PendingAction,
        result: &ActionResult,
        now: Timestamp,
    ) {
        let done = self
            .engine
            .flows()
            .finish(pending.state, result, &pending.language);
        decided.state.flow = None;
        decided.reply.text = done.text.clone();
        if let Some(view) = &mut decided.flow {
            view.running = false;
            view.asks = None;
            view.slots = done.slots.clone();
            view.action = Some(done.result);
        }
        if done.escalate {
            let customer =
                self.customer_with_slots(context, pending.call.flow.as_str(), &done.slots);
            let mut input = turn_input(context, text, &decided.reply, now);
            input.language = &pending.language;
            input.customer = &customer;
            decided.decision = self.policy.escalate(&input, Reason::FlowFailed, done.text);
            if decided.decision.step != PolicyStep::Bot {
                decided.state.handover_slots = done.slots.clone();
            }
            decided.ticket_slots = done.slots;
        }
    }

    /// The customer, with the address the shopper gave the flow when the shop knows none:
    /// outside business hours the hand-over then asks for a message, not an address again.
    fn customer_with_slots(
        &self,
        context: &Context,
        flow: &str,
        slots: &BTreeMap<String, String>,
    ) -> crate::store::Customer {
        let mut customer = context.customer.clone();
        if customer
            .email
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
        {
            let flows = self.engine.flows();
            let email = flows.iter().find(|f| f.id.as_str() == flow).and_then(|f| {
                f.slots
                    .iter()
                    .filter(|s| matches!(s.kind, crate::flows::SlotKind::Email))
                    .find_map(|s| slots.get(&s.name))
            });
            if let Some(email) = email {
                customer.email = Some(email.clone());
            }
        }
        customer
    }

    /// After a digression answered as usual: the flow's question again, after the answer.
    pub(super) fn resume_flow(&self, decided: &mut Decided, state: FlowState, language: &str) {
        let language = state
            .language
            .clone()
            .unwrap_or_else(|| language.to_string());
        if decided.decision.step != PolicyStep::Bot {
            // Handed over mid-flow: the flow ends, its slots go with the ticket.
            decided.state.flow = None;
            decided.state.handover_slots = state.slots.clone();
            decided.ticket_slots = state.slots.clone();
            decided.flow = Some(FlowView {
                flow: state.flow.to_string(),
                running: false,
                asks: None,
                slots: state.slots,
                choices: Vec::new(),
                action: None,
            });
            return;
        }
        let flows = self.engine.flows();
        let prompt = flows.resume(&state, &language);
        let mut view = FlowView {
            flow: state.flow.to_string(),
            running: true,
            asks: None,
            slots: state.slots.clone(),
            choices: Vec::new(),
            action: None,
        };
        if let Some(p) = prompt {
            decided.reply.text = format!("{}\n\n{}", decided.reply.text, p.text);
            view.asks = Some(p.slot);
            view.choices = p.choices;
        }
        decided.state.flow = serde_json::to_value(&state).ok();
        decided.flow = Some(view);
    }
}

/// The reply a flow gives: its intent, certain, in the flow's language, no suggestions.
/// A short message with a number in it ("es el 12", "it's 1042") is a try at the slot, even
/// when the engine finds something to say about it (a delivery time that mentions 12 days);
/// a longer one, or one with no number, may be a question on another topic.
fn reads_as_a_question(text: &str) -> bool {
    const SHORT: usize = 4;
    let words: Vec<String> = crate::nlu::words(text).collect();
    let numbers = words.iter().any(|w| w.chars().any(|c| c.is_ascii_digit()));
    !numbers || words.len() >= SHORT
}

/// The message that starts the flow keeps the engine's confidence and the intent's article
/// link ("Read more: Tracking your order" under the question).
fn flow_reply(engine_reply: &Reply, intent: &IntentId, language: &str, text: String) -> Reply {
    let starts = engine_reply.intent.as_ref() == Some(intent);
    Reply {
        outcome: engine::Outcome::Answer,
        language: language.to_string(),
        intent: Some(intent.clone()),
        article: engine_reply.article.clone().filter(|_| starts),
        // Otherwise the flow, not the engine, took the message: what it asks or says is not
        // a guess.
        confidence: if starts { engine_reply.confidence } else { 1.0 },
        text,
        suggestions: Vec::new(),
        link: engine_reply.link.clone().filter(|_| starts),
        fallback: false,
        escalation: None,
    }
}

/// The bot keeps the conversation: no trigger is asked about a message the flow took ("12"
/// is not a low-confidence question, it is a wrong order number).
fn bot(language: &str) -> Decision {
    Decision {
        step: PolicyStep::Bot,
        text: None,
        handoff: None,
        ticket: None,
        language: language.to_string(),
        dialogue: false,
    }
}
