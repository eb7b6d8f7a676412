//! What a flow turn costs on the lexical path, next to a plain answer: whole turns through
//! `conversation::Core::take_turn` on the demo shop with a `MemoryStore`, as `chat` and the
//! service run them (store read, engine, flow, policy, commit).
//!
//! - plain answer: "How long does shipping to Germany take?" in a conversation;
//! - flow start: "where is my order?" (the engine, then the flow asks for the order number);
//! - flow step: "10423" to that question (the flow asks for the e-mail address);
//! - flow action: "ana@example.com" (the action runs; its result is given at once, so the
//!   action's own network time is excluded) and the answer is rendered.
//!
//! Each timed turn is one message in a conversation prepared beforehand (untimed). The target:
//! a flow turn's median is under 1 ms and no more than a plain answer's.
//!
//! `cargo bench --bench flow`; under `cargo test --benches` each turn runs a few times.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use concierge::config::Settings;
use concierge::conversation::{Core, Message, Recorded, Start};
use concierge::flows::{ActionCall, ActionResult};
use concierge::store::{self, Conversation, ConversationId, Customer, MemoryStore};
use concierge::Engine;

const TARGET_MEDIAN: Duration = Duration::from_millis(1);

fn demo_settings(root: &Path) -> Settings {
    let mut settings =
        Settings::from_file(&root.join("concierge.yaml")).expect("the demo config is valid");
    settings.knowledge_base = root.join("knowledge-base");
    settings.intents = root.join("intents");
    settings.semantic.enabled = false;
    settings
}

fn found(_: &ActionCall) -> ActionResult {
    ActionResult::Found {
        fields: [
            ("status", "shipped"),
            ("carrier", "PostNL"),
            ("customer_email", "ana@example.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

fn no_action(call: &ActionCall) -> ActionResult {
    panic!("no action expected, {} ran", call.flow)
}

struct Shop<'a> {
    core: Core<'a>,
    store: MemoryStore,
}

impl Shop<'_> {
    fn say(&self, conversation: Option<&ConversationId>, text: &str) -> Recorded {
        let start = match conversation {
            Some(c) => Start::Existing(c.clone()),
            None => Start::New(Conversation::new(
                ConversationId::generate(),
                "bench",
                Customer::default(),
                store::now_ms(),
            )),
        };
        let mut action = |c: &ActionCall| {
            if text.contains('@') {
                found(c)
            } else {
                no_action(c)
            }
        };
        self.core
            .take_turn(
                &self.store,
                start,
                &Message::new(black_box(text)),
                || {},
                &mut action,
            )
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }
}

/// A turn to time: the messages that prepare its conversation, then the timed one, and a check
/// that it did what it should (so the bench cannot measure nothing).
struct Case {
    name: &'static str,
    before: &'static [&'static str],
    say: &'static str,
    check: fn(&Recorded) -> bool,
}

const CASES: [Case; 4] = [
    Case {
        name: "plain answer",
        before: &["hello"],
        say: "How long does shipping to Germany take?",
        check: |r| r.turned.flow.is_none() && r.turned.reply.article.is_some(),
    },
    Case {
        name: "flow start (asks order number)",
        before: &["hello"],
        say: "where is my order?",
        check: |r| r.turned.flow.as_ref().and_then(|f| f.asks.as_deref()) == Some("order_number"),
    },
    Case {
        name: "flow step (slot filled, asks email)",
        before: &["where is my order?"],
        say: "10423",
        check: |r| r.turned.flow.as_ref().and_then(|f| f.asks.as_deref()) == Some("email"),
    },
    Case {
        name: "flow action (result given) + answer",
        before: &["where is my order?", "10423"],
        say: "ana@example.com",
        check: |r| r.turned.reply.text.contains("PostNL"),
    },
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let benchmark = has("--bench") && !has("--test") && !has("--list");
    if has("--list") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = demo_settings(root);
    let policy = settings.escalation.policy().expect("the demo policy");
    let (engine, _) = Engine::load(&settings).expect("the demo shop loads");
    let rounds = if benchmark { 3_000 } else { 3 };
    let shop = Shop {
        core: Core::new(&engine, &policy),
        store: MemoryStore::new(rounds * 2 + 16),
    };
    // The same message as a plain answer: the demo shop without its flow file, so "where is
    // my order?" gets the track_order intent's reply. The flow start's extra cost is the
    // difference between the two rows.
    let no_flows = tempfile::tempdir().expect("a temporary folder");
    for entry in std::fs::read_dir(&settings.intents).expect("the demo intents") {
        let p = entry.expect("an entry").path();
        if p.is_file() && p.file_name().is_some_and(|n| n != "order_status.yaml") {
            std::fs::copy(&p, no_flows.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut plain_settings = settings.clone();
    plain_settings.intents = no_flows.path().to_path_buf();
    let (plain_engine, _) = Engine::load(&plain_settings).expect("the demo shop loads");
    assert!(plain_engine.flows().is_empty());
    let plain_shop = Shop {
        core: Core::new(&plain_engine, &policy),
        store: MemoryStore::new(rounds * 2 + 16),
    };
    let same_message = Case {
        name: "plain answer, same message, no flow loaded",
        before: &["hello"],
        say: "where is my order?",
        check: |r| r.turned.flow.is_none() && r.turned.reply.intent.is_some(),
    };
    let mut rows = Vec::new();
    for (shop, case) in
        std::iter::once((&plain_shop, &same_message)).chain(CASES.iter().map(|c| (&shop, c)))
    {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds + rounds / 10 {
            let mut id = None;
            for m in case.before {
                id = Some(shop.say(id.as_ref(), m).conversation);
            }
            let t = Instant::now();
            let r = shop.say(id.as_ref(), case.say);
            let elapsed = t.elapsed();
            assert!((case.check)(&r), "{}: {:?}", case.name, r.turned);
            times.push(elapsed);
        }
        // The first tenth warms caches up.
        let mut times = times.split_off(rounds / 10);
        times.sort_unstable();
        rows.push((case.name, times));
    }
    println!();
    println!("Whole turns through `Core::take_turn` (lexical, MemoryStore, one thread, `cargo bench --bench flow`):");
    println!();
    println!("| turn | turns | median | p90 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, t) in &rows {
        let median = percentile(t, 50.0);
        println!(
            "| {name} | {} | {} {} | {} | {} |",
            t.len(),
            ms(median),
            if median < TARGET_MEDIAN { "✅" } else { "❌" },
            ms(percentile(t, 90.0)),
            ms(percentile(t, 99.0)),
        );
    }
    println!();
    println!(
        "Target: a flow turn's median < {} and no more than a plain answer's.",
        ms(TARGET_MEDIAN)
    );
}
