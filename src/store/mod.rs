//! Conversations, their messages, customers, the shoppers' feedback and the outbox of
//! tickets: where they are kept.
//!
//! The [`Store`] trait is the seam between the service and its database: [`SqliteStore`] (an
//! embedded SQLite file under `--data DIR`) is the backend `serve` uses, [`MemoryStore`] the
//! one unit tests use, and a PostgreSQL backend for several replicas would implement the same
//! trait. The trait is synchronous on purpose: database calls block, so the HTTP layer calls
//! every store method on a blocking thread. Only this module speaks SQL.
//!
//! Every store masks personal data ([`crate::pii::mask`]) in what shoppers typed before it
//! is written ([`masked_turn`], [`masked_ticket`]): nothing unmasked reaches the database.
//! Every store also is the [`Outbox`]: a ticket commits together with the turn that caused it
//! ([`Store::record_turn`]).

#[cfg(test)]
pub(crate) mod contract;
pub mod handover;
mod memory;
pub mod outbox;
mod postgres;
pub mod report;
mod sqlite;
pub mod temp_postgres;
pub mod unanswered;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::ids::{ClientMessageId, ConversationId, MessageId};
use crate::intents::IntentId;
use crate::kb::ArticleId;
pub use handover::{Activity, ActivityKind, Handovers};
pub use outbox::{ConversationEvent, EscalationId, EventOutbox, Handoff, Outbox, Ticket};

pub use self::postgres::PostgresStore;
pub use memory::MemoryStore;
pub use report::{GroupBy, Report, ReportQuery, Reports};
pub use sqlite::{SqliteStore, FILE_NAME};
pub use unanswered::{GapReason, Unanswered};

/// The schema, one migration per version: `MIGRATIONS[i]` takes version `i` to `i + 1`. Both
/// SQL backends apply the same files (they keep to SQL both accept).
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_state.sql"),
    include_str!("migrations/0003_outbox_lease.sql"),
    include_str!("migrations/0004_reports.sql"),
    include_str!("migrations/0005_handover.sql"),
    include_str!("migrations/0006_client_message_id.sql"),
];

/// The index in [`MIGRATIONS`] of `0004_reports.sql`: after it, the SQLite store fills the
/// report columns of the tickets queued before it.
pub(crate) const REPORTS_MIGRATION: usize = 3;

/// Errors of a store. Unknown ids are the caller's fault; `Open`, `SchemaTooNew` need the
/// operator; `Backend` is ours.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("no conversation `{0}`")]
    UnknownConversation(ConversationId),
    #[error("no message `{message}` in conversation `{conversation}`")]
    UnknownMessage {
        conversation: ConversationId,
        message: MessageId,
    },
    /// A ticket with this id is already in the outbox; nothing of the turn was written.
    #[error("ticket `{0}` is already in the outbox")]
    DuplicateTicket(EscalationId),
    /// The conversation already has a turn with this client message id (a retry, or the same
    /// message sent twice at once); nothing of this turn was written. The conversation core
    /// answers with the stored turn instead.
    #[error("conversation `{conversation}` already has a message `{client_id}`")]
    DuplicateClientMessage {
        conversation: ConversationId,
        client_id: ClientMessageId,
    },
    #[error(
        "cannot open the database {}: {reason}\n  hint: check that the folder exists and is writable by this user, or pass another --data DIR",
        path.display()
    )]
    Open { path: PathBuf, reason: String },
    #[error(
        "the database {} has schema version {found}, but this concierge knows versions up to {supported}\n  hint: run the newer concierge that wrote it, or point --data (or storage.url) at another database",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("store backend: {0}")]
    Backend(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who the shopper is, when the shop tells us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A conversation's header.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel: String,
    /// The customer as last known: a store fills in the name and email given in any
    /// conversation of the same customer id.
    pub customer: Customer,
    /// Unix milliseconds.
    pub started_ms: u64,
    /// Unix milliseconds of the last turn (`started_ms` before the first); retention counts
    /// from here.
    pub last_ms: u64,
    /// Where the conversation is in the hand-over to a person.
    pub handoff: Handoff,
}

impl Conversation {
    /// A conversation starting now-ish (`started_ms`), with the bot answering.
    pub fn new(
        id: ConversationId,
        channel: impl Into<String>,
        customer: Customer,
        started_ms: u64,
    ) -> Self {
        Conversation {
            id,
            channel: channel.into(),
            customer,
            started_ms,
            last_ms: started_ms,
            handoff: Handoff::Bot,
        }
    }
}

/// A shopper's message and what the bot did with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub id: MessageId,
    /// What the shopper wrote (personal data masked before it is stored).
    pub text: String,
    /// What the bot replied.
    pub reply: String,
    pub outcome: Outcome,
    pub language: String,
    pub intent: Option<String>,
    pub article: Option<String>,
    pub confidence: f32,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// How long the bot took to reply, from the message's arrival, in milliseconds (`None`
    /// when not measured, as for turns stored before schema version 2).
    pub response_ms: Option<u32>,
    /// The id the client gave the message: unique within the conversation (a second turn
    /// with it is [`Error::DuplicateClientMessage`]), so a retry is recognised.
    pub client_id: Option<ClientMessageId>,
    /// What the shopper was shown besides `reply`, as the conversation core serialized it to
    /// answer a retry with; a store keeps it without looking inside. Only with `client_id`.
    pub shown: Option<serde_json::Value>,
}

/// What a turn came to, as recorded with it and read back by the escalation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered (an intent's reply or an article's section).
    Answer,
    /// "Did you mean" choices.
    Clarify,
    /// Handed to a person, or the engine wanted to.
    Escalate,
    /// The message answered the hand-over dialogue (an address, the message left, a cancel)
    /// rather than asking the bot something.
    Handoff,
}

impl Outcome {
    /// The name used in the API, the logs and the database (`answer`, `clarify`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answer => "answer",
            Outcome::Clarify => "clarify",
            Outcome::Escalate => "escalate",
            Outcome::Handoff => "handoff",
        }
    }

    /// A name as `as_str` writes it; `None` for anything else.
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Answer,
            Outcome::Clarify,
            Outcome::Escalate,
            Outcome::Handoff,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a conversation keeps between its turns besides the hand-over state: the topic of the
/// last answer (a follow-up such as "and to Canada?" is understood with it) and a running
/// flow's own state. Stored as JSON with the conversation and written in the same transaction
/// as the turn that changed it ([`Store::record_turn_with_state`]); a store does not look
/// inside.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConversationState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
    /// A running multi-turn flow, as the flow serialized itself; `None` when none runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<serde_json::Value>,
    /// The slots a flow had collected when it handed over, kept while the hand-over dialogue
    /// asks for an address or a message, for the ticket that dialogue creates.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub handover_slots: BTreeMap<String, String>,
    /// SHA-256 (hex) of the conversation's own access token (`handover::access`), set with
    /// the first turn; `None` for a conversation started before tokens existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

impl ConversationState {
    /// Nothing to keep.
    pub fn is_empty(&self) -> bool {
        *self == ConversationState::default()
    }
}

/// What an answer was about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// The question that found it (masked), in the shopper's words.
    pub question: String,
    pub article: Option<ArticleId>,
    pub intent: Option<IntentId>,
    /// ISO 639-1 code of the question's language.
    pub language: String,
}

/// What a shopper thought.
#[derive(Debug, Clone, PartialEq)]
pub enum Feedback {
    /// Thumbs up or down on one reply.
    Helpful { message: MessageId, helpful: bool },
    /// Satisfaction with the whole conversation, 1 to 5.
    Rating(u8),
}

/// What [`Store::forget_customer`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ForgetReport {
    /// 1 when the customer's record was deleted, 0 when there was none.
    pub customers: usize,
    pub conversations: usize,
    pub messages: usize,
    pub feedback: usize,
    pub tickets: usize,
}

impl ForgetReport {
    /// Nothing was found about the customer.
    pub fn is_empty(&self) -> bool {
        *self == ForgetReport::default()
    }
}

/// What [`Store::purge_before`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub conversations: usize,
    pub messages: usize,
    pub feedback: usize,
    /// Delivered and dead tickets; pending ones are never purged.
    pub tickets: usize,
    /// Customers left with no conversation and no ticket.
    pub customers: usize,
}

/// How long conversations are kept (`storage:` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// A PostgreSQL database (`postgres://user:password@host:port/name`) shared by every
    /// replica; `CONCIERGE_DATABASE_URL` overrides it. Absent: SQLite in the data folder.
    pub url: Option<DatabaseUrl>,
    /// Days a conversation is kept after its last message; delivered and dead tickets as
    /// long after their last delivery attempt. Tickets not yet delivered are kept whatever
    /// their age. 0 keeps everything forever.
    pub retention_days: u32,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            url: None,
            retention_days: 365,
        }
    }
}

/// Where the PostgreSQL database is: a `postgres://` or `postgresql://` URL. Never printed
/// with its password (`Debug`, `Display` and `Serialize` mask it).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// A URL from configuration or the environment; blank means none.
    pub fn new(text: &str) -> Option<DatabaseUrl> {
        let t = text.trim();
        (!t.is_empty()).then(|| DatabaseUrl(t.to_string()))
    }

    /// The URL itself, password included, for the client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks the scheme; the rest is the client's to parse at connect time.
    pub fn validate(&self) -> Result<(), String> {
        if self.0.starts_with("postgres://") || self.0.starts_with("postgresql://") {
            Ok(())
        } else {
            Err(format!(
                "storage.url `{self}` is not a PostgreSQL URL: write postgres://user:password@host:5432/database"
            ))
        }
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return f.write_str("***");
        };
        let rest = &url[scheme_end..];
        match (rest.find('@'), rest.find(':')) {
            (Some(at), Some(colon)) if colon < at => write!(
                f,
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            _ => f.write_str(url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DatabaseUrl::new(&text).ok_or_else(|| serde::de::Error::custom("storage.url is blank"))
    }
}

/// Opens the store the settings name: PostgreSQL when `storage.url` is set, else SQLite in
/// `data_dir`. `lease` is how long a replica holds a ticket it claimed for delivery before
/// another may take it over (PostgreSQL only).
pub fn open(
    settings: &StorageSettings,
    data_dir: &std::path::Path,
    lease: Duration,
) -> Result<Arc<dyn Store>> {
    Ok(match &settings.url {
        Some(url) => Arc::new(PostgresStore::connect(url, lease)?),
        None => Arc::new(SqliteStore::open_dir(data_dir)?),
    })
}

impl StorageSettings {
    /// The retention cutoff at `now_ms` (Unix milliseconds): data whose last activity is
    /// older is purged. `None` when everything is kept.
    pub fn cutoff_ms(&self, now_ms: u64) -> Option<u64> {
        (self.retention_days > 0)
            .then(|| now_ms.saturating_sub(u64::from(self.retention_days) * 86_400_000))
    }
}

/// Retention once: purges what is older than `settings` allow at `now_ms`. `None` when
/// everything is kept (`retention_days: 0`).
pub fn purge_expired(
    store: &dyn Store,
    settings: &StorageSettings,
    now_ms: u64,
) -> Result<Option<PurgeReport>> {
    match settings.cutoff_ms(now_ms) {
        Some(cutoff) => store.purge_before(cutoff).map(Some),
        None => Ok(None),
    }
}

/// Runs retention on a thread of its own (store calls block): now, then every `every`.
/// Starts nothing when everything is kept.
pub fn spawn_retention(
    store: Arc<dyn Store>,
    settings: StorageSettings,
    every: Duration,
) -> std::io::Result<Option<std::thread::JoinHandle<()>>> {
    if settings.retention_days == 0 {
        return Ok(None);
    }
    std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || loop {
            match purge_expired(&*store, &settings, now_ms()) {
                Ok(Some(r)) if r != PurgeReport::default() => tracing::info!(
                    conversations = r.conversations,
                    messages = r.messages,
                    feedback = r.feedback,
                    tickets = r.tickets,
                    customers = r.customers,
                    retention_days = settings.retention_days,
                    "purged what is past retention"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention failed; trying again later"),
            }
            std::thread::sleep(every);
        })
        .map(Some)
}

/// Where conversations are kept, and the outbox of tickets beside them (an `Arc<dyn Store>`
/// coerces to the `Arc<dyn Outbox>` the delivery worker wants). Every method may block.
pub trait Store: Outbox + EventOutbox + Handovers + Reports {
    /// Serializes the turns of one conversation across every process that shares this store:
    /// taken before a turn reads the conversation, held until its commit, released when the
    /// guard drops (or, should the process die, when its database session ends). A backend
    /// that only one process uses (SQLite, memory) returns an empty guard: the service's own
    /// per-conversation lock already serializes the turns.
    fn lock_turns(&self, _conversation: &ConversationId) -> Result<TurnLock> {
        Ok(TurnLock::none())
    }
    /// Starts a conversation. When the customer has an id, the customer is recorded (or
    /// recognised, across channels) and their name and email updated when given.
    fn create_conversation(&self, conversation: Conversation) -> Result<()>;
    fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>>;
    /// Records a turn, in one transaction: the turn (masked), the conversation's new hand-over
    /// state when `handoff` is given, and the ticket, as pending and due now, when `ticket`
    /// is given. A transaction with a ticket is durable even on power loss before this
    /// returns. When any part fails nothing is written: an unknown conversation is
    /// [`Error::UnknownConversation`], a ticket id already in the outbox
    /// [`Error::DuplicateTicket`].
    fn record_turn(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()>;
    /// Starts a conversation with its first turn: `create_conversation` and `record_turn`
    /// in one transaction (a backend may override this default, which takes two).
    fn record_first_turn(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()> {
        let id = conversation.id.clone();
        self.create_conversation(conversation)?;
        self.record_turn(&id, turn, handoff, ticket)
    }
    /// The conversation's state (topic, running flow); `None` for an unknown conversation,
    /// the default for one that never stored any.
    fn state(&self, conversation: &ConversationId) -> Result<Option<ConversationState>>;
    /// [`Store::record_turn`], and the conversation's new state in the same transaction
    /// (masked: the topic quotes the shopper).
    fn record_turn_with_state(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()>;
    /// [`Store::record_first_turn`], and the conversation's state in the same transaction.
    fn record_first_turn_with_state(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()>;
    /// The turns of a conversation, oldest first.
    fn turns(&self, conversation: &ConversationId) -> Result<Vec<Turn>>;
    /// Records feedback; the conversation (and the message, for thumbs) must exist.
    fn add_feedback(&self, conversation: &ConversationId, feedback: Feedback) -> Result<()>;
    /// The feedback given in a conversation, oldest first.
    fn feedback(&self, conversation: &ConversationId) -> Result<Vec<Feedback>>;
    /// The customer's other conversations (any channel) with their turns, the most recently
    /// active first, at most `limit`.
    fn customer_history(
        &self,
        customer_id: &str,
        except: &ConversationId,
        limit: usize,
    ) -> Result<Vec<(Conversation, Vec<Turn>)>>;
    /// Deletes everything about a customer: their record, conversations, messages, feedback
    /// and tickets.
    fn forget_customer(&self, customer_id: &str) -> Result<ForgetReport>;
    /// Retention: deletes conversations (with their messages and feedback) last active before
    /// `cutoff_ms`, delivered and dead tickets last touched before it, and customers left
    /// with nothing. A pending ticket is never deleted.
    fn purge_before(&self, cutoff_ms: u64) -> Result<PurgeReport>;
}

/// Held while a turn of one conversation is decided and committed ([`Store::lock_turns`]);
/// the lock is released when this drops.
#[must_use = "the lock is released when the guard drops"]
pub struct TurnLock(Option<Box<dyn Send>>);

impl TurnLock {
    /// A guard that holds nothing (a backend used by one process).
    pub fn none() -> Self {
        TurnLock(None)
    }

    /// A guard whose drop releases the backend's lock.
    fn holding(release: impl Send + 'static) -> Self {
        TurnLock(Some(Box::new(release)))
    }
}

impl fmt::Debug for TurnLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "TurnLock(held)"
        } else {
            "TurnLock(none)"
        })
    }
}

/// The turn as a store writes it: what the shopper typed and the reply, masked; what was
/// shown kept only with a client message id (nothing else reads it).
pub fn masked_turn(mut turn: Turn) -> Turn {
    if turn.client_id.is_none() {
        turn.shown = None;
    }
    if let std::borrow::Cow::Owned(s) = crate::pii::mask(&turn.text) {
        turn.text = s;
    }
    if let std::borrow::Cow::Owned(s) = crate::pii::mask(&turn.reply) {
        turn.reply = s;
    }
    turn
}

/// The state as a store writes it: the topic's question masked.
pub fn masked_state(state: &ConversationState) -> ConversationState {
    let mut s = state.clone();
    if let Some(t) = &mut s.topic {
        t.question = crate::pii::mask(&t.question).into_owned();
    }
    s
}

/// The ticket as a store writes it: subject and transcript masked (they quote the shopper).
pub fn masked_ticket(ticket: &Ticket) -> Ticket {
    let mut t = ticket.clone();
    t.subject = crate::pii::mask(&t.subject).into_owned();
    for line in &mut t.transcript {
        if let std::borrow::Cow::Owned(s) = crate::pii::mask(&line.text) {
            line.text = s;
        }
    }
    for value in t.slots.values_mut() {
        if let std::borrow::Cow::Owned(s) = crate::pii::mask(value) {
            *value = s;
        }
    }
    t
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_the_outbox_the_worker_wants() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(10));
        let outbox: Arc<dyn Outbox> = store;
        assert!(outbox.next_due_ms().unwrap().is_none());
    }

    #[test]
    fn storage_settings_default_to_a_year_and_refuse_unknown_keys() {
        let s: StorageSettings = serde_yaml::from_str("{}").unwrap();
        assert_eq!(s.retention_days, 365);
        assert_eq!(s.cutoff_ms(400 * 86_400_000), Some(35 * 86_400_000));
        assert_eq!(s.url, None);
        let forever: StorageSettings = serde_yaml::from_str("retention_days: 0").unwrap();
        assert_eq!(forever.cutoff_ms(1), None);
        let typo = serde_yaml::from_str::<StorageSettings>("retention_dayz: 3");
        assert!(typo.unwrap_err().to_string().contains("retention_dayz"));
    }

    #[test]
    fn a_database_url_never_shows_its_password() {
        let url = DatabaseUrl::new("postgres://shop:hunter2@db:5432/concierge").unwrap();
        assert_eq!(url.to_string(), "postgres://shop:***@db:5432/concierge");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.validate().is_ok());
        let plain = DatabaseUrl::new("postgresql://db/concierge").unwrap();
        assert_eq!(plain.to_string(), "postgresql://db/concierge");
        let s: StorageSettings = serde_yaml::from_str("url: mysql://x@y/z").unwrap();
        let err = s.url.unwrap().validate().unwrap_err();
        assert!(err.contains("postgres://"), "{err}");
    }

    #[test]
    fn retention_purges_only_when_configured() {
        let store = MemoryStore::new(10);
        let id = ConversationId::generate();
        store
            .create_conversation(Conversation::new(id.clone(), "web", Customer::default(), 0))
            .unwrap();
        let keep = StorageSettings {
            retention_days: 0,
            ..StorageSettings::default()
        };
        assert_eq!(purge_expired(&store, &keep, now_ms()).unwrap(), None);
        assert!(store.conversation(&id).unwrap().is_some());
        let year = StorageSettings::default();
        let report = purge_expired(&store, &year, now_ms()).unwrap().unwrap();
        assert_eq!(report.conversations, 1);
    }
}
