//! Handler tests through `router(state).oneshot(request)`: no socket, the demo shop loaded once.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::store::ConversationId;

fn demo_settings() -> Settings {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut s = Settings::from_file(&root.join("concierge.yaml")).expect("demo config");
    s.http.rate_limit.per_minute = 0;
    // The request deadline is the test's: a loaded machine must not turn an answer into a 503.
    s.http.request_timeout_ms = 600_000;
    s
}

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(Engine::load(&demo_settings()).expect("demo shop").0))
        .clone()
}

fn app() -> Router {
    router(AppState::with_engine(&demo_settings(), engine()))
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

fn post(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_message_is_answered_and_the_conversation_continues() {
    let app = app();
    let (status, v) = call(
        app.clone(),
        post("/v1/messages", r#"{"text": "how do I return my boots?"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["outcome"], "answer");
    let id = v["conversation_id"].as_str().unwrap();
    let (status, w) = call(
        app,
        post(
            "/v1/messages",
            &json!({"conversation_id": id, "text": "thanks"}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["conversation_id"], id);
}

#[tokio::test]
async fn errors_have_one_shape() {
    for (body, status, code) in [
        ("{", StatusCode::BAD_REQUEST, "malformed_json"),
        (
            r#"{"text": []}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            r#"{"text": " "}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_text",
        ),
        (
            r#"{"text": "hi", "conversation_id": "c_404"}"#,
            StatusCode::NOT_FOUND,
            "unknown_conversation",
        ),
        (
            r#"{"text": "hi", "client_message_id": "not an id"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_client_message_id",
        ),
    ] {
        let (s, v) = call(app(), post("/v1/messages", body)).await;
        assert_eq!(s, status, "{body}: {v}");
        assert_eq!(v["error"]["code"], code, "{body}: {v}");
    }
}

#[tokio::test]
async fn not_ready_until_the_first_load() {
    let settings = demo_settings();
    let live = Live::new(settings.clone());
    let state = AppState::new(
        &settings,
        live,
        Arc::new(MemoryStore::new(10)),
        Default::default(),
    )
    .unwrap();
    let (s, v) = call(
        router(state.clone()),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["ready"], false);
    assert!(v["reason"].is_string());
    let (s, v) = call(router(state), post("/v1/messages", r#"{"text": "hi"}"#)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"]["code"], "not_ready");
}

#[tokio::test]
async fn articles_are_rendered_to_safe_html() {
    let (s, v) = call(
        app(),
        Request::get("/v1/articles/en/returns/how-to-return")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["html"].as_str().unwrap().contains("<p>"));
    let html = routes::render_markdown(
        "Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n**ok**",
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(!html.contains("onerror"), "{html}");
    assert!(html.contains("<strong>ok</strong>"), "{html}");
}

#[test]
fn the_openapi_document_lists_every_route() {
    let doc: Value = serde_json::from_str(&routes::openapi_json()).unwrap();
    for p in [
        "/v1/messages",
        "/v1/search",
        "/v1/articles/{id}",
        "/v1/feedback",
        "/readyz",
        "/chatwoot/webhook",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }
    let id = &doc["components"]["schemas"]["MessageRequest"]["properties"]["client_message_id"];
    assert_eq!(id["pattern"], "^[A-Za-z0-9_-]{1,64}$", "{id}");
    assert_eq!(id["maxLength"], 64, "{id}");
}

#[tokio::test]
async fn a_request_past_its_deadline_is_a_503_timeout() {
    let mut settings = demo_settings();
    settings.http.request_timeout_ms = 50;
    let state = AppState::with_engine(&settings, engine());
    // Every answering slot is taken: the request waits for one until its deadline.
    let _all = state
        .inner
        .permits
        .acquire_many(state.inner.permits.available_permits() as u32)
        .await
        .unwrap();
    let (s, v) = call(
        router(state.clone()),
        post("/v1/messages", r#"{"text": "hi"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "timeout");
}

/// The replicas test once stored a message twice: a replica died after committing the turn,
/// before answering, and the client sent the message again to another replica. With the same
/// `client_message_id` the retry is answered with the stored turn and nothing is stored again.
#[tokio::test]
async fn a_retried_message_is_answered_with_its_stored_turn_and_stored_once() {
    let state = AppState::with_engine(&demo_settings(), engine());
    let send = |body: Value| {
        call(
            router(state.clone()),
            post("/v1/messages", &body.to_string()),
        )
    };
    let (s, first) =
        send(json!({"text": "how do I return my boots?", "client_message_id": "m-1"})).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let id = first["conversation_id"].as_str().unwrap().to_string();
    let conversation = ConversationId::parse(&id).unwrap();
    // An answer with a link, shown again as it was.
    let boots = json!({
        "conversation_id": id, "client_message_id": "m-2", "text": "how do I return my boots?",
    });
    let (_, answer) = send(boots.clone()).await;
    assert!(answer["link"].is_object(), "{answer}");
    assert_eq!(send(boots).await.1, answer);
    let person = json!({
        "conversation_id": id,
        "client_message_id": "7d1f0c2e-5b9a-4c1e-9f3a-2b6d8e0a4c11",
        "text": "I want to talk to a person",
    });
    let (s, once) = send(person.clone()).await;
    assert_eq!(s, StatusCode::OK, "{once}");
    assert_eq!(once["outcome"], "escalate", "{once}");
    let (s, again) = send(person.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again, once, "the retry shows exactly the first answer");
    let store = state.inner.store.clone();
    assert_eq!(
        store.turns(&conversation).unwrap().len(),
        3,
        "each stored once"
    );
    let tickets = store.list(None, 10).unwrap();
    // The demo shop hands over at once (a ticket) in its hours, or asks for an address.
    match once["handoff"]["ticket_id"].as_str() {
        Some(ticket) => {
            assert_eq!(tickets.len(), 1, "one ticket: {tickets:?}");
            assert_eq!(tickets[0].ticket.id.as_str(), ticket);
        }
        None => assert_eq!(once["handoff"]["stage"], "awaiting_email", "{once}"),
    }

    // Another id is another message, even with the same text; no id is always a new one.
    let (_, other) = send(json!({
        "conversation_id": id, "client_message_id": "m-3", "text": "thanks",
    }))
    .await;
    assert_ne!(other["message_id"], once["message_id"]);
    let (_, plain) = send(json!({"conversation_id": id, "text": "thanks"})).await;
    let (_, plain_again) = send(json!({"conversation_id": id, "text": "thanks"})).await;
    assert_ne!(plain["message_id"], plain_again["message_id"]);
    assert_eq!(store.turns(&conversation).unwrap().len(), 6);
    assert_eq!(store.list(None, 10).unwrap().len(), tickets.len());
}

#[tokio::test]
async fn a_client_message_id_must_be_1_to_64_letters_digits_dashes_or_underscores() {
    for bad in [
        json!(""),
        json!("a b"),
        json!("x".repeat(65)),
        json!("a/b"),
        json!("é"),
        json!(7),
    ] {
        let body = json!({"text": "hi", "client_message_id": bad});
        let (s, v) = call(app(), post("/v1/messages", &body.to_string())).await;
        let code = v["error"]["code"].as_str().unwrap_or_default();
        if bad.is_string() {
            assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
            assert_eq!(code, "invalid_client_message_id", "{bad}: {v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains("1 to 64 letters, digits"), "{message}");
        } else {
            assert_eq!(code, "invalid_body", "{bad}: {v}");
        }
    }
    let (s, v) = call(
        app(),
        post(
            "/v1/messages",
            &json!({"text": "hi", "client_message_id": "A_z-09".repeat(10)}).to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "60 characters are fine: {v}");
}
