//! [`Reports`] on PostgreSQL: the same five facts as SQLite's report (and the same three
//! unanswered-message queries) in one repeatable-read snapshot, streamed row by row into the
//! shared [`ReportBuilder`], so the definitions stay in one place.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{IsolationLevel, Transaction};

use super::super::report::{
    MessageFact, Report, ReportBuilder, ReportQuery, Reports, TicketFact, RETURN_WINDOW_MS,
};
use super::super::unanswered::{Collector, Unanswered, QUERIES};
use super::super::Result;
use super::PostgresStore;

const MESSAGES: &str = "SELECT c.id, c.channel, c.started_ms, m.n, m.outcome, m.language, \
       m.response_ms \
     FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id \
     WHERE c.started_ms >= $1 AND c.started_ms < $2";
const FEEDBACK: &str = "SELECT c.id, f.helpful, f.rating::BIGINT \
     FROM conversations c JOIN feedback f ON f.conversation_id = c.id \
     WHERE c.started_ms >= $1 AND c.started_ms < $2";
const TICKETS: &str = "SELECT c.id, o.reason, o.category, o.priority, o.state, o.created_ms, \
       o.delivered_ms \
     FROM conversations c JOIN outbox o ON o.conversation_id = c.id \
     WHERE c.started_ms >= $1 AND c.started_ms < $2";
const RETURNED: &str = "SELECT c.id FROM conversations c \
     WHERE c.started_ms >= $1 AND c.started_ms < $2 AND c.customer_id IS NOT NULL \
       AND EXISTS (SELECT 1 FROM conversations c2 WHERE c2.customer_id = c.customer_id \
         AND c2.started_ms > c.started_ms AND c2.started_ms <= c.started_ms + $3)";
const AGENTS: &str = "SELECT c.id, MIN(a.at_ms) \
     FROM conversations c JOIN activity a ON a.conversation_id = c.id \
     WHERE c.started_ms >= $1 AND c.started_ms < $2 AND a.kind = 'message' \
     GROUP BY c.id";

/// Calls `each` for every row of `sql`, streamed (a year of history is not held twice).
fn for_each_row(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    mut each: impl FnMut(&postgres::Row) -> Result<()>,
) -> Result<()> {
    let mut rows = tx.query_raw(sql, params.iter().copied())?;
    while let Some(row) = rows.next()? {
        each(&row)?;
    }
    Ok(())
}

impl PostgresStore {
    /// Runs `f` in a read-only repeatable-read transaction: one snapshot for every query.
    fn snapshot<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Reports for PostgresStore {
    fn report(&self, q: &ReportQuery) -> Result<Report> {
        self.snapshot(|tx| {
            let mut b: ReportBuilder<String> = ReportBuilder::new(q);
            let (since, until) = b.window();
            let window: [&(dyn ToSql + Sync); 2] = [&since, &until];
            for_each_row(tx, MESSAGES, &window, |r| {
                let n: Option<i64> = r.try_get(3)?;
                let message = match n {
                    Some(n) => Some(MessageFact {
                        n,
                        outcome: r.try_get::<_, Option<&str>>(4)?.unwrap_or(""),
                        language: r.try_get::<_, Option<&str>>(5)?.unwrap_or("unknown"),
                        response_ms: r.try_get(6)?,
                    }),
                    None => None,
                };
                b.conversation(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, message);
                Ok(())
            })?;
            for_each_row(tx, FEEDBACK, &window, |r| {
                b.feedback(&r.try_get::<_, String>(0)?, r.try_get(1)?, r.try_get(2)?);
                Ok(())
            })?;
            for_each_row(tx, TICKETS, &window, |r| {
                b.ticket(
                    &r.try_get::<_, String>(0)?,
                    TicketFact {
                        reason: r.try_get(1)?,
                        category: r.try_get(2)?,
                        priority: r.try_get(3)?,
                        state: r.try_get(4)?,
                        created_ms: r.try_get(5)?,
                        delivered_ms: r.try_get(6)?,
                    },
                );
                Ok(())
            })?;
            let within = RETURN_WINDOW_MS as i64;
            for_each_row(tx, RETURNED, &[&since, &until, &within], |r| {
                b.returned(&r.try_get::<_, String>(0)?);
                Ok(())
            })?;
            for_each_row(tx, AGENTS, &window, |r| {
                b.agent_message(&r.try_get::<_, String>(0)?, r.try_get(1)?);
                Ok(())
            })?;
            Ok(b.finish())
        })
    }

    fn unanswered(&self, since_ms: u64, until_ms: u64) -> Result<Vec<Unanswered>> {
        let since = since_ms.min(i64::MAX as u64) as i64;
        let until = until_ms.min(i64::MAX as u64) as i64;
        self.snapshot(|tx| {
            let mut gaps = Collector::default();
            for (reason, sql) in QUERIES {
                let sql = sql.replace("?1", "$1").replace("?2", "$2");
                for_each_row(tx, &sql, &[&since, &until], |r| {
                    let at: i64 = r.try_get(2)?;
                    gaps.add(Unanswered {
                        conversation: r.try_get(0)?,
                        message: r.try_get(1)?,
                        at_ms: u64::try_from(at).unwrap_or(0),
                        language: r.try_get(3)?,
                        text: r.try_get(4)?,
                        reason,
                        article: r.try_get(5)?,
                    });
                    Ok(())
                })?;
            }
            Ok(gaps.finish())
        })
    }
}
