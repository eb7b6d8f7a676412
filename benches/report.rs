//! Time of `concierge report` on a year of history: 250,000 generated conversations of four
//! messages (1,000,000 stored messages, 50,000 tickets, 75,000 feedback rows) spread over 365
//! days, written once into a fresh SQLite store, then the report by day, week, language and
//! channel over the whole year, each timed three times (median). The target: under
//! 2 s. Prints a Markdown table.
//!
//! `cargo bench --bench report`; under `cargo test --benches` 10,000 conversations are
//! reported once, as a check that the bench runs.

use std::time::{Duration, Instant};

use concierge::store::report::synthetic::{generate, History};
use concierge::store::{GroupBy, ReportQuery, Reports, SqliteStore};

const CONVERSATIONS: usize = 250_000;
const MESSAGES: usize = 4;
const RUNS: usize = 3;
const TARGET: Duration = Duration::from_secs(2);
/// 2026-01-01T00:00:00Z.
const START_MS: u64 = 1_767_225_600_000;
const YEAR_MS: u64 = 365 * 86_400_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        println!("report/year: benchmark");
        return;
    }
    let benchmark = has("--bench") && !has("--test");
    let (conversations, runs) = if benchmark {
        (CONVERSATIONS, RUNS)
    } else {
        (10_000, 1)
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = SqliteStore::open_dir(dir.path()).expect("a new store");
    let started = Instant::now();
    generate(
        &store,
        &History {
            conversations,
            messages_per_conversation: MESSAGES,
            start_ms: START_MS,
            step_ms: YEAR_MS / conversations as u64,
        },
    )
    .expect("generating the history");
    let generated = started.elapsed();
    let query = |by| ReportQuery {
        since_ms: START_MS,
        until_ms: START_MS + YEAR_MS,
        by,
    };
    if benchmark {
        println!();
        println!(
            "`concierge report` over a year ({conversations} conversations, {} messages; generated in {:.1} s; median of {runs} runs, `cargo bench --bench report`):",
            conversations * MESSAGES,
            generated.as_secs_f64()
        );
        println!();
        println!("| --by | rows | report (median) | fastest | slowest | target |");
        println!("|---|---:|---:|---:|---:|---:|");
    }
    for (name, by) in [
        ("day", GroupBy::Day),
        ("week", GroupBy::Week),
        ("language", GroupBy::Language),
        ("channel", GroupBy::Channel),
    ] {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let report = store.report(&query(by)).expect("the report");
            times.push(t.elapsed());
            // The bench must not measure nothing: every conversation is counted.
            assert_eq!(report.total.conversations, conversations as u64);
            assert_eq!(report.total.messages, (conversations * MESSAGES) as u64);
            rows = report.rows.len();
        }
        times.sort();
        let median = times[times.len() / 2];
        if benchmark {
            println!(
                "| {name} | {rows} | {:.3} s | {:.3} s | {:.3} s | {} |",
                median.as_secs_f64(),
                times[0].as_secs_f64(),
                times[times.len() - 1].as_secs_f64(),
                if median < TARGET {
                    "< 2 s ✓"
                } else {
                    "missed"
                }
            );
        } else {
            println!(
                "report --by {name}: {conversations} conversations in {:.3} s (a check; `cargo bench --bench report` measures)",
                median.as_secs_f64()
            );
        }
    }
}
