//! Several `concierge serve` on one PostgreSQL behave as one: three replicas on a throw-away
//! PostgreSQL (`TempPostgres`), messages of many conversations round-robin across them (and
//! some sent to two replicas at once), a helpdesk that fails 30 % of requests, and one replica
//! SIGKILLed mid-run and started again. Then every escalated conversation has exactly one
//! ticket, every ticket reached the helpdesk (its idempotent store keyed by `webhook-id` holds
//! each once), and no answered turn is missing.
//!
//! `CONCIERGE_REPLICA_CONVERSATIONS` sets the number of conversations (default 1,000, the
//! acceptance run of issue 14: about 20 s on 2 cores). Missing PostgreSQL binaries fail the test with a hint to run
//! `scripts/setup-postgres`; only `CONCIERGE_SKIP_POSTGRES_TESTS=1` skips it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use concierge::store::temp_postgres::{self, TempPostgres};
use serde_json::{json, Value};

use crate::exe;
use crate::receiver::{self, Receiver};
use crate::server::{config, request, Server};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const REPLICAS: usize = 3;

fn section(webhook: &str, database: &str) -> String {
    format!(
        "http:\n  rate_limit: {{per_minute: 0}}\n\
         storage:\n  url: {database}\n\
         escalation:\n  webhook:\n    url: {webhook}\n    secret: {SECRET}\n    \
         timeout_ms: 1500\n    backoff_base_ms: 50\n    backoff_max_ms: 400\n    max_attempts: 30\n"
    )
}

fn start(conf: &std::ffi::OsStr) -> Server {
    let mut args: Vec<std::ffi::OsString> = exe::demo_shop().into_iter().map(Into::into).collect();
    args.extend(["--config".into(), conf.to_owned(), "--lexical-only".into()]);
    let server = Server::start(args);
    server.wait_ready();
    server
}

/// The replicas' addresses, as a load balancer knows them (one is swapped on restart).
type Pool = Arc<RwLock<Vec<String>>>;

/// Sends a message to replica `at`, or to the next one while it is down (as a load balancer
/// does); the answer, or `None` when no replica answered 200. The message gets a
/// `client_message_id` of its own, the same on every retry, as the widget sends it: a retry
/// of a message whose turn a replica committed before it was killed (the answer lost) is
/// answered with that turn, not stored again.
fn send(pool: &Pool, at: usize, body: &Value) -> Option<Value> {
    let mut body = body.clone();
    body["client_message_id"] = uuid::Uuid::new_v4().to_string().into();
    for k in 0..REPLICAS * 4 {
        let addr = pool.read().unwrap()[(at + k) % REPLICAS].clone();
        let r = std::panic::catch_unwind(|| {
            request(
                &addr,
                "POST",
                "/v1/messages",
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
        });
        match r {
            Ok(r) if r.status == 200 => return Some(r.json()),
            _ => thread::sleep(Duration::from_millis(50)),
        }
    }
    None
}

#[test]
fn replicas_on_one_postgres_give_one_ticket_per_conversation_and_lose_no_turn() {
    if temp_postgres::skipped() {
        eprintln!(
            "skipped: {} is set; the replicas were NOT tested",
            temp_postgres::SKIP_VAR
        );
        return;
    }
    let conversations: usize = std::env::var("CONCIERGE_REPLICA_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    let database = pg.create_database().unwrap();
    let helpdesk = Receiver::start_blocking(SECRET, receiver::random_failures(0.3, 14));
    let dir = tempfile::tempdir().unwrap();
    let conf = config(dir.path(), &section(&helpdesk.url, database.expose()));

    let mut servers: Vec<Server> = (0..REPLICAS).map(|_| start(&conf)).collect();
    let pool: Pool = Arc::new(RwLock::new(
        servers.iter().map(|s| s.addr.clone()).collect(),
    ));

    // The message ids of the answered turns per conversation (what the shopper saw), and the
    // conversations that asked for a person.
    let answered: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    // The ticket ids the shopper was shown, per escalated conversation.
    let escalated: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (pool, answered, escalated, next, failures) = (
                pool.clone(),
                answered.clone(),
                escalated.clone(),
                next.clone(),
                failures.clone(),
            );
            thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= conversations {
                    return;
                }
                let Some(first) = send(&pool, i, &json!({"text": "how do I return my boots?"}))
                else {
                    failures.fetch_add(1, Ordering::SeqCst);
                    continue;
                };
                let id = first["conversation_id"].as_str().unwrap().to_string();
                let message_id = |reply: &Value| reply["message_id"].as_str().unwrap().to_string();
                let mut turns = vec![message_id(&first)];
                if i % 2 == 0 {
                    // Two messages asking for a person, to two replicas at the same time.
                    let body = json!({"conversation_id": id, "text": "I want to talk to a person"});
                    let twice: Vec<_> = (1..=2)
                        .map(|k| {
                            let (pool, body) = (pool.clone(), body.clone());
                            thread::spawn(move || send(&pool, i + k, &body))
                        })
                        .collect();
                    let mut shown = Vec::new();
                    for t in twice {
                        match t.join().unwrap() {
                            Some(reply) => {
                                turns.push(message_id(&reply));
                                if let Some(t) = reply["handoff"]["ticket_id"].as_str() {
                                    shown.push(t.to_string());
                                }
                            }
                            None => {
                                failures.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    escalated.lock().unwrap().insert(id.clone(), shown);
                }
                match send(
                    &pool,
                    i + 1,
                    &json!({"conversation_id": id, "text": "thanks"}),
                ) {
                    Some(reply) => turns.push(message_id(&reply)),
                    None => {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
                answered.lock().unwrap().insert(id, turns);
            })
        })
        .collect();

    // Mid-run: one replica is killed without warning (SIGKILL), then started again.
    let started = Instant::now();
    while next.load(Ordering::SeqCst) < conversations / 2 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the clients did not get half way in 10 minutes"
        );
        thread::sleep(Duration::from_millis(20));
    }
    drop(servers.remove(1));
    thread::sleep(Duration::from_millis(500));
    let restarted = start(&conf);
    pool.write().unwrap()[1] = restarted.addr.clone();
    servers.insert(1, restarted);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "every message was answered by some replica"
    );

    // The database: one ticket per escalated conversation, no turn lost.
    let mut db = postgres::Client::connect(database.expose(), postgres::NoTls).unwrap();
    let mut tickets: HashMap<String, Vec<String>> = HashMap::new();
    for row in db
        .query("SELECT conversation_id, id FROM outbox", &[])
        .unwrap()
    {
        tickets.entry(row.get(0)).or_default().push(row.get(1));
    }
    let escalated = escalated.lock().unwrap().clone();
    for (c, shown) in &escalated {
        let n = tickets.get(c).map_or(0, Vec::len);
        assert_eq!(n, 1, "conversation {c} has {n} tickets");
        // The two simultaneous requests were decided one after the other (the turn lock):
        // both replies show the one stored ticket, never one that was not kept.
        assert_eq!(
            shown,
            &vec![tickets[c][0].clone(); 2],
            "conversation {c}: the shopper was shown other tickets than the one stored"
        );
    }
    assert_eq!(tickets.len(), escalated.len(), "tickets only where asked");
    // Exact, although a replica was killed mid-run: a message it had committed but not
    // answered was retried on another replica with its `client_message_id` and answered from
    // the stored turn (once, before those ids: "5 stored vs 4 counted").
    let answered = answered.lock().unwrap().clone();
    assert_eq!(answered.len(), conversations);
    for (c, shown) in &answered {
        let mut stored: Vec<String> = db
            .query("SELECT id FROM messages WHERE conversation_id = $1", &[c])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut shown = shown.clone();
        stored.sort();
        shown.sort();
        assert_eq!(
            stored.len(),
            shown.len(),
            "turns of {c}: {} stored vs {} counted",
            stored.len(),
            shown.len()
        );
        assert_eq!(
            stored, shown,
            "conversation {c}: the messages stored are those answered"
        );
    }

    // The helpdesk: every ticket accepted, each once (redeliveries are deduplicated by
    // `webhook-id`), although 30 % of its answers were failures.
    // The messages after a hand-over follow as `conversation.message` events (`evt_…`).
    let all: Vec<String> = tickets.values().flatten().cloned().collect();
    let events: Vec<String> = db
        .query("SELECT id FROM events", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let everything = exe::eventually(Duration::from_secs(240), || {
        let accepted = helpdesk.accepted();
        all.iter()
            .chain(&events)
            .all(|id| accepted.contains_key(id))
    });
    assert!(
        everything,
        "accepted {} of {} tickets and {} events",
        helpdesk.accepted().len(),
        all.len(),
        events.len()
    );
    let accepted = helpdesk.accepted();
    assert_eq!(accepted.len(), all.len() + events.len());
    let duplicates: u32 = accepted.values().map(|a| a.duplicates).sum();
    assert_eq!(helpdesk.bad_signatures(), 0);
    eprintln!(
        "{conversations} conversations, {} tickets, {} helpdesk requests, {duplicates} redelivered (deduplicated by webhook-id)",
        all.len(),
        helpdesk.requests()
    );
    // Delivered everywhere, as the database sees it, once the replicas have recorded it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM outbox WHERE state <> 'delivered'",
                &[],
            )
            .unwrap()
            .get(0);
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} tickets not marked delivered"
        );
        thread::sleep(Duration::from_millis(100));
    }
    drop(servers);
}
