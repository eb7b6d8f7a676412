//! One decision path: what the service and the command line decide for a message, pinned
//! through the real binary. `POST /v1/messages` and `ask --json` must agree on the outcome
//! and on the escalation triggers a single message can fire.

use serde_json::{json, Value};

use crate::exe::{concierge, demo_shop, run};
use crate::server::{config, Server};

fn demo_server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = demo_shop();
    args.extend(["--config".into(), config(dir.path(), "").into()]);
    let server = Server::start(args);
    server.wait_ready();
    (server, dir)
}

fn say(server: &Server, conversation: Option<&str>, text: &str) -> Value {
    let mut body = json!({ "text": text });
    if let Some(c) = conversation {
        body["conversation_id"] = json!(c);
    }
    server
        .post_json("/v1/messages", &body.to_string())
        .expect(200)
}

/// `ask --json` on one message.
fn ask(text: &str) -> Value {
    let mut cmd = concierge(["ask", "--json"]);
    cmd.args(demo_shop()).arg(text);
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let mut lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    lines.remove(0)
}

/// Messages that decide the same way without a conversation: the single-message triggers.
/// (message, outcome, escalation reason)
const SINGLE_MESSAGE: &[(&str, &str, Option<&str>)] = &[
    ("How long does shipping to Germany take?", "answer", None),
    ("I want to talk to a person", "escalate", Some("human_requested")),
    ("shut up you stupid bot", "escalate", Some("frustration")),
    (
        "someone used my credit card on your site",
        "escalate",
        Some("escalate_intent"),
    ),
];

#[test]
fn the_service_decides_single_messages_as_pinned() {
    let (server, _dir) = demo_server();
    for (text, outcome, reason) in SINGLE_MESSAGE {
        let r = say(&server, None, text);
        assert_eq!(r["outcome"], *outcome, "{text}: {r}");
        assert_eq!(r["escalation"].as_str(), *reason, "{text}: {r}");
        if reason.is_some() {
            let stage = r["handoff"]["stage"].as_str().unwrap_or_default();
            assert!(
                ["handed_over", "awaiting_email"].contains(&stage),
                "{text}: a trigger starts the hand-over: {r}"
            );
            assert!(r["suggestions"].as_array().unwrap().is_empty(), "{r}");
        } else {
            assert!(r["handoff"].is_null(), "{r}");
            assert_eq!(r["language"], "en", "{r}");
            assert!(
                r["article"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("en/shipping/")),
                "{text}: {r}"
            );
        }
        assert!(r["conversation_id"].as_str().is_some_and(|c| !c.is_empty()));
        assert!(r["message_id"].as_str().is_some_and(|c| !c.is_empty()));
    }
}

#[test]
fn feedback_is_recorded_for_known_messages_only() {
    let (server, _dir) = demo_server();
    let r = say(&server, None, "How long does shipping to Germany take?");
    let (c, m) = (r["conversation_id"].as_str().unwrap(), r["message_id"].as_str().unwrap());
    let ok = server
        .post_json(
            "/v1/feedback",
            &json!({"conversation_id": c, "message_id": m, "helpful": false}).to_string(),
        )
        .expect(200);
    assert_eq!(ok["status"], "ok");
    server
        .post_json(
            "/v1/feedback",
            &json!({"conversation_id": c, "message_id": "m_nope", "helpful": true}).to_string(),
        )
        .expect_error(404, "unknown_message");
    server
        .post_json(
            "/v1/feedback",
            &json!({"conversation_id": c, "rating": 9}).to_string(),
        )
        .expect_error(422, "invalid_feedback");
    let rated = server
        .post_json(
            "/v1/feedback",
            &json!({"conversation_id": c, "rating": 4}).to_string(),
        )
        .expect(200);
    assert_eq!(rated["status"], "ok");
}

#[test]
fn ask_json_decides_like_the_service() {
    // Today `ask` answers the abuse intent that the service escalates (issue 11, point 6).
    for (text, outcome, reason) in SINGLE_MESSAGE.iter().filter(|(t, ..)| !t.contains("stupid")) {
        let r = ask(text);
        assert_eq!(r["outcome"], *outcome, "{text}: {r}");
        for key in ["language", "intent", "article", "confidence", "text", "suggestions"] {
            assert!(r.get(key).is_some(), "`{key}` missing: {r}");
        }
        if reason.is_none() {
            assert!(
                r["article"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("en/shipping/")),
                "{text}: {r}"
            );
        }
    }
}
