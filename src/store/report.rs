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
    /// Tickets not delivered yet, and dead letters.
    pub tickets_pending: u64,
    pub tickets_dead: u64,
}

/// KPIs over the stored conversations. A backend answers from its own tables; the
/// definitions are shared (this module's `Accumulator`).
pub trait Reports {
    fn report(&self, query: &ReportQuery) -> Result<Report>;
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
    thumbs_down_or_low_rating: bool,
    ticket: bool,
    /// The same customer started another conversation within `RETURN_WINDOW_MS`.
    returned: bool,
    reason: Option<String>,
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
    pending: u64,
    dead: u64,
}

impl Accumulator {
    /// The definitions, in one place (`docs/kpis.md` says the same in words).
    fn conversation(&mut self, f: &Facts) {
        self.conversations += 1;
        self.messages += f.messages;
        let escalated = f.ticket || f.escalated_message;
        // Deflected: the bot answered, nobody was handed the conversation, and the shopper
        // did not say the answers were bad.
        let deflected = f.answered && !escalated && !f.thumbs_down_or_low_rating;
        if escalated {
            self.escalated += 1;
            let reason = f.reason.clone().unwrap_or_else(|| "no_ticket".into());
            *self.by_reason.entry(reason).or_default() += 1;
        }
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

impl Reports for SqliteStore {
    fn report(&self, q: &ReportQuery) -> Result<Report> {
        self.read(|conn| {
            // One snapshot for the four queries.
            let tx = conn.transaction()?;
            let report = report_in(&tx, q)?;
            tx.commit()?;
            Ok(report)
        })
    }
}

fn report_in(conn: &Connection, q: &ReportQuery) -> Result<Report> {
    let since = q.since_ms.min(i64::MAX as u64) as i64;
    let until = q.until_ms.min(i64::MAX as u64) as i64;
    let mut groups = Groups::default();
    let mut facts: Vec<Facts> = Vec::new();
    // rowid → position in `facts`: integer keys, cheaper to hash than the text ids.
    let mut at: HashMap<i64, usize> = HashMap::new();

    // 1. The conversations and their messages (the `messages_report` index alone).
    let mut stmt = conn.prepare(
        "SELECT c.rowid, c.channel, c.started_ms, m.n, m.outcome, m.language, m.response_ms \
         FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    // The first message's language names the conversation's group; messages may come in
    // any order, so their response times wait for it.
    let mut pending_times: Vec<(usize, u32)> = Vec::new();
    let mut languages: Vec<Option<String>> = Vec::new();
    while let Some(r) = rows.next()? {
        let rowid: i64 = r.get(0)?;
        let i = match at.get(&rowid) {
            Some(&i) => i,
            None => {
                let started: i64 = r.get(2)?;
                let group = match q.by {
                    GroupBy::Day => groups.of_number(day_of(started), day_label),
                    GroupBy::Week => {
                        // Monday-based week number: 1970-01-01 was a Thursday.
                        let day = day_of(started);
                        let monday = day - (day + 3).rem_euclid(7);
                        groups.of_number(monday, week_label)
                    }
                    GroupBy::Channel => groups.of_key(r.get_ref(1)?.as_str().unwrap_or("unknown")),
                    // Known once the first message is seen.
                    GroupBy::Language => usize::MAX,
                };
                facts.push(Facts {
                    group,
                    ..Facts::default()
                });
                languages.push(None);
                at.insert(rowid, facts.len() - 1);
                facts.len() - 1
            }
        };
        let n: Option<i64> = r.get(3)?;
        let Some(n) = n else { continue };
        let f = &mut facts[i];
        f.messages += 1;
        match r.get_ref(4)?.as_str().unwrap_or("") {
            "answer" => f.answered = true,
            "escalate" => f.escalated_message = true,
            _ => {}
        }
        if n == 1 {
            languages[i] = Some(r.get(5)?);
        }
        if let Some(ms) = r.get::<_, Option<i64>>(6)? {
            pending_times.push((i, ms.clamp(0, i64::from(u32::MAX)) as u32));
        }
    }
    drop(rows);
    if q.by == GroupBy::Language {
        for (f, l) in facts.iter_mut().zip(&languages) {
            f.group = groups.of_key(l.as_deref().unwrap_or("unknown"));
        }
    }
    for (i, ms) in pending_times {
        groups.accs[facts[i].group].1.response_ms.push(ms);
    }

    // 2. Feedback: thumbs and ratings.
    let mut stmt = conn.prepare(
        "SELECT c.rowid, f.helpful, f.rating \
         FROM conversations c JOIN feedback f ON f.conversation_id = c.id \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    while let Some(r) = rows.next()? {
        let Some(&i) = at.get(&r.get::<_, i64>(0)?) else {
            continue;
        };
        let acc = &mut groups.accs[facts[i].group].1;
        match r.get::<_, Option<bool>>(1)? {
            Some(true) => acc.up += 1,
            Some(false) => {
                acc.down += 1;
                facts[i].thumbs_down_or_low_rating = true;
            }
            None => {}
        }
        if let Some(rating) = r.get::<_, Option<i64>>(2)? {
            if (1..=5).contains(&rating) {
                acc.ratings[rating as usize - 1] += 1;
                if rating <= 2 {
                    facts[i].thumbs_down_or_low_rating = true;
                }
            }
        }
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
        let Some(&i) = at.get(&r.get::<_, i64>(0)?) else {
            continue;
        };
        let f = &mut facts[i];
        let acc = &mut groups.accs[f.group].1;
        let reason: Option<String> = r.get(1)?;
        let category: Option<String> = r.get(2)?;
        let priority: Option<String> = r.get(3)?;
        // A conversation has one ticket (its hand-over); count the first.
        if !f.ticket {
            f.ticket = true;
            f.reason = reason;
            *acc.by_category_priority
                .entry((
                    category.unwrap_or_else(|| "none".into()),
                    priority.unwrap_or_else(|| "none".into()),
                ))
                .or_default() += 1;
        }
        match r.get_ref(4)?.as_str().unwrap_or("") {
            "delivered" => {
                let created: i64 = r.get(5)?;
                if let Some(delivered) = r.get::<_, Option<i64>>(6)? {
                    acc.delivery_ms.push((delivered - created).max(0) as u64);
                }
            }
            "dead" => acc.dead += 1,
            _ => acc.pending += 1,
        }
    }
    drop(rows);

    // 4. Customers who came back within a week (`conversations_by_customer_started`).
    let mut stmt = conn.prepare(
        "SELECT c.rowid FROM conversations c \
         WHERE c.started_ms >= ?1 AND c.started_ms < ?2 AND c.customer_id IS NOT NULL \
           AND EXISTS (SELECT 1 FROM conversations c2 WHERE c2.customer_id = c.customer_id \
             AND c2.started_ms > c.started_ms AND c2.started_ms <= c.started_ms + ?3)",
    )?;
    let mut rows = stmt.query(params![since, until, RETURN_WINDOW_MS as i64])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = at.get(&r.get::<_, i64>(0)?) {
            facts[i].returned = true;
        }
    }
    drop(rows);

    for f in &facts {
        groups.accs[f.group].1.conversation(f);
    }
    let mut accs = groups.accs;
    accs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut total = Accumulator::default();
    for (_, a) in &accs {
        total.merge(a);
    }
    Ok(Report {
        since_ms: q.since_ms,
        until_ms: q.until_ms,
        by: q.by,
        rows: accs.into_iter().map(|(k, a)| a.finish(k)).collect(),
        total: total.finish("total".into()),
    })
}

#[doc(hidden)]
pub mod synthetic;
#[cfg(test)]
mod tests;
