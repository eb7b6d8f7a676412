//! `concierge forget --customer ID` against the database a real `concierge serve` wrote, and
//! the errors an operator meets with a wrong `--data`.

use std::path::Path;

use serde_json::json;

use crate::exe::{self, concierge, run};
use crate::server::{config, identifier_hash, Server};

/// Rows about a customer, counted straight in the database file.
fn rows_about(db: &Path, customer: &str) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [customer], |r| r.get(0)).unwrap() };
    (
        count("SELECT COUNT(*) FROM customers WHERE id = ?1"),
        count("SELECT COUNT(*) FROM conversations WHERE customer_id = ?1"),
        count(
            "SELECT COUNT(*) FROM messages WHERE conversation_id IN \
             (SELECT id FROM conversations WHERE customer_id = ?1)",
        ),
    )
}

#[test]
fn forget_deletes_what_serve_stored_about_a_customer() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = Server::demo_with_data(dir.path());
    let send = |customer: &str, channel: &str, text: &str| {
        let body = json!({"text": text, "channel": channel, "customer": {"id": customer, "identifier_hash": identifier_hash(customer)}});
        server
            .post_json("/v1/messages", &body.to_string())
            .expect(200)
    };
    send(
        "cu-42",
        "web",
        "my card 4111 1111 1111 1111 was charged twice",
    );
    send("cu-42", "email", "where is my order?");
    send("cu-7", "web", "hello");
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");

    let db = data.join("concierge.sqlite3");
    assert_eq!(rows_about(&db, "cu-42"), (1, 2, 2));
    // The card number was masked before it was stored.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let text: String = conn
        .query_row(
            "SELECT text FROM messages WHERE text LIKE 'my card%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(text, "my card [card •••• 1111] was charged twice");
    drop(conn);

    let forget = |customer: &str| {
        let mut cmd = concierge(["forget", "--customer", customer, "--data"]);
        cmd.arg(&data);
        run(&mut cmd, b"")
    };
    let out = forget("cu-42");
    out.assert_code(0);
    assert_eq!(
        out.stdout.trim(),
        "forgot customer `cu-42`: 1 customer record, 2 conversation(s), 2 message(s), 0 feedback, 0 ticket(s)"
    );
    assert_eq!(rows_about(&db, "cu-42"), (0, 0, 0));
    assert_eq!(rows_about(&db, "cu-7"), (1, 1, 1), "other customers stay");

    // Forgetting again, or a customer never seen, finds nothing and is not an error.
    let out = forget("cu-42");
    out.assert_code(0);
    assert!(
        out.stdout
            .starts_with("nothing found about customer `cu-42`"),
        "{}",
        out.stdout
    );
}

#[test]
fn forget_without_a_database_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = concierge(["forget", "--customer", "cu-1", "--data"]);
    cmd.arg(dir.path().join("nowhere"));
    let out = run(&mut cmd, b"");
    out.assert_code(2);
    assert!(out.stderr.contains("nowhere"), "{}", out.stderr);
    assert!(
        out.stderr.contains("hint: pass the --data DIR"),
        "{}",
        out.stderr
    );
    assert!(
        !dir.path().join("nowhere").exists(),
        "forget creates nothing"
    );
}

#[test]
fn serve_refuses_a_data_folder_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let mut args: Vec<std::ffi::OsString> =
        vec!["serve".into(), "--listen".into(), "127.0.0.1:0".into()];
    args.extend(exe::demo_shop().into_iter().map(Into::into));
    args.extend(["--data".into(), file.join("data").into()]);
    let out = run(&mut concierge(&args), b"");
    out.assert_code(2);
    assert!(out.stderr.contains("a-file"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

/// `Server` is killed with SIGKILL when dropped: no shutdown, no checkpoint, the WAL left as
/// it is. What was answered is in the database all the same.
#[test]
fn turns_survive_serve_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap(); // A folder named with --data must exist.
    let mut args = exe::demo_shop();
    args.extend([
        "--config".into(),
        config(dir.path(), "").into(),
        "--data".into(),
        data.clone(),
    ]);
    let server = Server::start(args);
    server.wait_ready();
    for text in ["hello", "where is my parcel?", "can I return boots?"] {
        let body = json!({"text": text, "customer": {"id": "cu-kill", "identifier_hash": identifier_hash("cu-kill"), "name": "Kim"}});
        server
            .post_json("/v1/messages", &body.to_string())
            .expect(200);
    }
    drop(server);
    let db = data.join("concierge.sqlite3");
    assert_eq!(rows_about(&db, "cu-kill"), (1, 3, 3));
}
