//! Unit tests of flows: templates, slots, the state machine, loading and checking, and the
//! presets' requests and responses (from the platforms' documented example payloads).

use std::collections::BTreeMap;
use std::path::Path;

use super::load::parse_file;
use super::machine::{is_cancel, wants_person};
use super::template::{percent_encode, Values};
use super::*;
use crate::diagnostic::Diagnostic;
use crate::intents::Intent;

const FLOW: &str = r#"intents:
  - id: track_order
    examples: [where is my order]
    answer: Look in your email.
  - id: return_item
    examples: [i want to return]
    answer: Returns are free.
flows:
  - id: order_status
    intent: track_order
    slots:
      - name: order_number
        type: pattern
        pattern: '\b#?(\d{5})\b'
        ask:
          en: "What's your order number?"
          es: "¿Cuál es tu número de pedido?"
        invalid:
          en: "An order number has 5 digits, like 10423."
          es: "Un número de pedido tiene 5 cifras, como 10423."
        max_attempts: 2
      - name: email
        type: email
        from_customer: email
        ask:
          en: "And the e-mail address you ordered with?"
          es: "¿Y el e-mail con el que hiciste el pedido?"
    action:
      method: GET
      url: "{env.SHOP_API}/orders/{order_number}"
      headers:
        Authorization: "Bearer {env.SHOP_TOKEN}"
      timeout_ms: 2000
      found_if: order
      pick:
        status: order.status
        tracking_url: order.tracking.url
        customer_email: order.email
      verify: {field: customer_email, slot: email}
    answer:
      en: "Order {order_number} is {status}. Tracking: {tracking_url|not yet}."
      es: "El pedido {order_number} está {status}. Seguimiento: {tracking_url|aún no}."
    labels:
      status:
        shipped: {en: "on its way", es: "en camino"}
    outcomes:
      not_found:
        say: {en: "I can't find order {order_number} with that e-mail.", es: "No encuentro el pedido {order_number} con ese e-mail."}
      timeout:
        escalate: true
  - id: return_reason
    intent: return_item
    slots:
      - name: reason
        type: choice
        choices:
          - value: damaged
            label: {en: "Arrived damaged", es: "Llegó dañado"}
            synonyms: [broken, roto]
          - value: size
            label: {en: "Wrong size", es: "Talla equivocada"}
        ask: {en: "Why are you returning it?", es: "¿Por qué lo devuelves?"}
      - name: quantity
        type: number
        min: 1
        max: 20
        ask: {en: "How many items?", es: "¿Cuántos artículos?"}
    action:
      method: POST
      url: "https://shop.example/returns"
      body: {reason: "{reason}", quantity: "{quantity}", tags: ["bot"]}
      pick: {rma: rma}
    answer:
      en: "Your return number is {rma}."
      es: "Tu número de devolución es {rma}."
"#;

fn intent(id: &str) -> Intent {
    Intent {
        id: id.parse().unwrap(),
        description: None,
        examples: BTreeMap::new(),
        patterns: Vec::new(),
        answers: BTreeMap::new(),
        article: None,
        escalate: false,
        builtin: false,
        source: "intents/x.yaml".into(),
        line: None,
    }
}

fn parse_with(text: &str, languages: &[&str]) -> (Flows, Vec<Diagnostic>) {
    let intents = [intent("track_order"), intent("return_item")];
    let langs: Vec<String> = languages.iter().map(|s| s.to_string()).collect();
    let mut diags = Vec::new();
    let flows = parse_file(
        Path::new("intents/x.yaml"),
        text,
        &intents,
        &langs,
        &mut diags,
    );
    (Flows::new(flows), diags)
}

fn flows() -> Flows {
    let (f, d) = parse_with(FLOW, &["en", "es"]);
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(f.len(), 2);
    f
}

fn track() -> IntentId {
    "track_order".parse().unwrap()
}

fn env(name: &str) -> Option<String> {
    match name {
        "SHOP_API" => Some("http://127.0.0.1:9".into()),
        "SHOP_TOKEN" => Some("s3cret".into()),
        "SHOPIFY_SHOP_URL" => Some("https://nordhaven.myshopify.com".into()),
        "SHOPIFY_ACCESS_TOKEN" => Some("shpat_x".into()),
        "WOOCOMMERCE_URL" => Some("https://shop.example/".into()),
        "WOOCOMMERCE_CONSUMER_KEY" => Some("ck_1".into()),
        "WOOCOMMERCE_CONSUMER_SECRET" => Some("cs_2".into()),
        _ => None,
    }
}

fn slots(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ask(t: &Transition) -> &Prompt {
    match &t.step {
        Step::Ask(p) => p,
        other => panic!("expected a question, got {other:?}"),
    }
}

// ---------------------------------------------------------------- templates

#[test]
fn templates_fill_names_defaults_and_leave_other_braces_alone() {
    let t = Template::parse(r#"{"id": "{order}", "x": {a}} {missing|none} {env.TOKEN}"#);
    let values = slots(&[("order", "10423"), ("a", "1")]);
    let env = |n: &str| (n == "TOKEN").then(|| "tok".to_string());
    let out = t
        .render(
            &Values {
                values: &values,
                env: Some(&env),
            },
            Escape::None,
        )
        .unwrap();
    assert_eq!(out, r#"{"id": "10423", "x": 1} none tok"#);
    let names: Vec<_> = t.names().map(|(n, _)| n).collect();
    assert_eq!(names, ["order", "a", "missing", "env.TOKEN"]);
}

#[test]
fn a_template_without_env_access_cannot_read_env() {
    let t = Template::parse("{env.SHOP_TOKEN}");
    let values = BTreeMap::new();
    let r = t.render(
        &Values {
            values: &values,
            env: None,
        },
        Escape::None,
    );
    assert_eq!(r.unwrap_err().0, "env.SHOP_TOKEN");
}

#[test]
fn slot_values_in_urls_are_percent_encoded() {
    assert_eq!(percent_encode("a/b?c=d&e f"), "a%2Fb%3Fc%3Dd%26e%20f");
    assert_eq!(percent_encode("#1001"), "%231001");
    let t = Template::parse("https://x.example/orders/{id}");
    let v = slots(&[("id", "../admin?x=1")]);
    let out = t
        .render(
            &Values {
                values: &v,
                env: None,
            },
            Escape::Url,
        )
        .unwrap();
    assert_eq!(out, "https://x.example/orders/..%2Fadmin%3Fx%3D1");
}

// ---------------------------------------------------------------- slots

#[test]
fn slot_types_read_their_values() {
    let f = flows();
    let order = &f.iter().next().unwrap().slots[0].kind;
    assert_eq!(
        order.extract("track order #10423 please", false).unwrap(),
        "10423"
    );
    assert_eq!(order.extract("it's 1042", true), Err(Invalid::Missing));
    assert_eq!(
        SlotKind::Email
            .extract("it's Ana@Example.com.", true)
            .unwrap(),
        "Ana@Example.com"
    );
    assert_eq!(
        SlotKind::Email.extract("ana@example", true),
        Err(Invalid::BadEmail)
    );
    assert_eq!(
        SlotKind::Email.extract("no idea", true),
        Err(Invalid::Missing)
    );
    let n = SlotKind::Number {
        min: Some(1.0),
        max: Some(20.0),
    };
    assert_eq!(n.extract("3 of them", true).unwrap(), "3");
    assert_eq!(n.extract("2,5", true).unwrap(), "2.5");
    assert_eq!(n.extract("40", true), Err(Invalid::OutOfRange));
    assert_eq!(
        SlotKind::Date.extract("on 7/12/2026", true).unwrap(),
        "2026-12-07"
    );
    assert_eq!(
        SlotKind::Date.extract("2026-02-03", true).unwrap(),
        "2026-02-03"
    );
    assert_eq!(
        SlotKind::Date.extract("31/02/2026", true),
        Err(Invalid::NoSuchDate)
    );
}

#[test]
fn choices_are_picked_by_number_label_value_or_synonym() {
    let f = flows();
    let reason = &f.iter().nth(1).unwrap().slots[0].kind;
    assert_eq!(reason.extract("2", true).unwrap(), "size");
    assert_eq!(reason.extract("Llegó dañado", true).unwrap(), "damaged");
    assert_eq!(reason.extract("it's broken", true).unwrap(), "damaged");
    assert_eq!(reason.extract("wrong size", true).unwrap(), "size");
    // A bare number is only an option's number when it answers the question.
    assert_eq!(reason.extract("2", false), Err(Invalid::Missing));
    assert_eq!(reason.extract("9", true), Err(Invalid::Missing));
    // Naming two options is no answer.
    assert_eq!(
        reason.extract("broken, wrong size", true),
        Err(Invalid::Missing)
    );
}

#[test]
fn cancel_and_person_phrases_in_four_languages() {
    for t in [
        "cancel",
        "never mind",
        "no, never mind, thanks",
        "Cancelar",
        "déjalo",
        "olvídalo",
        "esquece",
        "deixa pra lá",
        "annuleren",
        "laat maar",
        "nee, laat maar",
    ] {
        assert!(is_cancel(t), "{t}");
    }
    for t in [
        "cancel my order",
        "ok",
        "no",
        "what does cancel mean?",
        "10423",
    ] {
        assert!(!is_cancel(t), "{t}");
    }
    for t in [
        "can I talk to a person",
        "quiero hablar con una persona",
        "quero falar com um atendente",
        "mag ik een medewerker",
    ] {
        assert!(wants_person(t), "{t}");
    }
    assert!(!wants_person("my order number is 10423"));
}

// ---------------------------------------------------------------- state machine

#[test]
fn start_prefills_from_the_message_and_the_customer() {
    let f = flows();
    // Both known: straight to the action.
    let t = f
        .start(
            &track(),
            &Input::new("track order 10423", "en"),
            &Customer {
                email: Some("ana@example.com"),
            },
        )
        .unwrap();
    let state = t.state.unwrap();
    assert_eq!(
        state.slots,
        slots(&[("order_number", "10423"), ("email", "ana@example.com")])
    );
    let Step::Run(call) = t.step else {
        panic!("expected the action to run")
    };
    assert_eq!(call.slots, state.slots);
    // Nothing known: the order number is asked first, in the shopper's language.
    let t = f
        .start(
            &track(),
            &Input::new("¿dónde está mi pedido?", "es"),
            &Customer::default(),
        )
        .unwrap();
    assert_eq!(ask(&t).text, "¿Cuál es tu número de pedido?");
    assert_eq!(t.state.unwrap().asking.as_deref(), Some("order_number"));
    // An intent without a flow starts nothing.
    assert!(f
        .start(
            &"greeting".parse().unwrap(),
            &Input::new("hi", "en"),
            &Customer::default()
        )
        .is_none());
}

#[test]
fn invalid_answers_are_reasked_then_the_flow_gives_up_and_escalates() {
    let f = flows();
    let t = f
        .start(
            &track(),
            &Input::new("where is my order", "en"),
            &Customer::default(),
        )
        .unwrap();
    let t = f.advance(t.state.unwrap(), &Input::new("it's 12", "en"));
    let p = ask(&t);
    assert!(p.reask);
    assert_eq!(
        p.text,
        "An order number has 5 digits, like 10423. What's your order number?"
    );
    assert_eq!(t.state.as_ref().unwrap().attempts, 1);
    // max_attempts: 2
    let t = f.advance(t.state.unwrap(), &Input::new("no idea", "en"));
    assert!(t.state.is_none());
    match t.step {
        Step::Escalate { text, slots } => {
            assert!(text.contains("colleague"), "{text}");
            assert!(slots.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_valid_answer_fills_the_slot_and_asks_the_next() {
    let f = flows();
    let t = f
        .start(
            &track(),
            &Input::new("where is my order", "en"),
            &Customer::default(),
        )
        .unwrap();
    let t = f.advance(t.state.unwrap(), &Input::new("it's 12", "en"));
    let t = f.advance(t.state.unwrap(), &Input::new("10423", "en"));
    assert_eq!(ask(&t).text, "And the e-mail address you ordered with?");
    let state = t.state.unwrap();
    assert_eq!(state.attempts, 0, "attempts start again for the next slot");
    let t = f.advance(state, &Input::new("ana@example.com", "en"));
    assert!(matches!(t.step, Step::Run(_)));
}

#[test]
fn one_answer_can_fill_two_slots() {
    let f = flows();
    let t = f
        .start(
            &track(),
            &Input::new("where is my order", "en"),
            &Customer::default(),
        )
        .unwrap();
    let t = f.advance(
        t.state.unwrap(),
        &Input::new("10423, and my email is ana@example.com", "en"),
    );
    assert!(matches!(t.step, Step::Run(_)), "{:?}", t.step);
}

#[test]
fn cancel_leaves_the_flow_in_the_shoppers_language() {
    let f = flows();
    for (text, lang, expect) in [
        ("never mind", "en", "stopped"),
        ("déjalo", "es", "dejamos"),
        ("esquece", "pt", "deixamos"),
        ("laat maar", "nl", "gestopt"),
    ] {
        let t = f
            .start(
                &track(),
                &Input::new("where is my order", lang),
                &Customer::default(),
            )
            .unwrap();
        let t = f.advance(t.state.unwrap(), &Input::new(text, lang));
        assert!(t.state.is_none());
        match t.step {
            Step::Cancelled { text } => assert!(text.contains(expect), "{text}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_request_for_a_person_escalates_with_the_slots_so_far() {
    let f = flows();
    let t = f
        .start(
            &track(),
            &Input::new("track order 10423", "en"),
            &Customer::default(),
        )
        .unwrap();
    let t = f.advance(
        t.state.unwrap(),
        &Input::new("let me talk to a person", "en"),
    );
    assert!(t.state.is_none());
    match t.step {
        Step::Escalate { slots: s, .. } => assert_eq!(s, slots(&[("order_number", "10423")])),
        other => panic!("{other:?}"),
    }
    // The core's reading counts too.
    let t = f
        .start(
            &track(),
            &Input::new("track order 10423", "en"),
            &Customer::default(),
        )
        .unwrap();
    let mut input = Input::new("ayuda", "es");
    input.wants_person = true;
    assert!(matches!(
        f.advance(t.state.unwrap(), &input).step,
        Step::Escalate { .. }
    ));
}

#[test]
fn a_digression_keeps_the_state_and_the_flow_resumes() {
    let f = flows();
    let t = f
        .start(
            &track(),
            &Input::new("where is my order", "en"),
            &Customer::default(),
        )
        .unwrap();
    let before = t.state.unwrap();
    let mut input = Input::new("do you ship to Canada?", "en");
    input.other_topic = true;
    let t = f.advance(before.clone(), &input);
    assert!(matches!(t.step, Step::NotForMe));
    assert_eq!(
        t.state.as_ref(),
        Some(&before),
        "a digression costs no attempt"
    );
    let p = f.resume(&before, "en").unwrap();
    assert_eq!(p.text, "Back to where we were: What's your order number?");
    // A message on another topic that does hold the value is an answer.
    let mut input = Input::new("is 10423 shipped yet?", "en");
    input.other_topic = true;
    let t = f.advance(before, &input);
    assert_eq!(ask(&t).slot, "email");
}

#[test]
fn choices_come_as_quick_replies() {
    let f = flows();
    let t = f
        .start(
            &"return_item".parse().unwrap(),
            &Input::new("return", "es"),
            &Customer::default(),
        )
        .unwrap();
    let p = ask(&t);
    assert_eq!(
        p.choices,
        vec![
            QuickReply {
                label: "Llegó dañado".into(),
                value: "damaged".into()
            },
            QuickReply {
                label: "Talla equivocada".into(),
                value: "size".into()
            },
        ]
    );
    let t = f.advance(t.state.unwrap(), &Input::new("purple", "es"));
    assert!(ask(&t).text.starts_with("Elige una de las opciones"));
}

#[test]
fn the_state_survives_serialization() {
    let f = flows();
    let t = f
        .start(
            &track(),
            &Input::new("track order 10423", "en"),
            &Customer::default(),
        )
        .unwrap();
    let state = t.state.unwrap();
    let json = serde_json::to_string(&state).unwrap();
    let back: FlowState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
    // A state whose flow was removed by a reload ends quietly.
    let gone = FlowState {
        flow: "gone".to_string().try_into().unwrap(),
        ..state
    };
    let t = f.advance(gone, &Input::new("10423", "en"));
    assert!(t.state.is_none());
    assert!(matches!(t.step, Step::NotForMe));
}

#[test]
fn finish_renders_the_answer_with_labels_and_the_outcomes() {
    let f = flows();
    let state = FlowState {
        flow: "order_status".to_string().try_into().unwrap(),
        slots: slots(&[("order_number", "10423"), ("email", "ana@example.com")]),
        asking: None,
        attempts: 0,
        language: None,
    };
    let found = ActionResult::Found {
        fields: slots(&[("status", "shipped")]),
    };
    let done = f.finish(state.clone(), &found, "es");
    assert_eq!(
        done.text,
        "El pedido 10423 está en camino. Seguimiento: aún no."
    );
    assert!(!done.escalate);
    let done = f.finish(state.clone(), &ActionResult::NotFound, "en");
    assert_eq!(done.text, "I can't find order 10423 with that e-mail.");
    assert!(!done.escalate);
    let done = f.finish(state.clone(), &ActionResult::Timeout, "en");
    assert!(done.escalate);
    assert!(done.text.contains("taking too long"), "{}", done.text);
    assert_eq!(done.slots, state.slots);
    let failed = ActionResult::Failed {
        status: Some(503),
        reason: "HTTP 503".into(),
    };
    let done = f.finish(state, &failed, "nl");
    assert!(done.escalate);
    assert_eq!(done.result, "failed");
}

// ---------------------------------------------------------------- requests and responses

fn action(f: &Flows, id: &str) -> std::sync::Arc<Action> {
    f.get(&id.to_string().try_into().unwrap())
        .unwrap()
        .action
        .clone()
}

#[test]
fn the_generic_request_is_built_from_slots_and_env() {
    let f = flows();
    let a = action(&f, "order_status");
    let s = slots(&[("order_number", "10423"), ("email", "ana@example.com")]);
    let r = a.request(&s, &env).unwrap();
    assert_eq!(r.method, Method::Get);
    assert_eq!(r.url, "http://127.0.0.1:9/orders/10423");
    assert_eq!(
        r.headers,
        vec![("Authorization".into(), "Bearer s3cret".into())]
    );
    assert!(!format!("{r:?}").contains("s3cret"), "Debug hides secrets");
    // A missing variable is named, not sent empty.
    let none = |_: &str| -> Option<String> { None };
    assert_eq!(
        a.request(&s, &none).unwrap_err(),
        BuildError::Env("SHOP_API".into())
    );
    let b = action(&f, "return_reason");
    let r = b
        .request(&slots(&[("reason", "damaged"), ("quantity", "2")]), &env)
        .unwrap();
    assert_eq!(r.method, Method::Post);
    let body: serde_json::Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"reason": "damaged", "quantity": "2", "tags": ["bot"]})
    );
    assert!(r
        .headers
        .contains(&("Content-Type".into(), "application/json".into())));
}

#[test]
fn the_generic_response_is_picked_verified_and_classified() {
    let f = flows();
    let a = action(&f, "order_status");
    let s = slots(&[("order_number", "10423"), ("email", "ana@example.com")]);
    let body = br#"{"order": {"status": "shipped", "email": "ANA@example.com", "tracking": {"url": "https://t.example/1"}}}"#;
    assert_eq!(
        a.parse(200, body, &s),
        ActionResult::Found {
            fields: slots(&[
                ("customer_email", "ANA@example.com"),
                ("status", "shipped"),
                ("tracking_url", "https://t.example/1")
            ])
        }
    );
    // Someone else's order reads as not found.
    let other = br#"{"order": {"status": "shipped", "email": "bob@example.com"}}"#;
    assert_eq!(a.parse(200, other, &s), ActionResult::NotFound);
    assert_eq!(
        a.parse(200, br#"{"order": null}"#, &s),
        ActionResult::NotFound
    );
    assert_eq!(a.parse(404, b"", &s), ActionResult::NotFound);
    assert!(matches!(
        a.parse(503, b"", &s),
        ActionResult::Failed {
            status: Some(503),
            ..
        }
    ));
    assert!(matches!(
        a.parse(302, b"", &s),
        ActionResult::Failed { reason, .. } if reason.contains("redirects are not followed")
    ));
    assert!(matches!(
        a.parse(200, b"<html>", &s),
        ActionResult::Failed { reason, .. } if reason.contains("not JSON")
    ));
}

fn preset_flow(preset: &str, extra: &str) -> Flows {
    let text = format!(
        r#"flows:
  - id: p
    intent: track_order
    slots:
      - name: order_number
        type: pattern
        pattern: '(\d+)'
        ask: {{en: "Order number?"}}
      - name: email
        type: email
        ask: {{en: "E-mail?"}}
    action:
      preset: {preset}
      email: email
{extra}
    answer:
      en: "{{order_name}}: {{status}} {{tracking_number|}} {{carrier|}}"
"#
    );
    let (f, d) = parse_with(&text, &["en"]);
    assert!(d.is_empty(), "{d:#?}");
    f
}

#[test]
fn shopify_preset_matches_the_admin_api() {
    let f = preset_flow("shopify_order_status", "      api_version: 2025-01");
    let a = action(&f, "p");
    let s = slots(&[
        ("order_number", "1001"),
        ("email", "bob.norman@mail.example.com"),
    ]);
    let r = a.request(&s, &env).unwrap();
    assert_eq!(r.method, Method::Get);
    assert!(
        r.url.starts_with("https://nordhaven.myshopify.com/admin/api/2025-01/orders.json?name=%231001&status=any&fields="),
        "{}",
        r.url
    );
    assert!(r
        .headers
        .contains(&("X-Shopify-Access-Token".into(), "shpat_x".into())));
    let body = include_bytes!("fixtures/shopify_orders.json");
    assert_eq!(
        a.parse(200, body, &s),
        ActionResult::Found {
            fields: slots(&[
                ("carrier", "USPS"),
                ("currency", "USD"),
                ("financial_status", "paid"),
                ("fulfillment_status", "fulfilled"),
                ("order_name", "#1001"),
                ("status", "shipped"),
                ("total", "598.94"),
                ("tracking_number", "1Z2345"),
                (
                    "tracking_url",
                    "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=1Z2345"
                ),
            ])
        }
    );
    // Shopify answers an unknown name with an empty list.
    assert_eq!(
        a.parse(200, br#"{"orders": []}"#, &s),
        ActionResult::NotFound
    );
    let wrong = slots(&[("order_number", "1001"), ("email", "eve@example.com")]);
    assert_eq!(a.parse(200, body, &wrong), ActionResult::NotFound);
    assert!(matches!(
        a.parse(401, b"{}", &s),
        ActionResult::Failed {
            status: Some(401),
            ..
        }
    ));
}

#[test]
fn woocommerce_preset_matches_the_rest_api() {
    let f = preset_flow("woocommerce_order_status", "");
    let a = action(&f, "p");
    let s = slots(&[("order_number", "727"), ("email", "john.doe@example.com")]);
    let r = a.request(&s, &env).unwrap();
    assert_eq!(r.url, "https://shop.example/wp-json/wc/v3/orders/727");
    assert_eq!(r.basic_auth, Some(("ck_1".into(), "cs_2".into())));
    let body = include_bytes!("fixtures/woocommerce_order.json");
    assert_eq!(
        a.parse(200, body, &s),
        ActionResult::Found {
            fields: slots(&[
                ("carrier", "usps"),
                ("currency", "USD"),
                ("fulfillment_status", "processing"),
                ("order_name", "727"),
                ("status", "processing"),
                ("total", "29.35"),
                ("tracking_number", "9400111899223"),
            ])
        }
    );
    let missing = include_bytes!("fixtures/woocommerce_not_found.json");
    assert_eq!(a.parse(404, missing, &s), ActionResult::NotFound);
    assert!(matches!(
        a.parse(500, b"", &s),
        ActionResult::Failed {
            status: Some(500),
            ..
        }
    ));
}

#[test]
fn a_preset_without_its_secret_names_the_variable() {
    let f = preset_flow("shopify_order_status", "");
    let a = action(&f, "p");
    let only_url = |n: &str| (n == "SHOPIFY_SHOP_URL").then(|| "https://x.example".to_string());
    assert_eq!(
        a.request(&slots(&[("order_number", "1")]), &only_url)
            .unwrap_err(),
        BuildError::Env("SHOPIFY_ACCESS_TOKEN".into())
    );
}

// ---------------------------------------------------------------- check

fn problems(text: &str) -> Vec<Diagnostic> {
    parse_with(text, &["en", "es"]).1
}

fn replace(from: &str, to: &str) -> String {
    assert!(FLOW.contains(from), "{from}");
    FLOW.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn check_names_the_line_of_each_mistake() {
    let cases = [
        ("type: email", "type: emial", "unknown slot type `emial`"),
        (
            "url: \"{env.SHOP_API}/orders/{order_number}\"",
            "url: \"ftp://x/{order_number}\"",
            "not an http(s) URL",
        ),
        (
            "Tracking: {tracking_url|not yet}",
            "Tracking: {tracking}",
            "`{tracking}` names no slot or field",
        ),
        (
            "intent: track_order",
            "intent: track_ordr",
            "no such intent",
        ),
        ("timeout_ms: 2000", "timeout_ms: 60000", "out of range"),
        ("Bearer {env.SHOP_TOKEN}", "Bearer abc123", "holds a secret"),
        (
            "Order {order_number} is",
            "Order {env.SHOP_TOKEN} is",
            "only be used in the action",
        ),
        (
            "max_attempts: 2",
            "max_attemps: 2",
            "unknown field `max_attemps`",
        ),
    ];
    for (from, to, expect) in cases {
        let text = replace(from, to);
        let d = problems(&text);
        let hit = d
            .iter()
            .find(|d| d.message.contains(expect))
            .unwrap_or_else(|| panic!("{expect}: {d:#?}"));
        assert!(hit.is_error());
        assert_eq!(hit.line, Some(line_of(&text, to.trim())), "{expect}: {hit}");
    }
}

#[test]
fn check_finds_unknown_presets_and_missing_languages() {
    let text = replace(
        "      method: POST\n      url: \"https://shop.example/returns\"\n      body: {reason: \"{reason}\", quantity: \"{quantity}\", tags: [\"bot\"]}\n      pick: {rma: rma}",
        "      preset: magento_order_status",
    );
    let d = problems(&text);
    assert!(
        d.iter().any(
            |d| d.message.contains("unknown preset `magento_order_status`")
                && d.hint.as_deref().unwrap().contains("shopify_order_status")
        ),
        "{d:#?}"
    );
    // Served in Portuguese too: every text lacks `pt`.
    let (_, d) = parse_with(FLOW, &["en", "es", "pt"]);
    assert!(
        d.iter()
            .any(|d| d.message.contains("`ask` has no text in pt")),
        "{d:#?}"
    );
    assert!(d
        .iter()
        .any(|d| d.message.contains("`answer` has no text in pt")));
}

#[test]
fn a_bad_flow_costs_only_itself() {
    let text = replace("type: number", "type: amount");
    let (f, d) = parse_with(&text, &["en", "es"]);
    assert_eq!(f.len(), 1);
    assert!(f
        .get(&"order_status".to_string().try_into().unwrap())
        .is_some());
    // The unknown type, then the body naming the slot that is gone: all in the bad flow.
    assert!(
        d[0].message.contains("unknown slot type `amount`"),
        "{d:#?}"
    );
    assert!(
        d.iter().all(|d| d.message.contains("return_reason")),
        "{d:#?}"
    );
}

#[test]
fn the_shared_phrases_file_is_complete() {
    // texts() panics on a broken file; every sentence exists in the four languages.
    for key in [
        "cancelled",
        "resume",
        "person",
        "gave_up",
        "not_found",
        "timeout",
        "error",
        "invalid_missing",
        "invalid_email",
        "invalid_range",
        "invalid_date",
        "invalid_choice",
    ] {
        for lang in ["en", "es", "pt", "nl"] {
            let en = machine::say(key, "en");
            let s = machine::say(key, lang);
            assert!(!s.is_empty(), "{key} {lang}");
            if lang != "en" {
                assert_ne!(s, en, "{key} {lang} is not translated");
            }
        }
    }
}
