//! The command line as users and scripts meet it: `ask` and `search` print one JSON object per
//! line, `ask` streams standard input, every subcommand has `--help`, mistakes go to standard
//! error naming the file, and no input makes the binary panic.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::exe::{concierge, demo_shop, path, run, wait, DEADLINE};

/// Checks one `ask --json` line against the documented shape.
#[track_caller]
fn assert_reply(v: &Value) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let outcome = o["outcome"]
        .as_str()
        .unwrap_or_else(|| panic!("outcome: {v}"));
    assert!(
        matches!(outcome, "answer" | "clarify" | "escalate"),
        "outcome {outcome:?}: {v}"
    );
    let language = o["language"]
        .as_str()
        .unwrap_or_else(|| panic!("language: {v}"));
    assert!(
        (2..=3).contains(&language.len()) && language.chars().all(|c| c.is_ascii_lowercase()),
        "language {language:?} is not an ISO 639-1 code: {v}"
    );
    for key in ["intent", "article"] {
        assert!(
            o.get(key).is_some_and(|x| x.is_null() || x.is_string()),
            "{key} must be present, a string or null: {v}"
        );
    }
    let confidence = o["confidence"]
        .as_f64()
        .unwrap_or_else(|| panic!("confidence: {v}"));
    assert!(
        (0.0..=1.0).contains(&confidence),
        "confidence {confidence}: {v}"
    );
    let text = o["text"].as_str().unwrap_or_else(|| panic!("text: {v}"));
    assert!(
        !text.trim().is_empty(),
        "the shopper is always told something: {v}"
    );
    let suggestions = o["suggestions"]
        .as_array()
        .unwrap_or_else(|| panic!("suggestions: {v}"));
    for s in suggestions {
        assert!(
            s["article"].is_string() || s["article"].is_null(),
            "suggestion article: {v}"
        );
        assert!(
            s["title"].as_str().is_some_and(|t| !t.is_empty()),
            "suggestion title: {v}"
        );
        let score = s["score"]
            .as_f64()
            .unwrap_or_else(|| panic!("suggestion score: {v}"));
        assert!(
            (0.0..=1.0).contains(&score),
            "suggestion score {score}: {v}"
        );
    }
}

/// Checks one `search --json` line against the documented shape.
#[track_caller]
fn assert_hit(v: &Value) {
    assert!(
        v["article"].as_str().is_some_and(|a| !a.is_empty()),
        "article: {v}"
    );
    assert!(
        v["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title: {v}"
    );
    let score = v["score"].as_f64().unwrap_or_else(|| panic!("score: {v}"));
    assert!(score.is_finite() && score <= 1.0, "score {score}: {v}");
    assert!(v["snippet"].is_string(), "snippet: {v}");
}

/// `concierge ask --json` on the demo shop with `stdin`; returns the replies after checking
/// their shape, the exit code and that there is one reply per input line.
#[track_caller]
fn ask_stdin(stdin: &[u8]) -> Vec<Value> {
    let mut cmd = concierge(["ask", "--json"]);
    cmd.args(demo_shop());
    let out = run(&mut cmd, stdin);
    out.assert_code(0);
    let replies = out.json_lines();
    let lines = stdin.split(|&b| b == b'\n').count()
        - usize::from(stdin.is_empty() || stdin.ends_with(b"\n"));
    assert_eq!(replies.len(), lines, "one reply per line\n{}", out.stdout);
    replies.iter().for_each(assert_reply);
    replies
}

/// `concierge ask --json QUESTION` on the demo shop; returns the one reply.
#[track_caller]
fn ask_arg(question: &str) -> Value {
    let mut cmd = concierge(["ask", "--json"]);
    cmd.args(demo_shop()).arg(question);
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let replies = out.json_lines();
    assert_eq!(replies.len(), 1, "{}", out.stdout);
    assert_reply(&replies[0]);
    replies.into_iter().next().unwrap()
}

#[test]
fn ask_json_prints_one_reply_line() {
    let v = ask_arg("where is my parcel");
    assert_eq!(v["outcome"], "answer", "{v}");
    assert_eq!(v["language"], "en", "{v}");
    assert_eq!(v["article"], "en/orders/tracking", "{v}");
}

#[test]
fn ask_json_joins_words_into_one_question() {
    let mut cmd = concierge(["ask", "--json"]);
    cmd.args(demo_shop()).args(["where", "is", "my", "parcel"]);
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    assert_eq!(out.json_lines().len(), 1);
}

#[test]
fn ask_reads_one_question_per_stdin_line() {
    let replies = ask_stdin("hi\nwhere is my parcel\n¿dónde está mi pedido?\n".as_bytes());
    assert_eq!(replies[2]["language"], "es", "{}", replies[2]);
    // Windows line endings and a missing final newline are still three questions.
    ask_stdin(b"hi\r\nwhere is my parcel\r\ncan I return my boots");
}

#[test]
fn ask_answers_each_line_before_stdin_closes() {
    // The first reply waits for the shop to load (the first start embeds its texts): a
    // generous deadline, not a speed target.
    const REPLY_WITHIN: Duration = DEADLINE;
    let mut child = concierge(["ask", "--json"])
        .args(demo_shop())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("stdout is UTF-8")).is_err() {
                break;
            }
        }
    });
    for q in [
        "where is my parcel",
        "can I return my boots?",
        "¿cuánto cuesta el envío?",
    ] {
        writeln!(stdin, "{q}").unwrap();
        stdin.flush().unwrap();
        // Stdin is still open: the reply must come now, not at end of input.
        let line = rx.recv_timeout(REPLY_WITHIN).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no reply to {q:?} within {REPLY_WITHIN:?} while stdin stays open")
        });
        let v: Value = serde_json::from_str(&line).expect("a JSON line");
        assert_reply(&v);
    }
    drop(stdin);
    let status = wait(&mut child, DEADLINE);
    assert!(status.success(), "{status}");
    reader.join().unwrap();
    assert!(rx.try_recv().is_err(), "nothing after the three replies");
}

#[test]
fn search_json_lines_have_article_title_score_snippet() {
    let mut cmd = concierge(["search", "--json"]);
    cmd.args(demo_shop()).arg("return boots");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let hits = out.json_lines();
    assert!(!hits.is_empty(), "the demo shop has return articles");
    assert!(hits.len() <= 10, "the default limit is 10");
    hits.iter().for_each(assert_hit);
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );

    let mut cmd = concierge(["search", "--json", "--limit", "2", "--locale", "es"]);
    cmd.args(demo_shop()).arg("devolver");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let hits = out.json_lines();
    assert!(hits.len() <= 2, "{}", out.stdout);
    for h in &hits {
        assert_hit(h);
        assert!(h["article"].as_str().unwrap().starts_with("es/"), "{h}");
    }
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        None,
        Some("ask"),
        Some("search"),
        Some("check"),
        Some("eval"),
        Some("calibrate"),
        Some("chat"),
        Some("test"),
    ] {
        let mut cmd = concierge(sub);
        cmd.arg("--help");
        let out = run(&mut cmd, b"");
        out.assert_code(0);
        assert!(out.stdout.contains("Usage:"), "{sub:?}: {}", out.stdout);
        if let Some(sub) = sub {
            assert!(
                out.stdout.contains(&format!("concierge {sub}")),
                "{}",
                out.stdout
            );
        }
    }
}

#[test]
fn missing_kb_folder_is_an_error_naming_it() {
    let missing = path("tests/fixtures/no-such-folder");
    for sub in ["ask", "search", "check"] {
        let mut cmd = concierge([sub]);
        cmd.arg("--kb")
            .arg(&missing)
            .arg("--intents")
            .arg(path("intents"));
        if sub != "check" {
            cmd.arg("hello");
        }
        let out = run(&mut cmd, b"");
        assert_ne!(out.code(), Some(0), "{sub}: {out:?}");
        assert!(
            out.stdout.is_empty(),
            "{sub}: errors go to stderr: {}",
            out.stdout
        );
        assert!(
            out.stderr.contains(&missing.display().to_string()),
            "{sub}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("hint:"), "{sub}: {}", out.stderr);
    }
}

#[test]
fn config_typo_is_an_error_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("concierge.yaml");
    std::fs::write(&config, "shop:\n  name: Test\nthreshold:\n  answer: 0.5\n").unwrap();
    let mut cmd = concierge(["ask", "--json", "--config"]);
    cmd.arg(&config).args(demo_shop()).arg("hello");
    let out = run(&mut cmd, b"");
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!("{}:3:", config.display())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`threshold`"), "{}", out.stderr);

    // The same through the environment variable, and for a file that is not there.
    let missing = dir.path().join("missing.yaml");
    let mut cmd = concierge(["check"]);
    cmd.args(demo_shop()).env("CONCIERGE_CONFIG", &missing);
    let out = run(&mut cmd, b"");
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "{}",
        out.stderr
    );
}

#[test]
fn empty_questions_get_a_reply() {
    let v = ask_arg("");
    assert_eq!(v["outcome"], "clarify", "{v}");
    ask_arg("   \t ");
    ask_stdin(b"\n\n \n");
    // No input at all: no replies, and a clean exit.
    assert!(ask_stdin(b"").is_empty());
}

#[test]
fn a_one_megabyte_line_gets_one_reply() {
    let line = "where is my parcel and can I return it ".repeat((1 << 20) / 39 + 1);
    assert!(line.len() >= 1 << 20);
    let replies = ask_stdin(format!("{line}\nhi\n").as_bytes());
    assert_eq!(replies.len(), 2);
    // Nor is a megabyte without a single space any trouble.
    ask_stdin(&vec![b'x'; 1 << 20]);
}

#[test]
fn binary_garbage_on_stdin_gets_json_replies() {
    // Deterministic noise: every byte value but the newline, so invalid UTF-8, NUL bytes and
    // control characters all occur; three lines of it.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut garbage = Vec::new();
    for line in 0..3 {
        for _ in 0..4096 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = (state >> 56) as u8;
            garbage.push(if b == b'\n' { 0xff } else { b });
        }
        if line < 2 {
            garbage.push(b'\n');
        }
    }
    assert!(std::str::from_utf8(&garbage).is_err());
    ask_stdin(&garbage);
    // Lone continuation bytes, an overlong encoding, a surrogate, and a truncated sequence.
    ask_stdin(b"\x80\x80\n\xc0\xaf\n\xed\xa0\x80\nwhere is my \xe2\x82\n");
}

#[test]
fn invalid_utf8_arguments_never_panic() {
    // Standard input is read lossily (above); an argument that is not UTF-8 gets either the
    // same treatment, a reply, or a clear usage error from the argument parser. Never a panic.
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"where is my \xff\xfe parcel");
    for sub in ["ask", "search"] {
        let mut cmd = concierge([sub, "--json"]);
        cmd.args(demo_shop()).arg(bad);
        let out = run(&mut cmd, b"");
        match out.code() {
            Some(0) if sub == "ask" => assert_reply(&out.json_lines()[0]),
            Some(0) => out.json_lines().iter().for_each(assert_hit),
            _ => {
                assert_eq!(out.code(), Some(2), "{out:?}");
                assert!(out.stderr.contains("UTF-8"), "{}", out.stderr);
            }
        }
    }
}

#[test]
fn emoji_and_right_to_left_scripts_get_a_reply() {
    for q in [
        "😀",
        "📦❓",
        "where is my 📦??",
        "👨‍👩‍👧‍👦🏳️‍🌈",
        "أين طلبي؟",
        "أريد إرجاع الحذاء",
        "איפה ההזמנה שלי",
        "אני רוצה להחזיר את המעיל",
        "\u{200f}where is my parcel\u{200e}",
        "e\u{301}\u{301}\u{301}\u{301}\u{301}",
        "\u{feff}\u{7}\u{1b}[31m",
    ] {
        ask_arg(q);
    }
    ask_stdin("😀\nأين طلبي؟\nאיפה ההזמנה שלי\n\0\u{feff}\0\n".as_bytes());
    let mut cmd = concierge(["search", "--json"]);
    cmd.args(demo_shop()).arg("أين طلبي؟ 📦");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    out.json_lines().iter().for_each(assert_hit);
}

#[test]
fn a_knowledge_base_without_articles_still_replies() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    let intents = dir.path().join("intents");
    std::fs::create_dir_all(&kb).unwrap();
    std::fs::create_dir_all(&intents).unwrap();
    // Something that is not an article does not count as one.
    std::fs::write(kb.join("README.txt"), "not an article").unwrap();
    let sources = [
        "--kb".as_ref(),
        kb.as_os_str(),
        "--intents".as_ref(),
        intents.as_os_str(),
    ];

    let mut cmd = concierge(["ask", "--json"]);
    cmd.args(sources);
    let out = run(&mut cmd, b"hi\nwhere is my parcel\n\n\xff\n");
    out.assert_code(0);
    let replies = out.json_lines();
    assert_eq!(replies.len(), 4, "{}", out.stdout);
    replies.iter().for_each(assert_reply);

    let mut cmd = concierge(["search", "--json"]);
    cmd.args(sources).arg("where is my parcel");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    let mut cmd = concierge(["check"]);
    cmd.args(sources);
    run(&mut cmd, b"").assert_code(0);
}
