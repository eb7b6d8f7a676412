//! When to hand a conversation to a person, the "leave a message" dialogue outside business
//! hours, and the priority and category of the ticket.
//!
//! Pure code: no I/O, no clock (the instant is passed in), never fails. Whatever the shopper
//! types becomes a reply; only the settings can be wrong, and they are checked once, by
//! [`Policy::new`].
//!
//! One call per shopper message: the caller asks the engine, then [`Policy::decide`] with the
//! engine's [`Reply`], the conversation so far and its [`Handoff`] state. The [`Decision`]
//! says what to show, the conversation's next `Handoff`, and whether a ticket must be created
//! now ([`TicketDraft`], turned into a [`super::Ticket`] by [`super::ticket::build_ticket`]).
//!
//! - Bot: a trigger fires → inside business hours a person takes over (`live` ticket now,
//!   `HandedOver`); outside, the bot asks for an email (`AwaitingEmail`) unless one is known,
//!   then for the message (`AwaitingMessage`).
//! - AwaitingEmail: a valid address (also inside a sentence) → `AwaitingMessage`; an invalid
//!   one is refused with what is wrong; after `max_email_attempts` invalid ones the ticket is
//!   created without an address, so nothing is lost.
//! - AwaitingMessage: the next message is taken, the `offline` ticket created (the message is
//!   the last line of its transcript) and the shopper told when to expect a reply.
//! - In both, "cancel" / "never mind" (en, es, pt, nl) goes back to the bot, no ticket.
//! - HandedOver: never a second ticket. A message the engine answers confidently is answered;
//!   anything else gets "a colleague already has this conversation". Follow-up messages are
//!   recorded by the caller and sent to the helpdesk as `conversation.message` events; while
//!   an agent is in the conversation the caller silences the bot (`crate::handover`).

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::email::{find_email, EmailCheck, EmailProblem};
use super::hours::BusinessHours;
use super::texts::texts;
use super::{EscalationId, Handoff, Mode, Priority, Reason};
use crate::engine::{EscalationReason, Outcome, Reply};
use crate::locale::Locale;
use crate::nlu::words;
use crate::store::{Customer, Feedback, Outcome as TurnOutcome, Turn};

/// The built-in intent of a shopper asking for a person.
pub const HUMAN_HANDOFF_INTENT: &str = "human_handoff";

/// Intents that say nothing about the shopper's topic: never a ticket's subject.
const SMALL_TALK_INTENTS: &[&str] = &[
    "greeting",
    "thanks",
    "goodbye",
    HUMAN_HANDOFF_INTENT,
    "abuse",
    "out_of_scope",
];

/// A subject is cut to this many characters.
const SUBJECT_MAX_CHARS: usize = 80;

/// What a shopper typed, when shown back in an "invalid address" reply, is cut to this.
const ECHO_MAX_CHARS: usize = 60;

/// The escalation policy as written in the config (`escalation.policy`); every key optional:
///
/// ```yaml
/// triggers:
///   low_confidence: true          # the engine escalated for low confidence
///   human_request: true           # the built-in `human_handoff` intent
///   consecutive_fallbacks: 2      # clarify/low-confidence turns in a row; 0 = off
///   escalate_intents: true        # intents marked `escalate: true` (fraud, injury, legal…)
///   frustration:
///     enabled: true
///     builtin_phrases: true       # the shipped en/es/pt/nl word lists
///     phrases:                    # added to them, per language
///       en: ["total rip-off"]
///     intents: [abuse]            # intents that count as frustration
///     negative_feedback: 2        # thumbs-down in the conversation; 0 = off
/// max_email_attempts: 3           # invalid addresses before the ticket goes without one
/// rules:                          # tried in order before the built-in ones; first match wins
///   - phrases: { en: ["broken on arrival"], nl: ["kapot aangekomen"] }
///     intents: [damaged_item]
///     priority: high              # low | normal | high | urgent
///     category: damage
/// builtin_rules: true             # fraud, safety, legal, billing, account, other
/// default_priority: normal
/// default_category: general       # when no rule matches and no article gives a topic
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    pub triggers: TriggerSettings,
    /// Invalid email addresses accepted before the ticket is created without one (at least 1).
    pub max_email_attempts: u8,
    /// The shop's priority and category rules, tried in order before the built-in ones.
    pub rules: Vec<RuleSettings>,
    /// Whether the built-in rules (fraud, safety, legal, billing…) apply after the shop's.
    pub builtin_rules: bool,
    pub default_priority: Priority,
    pub default_category: String,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            triggers: TriggerSettings::default(),
            max_email_attempts: 3,
            rules: Vec::new(),
            builtin_rules: true,
            default_priority: Priority::Normal,
            default_category: "general".into(),
        }
    }
}

/// Which triggers hand a conversation to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerSettings {
    /// The engine escalated because its confidence was below the clarify threshold.
    pub low_confidence: bool,
    /// The shopper asked for a person (the built-in `human_handoff` intent).
    pub human_request: bool,
    /// This many clarify or low-confidence turns in a row (the current one included); 0 = off.
    pub consecutive_fallbacks: u32,
    pub frustration: FrustrationSettings,
    /// An intent marked `escalate: true` matched.
    pub escalate_intents: bool,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        TriggerSettings {
            low_confidence: true,
            human_request: true,
            consecutive_fallbacks: 2,
            frustration: FrustrationSettings::default(),
            escalate_intents: true,
        }
    }
}

/// The frustration trigger: angry words, insults, repeated thumbs-down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrustrationSettings {
    pub enabled: bool,
    /// Whether the shipped word lists (en, es, pt, nl) apply.
    pub builtin_phrases: bool,
    /// More words and phrases per language (ISO 639-1), matched as whole words, ignoring case
    /// and accents.
    pub phrases: BTreeMap<String, Vec<String>>,
    /// Intents that count as frustration when they match.
    pub intents: Vec<String>,
    /// This many thumbs-down in the conversation, the latest on the bot's last reply; 0 = off.
    pub negative_feedback: u32,
}

impl Default for FrustrationSettings {
    fn default() -> Self {
        FrustrationSettings {
            enabled: true,
            builtin_phrases: true,
            phrases: BTreeMap::new(),
            intents: vec!["abuse".into()],
            negative_feedback: 2,
        }
    }
}

/// A priority and category rule: it matches when any phrase (in any of its languages) is in
/// one of the shopper's messages of the conversation, or one of the intents matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    #[serde(default)]
    pub phrases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub intents: Vec<String>,
    pub priority: Priority,
    pub category: String,
}

/// Why the policy settings cannot be used. Each names the key to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("`{key}`: `{language}` is not a language: use an ISO 639-1 code such as `en`, `es`, `pt` or `nl`")]
    BadLanguage { key: String, language: String },
    #[error("`{key}`: `{phrase}` has no words to match")]
    EmptyPhrase { key: String, phrase: String },
    #[error("`rules[{0}]`: the rule has no `phrases` and no `intents`, so it would never match")]
    EmptyRule(usize),
    #[error("`{0}`: the category is empty")]
    EmptyCategory(String),
    #[error("`max_email_attempts`: must be at least 1")]
    ZeroEmailAttempts,
}

/// A phrase as folded words, matched as a run of whole words.
type Phrase = Vec<String>;

#[derive(Debug, Clone)]
struct Rule {
    phrases: Vec<Phrase>,
    intents: Vec<String>,
    priority: Priority,
    category: String,
}

/// A validated policy with its business hours.
#[derive(Debug, Clone)]
pub struct Policy {
    settings: PolicySettings,
    hours: BusinessHours,
    frustration: Vec<Phrase>,
    rules: Vec<Rule>,
}

/// Everything the policy needs about one shopper message.
#[derive(Debug, Clone, Copy)]
pub struct TurnInput<'a> {
    /// The shopper's message (personal data already masked).
    pub text: &'a str,
    /// The engine's reply to it.
    pub reply: &'a Reply,
    /// The conversation's earlier turns, oldest first (not this one).
    pub turns: &'a [Turn],
    /// The feedback given in the conversation, oldest first.
    pub feedback: &'a [Feedback],
    /// Where the conversation is in the hand-over.
    pub handoff: &'a Handoff,
    pub customer: &'a Customer,
    /// The shopper's language (ISO 639-1), usually `reply.language`. While the bot waits for
    /// an email or a message, the language of the last turn is used instead: an address says
    /// nothing about a language.
    pub language: &'a str,
    pub now: Timestamp,
}

/// Where the dialogue went with this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// No hand-over: the engine's reply stands (or, when the engine wanted a person and the
    /// shop switched that trigger off, a neutral reply).
    Bot,
    /// Inside business hours: a `live` ticket now.
    HandedOverLive,
    /// Outside business hours: asked for an email address.
    AskedForEmail,
    /// What the shopper typed is not a valid address: asked again.
    InvalidEmail,
    /// Asked for the message to leave.
    AskedForMessage,
    /// The message was taken: an `offline` ticket now.
    MessageTaken,
    /// Too many invalid addresses: an `offline` ticket now, without an address.
    GaveUpOnEmail,
    /// The shopper left the dialogue; back to the bot, no ticket.
    Cancelled,
    /// People already have the conversation; no second ticket.
    AlreadyHandedOver,
}

/// What to do with one shopper message.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub step: Step,
    /// What the shopper is shown instead of the engine's reply; `None` shows `reply.text`.
    pub text: Option<String>,
    /// The conversation's new hand-over state, when it changes.
    pub handoff: Option<Handoff>,
    /// A ticket to create now (in the same transaction as the turn).
    pub ticket: Option<TicketDraft>,
    /// The language of this turn, to record with it (see [`TurnInput::language`]).
    pub language: String,
    /// The message answered the hand-over dialogue (an address, the message left, a
    /// cancel) rather than asking the bot something; see [`Decision::recorded_outcome`].
    pub dialogue: bool,
}

impl Decision {
    /// The text to show: the override, else the engine's.
    pub fn text<'a>(&'a self, reply: &'a Reply) -> &'a str {
        self.text.as_deref().unwrap_or(&reply.text)
    }

    /// The `outcome` to record with the turn: the engine's (`answer`, `clarify`, `escalate`),
    /// or `handoff` for a message of the dialogue. The policy reads it back: a `handoff` turn
    /// ends a run of fallbacks (a shopper who cancelled is not offered a person again at the
    /// next clarify) and is never a ticket's subject.
    pub fn recorded_outcome(&self, reply: &Reply) -> TurnOutcome {
        if self.dialogue {
            return TurnOutcome::Handoff;
        }
        match reply.outcome {
            Outcome::Answer => TurnOutcome::Answer,
            Outcome::Clarify => TurnOutcome::Clarify,
            Outcome::Escalate => TurnOutcome::Escalate,
        }
    }
}

/// What the policy knows of a ticket to create; [`super::ticket::build_ticket`] adds the
/// conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDraft {
    pub id: EscalationId,
    pub reason: Reason,
    pub mode: Mode,
    pub priority: Priority,
    pub category: String,
    pub subject: String,
    pub intent: Option<String>,
    pub confidence: f32,
    /// ISO 639-1.
    pub language: String,
    /// The address to reply to: typed by the shopper in the dialogue, or the customer's.
    pub email: Option<String>,
}

impl Policy {
    /// Validates the settings.
    pub fn new(settings: PolicySettings, hours: BusinessHours) -> Result<Policy, PolicyError> {
        if settings.max_email_attempts == 0 {
            return Err(PolicyError::ZeroEmailAttempts);
        }
        let f = &settings.triggers.frustration;
        let mut frustration = Vec::new();
        if f.builtin_phrases {
            for (_, list) in BUILTIN_FRUSTRATION {
                frustration.extend(list.iter().map(|p| phrase(p)));
            }
        }
        frustration.extend(phrases("triggers.frustration.phrases", &f.phrases)?);
        let mut rules = Vec::new();
        for (i, r) in settings.rules.iter().enumerate() {
            if r.phrases.values().all(Vec::is_empty) && r.intents.is_empty() {
                return Err(PolicyError::EmptyRule(i));
            }
            if r.category.trim().is_empty() {
                return Err(PolicyError::EmptyCategory(format!("rules[{i}].category")));
            }
            rules.push(Rule {
                phrases: phrases(&format!("rules[{i}].phrases"), &r.phrases)?,
                intents: r.intents.clone(),
                priority: r.priority,
                category: r.category.trim().to_string(),
            });
        }
        if settings.builtin_rules {
            rules.extend(builtin_rules());
        }
        if settings.default_category.trim().is_empty() {
            return Err(PolicyError::EmptyCategory("default_category".into()));
        }
        Ok(Policy {
            settings,
            hours,
            frustration,
            rules,
        })
    }

    pub fn settings(&self) -> &PolicySettings {
        &self.settings
    }

    pub fn hours(&self) -> &BusinessHours {
        &self.hours
    }

    /// Decides what to do with one shopper message. Never fails.
    pub fn decide(&self, input: &TurnInput<'_>) -> Decision {
        let mut decision = match input.handoff {
            Handoff::Bot => self.decide_bot(input),
            Handoff::AwaitingEmail {
                reason,
                attempts,
                intent,
                confidence,
            } => self.decide_email(input, *reason, *attempts, intent.clone(), *confidence),
            Handoff::AwaitingMessage {
                reason,
                email,
                intent,
                confidence,
            } => self.decide_message(input, *reason, email.clone(), intent.clone(), *confidence),
            Handoff::HandedOver { mode, .. } => self.decide_handed_over(input, *mode),
        };
        decision.dialogue = matches!(
            input.handoff,
            Handoff::AwaitingEmail { .. } | Handoff::AwaitingMessage { .. }
        );
        decision
    }

    /// The trigger that fires for this message, if any, most specific first.
    pub fn trigger(&self, input: &TurnInput<'_>) -> Option<Reason> {
        let t = &self.settings.triggers;
        let reply = input.reply;
        let certain = certain_intent(reply);
        if t.escalate_intents
            && reply.escalation == Some(EscalationReason::Intent)
            && certain != Some(HUMAN_HANDOFF_INTENT)
        {
            return Some(Reason::EscalateIntent);
        }
        if t.human_request && certain == Some(HUMAN_HANDOFF_INTENT) {
            return Some(Reason::HumanRequested);
        }
        if self.frustrated(input) {
            return Some(Reason::Frustration);
        }
        let low = reply.outcome == Outcome::Escalate
            && reply.escalation == Some(EscalationReason::LowConfidence);
        if t.low_confidence && low {
            return Some(Reason::LowConfidence);
        }
        let n = t.consecutive_fallbacks as usize;
        if n > 0 && (low || reply.outcome == Outcome::Clarify) {
            let earlier = input
                .turns
                .iter()
                .rev()
                .take_while(|turn| {
                    matches!(turn.outcome, TurnOutcome::Clarify | TurnOutcome::Escalate)
                })
                .count();
            if 1 + earlier >= n {
                return Some(Reason::RepeatedFallback);
            }
        }
        None
    }

    fn frustrated(&self, input: &TurnInput<'_>) -> bool {
        let f = &self.settings.triggers.frustration;
        if !f.enabled {
            return false;
        }
        if let Some(intent) = certain_intent(input.reply) {
            if f.intents.iter().any(|i| i == intent) {
                return true;
            }
        }
        let message: Vec<String> = words(input.text).collect();
        if self.frustration.iter().any(|p| contains(&message, p)) {
            return true;
        }
        if f.negative_feedback > 0 {
            // The latest word on each reply counts: a thumbs-down taken back is no thumbs-down.
            let mut latest: BTreeMap<&str, bool> = BTreeMap::new();
            for fb in input.feedback {
                if let Feedback::Helpful { message, helpful } = fb {
                    latest.insert(message.as_str(), *helpful);
                }
            }
            let count = latest.values().filter(|helpful| !**helpful).count();
            // The latest thumbs-down must be on the bot's last reply: a shopper who cancelled
            // the hand-over is not offered it again for the same old feedback.
            let fresh = input
                .turns
                .last()
                .is_some_and(|t| latest.get(t.id.as_str()) == Some(&false));
            if fresh && count >= f.negative_feedback as usize {
                return true;
            }
        }
        false
    }

    fn decide_bot(&self, input: &TurnInput<'_>) -> Decision {
        let lang = input.language.to_string();
        let Some(reason) = self.trigger(input) else {
            // The engine wanted a person but the shop switched that trigger off: its text
            // ("I'm passing your question to a colleague") would be a promise nobody keeps.
            let text = (input.reply.outcome == Outcome::Escalate)
                .then(|| texts(&lang).no_handover.to_string());
            return decision(Step::Bot, text, None, None, lang);
        };
        let reply = input.reply;
        // An escalating intent's own answer was written for this case (contact your bank,
        // stop using the product): keep it before what happens next.
        let preface = (reason == Reason::EscalateIntent && !reply.text.trim().is_empty())
            .then(|| reply.text.clone());
        self.hand_over(input, reason, preface)
    }

    /// A hand-over the caller decided on (a flow: the shopper asked for a person mid-flow, or
    /// the flow's look-up failed and it says to escalate), with the caller's `text` said
    /// first. The same dialogue as a trigger's: a live ticket inside business hours, else the
    /// leave-a-message questions. Only while the bot has the conversation: otherwise the
    /// usual decision for the hand-over state.
    pub fn escalate(&self, input: &TurnInput<'_>, reason: Reason, text: String) -> Decision {
        if *input.handoff != Handoff::Bot {
            return self.decide(input);
        }
        let preface = (!text.trim().is_empty()).then_some(text);
        self.hand_over(input, reason, preface)
    }

    fn hand_over(
        &self,
        input: &TurnInput<'_>,
        reason: Reason,
        preface: Option<String>,
    ) -> Decision {
        let lang = input.language.to_string();
        let reply = input.reply;
        let intent = reply_intent(reply);
        let confidence = reply.confidence;
        let t = texts(&lang);
        let with_preface = |s: String| match &preface {
            Some(p) => format!("{p}\n\n{s}"),
            None => s,
        };
        if self.hours.is_open(input.now) {
            let draft = self.draft(
                input,
                reason,
                Mode::Live,
                intent,
                confidence,
                None,
                None,
                &lang,
            );
            let text = preface.clone().unwrap_or_else(|| t.live.to_string());
            let handoff = Handoff::HandedOver {
                ticket: draft.id.clone(),
                mode: Mode::Live,
            };
            return decision(
                Step::HandedOverLive,
                Some(text),
                Some(handoff),
                Some(draft),
                lang,
            );
        }
        let known = input
            .customer
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        match known {
            Some(email) => {
                let text = with_preface(t.ask_message_known_email.replace("{email}", email));
                let handoff = Handoff::AwaitingMessage {
                    reason,
                    email: Some(email.to_string()),
                    intent,
                    confidence,
                };
                decision(Step::AskedForMessage, Some(text), Some(handoff), None, lang)
            }
            None => {
                let text = with_preface(t.ask_email.to_string());
                let handoff = Handoff::AwaitingEmail {
                    reason,
                    attempts: 0,
                    intent,
                    confidence,
                };
                decision(Step::AskedForEmail, Some(text), Some(handoff), None, lang)
            }
        }
    }

    fn decide_email(
        &self,
        input: &TurnInput<'_>,
        reason: Reason,
        attempts: u8,
        intent: Option<String>,
        confidence: f32,
    ) -> Decision {
        let lang = dialogue_language(input);
        let t = texts(&lang);
        if is_cancel(input.text) {
            return cancelled(lang);
        }
        match find_email(input.text) {
            EmailCheck::Valid(email) => {
                let text = t.ask_message.replace("{email}", &email);
                let handoff = Handoff::AwaitingMessage {
                    reason,
                    email: Some(email),
                    intent,
                    confidence,
                };
                decision(Step::AskedForMessage, Some(text), Some(handoff), None, lang)
            }
            EmailCheck::Invalid { token, problem } => {
                let attempts = attempts.saturating_add(1);
                if attempts >= self.settings.max_email_attempts {
                    let draft = self.draft(
                        input,
                        reason,
                        Mode::Offline,
                        intent,
                        confidence,
                        None,
                        None,
                        &lang,
                    );
                    let text = t
                        .gave_up_on_email
                        .replace("{promise}", &self.hours.reply_promise(input.now, &lang));
                    let handoff = Handoff::HandedOver {
                        ticket: draft.id.clone(),
                        mode: Mode::Offline,
                    };
                    return decision(
                        Step::GaveUpOnEmail,
                        Some(text),
                        Some(handoff),
                        Some(draft),
                        lang,
                    );
                }
                let text = if problem == EmailProblem::NoAddress || token.is_empty() {
                    t.no_address.to_string()
                } else {
                    t.invalid_email
                        .replace("{problem}", t.problem(problem))
                        .replace("{token}", &cut(&token, ECHO_MAX_CHARS))
                };
                let handoff = Handoff::AwaitingEmail {
                    reason,
                    attempts,
                    intent,
                    confidence,
                };
                decision(Step::InvalidEmail, Some(text), Some(handoff), None, lang)
            }
        }
    }

    fn decide_message(
        &self,
        input: &TurnInput<'_>,
        reason: Reason,
        email: Option<String>,
        intent: Option<String>,
        confidence: f32,
    ) -> Decision {
        let lang = dialogue_language(input);
        let t = texts(&lang);
        if is_cancel(input.text) {
            return cancelled(lang);
        }
        if input.text.trim().is_empty() {
            let handoff = Handoff::AwaitingMessage {
                reason,
                email,
                intent,
                confidence,
            };
            let text = t.ask_message_again.to_string();
            return decision(Step::AskedForMessage, Some(text), Some(handoff), None, lang);
        }
        let promise = self.hours.reply_promise(input.now, &lang);
        let text = match &email {
            Some(e) => t
                .message_taken
                .replace("{promise}", &promise)
                .replace("{email}", e),
            None => t.message_taken_no_email.replace("{promise}", &promise),
        };
        let draft = self.draft(
            input,
            reason,
            Mode::Offline,
            intent,
            confidence,
            email,
            // The message left outside hours is what the agent should read first.
            Some(input.text),
            &lang,
        );
        let handoff = Handoff::HandedOver {
            ticket: draft.id.clone(),
            mode: Mode::Offline,
        };
        decision(
            Step::MessageTaken,
            Some(text),
            Some(handoff),
            Some(draft),
            lang,
        )
    }

    fn decide_handed_over(&self, input: &TurnInput<'_>, mode: Mode) -> Decision {
        let lang = input.language.to_string();
        let answered = input.reply.outcome == Outcome::Answer && self.trigger(input).is_none();
        if answered {
            return decision(Step::Bot, None, None, None, lang);
        }
        let t = texts(&lang);
        let text = match mode {
            Mode::Live => t.already_live,
            Mode::Offline => t.already_offline,
        };
        decision(
            Step::AlreadyHandedOver,
            Some(text.to_string()),
            None,
            None,
            lang,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn draft(
        &self,
        input: &TurnInput<'_>,
        reason: Reason,
        mode: Mode,
        intent: Option<String>,
        confidence: f32,
        email: Option<String>,
        left: Option<&str>,
        language: &str,
    ) -> TicketDraft {
        let (priority, category) = self.classify(input, intent.as_deref());
        let email = email.or_else(|| {
            input
                .customer
                .email
                .clone()
                .filter(|e| !e.trim().is_empty())
        });
        TicketDraft {
            id: EscalationId::generate(),
            reason,
            mode,
            priority,
            category,
            subject: subject(input, intent.as_deref(), left),
            intent,
            confidence,
            language: language.to_string(),
            email,
        }
    }

    /// The first rule that matches the conversation, else the default priority and the
    /// article's topic (or the default category).
    pub fn classify(&self, input: &TurnInput<'_>, intent: Option<&str>) -> (Priority, String) {
        let texts: Vec<Vec<String>> = input
            .turns
            .iter()
            .map(|t| t.text.as_str())
            .chain([input.text])
            .map(|t| words(t).collect())
            .collect();
        let intents: Vec<&str> = intent
            .into_iter()
            .chain(certain_intent(input.reply))
            .collect();
        for rule in &self.rules {
            let by_intent = rule.intents.iter().any(|i| intents.contains(&i.as_str()));
            let by_phrase = || {
                rule.phrases
                    .iter()
                    .any(|p| texts.iter().any(|t| contains(t, p)))
            };
            if by_intent || by_phrase() {
                return (rule.priority, rule.category.clone());
            }
        }
        let article = input
            .reply
            .article
            .as_ref()
            .filter(|_| input.reply.outcome == Outcome::Answer)
            .map(|a| a.as_str().to_string())
            .or_else(|| input.turns.iter().rev().find_map(|t| t.article.clone()));
        let category = article
            .as_deref()
            .and_then(article_topic)
            .unwrap_or(&self.settings.default_category)
            .to_string();
        (self.settings.default_priority, category)
    }
}

fn decision(
    step: Step,
    text: Option<String>,
    handoff: Option<Handoff>,
    ticket: Option<TicketDraft>,
    language: String,
) -> Decision {
    Decision {
        step,
        text,
        handoff,
        ticket,
        language,
        dialogue: false,
    }
}

fn cancelled(lang: String) -> Decision {
    let text = texts(&lang).cancelled.to_string();
    decision(Step::Cancelled, Some(text), Some(Handoff::Bot), None, lang)
}

/// The language of a dialogue turn: the last turn's, when there is one.
fn dialogue_language(input: &TurnInput<'_>) -> String {
    input
        .turns
        .last()
        .map(|t| t.language.as_str())
        .filter(|l| !l.is_empty())
        .unwrap_or(input.language)
        .to_string()
}

/// The intent the engine is sure of: an answer or an escalating intent, not the nearest
/// candidate of a clarify or a low-confidence escalation.
fn certain_intent(reply: &Reply) -> Option<&str> {
    let certain =
        reply.outcome == Outcome::Answer || reply.escalation == Some(EscalationReason::Intent);
    reply
        .intent
        .as_ref()
        .filter(|_| certain)
        .map(|i| i.as_str())
}

/// The intent recorded on a ticket: the one the engine is sure of.
fn reply_intent(reply: &Reply) -> Option<String> {
    certain_intent(reply).map(str::to_string)
}

/// Whether `haystack` holds `needle` as a run of whole words.
fn contains(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn phrase(text: &str) -> Phrase {
    words(text).collect()
}

fn phrases(key: &str, map: &BTreeMap<String, Vec<String>>) -> Result<Vec<Phrase>, PolicyError> {
    let mut out = Vec::new();
    for (language, list) in map {
        if Locale::from_str(language).is_err() {
            return Err(PolicyError::BadLanguage {
                key: key.to_string(),
                language: language.clone(),
            });
        }
        for p in list {
            let words = phrase(p);
            if words.is_empty() {
                return Err(PolicyError::EmptyPhrase {
                    key: format!("{key}.{language}"),
                    phrase: p.clone(),
                });
            }
            out.push(words);
        }
    }
    Ok(out)
}

/// The whole message is a way out of the dialogue.
fn is_cancel(text: &str) -> bool {
    let message = words(text).collect::<Vec<_>>().join(" ");
    !message.is_empty() && CANCEL.contains(&message.as_str())
}

/// `shipping` for `en/shipping/delivery-times`; nothing for an article at the top.
fn article_topic(id: &str) -> Option<&str> {
    let path = match id.split_once('/') {
        Some((first, rest)) if Locale::from_str(first).is_ok() => rest,
        _ => id,
    };
    path.split_once('/')
        .map(|(topic, _)| topic)
        .filter(|t| !t.is_empty())
}

/// A short subject: the specific intent, the message left outside hours, or the shopper's
/// first message about something (not a greeting or a request for a person).
fn subject(input: &TurnInput<'_>, intent: Option<&str>, left: Option<&str>) -> String {
    if let Some(i) = intent.filter(|i| !SMALL_TALK_INTENTS.contains(i)) {
        return humanize(i);
    }
    if let Some(text) = left {
        return cut(text, SUBJECT_MAX_CHARS);
    }
    let small_talk = |t: &Turn| {
        t.intent
            .as_deref()
            .is_some_and(|i| SMALL_TALK_INTENTS.contains(&i))
            && t.outcome != TurnOutcome::Clarify
    };
    let said = |t: &&Turn| t.outcome != TurnOutcome::Handoff && !t.text.trim().is_empty();
    let first = input
        .turns
        .iter()
        .filter(said)
        .find(|t| !small_talk(t))
        .map(|t| t.text.as_str());
    // Inside the dialogue the message is an address: the conversation's first words are better.
    let in_dialogue = !matches!(input.handoff, Handoff::Bot | Handoff::HandedOver { .. });
    let fallback = match in_dialogue {
        true => input
            .turns
            .iter()
            .find(said)
            .map_or(input.text, |t| t.text.as_str()),
        false => input.text,
    };
    cut(first.unwrap_or(fallback), SUBJECT_MAX_CHARS)
}

/// `fraud_report` → `Fraud report`.
fn humanize(id: &str) -> String {
    let spaced = id.replace(['_', '-', '.'], " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// At most `max` characters, cut at a word boundary with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let head: String = text.chars().take(max - 1).collect();
    let head = match head.rfind(' ') {
        Some(i) if i > max / 2 => &head[..i],
        _ => &head,
    };
    format!("{}…", head.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// Whole messages that leave the dialogue, folded.
const CANCEL: &[&str] = &[
    // en
    "cancel",
    "never mind",
    "nevermind",
    "forget it",
    "no thanks",
    "no thank you",
    "stop",
    "no",
    // es
    "cancelar",
    "cancela",
    "cancelalo",
    "olvidalo",
    "dejalo",
    "no gracias",
    "da igual",
    // pt
    "esquece",
    "esqueca",
    "deixa",
    "deixa estar",
    "deixa pra la",
    "deixa para la",
    "nao obrigado",
    "nao obrigada",
    "nao",
    // nl
    "annuleren",
    "annuleer",
    "laat maar",
    "laat maar zitten",
    "nee bedankt",
    "nee dank je",
    "toch maar niet",
    "nee",
];

/// Words and phrases that say the shopper is fed up, per language. Kept to words that are
/// about the service, not the product ("terrible quality" is a review, not frustration).
const BUILTIN_FRUSTRATION: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "useless",
            "ridiculous",
            "unacceptable",
            "fed up",
            "sick of this",
            "waste of time",
            "not helpful",
            "not helping",
            "doesn't help",
            "you don't understand",
            "terrible service",
            "worst service",
            "awful service",
            "so annoying",
            "furious",
            "angry",
            "frustrated",
            "frustrating",
            "pathetic",
            "what a joke",
            "i already told you",
            "for the third time",
            "this is a joke",
        ],
    ),
    (
        "es",
        &[
            "inutil",
            "ridiculo",
            "inaceptable",
            "estoy harto",
            "estoy harta",
            "perdida de tiempo",
            "no me ayudas",
            "no sirves",
            "no me entiendes",
            "pesimo servicio",
            "servicio pesimo",
            "que verguenza",
            "enfadado",
            "enfadada",
            "furioso",
            "furiosa",
            "frustrado",
            "frustrada",
            "indignado",
            "indignada",
            "ya te lo he dicho",
            "por tercera vez",
            "es una broma",
        ],
    ),
    (
        "pt",
        &[
            "inutil",
            "ridiculo",
            "inaceitavel",
            "estou farto",
            "estou farta",
            "perda de tempo",
            "nao ajuda",
            "nao me ajuda",
            "nao percebes",
            "nao entende",
            "pessimo servico",
            "pessimo atendimento",
            "que vergonha",
            "irritado",
            "irritada",
            "furioso",
            "furiosa",
            "frustrado",
            "frustrada",
            "um absurdo",
            "ja disse",
            "pela terceira vez",
        ],
    ),
    (
        "nl",
        &[
            "nutteloos",
            "belachelijk",
            "onacceptabel",
            "onaanvaardbaar",
            "ik ben het zat",
            "spuugzat",
            "tijdverspilling",
            "zonde van mijn tijd",
            "je helpt niet",
            "je begrijpt het niet",
            "slechte service",
            "waardeloos",
            "waardeloze",
            "boos",
            "woedend",
            "gefrustreerd",
            "schandalig",
            "bespottelijk",
            "ik zei het al",
            "voor de derde keer",
        ],
    ),
];

/// The shipped priority and category rules, after the shop's own.
fn builtin_rules() -> Vec<Rule> {
    let rule = |intents: &[&str], phrases: &[&str], priority, category: &str| Rule {
        phrases: phrases.iter().map(|p| phrase(p)).collect(),
        intents: intents.iter().map(|i| i.to_string()).collect(),
        priority,
        category: category.to_string(),
    };
    vec![
        rule(
            &["fraud_report"],
            &[
                // en
                "fraud",
                "fraudulent",
                "scam",
                "scammed",
                "hacked",
                "unauthorized charge",
                "unauthorised charge",
                "unauthorized payment",
                "unauthorised payment",
                "stolen card",
                "identity theft",
                "phishing",
                // es
                "fraude",
                "fraudulento",
                "fraudulenta",
                "estafa",
                "estafado",
                "estafada",
                "hackeado",
                "hackeada",
                "cargo no autorizado",
                "cobro no autorizado",
                "tarjeta robada",
                "robo de identidad",
                // pt
                "fraudulento",
                "burla",
                "cobranca nao autorizada",
                "pagamento nao autorizado",
                "cartao roubado",
                "roubo de identidade",
                // nl
                "frauduleus",
                "frauduleuze",
                "oplichting",
                "opgelicht",
                "gehackt",
                "onbevoegde betaling",
                "gestolen pas",
                "gestolen kaart",
                "identiteitsfraude",
            ],
            Priority::Urgent,
            "fraud",
        ),
        rule(
            &["injury_report"],
            &[
                // en
                "injured",
                "injury",
                "burned my",
                "burnt my",
                "allergic reaction",
                "caught fire",
                "exploded",
                "hospital",
                "emergency room",
                "safety hazard",
                // es
                "herido",
                "herida",
                "me lesione",
                "me queme",
                "quemadura",
                "reaccion alergica",
                "se incendio",
                "exploto",
                "urgencias",
                // pt
                "ferido",
                "ferida",
                "queimei",
                "queimadura",
                "reacao alergica",
                "pegou fogo",
                "explodiu",
                "urgencias",
                // nl
                "gewond",
                "verwond",
                "letsel",
                "brandwond",
                "brandwonden",
                "allergische reactie",
                "vloog in brand",
                "ontploft",
                "ziekenhuis",
                "eerste hulp",
            ],
            Priority::Urgent,
            "safety",
        ),
        rule(
            &["legal_threat"],
            &[
                // en
                "lawyer",
                "attorney",
                "solicitor",
                "sue you",
                "will sue",
                "going to sue",
                "suing",
                "lawsuit",
                "legal action",
                "chargeback",
                "trading standards",
                "see you in court",
                // es
                "abogado",
                "abogada",
                "demandar",
                "denunciar",
                "tribunales",
                "juzgado",
                "medidas legales",
                "contracargo",
                "hoja de reclamaciones",
                // pt
                "advogado",
                "advogada",
                "vou processar",
                "processar voces",
                "processar vos",
                "processo judicial",
                "tribunal",
                "procon",
                "medidas legais",
                "livro de reclamacoes",
                // nl
                "advocaat",
                "jurist",
                "aanklagen",
                "rechtszaak",
                "naar de rechter",
                "juridische stappen",
                "geschillencommissie",
            ],
            Priority::High,
            "legal",
        ),
        rule(
            &[],
            &[
                // en
                "charged twice",
                "charged me twice",
                "double charged",
                "charged two times",
                "double charge",
                "duplicate charge",
                "paid twice",
                "charged double",
                // es
                "cobrado dos veces",
                "cobraron dos veces",
                "cobrasteis dos veces",
                "cobro duplicado",
                "cargo duplicado",
                "doble cargo",
                "doble cobro",
                "pagado dos veces",
                "pague dos veces",
                // pt
                "cobrado duas vezes",
                "cobraram duas vezes",
                "cobranca duplicada",
                "cobranca em dobro",
                "cobrado em dobro",
                "paguei duas vezes",
                "pagamento duplicado",
                // nl
                "dubbel afgeschreven",
                "twee keer afgeschreven",
                "dubbel betaald",
                "twee keer betaald",
                "dubbele afschrijving",
                "dubbel gefactureerd",
            ],
            Priority::High,
            "billing",
        ),
        rule(
            &["account_change_request"],
            &[],
            Priority::Normal,
            "account",
        ),
        rule(&["out_of_scope"], &[], Priority::Low, "other"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::hours::BusinessHoursSettings;
    use crate::store::MessageId;

    /// Monday 30 November 2026, 11:00 in Amsterdam: open.
    const OPEN: &str = "2026-11-30T10:00:00Z";
    /// Monday 30 November 2026, 21:00 in Amsterdam: closed until tomorrow 09:00.
    const CLOSED: &str = "2026-11-30T20:00:00Z";

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn hours() -> BusinessHours {
        let weekday = || vec!["09:00-17:30".to_string()];
        BusinessHours::new(BusinessHoursSettings {
            time_zone: "Europe/Amsterdam".into(),
            monday: weekday(),
            tuesday: weekday(),
            wednesday: weekday(),
            thursday: weekday(),
            friday: weekday(),
            holidays: vec!["2026-12-25".into()],
            ..Default::default()
        })
        .unwrap()
    }

    fn policy() -> Policy {
        policy_with(|_| {})
    }

    fn policy_with(change: impl FnOnce(&mut PolicySettings)) -> Policy {
        let mut s = PolicySettings::default();
        change(&mut s);
        Policy::new(s, hours()).unwrap()
    }

    fn reply(outcome: Outcome, lang: &str, intent: Option<&str>, text: &str) -> Reply {
        Reply {
            outcome,
            language: lang.into(),
            intent: intent.map(|i| i.parse().unwrap()),
            article: None,
            confidence: if outcome == Outcome::Answer { 0.9 } else { 0.2 },
            text: text.into(),
            suggestions: Vec::new(),
            link: None,
            fallback: false,
            escalation: None,
        }
    }

    fn answer(lang: &str, intent: Option<&str>) -> Reply {
        reply(Outcome::Answer, lang, intent, "Here is the answer.")
    }

    fn clarify(lang: &str) -> Reply {
        // The engine names the nearest candidate even when it clarifies.
        reply(Outcome::Clarify, lang, Some("track_order"), "Did you mean…")
    }

    fn low_confidence(lang: &str) -> Reply {
        let mut r = reply(
            Outcome::Escalate,
            lang,
            Some("track_order"),
            "Passing you on.",
        );
        r.escalation = Some(EscalationReason::LowConfidence);
        r
    }

    fn escalating(lang: &str, intent: &str, text: &str) -> Reply {
        let mut r = reply(Outcome::Escalate, lang, Some(intent), text);
        r.confidence = 1.0;
        r.escalation = Some(EscalationReason::Intent);
        r
    }

    fn turn(text: &str, outcome: TurnOutcome, lang: &str) -> Turn {
        Turn {
            id: MessageId::generate(),
            text: text.into(),
            reply: "…".into(),
            outcome,
            language: lang.into(),
            intent: None,
            article: None,
            confidence: 0.5,
            at_ms: 1_780_000_000_000,
            response_ms: None,
            client_id: None,
            shown: None,
        }
    }

    /// A conversation as the caller keeps it, fed one message at a time.
    struct Chat {
        policy: Policy,
        turns: Vec<Turn>,
        feedback: Vec<Feedback>,
        handoff: Handoff,
        customer: Customer,
        now: Timestamp,
    }

    impl Chat {
        fn new(policy: Policy, now: &str) -> Chat {
            Chat {
                policy,
                turns: Vec::new(),
                feedback: Vec::new(),
                handoff: Handoff::Bot,
                customer: Customer::default(),
                now: ts(now),
            }
        }

        /// Decides on a message and records the turn as the caller would.
        fn say(&mut self, text: &str, reply: &Reply) -> Decision {
            let d = self.policy.decide(&TurnInput {
                text,
                reply,
                turns: &self.turns,
                feedback: &self.feedback,
                handoff: &self.handoff,
                customer: &self.customer,
                language: &reply.language,
                now: self.now,
            });
            if let Some(h) = &d.handoff {
                self.handoff = h.clone();
            }
            let mut t = turn(text, d.recorded_outcome(reply), &d.language);
            t.reply = d.text(reply).to_string();
            t.intent = reply.intent.as_ref().map(|i| i.to_string());
            self.turns.push(t);
            d
        }
    }

    #[track_caller]
    fn live(d: &Decision, reason: Reason) -> &TicketDraft {
        assert_eq!(d.step, Step::HandedOverLive, "{d:?}");
        let t = d.ticket.as_ref().expect("a ticket");
        assert_eq!((t.reason, t.mode), (reason, Mode::Live));
        assert_eq!(
            d.handoff,
            Some(Handoff::HandedOver {
                ticket: t.id.clone(),
                mode: Mode::Live
            })
        );
        t
    }

    #[track_caller]
    fn no_handover(d: &Decision) {
        assert_eq!(d.step, Step::Bot, "{d:?}");
        assert!(d.ticket.is_none() && d.handoff.is_none(), "{d:?}");
    }

    #[test]
    fn low_confidence_hands_over_live_in_english_and_dutch() {
        for (lang, says) in [("en", "colleague"), ("nl", "collega")] {
            let mut chat = Chat::new(policy(), OPEN);
            let d = chat.say("blorp the flux capacitor", &low_confidence(lang));
            live(&d, Reason::LowConfidence);
            assert!(d.text.as_deref().unwrap().contains(says), "{d:?}");
            assert_eq!(d.language, lang);
        }
    }

    #[test]
    fn human_request_hands_over_in_spanish_and_portuguese() {
        let handoff = |lang| escalating(lang, HUMAN_HANDOFF_INTENT, "hardcoded hours text");
        let mut chat = Chat::new(policy(), OPEN);
        let d = chat.say("quiero hablar con una persona", &handoff("es"));
        live(&d, Reason::HumanRequested);
        // The intent's own text names fixed hours; the policy's replaces it.
        assert_eq!(d.text.as_deref(), Some(texts("es").live));

        let mut chat = Chat::new(policy(), OPEN);
        let d = chat.say("quero falar com um atendente", &handoff("pt"));
        live(&d, Reason::HumanRequested);
        assert_eq!(d.text.as_deref(), Some(texts("pt").live));
    }

    #[test]
    fn two_fallbacks_in_a_row_hand_over_in_english_and_spanish() {
        for (lang, first, second) in [
            ("en", "the thing with the stuff", "no, the other thing"),
            ("es", "lo de la cosa", "no, la otra cosa"),
        ] {
            let mut chat = Chat::new(policy(), OPEN);
            no_handover(&chat.say(first, &clarify(lang)));
            let d = chat.say(second, &clarify(lang));
            live(&d, Reason::RepeatedFallback);
        }
        // An answer in between breaks the run.
        let mut chat = Chat::new(policy(), OPEN);
        no_handover(&chat.say("a", &clarify("en")));
        no_handover(&chat.say("b", &answer("en", None)));
        no_handover(&chat.say("c", &clarify("en")));
    }

    #[test]
    fn three_fallbacks_when_configured() {
        let p = policy_with(|s| s.triggers.consecutive_fallbacks = 3);
        let mut chat = Chat::new(p, OPEN);
        no_handover(&chat.say("a", &clarify("en")));
        no_handover(&chat.say("b", &clarify("en")));
        live(&chat.say("c", &clarify("en")), Reason::RepeatedFallback);
    }

    #[test]
    fn frustration_words_hand_over_in_dutch_and_portuguese_and_english() {
        for (lang, text) in [
            ("nl", "Dit is echt BELACHELIJK, al drie dagen niks"),
            ("pt", "Estou farto de esperar pela encomenda"),
            ("en", "I'm fed up with waiting"),
        ] {
            let mut chat = Chat::new(policy(), OPEN);
            let d = chat.say(text, &answer(lang, Some("track_order")));
            live(&d, Reason::Frustration);
        }
        // Accents do not matter: "inútil" matches the folded "inutil".
        let mut chat = Chat::new(policy(), OPEN);
        live(
            &chat.say("eres inútil", &answer("es", None)),
            Reason::Frustration,
        );
    }

    #[test]
    fn frustration_phrases_extend_from_config() {
        let p = policy_with(|s| {
            s.triggers
                .frustration
                .phrases
                .insert("en".into(), vec!["total rip-off".into()]);
        });
        let mut chat = Chat::new(p, OPEN);
        live(
            &chat.say("what a total rip-off", &answer("en", None)),
            Reason::Frustration,
        );
        let mut chat = Chat::new(policy(), OPEN);
        no_handover(&chat.say("what a total rip-off", &answer("en", None)));
    }

    #[test]
    fn the_abuse_intent_counts_as_frustration() {
        let mut chat = Chat::new(policy(), OPEN);
        live(
            &chat.say("stupid bot", &answer("en", Some("abuse"))),
            Reason::Frustration,
        );
    }

    #[test]
    fn two_thumbs_down_hand_over_in_english_and_spanish() {
        for lang in ["en", "es"] {
            let mut chat = Chat::new(policy(), OPEN);
            no_handover(&chat.say("where is my order", &answer(lang, Some("track_order"))));
            let first = chat.turns[0].id.clone();
            chat.feedback.push(Feedback::Helpful {
                message: first,
                helpful: false,
            });
            no_handover(&chat.say("and the refund", &answer(lang, None)));
            let second = chat.turns[1].id.clone();
            chat.feedback.push(Feedback::Helpful {
                message: second,
                helpful: false,
            });
            live(
                &chat.say("hello?", &answer(lang, None)),
                Reason::Frustration,
            );
        }
    }

    #[test]
    fn a_thumbs_down_counts_once_per_reply_and_can_be_taken_back() {
        let mut chat = Chat::new(policy(), OPEN);
        chat.say("a", &answer("en", None));
        let id = chat.turns[0].id.clone();
        let down = |m: &MessageId| Feedback::Helpful {
            message: m.clone(),
            helpful: false,
        };
        chat.feedback.extend([down(&id), down(&id)]);
        no_handover(&chat.say("b", &answer("en", None)));
        let id2 = chat.turns[1].id.clone();
        chat.feedback.push(down(&id2));
        chat.feedback.push(Feedback::Helpful {
            message: id,
            helpful: true,
        });
        no_handover(&chat.say("c", &answer("en", None)));
    }

    #[test]
    fn old_thumbs_down_do_not_trigger_again() {
        let mut chat = Chat::new(policy(), OPEN);
        chat.say("a", &answer("en", None));
        chat.say("b", &answer("en", None));
        for t in chat.turns.clone() {
            chat.feedback.push(Feedback::Helpful {
                message: t.id,
                helpful: false,
            });
        }
        chat.say("c", &answer("en", None)); // no thumbs-down on this reply
        no_handover(&chat.say("d", &answer("en", None)));
    }

    #[test]
    fn escalate_intents_hand_over_with_their_own_answer_in_english_and_spanish() {
        let mut chat = Chat::new(policy(), OPEN);
        let fraud = escalating("en", "fraud_report", "Please also contact your bank.");
        let d = chat.say("someone used my card, this is fraud", &fraud);
        let t = live(&d, Reason::EscalateIntent);
        assert_eq!(d.text.as_deref(), Some("Please also contact your bank."));
        assert_eq!(
            (t.priority, t.category.as_str()),
            (Priority::Urgent, "fraud")
        );
        assert_eq!(t.intent.as_deref(), Some("fraud_report"));
        assert_eq!(t.subject, "Fraud report");

        let mut chat = Chat::new(policy(), OPEN);
        let legal = escalating("es", "legal_threat", "Lo entiendo.");
        let t = live(
            &chat.say("voy a hablar con mi abogado", &legal),
            Reason::EscalateIntent,
        )
        .clone();
        assert_eq!((t.priority, t.category.as_str()), (Priority::High, "legal"));
    }

    #[test]
    fn each_trigger_can_be_switched_off() {
        let off = |change: fn(&mut PolicySettings)| Chat::new(policy_with(change), OPEN);

        let mut chat = off(|s| s.triggers.low_confidence = false);
        let d = chat.say("blorp", &low_confidence("en"));
        no_handover(&d);
        // The engine's "passing you to a colleague" would be a broken promise.
        assert_eq!(d.text.as_deref(), Some(texts("en").no_handover));

        let mut chat = off(|s| s.triggers.human_request = false);
        let d = chat.say("human please", &escalating("en", HUMAN_HANDOFF_INTENT, "x"));
        no_handover(&d);

        let mut chat = off(|s| s.triggers.consecutive_fallbacks = 0);
        no_handover(&chat.say("a", &clarify("en")));
        let d = chat.say("b", &clarify("en"));
        no_handover(&d);
        assert_eq!(d.text, None, "a clarify stands as the engine wrote it");

        let mut chat = off(|s| s.triggers.frustration.enabled = false);
        no_handover(&chat.say("this is ridiculous", &answer("en", None)));
        no_handover(&chat.say("stupid bot", &answer("en", Some("abuse"))));

        let mut chat = off(|s| s.triggers.frustration.builtin_phrases = false);
        no_handover(&chat.say("this is ridiculous", &answer("en", None)));

        let mut chat = off(|s| s.triggers.frustration.negative_feedback = 0);
        chat.say("a", &answer("en", None));
        chat.say("b", &answer("en", None));
        for t in chat.turns.clone() {
            chat.feedback.push(Feedback::Helpful {
                message: t.id,
                helpful: false,
            });
        }
        no_handover(&chat.say("c", &answer("en", None)));

        let mut chat = off(|s| s.triggers.escalate_intents = false);
        no_handover(&chat.say("fraud!", &escalating("en", "fraud_report", "x")));
    }

    #[test]
    fn outside_hours_the_shopper_leaves_a_message_with_a_validated_email() {
        let mut chat = Chat::new(policy(), CLOSED);
        let d = chat.say(
            "I want to talk to a person",
            &escalating("en", HUMAN_HANDOFF_INTENT, "x"),
        );
        assert_eq!(d.step, Step::AskedForEmail);
        assert!(d.ticket.is_none());
        assert_eq!(d.text.as_deref(), Some(texts("en").ask_email));
        assert!(matches!(
            chat.handoff,
            Handoff::AwaitingEmail {
                attempts: 0,
                reason: Reason::HumanRequested,
                ..
            }
        ));

        // Language detection of an address is noise: the dialogue keeps the shopper's language.
        let d = chat.say("ana@example", &low_confidence("nl"));
        assert_eq!(d.step, Step::InvalidEmail);
        assert_eq!(d.language, "en");
        let text = d.text.unwrap();
        assert!(
            text.contains("“ana@example”") && text.contains("after the @"),
            "{text}"
        );
        assert!(matches!(
            chat.handoff,
            Handoff::AwaitingEmail { attempts: 1, .. }
        ));

        let d = chat.say("ana@example.com.", &low_confidence("en"));
        assert_eq!(d.step, Step::InvalidEmail);
        assert!(d.text.unwrap().contains("ends with a dot"));

        let d = chat.say("sorry, it's ana@example.com", &low_confidence("en"));
        assert_eq!(d.step, Step::AskedForMessage);
        assert!(d.text.unwrap().contains("ana@example.com"));
        assert!(
            matches!(&chat.handoff, Handoff::AwaitingMessage { email: Some(e), .. } if e == "ana@example.com")
        );

        let message = "My order 1234 arrived broken and I need a replacement before Friday";
        let d = chat.say(message, &low_confidence("en"));
        assert_eq!(d.step, Step::MessageTaken);
        let t = d.ticket.as_ref().unwrap();
        assert_eq!((t.reason, t.mode), (Reason::HumanRequested, Mode::Offline));
        assert_eq!(t.email.as_deref(), Some("ana@example.com"));
        assert_eq!(
            t.subject,
            "My order 1234 arrived broken and I need a replacement before Friday"
        );
        assert_eq!(t.intent.as_deref(), Some(HUMAN_HANDOFF_INTENT));
        assert_eq!(
            d.text.as_deref(),
            Some("Thanks, I've passed your message to our team. Our team is back tomorrow at 09:00 (Amsterdam time) and will reply to you then. The reply will go to ana@example.com.")
        );
        assert_eq!(
            chat.handoff,
            Handoff::HandedOver {
                ticket: t.id.clone(),
                mode: Mode::Offline
            }
        );
    }

    #[test]
    fn outside_hours_with_a_known_email_the_bot_asks_for_the_message_in_spanish() {
        let mut chat = Chat::new(policy(), CLOSED);
        chat.customer.email = Some("lucia@ejemplo.es".into());
        let d = chat.say("estoy harta de esperar", &answer("es", None));
        assert_eq!(d.step, Step::AskedForMessage);
        let text = d.text.unwrap();
        assert!(
            text.contains("lucia@ejemplo.es") && text.starts_with("Ahora mismo"),
            "{text}"
        );
        let d = chat.say(
            "El pedido 88 lleva dos semanas sin llegar",
            &answer("es", None),
        );
        assert_eq!(d.step, Step::MessageTaken);
        let t = d.ticket.unwrap();
        assert_eq!((t.reason, t.mode), (Reason::Frustration, Mode::Offline));
        assert_eq!(t.email.as_deref(), Some("lucia@ejemplo.es"));
        assert!(d.text.unwrap().contains("mañana a las 09:00"));
    }

    #[test]
    fn outside_hours_in_portuguese_an_incomplete_address_is_explained() {
        let mut chat = Chat::new(policy(), CLOSED);
        let d = chat.say(
            "quero falar com um humano",
            &escalating("pt", HUMAN_HANDOFF_INTENT, "x"),
        );
        assert_eq!(d.text.as_deref(), Some(texts("pt").ask_email));
        let d = chat.say("joao@", &low_confidence("pt"));
        assert_eq!(
            d.text.as_deref(),
            Some("Desculpe, «joao@» não parece um endereço de e-mail completo: a parte depois do @ está incompleta. Pode escrevê-lo novamente? Deve ser algo como nome@exemplo.com.")
        );
        let d = chat.say("é joao.silva@exemplo.pt", &low_confidence("pt"));
        assert_eq!(d.step, Step::AskedForMessage);
        let d = chat.say("A minha encomenda chegou partida", &low_confidence("pt"));
        assert_eq!(d.step, Step::MessageTaken);
        assert!(d.text.unwrap().contains("amanhã às 09:00"));
    }

    #[test]
    fn an_escalating_intent_outside_hours_keeps_its_answer_before_the_email_prompt() {
        let mut chat = Chat::new(policy(), CLOSED);
        let d = chat.say(
            "the stove exploded",
            &escalating("en", "injury_report", "Stop using it."),
        );
        assert_eq!(d.step, Step::AskedForEmail);
        assert_eq!(
            d.text.unwrap(),
            format!("Stop using it.\n\n{}", texts("en").ask_email)
        );
    }

    #[test]
    fn holidays_take_the_offline_path() {
        // Friday 25 December 2026, 11:00 in Amsterdam: a holiday.
        let mut chat = Chat::new(policy(), "2026-12-25T10:00:00Z");
        let d = chat.say("human please", &escalating("en", HUMAN_HANDOFF_INTENT, "x"));
        assert_eq!(d.step, Step::AskedForEmail);
    }

    #[test]
    fn the_shopper_can_cancel_in_dutch_and_portuguese() {
        for (lang, cancel) in [
            ("nl", "Laat maar!"),
            ("pt", "esquece"),
            ("es", "cancelar"),
            ("en", "never mind"),
        ] {
            let mut chat = Chat::new(policy(), CLOSED);
            chat.say("?", &escalating(lang, HUMAN_HANDOFF_INTENT, "x"));
            let d = chat.say(cancel, &low_confidence(lang));
            assert_eq!(d.step, Step::Cancelled, "{lang}");
            assert_eq!(d.handoff, Some(Handoff::Bot));
            assert_eq!(d.text.as_deref(), Some(texts(lang).cancelled));
            assert!(d.ticket.is_none());
        }
        // While waiting for the message too; a sentence that mentions cancelling is a message.
        let mut chat = Chat::new(policy(), CLOSED);
        chat.customer.email = Some("jan@voorbeeld.nl".into());
        chat.say("?", &escalating("nl", HUMAN_HANDOFF_INTENT, "x"));
        let d = chat.say("ik wil mijn bestelling annuleren", &answer("nl", None));
        assert_eq!(d.step, Step::MessageTaken);
    }

    #[test]
    fn after_three_invalid_emails_the_ticket_goes_without_one() {
        let mut chat = Chat::new(policy(), CLOSED);
        chat.say(
            "my parcel never came, this is ridiculous",
            &answer("en", None),
        );
        assert!(matches!(chat.handoff, Handoff::AwaitingEmail { .. }));
        assert_eq!(
            chat.say("no idea", &low_confidence("en")).step,
            Step::InvalidEmail
        );
        assert_eq!(
            chat.say("ana at example", &low_confidence("en")).step,
            Step::InvalidEmail
        );
        let d = chat.say("ana@", &low_confidence("en"));
        assert_eq!(d.step, Step::GaveUpOnEmail);
        let t = d.ticket.unwrap();
        assert_eq!((t.mode, t.email.as_deref()), (Mode::Offline, None));
        assert_eq!(t.subject, "my parcel never came, this is ridiculous");
        assert!(d.text.unwrap().contains("without one"));
        assert!(matches!(
            chat.handoff,
            Handoff::HandedOver {
                mode: Mode::Offline,
                ..
            }
        ));
    }

    #[test]
    fn a_shopper_who_cancelled_is_not_offered_a_person_again_at_the_next_clarify() {
        let mut chat = Chat::new(policy(), CLOSED);
        no_handover(&chat.say("a", &clarify("en")));
        assert_eq!(chat.say("b", &clarify("en")).step, Step::AskedForEmail);
        // The engine makes nothing of "cancel" either: it clarifies.
        let d = chat.say("cancel", &clarify("en"));
        assert_eq!(
            (d.step, d.recorded_outcome(&clarify("en"))),
            (Step::Cancelled, TurnOutcome::Handoff)
        );
        no_handover(&chat.say("c", &clarify("en")));
        assert_eq!(chat.say("d", &clarify("en")).step, Step::AskedForEmail);
    }

    #[test]
    fn the_subject_is_never_an_email_attempt() {
        let mut chat = Chat::new(policy(), CLOSED);
        chat.say(
            "talk to a human",
            &escalating("en", HUMAN_HANDOFF_INTENT, "x"),
        );
        chat.say("x", &low_confidence("en"));
        chat.say("y", &low_confidence("en"));
        let d = chat.say("ana@", &low_confidence("en"));
        assert_eq!(d.step, Step::GaveUpOnEmail);
        assert_eq!(d.ticket.unwrap().subject, "talk to a human");
    }

    #[test]
    fn max_email_attempts_is_configurable() {
        let mut chat = Chat::new(policy_with(|s| s.max_email_attempts = 1), CLOSED);
        chat.say("?", &escalating("en", HUMAN_HANDOFF_INTENT, "x"));
        assert_eq!(
            chat.say("nope", &low_confidence("en")).step,
            Step::GaveUpOnEmail
        );
    }

    #[test]
    fn an_empty_message_is_asked_for_again() {
        let mut chat = Chat::new(policy(), CLOSED);
        chat.customer.email = Some("a@b.co".into());
        chat.say("?", &escalating("en", HUMAN_HANDOFF_INTENT, "x"));
        let d = chat.say("   ", &low_confidence("en"));
        assert_eq!(d.step, Step::AskedForMessage);
        assert!(d.ticket.is_none());
    }

    #[test]
    fn once_handed_over_there_is_no_second_ticket() {
        let mut chat = Chat::new(policy(), OPEN);
        live(
            &chat.say("human", &escalating("en", HUMAN_HANDOFF_INTENT, "x")),
            Reason::HumanRequested,
        );
        let d = chat.say("hello?? this is ridiculous", &answer("en", None));
        assert_eq!(d.step, Step::AlreadyHandedOver);
        assert!(d.ticket.is_none() && d.handoff.is_none());
        assert_eq!(d.text.as_deref(), Some(texts("en").already_live));
        let d = chat.say("human!", &escalating("en", HUMAN_HANDOFF_INTENT, "x"));
        assert_eq!(d.step, Step::AlreadyHandedOver);
        // A question the engine answers is still answered while the shopper waits.
        let d = chat.say(
            "how long does shipping take",
            &answer("en", Some("shipping_time")),
        );
        assert_eq!((d.step, d.text), (Step::Bot, None));
    }

    #[test]
    fn priority_and_category_rules_in_spanish_and_dutch() {
        let mut chat = Chat::new(policy(), OPEN);
        chat.say("hola", &answer("es", Some("greeting")));
        let d = chat.say("me cobraron dos veces el pedido", &low_confidence("es"));
        let t = live(&d, Reason::LowConfidence);
        assert_eq!(
            (t.priority, t.category.as_str()),
            (Priority::High, "billing")
        );
        assert_eq!(t.subject, "me cobraron dos veces el pedido");

        // An earlier message of the conversation counts too.
        let mut chat = Chat::new(policy(), OPEN);
        chat.say("Mijn advocaat gaat hier naar kijken", &answer("nl", None));
        let d = chat.say(
            "ik wil een medewerker spreken",
            &escalating("nl", HUMAN_HANDOFF_INTENT, "x"),
        );
        let t = live(&d, Reason::HumanRequested);
        assert_eq!((t.priority, t.category.as_str()), (Priority::High, "legal"));
        assert_eq!(t.subject, "Mijn advocaat gaat hier naar kijken");

        let mut chat = Chat::new(policy(), OPEN);
        let d = chat.say(
            "ik ben gewond geraakt door de brander",
            &low_confidence("nl"),
        );
        assert_eq!(live(&d, Reason::LowConfidence).priority, Priority::Urgent);
    }

    #[test]
    fn everyday_words_do_not_raise_the_priority() {
        // "Sue" is a name and "processar o pedido" is processing an order, not a lawsuit.
        for (lang, text) in [
            ("en", "Hi, this is Sue, where is my parcel"),
            ("pt", "quando vão processar o meu pedido"),
            ("es", "hay harto stock?"),
        ] {
            let mut chat = Chat::new(policy(), OPEN);
            let t = live(
                &chat.say(text, &low_confidence(lang)),
                Reason::LowConfidence,
            )
            .clone();
            assert_eq!(
                (t.priority, t.category.as_str()),
                (Priority::Normal, "general"),
                "{text}"
            );
        }
        // "harto" alone is "a lot" in much of Latin America; "estoy harto" is fed up.
        let mut chat = Chat::new(policy(), OPEN);
        no_handover(&chat.say("hay harto stock?", &answer("es", None)));
        live(
            &chat.say("estoy harto", &answer("es", None)),
            Reason::Frustration,
        );
    }

    #[test]
    fn shop_rules_come_first_and_defaults_use_the_article_topic() {
        let p = policy_with(|s| {
            s.rules.push(RuleSettings {
                phrases: BTreeMap::from([("en".into(), vec!["charged twice".into()])]),
                intents: vec![],
                priority: Priority::Urgent,
                category: "payments".into(),
            })
        });
        let mut chat = Chat::new(p, OPEN);
        let d = chat.say("I was charged twice", &low_confidence("en"));
        let t = live(&d, Reason::LowConfidence);
        assert_eq!(
            (t.priority, t.category.as_str()),
            (Priority::Urgent, "payments")
        );

        let mut chat = Chat::new(policy(), OPEN);
        let mut r = answer("en", None);
        r.article = Some("en/shipping/delivery-times".to_string().try_into().unwrap());
        let d = chat.say("my parcel is late, this is ridiculous", &r);
        let t = live(&d, Reason::Frustration);
        assert_eq!(
            (t.priority, t.category.as_str()),
            (Priority::Normal, "shipping")
        );

        let mut chat = Chat::new(policy(), OPEN);
        let t = live(
            &chat.say("blorp", &low_confidence("en")),
            Reason::LowConfidence,
        )
        .clone();
        assert_eq!(
            (t.priority, t.category.as_str()),
            (Priority::Normal, "general")
        );
    }

    #[test]
    fn settings_read_from_yaml_with_defaults_and_name_bad_keys() {
        let s: PolicySettings = serde_yaml::from_str(
            "triggers:\n  consecutive_fallbacks: 0\n  frustration:\n    phrases: {nl: [\"wat een gedoe\"]}\nrules:\n  - intents: [damaged_item]\n    priority: high\n    category: damage\n",
        )
        .unwrap();
        assert_eq!(s.triggers.consecutive_fallbacks, 0);
        assert!(s.triggers.low_confidence && s.triggers.frustration.enabled);
        assert_eq!(s.triggers.frustration.negative_feedback, 2);
        assert_eq!(s.max_email_attempts, 3);
        assert_eq!(s.rules[0].priority, Priority::High);
        Policy::new(s, hours()).unwrap();

        let e = serde_yaml::from_str::<PolicySettings>("triggers:\n  low_confidance: false\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `low_confidance`"), "{e}");

        let err = |change: fn(&mut PolicySettings)| {
            let mut s = PolicySettings::default();
            change(&mut s);
            Policy::new(s, hours()).unwrap_err().to_string()
        };
        assert_eq!(
            err(|s| s.rules.push(RuleSettings {
                phrases: BTreeMap::new(),
                intents: vec![],
                priority: Priority::High,
                category: "x".into()
            })),
            "`rules[0]`: the rule has no `phrases` and no `intents`, so it would never match"
        );
        assert!(err(|s| {
            s.triggers
                .frustration
                .phrases
                .insert("english".into(), vec!["x".into()]);
        })
        .starts_with("`triggers.frustration.phrases`: `english` is not a language"));
        assert!(err(|s| {
            s.triggers
                .frustration
                .phrases
                .insert("en".into(), vec!["?!".into()]);
        })
        .starts_with("`triggers.frustration.phrases.en`: `?!` has no words"));
        assert!(err(|s| s.max_email_attempts = 0).starts_with("`max_email_attempts`"));
        assert!(err(|s| s.default_category = " ".into()).starts_with("`default_category`"));
    }

    #[test]
    fn subjects_are_short() {
        let long = "word ".repeat(40);
        let s = cut(&long, SUBJECT_MAX_CHARS);
        assert!(
            s.chars().count() <= SUBJECT_MAX_CHARS && s.ends_with("word…"),
            "{s}"
        );
        assert_eq!(humanize("account_change_request"), "Account change request");
        assert_eq!(
            article_topic("en/shipping/delivery-times"),
            Some("shipping")
        );
        assert_eq!(article_topic("en/faq"), None);
        assert_eq!(article_topic("returns/how-to"), Some("returns"));
    }
}
