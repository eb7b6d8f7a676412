//! The live hand-over end to end (issue 13): the real `concierge serve` with its SQLite
//! database and a real local helpdesk (`receiver.rs`) that verifies every signature.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::exe;
use crate::receiver::{Receiver, Step};
use crate::server::{config, Server, TEST_HTTP};

/// How long a test waits for the helpdesk to have what was sent. Not a speed target.
const DELIVERY_WITHIN: Duration = Duration::from_secs(120);

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn start(dir: &Path, data: &Path, url: &str) -> Server {
    std::fs::create_dir_all(data).expect("the data folder");
    // The client timeout is longer than the test: a hanging attempt is still in flight when
    // the service is killed, however slow the machine.
    let section = format!(
        "{TEST_HTTP}escalation:\n  webhook:\n    url: {url}\n    secret: {SECRET}\n    timeout_ms: 3600000\n    backoff_base_ms: 50\n    backoff_max_ms: 400\n"
    );
    let mut args = exe::demo_shop();
    args.extend([
        "--config".into(),
        PathBuf::from(config(dir, &section)),
        "--data".into(),
        data.to_path_buf(),
    ]);
    let server = Server::start(args);
    server.wait_ready();
    server
}

fn say(server: &Server, body: Value) -> Value {
    server
        .post_json("/v1/messages", &body.to_string())
        .expect(200)
}

fn events(receiver: &Receiver) -> Vec<String> {
    let mut ids: Vec<String> = receiver
        .seen()
        .into_iter()
        .map(|s| s.id)
        .filter(|id| id.starts_with("evt_"))
        .collect();
    ids.dedup();
    ids
}

/// SIGKILL between the shopper's follow-up (answered, so committed) and its delivery: the
/// next start delivers the `conversation.message` event, and the helpdesk accepts it once.
#[test]
fn a_follow_up_survives_the_service_being_killed_before_delivery() {
    // Tickets are accepted; each event's first attempt hangs past the kill.
    let receiver = Receiver::start_blocking(
        SECRET,
        Arc::new(|id: &str, attempt: u32| {
            if id.starts_with("evt_") && attempt == 1 {
                Step::Hang(Duration::from_secs(3600))
            } else {
                Step::Accept
            }
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(dir.path(), &data, &receiver.url);
    let first = say(&server, json!({"text": "i want to talk to a person"}));
    assert_eq!(first["handoff"]["stage"], "handed_over", "{first}");
    let conversation = first["conversation_id"].as_str().unwrap().to_string();
    let ticket = first["handoff"]["ticket_id"].as_str().unwrap().to_string();
    assert!(
        receiver.wait_for_accepted(1, DELIVERY_WITHIN),
        "waited {DELIVERY_WITHIN:?} for the ticket:\n{}",
        server.log()
    );
    say(
        &server,
        json!({"conversation_id": conversation, "text": "my card 4111 1111 1111 1111 was charged twice"}),
    );
    let in_flight = exe::eventually(DELIVERY_WITHIN, || !events(&receiver).is_empty());
    assert!(
        in_flight,
        "waited {DELIVERY_WITHIN:?} for the event's first attempt: {:?}\n{}",
        receiver.seen(),
        server.log()
    );
    drop(server); // SIGKILL
    assert_eq!(
        receiver.accepted().len(),
        1,
        "only the ticket was delivered before the kill"
    );

    let server = start(dir.path(), &data, &receiver.url);
    assert!(
        receiver.wait_for_accepted(2, DELIVERY_WITHIN),
        "waited {DELIVERY_WITHIN:?} for the event after the restart:\n{}",
        server.log()
    );
    // Give a duplicate the chance to show up.
    std::thread::sleep(Duration::from_millis(500));
    let ids = events(&receiver);
    assert_eq!(ids.len(), 1, "one event: {ids:?}");
    let accepted = receiver.accepted();
    let event = accepted.get(&ids[0]).expect("the event arrives");
    assert_eq!(event.duplicates, 0, "accepted exactly once");
    assert_eq!(receiver.bad_signatures(), 0);
    let body: Value = serde_json::from_slice(&event.body).unwrap();
    assert_eq!(body["type"], "conversation.message", "{body:#}");
    assert_eq!(body["ticket_id"], ticket.as_str());
    assert_eq!(body["conversation_id"], conversation.as_str());
    assert!(
        body["created_at"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("charged twice"), "{text}");
    assert!(!text.contains("4111 1111 1111 1111"), "masked: {text}");
    drop(server);
}
