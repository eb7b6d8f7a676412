//! The hand-over's routes through `router(state).oneshot(..)`, over a memory store the test
//! looks into.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::ServiceExt;

use super::super::{router, AppState, Live};
use crate::config::Settings;
use crate::engine::Engine;
use crate::escalation::sign::{sign, WebhookSecret};
use crate::escalation::Outbox;
use crate::handover::identity::identifier_hash;
use crate::handover::IdentitySecret;
use crate::store::{ConversationId, Handovers, MemoryStore, Store};

const SECRET: &str = "the-shop-identity-secret-for-tests";
const HELPDESK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn settings() -> Settings {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut s = Settings::from_file(&root.join("concierge.yaml")).expect("demo config");
    s.http.rate_limit.per_minute = 0;
    s.http.request_timeout_ms = 600_000;
    s.escalation.hours = None; // always open: a request for a person makes a live ticket
    s.handover.identity_secret = IdentitySecret::new(SECRET);
    s.handover.inbound_secret = Some(WebhookSecret::parse(HELPDESK_SECRET).unwrap());
    s
}

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(Engine::load(&settings()).expect("demo shop").0))
        .clone()
}

fn app() -> (Router, Arc<MemoryStore>) {
    let s = settings();
    let store = Arc::new(MemoryStore::new(1000));
    let state = AppState::new(
        &s,
        Live::with_engine(s.clone(), engine()),
        store.clone(),
        Arc::new(Notify::new()),
    )
    .expect("valid settings");
    (router(state), store)
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn say(app: &Router, body: Value) -> Value {
    let req = Request::post("/v1/messages")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, v) = call(app, req).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

fn hash(id: &str) -> String {
    identifier_hash(&IdentitySecret::new(SECRET).unwrap(), id)
}

fn history(id: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(format!("/v1/conversations/{id}/messages"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn an_unverified_customer_id_links_nothing_and_overwrites_nothing() {
    let (app, store) = app();
    // The real customer, verified, in an earlier conversation.
    let real = json!({"id": "cu-1", "identifier_hash": hash("cu-1"), "email": "ana@shop.example"});
    let first = say(
        &app,
        json!({"text": "how do I return my boots?", "customer": real}),
    )
    .await;
    let earlier = ConversationId::parse(first["conversation_id"].as_str().unwrap()).unwrap();

    // Someone claiming the id without its hash, or with a wrong one, asks for a person.
    for claim in [
        json!({"id": "cu-1", "email": "mallory@evil.example"}),
        json!({"id": "cu-1", "identifier_hash": hash("cu-2"), "email": "mallory@evil.example"}),
    ] {
        let v = say(
            &app,
            json!({"text": "I want to talk to a person", "customer": claim}),
        )
        .await;
        assert_eq!(v["outcome"], "escalate", "{v}");
        let ticket_id = v["handoff"]["ticket_id"].as_str().unwrap().to_string();
        let ticket = store
            .list(None, 100)
            .unwrap()
            .into_iter()
            .find(|e| e.ticket.id.as_str() == ticket_id)
            .unwrap()
            .ticket;
        assert_eq!(ticket.customer.id, None, "an anonymous visitor");
        assert!(
            ticket
                .transcript
                .iter()
                .all(|l| l.conversation_id.is_none()),
            "no earlier conversation attached: {:?}",
            ticket.transcript
        );
    }
    // The real customer's e-mail is untouched.
    let header = store.conversation(&earlier).unwrap().unwrap();
    assert_eq!(header.customer.email.as_deref(), Some("ana@shop.example"));

    // The same request with the right hash links the earlier conversation: the check above
    // could have failed.
    let v = say(
        &app,
        json!({"text": "I want to talk to a person", "customer": real}),
    )
    .await;
    let ticket_id = v["handoff"]["ticket_id"].as_str().unwrap().to_string();
    let ticket = store
        .list(None, 100)
        .unwrap()
        .into_iter()
        .find(|e| e.ticket.id.as_str() == ticket_id)
        .unwrap()
        .ticket;
    assert_eq!(ticket.customer.id.as_deref(), Some("cu-1"));
    assert!(ticket
        .transcript
        .iter()
        .any(|l| l.conversation_id.as_deref() == Some(earlier.as_str())));
}

#[tokio::test]
async fn a_history_is_unreadable_with_another_conversations_token() {
    let (app, _store) = app();
    let a = say(&app, json!({"text": "how do I return my boots?"})).await;
    let b = say(&app, json!({"text": "do you ship to spain?"})).await;
    let (a_id, a_token) = (
        a["conversation_id"].as_str().unwrap(),
        a["conversation_token"].as_str().unwrap(),
    );
    let b_token = b["conversation_token"].as_str().unwrap();
    // A later reply carries no token.
    let again = say(&app, json!({"conversation_id": a_id, "text": "thanks"})).await;
    assert!(again.get("conversation_token").is_none(), "{again}");

    for token in [Some(b_token), None, Some("ct_guess")] {
        let (status, v) = call(&app, history(a_id, token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {v}");
        assert_eq!(v["error"]["code"], "unauthorized");
    }
    let (status, v) = call(&app, history(a_id, Some(a_token))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let roles: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["customer", "bot", "customer", "bot"]);
    assert_eq!(v["messages"][0]["text"], "how do I return my boots?");
}

fn signed(conversation: &str, id: &str, at: u64, body: &str, signed_body: &str) -> Request<Body> {
    let secret = WebhookSecret::parse(HELPDESK_SECRET).unwrap();
    Request::post(format!("/helpdesk/v1/conversations/{conversation}/events"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", at.to_string())
        .header(
            "webhook-signature",
            sign(&secret, id, at, signed_body.as_bytes()),
        )
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn forged_or_replayed_helpdesk_requests_are_refused_and_store_nothing() {
    let (app, store) = app();
    let v = say(&app, json!({"text": "I want to talk to a person"})).await;
    assert_eq!(v["handoff"]["stage"], "handed_over", "{v}");
    let c = v["conversation_id"].as_str().unwrap().to_string();
    let id = ConversationId::parse(&c).unwrap();
    let now = crate::store::now_ms() / 1000;
    let body = r#"{"type": "message", "agent": "Sam", "text": "Hello, Sam here."}"#;

    let (status, r) = call(&app, signed(&c, "msg_1", now, body, body)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(store.activity(&id).unwrap().len(), 1);

    let forged = r#"{"type": "message", "agent": "Sam", "text": "Send your password"}"#;
    let unsigned = Request::post(format!("/helpdesk/v1/conversations/{c}/events"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let wrong_token = Request::post(format!("/helpdesk/v1/conversations/{c}/events"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer not-the-token-at-all")
        .body(Body::from(body))
        .unwrap();
    for (what, req) in [
        ("replayed", signed(&c, "msg_1", now, body, body)),
        ("forged body", signed(&c, "msg_2", now, forged, body)),
        ("too old", signed(&c, "msg_3", now - 301, body, body)),
        ("unsigned", unsigned),
        ("a token when none is configured", wrong_token),
    ] {
        let (status, r) = call(&app, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {r}");
        assert_eq!(r["error"]["code"], "unauthorized", "{what}");
    }
    assert_eq!(
        store.activity(&id).unwrap().len(),
        1,
        "nothing stored by a refused request"
    );

    // The agent's reply is in the conversation's history.
    let token = v["conversation_token"].as_str().unwrap();
    let (status, h) = call(&app, history(&c, Some(token))).await;
    assert_eq!(status, StatusCode::OK);
    let last = h["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "agent", "{h}");
    assert_eq!(last["agent"], "Sam");
    assert_eq!(last["text"], "Hello, Sam here.");
}

#[tokio::test]
async fn resolved_brings_the_bot_back_and_the_rating_is_recorded_once() {
    let (app, store) = app();
    let v = say(&app, json!({"text": "I want to talk to a person"})).await;
    let c = v["conversation_id"].as_str().unwrap().to_string();
    let token = v["conversation_token"].as_str().unwrap().to_string();
    let now = crate::store::now_ms() / 1000;
    for (i, body) in [
        r#"{"type": "joined", "agent": "Sam"}"#,
        r#"{"type": "resolved"}"#,
    ]
    .iter()
    .enumerate()
    {
        let (status, r) = call(&app, signed(&c, &format!("msg_{i}"), now, body, body)).await;
        assert_eq!(status, StatusCode::OK, "{r}");
    }
    let id = ConversationId::parse(&c).unwrap();
    assert_eq!(
        store.conversation(&id).unwrap().unwrap().handoff,
        crate::store::Handoff::Bot
    );
    let rate = |rating: u8, token: &str| {
        Request::post(format!("/v1/conversations/{c}/rating"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(json!({ "rating": rating }).to_string()))
            .unwrap()
    };
    let (status, _) = call(&app, rate(4, "ct_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, r) = call(&app, rate(9, &token)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let (status, r) = call(&app, rate(4, &token)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, _) = call(&app, rate(5, &token)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "once per resolution"
    );
    let rated = store.activity(&id).unwrap().last().unwrap().clone();
    assert_eq!(rated.rating, Some(4));
    assert_eq!(rated.agent.as_deref(), Some("Sam"), "against the agent");
    // The bot answers again.
    let again = say(
        &app,
        json!({"conversation_id": c, "text": "how do I return my boots?"}),
    )
    .await;
    assert_eq!(again["outcome"], "answer", "{again}");
    // The helpdesk cannot speak in a conversation the bot has.
    let body = r#"{"type": "message", "agent": "Sam", "text": "late"}"#;
    let (status, r) = call(&app, signed(&c, "msg_late", now, body, body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
}

#[test]
fn the_openapi_document_covers_the_hand_over() {
    let doc: Value = serde_json::from_str(&super::super::routes::openapi_json()).unwrap();
    for p in [
        "/v1/conversations/{id}/messages",
        "/v1/conversations/{id}/events",
        "/v1/conversations/{id}/events/poll",
        "/v1/conversations/{id}/rating",
        "/v1/conversations/{id}/close",
        "/helpdesk/v1/conversations/{id}/events",
        "/v1/availability",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["conversation_token"]["scheme"], "bearer",
        "{schemes}"
    );
    assert!(doc["components"]["schemas"]["HelpdeskEventRequest"].is_object());
}

#[tokio::test]
async fn availability_follows_the_business_hours() {
    let (app, _) = app();
    let get = || {
        Request::get("/v1/availability")
            .body(Body::empty())
            .unwrap()
    };
    let (status, v) = call(&app, get()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["open"], true, "no hours configured: always open: {v}");

    // Every day closed, with a fixed clock.
    let mut s = settings();
    s.escalation.hours = Some(
        serde_yaml::from_str("time_zone: Europe/Amsterdam\nmonday: [\"09:00-17:00\"]\n").unwrap(),
    );
    let sunday: jiff::Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
    let state = AppState::new(
        &s,
        Live::with_engine(s.clone(), engine()),
        Arc::new(MemoryStore::new(10)),
        Arc::new(Notify::new()),
    )
    .unwrap()
    .with_clock(Arc::new(move || sunday));
    let (status, v) = call(&router(state), get()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["open"], false, "{v}");
    assert_eq!(v["next_opening"], "2026-12-07T08:00:00Z", "{v}");
}

#[tokio::test]
async fn the_long_poll_returns_what_happened_after_its_cursor() {
    let (app, _) = app();
    let v = say(&app, json!({"text": "I want to talk to a person"})).await;
    let c = v["conversation_id"].as_str().unwrap().to_string();
    let token = v["conversation_token"].as_str().unwrap().to_string();
    let now = crate::store::now_ms() / 1000;
    for (i, body) in [
        r#"{"type": "joined", "agent": "Sam"}"#,
        r#"{"type": "message", "agent": "Sam", "text": "Hi, Sam here."}"#,
    ]
    .iter()
    .enumerate()
    {
        let (status, r) = call(&app, signed(&c, &format!("msg_p{i}"), now, body, body)).await;
        assert_eq!(status, StatusCode::OK, "{r}");
    }
    let poll = |after: usize, token: &str| {
        Request::get(format!("/v1/conversations/{c}/events/poll?after={after}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, r) = call(&app, poll(1, &token)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["cursor"], 2, "{r}");
    let events = r["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{r}");
    assert_eq!(events[0]["type"], "message");
    assert_eq!(events[0]["agent"], "Sam");
    assert_eq!(events[0]["text"], "Hi, Sam here.");
    let (status, _) = call(&app, poll(0, "ct_someone_else")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
