//! The JSON wire shapes of the API: the only place that knows them. Engine and store types are
//! converted here so that a change inside the engine is not a change of the API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::conversation::Turned;
use crate::diagnostic::Diagnostic;
use crate::engine::{Reply, SearchHit};
use crate::escalation::{DeliveryState, Handoff, OutboxEntry};

/// `POST /v1/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    /// Continue this conversation; omit it to start a new one.
    pub conversation_id: Option<String>,
    pub customer: Option<CustomerIn>,
    /// Where the message comes from (default `web`): letters, digits, `-`, `_`.
    pub channel: Option<String>,
    /// The page's language (`<html lang>`): a hint, the message decides.
    #[schema(example = "en")]
    pub locale: Option<String>,
    /// What the shopper wrote.
    #[schema(example = "how do I return my boots?")]
    pub text: String,
    /// The client's own id for this message, to send a retry with: a message with an id the
    /// conversation already holds is not answered or stored again, the reply to it is the
    /// one stored the first time (same `message_id`, `outcome`, `text`…). Choose a fresh one
    /// per message (a UUID) and reuse it only to retry that message. 1 to 64 letters,
    /// digits, `-` and `_`; anything else is refused (400 `invalid_client_message_id`).
    /// Counts within a conversation: a first message (no `conversation_id`) sent again
    /// starts another conversation.
    #[schema(
        example = "7d1f0c2e-5b9a-4c1e-9f3a-2b6d8e0a4c11",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-]{1,64}$"
    )]
    pub client_message_id: Option<String>,
}

/// The shopper, as the shop knows them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    /// Counts only with `identifier_hash`; without it the shopper is an anonymous visitor.
    pub id: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `id` keyed with `handover.identity_secret`, computed by
    /// the shop's server (`docs/handover.md`).
    pub identifier_hash: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The bot's reply to one message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageResponse {
    pub conversation_id: String,
    /// The id to send feedback on this reply with.
    pub message_id: String,
    /// `answer`, `clarify` ("did you mean": see `suggestions`) or `escalate` (hand to a person).
    #[schema(example = "answer")]
    pub outcome: String,
    /// ISO 639-1 code of the shopper's language.
    pub language: String,
    pub intent: Option<String>,
    /// The article used, or the best candidate.
    pub article: Option<String>,
    /// Roughly the probability that `intent`/`article` is right, in [0, 1].
    pub confidence: f32,
    /// What the shopper is shown (plain text).
    pub text: String,
    pub suggestions: Vec<SuggestionOut>,
    pub link: Option<LinkOut>,
    /// The answer is in the shop's default language because the shopper's has none.
    pub fallback: bool,
    /// Why it is handed to a person: `low_confidence`, `human_requested`,
    /// `repeated_fallback`, `frustration`, `escalate_intent` or `flow_failed` (`intent` when the shop
    /// switched the trigger off and the engine alone wanted a person).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<String>,
    /// Where the conversation is in the hand-over to a person, once it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffOut>,
    /// A flow asks the shopper to pick one of these (a choice slot): show them as buttons;
    /// sending a button's `label` (or its number, "2") as the next message picks it. Absent
    /// when there is nothing to pick.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReplyOut>,
    /// The conversation's own token, in the reply to its first message only: keep it to
    /// read the conversation's history and live events (`Authorization: Bearer …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_token: Option<String>,
}

/// One quick reply of a flow's choice slot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuickReplyOut {
    /// What the button shows, in the shopper's language; send it back as the message text.
    #[schema(example = "Standard delivery")]
    pub label: String,
    /// The value the slot takes (for clients that keep their own state).
    #[schema(example = "standard")]
    pub value: String,
}

/// The hand-over to a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HandoffOut {
    /// `awaiting_email` (outside business hours: the bot asked for an address),
    /// `awaiting_message` (the bot asked the shopper to leave a message) or `handed_over`
    /// (a ticket was created).
    #[schema(example = "handed_over")]
    pub stage: String,
    /// `live` (a person takes over now) or `offline` (the reply comes by email); with
    /// `handed_over`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The helpdesk ticket's id (the webhook's `id`); with `handed_over`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
}

impl HandoffOut {
    /// The API's view of a conversation's hand-over state; `None` while the bot answers.
    pub fn from_state(h: &Handoff) -> Option<HandoffOut> {
        let stage = |s: &str| HandoffOut {
            stage: s.to_string(),
            mode: None,
            ticket_id: None,
        };
        match h {
            Handoff::Bot => None,
            Handoff::AwaitingEmail { .. } => Some(stage("awaiting_email")),
            Handoff::AwaitingMessage { .. } => Some(stage("awaiting_message")),
            Handoff::HandedOver { ticket, mode } => Some(HandoffOut {
                mode: Some(mode.as_str().to_string()),
                ticket_id: Some(ticket.to_string()),
                ..stage("handed_over")
            }),
        }
    }
}

/// A "did you mean" choice: send its `title` as the next message to pick it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SuggestionOut {
    pub article: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    pub title: String,
    pub score: f32,
}

/// A link to the article an answer comes from.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkOut {
    pub article: String,
    pub title: String,
    pub url: String,
}

impl MessageResponse {
    pub fn new(conversation_id: String, message_id: String, r: Reply) -> Self {
        MessageResponse {
            conversation_id,
            message_id,
            outcome: outcome_name(&r).to_string(),
            language: r.language,
            intent: r.intent.map(|i| i.to_string()),
            article: r.article.map(|a| a.to_string()),
            confidence: r.confidence,
            text: r.text,
            suggestions: r
                .suggestions
                .into_iter()
                .map(|s| SuggestionOut {
                    article: s.article.map(|a| a.to_string()),
                    intent: s.intent.map(|i| i.to_string()),
                    title: s.title,
                    score: s.score,
                })
                .collect(),
            link: r.link.map(|l| LinkOut {
                article: l.article.to_string(),
                title: l.title,
                url: l.url,
            }),
            fallback: r.fallback,
            escalation: r.escalation.map(|e| match e {
                crate::engine::EscalationReason::LowConfidence => "low_confidence".to_string(),
                crate::engine::EscalationReason::Intent => "intent".to_string(),
            }),
            handoff: None,
            quick_replies: Vec::new(),
            conversation_token: None,
        }
    }
}

impl MessageResponse {
    /// The response to a turn the conversation core decided.
    pub fn from_turned(conversation_id: String, message_id: String, t: Turned) -> Self {
        let mut response = MessageResponse::new(conversation_id, message_id, t.reply);
        response.outcome = t.outcome.as_str().to_string();
        if let Some(reason) = t.escalation {
            response.escalation = Some(reason.as_str().to_string());
        }
        response.handoff = HandoffOut::from_state(&t.handoff);
        if let Some(flow) = t.flow {
            response.quick_replies = flow
                .choices
                .into_iter()
                .map(|c| QuickReplyOut {
                    label: c.label,
                    value: c.value,
                })
                .collect();
        }
        response
    }
}

/// `answer`, `clarify` or `escalate`.
pub fn outcome_name(r: &Reply) -> &'static str {
    match r.outcome {
        crate::engine::Outcome::Answer => "answer",
        crate::engine::Outcome::Clarify => "clarify",
        crate::engine::Outcome::Escalate => "escalate",
    }
}

/// `GET /v1/search` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to search for.
    pub q: Option<String>,
    /// Search this language's articles (default: detected from the query).
    pub locale: Option<String>,
    /// How many results, 1 to 50 (default 10).
    pub limit: Option<usize>,
}

/// `GET /v1/search` results, best first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResponse {
    pub results: Vec<SearchHitOut>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchHitOut {
    pub article: String,
    pub title: String,
    pub score: f32,
    /// The start of the best-matching section, plain text.
    pub snippet: String,
    pub url: String,
}

impl SearchHitOut {
    pub fn new(h: SearchHit, url: String) -> Self {
        SearchHitOut {
            article: h.article.to_string(),
            title: h.title,
            score: h.score,
            snippet: h.snippet,
            url,
        }
    }
}

/// `GET /v1/articles/{id}`: an article rendered to safe HTML.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArticleResponse {
    pub id: String,
    pub locale: String,
    pub title: String,
    pub tags: Vec<String>,
    pub url: String,
    /// The body as sanitized HTML (no scripts, no event handlers, no styles).
    pub html: String,
    pub sections: Vec<SectionOut>,
    /// The same article in other languages.
    pub translations: Vec<TranslationOut>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SectionOut {
    pub heading: Option<String>,
    pub anchor: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TranslationOut {
    pub locale: String,
    pub id: String,
}

/// `POST /v1/feedback`: thumbs on one reply (`message_id` + `helpful`) or a satisfaction
/// rating of the conversation (`rating`, 1 to 5).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub conversation_id: String,
    pub message_id: Option<String>,
    pub helpful: Option<bool>,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i64>,
}

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusOk {
    pub status: String,
}

/// `GET /readyz` and `GET /admin/status`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadyResponse {
    /// An index is loaded and answering.
    pub ready: bool,
    /// Why not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Counts the versions of the content served so far (1 after the first load).
    pub generation: u64,
    pub articles: usize,
    pub intents: usize,
    /// Unix milliseconds of the version served.
    pub loaded_at_ms: Option<u64>,
    /// Which content is served: 16 hex digits hashed from the knowledge base's and intents'
    /// files, equal on replicas serving the same files.
    pub content_version: Option<String>,
    /// Problems of the last load attempt. With errors, the previous version is still served.
    pub problems: Vec<ProblemOut>,
    /// The last edit was refused because of errors; `generation` is still served.
    pub reload_failed: bool,
}

/// A problem in what editors wrote.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProblemOut {
    /// `error` or `warning`.
    pub severity: String,
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl From<&Diagnostic> for ProblemOut {
    fn from(d: &Diagnostic) -> Self {
        ProblemOut {
            severity: if d.is_error() { "error" } else { "warning" }.to_string(),
            file: d.file.display().to_string(),
            line: d.line,
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

/// Every error body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `text_too_long`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// `GET /admin/tickets` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketsParams {
    /// `pending`, `delivered`, `dead` or `all` (default).
    pub state: Option<String>,
    /// At most this many, newest first (default 50, at most 1000).
    pub limit: Option<usize>,
}

/// `GET /admin/tickets`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketsResponse {
    pub tickets: Vec<TicketOut>,
}

/// A ticket's delivery, without the transcript (the helpdesk has it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketOut {
    pub id: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: u32,
    /// Unix milliseconds of the next attempt (pending tickets).
    pub next_attempt_ms: Option<u64>,
    pub last_error: Option<String>,
    pub created_ms: u64,
    pub delivered_ms: Option<u64>,
    pub conversation_id: String,
    pub reason: String,
    pub mode: String,
    pub priority: String,
    pub category: String,
    pub subject: String,
    /// What a flow had collected when it handed over (`{"order_number": "10423"}`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub slots: std::collections::BTreeMap<String, String>,
}

impl TicketOut {
    pub fn from_entry(e: &OutboxEntry) -> TicketOut {
        let t = &e.ticket;
        TicketOut {
            id: t.id.to_string(),
            state: e.state.as_str().to_string(),
            attempts: e.attempts,
            next_attempt_ms: (e.state == DeliveryState::Pending).then_some(e.next_attempt_ms),
            last_error: e.last_error.clone(),
            created_ms: e.created_ms,
            delivered_ms: e.delivered_ms,
            conversation_id: t.conversation_id.clone(),
            reason: t.reason.as_str().to_string(),
            mode: t.mode.as_str().to_string(),
            priority: t.priority.as_str().to_string(),
            category: t.category.clone(),
            subject: t.subject.clone(),
            slots: t.slots.clone(),
        }
    }
}

/// `POST /admin/tickets/{id}/retry`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetryResponse {
    /// False when the ticket had already been delivered (nothing to do).
    pub retried: bool,
}

/// `GET /admin/api/report` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Conversations that started at or after this: a date (`2026-12-01`, UTC midnight) or an
    /// RFC 3339 time. Default: 30 days before `until`.
    pub since: Option<String>,
    /// … and before this (same formats). Default: now.
    pub until: Option<String>,
    /// One row per `day` (default), `week`, `language` or `channel`.
    pub by: Option<String>,
}

/// `GET /admin/api/gaps` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GapsParams {
    /// Messages sent at or after this (same formats as the report's). Default: 30 days
    /// before `until`.
    pub since: Option<String>,
    /// … and before this. Default: now.
    pub until: Option<String>,
    /// The most asked groups, at most this many (default 20, at most 200).
    pub limit: Option<usize>,
}
