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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::{start, ticket, turn};
    use crate::store::outbox::Handoff;
    use crate::store::sqlite::SqliteStore;
    use crate::store::Reports;
    use crate::store::{Customer, Feedback, Outcome, Store};

    fn said(text: &str, at: u64, outcome: Outcome) -> crate::store::Turn {
        let mut t = turn(text, at);
        t.outcome = outcome;
        t.intent = None;
        t
    }

    #[test]
    fn lists_escalated_thumbed_down_and_untaken_choices_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.sqlite")).unwrap();
        // Escalated for low confidence, after choices: both messages are gaps.
        let low = start(&store, "web", Customer::default(), 1_000);
        store
            .record_turn(
                &low,
                said("gift wrap?", 1_100, Outcome::Clarify),
                None,
                None,
            )
            .unwrap();
        let mut t = ticket(&low, "gift wrap please");
        t.reason = crate::store::outbox::Reason::LowConfidence;
        let over = Handoff::HandedOver {
            ticket: t.id.clone(),
            mode: crate::store::outbox::Mode::Live,
        };
        store
            .record_turn(
                &low,
                said("gift wrap please", 1_200, Outcome::Escalate),
                Some(&over),
                Some(&t),
            )
            .unwrap();
        // Asked for a person: not a gap.
        let asked = start(&store, "web", Customer::default(), 1_000);
        let t2 = ticket(&asked, "a person");
        store
            .record_turn(
                &asked,
                said("a person", 1_300, Outcome::Escalate),
                None,
                Some(&t2),
            )
            .unwrap();
        // Answered, thumbs down; and answered, thumbs up.
        let thumbs = start(&store, "web", Customer::default(), 1_000);
        let down = said("rent a tent?", 1_400, Outcome::Answer);
        let up = said("return boots?", 1_500, Outcome::Answer);
        let (down_id, up_id) = (down.id.clone(), up.id.clone());
        store.record_turn(&thumbs, down, None, None).unwrap();
        store.record_turn(&thumbs, up, None, None).unwrap();
        for (message, helpful) in [(down_id, false), (up_id, true)] {
            store
                .add_feedback(&thumbs, Feedback::Helpful { message, helpful })
                .unwrap();
        }
        // Choices: one taken (answered next), one not.
        let choices = start(&store, "web", Customer::default(), 1_000);
        for (text, at, outcome) in [
            ("loyalty card", 1_600, Outcome::Clarify),
            ("Returns", 1_700, Outcome::Answer),
            ("points card", 1_800, Outcome::Clarify),
        ] {
            store
                .record_turn(&choices, said(text, at, outcome), None, None)
                .unwrap();
        }

        let all = store.unanswered(0, 10_000).unwrap();
        let got: Vec<(&str, GapReason)> = all.iter().map(|u| (u.text.as_str(), u.reason)).collect();
        assert_eq!(
            got,
            [
                ("gift wrap?", GapReason::Escalated),
                ("gift wrap please", GapReason::Escalated),
                ("rent a tent?", GapReason::ThumbsDown),
                ("points card", GapReason::ChoiceNotTaken),
            ]
        );
        // The window.
        let late = store.unanswered(1_450, 10_000).unwrap();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].text, "points card");
    }
}
