//! A new user's first minutes: `chat` says at once what it is doing and suggests questions in
//! the shop's languages; a path the user named that does not exist is an error naming it
//! (one test per option), while only the default folders may be absent.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::exe::{concierge, demo_shop, path, run, Output};

/// The position of the first stderr line starting with `prefix`.
#[track_caller]
fn line_starting(out: &Output, prefix: &str) -> usize {
    out.stderr
        .lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no stderr line starts with {prefix:?}:\n{}", out.stderr))
}

#[test]
fn chat_says_what_it_does_before_the_work_and_suggests_questions_to_try() {
    let mut cmd = concierge(["chat"]);
    cmd.args(demo_shop());
    // An empty line ends the chat.
    let out = run(&mut cmd, b"\n");
    out.assert_code(0);

    // The first line comes before any of the work, and each step is told before the next:
    // the shop, the index, the model (default build), ready.
    assert!(
        out.stderr.starts_with("loading the shop from "),
        "the first line says what is loaded:\n{}",
        out.stderr
    );
    let loaded = line_starting(&out, "shop loaded: ");
    let index = line_starting(&out, "building the search index");
    let ready = line_starting(&out, "ready: ");
    assert!(
        0 < loaded && loaded < index && index < ready,
        "{}",
        out.stderr
    );
    if cfg!(feature = "semantic") {
        let model = line_starting(&out, "loading the sentence-embedding model from ");
        assert!(index < model && model < ready, "{}", out.stderr);
    }

    // "shop loaded: 120 articles, 12 intents, languages en, es, nl, pt"
    let summary = out.stderr.lines().nth(loaded).unwrap();
    let number = |what: &str| -> usize {
        let before = summary.split(what).next().unwrap();
        let n = before.rsplit([' ', ',']).find(|w| !w.is_empty()).unwrap();
        n.replace(',', "")
            .parse()
            .unwrap_or_else(|_| panic!("{summary}"))
    };
    assert!(number(" articles") > 50, "{summary}");
    assert!(number(" intents") > 0, "{summary}");
    let languages: Vec<&str> = summary
        .split("languages ")
        .nth(1)
        .unwrap_or_else(|| panic!("{summary}"))
        .split(", ")
        .collect();
    assert_eq!(languages[0], "en", "the default language first: {summary}");
    assert!(languages.len() >= 3, "the demo shop has four: {summary}");

    // Three questions, in the shop's languages (one language after the other), each one
    // the bot answers with an article.
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "Questions to try:")
        .unwrap_or_else(|| panic!("no questions offered:\n{}", out.stdout));
    let suggested: Vec<(&str, &str)> = lines[at + 1..at + 4]
        .iter()
        .map(|l| {
            let l = l
                .trim_start()
                .strip_prefix('[')
                .unwrap_or_else(|| panic!("{l}"));
            l.split_once("] ").unwrap_or_else(|| panic!("{l}"))
        })
        .collect();
    let langs: Vec<&str> = suggested.iter().map(|(l, _)| *l).collect();
    assert_eq!(langs, languages[..3], "{}", out.stdout);
    for (lang, question) in suggested {
        let mut ask = concierge(["ask", "--json"]);
        ask.args(demo_shop()).arg(question);
        let reply: Value = run(&mut ask, b"").assert_code(0).json_lines()[0].clone();
        assert_eq!(reply["outcome"], "answer", "{question:?}: {reply}");
        assert_eq!(reply["language"], lang, "{question:?}: {reply}");
        assert!(reply["article"].is_string(), "{question:?}: {reply}");
    }
}

/// Runs `concierge ARGS` where `missing` does not exist, and checks the error: non-zero exit,
/// nothing on stdout, the path and the option named, and a hint.
#[track_caller]
fn assert_refused(args: &[OsString], missing: &Path, option: &str) {
    let mut cmd = concierge(args);
    cmd.env_remove("CONCIERGE_MODEL");
    let out = run(&mut cmd, b"");
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "errors go to stderr: {}", out.stdout);
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "the error names the path:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(option),
        "the error names {option}:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);
}

fn no_such(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("no").join("such-dir")
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_owned()).collect()
}

#[test]
fn a_kb_folder_named_with_kb_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = no_such(&dir);
    let intents = path("intents");
    assert_refused(
        &args(&[&"ask", &"--kb", &missing, &"--intents", &intents, &"hello"]),
        &missing,
        "--kb",
    );
}

#[test]
fn an_intents_folder_named_with_intents_or_in_the_config_must_exist() {
    // The case: this answered as if the shop had no intents, and exited 0.
    let dir = tempfile::tempdir().unwrap();
    let missing = no_such(&dir);
    let kb = path("knowledge-base");
    assert_refused(
        &args(&[&"ask", &"--kb", &kb, &"--intents", &missing, &"hello"]),
        &missing,
        "--intents",
    );

    // The same folder named by the config file: the error names the key and the file.
    let config = dir.path().join("shop.yaml");
    std::fs::write(&config, format!("intents: {}\n", missing.display())).unwrap();
    assert_refused(
        &args(&[&"check", &"--kb", &kb, &"--config", &config]),
        &missing,
        "`intents` in ",
    );
}

#[test]
fn a_config_file_named_with_config_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.yaml");
    let mut a = args(&[&"ask", &"--config", &missing]);
    a.extend(demo_shop().into_iter().map(OsString::from));
    a.push("hello".into());
    assert_refused(&a, &missing, "--config");
}

#[test]
fn a_model_folder_named_with_model_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = no_such(&dir);
    let mut a = args(&[&"ask", &"--model", &missing]);
    a.extend(demo_shop().into_iter().map(OsString::from));
    a.push("hello".into());
    assert_refused(&a, &missing, "--model");
}

#[test]
fn a_data_folder_named_with_data_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = no_such(&dir);
    let mut a = args(&[&"serve", &"--listen", &"127.0.0.1:0", &"--data", &missing]);
    a.extend(demo_shop().into_iter().map(OsString::from));
    assert_refused(&a, &missing, "--data");
    assert!(
        !missing.exists(),
        "nothing was created at {}",
        missing.display()
    );
}

#[test]
fn only_the_default_folders_may_be_absent() {
    // Run from an empty folder: no ./concierge.yaml, no ./intents, no ./models. With the
    // knowledge base named, the shop is served with the built-in intents alone.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = concierge(["ask", "--json", "--lexical-only", "--kb"]);
    cmd.arg(path("knowledge-base"))
        .arg("how do I return an item?")
        .current_dir(dir.path());
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let reply = &out.json_lines()[0];
    assert_eq!(reply["language"], "en", "{reply}");
}

/// The service's first start logs each step of its load as it goes (the shop, the index, the
/// model, the embedding of the shop's texts with its progress), before the content is served:
/// the operator watching the log of a first start never sees a blank screen.
#[test]
fn serve_logs_each_step_of_its_first_load_before_it_serves() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // An empty vector cache: the shop's texts are embedded, as on a first start.
    let config = dir.path().join("concierge.yaml");
    std::fs::write(
        &config,
        format!(
            "semantic:\n  cache: {}\n{}",
            dir.path().join("vectors").display(),
            crate::server::TEST_HTTP
        ),
    )
    .expect("writing the config");
    let fixture = path("tests/fixtures/languages");
    let server = crate::server::Server::start(args(&[
        &"--config",
        &config,
        &"--kb",
        &fixture.join("kb"),
        &"--intents",
        &fixture.join("intents"),
    ]));
    server.wait_ready();
    let log = server.log();
    let at = |what: &str| {
        log.find(what)
            .unwrap_or_else(|| panic!("the log has no {what:?}:\n{log}"))
    };
    let (shop, index, served) = (
        at("shop loaded"),
        at("building the search index"),
        at("content loaded"),
    );
    assert!(shop < index && index < served, "{log}");
    if cfg!(feature = "semantic") {
        let (model, started, done) = (
            at("loading the sentence-embedding model"),
            at("embedding started"),
            at("embedding: done"),
        );
        assert!(
            index < model && model < started && started < done && done < served,
            "{log}"
        );
    }
}
