//! The state machine: given where a flow stands and the shopper's message, what comes next.
//! Pure: no I/O, no clock, never fails. An unknown flow (removed by a reload) simply ends.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::action::ActionResult;
use super::exec::ActionCall;
use super::slots::{folded, Invalid, SlotKind};
use super::template::{Escape, Values};
use super::{localized, CustomerField, Flow, FlowId, Flows, Localized, Outcome, Slot};
use crate::intents::IntentId;

/// Where a flow stands; the core stores it with the conversation between turns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowState {
    pub flow: FlowId,
    /// The slots filled so far.
    #[serde(default)]
    pub slots: BTreeMap<String, String>,
    /// The slot last asked for; `None` while the action runs.
    #[serde(default)]
    pub asking: Option<String>,
    /// Invalid answers to the slot being asked.
    #[serde(default)]
    pub attempts: u32,
    /// The language the flow started in: its questions stay in it when a short answer
    /// ("10423", an address) says nothing about a language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The shopper's message, as the core understood it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub text: &'a str,
    /// The language of the reply (`en`, `es`, `pt`, `nl`).
    pub language: &'a str,
    /// The engine would answer this message confidently with something other than the
    /// flow's own intent: if it fills no slot, it is a question on another topic.
    pub other_topic: bool,
    /// The engine read it as a request for a person (the `human_handoff` intent).
    pub wants_person: bool,
}

impl<'a> Input<'a> {
    pub fn new(text: &'a str, language: &'a str) -> Input<'a> {
        Input {
            text,
            language,
            other_topic: false,
            wants_person: false,
        }
    }
}

/// What the shop knows about the customer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Customer<'a> {
    pub email: Option<&'a str>,
}

/// A quick reply: a button in the widget, a numbered option in `chat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// What the button shows and sends.
    pub label: String,
    /// The value the slot takes.
    pub value: String,
}

/// A question for the shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub slot: String,
    pub text: String,
    pub choices: Vec<QuickReply>,
    /// Asked again because the last answer was not valid.
    pub reask: bool,
}

/// The flow is over: the answer (or apology) and whether to hand over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub text: String,
    pub escalate: bool,
    /// `found`, `not_found`, `timeout`, `failed`.
    pub result: &'static str,
    /// The slots, for the ticket.
    pub slots: BTreeMap<String, String>,
}

/// What the core does next.
#[derive(Debug, Clone)]
pub enum Step {
    /// Ask (or ask again) for a slot.
    Ask(Prompt),
    /// Run the action outside any lock, then call `Flows::finish` with its result.
    Run(ActionCall),
    /// The flow answered (or apologized); it is over.
    Finished(Finished),
    /// The shopper left the flow.
    Cancelled { text: String },
    /// Hand over to a person, with the slots collected so far (for the ticket).
    Escalate {
        text: String,
        slots: BTreeMap<String, String>,
    },
    /// Not an answer to the flow: answer the message as usual, keep the state, and then
    /// `Flows::resume` asks the question again.
    NotForMe,
}

/// The state to keep (`None`: the flow is over) and what to do now.
#[derive(Debug, Clone)]
pub struct Transition {
    pub state: Option<FlowState>,
    pub step: Step,
}

/// The phrases and sentences every flow shares (`texts.yaml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextsDef {
    cancel: BTreeMap<String, Vec<String>>,
    filler: BTreeMap<String, Vec<String>>,
    person: BTreeMap<String, Vec<String>>,
    say: BTreeMap<String, Localized>,
}

struct Texts {
    /// Cancel phrases, folded, filler words removed.
    cancel: HashSet<String>,
    filler: HashSet<String>,
    /// Person phrases as folded word lists.
    person: Vec<Vec<String>>,
    say: BTreeMap<String, Localized>,
}

fn texts() -> &'static Texts {
    static TEXTS: OnceLock<Texts> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let def: TextsDef = serde_yaml::from_str(include_str!("texts.yaml"))
            .expect("src/flows/texts.yaml is valid (tested)");
        let filler: HashSet<String> = def.filler.values().flatten().map(|w| folded(w)).collect();
        let strip = |phrase: &str| {
            crate::nlu::words(phrase)
                .filter(|w| !filler.contains(w))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let cancel = def
            .cancel
            .values()
            .flatten()
            .map(|p| strip(p))
            .filter(|p| !p.is_empty())
            .collect();
        let person = def
            .person
            .values()
            .flatten()
            .map(|p| crate::nlu::words(p).collect())
            .collect();
        Texts {
            cancel,
            filler,
            person,
            say: def.say,
        }
    })
}

/// A built-in sentence.
pub(super) fn say(key: &str, language: &str) -> String {
    texts()
        .say
        .get(key)
        .map(|t| localized(t, language).to_string())
        .unwrap_or_default()
}

/// The whole message, filler words aside, is a way to say "leave it".
pub fn is_cancel(text: &str) -> bool {
    let t = texts();
    let core: Vec<String> = crate::nlu::words(text)
        .filter(|w| !t.filler.contains(w))
        .collect();
    !core.is_empty() && t.cancel.contains(&core.join(" "))
}

/// The message asks for a person.
pub fn wants_person(text: &str) -> bool {
    let said: Vec<String> = crate::nlu::words(text).collect();
    texts()
        .person
        .iter()
        .any(|p| !p.is_empty() && said.windows(p.len()).any(|w| w == p.as_slice()))
}

impl Flows {
    /// Starts the flow of `intent`, if it has one: slots are pre-filled from the message and
    /// the customer, then the first missing one is asked for (or the action runs).
    pub fn start(
        &self,
        intent: &IntentId,
        input: &Input<'_>,
        customer: &Customer<'_>,
    ) -> Option<Transition> {
        let flow = self.for_intent(intent)?;
        let mut state = FlowState {
            flow: flow.id.clone(),
            slots: BTreeMap::new(),
            asking: None,
            attempts: 0,
            language: Some(input.language.to_string()),
        };
        for slot in &flow.slots {
            let from_customer = match slot.from_customer {
                Some(CustomerField::Email) => customer.email,
                None => None,
            }
            .and_then(|v| slot.kind.extract(v, true).ok());
            let value = from_customer.or_else(|| {
                slot.from_message
                    .then(|| slot.kind.extract(input.text, false).ok())
                    .flatten()
            });
            if let Some(v) = value {
                state.slots.insert(slot.name.clone(), v);
            }
        }
        Some(next(flow, state, input.language))
    }

    /// The shopper's next message while the flow runs.
    pub fn advance(&self, mut state: FlowState, input: &Input<'_>) -> Transition {
        let Some(flow) = self.get(&state.flow) else {
            return Transition {
                state: None,
                step: Step::NotForMe,
            };
        };
        if is_cancel(input.text) {
            return Transition {
                state: None,
                step: Step::Cancelled {
                    text: say("cancelled", input.language),
                },
            };
        }
        if input.wants_person || wants_person(input.text) {
            return Transition {
                state: None,
                step: Step::Escalate {
                    text: say("person", input.language),
                    slots: state.slots,
                },
            };
        }
        let Some(slot) = state.asking.as_deref().and_then(|s| flow.slot(s)) else {
            // Waiting for an action that never reported back: start over where it stands.
            return next(flow, state, input.language);
        };
        match slot.kind.extract(input.text, true) {
            Ok(value) => {
                state.slots.insert(slot.name.clone(), value);
                // "It's 10423, email ana@example.com" answers two questions at once.
                for other in &flow.slots {
                    if other.from_message && !state.slots.contains_key(&other.name) {
                        if let Ok(v) = other.kind.extract(input.text, false) {
                            state.slots.insert(other.name.clone(), v);
                        }
                    }
                }
                state.attempts = 0;
                next(flow, state, input.language)
            }
            Err(_) if input.other_topic => Transition {
                state: Some(state),
                step: Step::NotForMe,
            },
            Err(why) => {
                state.attempts += 1;
                if state.attempts >= slot.max_attempts {
                    return gave_up(flow, state, input.language);
                }
                let prompt = reask(slot, why, input.language);
                Transition {
                    state: Some(state),
                    step: Step::Ask(prompt),
                }
            }
        }
    }

    /// After a digression: the question the flow was waiting for, introduced as such.
    pub fn resume(&self, state: &FlowState, language: &str) -> Option<Prompt> {
        let flow = self.get(&state.flow)?;
        let slot = flow.slot(state.asking.as_deref()?)?;
        let mut p = prompt(slot, language);
        p.text = format!("{} {}", say("resume", language), p.text);
        Some(p)
    }

    /// The action's result: the answer, or the outcome for not found, timeout or an error.
    pub fn finish(&self, state: FlowState, result: &ActionResult, language: &str) -> Finished {
        let Some(flow) = self.get(&state.flow) else {
            return Finished {
                text: say("error", language),
                escalate: true,
                result: "failed",
                slots: state.slots,
            };
        };
        let (outcome, key, kind): (&Outcome, &str, &'static str) = match result {
            ActionResult::Found { fields } => {
                return Finished {
                    text: render_answer(flow, &state.slots, fields, language),
                    escalate: false,
                    result: "found",
                    slots: state.slots,
                }
            }
            ActionResult::NotFound => (&flow.outcomes.not_found, "not_found", "not_found"),
            ActionResult::Timeout => (&flow.outcomes.timeout, "timeout", "timeout"),
            ActionResult::Failed { .. } => (&flow.outcomes.error, "error", "failed"),
        };
        Finished {
            text: outcome_text(outcome, key, &state.slots, language),
            escalate: outcome.escalate,
            result: kind,
            slots: state.slots,
        }
    }
}

/// The question for a slot in a language, with its choices.
fn prompt(slot: &Slot, language: &str) -> Prompt {
    let choices = match &slot.kind {
        SlotKind::Choice(choices) => choices
            .iter()
            .map(|c| QuickReply {
                label: localized(&c.label, language).to_string(),
                value: c.value.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Prompt {
        slot: slot.name.clone(),
        text: localized(&slot.ask, language).to_string(),
        choices,
        reask: false,
    }
}

fn reask(slot: &Slot, why: Invalid, language: &str) -> Prompt {
    let reason = match (&slot.invalid, why, &slot.kind) {
        (_, Invalid::BadEmail, _) => say("invalid_email", language),
        (_, Invalid::OutOfRange, _) => say("invalid_range", language),
        (_, Invalid::NoSuchDate, _) => say("invalid_date", language),
        (Some(text), Invalid::Missing, _) => localized(text, language).to_string(),
        (None, Invalid::Missing, SlotKind::Choice(_)) => say("invalid_choice", language),
        (None, Invalid::Missing, _) => say("invalid_missing", language),
    };
    let mut p = prompt(slot, language);
    p.text = format!("{reason} {}", p.text);
    p.reask = true;
    p
}

/// The next missing slot is asked for; with none missing, the action runs.
fn next(flow: &Flow, mut state: FlowState, language: &str) -> Transition {
    state.attempts = 0;
    match flow
        .slots
        .iter()
        .find(|s| !state.slots.contains_key(&s.name))
    {
        Some(slot) => {
            state.asking = Some(slot.name.clone());
            Transition {
                state: Some(state),
                step: Step::Ask(prompt(slot, language)),
            }
        }
        None => {
            state.asking = None;
            let call = ActionCall {
                flow: flow.id.clone(),
                action: flow.action.clone(),
                slots: state.slots.clone(),
            };
            Transition {
                state: Some(state),
                step: Step::Run(call),
            }
        }
    }
}

fn gave_up(flow: &Flow, state: FlowState, language: &str) -> Transition {
    let o = &flow.outcomes.gave_up;
    let text = outcome_text(o, "gave_up", &state.slots, language);
    let step = if o.escalate {
        Step::Escalate {
            text,
            slots: state.slots,
        }
    } else {
        Step::Cancelled { text }
    };
    Transition { state: None, step }
}

fn outcome_text(
    o: &Outcome,
    key: &str,
    slots: &BTreeMap<String, String>,
    language: &str,
) -> String {
    match &o.say {
        Some(texts) => render_lenient(localized(texts, language), slots),
        None => say(key, language),
    }
}

/// The answer: slots and fields (with their labels in the language) into the template.
fn render_answer(
    flow: &Flow,
    slots: &BTreeMap<String, String>,
    fields: &BTreeMap<String, String>,
    language: &str,
) -> String {
    let mut values = slots.clone();
    for (k, v) in fields {
        let labelled = flow
            .labels
            .get(k)
            .and_then(|by_value| by_value.get(v))
            .map(|t| localized(t, language).to_string());
        values.insert(k.clone(), labelled.unwrap_or_else(|| v.clone()));
    }
    let template = flow
        .answer
        .get(language)
        .or_else(|| flow.answer.get("en"))
        .or_else(|| flow.answer.values().next());
    match template {
        Some(t) => render_values(t, values),
        None => String::new(),
    }
}

fn render_lenient(text: &str, slots: &BTreeMap<String, String>) -> String {
    render_values(&super::Template::parse(text), slots.clone())
}

/// Renders; a value the action did not return (and that has no default) reads as empty
/// rather than failing the answer.
fn render_values(t: &super::Template, mut values: BTreeMap<String, String>) -> String {
    for (name, has_default) in t.names() {
        if !has_default && !values.contains_key(name) {
            values.insert(name.to_string(), String::new());
        }
    }
    let env_free = Values {
        values: &values,
        env: None,
    };
    t.render(&env_free, Escape::None).unwrap_or_default()
}
