//! The SQLite store: one file, `<data dir>/concierge.sqlite3`, with versioned migrations
//! applied at open.
//!
//! This is one backend behind the [`Store`] trait, which is the seam: a PostgreSQL backend
//! for several replicas would implement the same trait, and the schema and queries here keep
//! to SQL both accept (`ON CONFLICT … DO UPDATE`, `CASE` rather than two-argument `MAX`, no
//! `AUTOINCREMENT`). Only the connection set-up (the pragmas below) is SQLite's own.
//!
//! Migrations are the files in `migrations/`, embedded in the binary and tracked with
//! `PRAGMA user_version`, each applied in its own transaction; a database written by a newer
//! binary is refused rather than guessed at.
//!
//! Durability: the database runs in WAL mode with `synchronous=NORMAL`, so an ordinary turn
//! survives the process being killed. A transaction that puts a ticket in the outbox (and
//! `forget`) switches the connection to `synchronous=FULL` first, which in WAL mode syncs the
//! log at commit (earlier commits included): a ticket the shopper was told about survives a
//! power loss too.
//!
//! Concurrency: one writer connection behind a mutex (SQLite has one writer at a time
//! anyway), and a small pool of read connections, which WAL lets read while the writer
//! writes.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

mod handover;

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    masked_state, masked_ticket, masked_turn, now_ms, ClientMessageId, Conversation,
    ConversationId, ConversationState, Customer, Error, Feedback, ForgetReport, MessageId, Outcome,
    PurgeReport, Result, Store, Turn, MIGRATIONS, REPORTS_MIGRATION,
};
use crate::store::outbox::{
    DeliveryState, EscalationId, Handoff, Outbox, OutboxEntry, OutboxError, Ticket,
};

/// The database file in the data folder.
pub const FILE_NAME: &str = "concierge.sqlite3";

/// Idle read connections kept open.
const READERS: usize = 4;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Backend(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Backend(format!("a stored JSON column does not parse: {e}"))
    }
}

fn outbox_error(e: Error) -> OutboxError {
    match e {
        Error::Backend(s) => OutboxError::Backend(s),
        other => OutboxError::Backend(other.to_string()),
    }
}

/// Milliseconds as SQL wants them: SQLite's integers are signed.
fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A limit for `LIMIT ?`.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Conversations and the outbox in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Turns waiting for the next group commit (see [`SqliteStore::write_grouped`]).
    queued: Mutex<Vec<Queued>>,
}

/// A write that runs in whichever transaction the next group commit opens.
type Job = Box<dyn FnMut(&Connection) -> Result<()> + Send>;

/// A queued write and where its outcome goes.
struct Queued {
    job: Job,
    durable: bool,
    done: mpsc::SyncSender<Result<()>>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued")
            .field("durable", &self.durable)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating it and the folder if need be) `dir/concierge.sqlite3`.
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        std::fs::create_dir_all(dir).map_err(|e| Error::Open {
            path: path.clone(),
            reason: format!("cannot create the folder {}: {e}", dir.display()),
        })?;
        SqliteStore::open(&path)
    }

    /// Opens (creating it if need be) the database at `path` and brings its schema up to
    /// date.
    pub fn open(path: &Path) -> Result<Self> {
        let open_error = |e: rusqlite::Error| Error::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut writer = connect(path, false).map_err(open_error)?;
        migrate(&mut writer, path)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            queued: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .writer()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The schema version this binary writes.
    pub fn supported_schema_version() -> u32 {
        MIGRATIONS.len() as u32
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        let conn = lock(&self.writer);
        // A panic inside `write` leaves its transaction open: end it before anything else
        // runs on the connection.
        rollback(&conn);
        conn
    }

    /// Runs `f` on a read connection from the pool (a new one when all are busy).
    pub(super) fn read<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => connect(&self.path, true)?,
        };
        let out = f(&mut conn);
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` in a write transaction of its own (see [`in_transaction`]).
    pub(super) fn write<T>(
        &self,
        durable: bool,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        in_transaction(&self.writer(), durable, f)
    }

    /// Runs `job` in a write transaction shared with the other writes waiting at the same time
    /// (group commit), and returns once that transaction is committed: synced to disk
    /// (`synchronous=FULL`) when this or any other write in it is `durable`.
    ///
    /// Whoever takes the writer lock commits everything queued so far, so while one commit
    /// waits for the disk (about 4 ms for a durable one here) the turns arriving meanwhile
    /// gather, and the next commit writes them together: one WAL append and at most one sync
    /// for many messages, not one each. If the shared transaction fails, each of its writes is
    /// retried in a transaction of its own, so one bad write never fails the others; `job`
    /// may therefore run twice, the first time in a transaction that was rolled back.
    fn write_grouped(
        &self,
        durable: bool,
        job: impl FnMut(&Connection) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let (done, outcome) = mpsc::sync_channel(1);
        lock(&self.queued).push(Queued {
            job: Box::new(job),
            durable,
            done,
        });
        {
            let conn = self.writer();
            let batch = std::mem::take(&mut *lock(&self.queued));
            // Empty when an earlier holder of the lock already committed this write.
            if !batch.is_empty() {
                commit_group(&conn, batch);
            }
        }
        outcome.recv().unwrap_or_else(|_| {
            Err(Error::Backend(
                "a group commit ended without reporting this write".into(),
            ))
        })
    }
}

/// A lock that a panic elsewhere does not make unusable (every critical section here leaves
/// its data consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Commits `batch` in one transaction or, if that fails, each write in its own; tells every
/// writer its outcome.
fn commit_group(conn: &Connection, mut batch: Vec<Queued>) {
    let durable = batch.iter().any(|q| q.durable);
    let together = in_transaction(conn, durable, |conn| {
        batch.iter_mut().try_for_each(|q| (q.job)(conn))
    });
    if together.is_ok() || batch.len() == 1 {
        for q in batch {
            // A writer that stopped waiting (it panicked) has nothing to be told.
            let _ = q.done.send(together.clone());
        }
        return;
    }
    for mut q in batch {
        let alone = in_transaction(conn, q.durable, |conn| (q.job)(conn));
        let _ = q.done.send(alone);
    }
}

/// One write transaction on the writer connection. With `durable`, the commit is synced to
/// disk (`synchronous=FULL`) before this returns.
///
/// `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK` run as cached statements rather than through
/// `rusqlite::Transaction`, which parses them again for every message.
fn in_transaction<T>(
    conn: &Connection,
    durable: bool,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    if durable {
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    let result = (|| {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        match f(conn) {
            Ok(out) => match conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]))
            {
                Ok(_) => Ok(out),
                Err(e) => {
                    rollback(conn);
                    Err(e.into())
                }
            },
            Err(e) => {
                rollback(conn);
                Err(e)
            }
        }
    })();
    if durable {
        if let Err(e) = conn.pragma_update(None, "synchronous", "NORMAL") {
            // Staying at FULL is slower but never less safe.
            tracing::warn!(error = %e, "cannot switch the database back to synchronous=NORMAL");
        }
    }
    result
}

/// Ends a failed write transaction. SQLite may have rolled it back already (some errors do),
/// so only an open transaction is rolled back.
fn rollback(conn: &Connection) {
    if conn.is_autocommit() {
        return;
    }
    if let Err(e) = conn
        .prepare_cached("ROLLBACK")
        .and_then(|mut s| s.execute([]))
    {
        tracing::error!(error = %e, "cannot roll a failed write back");
    }
}

/// A connection with the pragmas every connection needs.
fn connect(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Query-plan stability: without it SQLite re-parses a cached statement whenever a new
    // value is bound to a parameter that might change the plan (every message, in profiles).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if !read_only {
        // `journal_mode` answers with the mode it is in: WAL unless the file system cannot.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode = %mode, "the database is not in WAL mode: readers wait for writers");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Deleted rows (`forget`, retention) are overwritten, not merely unlinked.
        conn.pragma_update(None, "secure_delete", true)?;
    }
    Ok(conn)
}

/// Brings the schema to the newest version, one transaction per migration.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let supported = MIGRATIONS.len() as u32;
    let open_error = |e: rusqlite::Error| Error::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    loop {
        // Immediate: another process opening the same file waits instead of migrating too.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(open_error)?;
        let found: u32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_error)?;
        if found > supported {
            return Err(Error::SchemaTooNew {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        if found == supported {
            return Ok(());
        }
        let sql = MIGRATIONS[found as usize];
        tx.execute_batch(sql).map_err(|e| Error::Open {
            path: path.to_path_buf(),
            reason: format!("migration {} failed: {e}", found + 1),
        })?;
        if found as usize == REPORTS_MIGRATION {
            fill_ticket_columns(&tx).map_err(|e| Error::Open {
                path: path.to_path_buf(),
                reason: format!("migration {} failed: {e}", found + 1),
            })?;
        }
        tx.pragma_update(None, "user_version", found + 1)
            .map_err(open_error)?;
        tx.commit().map_err(open_error)?;
        tracing::info!(version = found + 1, path = %path.display(), "database schema migrated");
    }
}

/// Fills the outbox's `reason`, `category` and `priority` of the tickets queued before the
/// report migration, from their JSON (the migration itself is portable SQL and cannot).
fn fill_ticket_columns(tx: &Connection) -> Result<()> {
    let rows: Vec<(String, String)> = tx
        .prepare("SELECT id, ticket FROM outbox WHERE reason IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update =
        tx.prepare("UPDATE outbox SET reason = ?2, category = ?3, priority = ?4 WHERE id = ?1")?;
    for (id, json) in rows {
        let ticket: serde_json::Value = serde_json::from_str(&json)?;
        let field = |k: &str| ticket.get(k).and_then(|v| v.as_str()).map(str::to_string);
        update.execute(params![
            id,
            field("reason"),
            field("category"),
            field("priority")
        ])?;
    }
    Ok(())
}

/// The customer's record (the latest name and email given in any conversation) wins over
/// what was given with this one.
const CONVERSATION_COLUMNS: &str = "c.id, c.channel, c.customer_id, \
     COALESCE(cu.name, c.customer_name), COALESCE(cu.email, c.customer_email), \
     c.started_ms, c.last_ms, c.handoff \
     FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id";

fn conversation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Conversation, String)> {
    Ok((
        Conversation {
            id: ConversationId::from_stored(r.get(0)?),
            channel: r.get(1)?,
            customer: Customer {
                id: r.get(2)?,
                name: r.get(3)?,
                email: r.get(4)?,
            },
            started_ms: unsigned(r.get(5)?),
            last_ms: unsigned(r.get(6)?),
            handoff: Handoff::Bot,
        },
        r.get(7)?,
    ))
}

fn with_handoff((mut c, json): (Conversation, String)) -> Result<Conversation> {
    c.handoff = serde_json::from_str(&json)?;
    Ok(c)
}

fn turns_of(conn: &Connection, id: &ConversationId) -> Result<Vec<Turn>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, text, reply, outcome, language, intent, article, confidence, at_ms, \
           response_ms, client_message_id, shown \
         FROM messages WHERE conversation_id = ?1 ORDER BY n",
    )?;
    let rows = stmt
        .query_map([id.as_str()], |r| {
            let shown: Option<String> = r.get(11)?;
            let turn = Turn {
                id: MessageId::from_stored(r.get(0)?),
                text: r.get(1)?,
                reply: r.get(2)?,
                outcome: stored_outcome(r.get(3)?),
                language: r.get(4)?,
                intent: r.get(5)?,
                article: r.get(6)?,
                confidence: r.get::<_, f64>(7)? as f32,
                at_ms: unsigned(r.get(8)?),
                response_ms: r
                    .get::<_, Option<i64>>(9)?
                    .map(|v| v.clamp(0, i64::from(u32::MAX)) as u32),
                client_id: r
                    .get::<_, Option<String>>(10)?
                    .map(ClientMessageId::from_stored),
                shown: None,
            };
            Ok((turn, shown))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(mut turn, shown)| {
            turn.shown = shown.map(|j| serde_json::from_str(&j)).transpose()?;
            Ok(turn)
        })
        .collect()
}

/// An outcome as `insert_turn` wrote it; one written by a newer version reads as an answer.
fn stored_outcome(s: String) -> Outcome {
    Outcome::parse(&s).unwrap_or(Outcome::Answer)
}

fn conversation_exists(conn: &Connection, id: &ConversationId) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM conversations WHERE id = ?1",
            [id.as_str()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn parse_state(s: &str) -> rusqlite::Result<DeliveryState> {
    match s {
        "pending" => Ok(DeliveryState::Pending),
        "delivered" => Ok(DeliveryState::Delivered),
        "dead" => Ok(DeliveryState::Dead),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("unknown delivery state `{other}`").into(),
        )),
    }
}

const OUTBOX_COLUMNS: &str =
    "ticket, state, attempts, next_attempt_ms, last_error, created_ms, delivered_ms FROM outbox";

fn outbox_rows(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                parse_state(&r.get::<_, String>(1)?)?,
                r.get::<_, u32>(2)?,
                unsigned(r.get(3)?),
                r.get::<_, Option<String>>(4)?,
                unsigned(r.get(5)?),
                r.get::<_, Option<i64>>(6)?.map(unsigned),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(
            |(json, state, attempts, next_attempt_ms, last_error, created_ms, delivered_ms)| {
                Ok(OutboxEntry {
                    ticket: serde_json::from_str(&json)?,
                    state,
                    attempts,
                    next_attempt_ms,
                    last_error,
                    created_ms,
                    delivered_ms,
                })
            },
        )
        .collect()
}

/// What an outbox update did.
enum Moved {
    Yes,
    /// The ticket is in a state the update leaves alone (delivered).
    LeftAlone,
    Unknown,
}

/// Reads an update's count of changed rows: 0 means the ticket is unknown or was left alone.
fn ticket_moved(tx: &Connection, id: &EscalationId, changed: usize) -> Result<Moved> {
    if changed > 0 {
        return Ok(Moved::Yes);
    }
    let known = tx
        .query_row("SELECT 1 FROM outbox WHERE id = ?1", [id.as_str()], |_| {
            Ok(())
        })
        .optional()?
        .is_some();
    Ok(if known {
        Moved::LeftAlone
    } else {
        Moved::Unknown
    })
}

/// A ticket as its outbox row: id, masked JSON and the facts the report reads from columns
/// (`0004_reports`: `reason`, `category`, `priority`).
struct TicketRow {
    id: EscalationId,
    json: String,
    reason: &'static str,
    category: String,
    priority: &'static str,
}

fn ticket_row(ticket: Option<&Ticket>) -> Result<Option<TicketRow>> {
    match ticket {
        Some(t) => Ok(Some(TicketRow {
            id: t.id.clone(),
            json: serde_json::to_string(&masked_ticket(t))?,
            reason: t.reason.as_str(),
            category: t.category.clone(),
            priority: t.priority.as_str(),
        })),
        None => Ok(None),
    }
}

/// Runs a statement through the connection's statement cache: the same few statements run
/// for every message, and parsing them each time showed in profiles.
fn exec(tx: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

fn insert_conversation(tx: &Connection, c: &Conversation, handoff: &str) -> Result<()> {
    if let Some(id) = &c.customer.id {
        exec(
            tx,
            "INSERT INTO customers (id, name, email, created_ms, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?4) \
             ON CONFLICT (id) DO UPDATE SET \
               name = COALESCE(excluded.name, customers.name), \
               email = COALESCE(excluded.email, customers.email), \
               updated_ms = CASE WHEN excluded.updated_ms > customers.updated_ms \
                            THEN excluded.updated_ms ELSE customers.updated_ms END",
            params![id, c.customer.name, c.customer.email, ms(c.started_ms)],
        )?;
    }
    exec(
        tx,
        "INSERT INTO conversations (id, channel, customer_id, customer_name, \
           customer_email, started_ms, last_ms, handoff) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            c.id.as_str(),
            c.channel,
            c.customer.id,
            c.customer.name,
            c.customer.email,
            ms(c.started_ms),
            ms(c.last_ms.max(c.started_ms)),
            handoff
        ],
    )?;
    Ok(())
}

/// Inserts a (masked) turn, moves the conversation's hand-over state and queues the ticket.
fn insert_turn(
    tx: &Connection,
    conversation: &ConversationId,
    turn: &Turn,
    handoff: Option<&str>,
    ticket: Option<&TicketRow>,
    state: Option<&str>,
) -> Result<()> {
    let customer_id: Option<String> = tx
        .prepare_cached("SELECT customer_id FROM conversations WHERE id = ?1")?
        .query_row([conversation.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
    let shown = turn.shown.as_ref().map(serde_json::to_string).transpose()?;
    // A second turn with the same client message id (a retry) is not an error of SQL but of
    // the caller: nothing is inserted, and the transaction is rolled back below.
    let inserted = exec(
        tx,
        "INSERT INTO messages (id, conversation_id, n, at_ms, text, reply, outcome, \
           language, intent, article, confidence, response_ms, client_message_id, shown) \
         VALUES (?1, ?2, (SELECT COALESCE(MAX(n), 0) + 1 FROM messages \
           WHERE conversation_id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (conversation_id, client_message_id) DO NOTHING",
        params![
            turn.id.as_str(),
            conversation.as_str(),
            ms(turn.at_ms),
            turn.text,
            turn.reply,
            turn.outcome.as_str(),
            turn.language,
            turn.intent,
            turn.article,
            f64::from(turn.confidence),
            turn.response_ms,
            turn.client_id.as_ref().map(ClientMessageId::as_str),
            shown
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
    exec(
        tx,
        "UPDATE conversations SET \
           last_ms = CASE WHEN last_ms < ?2 THEN ?2 ELSE last_ms END, \
           handoff = COALESCE(?3, handoff), \
           state = CASE WHEN ?4 IS NULL THEN state ELSE ?4 END \
         WHERE id = ?1",
        params![conversation.as_str(), ms(turn.at_ms), handoff, state],
    )?;
    if let Some(row) = ticket {
        let id = &row.id;
        let now = ms(now_ms());
        let inserted = exec(
            tx,
            "INSERT INTO outbox (id, conversation_id, customer_id, ticket, state, \
               attempts, next_attempt_ms, last_error, created_ms, updated_ms, delivered_ms, \
               reason, category, priority) \
             VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, NULL, ?5, ?5, NULL, ?6, ?7, ?8)",
            params![
                id.as_str(),
                conversation.as_str(),
                customer_id,
                row.json,
                now,
                row.reason,
                row.category,
                row.priority
            ],
        );
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                return Err(Error::DuplicateTicket(id.clone()));
            }
            other => {
                other?;
            }
        }
    }
    Ok(())
}

/// `Ok(true)` when the ticket moved; an unknown ticket is [`OutboxError::UnknownTicket`].
fn outbox_result(id: &EscalationId, r: Result<Moved>) -> Result<bool, OutboxError> {
    match r.map_err(outbox_error)? {
        Moved::Yes => Ok(true),
        Moved::LeftAlone => Ok(false),
        Moved::Unknown => Err(OutboxError::UnknownTicket(id.clone())),
    }
}

impl Store for SqliteStore {
    fn create_conversation(&self, conversation: Conversation) -> Result<()> {
        let handoff = serde_json::to_string(&conversation.handoff)?;
        self.write(false, |tx| insert_conversation(tx, &conversation, &handoff))
    }

    fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>> {
        self.read(|conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {CONVERSATION_COLUMNS} WHERE c.id = ?1"),
                    [id.as_str()],
                    conversation_row,
                )
                .optional()?;
            row.map(with_handoff).transpose()
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
        let handoff = handoff.map(serde_json::to_string).transpose()?;
        let ticket = ticket_row(ticket)?;
        let conversation = conversation.clone();
        self.write_grouped(ticket.is_some(), move |tx| {
            insert_turn(
                tx,
                &conversation,
                &turn,
                handoff.as_deref(),
                ticket.as_ref(),
                None,
            )
        })
    }

    fn record_first_turn(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
    ) -> Result<()> {
        let initial = serde_json::to_string(&conversation.handoff)?;
        let turn = masked_turn(turn);
        let handoff = handoff.map(serde_json::to_string).transpose()?;
        let ticket = ticket_row(ticket)?;
        self.write_grouped(ticket.is_some(), move |tx| {
            insert_conversation(tx, &conversation, &initial)?;
            insert_turn(
                tx,
                &conversation.id,
                &turn,
                handoff.as_deref(),
                ticket.as_ref(),
                None,
            )
        })
    }

    fn state(&self, conversation: &ConversationId) -> Result<Option<ConversationState>> {
        self.read(|conn| {
            let row: Option<Option<String>> = conn
                .prepare_cached("SELECT state FROM conversations WHERE id = ?1")?
                .query_row([conversation.as_str()], |r| r.get(0))
                .optional()?;
            Ok(match row {
                None => None,
                Some(None) => Some(ConversationState::default()),
                Some(Some(json)) => Some(serde_json::from_str(&json)?),
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
        let handoff = handoff.map(serde_json::to_string).transpose()?;
        let ticket = ticket_row(ticket)?;
        let state = serde_json::to_string(&masked_state(state))?;
        let conversation = conversation.clone();
        self.write_grouped(ticket.is_some(), move |tx| {
            insert_turn(
                tx,
                &conversation,
                &turn,
                handoff.as_deref(),
                ticket.as_ref(),
                Some(&state),
            )
        })
    }

    fn record_first_turn_with_state(
        &self,
        conversation: Conversation,
        turn: Turn,
        handoff: Option<&Handoff>,
        ticket: Option<&Ticket>,
        state: &ConversationState,
    ) -> Result<()> {
        let initial = serde_json::to_string(&conversation.handoff)?;
        let turn = masked_turn(turn);
        let handoff = handoff.map(serde_json::to_string).transpose()?;
        let ticket = ticket_row(ticket)?;
        let state = serde_json::to_string(&masked_state(state))?;
        self.write_grouped(ticket.is_some(), move |tx| {
            insert_conversation(tx, &conversation, &initial)?;
            insert_turn(
                tx,
                &conversation.id,
                &turn,
                handoff.as_deref(),
                ticket.as_ref(),
                Some(&state),
            )
        })
    }

    fn turns(&self, conversation: &ConversationId) -> Result<Vec<Turn>> {
        self.read(|conn| {
            let tx = conn.transaction()?;
            if !conversation_exists(&tx, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            turns_of(&tx, conversation)
        })
    }

    fn add_feedback(&self, conversation: &ConversationId, feedback: Feedback) -> Result<()> {
        self.write(false, |tx| {
            if !conversation_exists(tx, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            let (message, helpful, rating) = match &feedback {
                Feedback::Helpful { message, helpful } => {
                    let known = tx
                        .query_row(
                            "SELECT 1 FROM messages WHERE id = ?1 AND conversation_id = ?2",
                            [message.as_str(), conversation.as_str()],
                            |_| Ok(()),
                        )
                        .optional()?
                        .is_some();
                    if !known {
                        return Err(Error::UnknownMessage {
                            conversation: conversation.clone(),
                            message: message.clone(),
                        });
                    }
                    (Some(message.as_str()), Some(*helpful), None)
                }
                Feedback::Rating(r) => (None, None, Some(*r)),
            };
            tx.execute(
                "INSERT INTO feedback (conversation_id, n, message_id, helpful, rating, at_ms) \
                 VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM feedback \
                   WHERE conversation_id = ?1), ?2, ?3, ?4, ?5)",
                params![
                    conversation.as_str(),
                    message,
                    helpful,
                    rating,
                    ms(now_ms())
                ],
            )?;
            Ok(())
        })
    }

    fn feedback(&self, conversation: &ConversationId) -> Result<Vec<Feedback>> {
        self.read(|conn| {
            let tx = conn.transaction()?;
            if !conversation_exists(&tx, conversation)? {
                return Err(Error::UnknownConversation(conversation.clone()));
            }
            let mut stmt = tx.prepare_cached(
                "SELECT message_id, helpful, rating FROM feedback \
                 WHERE conversation_id = ?1 ORDER BY n",
            )?;
            let rows = stmt
                .query_map([conversation.as_str()], |r| {
                    let message: Option<String> = r.get(0)?;
                    Ok(match message {
                        Some(m) => Feedback::Helpful {
                            message: MessageId::from_stored(m),
                            helpful: r.get::<_, Option<bool>>(1)?.unwrap_or(false),
                        },
                        None => Feedback::Rating(r.get::<_, Option<u8>>(2)?.unwrap_or(0)),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn customer_history(
        &self,
        customer_id: &str,
        except: &ConversationId,
        max: usize,
    ) -> Result<Vec<(Conversation, Vec<Turn>)>> {
        self.read(|conn| {
            // One read transaction: the headers and their turns are one snapshot.
            let tx = conn.transaction()?;
            let rows = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {CONVERSATION_COLUMNS} \
                     WHERE c.customer_id = ?1 AND c.id <> ?2 \
                     ORDER BY c.last_ms DESC, c.started_ms DESC, c.id DESC LIMIT ?3"
                ))?;
                let rows = stmt
                    .query_map(
                        params![customer_id, except.as_str(), limit(max)],
                        conversation_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                rows
            };
            rows.into_iter()
                .map(|row| {
                    let c = with_handoff(row)?;
                    let turns = turns_of(&tx, &c.id)?;
                    Ok((c, turns))
                })
                .collect()
        })
    }

    fn forget_customer(&self, customer_id: &str) -> Result<ForgetReport> {
        let report = self.write(true, |tx| {
            const THEIRS: &str = "SELECT id FROM conversations WHERE customer_id = ?1";
            let count = |sql: &str| -> Result<usize> {
                let n: i64 = tx.query_row(sql, [customer_id], |r| r.get(0))?;
                Ok(usize::try_from(n).unwrap_or(0))
            };
            let mut report = ForgetReport {
                messages: count(&format!(
                    "SELECT COUNT(*) FROM messages WHERE conversation_id IN ({THEIRS})"
                ))?,
                feedback: count(&format!(
                    "SELECT COUNT(*) FROM feedback WHERE conversation_id IN ({THEIRS})"
                ))?,
                ..ForgetReport::default()
            };
            report.tickets = tx.execute(
                &format!(
                    "DELETE FROM outbox WHERE customer_id = ?1 OR conversation_id IN ({THEIRS})"
                ),
                [customer_id],
            )?;
            handover::forget_handover(tx, THEIRS, [customer_id], true)?;
            tx.execute(
                &format!("DELETE FROM feedback WHERE conversation_id IN ({THEIRS})"),
                [customer_id],
            )?;
            tx.execute(
                &format!("DELETE FROM messages WHERE conversation_id IN ({THEIRS})"),
                [customer_id],
            )?;
            report.conversations = tx.execute(
                "DELETE FROM conversations WHERE customer_id = ?1",
                [customer_id],
            )?;
            report.customers = tx.execute("DELETE FROM customers WHERE id = ?1", [customer_id])?;
            Ok(report)
        })?;
        if !report.is_empty() {
            // Copy the log into the database file and empty it, so the deleted rows (already
            // overwritten there by `secure_delete`) do not linger in the WAL either.
            let conn = self.writer();
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "cannot checkpoint the database after forget");
            }
        }
        Ok(report)
    }

    fn purge_before(&self, cutoff_ms: u64) -> Result<PurgeReport> {
        let cutoff = ms(cutoff_ms);
        self.write(false, |tx| {
            const OLD: &str = "SELECT id FROM conversations WHERE last_ms < ?1";
            let count = |sql: &str| -> Result<usize> {
                let n: i64 = tx.query_row(sql, [cutoff], |r| r.get(0))?;
                Ok(usize::try_from(n).unwrap_or(0))
            };
            let mut report = PurgeReport {
                messages: count(&format!(
                    "SELECT COUNT(*) FROM messages WHERE conversation_id IN ({OLD})"
                ))?,
                feedback: count(&format!(
                    "SELECT COUNT(*) FROM feedback WHERE conversation_id IN ({OLD})"
                ))?,
                ..PurgeReport::default()
            };
            handover::forget_handover(tx, OLD, [cutoff], false)?;
            handover::purge_events(tx, cutoff)?;
            tx.execute(
                &format!("DELETE FROM feedback WHERE conversation_id IN ({OLD})"),
                [cutoff],
            )?;
            tx.execute(
                &format!("DELETE FROM messages WHERE conversation_id IN ({OLD})"),
                [cutoff],
            )?;
            report.conversations =
                tx.execute("DELETE FROM conversations WHERE last_ms < ?1", [cutoff])?;
            // Never a pending ticket, whatever its age: it has not reached a person yet.
            report.tickets = tx.execute(
                "DELETE FROM outbox WHERE state IN ('delivered', 'dead') AND updated_ms < ?1",
                [cutoff],
            )?;
            report.customers = tx.execute(
                "DELETE FROM customers WHERE updated_ms < ?1 \
                 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.customer_id = customers.id) \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.customer_id = customers.id)",
                [cutoff],
            )?;
            Ok(report)
        })
    }
}

impl Outbox for SqliteStore {
    fn due(&self, now_ms: u64, max: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.read(|conn| {
            outbox_rows(
                conn,
                &format!(
                    "SELECT {OUTBOX_COLUMNS} WHERE state = 'pending' AND next_attempt_ms <= ?1 \
                     ORDER BY created_ms, id LIMIT ?2"
                ),
                params![ms(now_ms), limit(max)],
            )
        })
        .map_err(outbox_error)
    }

    fn next_due_ms(&self) -> Result<Option<u64>, OutboxError> {
        self.read(|conn| {
            let next: Option<i64> = conn.query_row(
                "SELECT MIN(next_attempt_ms) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )?;
            Ok(next.map(unsigned))
        })
        .map_err(outbox_error)
    }

    fn mark_delivered(&self, id: &EscalationId, now_ms: u64) -> Result<(), OutboxError> {
        let r = self.write(false, |tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, \
                   delivered_ms = ?2, updated_ms = ?2 \
                 WHERE id = ?1 AND state <> 'delivered'",
                params![id.as_str(), ms(now_ms)],
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
        let r = self.write(false, |tx| {
            // Only forward: a delivered ticket stays delivered.
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = ?2, next_attempt_ms = ?3, \
                   last_error = ?4, updated_ms = ?5 \
                 WHERE id = ?1 AND state <> 'delivered'",
                params![
                    id.as_str(),
                    attempts,
                    ms(next_attempt_ms),
                    error,
                    ms(now_ms())
                ],
            )?;
            ticket_moved(tx, id, n)
        });
        outbox_result(id, r).map(drop)
    }

    fn mark_dead(&self, id: &EscalationId, attempts: u32, error: &str) -> Result<(), OutboxError> {
        let r = self.write(false, |tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3, updated_ms = ?4 \
                 WHERE id = ?1 AND state <> 'delivered'",
                params![id.as_str(), attempts, error, ms(now_ms())],
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
        self.read(|conn| match state {
            Some(s) => outbox_rows(
                conn,
                &format!(
                    "SELECT {OUTBOX_COLUMNS} WHERE state = ?1 \
                     ORDER BY created_ms DESC, id DESC LIMIT ?2"
                ),
                params![s.as_str(), limit(max)],
            ),
            None => outbox_rows(
                conn,
                &format!("SELECT {OUTBOX_COLUMNS} ORDER BY created_ms DESC, id DESC LIMIT ?1"),
                params![limit(max)],
            ),
        })
        .map_err(outbox_error)
    }

    fn retry(&self, id: &EscalationId, now_ms: u64) -> Result<bool, OutboxError> {
        let r = self.write(false, |tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?2, \
                   updated_ms = ?2 \
                 WHERE id = ?1 AND state <> 'delivered'",
                params![id.as_str(), ms(now_ms)],
            )?;
            ticket_moved(tx, id, n)
        });
        outbox_result(id, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::{self, customer, start, ticket, turn};

    fn raw(store: &SqliteStore) -> Connection {
        Connection::open(store.path()).unwrap()
    }

    #[test]
    fn keeps_the_store_contract() {
        // Each check gets a fresh folder under one that outlives them all.
        let root = tempfile::tempdir().unwrap();
        contract::check_all(&|| {
            let dir = root.path().join(uuid::Uuid::new_v4().simple().to_string());
            Box::new(SqliteStore::open_dir(&dir).unwrap())
        });
    }

    #[test]
    fn migrations_run_from_an_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data").join("nested");
        let store = SqliteStore::open_dir(&data).unwrap();
        assert_eq!(store.path(), data.join(FILE_NAME));
        assert_eq!(
            store.schema_version().unwrap(),
            SqliteStore::supported_schema_version()
        );
        let conn = raw(&store);
        let mut tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        tables.sort();
        assert_eq!(
            tables,
            [
                "activity",
                "conversations",
                "customers",
                "events",
                "feedback",
                "inbound_seen",
                "messages",
                "outbox"
            ]
        );
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn reopening_keeps_the_data_and_migrates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (c, t) = {
            let store = SqliteStore::open_dir(dir.path()).unwrap();
            let c = start(&store, "web", customer("cu-1", Some("Ana"), None), 1_000);
            let t = ticket(&c, "help");
            store
                .record_turn(&c, turn("help", 1_100), None, Some(&t))
                .unwrap();
            (c, t)
        };
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        assert_eq!(store.turns(&c).unwrap()[0].text, "help");
        let header = store.conversation(&c).unwrap().unwrap();
        assert_eq!(header.customer.name.as_deref(), Some("Ana"));
        assert_eq!(store.due(now_ms(), 10).unwrap()[0].ticket.id, t.id);
    }

    #[test]
    fn the_reports_migration_fills_the_columns_of_tickets_queued_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert!(MIGRATIONS[REPORTS_MIGRATION].starts_with("-- 0004: what `concierge report` needs"));
        let before = REPORTS_MIGRATION;
        let (c, t) = {
            let store = SqliteStore::open_dir(dir.path()).unwrap();
            let c = start(&store, "web", customer("cu-1", None, None), 1_000);
            let t = ticket(&c, "help");
            store
                .record_turn(&c, turn("help", 1_100), None, Some(&t))
                .unwrap();
            (c, t)
        };
        // Back to the schema before the migration, as an older binary left it.
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "DROP INDEX messages_by_client_id; \
                 ALTER TABLE messages DROP COLUMN client_message_id; \
                 ALTER TABLE messages DROP COLUMN shown; \
                 DROP INDEX messages_report; DROP INDEX conversations_by_started; \
                 DROP INDEX conversations_by_customer_started; DROP INDEX outbox_report; \
                 ALTER TABLE messages DROP COLUMN response_ms; \
                 ALTER TABLE outbox DROP COLUMN reason; \
                 ALTER TABLE outbox DROP COLUMN category; \
                 ALTER TABLE outbox DROP COLUMN priority; \
                 DROP TABLE events; DROP TABLE activity; DROP TABLE inbound_seen;",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", before as u32)
                .unwrap();
        }
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            SqliteStore::supported_schema_version()
        );
        let row: (String, String, String) = raw(&store)
            .query_row(
                "SELECT reason, category, priority FROM outbox WHERE conversation_id = ?1",
                [c.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                t.reason.as_str().to_string(),
                t.category.clone(),
                t.priority.as_str().to_string()
            )
        );
        assert_eq!(store.turns(&c).unwrap()[0].response_ms, None);
    }

    #[test]
    fn a_database_from_a_newer_binary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(
            matches!(err, Error::SchemaTooNew { found: 99, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("schema version 99"), "{message}");
    }

    #[test]
    fn a_folder_that_cannot_be_created_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "x").unwrap();
        let err = SqliteStore::open_dir(&file.join("data")).unwrap_err();
        assert!(matches!(err, Error::Open { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("not-a-folder"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "this is not SQLite, it is a shopping list: eggs, milk, bread, more words to pass a header").unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, Error::Open { .. }), "{err:?}");
        assert!(err.to_string().contains(FILE_NAME), "{err}");
    }

    #[test]
    fn nothing_unmasked_reaches_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let c = start(&store, "web", Default::default(), 1_000);
        let secret = "card 4111111111111111, my password is Tr0ub4dor";
        let t = ticket(&c, secret);
        store
            .record_turn(&c, turn(secret, 1_100), None, Some(&t))
            .unwrap();
        let conn = raw(&store);
        let text: String = conn
            .query_row("SELECT text FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "card [card •••• 1111], my password is [password]");
        let json: String = conn
            .query_row("SELECT ticket FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert!(!json.contains("4111111111111111"), "{json}");
        assert!(!json.contains("Tr0ub4dor"), "{json}");
        // Nor the files: the database and its write-ahead log.
        drop(conn);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let haystack = String::from_utf8_lossy(&bytes);
            assert!(!haystack.contains("4111111111111111"));
            assert!(!haystack.contains("Tr0ub4dor"));
        }
    }

    #[test]
    fn a_ticket_write_is_synced_and_the_connection_goes_back_to_normal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let c = start(&store, "web", Default::default(), 1_000);
        let t = ticket(&c, "help");
        store
            .record_turn(&c, turn("help", 1_100), None, Some(&t))
            .unwrap();
        // 1 is NORMAL (2 would be FULL).
        let level: i64 = store
            .writer()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(level, 1);
        // Also after a failed durable transaction.
        assert!(store
            .record_turn(&c, turn("again", 1_200), None, Some(&t))
            .is_err());
        let level: i64 = store
            .writer()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(level, 1);
    }

    /// A process killed mid-flight never closes its connections: the WAL is not checkpointed
    /// and the files stay as they are. Leaking the store does the same in-process.
    #[test]
    fn what_was_committed_survives_a_store_that_was_never_closed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let c = start(&store, "web", customer("cu-1", None, None), 1_000);
        let t = ticket(&c, "help");
        store
            .record_turn(&c, turn("help", 1_100), None, Some(&t))
            .unwrap();
        store
            .record_turn(&c, turn("hello?", 1_200), None, None)
            .unwrap();
        std::mem::forget(store);
        let reopened = SqliteStore::open_dir(dir.path()).unwrap();
        assert_eq!(reopened.turns(&c).unwrap().len(), 2);
        let due = reopened.due(now_ms(), 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].ticket.id, t.id);
    }

    #[test]
    fn readers_and_the_writer_work_at_the_same_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let c = start(&*store, "web", Default::default(), 1_000);
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                let c = c.clone();
                std::thread::spawn(move || {
                    for j in 0..25 {
                        if i % 2 == 0 {
                            store
                                .record_turn(&c, turn("hi", 2_000 + j), None, None)
                                .unwrap();
                        } else {
                            store.turns(&c).unwrap();
                            store.conversation(&c).unwrap().unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.turns(&c).unwrap().len(), 50);
    }

    fn texts_of(store: &SqliteStore, c: &ConversationId) -> Vec<String> {
        store
            .turns(c)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    /// Turns that arrive while another commit holds the writer are committed together, and a
    /// write that fails (unknown conversation, a ticket already queued) fails alone.
    #[test]
    fn waiting_writes_commit_together_and_a_bad_one_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let c = start(&*store, "web", Default::default(), 1_000);
        let t = ticket(&c, "help");
        store
            .record_turn(&c, turn("help", 1_100), None, Some(&t))
            .unwrap();
        let unknown = ConversationId::generate();

        // Hold the writer, as a commit waiting for the disk does, while eight writes queue.
        let held = store.writer();
        let threads: Vec<_> = (0..8u64)
            .map(|i| {
                let store = store.clone();
                let (c, unknown, t) = (c.clone(), unknown.clone(), t.clone());
                std::thread::spawn(move || match i {
                    3 => store.record_turn(&unknown, turn("lost", 2_000), None, None),
                    5 => store.record_turn(&c, turn("twice", 2_000 + i), None, Some(&t)),
                    _ => store.record_turn(&c, turn("hi", 2_000 + i), None, None),
                })
            })
            .collect();
        while lock(&store.queued).len() < 8 {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(held);
        let outcomes: Vec<Result<()>> = threads.into_iter().map(|t| t.join().unwrap()).collect();

        for (i, outcome) in outcomes.iter().enumerate() {
            match i {
                3 => assert!(
                    matches!(outcome, Err(Error::UnknownConversation(id)) if *id == unknown),
                    "{outcome:?}"
                ),
                5 => assert!(
                    matches!(outcome, Err(Error::DuplicateTicket(_))),
                    "{outcome:?}"
                ),
                _ => assert!(outcome.is_ok(), "write {i}: {outcome:?}"),
            }
        }
        assert!(lock(&store.queued).is_empty());
        let texts = texts_of(&store, &c);
        assert_eq!(texts.len(), 1 + 6, "{texts:?}");
        assert!(!texts.contains(&"twice".to_string()));
        assert_eq!(store.due(now_ms(), 10).unwrap().len(), 1);
    }

    /// A panic inside a transaction leaves it open on the shared writer connection; the next
    /// write must not inherit it.
    #[test]
    fn a_panic_inside_a_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        let c = start(&store, "web", Default::default(), 1_000);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store
                .write(false, |tx| -> Result<()> {
                    insert_turn(tx, &c, &turn("half", 1_100), None, None, None)?;
                    panic!("in the middle of a transaction")
                })
                .unwrap();
        }));
        assert!(panicked.is_err());
        store
            .record_turn(&c, turn("whole", 1_200), None, None)
            .unwrap();
        let texts = texts_of(&store, &c);
        assert_eq!(texts, ["whole"]);
    }
}
