//! Concierge as a Chatwoot agent bot: every inbox of the helpdesk (WhatsApp, e-mail, web…)
//! answered by the same conversation core as the widget. Chatwoot posts its agent-bot events
//! to `POST /chatwoot/webhook?token=…` (`http/chatwoot.rs`); this module decides what an event
//! asks for ([`decide`]), maps it to a Concierge conversation and customer, and speaks back
//! through Chatwoot's application API ([`Client`]). See docs/chatwoot.md.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{ConversationId, Customer, Handoff, Ticket};

/// A token of the Chatwoot integration (the bot's access token, the webhook's token). Never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub const MIN_CHARS: usize = 16;

    /// A token from configuration or the environment; blank means none.
    pub fn new(text: &str) -> Option<Token> {
        let t = text.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }

    /// Compares digests in constant time, whatever the lengths.
    pub fn matches(&self, given: &str) -> bool {
        let a = Sha256::digest(given.as_bytes());
        let b = Sha256::digest(self.0.as_bytes());
        a.ct_eq(&b).into()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Token::new(&text).ok_or_else(|| serde::de::Error::custom("a chatwoot token is blank"))
    }
}

/// `chatwoot:` in the configuration. Off unless `url`, `bot_token` and `webhook_token` are
/// all set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ChatwootSettings {
    /// Chatwoot's address, e.g. `https://chat.example.com`.
    pub url: String,
    /// The account the bot's inboxes belong to.
    pub account_id: u64,
    /// The agent bot's access token (`CONCIERGE_CHATWOOT_BOT_TOKEN` overrides it).
    pub bot_token: Option<Token>,
    /// The `?token=` of the webhook URL configured in Chatwoot
    /// (`CONCIERGE_CHATWOOT_WEBHOOK_TOKEN` overrides it).
    pub webhook_token: Option<Token>,
    /// How long one call to Chatwoot's API may take, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for ChatwootSettings {
    fn default() -> Self {
        ChatwootSettings {
            url: String::new(),
            account_id: 0,
            bot_token: None,
            webhook_token: None,
            timeout_ms: 10_000,
        }
    }
}

impl ChatwootSettings {
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| format!("chatwoot.url `{}`: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("chatwoot.url `{}` must be http(s)", self.url));
        }
        if self.account_id == 0 {
            return Err("chatwoot.account_id is missing (Chatwoot's account number)".into());
        }
        // The tokens may come from the environment after this check: a missing one turns
        // the bot off with a warning at start (`http/chatwoot.rs`).
        if let Some(t) = &self.webhook_token {
            if t.0.chars().count() < Token::MIN_CHARS {
                return Err(format!(
                    "chatwoot.webhook_token must be at least {} characters (e.g. `openssl rand -hex 32`)",
                    Token::MIN_CHARS
                ));
            }
        }
        if self.timeout_ms == 0 {
            return Err("chatwoot.timeout_ms must be at least 1".into());
        }
        Ok(())
    }
}

/// The parts of Chatwoot's agent-bot event (`Message#webhook_data` with `event`) Concierge
/// reads; everything else is ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub event: String,
    #[serde(default)]
    pub message_type: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub account: Option<Ref>,
    /// The conversation events (`Conversation#webhook_data`) name the account by id only.
    #[serde(default)]
    pub account_id: Option<u64>,
    #[serde(default)]
    pub conversation: Option<ConversationRef>,
    #[serde(default)]
    pub sender: Option<Sender>,
    /// `conversation_resolved` (and an account webhook's `conversation_status_changed`) carry
    /// the conversation at the top level.
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ref {
    pub id: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConversationRef {
    pub id: u64,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sender {
    pub id: u64,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// What an event asks of the bot.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A contact wrote in a conversation the bot has: answer it.
    Answer {
        conversation: u64,
        customer: Customer,
        text: String,
    },
    /// The agents gave the conversation back (resolved, or pending again): end the
    /// hand-over in Concierge.
    TakeBack { conversation: u64 },
    /// Nothing to do, and why (for the log).
    Ignore(&'static str),
}

/// What the bot does with `event` of the configured `account`.
pub fn decide(event: &Event, account: u64) -> Decision {
    let from = event.account.as_ref().map(|a| a.id).or(event.account_id);
    if from.is_some_and(|a| a != account) {
        return Decision::Ignore("another account");
    }
    match event.event.as_str() {
        "message_created" => {
            let Some(conversation) = &event.conversation else {
                return Decision::Ignore("no conversation");
            };
            if event.message_type.as_deref() != Some("incoming") || event.private {
                return Decision::Ignore("not a contact's message");
            }
            let Some(sender) = &event.sender else {
                return Decision::Ignore("no sender");
            };
            if sender.kind.as_deref().is_some_and(|k| k != "contact") {
                return Decision::Ignore("not a contact's message");
            }
            if conversation.status.as_deref() != Some("pending") {
                return Decision::Ignore("the agents have this conversation");
            }
            let text = event.content.as_deref().unwrap_or("").trim();
            if text.is_empty() {
                return Decision::Ignore("no text (an attachment?)");
            }
            Decision::Answer {
                conversation: conversation.id,
                customer: customer(sender),
                text: text.to_string(),
            }
        }
        "conversation_resolved" => match event.id {
            Some(id) => Decision::TakeBack { conversation: id },
            None => Decision::Ignore("no conversation"),
        },
        "conversation_status_changed" => match (event.id, event.status.as_deref()) {
            (Some(id), Some("resolved" | "pending")) => Decision::TakeBack { conversation: id },
            (Some(_), _) => Decision::Ignore("still with the agents"),
            (None, _) => Decision::Ignore("no conversation"),
        },
        _ => Decision::Ignore("an event the bot does not handle"),
    }
}

/// The Chatwoot contact as a Concierge customer. Chatwoot authenticated the contact in its
/// channel (a WhatsApp number, an e-mail address), so the id counts as verified: one contact
/// is one customer across all its inboxes.
pub fn customer(sender: &Sender) -> Customer {
    Customer {
        id: Some(format!("chatwoot:{}", sender.id)),
        name: sender.name.clone().filter(|n| !n.trim().is_empty()),
        email: sender.email.clone().filter(|e| !e.trim().is_empty()),
    }
}

/// The Concierge conversation of a Chatwoot conversation: the same one for every message.
pub fn conversation_id(account: u64, conversation: u64) -> ConversationId {
    ConversationId::parse(&format!("c_chatwoot_{account}_{conversation}"))
        .expect("digits and underscores make a valid id")
}

/// What Chatwoot is told of one of the bot's turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Posted as the bot's message; `None`: nothing to say.
    pub reply: Option<String>,
    /// The bot handed the conversation over: it is opened for the agents, with this private
    /// note ([`note`]) after the reply.
    pub hand_over_note: Option<String>,
}

/// What Chatwoot is told after a turn: the reply, and with a new ticket, the conversation
/// opened for the agents with a private note. A conversation already with people in
/// Concierge (handed over before this message, so no new ticket) gets nothing: the agents
/// read the contact's message in Chatwoot itself.
pub fn mirror(reply: &str, handoff: &Handoff, ticket: Option<&Ticket>) -> Mirror {
    if ticket.is_none() && matches!(handoff, Handoff::HandedOver { .. }) {
        return Mirror {
            reply: None,
            hand_over_note: None,
        };
    }
    let reply = reply.trim();
    Mirror {
        reply: (!reply.is_empty()).then(|| reply.to_string()),
        hand_over_note: ticket.map(note),
    }
}

/// The private note the agents read when the bot hands a conversation over.
pub fn note(ticket: &Ticket) -> String {
    let mut s = format!(
        "Concierge handed this conversation over.\n\nSummary: {}\nTopic: {}\nPriority: {}\nReason: {}",
        ticket.subject,
        ticket.intent.as_deref().unwrap_or(&ticket.category),
        word(&ticket.priority),
        word(&ticket.reason),
    );
    if !ticket.slots.is_empty() {
        s.push_str("\n\nCollected details:");
        for (k, v) in &ticket.slots {
            s.push_str(&format!("\n- {k}: {v}"));
        }
    }
    s
}

/// A unit enum as its serialized word.
fn word<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "-".into(),
    }
}

/// A call to Chatwoot's API that failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the HTTP client could not be set up: {0}")]
    Setup(String),
    #[error("{path}: {reason}")]
    Failed { path: String, reason: String },
}

/// Chatwoot's application API, as the agent bot: no redirects followed, every call bounded
/// by `timeout_ms`, the token only in its header (never logged).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    account: u64,
    token: Token,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Client({}, account {})", self.base, self.account)
    }
}

impl Client {
    /// `None` when the settings leave the integration off.
    pub fn new(settings: &ChatwootSettings) -> Result<Option<Client>, ClientError> {
        let Some(token) = settings.bot_token.clone().filter(|_| settings.enabled()) else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Some(Client {
            http,
            base: settings.url.trim_end_matches('/').to_string(),
            account: settings.account_id,
            token,
        }))
    }

    pub fn account(&self) -> u64 {
        self.account
    }

    /// Posts a message into the conversation: the bot's reply, or a private note.
    pub async fn post_message(
        &self,
        conversation: u64,
        content: &str,
        private: bool,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/accounts/{}/conversations/{conversation}/messages",
            self.account
        );
        let body = serde_json::json!({
            "content": content,
            "message_type": "outgoing",
            "private": private,
        });
        self.post(path, body).await
    }

    /// Sets the conversation's status (`open`: to the agents; `pending`: the bot's).
    pub async fn toggle_status(&self, conversation: u64, status: &str) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/accounts/{}/conversations/{conversation}/toggle_status",
            self.account
        );
        self.post(path, serde_json::json!({ "status": status }))
            .await
    }

    async fn post(&self, path: String, body: serde_json::Value) -> Result<(), ClientError> {
        let failed = |reason: String| ClientError::Failed {
            path: path.clone(),
            reason,
        };
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("api_access_token", self.token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(failed(format!("HTTP {status}")))
        }
    }
}

#[cfg(test)]
mod tests;
