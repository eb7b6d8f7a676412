//! The messages nobody answered, for the content-gap report (`concierge gaps`, `src/gaps/`):
//! read from the store ([`super::Reports::unanswered`]) in one pass over a time window.
//!
//! A message counts when:
//! - it was **escalated** (or offered choices) in a conversation whose ticket says why:
//!   `low_confidence` or `repeated_fallback` (a shopper asking for a person is not a gap);
//! - it was **answered, and the shopper gave it a thumbs-down**;
//! - it got **"did you mean" choices and no choice was taken**: the conversation's next
//!   message was not answered (or there was none). A choice taken is a message the bot
//!   answered, since the widget sends the chosen title as the next message.
//!
//! A message is listed once, with the first of these reasons. Its text is the masked one the
//! store keeps.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::Result;

/// Why a message is in the content-gap report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// Handed to a person because the bot was not confident enough, or kept offering choices.
    Escalated,
    /// Answered, and the shopper said the answer did not help.
    ThumbsDown,
    /// "Did you mean" choices, none taken.
    ChoiceNotTaken,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Escalated => "escalated",
            GapReason::ThumbsDown => "thumbs_down",
            GapReason::ChoiceNotTaken => "choice_not_taken",
        }
    }
}

/// One message nobody answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unanswered {
    pub conversation: String,
    pub message: String,
    pub at_ms: u64,
    /// ISO 639-1 code of the message's language.
    pub language: String,
    /// As stored: personal data masked.
    pub text: String,
    pub reason: GapReason,
    /// The article the bot used or thought closest, if any.
    pub article: Option<String>,
}

/// The three queries, in order of precedence (a message is listed with the first reason it
/// has). SQL both backends accept; `?1`/`?2` are the window, renumbered for PostgreSQL.
pub(super) const QUERIES: [(GapReason, &str); 3] = [
    (
        GapReason::Escalated,
        "SELECT m.conversation_id, m.id, m.at_ms, m.language, m.text, m.article \
         FROM messages m JOIN outbox o ON o.conversation_id = m.conversation_id \
         WHERE o.reason IN ('low_confidence', 'repeated_fallback') \
           AND m.outcome IN ('escalate', 'clarify') \
           AND m.at_ms >= ?1 AND m.at_ms < ?2",
    ),
    (
        GapReason::ThumbsDown,
        "SELECT m.conversation_id, m.id, m.at_ms, m.language, m.text, m.article \
         FROM feedback f JOIN messages m ON m.id = f.message_id \
         WHERE f.helpful = FALSE AND m.outcome = 'answer' \
           AND m.at_ms >= ?1 AND m.at_ms < ?2",
    ),
    (
        GapReason::ChoiceNotTaken,
        "SELECT m.conversation_id, m.id, m.at_ms, m.language, m.text, m.article \
         FROM messages m LEFT JOIN messages nx \
           ON nx.conversation_id = m.conversation_id AND nx.n = m.n + 1 \
         WHERE m.outcome = 'clarify' AND (nx.id IS NULL OR nx.outcome <> 'answer') \
           AND m.at_ms >= ?1 AND m.at_ms < ?2",
    ),
];

/// Collects the rows of [`QUERIES`], in their order: each message once, with its first
/// reason; oldest first at the end.
#[derive(Default)]
pub(super) struct Collector {
    out: Vec<Unanswered>,
    seen: std::collections::HashSet<String>,
}

impl Collector {
    pub(super) fn add(&mut self, u: Unanswered) {
        if self.seen.insert(u.message.clone()) {
            self.out.push(u);
        }
    }

    pub(super) fn finish(mut self) -> Vec<Unanswered> {
        self.out.sort_by(|a, b| {
            a.at_ms
                .cmp(&b.at_ms)
                .then_with(|| a.message.cmp(&b.message))
        });
        self.out
    }
}

/// The unanswered messages of `[since_ms, until_ms)` in the SQLite store.
pub(super) fn sqlite(conn: &Connection, since_ms: u64, until_ms: u64) -> Result<Vec<Unanswered>> {
    let since = since_ms.min(i64::MAX as u64) as i64;
    let until = until_ms.min(i64::MAX as u64) as i64;
    let mut c = Collector::default();
    for (reason, sql) in QUERIES {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query(params![since, until])?;
        while let Some(r) = rows.next()? {
            let at: i64 = r.get(2)?;
            c.add(Unanswered {
                conversation: r.get(0)?,
                message: r.get(1)?,
                at_ms: u64::try_from(at).unwrap_or(0),
                language: r.get(3)?,
                text: r.get(4)?,
                reason,
                article: r.get(5)?,
            });
        }
    }
    Ok(c.finish())
}
