//! Flows: multi-turn rules editors write in YAML. An intent starts a flow; the flow asks for
//! its slots one by one (pre-filled from the message and the known customer), runs one
//! action, and answers from the action's result.
//!
//! Split in two so that a turn never waits on the network while it holds anything:
//! - the state machine (`Flows::start`, `advance`, `finish`, `resume`) is pure: no I/O, never
//!   fails, a `FlowState` in and a `Transition` out; the core runs it inside its turn and
//!   stores the serializable `FlowState` with the conversation;
//! - the action (`Step::Run` carries an `ActionCall`) is sent by `exec::Executor`, outside any
//!   lock; its `ActionResult` goes back into `Flows::finish`.
//!
//! Flow files are the intents files (`intents/*.yaml`): a top-level `flows:` list beside or
//! instead of `intents:`. Loading returns what it could read and a diagnostic per problem.

mod action;
mod exec;
mod load;
mod machine;
mod slots;
mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use action::{
    at_path, Action, ActionResult, BuildError, HttpAction, HttpRequest, Method, Preset, PresetKind,
    Verify,
};
pub use exec::{ActionCall, ExecError, Executor};
pub use load::load_dir;
pub use machine::{
    is_cancel, wants_person, Customer, Finished, FlowState, Input, Prompt, QuickReply, Step,
    Transition,
};
pub use slots::{Choice, Invalid, SlotKind};
pub use template::{Escape, Template};

use crate::intents::IntentId;

/// A flow's id, e.g. `order_status`: letters, digits, `_`, `-` and `.`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FlowId(String);

/// Why a string is not a flow id.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{0}` is not a flow id: use letters, digits, `_`, `-` and `.`, like `order_status`")]
pub struct FlowIdError(pub String);

impl FlowId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FlowId {
    type Error = FlowIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            Ok(FlowId(s))
        } else {
            Err(FlowIdError(s))
        }
    }
}

impl From<FlowId> for String {
    fn from(i: FlowId) -> String {
        i.0
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlowId({})", self.0)
    }
}

/// A text per language (`en`, `es`, …).
pub type Localized = BTreeMap<String, String>;

/// The text in `language`, else English, else any.
pub fn localized<'a>(texts: &'a Localized, language: &str) -> &'a str {
    texts
        .get(language)
        .or_else(|| texts.get("en"))
        .or_else(|| texts.values().next())
        .map(String::as_str)
        .unwrap_or("")
}

/// One slot of a flow.
#[derive(Debug, Clone)]
pub struct Slot {
    pub name: String,
    pub kind: SlotKind,
    /// The question per language.
    pub ask: Localized,
    /// Said before the question again when an answer was not valid.
    pub invalid: Option<Localized>,
    pub max_attempts: u32,
    /// Whether the message that starts the flow (or answers another slot) can fill it.
    pub from_message: bool,
    /// Filled from the known customer: `email`.
    pub from_customer: Option<CustomerField>,
}

/// What the shop knows about the customer that a slot can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerField {
    Email,
}

/// What to say (and whether to hand over) when the action did not find an answer.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `None`: the built-in sentence.
    pub say: Option<Localized>,
    pub escalate: bool,
}

/// The outcomes of an action that found nothing, and of a flow that gave up.
#[derive(Debug, Clone)]
pub struct Outcomes {
    pub not_found: Outcome,
    pub timeout: Outcome,
    pub error: Outcome,
    /// After a slot's `max_attempts` invalid answers.
    pub gave_up: Outcome,
}

/// One flow, ready to run.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: FlowId,
    /// The intent that starts it.
    pub intent: IntentId,
    pub slots: Vec<Slot>,
    pub action: Arc<Action>,
    /// The answer per language, from slots and the action's fields.
    pub answer: BTreeMap<String, Template>,
    /// Field → value → text per language: `status: {shipped: {en: "on its way"}}`.
    pub labels: BTreeMap<String, BTreeMap<String, Localized>>,
    pub outcomes: Outcomes,
    /// The file it came from and the line of its `id:`.
    pub source: std::path::PathBuf,
    pub line: Option<usize>,
}

impl Flow {
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }
}

/// Every flow of the shop, by id and by the intent that starts it.
#[derive(Debug, Clone, Default)]
pub struct Flows {
    flows: Vec<Flow>,
}

impl Flows {
    pub fn new(flows: Vec<Flow>) -> Flows {
        Flows { flows }
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter()
    }

    pub fn get(&self, id: &FlowId) -> Option<&Flow> {
        self.flows.iter().find(|f| &f.id == id)
    }

    /// The flow this intent starts, if any.
    pub fn for_intent(&self, intent: &IntentId) -> Option<&Flow> {
        self.flows.iter().find(|f| &f.intent == intent)
    }
}

#[cfg(test)]
mod tests;
