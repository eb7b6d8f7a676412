//! The cost of the semantic layer on the demo shop: loading the model, indexing with a cold
//! and a warm vector cache, answering one message (median and tail, split into the embedding
//! and the rest), one message at a time through the embedder thread against rust-bert called
//! directly, many messages at once (the embedder thread's batching), and where rust-bert
//! spends one message's embedding (tokenizer vs forward pass, one vs two libtorch threads).
//! Prints Markdown tables for the README, with the load average: the machine is shared.
//!
//! `cargo bench --bench semantic` (needs the model: scripts/setup-model); under
//! `cargo test --benches` everything runs once on a few questions. Built without the
//! `semantic` feature it says so and measures nothing.
//!
//! Another model, its precision and the languages it serves come from the environment:
//! `CONCIERGE_MODEL=models/multilingual-e5-small CONCIERGE_PRECISION=int8
//! CONCIERGE_LANGUAGES=en,es,pt,nl cargo bench --bench semantic` (the answering table then
//! has a row per served language).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use concierge::config::Settings;
use concierge::eval::read_labelled;
use concierge::locale::Locale;
use concierge::nlu::embed::{self, Embedder, Layout, Options, Precision};
use concierge::{Engine, Question};

/// Timed asks per thread setting, at least.
const MIN_ASKS: usize = 1_500;
/// Targets of issue 3 on the 2-core machine.
const TARGET_MEDIAN: Duration = Duration::from_millis(10);
const TARGET_P99: Duration = Duration::from_millis(25);

fn demo_settings(root: &Path, cache: &Path, threads: usize) -> Settings {
    let mut settings =
        Settings::from_file(&root.join("concierge.yaml")).expect("the demo shop's config");
    settings.knowledge_base = root.join("knowledge-base");
    settings.intents = root.join("intents");
    settings.semantic.enabled = true;
    settings.semantic.model = Some(model_dir(root));
    settings.semantic.cache = Some(cache.to_path_buf());
    settings.semantic.threads = threads;
    // The bench compares thread counts: no switching to fewer when the machine is busy.
    settings.semantic.busy_threads = threads;
    settings.semantic.precision = precision();
    if let Some(languages) = languages() {
        settings.semantic.languages = languages;
    }
    settings
}

/// `$CONCIERGE_PRECISION` (`f32` or `int8`, read as the config's `semantic.precision`), else
/// f32.
fn precision() -> Precision {
    std::env::var("CONCIERGE_PRECISION").map_or(Precision::F32, |v| {
        serde_yaml::from_str(&v).unwrap_or_else(|e| panic!("CONCIERGE_PRECISION={v}: {e}"))
    })
}

/// `$CONCIERGE_LANGUAGES` (comma-separated), else the demo config's.
fn languages() -> Option<Vec<Locale>> {
    let list = std::env::var("CONCIERGE_LANGUAGES").ok()?;
    Some(
        list.split(',')
            .map(|l| {
                l.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("CONCIERGE_LANGUAGES: {e}"))
            })
            .collect(),
    )
}

/// The embedder as the bench's settings run it, with `threads`.
fn options(threads: usize) -> Options {
    Options::new(threads).with_precision(precision())
}

fn model_dir(root: &Path) -> PathBuf {
    std::env::var_os("CONCIERGE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("models/all-MiniLM-L6-v2"))
}

/// Loads the demo shop and checks it is whole and, when asked for, semantic.
fn load(settings: &Settings) -> Engine {
    let (engine, diagnostics) = Engine::load(settings).unwrap_or_else(|e| {
        panic!("the demo shop loads with the model ({e})\n  hint: scripts/setup-model")
    });
    assert!(
        diagnostics.iter().all(|d| !d.is_error()),
        "the demo shop has errors"
    );
    assert_eq!(engine.is_semantic(), settings.semantic.enabled);
    engine
}

/// CPU time this process has used (user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    // Linux reports clock ticks of 1/100 s (USER_HZ) here.
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The embedder thread, one message at a time and back to back (nothing else between two
/// embeddings): the caller's times, the model's part of each (on the embedder thread), and
/// the difference (queue and hand-off), each sorted.
fn one_by_one(embedder: &Embedder, questions: &[String], rounds: usize) -> [Vec<Duration>; 3] {
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..=rounds {
        for q in questions {
            let t = Instant::now();
            let (v, model) = embedder
                .submit(vec![q.clone()])
                .and_then(|p| p.wait_timed())
                .expect("embedded");
            let total = t.elapsed();
            if round > 0 {
                times[0].push(total);
                times[1].push(model);
                times[2].push(total.saturating_sub(model));
            }
            assert_eq!(v[0].len(), embedder.dim());
        }
    }
    for t in &mut times {
        t.sort_unstable();
    }
    times
}

/// `callers` threads embed their share of `questions` one message at a time, all at once,
/// `rounds` times: messages per second, CPU per message and each message's latency (sorted).
/// Every vector is checked against the one embedded alone (`alone`, same order).
fn concurrent(
    embedder: &Embedder,
    questions: &[String],
    alone: &[Vec<f32>],
    callers: usize,
    rounds: usize,
) -> (f64, Duration, Vec<Duration>) {
    let cpu = cpu_time();
    let start = Instant::now();
    let mut times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..callers)
            .map(|c| {
                s.spawn(move || {
                    let mut times = Vec::new();
                    for _ in 0..rounds {
                        for (i, q) in questions.iter().enumerate().skip(c).step_by(callers) {
                            let t = Instant::now();
                            let v = embedder.embed_one(q).expect("embedded");
                            times.push(t.elapsed());
                            let cos = embed::dot(&v, &alone[i]);
                            assert!(cos >= 0.9999, "{q:?}: cosine {cos} with its vector alone");
                        }
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a caller panicked"))
            .collect()
    });
    let wall = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    times.sort_unstable();
    let n = times.len();
    (n as f64 / wall.as_secs_f64(), cpu / n as u32, times)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    percentile(&v, 50.0)
}

/// Times `f` `runs` times; the median.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

struct Latency {
    ask: Vec<Duration>,
    embed: Vec<Duration>,
    rest: Vec<Duration>,
}

/// Every question asked `rounds` times, one at a time: the whole ask, and separately the
/// message's embedding (`embed_question`: none for a language the model does not cover) and
/// everything else given the embedding.
fn latency(engine: &Engine, questions: &[String], rounds: usize) -> Latency {
    let mut l = Latency {
        ask: Vec::new(),
        embed: Vec::new(),
        rest: Vec::new(),
    };
    for q in questions {
        engine.ask(&Question::new(q)); // warm-up
    }
    for _ in 0..rounds {
        for q in questions {
            let question = Question::new(q);
            let t = Instant::now();
            let reply = engine.ask(&question);
            l.ask.push(t.elapsed());
            assert!(!reply.text.is_empty(), "an empty reply to {q:?}");

            let t = Instant::now();
            let e = engine.embed_question(&question);
            l.embed.push(t.elapsed());
            let t = Instant::now();
            let again = engine.ask_embedded(&question, e.as_deref());
            l.rest.push(t.elapsed());
            assert_eq!(again.outcome, reply.outcome, "{q:?}");
        }
    }
    for v in [&mut l.ask, &mut l.embed, &mut l.rest] {
        v.sort_unstable();
    }
    l
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        println!("semantic: benchmark");
        return;
    }
    let benchmark = has("--bench") && !has("--test");
    if !cfg!(feature = "semantic") {
        println!("semantic: built without the `semantic` feature; nothing to measure");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let labelled =
        read_labelled(&root.join("tests/eval/questions.jsonl")).expect("the labelled set reads");
    let mut questions: Vec<String> = labelled.iter().map(|l| l.q.clone()).collect();
    // Per language the model serves (the default model: English), its questions, which are
    // all embedded.
    let served = languages().unwrap_or_else(|| vec![Locale::english()]);
    let mut by_language: Vec<(String, Vec<String>)> = served
        .iter()
        .map(|lang| {
            let set = labelled
                .iter()
                .filter(|l| l.lang.as_deref() == Some(lang.as_str()))
                .map(|l| l.q.clone())
                .collect();
            (format!("{} only", lang.as_str()), set)
        })
        .collect();
    if !benchmark {
        questions.truncate(5);
        for (_, set) in &mut by_language {
            set.truncate(5);
        }
    }
    let runs = if benchmark { 3 } else { 1 };

    // Model load: checking the manifest (SHA-256 of 87 MB) and rust-bert reading the weights.
    let model = model_dir(root);
    let model_load = timed(runs, || {
        Embedder::load_with(&model, options(1))
            .unwrap_or_else(|e| panic!("{e}"))
            .dim()
    });

    // Indexing: the lexical engine alone; hybrid with an empty vector cache (every text
    // embedded); hybrid with the cache the previous load left (nothing embedded).
    let lexical_load = timed(runs, || {
        let mut s = demo_settings(root, Path::new("/nonexistent"), 1);
        s.semantic.enabled = false;
        load(&s)
    });
    let cold = timed(runs, || {
        let dir = tempfile::tempdir().unwrap();
        load(&demo_settings(root, dir.path(), 1))
    });
    let cache = tempfile::tempdir().unwrap();
    let texts = {
        let e = load(&demo_settings(root, cache.path(), 1));
        e.knowledge_base()
            .articles()
            .iter()
            .map(|a| 1 + a.questions.len() + a.sections.len())
            .sum::<usize>()
            + e.intents()
                .iter()
                .flat_map(|i| i.examples.values())
                .map(Vec::len)
                .sum::<usize>()
    };
    let warm = timed(runs, || load(&demo_settings(root, cache.path(), 1)));

    println!();
    println!(
        "Loading (demo shop, {texts} embedded texts, median of {runs}, `cargo bench --bench semantic`):"
    );
    println!();
    println!("| step | time |");
    println!("|---|---:|");
    println!(
        "| model load (manifest check + rust-bert) | {} |",
        ms(model_load)
    );
    println!(
        "| index the demo shop, lexical engine | {} |",
        ms(lexical_load)
    );
    println!(
        "| index the demo shop, hybrid, cold vector cache | {} |",
        ms(cold)
    );
    println!(
        "| index the demo shop, hybrid, warm vector cache | {} |",
        ms(warm)
    );

    // Answering, with one and with two libtorch threads.
    println!();
    println!(
        "Answering with the semantic layer (the {} questions of tests/eval/questions.jsonl, and those in each language the model serves, {}; precision {:?}; each set asked until at least {} asks, one at a time; load average {}):",
        questions.len(),
        by_language
            .iter()
            .map(|(which, set)| format!("{which}: {}", set.len()))
            .collect::<Vec<_>>()
            .join(", "),
        precision(),
        MIN_ASKS,
        load_average()
    );
    println!();
    println!("| `semantic.threads` | questions | asks | ask median | ask p90 | ask p99 | embedding median | embedding p99 | rest median | rest p99 |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let verdict = |d: Duration, target: Duration| if d < target { "✅" } else { "❌" };
    let all = ("all".to_string(), questions.clone());
    for threads in [1, 2] {
        let engine = load(&demo_settings(root, cache.path(), threads));
        for (which, set) in std::iter::once(&all).chain(&by_language) {
            let rounds = if benchmark {
                MIN_ASKS.div_ceil(set.len())
            } else {
                1
            };
            let l = latency(&engine, set, rounds);
            println!(
                "| {threads} | {which} | {} | {} {} | {} | {} {} | {} | {} | {} | {} |",
                l.ask.len(),
                ms(percentile(&l.ask, 50.0)),
                verdict(percentile(&l.ask, 50.0), TARGET_MEDIAN),
                ms(percentile(&l.ask, 90.0)),
                ms(percentile(&l.ask, 99.0)),
                verdict(percentile(&l.ask, 99.0), TARGET_P99),
                ms(percentile(&l.embed, 50.0)),
                ms(percentile(&l.embed, 99.0)),
                ms(percentile(&l.rest, 50.0)),
                ms(percentile(&l.rest, 99.0)),
            );
        }
    }
    println!();
    println!(
        "Targets: median < {}, p99 < {}.",
        ms(TARGET_MEDIAN),
        ms(TARGET_P99)
    );

    // The embedder thread alone, one message at a time: compared with rust-bert called
    // directly (the last table), what the hand-off to the thread costs.
    println!();
    println!(
        "The embedder thread, one message at a time, back to back (load average {}):",
        load_average()
    );
    println!();
    println!("| libtorch threads | messages | median | p99 | in the model (embedder thread): median | p99 | queue and hand-off: median | p99 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for threads in [1, 2] {
        let embedder =
            Embedder::load_with(&model, options(threads)).unwrap_or_else(|e| panic!("{e}"));
        let [t, model, handoff] = one_by_one(&embedder, &questions, runs);
        println!(
            "| {threads} | {} | {} | {} | {} | {} | {} | {} |",
            t.len(),
            ms(percentile(&t, 50.0)),
            ms(percentile(&t, 99.0)),
            ms(percentile(&model, 50.0)),
            ms(percentile(&model, 99.0)),
            ms(percentile(&handoff, 50.0)),
            ms(percentile(&handoff, 99.0)),
        );
    }

    // Many messages at once: 8 callers (as `bench/load.sh 10 8` has 8 connections), each
    // waiting for its message's vector before sending the next.
    let callers = 8;
    println!();
    println!(
        "Concurrent messages: {callers} callers, each one message at a time (load average {}):",
        load_average()
    );
    println!();
    println!("| libtorch threads | batch (texts per forward pass, at most) | messages | messages/s | CPU per message | latency median | latency p99 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let alone = Embedder::load_with(&model, options(1))
        .and_then(|e| {
            questions
                .iter()
                .map(|q| e.embed_one(q))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    for threads in [1, 2] {
        for batch in [1, embed::MESSAGE_BATCH] {
            let embedder = Embedder::load_with(&model, options(threads).with_batch(batch))
                .unwrap_or_else(|e| panic!("{e}"));
            let (rate, cpu, t) = concurrent(&embedder, &questions, &alone, callers, runs);
            println!(
                "| {threads} | {batch} | {} | {rate:.0} | {} | {} | {} |",
                t.len(),
                ms(cpu),
                ms(percentile(&t, 50.0)),
                ms(percentile(&t, 99.0)),
            );
        }
    }

    // Inside rust-bert: the tokenizer vs the rest of encode (forward pass, pooling), per
    // message, batch of one.
    println!();
    println!(
        "Inside one message's embedding (rust-bert called directly on a thread of its own, batch of one, no padding; load average {}):",
        load_average()
    );
    println!();
    println!("| libtorch threads | linear weights | texts | word pieces (median, max) | tokenize median | encode median | encode p99 | forward + pooling median | encode median, ≤ 16 word pieces | encode median, > 32 word pieces |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // Both layouts twice, alternating, so that a change in the machine's load shows as a
    // difference between a layout's two rows rather than between the layouts.
    let layouts = [
        Layout::AsStored,
        Layout::Transposed,
        Layout::Int8,
        Layout::Int8,
        Layout::Transposed,
        Layout::AsStored,
    ];
    for (threads, layout) in [1, 2]
        .into_iter()
        .flat_map(|t| layouts.into_iter().map(move |l| (t, l)))
    {
        let p = embed::profile(
            &model,
            threads,
            layout,
            &questions,
            if benchmark { 2 } else { 1 },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut tokens = p.tokens.clone();
        tokens.sort_unstable();
        let mut encode = p.encode.clone();
        encode.sort_unstable();
        let forward: Vec<Duration> = p
            .encode
            .iter()
            .zip(&p.tokenize)
            .map(|(e, t)| e.saturating_sub(*t))
            .collect();
        // Does the cost grow with the message's length?
        let by_length = |keep: &dyn Fn(usize) -> bool| {
            let v: Vec<Duration> = p
                .encode
                .iter()
                .zip(&p.tokens)
                .filter(|(_, &n)| keep(n))
                .map(|(d, _)| *d)
                .collect();
            let n = v.len();
            if n == 0 {
                "–".to_string()
            } else {
                format!("{} ({n})", ms(median(v)))
            }
        };
        let layout = match layout {
            Layout::AsStored => "as stored `[out, in]`",
            Layout::Transposed => "transposed in memory (the embedder's in f32)",
            Layout::Int8 => "int8 (`semantic.precision: int8`)",
        };
        println!(
            "| {threads} | {layout} | {} | {}, {} | {} | {} | {} | {} | {} | {} |",
            p.encode.len(),
            tokens[tokens.len() / 2],
            tokens.last().unwrap(),
            ms(median(p.tokenize.clone())),
            ms(percentile(&encode, 50.0)),
            ms(percentile(&encode, 99.0)),
            ms(median(forward)),
            by_length(&|n| n <= 16),
            by_length(&|n| n > 32),
        );
    }
}
