//! The PostgreSQL store against a real server: a throw-away cluster (`TempPostgres`) started
//! once for this one test function and stopped at its end, a fresh database per check.
//!
//! Missing PostgreSQL binaries fail this test with a hint to run `scripts/setup-postgres`;
//! only `CONCIERGE_SKIP_POSTGRES_TESTS=1` skips it.

use std::sync::Arc;

use super::*;
use crate::store::contract::{self, customer, start, ticket, turn};
use crate::store::temp_postgres::{self, TempPostgres};

const LEASE: Duration = Duration::from_secs(60);

fn store(server: &TempPostgres) -> PostgresStore {
    let url = server.create_database().unwrap();
    PostgresStore::connect(&url, LEASE).unwrap()
}

fn raw(url: &DatabaseUrl) -> Client {
    Client::connect(url.expose(), NoTls).unwrap()
}

#[test]
fn keeps_the_store_contract_and_works_across_replicas() {
    if temp_postgres::skipped() {
        eprintln!(
            "skipped: {} is set; the PostgreSQL store was NOT tested",
            temp_postgres::SKIP_VAR
        );
        return;
    }
    let server = TempPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    contract::check_all(&|| Box::new(store(&server)));
    migrations_run_once_even_when_replicas_start_together(&server);
    a_database_from_a_newer_binary_is_refused(&server);
    a_wrong_address_is_a_clear_error(&server);
    nothing_unmasked_reaches_the_database(&server);
    tickets_without_report_columns_get_them_at_the_next_start(&server);
    a_due_ticket_is_claimed_by_one_replica_and_taken_over_after_its_lease(&server);
    replicas_claiming_together_never_share_a_ticket(&server);
    turns_of_one_conversation_from_many_replicas_all_land_in_order(&server);
    a_turn_on_another_replica_waits_for_the_conversations_turn_lock(&server);
    a_conversation_handed_over_elsewhere_gets_no_second_ticket(&server);
    retention_runs_on_one_replica_at_a_time(&server);
}

fn migrations_run_once_even_when_replicas_start_together(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::connect(&url, LEASE).map(drop))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let store = PostgresStore::connect(&url, LEASE).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
    let rows: i64 = raw(&url)
        .query_one("SELECT COUNT(*) FROM concierge_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

fn a_database_from_a_newer_binary_is_refused(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    drop(PostgresStore::connect(&url, LEASE).unwrap());
    raw(&url)
        .execute("UPDATE concierge_schema SET version = 99", &[])
        .unwrap();
    let err = PostgresStore::connect(&url, LEASE).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("schema version 99"), "{message}");
    assert!(message.contains("127.0.0.1"), "{message}");
}

fn a_wrong_address_is_a_clear_error(server: &TempPostgres) {
    let url = DatabaseUrl::new(&format!(
        "postgres://concierge:secret-password@127.0.0.1:{}/no_such_database",
        server.port()
    ))
    .unwrap();
    let err = PostgresStore::connect(&url, LEASE).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
    assert!(message.contains("no_such_database"), "{message}");
    assert!(message.contains("hint:"), "{message}");
    assert!(!message.contains("secret-password"), "{message}");
}

fn nothing_unmasked_reaches_the_database(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let store = PostgresStore::connect(&url, LEASE).unwrap();
    let c = start(&store, "web", Default::default(), 1_000);
    let secret = "card 4111111111111111, my password is Tr0ub4dor";
    store
        .record_turn(&c, turn(secret, 1_100), None, Some(&ticket(&c, secret)))
        .unwrap();
    let mut db = raw(&url);
    let text: String = db
        .query_one("SELECT text FROM messages", &[])
        .unwrap()
        .get(0);
    assert_eq!(text, "card [card •••• 1111], my password is [password]");
    let json: String = db
        .query_one("SELECT ticket FROM outbox", &[])
        .unwrap()
        .get(0);
    assert!(!json.contains("4111111111111111"), "{json}");
    assert!(!json.contains("Tr0ub4dor"), "{json}");
}

/// Tickets written by a version that left the outbox's report columns empty are counted with
/// their reason after the next start.
fn tickets_without_report_columns_get_them_at_the_next_start(server: &TempPostgres) {
    use crate::store::{GroupBy, ReportQuery, Reports};
    let url = server.create_database().unwrap();
    let store = PostgresStore::connect(&url, LEASE).unwrap();
    let c = start(&store, "web", Default::default(), 1_000);
    let t = ticket(&c, "a person");
    store
        .record_turn(&c, turn("a person", 1_100), None, Some(&t))
        .unwrap();
    raw(&url)
        .execute(
            "UPDATE outbox SET reason = NULL, category = NULL, priority = NULL",
            &[],
        )
        .unwrap();
    let store = PostgresStore::connect(&url, LEASE).unwrap();
    let r = store
        .report(&ReportQuery {
            since_ms: 0,
            until_ms: 10_000,
            by: GroupBy::Channel,
        })
        .unwrap();
    assert_eq!(r.total.escalated_by_reason["human_requested"], 1);
    let cp = &r.total.escalated_by_category_priority[0];
    assert_eq!(
        (cp.category.as_str(), cp.priority.as_str()),
        ("orders", "normal")
    );
}

fn a_due_ticket_is_claimed_by_one_replica_and_taken_over_after_its_lease(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let a = PostgresStore::connect(&url, LEASE).unwrap();
    let b = PostgresStore::connect(&url, LEASE).unwrap();
    let c = start(&a, "web", Default::default(), 1_000);
    let t = ticket(&c, "help");
    a.record_turn(&c, turn("help", 1_100), None, Some(&t))
        .unwrap();
    let now = now_ms();
    assert_eq!(a.due(now, 10).unwrap()[0].ticket.id, t.id);
    assert!(b.due(now, 10).unwrap().is_empty(), "claimed by replica a");
    assert_eq!(
        b.next_due_ms().unwrap(),
        Some(now + LEASE.as_millis() as u64),
        "the next chance is when the lease ends"
    );
    // Replica a died without reporting: once the lease is over, b takes the ticket over.
    let later = now + LEASE.as_millis() as u64;
    assert_eq!(b.due(later, 10).unwrap()[0].ticket.id, t.id);
    assert!(a.due(later, 10).unwrap().is_empty());
    // A report ends the claim: a failed attempt is due again at its own time, for anyone.
    b.mark_failed(&t.id, 1, later + 5, "HTTP 503").unwrap();
    assert_eq!(a.due(later + 5, 10).unwrap()[0].attempts, 1);
    a.mark_delivered(&t.id, later + 6).unwrap();
    assert!(b.due(u64::MAX / 2, 10).unwrap().is_empty());
    assert_eq!(b.next_due_ms().unwrap(), None);
}

fn replicas_claiming_together_never_share_a_ticket(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let setup = PostgresStore::connect(&url, LEASE).unwrap();
    let mut ids: Vec<String> = Vec::new();
    for i in 0..60 {
        let c = start(&setup, "web", Default::default(), 1_000 + i);
        let t = ticket(&c, "help");
        ids.push(t.id.to_string());
        setup
            .record_turn(&c, turn("help", 1_100 + i), None, Some(&t))
            .unwrap();
    }
    let now = now_ms();
    let replicas: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = PostgresStore::connect(&url, LEASE).unwrap();
                let mut mine = Vec::new();
                loop {
                    let batch = store.due(now, 3).unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|e| e.ticket.id.to_string()));
                }
            })
        })
        .collect();
    let mut claimed: Vec<String> = replicas
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    claimed.sort();
    ids.sort();
    assert_eq!(claimed, ids, "every ticket claimed exactly once");
}

fn turns_of_one_conversation_from_many_replicas_all_land_in_order(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let setup = Arc::new(PostgresStore::connect(&url, LEASE).unwrap());
    let c = start(&*setup, "web", Default::default(), 1_000);
    let threads: Vec<_> = (0..4u64)
        .map(|i| {
            let (url, c) = (url.clone(), c.clone());
            std::thread::spawn(move || {
                let store = PostgresStore::connect(&url, LEASE).unwrap();
                for j in 0..10 {
                    store
                        .record_turn(&c, turn("hi", 2_000 + i * 100 + j), None, None)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(setup.turns(&c).unwrap().len(), 40);
    let numbers: Vec<i64> = raw(&url)
        .query(
            "SELECT n FROM messages WHERE conversation_id = $1 ORDER BY n",
            &[&c.as_str()],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers, (1..=40).collect::<Vec<i64>>());
}

fn a_turn_on_another_replica_waits_for_the_conversations_turn_lock(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let (a, b) = (
        PostgresStore::connect(&url, LEASE).unwrap(),
        Arc::new(PostgresStore::connect(&url, LEASE).unwrap()),
    );
    let c = start(&a, "web", Default::default(), 1_000);
    let other = start(&a, "web", Default::default(), 1_000);
    let held = a.lock_turns(&c).unwrap();
    // Another conversation's turns do not wait (were they to, this would fail on the
    // lock_timeout instead of returning).
    drop(b.lock_turns(&other).unwrap());
    // Replica B's turn of the same conversation starts while A's is being decided: it must
    // read the conversation only after A committed.
    let waiting = {
        let (b, c) = (b.clone(), c.clone());
        std::thread::spawn(move || {
            let _lock = b.lock_turns(&c).unwrap();
            b.turns(&c).unwrap().len()
        })
    };
    // B is queued on the advisory lock before A commits, so the check below tests the
    // wait, not the scheduling.
    let mut watch = raw(&url);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replica B never waited on the conversation's turn lock (2 minutes)"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    a.record_turn(&c, turn("hi", 1_100), None, None).unwrap();
    drop(held);
    assert_eq!(
        waiting.join().unwrap(),
        1,
        "B read the conversation before A's turn was committed"
    );
    // Released: A takes it again at once.
    drop(a.lock_turns(&c).unwrap());
}

fn a_conversation_handed_over_elsewhere_gets_no_second_ticket(server: &TempPostgres) {
    let store = store(server);
    let c = start(&store, "web", customer("cu-h", None, None), 1_000);
    // Two replicas answered two messages from the same state (the bot had it); both decided
    // to hand over, each with a ticket of its own.
    let first = ticket(&c, "a person please");
    let second = ticket(&c, "a person!!");
    let over = |t: &Ticket| Handoff::HandedOver {
        ticket: t.id.clone(),
        mode: crate::escalation::Mode::Live,
    };
    store
        .record_turn(
            &c,
            turn("a person please", 1_100),
            Some(&over(&first)),
            Some(&first),
        )
        .unwrap();
    store
        .record_turn(
            &c,
            turn("a person!!", 1_101),
            Some(&over(&second)),
            Some(&second),
        )
        .unwrap();
    assert_eq!(store.turns(&c).unwrap().len(), 2, "no turn lost");
    let tickets = store.list(None, 10).unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].ticket.id, first.id);
    assert_eq!(
        store.conversation(&c).unwrap().unwrap().handoff,
        over(&first)
    );
}

fn retention_runs_on_one_replica_at_a_time(server: &TempPostgres) {
    let url = server.create_database().unwrap();
    let store = PostgresStore::connect(&url, LEASE).unwrap();
    let c = start(&store, "web", Default::default(), 1_000);
    store
        .record_turn(&c, turn("hi", 1_100), None, None)
        .unwrap();
    // Another replica is purging: it holds the retention lock in its transaction.
    let mut other = raw(&url);
    let mut purging = other.transaction().unwrap();
    purging
        .execute("SELECT pg_advisory_xact_lock($1)", &[&RETENTION_LOCK])
        .unwrap();
    assert_eq!(
        store.purge_before(now_ms()).unwrap(),
        PurgeReport::default()
    );
    assert!(store.conversation(&c).unwrap().is_some());
    purging.commit().unwrap();
    assert_eq!(store.purge_before(now_ms()).unwrap().conversations, 1);
}
