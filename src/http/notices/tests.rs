//! Notices through the router with a fixed clock: shown before answers on their topic and in
//! the banner only while active.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use crate::config::Settings;
use crate::engine::Engine;
use crate::http::{router, AppState};

const NOTICE: &str = "Returns are slower this week: our warehouse is closed for inventory.";

/// The demo shop (lexical, so the answers do not depend on the model) with one notice on the
/// `returns` tag, in English, for the week of 7 December 2026 in Amsterdam.
fn state(clock: Arc<Mutex<jiff::Timestamp>>) -> (tempfile::TempDir, AppState) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("warehouse.md"),
        format!("---\nfrom: 2026-12-07T00:00[Europe/Amsterdam]\nuntil: 2026-12-14T00:00[Europe/Amsterdam]\nlocales: [en]\ntags: [returns]\n---\n{NOTICE}\n"),
    )
    .unwrap();
    let mut settings = Settings::from_file(&root.join("concierge.yaml")).expect("demo config");
    settings.http.rate_limit.per_minute = 0;
    settings.semantic.enabled = false;
    settings.notices = Some(dir.path().to_path_buf());
    let (engine, diags) = Engine::load(&settings).expect("demo shop");
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(engine.notices().all().len(), 1);
    let state = AppState::with_engine(&settings, Arc::new(engine))
        .with_clock(Arc::new(move || *clock.lock().unwrap()));
    (dir, state)
}

async fn call(state: &AppState, req: Request<Body>) -> Value {
    let res = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn ask(state: &AppState, text: &str) -> Value {
    let body = serde_json::json!({ "text": text }).to_string();
    call(
        state,
        Request::post("/v1/messages")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn banner(state: &AppState, locale: &str) -> Vec<String> {
    let v = call(
        state,
        Request::get(format!("/v1/notices?locale={locale}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_notice_shows_in_answers_on_its_topic_and_in_the_banner_only_while_active() {
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let clock = Arc::new(Mutex::new(at("2026-12-06T22:59:59Z")));
    let (_dir, state) = state(clock.clone());
    let returns = "how do I return my boots?";
    let password = "how do I reset my password?";

    // Before: one second before midnight in Amsterdam.
    let r = ask(&state, returns).await;
    assert_eq!(r["outcome"], "answer", "{r}");
    assert!(!r["text"].as_str().unwrap().contains(NOTICE), "{r}");
    assert!(banner(&state, "en").await.is_empty());

    // During.
    *clock.lock().unwrap() = at("2026-12-06T23:00:00Z");
    let r = ask(&state, returns).await;
    let text = r["text"].as_str().unwrap();
    assert!(text.starts_with(NOTICE), "{r}");
    assert!(text.len() > NOTICE.len() + 20, "the answer follows: {r}");
    // The conversation core records the turn as shown, with how long the reply took.
    let id = crate::store::ConversationId::parse(r["conversation_id"].as_str().unwrap()).unwrap();
    let turns = state.inner.store.turns(&id).unwrap();
    assert_eq!(turns.len(), 1);
    assert!(turns[0].reply.starts_with(NOTICE), "{:?}", turns[0]);
    assert!(turns[0].response_ms.is_some(), "{:?}", turns[0]);
    assert_eq!(banner(&state, "en").await, [NOTICE]);
    assert_eq!(banner(&state, "en-GB").await, [NOTICE]);
    // Not in another language, nor before an answer on another topic.
    assert!(banner(&state, "nl").await.is_empty());
    let other = ask(&state, password).await;
    assert_eq!(other["outcome"], "answer", "{other}");
    assert!(!other["text"].as_str().unwrap().contains(NOTICE), "{other}");

    // After: it disappears by itself.
    *clock.lock().unwrap() = at("2026-12-13T23:00:00Z");
    let r = ask(&state, returns).await;
    assert!(!r["text"].as_str().unwrap().contains(NOTICE), "{r}");
    assert!(banner(&state, "en").await.is_empty());
}

#[tokio::test]
async fn the_banner_refuses_a_bad_locale() {
    let clock = Arc::new(Mutex::new(jiff::Timestamp::UNIX_EPOCH));
    let (_dir, state) = state(clock);
    let res = router(state)
        .oneshot(
            Request::get("/v1/notices?locale=klingon")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
