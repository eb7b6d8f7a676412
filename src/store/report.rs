//! KPIs from the stored conversations (`concierge report`): conversations, deflection,
//! escalations by reason and by category × priority, CSAT, the thumbs ratio, first-contact
//! resolution, the bot's response time and the time from escalation to ticket delivery, per
//! day, ISO week, language or channel. The definitions are in `docs/kpis.md`; they are
//! written once, here, in [`Accumulator`].
//!
//! The store reads the facts in four index-only queries over the conversations that started
//! in the window (the `0004_reports` migration adds the indexes) and the counting happens in
//! Rust, so a year of history (a million messages) is read in one pass; `benches/report.rs`
//! times it.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};
use serde::Serialize;

use super::sqlite::SqliteStore;
use super::unanswered::Unanswered;
use super::Result;

/// How the report's rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// The UTC day the conversation started (`2026-12-07`).
    Day,
    /// The ISO week the conversation started, weeks starting on Monday, UTC (`2026-W50`).
    Week,
    /// The language of the conversation's first message.
    Language,
    /// The conversation's channel (`web`, `api`, …).
    Channel,
}

/// What to report on: conversations that started in `[since_ms, until_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportQuery {
    pub since_ms: u64,
    pub until_ms: u64,
    pub by: GroupBy,
}

/// The report: one row per group, in key order, and the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since_ms: u64,
    pub until_ms: u64,
    pub by: GroupBy,
    pub rows: Vec<KpiRow>,
    pub total: KpiRow,
}

/// Counts with their nearest-rank percentiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many values were measured.
    pub count: u64,
    pub p50: Option<u64>,
    pub p95: Option<u64>,
}

/// Satisfaction ratings (1 to 5) given to conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Csat {
    pub count: u64,
    pub average: Option<f64>,
    /// How many ratings of 1, 2, 3, 4 and 5.
    pub distribution: [u64; 5],
}

/// Escalated conversations with one category and priority (from their tickets).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CategoryPriority {
    pub category: String,
    pub priority: String,
    pub count: u64,
}

/// The KPIs of one group of conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KpiRow {
    /// The group (`2026-12-07`, `2026-W50`, `en`, `web`), or `total`.
    pub key: String,
    pub conversations: u64,
    pub messages: u64,
    /// Resolved by the bot without a person (see `docs/kpis.md`).
    pub deflected: u64,
    pub deflection_rate: Option<f64>,
    pub escalated: u64,
    pub escalation_rate: Option<f64>,
    /// Escalated conversations by the reason of their ticket; `no_ticket` when the shopper
    /// left before a ticket was written.
    pub escalated_by_reason: BTreeMap<String, u64>,
    pub escalated_by_category_priority: Vec<CategoryPriority>,
    pub first_contact_resolved: u64,
    pub first_contact_resolution_rate: Option<f64>,
    pub csat: Csat,
    pub thumbs_up: u64,
    pub thumbs_down: u64,
    /// Thumbs up over all thumbs.
    pub thumbs_up_ratio: Option<f64>,
    /// The bot's response time per message, in milliseconds.
    pub response_ms: Percentiles,
    /// From the ticket's creation (the escalation) to its delivery to the helpdesk, in
    /// milliseconds, over delivered tickets.
    pub escalation_to_delivery_ms: Percentiles,
    /// From the ticket's creation (the escalation) to the first message an agent wrote into
    /// the conversation, in milliseconds, over conversations an agent replied to.
    pub first_human_response_ms: Percentiles,
    /// Tickets not delivered yet, and dead letters.
    pub tickets_pending: u64,
    pub tickets_dead: u64,
}

/// What the shop learns from its stored conversations: the KPIs and the messages nobody
/// answered. Every store implements it (a supertrait of [`super::Store`]); a backend reads
/// the facts from its own tables into a [`ReportBuilder`], which holds the definitions.
pub trait Reports {
    fn report(&self, query: &ReportQuery) -> Result<Report>;
    /// The messages nobody answered, sent in `[since_ms, until_ms)`, oldest first (the
    /// definitions are in [`super::unanswered`]).
    fn unanswered(&self, since_ms: u64, until_ms: u64) -> Result<Vec<Unanswered>>;
}

/// How long after a conversation the same customer coming back means it was not resolved at
/// the first contact.
pub const RETURN_WINDOW_MS: u64 = 7 * 86_400_000;

/// The facts of one conversation the KPIs are computed from.
#[derive(Debug, Default)]
struct Facts {
    group: usize,
    messages: u64,
    answered: bool,
    escalated_message: bool,
    thumbs_up: u64,
    thumbs_down: u64,
    ratings: [u64; 5],
    /// The first ticket (the hand-over): reason, category, priority, creation time.
    ticket: Option<FirstTicket>,
    /// Per ticket: delivered after so many ms; pending; dead.
    delivery_ms: Vec<u64>,
    tickets_pending: u64,
    tickets_dead: u64,
    /// The same customer started another conversation within `RETURN_WINDOW_MS`.
    returned: bool,
    /// When an agent first wrote in the conversation.
    first_agent_ms: Option<i64>,
}

#[derive(Debug)]
struct FirstTicket {
    reason: Option<String>,
    category: Option<String>,
    priority: Option<String>,
    created_ms: i64,
}

/// Sums of one group, turned into a `KpiRow` at the end.
#[derive(Debug, Default)]
struct Accumulator {
    conversations: u64,
    messages: u64,
    deflected: u64,
    escalated: u64,
    by_reason: BTreeMap<String, u64>,
    by_category_priority: BTreeMap<(String, String), u64>,
    fcr: u64,
    ratings: [u64; 5],
    up: u64,
    down: u64,
    response_ms: Vec<u32>,
    delivery_ms: Vec<u64>,
    human_ms: Vec<u64>,
    pending: u64,
    dead: u64,
}

impl Accumulator {
    /// The definitions, in one place (`docs/kpis.md` says the same in words).
    fn conversation(&mut self, f: &Facts) {
        self.conversations += 1;
        self.messages += f.messages;
        self.up += f.thumbs_up;
        self.down += f.thumbs_down;
        for (a, b) in self.ratings.iter_mut().zip(f.ratings) {
            *a += b;
        }
        let low_rating = f.ratings[0] + f.ratings[1] > 0;
        let escalated = f.ticket.is_some() || f.escalated_message;
        // Deflected: the bot answered, nobody was handed the conversation, and the shopper
        // did not say the answers were bad.
        let deflected = f.answered && !escalated && f.thumbs_down == 0 && !low_rating;
        if escalated {
            self.escalated += 1;
            let reason = f.ticket.as_ref().and_then(|t| t.reason.clone());
            *self
                .by_reason
                .entry(reason.unwrap_or_else(|| "no_ticket".into()))
                .or_default() += 1;
        }
        if let Some(t) = &f.ticket {
            *self
                .by_category_priority
                .entry((
                    t.category.clone().unwrap_or_else(|| "none".into()),
                    t.priority.clone().unwrap_or_else(|| "none".into()),
                ))
                .or_default() += 1;
            if let Some(agent) = f.first_agent_ms {
                self.human_ms.push((agent - t.created_ms).max(0) as u64);
            }
        }
        self.delivery_ms.extend_from_slice(&f.delivery_ms);
        self.pending += f.tickets_pending;
        self.dead += f.tickets_dead;
        if deflected {
            self.deflected += 1;
            // First-contact resolution: deflected, and the customer did not come back within
            // a week (anonymous shoppers cannot be recognised: their conversation alone counts).
            if !f.returned {
                self.fcr += 1;
            }
        }
    }

    fn merge(&mut self, o: &Accumulator) {
        self.conversations += o.conversations;
        self.messages += o.messages;
        self.deflected += o.deflected;
        self.escalated += o.escalated;
        for (k, v) in &o.by_reason {
            *self.by_reason.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.by_category_priority {
            *self.by_category_priority.entry(k.clone()).or_default() += v;
        }
        self.fcr += o.fcr;
        for (a, b) in self.ratings.iter_mut().zip(o.ratings) {
            *a += b;
        }
        self.up += o.up;
        self.down += o.down;
        self.response_ms.extend_from_slice(&o.response_ms);
        self.delivery_ms.extend_from_slice(&o.delivery_ms);
        self.human_ms.extend_from_slice(&o.human_ms);
        self.pending += o.pending;
        self.dead += o.dead;
    }

    fn finish(mut self, key: String) -> KpiRow {
        let rate = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        let count: u64 = self.ratings.iter().sum();
        let sum: u64 = self
            .ratings
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1) * n)
            .sum();
        self.response_ms.sort_unstable();
        self.delivery_ms.sort_unstable();
        self.human_ms.sort_unstable();
        KpiRow {
            key,
            conversations: self.conversations,
            messages: self.messages,
            deflected: self.deflected,
            deflection_rate: rate(self.deflected, self.conversations),
            escalated: self.escalated,
            escalation_rate: rate(self.escalated, self.conversations),
            escalated_by_reason: self.by_reason,
            escalated_by_category_priority: self
                .by_category_priority
                .into_iter()
                .map(|((category, priority), count)| CategoryPriority {
                    category,
                    priority,
                    count,
                })
                .collect(),
            first_contact_resolved: self.fcr,
            first_contact_resolution_rate: rate(self.fcr, self.conversations),
            csat: Csat {
                count,
                average: (count > 0).then(|| sum as f64 / count as f64),
                distribution: self.ratings,
            },
            thumbs_up: self.up,
            thumbs_down: self.down,
            thumbs_up_ratio: rate(self.up, self.up + self.down),
            response_ms: percentiles(&self.response_ms),
            escalation_to_delivery_ms: percentiles(&self.delivery_ms),
            first_human_response_ms: percentiles(&self.human_ms),
            tickets_pending: self.pending,
            tickets_dead: self.dead,
        }
    }
}

/// Nearest-rank percentiles of sorted values.
fn percentiles<T: Copy + Into<u64>>(sorted: &[T]) -> Percentiles {
    let at = |p: u64| -> Option<u64> {
        let n = sorted.len() as u64;
        (n > 0).then(|| sorted[((p * n).div_ceil(100)).max(1) as usize - 1].into())
    };
    Percentiles {
        count: sorted.len() as u64,
        p50: at(50),
        p95: at(95),
    }
}

/// The UTC day (days since 1970-01-01) of a Unix millisecond.
fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// `2026-12-07` for a day number.
fn day_label(day: i64) -> String {
    jiff::Timestamp::from_second(day * 86_400)
        .map(|t| jiff::tz::TimeZone::UTC.to_datetime(t).date().to_string())
        .unwrap_or_else(|_| day.to_string())
}

/// `2026-W50`: the ISO week of a day number.
fn week_label(day: i64) -> String {
    jiff::Timestamp::from_second(day * 86_400)
        .map(|t| {
            let w = jiff::tz::TimeZone::UTC
                .to_datetime(t)
                .date()
                .iso_week_date();
            format!("{:04}-W{:02}", w.year(), w.week())
        })
        .unwrap_or_else(|_| day.to_string())
}

/// Groups by key, remembering each key's index.
#[derive(Default)]
struct Groups {
    index: HashMap<String, usize>,
    accs: Vec<(String, Accumulator)>,
    /// Day or week number → group, so that labels are formatted once per day.
    by_number: HashMap<i64, usize>,
}

impl Groups {
    fn of_key(&mut self, key: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.accs.len();
        self.index.insert(key.to_string(), i);
        self.accs.push((key.to_string(), Accumulator::default()));
        i
    }

    fn of_number(&mut self, n: i64, label: impl FnOnce(i64) -> String) -> usize {
        if let Some(&i) = self.by_number.get(&n) {
            return i;
        }
        let i = self.of_key(&label(n));
        self.by_number.insert(n, i);
        i
    }
}

/// One message of a conversation, as the report needs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct MessageFact<'a> {
    /// Position in the conversation, from 1.
    pub n: i64,
    pub outcome: &'a str,
    pub language: &'a str,
    pub response_ms: Option<i64>,
}

/// One ticket of a conversation, as the report needs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct TicketFact<'a> {
    pub reason: Option<&'a str>,
    pub category: Option<&'a str>,
    pub priority: Option<&'a str>,
    /// `pending`, `delivered` or `dead`.
    pub state: &'a str,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
}

/// Builds a [`Report`] from the facts a backend reads, in any order, about the conversations
/// that started in the window; `K` is the backend's key of a conversation. Facts about a
/// conversation never given to [`ReportBuilder::conversation`] are ignored.
pub(super) struct ReportBuilder<K> {
    query: ReportQuery,
    groups: Groups,
    facts: Vec<Facts>,
    at: HashMap<K, usize>,
    /// The first message's language names the conversation's group; messages may come in
    /// any order, so their response times wait for it.
    pending_times: Vec<(usize, u32)>,
    languages: Vec<Option<String>>,
}

impl<K: std::hash::Hash + Eq> ReportBuilder<K> {
    pub(super) fn new(query: &ReportQuery) -> Self {
        ReportBuilder {
            query: *query,
            groups: Groups::default(),
            facts: Vec::new(),
            at: HashMap::new(),
            pending_times: Vec::new(),
            languages: Vec::new(),
        }
    }

    /// The window as the SQL backends bind it.
    pub(super) fn window(&self) -> (i64, i64) {
        (
            self.query.since_ms.min(i64::MAX as u64) as i64,
            self.query.until_ms.min(i64::MAX as u64) as i64,
        )
    }

    /// A conversation that started in the window, with one of its messages (`None` for a
    /// conversation without any). Called once per message; the header is read the first time.
    pub(super) fn conversation(
        &mut self,
        key: K,
        channel: &str,
        started_ms: i64,
        message: Option<MessageFact<'_>>,
    ) {
        let i = match self.at.get(&key) {
            Some(&i) => i,
            None => {
                let group = match self.query.by {
                    GroupBy::Day => self.groups.of_number(day_of(started_ms), day_label),
                    GroupBy::Week => {
                        // Monday-based week number: 1970-01-01 was a Thursday.
                        let day = day_of(started_ms);
                        let monday = day - (day + 3).rem_euclid(7);
                        self.groups.of_number(monday, week_label)
                    }
                    GroupBy::Channel => self.groups.of_key(channel),
                    // Known once the first message is seen.
                    GroupBy::Language => usize::MAX,
                };
                self.facts.push(Facts {
                    group,
                    ..Facts::default()
                });
                self.languages.push(None);
                self.at.insert(key, self.facts.len() - 1);
                self.facts.len() - 1
            }
        };
        let Some(m) = message else { return };
        let f = &mut self.facts[i];
        f.messages += 1;
        match m.outcome {
            "answer" => f.answered = true,
            "escalate" => f.escalated_message = true,
            _ => {}
        }
        if m.n == 1 {
            self.languages[i] = Some(m.language.to_string());
        }
        if let Some(ms) = m.response_ms {
            self.pending_times
                .push((i, ms.clamp(0, i64::from(u32::MAX)) as u32));
        }
    }

    /// Whether the conversation is in the report: the later facts are only read for those.
    pub(super) fn contains(&self, key: &K) -> bool {
        self.at.contains_key(key)
    }

    /// A thumb (`helpful`) or a rating (1 to 5) given in the conversation.
    pub(super) fn feedback(&mut self, key: &K, helpful: Option<bool>, rating: Option<i64>) {
        let Some(&i) = self.at.get(key) else { return };
        let f = &mut self.facts[i];
        match helpful {
            Some(true) => f.thumbs_up += 1,
            Some(false) => f.thumbs_down += 1,
            None => {}
        }
        if let Some(rating) = rating {
            if (1..=5).contains(&rating) {
                f.ratings[rating as usize - 1] += 1;
            }
        }
    }

    /// A ticket of the conversation.
    pub(super) fn ticket(&mut self, key: &K, t: TicketFact<'_>) {
        let Some(&i) = self.at.get(key) else { return };
        let f = &mut self.facts[i];
        // A conversation has one ticket (its hand-over); the first created counts.
        if f.ticket
            .as_ref()
            .is_none_or(|first| t.created_ms < first.created_ms)
        {
            f.ticket = Some(FirstTicket {
                reason: t.reason.map(str::to_string),
                category: t.category.map(str::to_string),
                priority: t.priority.map(str::to_string),
                created_ms: t.created_ms,
            });
        }
        match t.state {
            "delivered" => {
                if let Some(delivered) = t.delivered_ms {
                    f.delivery_ms.push((delivered - t.created_ms).max(0) as u64);
                }
            }
            "dead" => f.tickets_dead += 1,
            _ => f.tickets_pending += 1,
        }
    }

    /// The same customer started another conversation within [`RETURN_WINDOW_MS`].
    pub(super) fn returned(&mut self, key: &K) {
        if let Some(&i) = self.at.get(key) {
            self.facts[i].returned = true;
        }
    }

    /// An agent wrote a message into the conversation at `at_ms`.
    pub(super) fn agent_message(&mut self, key: &K, at_ms: i64) {
        if let Some(&i) = self.at.get(key) {
            let f = &mut self.facts[i];
            f.first_agent_ms = Some(f.first_agent_ms.map_or(at_ms, |t| t.min(at_ms)));
        }
    }

    pub(super) fn finish(mut self) -> Report {
        if self.query.by == GroupBy::Language {
            for (f, l) in self.facts.iter_mut().zip(&self.languages) {
                f.group = self.groups.of_key(l.as_deref().unwrap_or("unknown"));
            }
        }
        for (i, ms) in self.pending_times {
            self.groups.accs[self.facts[i].group].1.response_ms.push(ms);
        }
        for f in &self.facts {
            self.groups.accs[f.group].1.conversation(f);
        }
        let mut accs = self.groups.accs;
        accs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut total = Accumulator::default();
        for (_, a) in &accs {
            total.merge(a);
        }
        Report {
            since_ms: self.query.since_ms,
            until_ms: self.query.until_ms,
            by: self.query.by,
            rows: accs.into_iter().map(|(k, a)| a.finish(k)).collect(),
            total: total.finish("total".into()),
        }
    }
}

impl Reports for SqliteStore {
    fn report(&self, q: &ReportQuery) -> Result<Report> {
        self.read(|conn| {
            // One snapshot for the five queries.
            let tx = conn.transaction()?;
            let report = report_in(&tx, q)?;
            tx.commit()?;
            Ok(report)
        })
    }

    fn unanswered(&self, since_ms: u64, until_ms: u64) -> Result<Vec<Unanswered>> {
        self.read(|conn| {
            let tx = conn.transaction()?;
            let out = super::unanswered::sqlite(&tx, since_ms, until_ms)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

fn report_in(conn: &Connection, q: &ReportQuery) -> Result<Report> {
    // rowid keys: integers, cheaper to hash than the text ids.
    let mut b: ReportBuilder<i64> = ReportBuilder::new(q);
    let (since, until) = b.window();

    // 1. The conversations and their messages (the `messages_report` index alone).
    let mut stmt = conn.prepare(
        "SELECT c.rowid, c.channel, c.started_ms, m.n, m.outcome, m.language, m.response_ms \
         FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    while let Some(r) = rows.next()? {
        let n: Option<i64> = r.get(3)?;
        let message = match n {
            Some(n) => Some(MessageFact {
                n,
                outcome: r.get_ref(4)?.as_str().unwrap_or(""),
                language: r.get_ref(5)?.as_str().unwrap_or("unknown"),
                response_ms: r.get(6)?,
            }),
            None => None,
        };
        b.conversation(
            r.get(0)?,
            r.get_ref(1)?.as_str().unwrap_or("unknown"),
            r.get(2)?,
            message,
        );
    }
    drop(rows);

    // 2. Feedback: thumbs and ratings.
    let mut stmt = conn.prepare(
        "SELECT c.rowid, f.helpful, f.rating \
         FROM conversations c JOIN feedback f ON f.conversation_id = c.id \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    while let Some(r) = rows.next()? {
        b.feedback(&r.get(0)?, r.get(1)?, r.get(2)?);
    }
    drop(rows);

    // 3. Tickets: reason, category × priority, delivery (the `outbox_report` index alone).
    let mut stmt = conn.prepare(
        "SELECT c.rowid, o.reason, o.category, o.priority, o.state, o.created_ms, \
           o.delivered_ms \
         FROM conversations c JOIN outbox o ON o.conversation_id = c.id \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    while let Some(r) = rows.next()? {
        b.ticket(
            &r.get(0)?,
            TicketFact {
                reason: r.get_ref(1)?.as_str_or_null().ok().flatten(),
                category: r.get_ref(2)?.as_str_or_null().ok().flatten(),
                priority: r.get_ref(3)?.as_str_or_null().ok().flatten(),
                state: r.get_ref(4)?.as_str().unwrap_or(""),
                created_ms: r.get(5)?,
                delivered_ms: r.get(6)?,
            },
        );
    }
    drop(rows);

    // 4. Customers who came back within a week (`conversations_by_customer_started`).
    let mut stmt = conn.prepare(RETURNED_SQL_SQLITE)?;
    let mut rows = stmt.query(params![since, until, RETURN_WINDOW_MS as i64])?;
    while let Some(r) = rows.next()? {
        b.returned(&r.get(0)?);
    }
    drop(rows);

    // 5. The agents' first messages (the hand-over's activity).
    let mut stmt = conn.prepare(
        "SELECT c.rowid, MIN(a.at_ms) \
         FROM conversations c JOIN activity a ON a.conversation_id = c.id \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2 AND a.kind = 'message' \
         GROUP BY c.rowid",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    while let Some(r) = rows.next()? {
        b.agent_message(&r.get(0)?, r.get(1)?);
    }
    drop(rows);

    Ok(b.finish())
}

const RETURNED_SQL_SQLITE: &str = "SELECT c.rowid FROM conversations c \
     WHERE c.started_ms >= ?1 AND c.started_ms < ?2 AND c.customer_id IS NOT NULL \
       AND EXISTS (SELECT 1 FROM conversations c2 WHERE c2.customer_id = c.customer_id \
         AND c2.started_ms > c.started_ms AND c2.started_ms <= c.started_ms + ?3)";

#[doc(hidden)]
pub mod synthetic;
#[cfg(test)]
mod tests;
