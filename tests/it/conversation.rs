//! One decision path: what the service and the command line decide for a message, pinned
//! through the real binary. `POST /v1/messages` and `ask --json` must agree on the outcome
//! and on the escalation triggers a single message can fire; the service remembers the topic
//! of the conversation, and so does `chat`.

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
    (
        "I want to talk to a person",
        "escalate",
        Some("human_requested"),
    ),
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
    let (c, m) = (
        r["conversation_id"].as_str().unwrap(),
        r["message_id"].as_str().unwrap(),
    );
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
    // `ask` once answered the abuse intent that the service escalates (issue 11, point 6).
    for (text, outcome, reason) in SINGLE_MESSAGE {
        let r = ask(text);
        assert_eq!(r["outcome"], *outcome, "{text}: {r}");
        assert_eq!(r["escalation"].as_str(), *reason, "{text}: {r}");
        for key in [
            "language",
            "intent",
            "article",
            "confidence",
            "text",
            "suggestions",
        ] {
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

/// A question and a follow-up that makes no sense alone, per language: alone, the follow-up
/// lands on another article; after the question it must be answered from the question's
/// topic, quoting the part about the follow-up's own place.
/// (language, question, follow-up, a word of the section the follow-up asks about)
const FOLLOW_UPS: &[(&str, &str, &str, &str)] = &[
    (
        "en",
        "How long does shipping to Germany take?",
        "and to Canada?",
        "canada",
    ),
    (
        "es",
        "¿Cuánto cuesta el envío a Alemania?",
        "y a Canadá?",
        "canada",
    ),
    (
        "nl",
        "Hoe lang duurt de levering naar Duitsland?",
        "en naar België?",
        "belgie",
    ),
    (
        "pt",
        "Quanto tempo demora a entrega no Brasil?",
        "e para Portugal?",
        "portugal",
    ),
];

/// Lowercase without the accents of en/es/nl/pt, to look for a place name.
fn folded(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

/// The article's path without its locale folder: the topic, whatever the language.
fn topic(article: &Value) -> String {
    let a = article.as_str().unwrap_or_default();
    a.split_once('/').map_or(a, |(_, rest)| rest).to_string()
}

#[test]
fn the_service_answers_a_follow_up_with_the_previous_topic() {
    let (server, _dir) = demo_server();
    for (lang, question, follow_up, section) in FOLLOW_UPS {
        let first = say(&server, None, question);
        assert_eq!(first["outcome"], "answer", "{lang}: {first}");
        // Alone, the follow-up lands elsewhere: only the previous topic makes it right.
        let alone = say(&server, None, follow_up);
        assert_ne!(
            topic(&alone["article"]),
            topic(&first["article"]),
            "{lang}: {alone}"
        );
        let c = first["conversation_id"].as_str().unwrap();
        let next = say(&server, Some(c), follow_up);
        assert_eq!(next["outcome"], "answer", "{lang} {follow_up}: {next}");
        assert_eq!(next["language"], *lang, "{next}");
        assert_eq!(
            topic(&next["article"]),
            topic(&first["article"]),
            "{lang}: {next}"
        );
        // The part quoted is about the follow-up's place: the section it names (or the
        // article's lead, when that covers it).
        let url = next["link"]["url"].as_str().unwrap_or_default();
        let text = next["text"].as_str().unwrap_or_default();
        assert!(
            folded(url).contains(section) || folded(text).contains(section),
            "{lang}: the part about `{follow_up}`, not the first question's: {next}"
        );
    }
}

#[test]
fn chat_answers_a_follow_up_with_the_previous_topic() {
    for (lang, question, follow_up, section) in FOLLOW_UPS {
        let mut cmd = concierge(["chat", "--lexical-only"]);
        cmd.args(demo_shop());
        let out = run(&mut cmd, format!("{question}\n{follow_up}\n").as_bytes());
        out.assert_code(0);
        let replies: Vec<&str> = out.stdout.split("bot> ").skip(1).collect();
        assert_eq!(replies.len(), 2, "{lang}: two replies\n{}", out.stdout);
        // "→ Title (https://…/help/LOCALE/PATH#anchor)"
        let url = |r: &str| {
            r.lines()
                .find_map(|l| l.trim().strip_prefix("→ "))
                .and_then(|l| l.rsplit_once(" ("))
                .map(|(_, url)| url.trim_end_matches(')').to_string())
                .unwrap_or_default()
        };
        let (first, next) = (url(replies[0]), url(replies[1]));
        assert!(
            !first.is_empty(),
            "{lang}: the question is answered\n{}",
            out.stdout
        );
        let path = |url: &str| {
            let page = url.split('#').next().unwrap_or_default();
            let id = page.rsplit_once("/help/").map_or("", |(_, id)| id);
            topic(&Value::from(id))
        };
        assert_eq!(
            path(&next),
            path(&first),
            "{lang}: same topic\n{}",
            out.stdout
        );
        assert!(
            folded(&next).contains(section) || folded(replies[1]).contains(section),
            "{lang}: the part about `{follow_up}`\n{}",
            out.stdout
        );
    }
}
