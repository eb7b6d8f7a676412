//! `concierge eval`: the acceptance gate on the held-out labelled set, and the thresholds
//! failing the run (exit 1) when missed.

use crate::exe::{concierge, demo_shop, path, run, Output};

/// `concierge eval FILE ARGS…` from the repository root (the demo shop and its config).
fn eval(file: &str, args: &[&str]) -> Output {
    let mut cmd = concierge(["eval"]);
    cmd.arg(path(file)).args(args);
    run(&mut cmd, b"")
}

const GATE: [&str; 8] = [
    "--min-top1",
    "en=0.90",
    "--min-top1",
    "0.85",
    "--min-escalation-recall",
    "0.80",
    "--max-false-escalation",
    "0.05",
];

/// The bar the demo shop must clear (issue 2), with the engine as built: hybrid (lexical +
/// the sentence-embedding model) by default. The failure message shows where it stands.
#[test]
#[cfg_attr(
    not(feature = "semantic"),
    ignore = "the lexical engine alone is one English question short: see the_lexical_engine_stays_at_its_level"
)]
fn acceptance_gate() {
    let out = eval("tests/eval/questions.jsonl", &GATE);
    let table: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("lang "))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(!table.is_empty(), "no report table\n{}", out.stdout);
    assert_eq!(
        out.code(),
        Some(0),
        "the acceptance gate is not met\n{}\n{}",
        table.join("\n"),
        out.stderr
    );
}

/// The lexical engine alone (`--lexical-only`, and the `--no-default-features` build) meets
/// every target but English top-1, which is 89.8% (one question short of 90%): it has a
/// floor a little below, so it cannot regress unnoticed.
#[test]
fn the_lexical_engine_stays_at_its_level() {
    let mut args = GATE.to_vec();
    args[1] = "en=0.87";
    args.push("--lexical-only");
    eval("tests/eval/questions.jsonl", &args).assert_code(0);
}

#[test]
fn eval_fails_when_top1_is_below_the_minimum() {
    let out = eval(
        "tests/fixtures/eval/contradictory.jsonl",
        &["--min-top1", "0.9"],
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("FAIL: top-1 accuracy in en is "),
        "{}",
        out.stderr
    );
    let out = eval(
        "tests/fixtures/eval/contradictory.jsonl",
        &["--min-top1", "en=0.9"],
    );
    out.assert_code(1);
}

#[test]
fn eval_fails_when_escalation_misses() {
    // The same question cannot both escalate and be answered.
    let out = eval(
        "tests/fixtures/eval/contradictory.jsonl",
        &[
            "--min-escalation-recall",
            "0.9",
            "--max-false-escalation",
            "0.1",
        ],
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("FAIL: escalation recall")
            || out.stderr.contains("FAIL: false escalation"),
        "{}",
        out.stderr
    );
}

#[test]
fn eval_passes_thresholds_that_are_met() {
    let out = eval(
        "tests/fixtures/eval/contradictory.jsonl",
        &[
            "--min-top1",
            "0.0",
            "--min-top1",
            "es=0.99",
            "--max-false-escalation",
            "1.0",
        ],
    );
    out.assert_code(0);
    assert!(!out.stderr.contains("FAIL"), "{}", out.stderr);

    let out = eval("tests/fixtures/eval/contradictory.jsonl", &["--json"]);
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON report");
    assert_eq!(report["total"]["questions"], 3, "{report}");
    assert_eq!(report["total"]["answerable"], 2, "{report}");
    assert_eq!(report["total"]["must_escalate"], 1, "{report}");
}

/// `--dump` lists each question's ranked candidates with the signals their scores are made
/// of, for diagnosing the ranking (docs/quality.md).
#[test]
fn the_dump_lists_candidates_with_their_signals() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dump = dir.path().join("dump.jsonl");
    let out = eval(
        "tests/fixtures/eval/contradictory.jsonl",
        &[
            "--lexical-only",
            "--dump",
            dump.to_str().expect("a UTF-8 path"),
        ],
    );
    out.assert_code(0);
    let text = std::fs::read_to_string(&dump).expect("the dump was written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    let ranked: Vec<&serde_json::Value> = lines
        .iter()
        .flat_map(|l| l["candidates"].as_array().expect("candidates").iter())
        .collect();
    assert!(!ranked.is_empty(), "no candidates in\n{text}");
    for c in &ranked {
        for key in ["score", "cosine", "coverage", "union", "bm25", "semantic"] {
            assert!(c[key].is_number(), "{key} missing in {c}");
        }
        assert_eq!(c["semantic"], 0.0, "lexical-only: {c}");
    }
    assert!(
        ranked.iter().any(|c| c["coverage"].as_f64() > Some(0.0)),
        "no candidate covers any word:\n{text}"
    );
}

#[test]
fn eval_errors_name_the_file_and_line() {
    let out = eval("tests/fixtures/eval/malformed.jsonl", &[]);
    assert!(!out.status.success() && out.code() != Some(1), "{out:?}");
    let at = format!(
        "{}:2:",
        path("tests/fixtures/eval/malformed.jsonl").display()
    );
    assert!(out.stderr.contains(&at), "{}", out.stderr);

    let out = eval("tests/fixtures/eval/missing.jsonl", &[]);
    assert!(!out.status.success() && out.code() != Some(1), "{out:?}");
    assert!(out.stderr.contains("missing.jsonl"), "{}", out.stderr);

    let out = eval(
        "tests/fixtures/eval/contradictory.jsonl",
        &["--min-top1", "lots"],
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("--min-top1 lots"), "{}", out.stderr);
}

/// `concierge calibrate FILE --shop DIR` fits one calibration over several shops (how the
/// defaults are fitted, bench/fit-defaults.sh): every shop's questions count, the fit is not
/// the one shop's, and a folder that is not a shop is an error naming it.
#[test]
fn calibrate_fits_one_calibration_over_several_shops() {
    let questions = |file: &str| {
        std::fs::read_to_string(path(file))
            .expect("a labelled set")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count()
    };
    let calibrate = |extra: &[&str]| {
        let mut cmd = concierge(["calibrate", "--lexical-only"]);
        cmd.arg(path("tests/eval/tuning.jsonl"))
            .args(demo_shop())
            .args(extra);
        run(&mut cmd, b"")
    };
    let alone = calibrate(&[]);
    alone.assert_code(0);
    let shop = path("tests/devshops/casanova");
    let both = calibrate(&["--shop", shop.to_str().expect("a UTF-8 path")]);
    both.assert_code(0);
    let n = questions("tests/eval/tuning.jsonl");
    let m = n + questions("tests/devshops/casanova/questions.jsonl");
    assert!(
        alone.stdout.contains(&format!(" on {n} questions")),
        "{}",
        alone.stdout
    );
    assert!(
        both.stdout.contains(&format!(" on {m} questions")) && both.stdout.contains("--shop"),
        "{}",
        both.stdout
    );
    let fitted = |out: &str| -> String { out.lines().filter(|l| !l.starts_with('#')).collect() };
    assert_ne!(
        fitted(&alone.stdout),
        fitted(&both.stdout),
        "the second shop changed nothing"
    );

    let out = calibrate(&["--shop", path("tests/fixtures").to_str().expect("UTF-8")]);
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("tests/fixtures is not a shop to fit on")
            && out.stderr.contains("knowledge-base/ and questions.jsonl"),
        "{}",
        out.stderr
    );
}
