//! The flow action executor against a fake shop API on 127.0.0.1: the request it sends (path,
//! query, headers, credentials), and what it makes of found, not found, 5xx, a timeout, a
//! redirect (not followed) and a refused connection. Also one whole order-status flow:
//! state machine → executor → answer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use concierge::flows::{self, ActionCall, ActionResult, Customer, Executor, Flows, Input, Step};
use concierge::locale::Locale;

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: Option<String>,
    headers: HeaderMap,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn record(log: &Log, path: String, query: Option<String>, headers: HeaderMap) {
    log.lock().unwrap().push(Seen {
        path,
        query,
        headers,
    });
}

async fn order(State(log): State<Log>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    record(&log, format!("/orders/{id}"), None, headers);
    match id.as_str() {
        "10423" => axum::Json(serde_json::json!({"order": {
            "status": "shipped", "email": "ana@example.com",
            "tracking_url": "https://tracking.example/1"}}))
        .into_response(),
        "10426" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        }
        "10427" => (StatusCode::BAD_GATEWAY, "upstream down").into_response(),
        "10429" => (StatusCode::FOUND, [("location", "/orders/10423")]).into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "no"})),
        )
            .into_response(),
    }
}

async fn shopify(
    State(log): State<Log>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    record(
        &log,
        format!("/admin/api/{version}/orders.json"),
        query.clone(),
        headers,
    );
    let body = include_str!("../../src/flows/fixtures/shopify_orders.json");
    if query.unwrap_or_default().contains("name=%231001") {
        ([("content-type", "application/json")], body).into_response()
    } else {
        axum::Json(serde_json::json!({"orders": []})).into_response()
    }
}

async fn woocommerce(
    State(log): State<Log>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&log, format!("/wp-json/wc/v3/orders/{id}"), None, headers);
    if id == "727" {
        let body = include_str!("../../src/flows/fixtures/woocommerce_order.json");
        ([("content-type", "application/json")], body).into_response()
    } else {
        let body = include_str!("../../src/flows/fixtures/woocommerce_not_found.json");
        (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            body,
        )
            .into_response()
    }
}

/// Starts the fake API on a free loopback port: its base URL and request log.
async fn fake_api() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/orders/{id}", get(order))
        .route("/admin/api/{version}/orders.json", get(shopify))
        .route("/wp-json/wc/v3/orders/{id}", get(woocommerce))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

const FLOWS: &str = r#"intents:
  - id: track_order
    examples: [where is my order]
    answer: Look in your email.
  - id: shopify_status
    examples: [shopify order]
    answer: x
  - id: woo_status
    examples: [woo order]
    answer: x
flows:
  - id: order_status
    intent: track_order
    slots:
      - name: order_number
        type: pattern
        pattern: '#?\b(\d{5})\b'
        ask: {en: "What's your order number?"}
      - name: email
        type: email
        from_customer: email
        ask: {en: "And your e-mail?"}
    action:
      url: "{env.SHOP_API}/orders/{order_number}"
      headers: {Authorization: "Bearer {env.SHOP_TOKEN}"}
      timeout_ms: 500
      found_if: order
      pick: {status: order.status, tracking_url: order.tracking_url, customer_email: order.email}
      verify: {field: customer_email, slot: email}
    answer:
      en: "Order {order_number} is {status}: {tracking_url}"
  - id: shopify
    intent: shopify_status
    slots:
      - name: order_number
        type: pattern
        pattern: '(\d+)'
        ask: {en: "Order number?"}
    action: {preset: shopify_order_status, api_version: "2025-01"}
    answer: {en: "{order_name}: {status}, {carrier} {tracking_number}"}
  - id: woo
    intent: woo_status
    slots:
      - name: order_number
        type: pattern
        pattern: '(\d+)'
        ask: {en: "Order number?"}
    action: {preset: woocommerce_order_status}
    answer: {en: "{order_name}: {status}"}
"#;

fn load_flows() -> Flows {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flows.yaml"), FLOWS).unwrap();
    let (loaded, d) = concierge::intents::load_dir(dir.path(), &Locale::english());
    assert!(d.is_empty(), "{d:?}");
    let (flows, d) = flows::load_dir(dir.path(), &loaded.intents, &["en".to_string()]);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(flows.len(), 3);
    flows
}

fn executor(base: &str) -> Executor {
    let vars: BTreeMap<&str, String> = [
        ("SHOP_API", base.to_string()),
        ("SHOP_TOKEN", "tok-123".to_string()),
        ("SHOPIFY_SHOP_URL", base.to_string()),
        ("SHOPIFY_ACCESS_TOKEN", "shpat_abc".to_string()),
        ("WOOCOMMERCE_URL", base.to_string()),
        ("WOOCOMMERCE_CONSUMER_KEY", "ck_k".to_string()),
        ("WOOCOMMERCE_CONSUMER_SECRET", "cs_s".to_string()),
    ]
    .into_iter()
    .collect();
    Executor::with_env(Arc::new(move |n: &str| vars.get(n).cloned())).unwrap()
}

fn call(flows: &Flows, flow: &str, slots: &[(&str, &str)]) -> ActionCall {
    let f = flows.get(&flow.to_string().try_into().unwrap()).unwrap();
    ActionCall {
        flow: f.id.clone(),
        action: f.action.clone(),
        slots: slots
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[tokio::test]
async fn a_whole_order_status_flow_calls_the_api_and_answers() {
    let (base, log) = fake_api().await;
    let flows = load_flows();
    let exec = executor(&base);
    let t = flows
        .start(
            &"track_order".parse().unwrap(),
            &Input::new("where is order 10423?", "en"),
            &Customer::default(),
        )
        .unwrap();
    let Step::Ask(p) = &t.step else {
        panic!("{:?}", t.step)
    };
    assert_eq!(p.slot, "email");
    let t = flows.advance(t.state.unwrap(), &Input::new("ana@example.com", "en"));
    let Step::Run(action) = t.step else {
        panic!("{:?}", t.step)
    };
    let result = exec.run(&action).await;
    let done = flows.finish(t.state.unwrap(), &result, "en");
    assert_eq!(
        done.text,
        "Order 10423 is shipped: https://tracking.example/1"
    );
    assert!(!done.escalate);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/orders/10423");
    assert_eq!(seen[0].headers["authorization"], "Bearer tok-123");
}

#[tokio::test]
async fn not_found_5xx_timeout_redirect_and_refused_each_get_their_outcome() {
    let (base, log) = fake_api().await;
    let flows = load_flows();
    let exec = executor(&base);
    let email = ("email", "ana@example.com");
    let run = |n: &'static str| {
        let c = call(&flows, "order_status", &[("order_number", n), email]);
        let exec = exec.clone();
        async move { exec.run(&c).await }
    };
    assert_eq!(run("99999").await, ActionResult::NotFound);
    assert!(
        matches!(
            run("10427").await,
            ActionResult::Failed {
                status: Some(502),
                ..
            }
        ),
        "5xx"
    );
    // The server sleeps 5 s; the action's timeout is 500 ms.
    assert_eq!(run("10426").await, ActionResult::Timeout);
    // 302 → /orders/10423: reported, not followed.
    let before = log.lock().unwrap().len();
    match run("10429").await {
        ActionResult::Failed { status, reason } => {
            assert_eq!(status, Some(302));
            assert!(reason.contains("redirects are not followed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let after: Vec<String> = log.lock().unwrap()[before..]
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(
        after,
        ["/orders/10429"],
        "the redirect's target was not requested"
    );
    // Someone else's e-mail: not found, whatever the order.
    let c = call(
        &flows,
        "order_status",
        &[("order_number", "10423"), ("email", "eve@example.com")],
    );
    assert_eq!(exec.run(&c).await, ActionResult::NotFound);
    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let c = call(&flows, "order_status", &[("order_number", "10423"), email]);
    match executor(&closed).run(&c).await {
        ActionResult::Failed {
            status: None,
            reason,
        } => {
            assert!(reason.contains("cannot connect"), "{reason}");
            assert!(!reason.contains("10423"), "no path in the reason: {reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_shopify_preset_sends_the_documented_request() {
    let (base, log) = fake_api().await;
    let flows = load_flows();
    let exec = executor(&base);
    let result = exec
        .run(&call(&flows, "shopify", &[("order_number", "1001")]))
        .await;
    let ActionResult::Found { fields } = &result else {
        panic!("{result:?}")
    };
    assert_eq!(fields["status"], "shipped");
    assert_eq!(fields["tracking_number"], "1Z2345");
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/admin/api/2025-01/orders.json");
    let query = seen.query.unwrap();
    assert!(
        query.starts_with("name=%231001&status=any&fields="),
        "{query}"
    );
    assert_eq!(seen.headers["x-shopify-access-token"], "shpat_abc");
    assert_eq!(
        exec.run(&call(&flows, "shopify", &[("order_number", "4242")]))
            .await,
        ActionResult::NotFound
    );
}

#[tokio::test]
async fn the_woocommerce_preset_sends_the_documented_request() {
    let (base, log) = fake_api().await;
    let flows = load_flows();
    let exec = executor(&base);
    let result = exec
        .run(&call(&flows, "woo", &[("order_number", "727")]))
        .await;
    let ActionResult::Found { fields } = &result else {
        panic!("{result:?}")
    };
    assert_eq!(fields["status"], "processing");
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/wp-json/wc/v3/orders/727");
    // HTTP Basic with consumer key and secret: base64("ck_k:cs_s").
    assert_eq!(seen.headers["authorization"], "Basic Y2tfazpjc19z");
    assert_eq!(
        exec.run(&call(&flows, "woo", &[("order_number", "1")]))
            .await,
        ActionResult::NotFound
    );
}
