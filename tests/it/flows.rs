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

// ---------------------------------------------------------------------------------------------
// Whole conversations through the real server and through `chat`: the demo shop with a
// four-language order-status flow whose action is the generic call or one of the presets,
// against the fake API above on 127.0.0.1.

use serde_json::{json, Value};

use crate::exe::{concierge, path, run};
use crate::server::{config, Server};

/// What the shopper says and what the flow answers, per language.
struct Lang {
    code: &'static str,
    start: &'static str,
    ask: &'static str,
    invalid: &'static str,
    /// The answer's opening word ("Order" 10423…).
    order: &'static str,
    shipped: &'static str,
    processing: &'static str,
    digression: &'static str,
    resume: &'static str,
    cancel: &'static str,
    cancelled: &'static str,
    timeout: &'static str,
}

const LANGS: [Lang; 4] = [
    Lang {
        code: "en",
        start: "where is my order?",
        ask: "What's your order number?",
        invalid: "Order numbers have 3 to 5 digits.",
        order: "Order",
        shipped: "on its way",
        processing: "being packed",
        digression: "what payment methods do you accept?",
        resume: "Back to where we were:",
        cancel: "never mind",
        cancelled: "I've stopped",
        timeout: "Our order system is not answering",
    },
    Lang {
        code: "es",
        start: "¿dónde está mi pedido?",
        ask: "¿Cuál es tu número de pedido?",
        invalid: "Los números de pedido tienen de 3 a 5 cifras.",
        order: "Pedido",
        shipped: "en camino",
        processing: "en preparación",
        digression: "¿qué métodos de pago aceptáis?",
        resume: "Volviendo a lo de antes:",
        cancel: "déjalo",
        cancelled: "lo dejamos",
        timeout: "Nuestro sistema de pedidos no responde",
    },
    Lang {
        code: "nl",
        start: "waar is mijn bestelling?",
        ask: "Wat is je bestelnummer?",
        invalid: "Bestelnummers hebben 3 tot 5 cijfers.",
        order: "Bestelling",
        shipped: "onderweg",
        processing: "wordt ingepakt",
        digression: "welke betaalmethodes accepteren jullie?",
        resume: "Terug naar waar we waren:",
        cancel: "laat maar",
        cancelled: "ik ben gestopt",
        timeout: "Ons bestelsysteem reageert niet",
    },
    Lang {
        code: "pt",
        start: "onde está minha encomenda?",
        ask: "Qual é o número do seu pedido?",
        invalid: "Os números de pedido têm 3 a 5 algarismos.",
        order: "Pedido",
        shipped: "a caminho",
        processing: "em preparação",
        digression: "quais métodos de pagamento vocês aceitam?",
        resume: "Voltando ao que estávamos a tratar:",
        cancel: "esquece",
        cancelled: "deixamos isso",
        timeout: "O nosso sistema de pedidos não responde",
    },
];

/// The flow's texts in the four languages, with `action` as its action.
fn flow_file(action: &str) -> String {
    let by_lang = |f: fn(&Lang) -> &'static str| {
        let items: Vec<String> = LANGS
            .iter()
            .map(|l| format!("{}: {}", l.code, serde_json::to_string(f(l)).unwrap()))
            .collect();
        format!("{{{}}}", items.join(", "))
    };
    let answer: Vec<String> = LANGS
        .iter()
        .map(|l| format!("{}: \"{} {{order_number}}: {{status}}.\"", l.code, l.order))
        .collect();
    let timeout: Vec<String> = LANGS
        .iter()
        .map(|l| format!("{}: \"{} ({{order_number}}).\"", l.code, l.timeout))
        .collect();
    format!(
        r#"flows:
  - id: order_status
    intent: track_order
    slots:
      - name: order_number
        type: pattern
        pattern: '#?\b(\d{{3,5}})\b'
        ask: {ask}
        invalid: {invalid}
        max_attempts: 3
    action: {action}
    answer: {{{answer}}}
    labels:
      status:
        shipped: {shipped}
        processing: {processing}
    outcomes:
      timeout:
        say: {{{timeout}}}
        escalate: true
"#,
        ask = by_lang(|l| l.ask),
        invalid = by_lang(|l| l.invalid),
        answer = answer.join(", "),
        shipped = by_lang(|l| l.shipped),
        processing = by_lang(|l| l.processing),
        timeout = timeout.join(", "),
    )
}

/// The three actions under test: (name, action YAML, the order number that is found, the
/// status label key it has).
const ACTIONS: [(&str, &str, &str, &str); 3] = [
    (
        "generic",
        r#"{url: "{env.SHOP_API}/orders/{order_number}", headers: {Authorization: "Bearer {env.SHOP_TOKEN}"}, timeout_ms: 1000, found_if: order, pick: {status: order.status}}"#,
        "10423",
        "shipped",
    ),
    (
        "shopify",
        "{preset: shopify_order_status, timeout_ms: 1000}",
        "1001",
        "shipped",
    ),
    (
        "woocommerce",
        "{preset: woocommerce_order_status, timeout_ms: 1000}",
        "727",
        "processing",
    ),
];

/// The demo shop's intents with `order_status.yaml` replaced by a flow with `action`.
fn intents_with(dir: &std::path::Path, action: &str) -> std::path::PathBuf {
    let intents = dir.join("intents");
    std::fs::create_dir_all(&intents).unwrap();
    for entry in std::fs::read_dir(path("intents")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        if p.is_file() && name != "order_status.yaml" {
            std::fs::copy(&p, intents.join(name)).unwrap();
        }
    }
    std::fs::write(intents.join("order_status.yaml"), flow_file(action)).unwrap();
    intents
}

/// The fake API on a runtime of its own (the server and `chat` are driven synchronously).
fn fake_api_thread() -> (tokio::runtime::Runtime, String, Log) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (base, log) = rt.block_on(fake_api());
    (rt, base, log)
}

fn env_for(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SHOP_API", base.to_string()),
        ("SHOP_TOKEN", "tok-123".to_string()),
        ("SHOPIFY_SHOP_URL", base.to_string()),
        ("SHOPIFY_ACCESS_TOKEN", "shpat_abc".to_string()),
        ("WOOCOMMERCE_URL", base.to_string()),
        ("WOOCOMMERCE_CONSUMER_KEY", "ck_k".to_string()),
        ("WOOCOMMERCE_CONSUMER_SECRET", "cs_s".to_string()),
    ]
}

fn shop_server(dir: &std::path::Path, action: &str, base: &str) -> Server {
    let intents = intents_with(dir, action);
    let env = env_for(base);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args: Vec<std::ffi::OsString> = vec![
        "--kb".into(),
        path("knowledge-base").into(),
        "--intents".into(),
        intents.into(),
        "--config".into(),
        config(dir, ""),
        "--lexical-only".into(),
    ];
    let server = Server::start_with_env(args, &env);
    server.wait_ready();
    server
}

fn say(server: &Server, conversation: Option<&str>, lang: &str, text: &str) -> Value {
    let mut body = json!({ "text": text, "locale": lang });
    if let Some(c) = conversation {
        body["conversation_id"] = json!(c);
    }
    server
        .post_json("/v1/messages", &body.to_string())
        .expect(200)
}

#[track_caller]
fn assert_text(v: &Value, contains: &str) {
    let text = v["text"].as_str().unwrap_or_default();
    assert!(text.contains(contains), "expected {contains:?} in {v:#}");
}

/// Checks the last request the fake API saw for this action.
#[track_caller]
fn assert_request(kind: &str, seen: &Seen) {
    match kind {
        "generic" => {
            assert_eq!(seen.path, "/orders/10423");
            assert_eq!(seen.headers["authorization"], "Bearer tok-123");
        }
        "shopify" => {
            assert_eq!(seen.path, "/admin/api/2025-01/orders.json");
            let q = seen.query.as_deref().unwrap_or_default();
            assert!(q.starts_with("name=%231001&status=any"), "{q}");
            assert_eq!(seen.headers["x-shopify-access-token"], "shpat_abc");
        }
        "woocommerce" => {
            assert_eq!(seen.path, "/wp-json/wc/v3/orders/727");
            assert_eq!(seen.headers["authorization"], "Basic Y2tfazpjc19z");
        }
        other => panic!("unknown action {other}"),
    }
}

#[test]
fn order_status_through_the_server_in_four_languages_for_each_action() {
    let (_rt, base, log) = fake_api_thread();
    for (kind, action, number, status) in ACTIONS {
        let dir = tempfile::tempdir().unwrap();
        let server = shop_server(dir.path(), action, &base);
        for l in &LANGS {
            let label = if status == "shipped" {
                l.shipped
            } else {
                l.processing
            };
            let first = say(&server, None, l.code, l.start);
            assert_eq!(
                first["intent"], "track_order",
                "{kind}/{}: {first:#}",
                l.code
            );
            assert_text(&first, l.ask);
            let c = first["conversation_id"].as_str().unwrap().to_string();
            let wrong = say(&server, Some(&c), l.code, "12");
            assert_text(&wrong, l.invalid);
            assert_text(&wrong, l.ask);
            let before = log.lock().unwrap().len();
            let done = say(&server, Some(&c), l.code, number);
            assert_eq!(done["outcome"], "answer", "{kind}/{}: {done:#}", l.code);
            assert_text(&done, &format!("{} {number}: {label}.", l.order));
            let seen = log.lock().unwrap()[before..].to_vec();
            assert_eq!(seen.len(), 1, "{kind}/{}: one request: {seen:?}", l.code);
            assert_request(kind, &seen[0]);
        }
    }
}

#[test]
fn digression_cancel_and_a_timeout_through_the_server_in_four_languages() {
    let (_rt, base, _log) = fake_api_thread();
    let dir = tempfile::tempdir().unwrap();
    let server = shop_server(dir.path(), ACTIONS[0].1, &base);
    for l in &LANGS {
        // A question on another topic is answered; the flow asks again after it.
        let c = say(&server, None, l.code, l.start);
        let id = c["conversation_id"].as_str().unwrap().to_string();
        let aside = say(&server, Some(&id), l.code, l.digression);
        assert_eq!(aside["outcome"], "answer", "{}: {aside:#}", l.code);
        assert_ne!(aside["intent"], "track_order", "{}: {aside:#}", l.code);
        assert_text(&aside, &format!("{} {}", l.resume, l.ask));
        let done = say(&server, Some(&id), l.code, "10423");
        assert_text(&done, &format!("{} 10423: {}.", l.order, l.shipped));

        // Cancel leaves the flow: the next number is no longer an order number.
        let c = say(&server, None, l.code, l.start);
        let id = c["conversation_id"].as_str().unwrap().to_string();
        let gone = say(&server, Some(&id), l.code, l.cancel);
        assert_text(&gone, l.cancelled);
        assert!(gone.get("handoff").is_none(), "{gone:#}");

        // The API times out (10426 answers after 5 s; the action waits 1 s): the flow's
        // apology, and a ticket with the slot.
        let c = say(&server, None, l.code, l.start);
        let id = c["conversation_id"].as_str().unwrap().to_string();
        let late = say(&server, Some(&id), l.code, "10426");
        assert_eq!(late["outcome"], "escalate", "{}: {late:#}", l.code);
        assert_eq!(late["escalation"], "flow_failed", "{late:#}");
        assert_text(&late, &format!("{} (10426).", l.timeout));
        let ticket = late["handoff"]["ticket_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: a ticket with the hand-over: {late:#}", l.code));
        let tickets = server.get("/admin/tickets").expect(200);
        let mine = tickets["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == ticket)
            .unwrap_or_else(|| panic!("ticket {ticket} listed: {tickets:#}"))
            .clone();
        assert_eq!(mine["reason"], "flow_failed");
        assert_eq!(mine["slots"], json!({"order_number": "10426"}), "{mine:#}");
    }
}

/// `chat` with the flow of `action`, fed `input` (one message per line); its standard output.
fn chat_with(base: &str, intents: &std::path::Path, input: &str) -> String {
    let mut cmd = concierge(["chat", "--lexical-only", "--kb"]);
    cmd.arg(path("knowledge-base"))
        .arg("--intents")
        .arg(intents);
    for (k, v) in env_for(base) {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, input.as_bytes());
    out.assert_code(0);
    out.stdout
}

/// `needles` appear in `s` in this order; panics naming the first that does not.
#[track_caller]
fn in_order(s: &str, what: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        match s[from..].find(n) {
            Some(i) => from += i + n.len(),
            None => panic!("{what}: {n:?} not found (in order) in:\n{s}"),
        }
    }
}

#[test]
fn order_status_through_chat_in_four_languages_for_each_action() {
    let (_rt, base, log) = fake_api_thread();
    for (kind, action, number, status) in ACTIONS {
        let dir = tempfile::tempdir().unwrap();
        let intents = intents_with(dir.path(), action);
        for l in &LANGS {
            let label = if status == "shipped" {
                l.shipped
            } else {
                l.processing
            };
            let before = log.lock().unwrap().len();
            let s = chat_with(&base, &intents, &format!("{}\n12\n{number}\n", l.start));
            let answer = format!("{} {number}: {label}.", l.order);
            in_order(
                &s,
                &format!("{kind}/{}", l.code),
                &[l.ask, l.invalid, &answer],
            );
            let seen = log.lock().unwrap()[before..].to_vec();
            assert_eq!(seen.len(), 1, "{kind}/{}: {seen:?}", l.code);
            assert_request(kind, &seen[0]);
        }
    }
}

#[test]
fn digression_cancel_and_a_timeout_through_chat_in_four_languages() {
    let (_rt, base, _log) = fake_api_thread();
    let dir = tempfile::tempdir().unwrap();
    let intents = intents_with(dir.path(), ACTIONS[0].1);
    for l in &LANGS {
        let code = l.code;
        // A question on another topic is answered, the flow asks again, then finishes.
        let s = chat_with(
            &base,
            &intents,
            &format!("{}\n{}\n10423\n", l.start, l.digression),
        );
        let shipped = format!("{} 10423: {}.", l.order, l.shipped);
        let resumed = format!("{} {}", l.resume, l.ask);
        in_order(&s, code, &[l.ask, &resumed, &shipped]);
        // Cancel leaves the flow.
        let s = chat_with(&base, &intents, &format!("{}\n{}\n", l.start, l.cancel));
        in_order(&s, code, &[l.ask, l.cancelled]);
        // The API times out: the flow's apology and a hand-over.
        let s = chat_with(&base, &intents, &format!("{}\n10426\n", l.start));
        in_order(&s, code, &[l.ask, &format!("{} (10426).", l.timeout)]);
    }
}

/// An order-status flow whose first slot is a choice (quick replies), against `SHOP_API`.
const CHOICE_FLOW: &str = r#"flows:
  - id: order_status
    intent: track_order
    slots:
      - name: channel
        type: choice
        choices:
          - value: web
            label: {en: "Web shop", es: "Tienda web", pt: "Loja online", nl: "Webshop"}
          - value: store
            label: {en: "In a store", es: "En una tienda", pt: "Numa loja", nl: "In een winkel"}
        ask: {en: "Where did you order?", es: "¿Dónde hiciste el pedido?", pt: "Onde fez a encomenda?", nl: "Waar heb je besteld?"}
      - name: order_number
        type: pattern
        pattern: '#?\b(\d{3,5})\b'
        ask: {en: "What's your order number?", es: "¿Número de pedido?", pt: "Número do pedido?", nl: "Bestelnummer?"}
    action: {url: "{env.SHOP_API}/orders/{order_number}", timeout_ms: 1000, found_if: order, pick: {status: order.status}}
    answer: {en: "Order {order_number} ({channel}): {status}.", es: "Pedido {order_number} ({channel}): {status}.", pt: "Pedido {order_number} ({channel}): {status}.", nl: "Bestelling {order_number} ({channel}): {status}."}
"#;

/// The demo shop served with `CHOICE_FLOW` as its order-status flow, against the fake shop
/// API at `base`: the intents folder (for `chat`) and the ready server.
fn choice_flow_server(dir: &std::path::Path, base: &str) -> (std::path::PathBuf, Server) {
    let intents = intents_with(dir, ACTIONS[0].1);
    std::fs::write(intents.join("order_status.yaml"), CHOICE_FLOW).unwrap();
    let env = env_for(base);
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args: Vec<std::ffi::OsString> = vec![
        "--kb".into(),
        path("knowledge-base").into(),
        "--intents".into(),
        intents.clone().into(),
        "--config".into(),
        config(dir, ""),
        "--lexical-only".into(),
    ];
    let server = Server::start_with_env(args, &env_ref);
    server.wait_ready();
    (intents, server)
}

/// A choice slot: its choices go out as `quick_replies` (label and value) from the server, and
/// `chat` prints them numbered, a number picking one.
#[test]
fn a_choice_slot_offers_quick_replies_on_the_wire_and_numbered_in_chat() {
    let (_rt, base, _log) = fake_api_thread();
    let dir = tempfile::tempdir().unwrap();
    let (intents, server) = choice_flow_server(dir.path(), &base);
    let env = env_for(&base);
    let first = say(&server, None, "en", "where is my order?");
    assert_text(&first, "Where did you order?");
    assert_eq!(
        first["quick_replies"],
        json!([{"label": "Web shop", "value": "web"}, {"label": "In a store", "value": "store"}]),
        "{first:#}"
    );
    let c = first["conversation_id"].as_str().unwrap().to_string();
    // What the widget's button sends: the label.
    let next = say(&server, Some(&c), "en", "In a store");
    assert_text(&next, "What's your order number?");
    assert!(next.get("quick_replies").is_none(), "{next:#}");
    let done = say(&server, Some(&c), "en", "10423");
    assert_text(&done, "Order 10423 (store): shipped.");

    let mut cmd = concierge(["chat", "--lexical-only", "--kb"]);
    cmd.arg(path("knowledge-base"))
        .arg("--intents")
        .arg(&intents);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, b"where is my order?\n2\n10423\n");
    out.assert_code(0);
    let s = &out.stdout;
    assert!(s.contains("     1) Web shop\n     2) In a store\n"), "{s}");
    assert!(s.contains("Order 10423 (store): shipped."), "{s}");
}

/// The same flow clicked through in the widget, in real headless Chromium
/// (`tests/browser/flow.test.mjs`): the quick-reply buttons shown and one clicked, a wrong
/// order number re-asked, the fake shop API called and its answer shown.
#[test]
fn a_flow_with_quick_replies_is_clicked_through_in_headless_chromium() {
    if crate::browser::skipped() {
        return;
    }
    let (_rt, base, log) = fake_api_thread();
    let dir = tempfile::tempdir().unwrap();
    let (_intents, server) = choice_flow_server(dir.path(), &base);
    crate::browser::run_script("flow.test.mjs", &server, &[]);
    assert!(crate::browser::shots().join("flow-answered.png").is_file());
    // The shop's API was called once, for the right order.
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].path.ends_with("/orders/10423"), "{seen:?}");
}
