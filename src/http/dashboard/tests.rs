//! The dashboard's routes through `router(state).oneshot(..)`: the lock, the page's headers,
//! the API's answers and errors, and the vendored Chart.js against the script's record.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::super::{router, AppState};
use crate::config::{AdminToken, Settings};
use crate::engine::Engine;

const TOKEN: &str = "dashboard-test-token-0123456789";

fn settings(token: Option<&str>) -> Settings {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut s = Settings::from_file(&root.join("concierge.yaml")).expect("demo config");
    s.http.rate_limit.per_minute = 0;
    s.http.request_timeout_ms = 600_000;
    s.admin.token = token.map(|t| AdminToken::new(t).expect("a long enough token"));
    s
}

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(Engine::load(&settings(None)).expect("demo shop").0))
        .clone()
}

fn app(token: Option<&str>) -> Router {
    router(AppState::with_engine(&settings(token), engine()))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn get(app: &Router, path: &str, bearer: Option<&str>) -> Answer {
    let mut req = Request::get(path);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of `NAME=value` in `scripts/vendor-chartjs`.
fn recorded(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("scripts/vendor-chartjs")).unwrap();
    script
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("scripts/vendor-chartjs records no {name}"))
        .trim()
        .to_string()
}

#[test]
fn the_vendored_chart_js_is_the_one_the_script_records() {
    assert_eq!(
        sha256_hex(super::CHART_JS.as_bytes()),
        recorded("UMD_SHA256"),
        "src/http/assets/vendor/chart.umd.min.js differs from what scripts/vendor-chartjs pins: run the script"
    );
    assert_eq!(
        sha256_hex(super::CHART_JS_LICENSE.as_bytes()),
        recorded("LICENSE_SHA256")
    );
    let version = recorded("VERSION");
    assert!(
        super::CHART_JS.contains(&format!("Chart.js v{version}")),
        "the vendored file is not Chart.js {version}"
    );
    assert!(
        version.starts_with("4."),
        "Chart.js 4 is pinned, not {version}"
    );
    assert!(recorded("INTEGRITY").starts_with("sha512-"));
}

#[test]
fn the_page_runs_no_inline_script_or_style() {
    let html = super::PAGE_HTML.to_lowercase();
    for tag in html.split("<script").skip(1) {
        let head = &tag[..tag.find('>').unwrap()];
        assert!(head.contains("src="), "an inline <script{head}>");
        assert!(tag[tag.find('>').unwrap() + 1..].starts_with("</script>"));
    }
    assert!(!html.contains("<style"), "an inline <style>");
    assert!(!html.contains(" style="), "a style attribute");
    assert!(!html.contains(" onclick=") && !html.contains(" onsubmit="));
    // The script writes text, never markup.
    assert!(!super::PAGE_JS.contains("innerHTML"));
}

#[tokio::test]
async fn with_a_token_the_page_is_open_and_the_api_needs_the_token() {
    let app = app(Some(TOKEN));
    for path in [
        "/admin/",
        "/admin/dashboard.js",
        "/admin/dashboard.css",
        "/admin/favicon.svg",
        "/admin/chart.umd.min.js",
    ] {
        let a = get(&app, path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(a.headers["x-content-type-options"], "nosniff");
    }
    let page = get(&app, "/admin/", None).await;
    assert_eq!(
        page.headers["content-security-policy"],
        super::CONTENT_SECURITY_POLICY
    );
    assert!(super::CONTENT_SECURITY_POLICY.starts_with("default-src 'self'"));
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let redirect = get(&app, "/admin", None).await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers["location"], "/admin/");

    for path in ["/admin/api/report", "/admin/api/gaps"] {
        let none = get(&app, path, None).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(none.json()["error"]["code"], "unauthorized");
        let wrong = get(&app, path, Some("dashboard-test-token-012345678X")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{path}");
        let right = get(&app, path, Some(TOKEN)).await;
        assert_eq!(right.status, StatusCode::OK, "{path}: {}", right.body);
        assert_eq!(right.headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn the_report_reads_the_window_and_grouping_asked_for() {
    let app = app(None);
    let a = get(
        &app,
        "/admin/api/report?since=2026-01-01&until=2026-01-08T00:00:00%2B01:00&by=week",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v = a.json();
    assert_eq!(v["since_ms"], 1_767_225_600_000u64);
    assert_eq!(
        v["until_ms"],
        1_767_225_600_000u64 + 7 * 86_400_000 - 3_600_000
    );
    assert_eq!(v["by"], "week");
    assert_eq!(v["total"]["key"], "total");
    assert_eq!(v["total"]["conversations"], 0);
    assert!(v["rows"].as_array().unwrap().is_empty());

    let gaps = get(
        &app,
        "/admin/api/gaps?since=2026-01-01&until=2026-02-01&limit=5",
        None,
    )
    .await;
    assert_eq!(gaps.status, StatusCode::OK, "{}", gaps.body);
    assert_eq!(gaps.json()["messages"], 0);
    assert_eq!(gaps.json()["groups"], serde_json::json!([]));

    // Without bounds: the 30 days before the state's clock.
    let v = get(&app, "/admin/api/report", None).await.json();
    let span = v["until_ms"].as_u64().unwrap() - v["since_ms"].as_u64().unwrap();
    assert_eq!(span, crate::window::DEFAULT_SPAN_MS);
    assert_eq!(v["by"], "day");
}

#[tokio::test]
async fn bad_queries_are_400_with_a_message_that_says_what_to_write() {
    let app = app(Some(TOKEN));
    for (path, says) in [
        (
            "/admin/api/report?since=yesterday",
            "since `yesterday` is not a date or a time",
        ),
        ("/admin/api/report?until=2026-13-01", "until `2026-13-01`"),
        (
            "/admin/api/report?since=2026-02-01&until=2026-01-01",
            "since must be before until",
        ),
        (
            "/admin/api/report?by=month",
            "`by` is `month`: use `day`, `week`, `language` or `channel`",
        ),
        (
            "/admin/api/gaps?since=soon",
            "since `soon` is not a date or a time",
        ),
        (
            "/admin/api/gaps?limit=0",
            "`limit` must be between 1 and 200",
        ),
        (
            "/admin/api/gaps?limit=201",
            "`limit` must be between 1 and 200",
        ),
        ("/admin/api/gaps?limit=many", ""),
    ] {
        let a = get(&app, path, Some(TOKEN)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.body);
        let v = a.json();
        assert_eq!(v["error"]["code"], "invalid_query", "{path}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{path}: {message}");
    }
}

#[tokio::test]
async fn turns_recorded_through_the_store_show_in_the_report() {
    use crate::store::{Conversation, ConversationId, Customer, MessageId, Outcome, Turn};
    let state = AppState::with_engine(&settings(None), engine());
    let store = state.inner.store.clone();
    // 2026-01-05T10:00:00Z.
    let at = 1_767_225_600_000u64 + 4 * 86_400_000 + 10 * 3_600_000;
    for (n, outcome) in ["answer", "escalate"].into_iter().enumerate() {
        let turn = Turn {
            id: MessageId::generate(),
            text: "where is my parcel".into(),
            reply: "here".into(),
            outcome: Outcome::parse(outcome).expect("an outcome"),
            language: "en".into(),
            intent: None,
            article: None,
            confidence: 0.9,
            at_ms: at + 1_000 + n as u64,
            response_ms: Some(40),
            client_id: None,
            shown: None,
        };
        store
            .record_first_turn(
                Conversation::new(ConversationId::generate(), "web", Customer::default(), at),
                turn,
                None,
                None,
            )
            .unwrap();
    }
    let app = router(state);
    let v = get(
        &app,
        "/admin/api/report?since=2026-01-05&until=2026-01-06&by=channel",
        None,
    )
    .await
    .json();
    assert_eq!(v["total"]["conversations"], 2, "{v}");
    assert_eq!(v["total"]["escalated"], 1);
    assert_eq!(v["rows"][0]["key"], "web");
    assert_eq!(v["total"]["response_ms"]["p50"], 40);
}

#[test]
fn the_openapi_document_lists_the_dashboard_api() {
    let doc: Value = serde_json::from_str(&super::super::routes::openapi_json()).unwrap();
    for p in ["/admin/api/report", "/admin/api/gaps"] {
        let get = &doc["paths"][p]["get"];
        assert!(get.is_object(), "{p}");
        let params: Vec<&str> = get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            params.contains(&"since") && params.contains(&"until"),
            "{p}: {params:?}"
        );
        assert!(get["responses"]["401"].is_object(), "{p}");
    }
}
