//! The PostgreSQL store: one database shared by every replica of the service
//! (`storage.url: postgres://…`).
//!
//! The same schema and migrations as SQLite (`migrations/`), tracked in the table
//! `concierge_schema`; they are applied at connect time by one replica at a time (a session
//! advisory lock), and a database written by a newer binary is refused.
//!
//! The client is the synchronous `postgres` crate: the [`Store`] trait is synchronous and the
//! service calls it on blocking threads. Connections come from an r2d2 pool; each keeps its
//! prepared statements (the same few statements run for every message) in [`Conn`].
//!
//! What several replicas need, and how this store gives it:
//! - The turns of one conversation are serialized in the database: the conversation core
//!   takes the conversation's session advisory lock ([`Store::lock_turns`]) before it reads
//!   the conversation and holds it until the turn is committed, so a turn is always decided
//!   from the state the previous one left, whichever replica took it. The lock dies with a
//!   replica's session. Inside, a turn, feedback and the hand-over state also take the
//!   conversation's row lock (`SELECT … FOR UPDATE`) in their transaction; and, as a last
//!   guard, a turn that brings a ticket while the conversation is already handed over records
//!   the turn but not a second ticket: a conversation gets at most one ticket.
//! - A due ticket is claimed for delivery with `FOR UPDATE SKIP LOCKED` and a lease
//!   (`claimed_until`): two replicas never take the same ticket at once, and when the holder
//!   dies before it reports, another replica takes the ticket over once the lease ends. The
//!   ticket id is the `webhook-id` of every attempt, so a receiver that deduplicates accepts
//!   it once.
//! - Retention runs on one replica at a time (a transaction advisory lock; the others skip).

mod handover;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

mod report;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement, Transaction};

use super::{
    masked_state, masked_ticket, masked_turn, now_ms, ClientMessageId, Conversation,
    ConversationId, ConversationState, Customer, DatabaseUrl, Error, Feedback, ForgetReport,
    MessageId, Outcome, PurgeReport, Result, Store, Turn, MIGRATIONS,
};
use crate::store::outbox::{
    DeliveryState, EscalationId, Handoff, Outbox, OutboxEntry, OutboxError, Ticket,
};

/// Connections the pool opens at most, per replica.
const POOL_SIZE: u32 = 8;
/// How long a caller waits for a pooled connection (or a new one) before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Advisory lock keys (one namespace per purpose): migrations and retention.
const MIGRATION_LOCK: i64 = 0x636f_6e63_6965_7201;
const RETENTION_LOCK: i64 = 0x636f_6e63_6965_7202;
/// The turns of one conversation hold the two-key advisory lock (this, `hashtext(id)`): a
/// separate key space from the one-key locks above. A hash collision only makes two
/// conversations take turns.
const TURN_LOCK_SPACE: i32 = 0x636f_6e63;
/// Connections that hold turn locks, per replica: the turns in flight at once. A pool of its
/// own, so a turn holding its lock can always get a connection for its reads and its commit.
const TURN_LOCK_POOL_SIZE: u32 = 16;
/// How long a turn waits for its conversation's lock (another replica's turn of the same
/// conversation) before it fails, rather than waiting forever on a replica that hangs.
const TURN_LOCK_TIMEOUT: &str = "SET lock_timeout = '30s'";

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Backend(describe(&e))
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Backend(format!("no database connection: {e}"))
    }
}

/// The server's own message when there is one (`postgres::Error` alone says "db error").
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A pooled connection and the statements prepared on it.
pub struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// Set when the connection may still hold a lock it could not release: the pool then
    /// closes it instead of handing it out again (closing the session releases the lock).
    poisoned: bool,
}

/// Opens connections for the pool.
#[derive(Debug)]
struct Manager {
    config: postgres::Config,
    /// Run once on each new connection.
    setup: Option<&'static str>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        if let Some(sql) = self.setup {
            client.batch_execute(sql)?;
        }
        Ok(Conn {
            client,
            statements: HashMap::new(),
            poisoned: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.poisoned || conn.client.is_closed()
    }
}

/// A transaction with the connection's statement cache: statements are prepared once per
/// connection (PostgreSQL keeps them across transactions, rolled back or not).
struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Tx<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }

    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    fn count(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<usize> {
        let s = self.statement(sql)?;
        let n: i64 = self.tx.query_one(&s, params)?.get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// Conversations and the outbox in a PostgreSQL database.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    /// Connections holding a conversation's turn lock ([`Store::lock_turns`]).
    turn_locks: r2d2::Pool<Manager>,
    /// Where, password masked, for messages.
    url: String,
    /// How long a claimed ticket stays with the replica that claimed it.
    lease: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.url)
            .field("lease", &self.lease)
            .finish()
    }
}

impl PostgresStore {
    /// Connects, then brings the schema up to date (one replica at a time). `lease`: see
    /// [`super::open`].
    pub fn connect(url: &DatabaseUrl, lease: Duration) -> Result<Self> {
        let shown = url.to_string();
        let open_error = |reason: String| Error::Open {
            path: PathBuf::from(&shown),
            reason,
        };
        let config: postgres::Config = url
            .expose()
            .parse()
            .map_err(|e: postgres::Error| open_error(format!("the URL does not parse: {e}")))?;
        let mut first = config.connect(NoTls).map_err(|e| {
            open_error(format!(
                "{}\n  hint: check that PostgreSQL runs there and that the user, password and database in storage.url (or CONCIERGE_DATABASE_URL) are right",
                describe(&e)
            ))
        })?;
        migrate(&mut first, &shown)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(Manager {
                config: config.clone(),
                setup: None,
            })
            .map_err(|e| open_error(e.to_string()))?;
        let turn_locks = r2d2::Pool::builder()
            .max_size(TURN_LOCK_POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(Manager {
                config,
                setup: Some(TURN_LOCK_TIMEOUT),
            })
            .map_err(|e| open_error(e.to_string()))?;
        Ok(PostgresStore {
            pool,
            turn_locks,
            url: shown,
            lease,
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<u32> {
        let mut conn = self.pool.get()?;
        let v: i32 = conn
            .client
            .query_one("SELECT version FROM concierge_schema", &[])?
            .get(0);
        Ok(u32::try_from(v).unwrap_or(0))
    }

    /// Runs `f` in a transaction on a pooled connection, committed when it returns `Ok`.
    fn transaction<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let Conn {
            client, statements, ..
        } = &mut *conn;
        let mut tx = Tx {
            tx: client.transaction()?,
            statements,
        };
        let out = f(&mut tx)?;
        tx.tx.commit()?;
        Ok(out)
    }
}

/// A conversation's turn lock, held by a connection of the lock pool; dropping it unlocks.
struct HeldTurnLock {
    conn: r2d2::PooledConnection<Manager>,
    conversation: ConversationId,
}

impl Drop for HeldTurnLock {
    fn drop(&mut self) {
        let unlocked = self
            .conn
            .client
            .query_one(
                "SELECT pg_advisory_unlock($1, hashtext($2))",
                &[&TURN_LOCK_SPACE, &self.conversation.as_str()],
            )
            .map(|r| r.get::<_, bool>(0));
        if !matches!(unlocked, Ok(true)) {
            // Never hand out a session that may still hold the lock: closing it releases it.
            self.conn.poisoned = true;
            tracing::warn!(
                conversation_id = %self.conversation,
                "a turn lock was not released cleanly; its connection is closed instead"
            );
        }
    }
}

/// The outbox's `reason`, `category` and `priority` (`0004_reports`) of tickets that lack them.
const FILL_REPORT_COLUMNS: &str = "UPDATE outbox SET reason = ticket::jsonb ->> 'reason', \
       category = ticket::jsonb ->> 'category', priority = ticket::jsonb ->> 'priority' \
     WHERE reason IS NULL";

/// Brings the schema to the newest version, one transaction per migration, while holding the
/// migration lock: replicas starting together migrate one after the other.
fn migrate(client: &mut Client, shown: &str) -> Result<()> {
    let supported = MIGRATIONS.len() as u32;
    let fail = |what: &str, e: postgres::Error| Error::Open {
        path: PathBuf::from(shown),
        reason: format!("{what}: {}", describe(&e)),
    };
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| fail("cannot take the migration lock", e))?;
    let result = (|| {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS concierge_schema (version INTEGER NOT NULL); \
                 INSERT INTO concierge_schema (version) \
                   SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM concierge_schema)",
            )
            .map_err(|e| fail("cannot create the schema table", e))?;
        loop {
            let found: i32 = client
                .query_one("SELECT version FROM concierge_schema", &[])
                .map_err(|e| fail("cannot read the schema version", e))?
                .get(0);
            let found = u32::try_from(found).unwrap_or(0);
            if found > supported {
                return Err(Error::SchemaTooNew {
                    path: PathBuf::from(shown),
                    found,
                    supported,
                });
            }
            if found == supported {
                // Tickets written before the outbox's report columns were filled here (or
                // queued before `0004_reports`): read them from the ticket, once each.
                client
                    .execute(FILL_REPORT_COLUMNS, &[])
                    .map_err(|e| fail("cannot fill the outbox's report columns", e))?;
                return Ok(());
            }
            let mut tx = client
                .transaction()
                .map_err(|e| fail("cannot begin a migration", e))?;
            tx.batch_execute(MIGRATIONS[found as usize])
                .map_err(|e| fail(&format!("migration {} failed", found + 1), e))?;
            tx.execute(
                "UPDATE concierge_schema SET version = $1",
                &[&((found + 1) as i32)],
            )
            .map_err(|e| fail("cannot record the schema version", e))?;
            tx.commit()
                .map_err(|e| fail(&format!("migration {} failed", found + 1), e))?;
            tracing::info!(version = found + 1, database = %shown, "database schema migrated");
        }
    })();
    // A lost connection releases the lock too; an error here changes nothing.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result
}

/// The customer's record (the latest name and email given in any conversation) wins over
/// what was given with this one.
const CONVERSATION_BY_ID: &str = "SELECT c.id, c.channel, c.customer_id, \
     COALESCE(cu.name, c.customer_name), COALESCE(cu.email, c.customer_email), \
     c.started_ms, c.last_ms, c.handoff \
     FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1";

const CONVERSATIONS_OF_CUSTOMER: &str = "SELECT c.id, c.channel, c.customer_id, \
     COALESCE(cu.name, c.customer_name), COALESCE(cu.email, c.customer_email), \
     c.started_ms, c.last_ms, c.handoff \
     FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id \
     WHERE c.customer_id = $1 AND c.id <> $2 \
     ORDER BY c.last_ms DESC, c.started_ms DESC, c.id DESC LIMIT $3";

fn conversation_row(r: &Row) -> Result<Conversation> {
    let handoff: String = r.get(7);
    Ok(Conversation {
        id: ConversationId::from_stored(r.get(0)),
        channel: r.get(1),
        customer: Customer {
            id: r.get(2),
            name: r.get(3),
            email: r.get(4),
        },
        started_ms: unsigned(r.get(5)),
        last_ms: unsigned(r.get(6)),
        handoff: serde_json::from_str(&handoff)?,
    })
}

fn turns_of(tx: &mut Tx<'_>, id: &ConversationId) -> Result<Vec<Turn>> {
    let rows = tx.query(
        "SELECT id, text, reply, outcome, language, intent, article, confidence, at_ms, \
           response_ms, client_message_id, shown FROM messages WHERE conversation_id = $1 \
         ORDER BY n",
        &[&id.as_str()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Turn {
                id: MessageId::from_stored(r.get(0)),
                text: r.get(1),
                reply: r.get(2),
                outcome: stored_outcome(r.get(3)),
                language: r.get(4),
                intent: r.get(5),
                article: r.get(6),
                confidence: r.get(7),
                at_ms: unsigned(r.get(8)),
                response_ms: r
                    .get::<_, Option<i64>>(9)
                    .and_then(|v| u32::try_from(v).ok()),
                client_id: r
                    .get::<_, Option<String>>(10)
                    .map(ClientMessageId::from_stored),
                shown: r
                    .get::<_, Option<String>>(11)
                    .map(|j| serde_json::from_str(&j))
                    .transpose()?,
            })
        })
        .collect()
}

/// An outcome as `insert_turn` wrote it; one written by a newer version reads as an answer.
fn stored_outcome(s: String) -> Outcome {
    Outcome::parse(&s).unwrap_or(Outcome::Answer)
}

fn conversation_exists(tx: &mut Tx<'_>, id: &ConversationId) -> Result<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM conversations WHERE id = $1", &[&id.as_str()])?
        .is_some())
}

/// Takes the conversation's row lock for the rest of the transaction: the turns, feedback and
/// hand-over changes of one conversation take turns across replicas. Its customer id and
/// hand-over state, or `None` when there is no such conversation.
fn lock_conversation(
    tx: &mut Tx<'_>,
    id: &ConversationId,
) -> Result<Option<(Option<String>, Handoff)>> {
    let row = tx.query_opt(
        "SELECT customer_id, handoff FROM conversations WHERE id = $1 FOR UPDATE",
        &[&id.as_str()],
    )?;
    row.map(|r| {
        let handoff: String = r.get(1);
        Ok((r.get(0), serde_json::from_str(&handoff)?))
    })
    .transpose()
}

fn parse_state(s: &str) -> Result<DeliveryState> {
    match s {
        "pending" => Ok(DeliveryState::Pending),
        "delivered" => Ok(DeliveryState::Delivered),
        "dead" => Ok(DeliveryState::Dead),
        other => Err(Error::Backend(format!("unknown delivery state `{other}`"))),
    }
}

/// `ticket, state, attempts, next_attempt_ms, last_error, created_ms, delivered_ms`.
fn outbox_entry(r: &Row) -> Result<OutboxEntry> {
    let json: String = r.get(0);
    let state: String = r.get(1);
    let attempts: i32 = r.get(2);
    Ok(OutboxEntry {
        ticket: serde_json::from_str(&json)?,
        state: parse_state(&state)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_ms: unsigned(r.get(3)),
        last_error: r.get(4),
        created_ms: unsigned(r.get(5)),
        delivered_ms: r.get::<_, Option<i64>>(6).map(unsigned),
    })
}

fn insert_conversation(tx: &mut Tx<'_>, c: &Conversation) -> Result<()> {
    let handoff = serde_json::to_string(&c.handoff)?;
    if let Some(id) = &c.customer.id {
        tx.execute(
            "INSERT INTO customers (id, name, email, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (id) DO UPDATE SET \
               name = COALESCE(excluded.name, customers.name), \
               email = COALESCE(excluded.email, customers.email), \
               updated_ms = GREATEST(excluded.updated_ms, customers.updated_ms)",
            &[id, &c.customer.name, &c.customer.email, &ms(c.started_ms)],
        )?;
    }
    tx.execute(
        "INSERT INTO conversations (id, channel, customer_id, customer_name, \
           customer_email, started_ms, last_ms, handoff) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &c.id.as_str(),
            &c.channel,
            &c.customer.id,
            &c.customer.name,
            &c.customer.email,
            &ms(c.started_ms),
            &ms(c.last_ms.max(c.started_ms)),
            &handoff,
        ],
    )?;
    Ok(())
}

/// Inserts a (masked) turn, moves the conversation's hand-over state and queues the ticket,
/// under the conversation's row lock.
fn insert_turn(
    tx: &mut Tx<'_>,
    conversation: &ConversationId,
    turn: &Turn,
    handoff: Option<&Handoff>,
    ticket: Option<&Ticket>,
    state: Option<&str>,
) -> Result<()> {
    let (customer_id, current) = lock_conversation(tx, conversation)?
        .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
    // Another replica handed this conversation over while this turn was being answered from
    // the state before: the turn is kept, a second ticket is not (the shopper's conversation
    // already has one, and the state stays with it).
    let (handoff, ticket) = match (&current, handoff, ticket) {
        // The same ticket again is a duplicate (below), not another replica's ticket.
        (Handoff::HandedOver { ticket: held, .. }, _, Some(t)) if *held != t.id => {
            tracing::info!(
                conversation_id = %conversation,
                ticket = %held,
                dropped = %t.id,
                "conversation already handed over by another replica; no second ticket"
            );
            (None, None)
        }
        _ => (handoff, ticket),
    };
    let handoff = handoff.map(serde_json::to_string).transpose()?;
    let shown = turn.shown.as_ref().map(serde_json::to_string).transpose()?;
    // A second turn with the same client message id (a retry that reached another replica):
    // nothing is inserted, and the transaction is dropped, not committed.
    let inserted = tx.execute(
        "INSERT INTO messages (id, conversation_id, n, at_ms, text, reply, outcome, \
           language, intent, article, confidence, response_ms, client_message_id, shown) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(n), 0) + 1 FROM messages \
           WHERE conversation_id = $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (conversation_id, client_message_id) DO NOTHING",
        &[
            &turn.id.as_str(),
            &conversation.as_str(),
            &ms(turn.at_ms),
            &turn.text,
            &turn.reply,
            &turn.outcome.as_str(),
            &turn.language,
            &turn.intent,
            &turn.article,
            &turn.confidence,
            &turn.response_ms.map(i64::from),
            &turn.client_id.as_ref().map(ClientMessageId::as_str),
            &shown,
        ],
    )?;
    if inserted == 0 {
        if let Some(client_id) = &turn.client_id {
            return Err(Error::DuplicateClientMessage {
                conversation: conversation.clone(),
                client_id: client_id.clone(),
            });
        }
    }
    tx.execute(
        "UPDATE conversations SET last_ms = GREATEST(last_ms, $2), \
           handoff = COALESCE($3, handoff), state = COALESCE($4, state) WHERE id = $1",
        &[&conversation.as_str(), &ms(turn.at_ms), &handoff, &state],
    )?;
    if let Some(t) = ticket {
        let json = serde_json::to_string(&masked_ticket(t))?;
        let now = ms(now_ms());
        let inserted = tx.execute(
            "INSERT INTO outbox (id, conversation_id, customer_id, ticket, state, \
               attempts, next_attempt_ms, last_error, created_ms, updated_ms, delivered_ms, \
               reason, category, priority) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, NULL, $5, $5, NULL, $6, $7, $8) \
             ON CONFLICT (id) DO NOTHING",
            &[
                &t.id.as_str(),
                &conversation.as_str(),
                &customer_id,
                &json,
                &now,
                &t.reason.as_str(),
                &t.category,
                &t.priority.as_str(),
            ],
        )?;
        if inserted == 0 {
            // The transaction is dropped, not committed: nothing of the turn is written.
            return Err(Error::DuplicateTicket(t.id.clone()));
        }
    }
    Ok(())
}

fn outbox_error(e: Error) -> OutboxError {
    match e {
        Error::Backend(s) => OutboxError::Backend(s),
        other => OutboxError::Backend(other.to_string()),
    }
}

/// What an outbox update did (see the SQLite store).
enum Moved {
    Yes,
    LeftAlone,
    Unknown,
}

fn ticket_moved(tx: &mut Tx<'_>, id: &EscalationId, changed: u64) -> Result<Moved> {
    if changed > 0 {
        return Ok(Moved::Yes);
    }
    let known = tx
        .query_opt("SELECT 1 FROM outbox WHERE id = $1", &[&id.as_str()])?
        .is_some();
    Ok(if known {
        Moved::LeftAlone
    } else {
        Moved::Unknown
    })
}

fn outbox_result(id: &EscalationId, r: Result<Moved>) -> Result<bool, OutboxError> {
    match r.map_err(outbox_error)? {
        Moved::Yes => Ok(true),
        Moved::LeftAlone => Ok(false),
        Moved::Unknown => Err(OutboxError::UnknownTicket(id.clone())),
    }
}

impl Store for PostgresStore {
    /// A session advisory lock on the conversation, on a connection of its own: the other
    /// replicas' turns of this conversation wait for it (up to `lock_timeout`), and it dies
    /// with the session if this replica does.
    fn lock_turns(&self, conversation: &ConversationId) -> Result<super::TurnLock> {
        let mut conn = self.turn_locks.get()?;
        conn.client.execute(
            "SELECT pg_advisory_lock($1, hashtext($2))",
            &[&TURN_LOCK_SPACE, &conversation.as_str()],
        )?;
        Ok(super::TurnLock::holding(HeldTurnLock {
            conn,
            conversation: conversation.clone(),
        }))
    }

    fn create_conversation(&self, conversation: Conversation) -> Result<()> {
        self.transaction(|tx| insert_conversation(tx, &conversation))
    }

    fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>> {
        self.transaction(|tx| {
            tx.query_opt(CONVERSATION_BY_ID, &[&id.as_str()])?
                .map(|r| conversation_row(&r))
                .transpose()
        })
    }

    fn record_turn(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()> {
        let turn = masked_turn(turn);
        self.transaction(|tx| insert_turn(tx, conversation, &turn, handoff, ticket, None))
    }

    fn record_first_turn(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()> {
        let turn = masked_turn(turn);
        self.transaction(|tx| {
            insert_conversation(tx, &conversation)?;
            insert_turn(tx, &conversation.id, &turn, handoff, ticket, None)
        })
    }

    fn state(&self, conversation: &ConversationId) -> Result<Option<ConversationState>> {
        self.transaction(|tx| {
            // FOR SHARE waits for a turn being written under the row lock, so the state read
            // is the one its turn committed, never one from before it.
            let row = tx.query_opt(
                "SELECT state FROM conversations WHERE id = $1 FOR SHARE",
                &[&conversation.as_str()],
            )?;
            Ok(match row {
                None => None,
                Some(r) => match r.get::<_, Option<String>>(0) {
                    None => Some(ConversationState::default()),
                    Some(json) => Some(serde_json::from_str(&json)?),
                },
            })
        })
    }

    fn record_turn_with_state(
        &self,
        conversation: &ConversationId,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()> {
        let turn = masked_turn(turn);
        let state = serde_json::to_string(&masked_state(state))?;
        self.transaction(|tx| insert_turn(tx, conversation, &turn, handoff, ticket, Some(&state)))
    }

    fn record_first_turn_with_state(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()> {
        let turn = masked_turn(turn);
        let state = serde_json::to_string(&masked_state(state))?;
        self.transaction(|tx| {
            insert_conversation(tx, &conversation)?;
            insert_turn(tx, &conversation.id, &turn, handoff, ticket, Some(&state))
        })
    }

    fn turns(&self, conversation: &ConversationId) -> Result<Vec<Turn>> {
        self.transaction(|tx| {
            if !conversation_exists(tx, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            turns_of(tx, conversation)
        })
    }

    fn add_feedback(&self, conversation: &ConversationId, feedback: Feedback) -> Result<()> {
        self.transaction(|tx| {
            if lock_conversation(tx, conversation)?.is_none() {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            let (message, helpful, rating) = match &feedback {
                Feedback::Helpful { message, helpful } => {
                    let known = tx
                        .query_opt(
                            "SELECT 1 FROM messages WHERE id = $1 AND conversation_id = $2",
                            &[&message.as_str(), &conversation.as_str()],
                        )?
                        .is_some();
                    if !known {
                        return Err(Error::UnknownMessage {
                            conversation: conversation.clone(),
                            message: message.clone(),
                        });
                    }
                    (Some(message.as_str()), Some(*helpful), None)
                }
                Feedback::Rating(r) => (None, None, Some(i16::from(*r))),
            };
            tx.execute(
                "INSERT INTO feedback (conversation_id, n, message_id, helpful, rating, at_ms) \
                 VALUES ($1, (SELECT COALESCE(MAX(n), 0) + 1 FROM feedback \
                   WHERE conversation_id = $1), $2, $3, $4, $5)",
                &[
                    &conversation.as_str(),
                    &message,
                    &helpful,
                    &rating,
                    &ms(now_ms()),
                ],
            )?;
            Ok(())
        })
    }

    fn feedback(&self, conversation: &ConversationId) -> Result<Vec<Feedback>> {
        self.transaction(|tx| {
            if !conversation_exists(tx, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            let rows = tx.query(
                "SELECT message_id, helpful, rating FROM feedback \
                 WHERE conversation_id = $1 ORDER BY n",
                &[&conversation.as_str()],
            )?;
            Ok(rows
                .iter()
                .map(|r| match r.get::<_, Option<String>>(0) {
                    Some(m) => Feedback::Helpful {
                        message: MessageId::from_stored(m),
                        helpful: r.get::<_, Option<bool>>(1).unwrap_or(false),
                    },
                    None => Feedback::Rating(
                        r.get::<_, Option<i16>>(2)
                            .and_then(|v| u8::try_from(v).ok())
                            .unwrap_or(0),
                    ),
                })
                .collect())
        })
    }

    fn customer_history(
        &self,
        customer_id: &str,
        except: &ConversationId,
        max: usize,
    ) -> Result<Vec<(Conversation, Vec<Turn>)>> {
        self.transaction(|tx| {
            let rows = tx.query(
                CONVERSATIONS_OF_CUSTOMER,
                &[&customer_id, &except.as_str(), &limit(max)],
            )?;
            rows.iter()
                .map(|r| {
                    let c = conversation_row(r)?;
                    let turns = turns_of(tx, &c.id)?;
                    Ok((c, turns))
                })
                .collect()
        })
    }

    fn forget_customer(&self, customer_id: &str) -> Result<ForgetReport> {
        self.transaction(|tx| {
            let mut report = ForgetReport {
                messages: tx.count(
                    "SELECT COUNT(*) FROM messages WHERE conversation_id IN \
                     (SELECT id FROM conversations WHERE customer_id = $1)",
                    &[&customer_id],
                )?,
                feedback: tx.count(
                    "SELECT COUNT(*) FROM feedback WHERE conversation_id IN \
                     (SELECT id FROM conversations WHERE customer_id = $1)",
                    &[&customer_id],
                )?,
                ..ForgetReport::default()
            };
            report.tickets = count(tx.execute(
                "DELETE FROM outbox WHERE customer_id = $1 OR conversation_id IN \
                 (SELECT id FROM conversations WHERE customer_id = $1)",
                &[&customer_id],
            )?);
            handover::forget_events(tx, customer_id)?;
            // Messages and feedback go with their conversations (ON DELETE CASCADE).
            report.conversations = count(tx.execute(
                "DELETE FROM conversations WHERE customer_id = $1",
                &[&customer_id],
            )?);
            report.customers =
                count(tx.execute("DELETE FROM customers WHERE id = $1", &[&customer_id])?);
            Ok(report)
        })
    }

    fn purge_before(&self, cutoff_ms: u64) -> Result<PurgeReport> {
        let cutoff = ms(cutoff_ms);
        self.transaction(|tx| {
            // One replica purges; the others find the lock taken and leave it to that one.
            let ours: bool = tx
                .query_opt("SELECT pg_try_advisory_xact_lock($1)", &[&RETENTION_LOCK])?
                .map(|r| r.get(0))
                .unwrap_or(false);
            if !ours {
                tracing::debug!("another replica is purging; skipped");
                return Ok(PurgeReport::default());
            }
            let mut report = PurgeReport {
                messages: tx.count(
                    "SELECT COUNT(*) FROM messages WHERE conversation_id IN \
                     (SELECT id FROM conversations WHERE last_ms < $1)",
                    &[&cutoff],
                )?,
                feedback: tx.count(
                    "SELECT COUNT(*) FROM feedback WHERE conversation_id IN \
                     (SELECT id FROM conversations WHERE last_ms < $1)",
                    &[&cutoff],
                )?,
                ..PurgeReport::default()
            };
            report.conversations =
                count(tx.execute("DELETE FROM conversations WHERE last_ms < $1", &[&cutoff])?);
            handover::purge_events(tx, cutoff)?;
            // Never a pending ticket, whatever its age: it has not reached a person yet.
            report.tickets = count(tx.execute(
                "DELETE FROM outbox WHERE state IN ('delivered', 'dead') AND updated_ms < $1",
                &[&cutoff],
            )?);
            report.customers = count(tx.execute(
                "DELETE FROM customers WHERE updated_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.customer_id = customers.id) \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.customer_id = customers.id)",
                &[&cutoff],
            )?);
            Ok(report)
        })
    }
}

impl Outbox for PostgresStore {
    /// Claims the due tickets for this replica: each is locked (`FOR UPDATE SKIP LOCKED`, so
    /// two replicas claiming at once take different tickets) and leased until `now_ms` plus
    /// the lease; until then no replica is given it again, unless its attempt is reported.
    fn due(&self, now_ms: u64, max: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        let now = ms(now_ms);
        let until = ms(now_ms.saturating_add(self.lease.as_millis() as u64));
        self.transaction(|tx| {
            let rows = tx.query(
                "UPDATE outbox SET claimed_until = $3 WHERE id IN ( \
                   SELECT id FROM outbox \
                   WHERE state = 'pending' AND next_attempt_ms <= $1 \
                     AND COALESCE(claimed_until, 0) <= $1 \
                   ORDER BY created_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 RETURNING ticket, state, attempts, next_attempt_ms, last_error, created_ms, \
                   delivered_ms, id",
                &[&now, &limit(max), &until],
            )?;
            let mut entries = rows
                .iter()
                .map(|r| Ok((outbox_entry(r)?, r.get::<_, String>(7))))
                .collect::<Result<Vec<_>>>()?;
            entries.sort_by(|(a, a_id), (b, b_id)| (a.created_ms, a_id).cmp(&(b.created_ms, b_id)));
            Ok(entries.into_iter().map(|(e, _)| e).collect())
        })
        .map_err(outbox_error)
    }

    /// When the next pending ticket may be claimed: its next attempt, or the end of the lease
    /// another replica holds on it.
    fn next_due_ms(&self) -> Result<Option<u64>, OutboxError> {
        self.transaction(|tx| {
            let row = tx.query_opt(
                "SELECT MIN(GREATEST(next_attempt_ms, COALESCE(claimed_until, 0))) \
                 FROM outbox WHERE state = 'pending'",
                &[],
            )?;
            Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).map(unsigned))
        })
        .map_err(outbox_error)
    }

    fn mark_delivered(&self, id: &EscalationId, now_ms: u64) -> Result<(), OutboxError> {
        let r = self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, \
                   delivered_ms = $2, updated_ms = $2, claimed_until = NULL \
                 WHERE id = $1 AND state <> 'delivered'",
                &[&id.as_str(), &ms(now_ms)],
            )?;
            ticket_moved(tx, id, n)
        });
        outbox_result(id, r).map(drop)
    }

    fn mark_failed(
        &self,
        id: &EscalationId,
        attempts: u32,
        next_attempt_ms: u64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let r = self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = $2, next_attempt_ms = $3, \
                   last_error = $4, updated_ms = $5, claimed_until = NULL \
                 WHERE id = $1 AND state <> 'delivered'",
                &[
                    &id.as_str(),
                    &attempts,
                    &ms(next_attempt_ms),
                    &error,
                    &ms(now_ms()),
                ],
            )?;
            ticket_moved(tx, id, n)
        });
        outbox_result(id, r).map(drop)
    }

    fn mark_dead(&self, id: &EscalationId, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let r = self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'dead', attempts = $2, last_error = $3, \
                   updated_ms = $4, claimed_until = NULL \
                 WHERE id = $1 AND state <> 'delivered'",
                &[&id.as_str(), &attempts, &error, &ms(now_ms())],
            )?;
            ticket_moved(tx, id, n)
        });
        outbox_result(id, r).map(drop)
    }

    fn list(
        &self,
        state: Option<DeliveryState>,
        max: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.transaction(|tx| {
            let rows = match state {
                Some(s) => tx.query(
                    "SELECT ticket, state, attempts, next_attempt_ms, last_error, created_ms, \
                       delivered_ms FROM outbox WHERE state = $1 \
                     ORDER BY created_ms DESC, id DESC LIMIT $2",
                    &[&s.as_str(), &limit(max)],
                )?,
                None => tx.query(
                    "SELECT ticket, state, attempts, next_attempt_ms, last_error, created_ms, \
                       delivered_ms FROM outbox ORDER BY created_ms DESC, id DESC LIMIT $1",
                    &[&limit(max)],
                )?,
            };
            rows.iter().map(outbox_entry).collect()
        })
        .map_err(outbox_error)
    }

    fn retry(&self, id: &EscalationId, now_ms: u64) -> Result<bool, OutboxError> {
        let r = self.transaction(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = $2, \
                   updated_ms = $2, claimed_until = NULL \
                 WHERE id = $1 AND state <> 'delivered'",
                &[&id.as_str(), &ms(now_ms)],
            )?;
            ticket_moved(tx, id, n)
        });
        outbox_result(id, r)
    }
}

#[cfg(test)]
mod tests;
