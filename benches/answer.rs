//! Time to answer one message on the demo shop with the lexical engine: every question of
//! `tests/eval/questions.jsonl` asked again and again through `Engine::ask`, as the HTTP
//! service would. `benches/semantic.rs` measures the hybrid engine.
//!
//! criterion measures the mean cost of a question (cycling through the set); a plain loop then
//! times at least 5,000 asks one by one for the median and the tail, which criterion's
//! per-batch samples cannot show. The last thing printed is a Markdown table for the README.
//!
//! `cargo bench --bench answer`; under `cargo test --benches` every question is asked once.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use concierge::config::Settings;
use concierge::eval::read_labelled;
use concierge::{Engine, Question};
use criterion::Criterion;

/// At least this many timed asks for the percentiles.
const MIN_ASKS: usize = 5_000;
/// What an answer may cost.
const TARGET_MEDIAN: Duration = Duration::from_millis(1);
const TARGET_P99: Duration = Duration::from_millis(5);

/// The demo shop as shipped: its `concierge.yaml` when there is one, else the defaults.
fn demo_settings(root: &Path) -> Settings {
    let config = root.join("concierge.yaml");
    let mut settings = if config.is_file() {
        Settings::from_file(&config).expect("the demo shop's concierge.yaml is valid")
    } else {
        Settings::default()
    };
    settings.knowledge_base = root.join("knowledge-base");
    settings.intents = root.join("intents");
    // The lexical engine, whatever the build: benches/semantic.rs measures the hybrid one.
    settings.semantic.enabled = false;
    settings
}

/// Asks one question and checks that the shopper is told something, so that the work cannot
/// be optimised away or silently turn into nothing.
fn ask(engine: &Engine, q: &str) -> usize {
    let reply = engine.ask(&Question::new(black_box(q)));
    assert!(!reply.text.is_empty(), "an empty reply to {q:?}");
    black_box(reply).text.len()
}

/// The `p`-th percentile (0..=100) of sorted durations, nearest rank.
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
    // Like criterion: benchmark under `cargo bench`, a quick check under `cargo test --benches`.
    let benchmark = has("--bench") && !has("--test") && !has("--list");

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = demo_settings(root);
    let (engine, diagnostics) = Engine::load(&settings).expect("the demo shop loads");
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "the demo shop has errors: {errors:?}");
    let questions: Vec<String> = read_labelled(&root.join("tests/eval/questions.jsonl"))
        .expect("the labelled set reads")
        .into_iter()
        .map(|l| l.q)
        .collect();
    assert!(!questions.is_empty());

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("ask/eval question", |b| {
        let mut next = 0;
        b.iter(|| {
            let q = &questions[next % questions.len()];
            next += 1;
            ask(&engine, q)
        })
    });
    criterion.final_summary();
    if !benchmark {
        for q in &questions {
            ask(&engine, q);
        }
        return;
    }

    // Warm up (caches, lazily built tables), then time every ask on its own.
    for q in &questions {
        ask(&engine, q);
    }
    let rounds = MIN_ASKS.div_ceil(questions.len());
    let mut all = Vec::with_capacity(rounds * questions.len());
    let mut per_question = vec![Vec::with_capacity(rounds); questions.len()];
    let started = Instant::now();
    for _ in 0..rounds {
        for (i, q) in questions.iter().enumerate() {
            let t = Instant::now();
            ask(&engine, q);
            let elapsed = t.elapsed();
            all.push(elapsed);
            per_question[i].push(elapsed);
        }
    }
    let wall = started.elapsed();
    all.sort_unstable();
    let median = percentile(&all, 50.0);
    let p99 = percentile(&all, 99.0);
    let verdict = |d: Duration, target: Duration| if d < target { "✅" } else { "❌" };

    // The questions that cost the most, by their own median: where to look first.
    let mut slowest: Vec<(Duration, &str)> = per_question
        .iter_mut()
        .zip(&questions)
        .map(|(t, q)| {
            t.sort_unstable();
            (percentile(t, 50.0), q.as_str())
        })
        .collect();
    slowest.sort_unstable_by_key(|&(d, _)| std::cmp::Reverse(d));

    println!();
    println!(
        "Answering ({} questions of tests/eval/questions.jsonl, {} rounds, {} asks, one thread, `cargo bench --bench answer`):",
        questions.len(),
        rounds,
        all.len()
    );
    println!();
    println!("| asks | median | p90 | p99 | max | mean | asks/s |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} {} | {} | {} {} | {} | {} | {:.0} |",
        all.len(),
        ms(median),
        verdict(median, TARGET_MEDIAN),
        ms(percentile(&all, 90.0)),
        ms(p99),
        verdict(p99, TARGET_P99),
        ms(*all.last().unwrap()),
        ms(wall / all.len() as u32),
        all.len() as f64 / wall.as_secs_f64()
    );
    println!();
    println!(
        "Targets: median < {}, p99 < {}. Slowest questions (their median): {}",
        ms(TARGET_MEDIAN),
        ms(TARGET_P99),
        slowest
            .iter()
            .take(3)
            .map(|(d, q)| format!("{q:?} {}", ms(*d)))
            .collect::<Vec<_>>()
            .join("; ")
    );
}
