//! Concierge as a Chatwoot agent bot (issue 13): the real `concierge serve` receives the
//! recorded agent-bot events (`tests/fixtures/chatwoot/`) and speaks to a fake Chatwoot API
//! on 127.0.0.1 that records every request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::exe;
use crate::server::{config, Server, TEST_HTTP};

/// How long a test waits for Concierge's calls to the fake Chatwoot. Not a speed target.
const WITHIN: Duration = Duration::from_secs(120);
const WEBHOOK_TOKEN: &str = "hook-8d7e6c5b4a392817f0e1";
const BOT_TOKEN: &str = "bot-token-6f1c2e9a0b";

/// One request the fake Chatwoot API received.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    token: Option<String>,
    body: Value,
}

/// Chatwoot's API, as far as the bot uses it: every POST answered 200 and recorded.
struct FakeChatwoot {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl FakeChatwoot {
    fn start() -> FakeChatwoot {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the fake Chatwoot");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (mut length, mut token) = (0usize, None);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    let (name, value) = h.split_once(':').unwrap_or((&h, ""));
                    let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                    if name == "content-length" {
                        length = value.parse().unwrap_or(0);
                    }
                    if name == "api_access_token" {
                        token = Some(value.to_string());
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock().unwrap().push(Call { path, token, body });
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            }
        });
        FakeChatwoot { url, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until at least `n` calls arrived.
    fn wait_for(&self, n: usize) -> bool {
        exe::eventually(WITHIN, || self.calls().len() >= n)
    }
}

fn start(dir: &Path, chatwoot: &str) -> Server {
    let section =
        format!("{TEST_HTTP}chatwoot:\n  url: {chatwoot}\n  account_id: 7\n  timeout_ms: 600000\n");
    let mut args = exe::demo_shop();
    args.extend([
        "--config".into(),
        std::path::PathBuf::from(config(dir, &section)),
    ]);
    let server = Server::start_with_env(
        args,
        &[
            ("CONCIERGE_CHATWOOT_BOT_TOKEN", BOT_TOKEN),
            ("CONCIERGE_CHATWOOT_WEBHOOK_TOKEN", WEBHOOK_TOKEN),
        ],
    );
    server.wait_ready();
    server
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(exe::path(&format!("tests/fixtures/chatwoot/{name}.json")))
        .expect("a recorded Chatwoot event")
}

fn deliver(server: &Server, name: &str) {
    server
        .post_json(
            &format!("/chatwoot/webhook?token={WEBHOOK_TOKEN}"),
            &fixture(name),
        )
        .expect(200);
}

const MESSAGES: &str = "/api/v1/accounts/7/conversations/152/messages";
const TOGGLE: &str = "/api/v1/accounts/7/conversations/152/toggle_status";

#[test]
fn a_whatsapp_message_is_answered_in_the_same_conversation() {
    let fake = FakeChatwoot::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake.url);
    deliver(&server, "whatsapp_message_created");
    assert!(
        fake.wait_for(1),
        "waited {WITHIN:?} for the reply:\n{}",
        server.log()
    );
    let calls = fake.calls();
    let reply = &calls[0];
    assert_eq!(reply.path, MESSAGES, "{calls:?}");
    assert_eq!(reply.token.as_deref(), Some(BOT_TOKEN));
    assert_eq!(reply.body["message_type"], "outgoing");
    assert_eq!(reply.body["private"], false);
    let text = reply.body["content"].as_str().unwrap_or("");
    assert!(!text.trim().is_empty(), "{reply:?}");
    // The agent's own message comes back as an event too: the bot keeps quiet.
    deliver(&server, "agent_message_outgoing");
    deliver(&server, "whatsapp_message_created");
    assert!(fake.wait_for(2), "waited {WITHIN:?} for the second reply");
    let calls = fake.calls();
    assert_eq!(
        calls.len(),
        2,
        "only the contact's messages are answered: {calls:?}"
    );
    assert!(
        !server.log().contains(BOT_TOKEN),
        "the bot's token is never logged"
    );
}

#[test]
fn a_low_confidence_message_is_handed_over_then_the_bot_is_silent_until_resolved() {
    let fake = FakeChatwoot::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake.url);
    // Nothing in the help center comes close (escalated for low confidence on its first
    // turn, lexical and hybrid alike).
    deliver(&server, "whatsapp_low_confidence");
    assert!(
        exe::eventually(WITHIN, || fake
            .calls()
            .iter()
            .any(|c| c.body["private"] == true)),
        "waited {WITHIN:?} for the private note: {:?}\n{}",
        fake.calls(),
        server.log()
    );
    let calls = fake.calls();
    let toggle = calls
        .iter()
        .find(|c| c.path == TOGGLE)
        .expect("the status set");
    assert_eq!(toggle.body["status"], "open");
    assert_eq!(toggle.token.as_deref(), Some(BOT_TOKEN));
    let note = calls.iter().find(|c| c.body["private"] == true).unwrap();
    assert_eq!(note.path, MESSAGES);
    let text = note.body["content"].as_str().unwrap();
    for part in ["Summary:", "Topic:", "Priority:", "Reason: low_confidence"] {
        assert!(text.contains(part), "{text}");
    }
    let before = calls.len();
    // The agents have it: the contact's next message is theirs.
    deliver(&server, "whatsapp_while_open");
    // Resolved: the bot takes over again and answers the next message.
    deliver(&server, "conversation_resolved");
    deliver(&server, "whatsapp_message_created");
    assert!(
        fake.wait_for(before + 1),
        "waited {WITHIN:?} for the answer after resolved:\n{}",
        server.log()
    );
    let calls = fake.calls();
    let after: Vec<&Call> = calls[before..].iter().collect();
    assert_eq!(
        after.len(),
        1,
        "nothing for the message while open: {after:?}"
    );
    assert_eq!(after[0].path, MESSAGES);
    assert_eq!(after[0].body["private"], false);
    assert!(
        !after[0].body["content"].as_str().unwrap_or("").is_empty(),
        "{after:?}"
    );
}

#[test]
fn a_wrong_or_missing_token_is_refused_and_nothing_is_sent() {
    let fake = FakeChatwoot::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake.url);
    let body = fixture("whatsapp_message_created");
    server
        .post_json("/chatwoot/webhook?token=hook-wrong-wrong-wrong", &body)
        .expect_error(401, "unauthorized");
    server
        .post_json("/chatwoot/webhook", &body)
        .expect_error(401, "unauthorized");
    // A correct one afterwards is the only call the fake sees.
    deliver(&server, "whatsapp_message_created");
    assert!(fake.wait_for(1), "waited {WITHIN:?} for the reply");
    assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
}

/// The agents set the conversation back to `pending` without resolving it (the agent bot gets
/// no event for that): the contact's next message in the `pending` conversation is the bot's.
#[test]
fn a_conversation_pending_again_is_answered_by_the_bot() {
    let fake = FakeChatwoot::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake.url);
    deliver(&server, "whatsapp_asks_for_a_person");
    assert!(
        exe::eventually(WITHIN, || fake
            .calls()
            .iter()
            .any(|c| c.body["private"] == true)),
        "waited {WITHIN:?} for the private note:\n{}",
        server.log()
    );
    let before = fake.calls().len();
    deliver(&server, "whatsapp_message_created");
    assert!(
        fake.wait_for(before + 1),
        "waited {WITHIN:?} for the answer in the pending conversation:\n{}",
        server.log()
    );
    let calls = fake.calls();
    assert_eq!(calls[before].path, MESSAGES);
    assert_eq!(calls[before].body["private"], false, "{calls:?}");
}
