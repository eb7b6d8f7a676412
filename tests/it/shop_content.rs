//! The shop's own synonyms and its notices (issue 15), through the real binary: `check`
//! names the file and line of each mistake, and a running server picks up a new synonym.
//! (Which notices show at which time is tested with a fixed clock in `src/http/notices/`; the
//! widget's banner in headless Chromium, below.)

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::exe::{self, concierge, run};
use crate::server::{config, Server};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Polls `check` every 50 ms until it holds or `within` passes.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

const QUESTION: &str = "can I pay with a zorblat?";
const GIFT_CARDS: &str = "en/payments/gift-cards";

#[test]
fn a_shop_synonym_changes_an_answer_after_a_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    let intents = dir.path().join("intents");
    let synonyms = dir.path().join("synonyms");
    copy_dir(&exe::path("knowledge-base"), &kb);
    copy_dir(&exe::path("intents"), &intents);
    std::fs::create_dir_all(&synonyms).unwrap();
    std::fs::write(synonyms.join("en.yaml"), "- [fleece, polar]\n").unwrap();
    let server = Server::start([
        "--kb".into(),
        kb.into_os_string(),
        "--intents".into(),
        intents.into_os_string(),
        "--config".into(),
        config(
            dir.path(),
            "http:\n  rate_limit: {per_minute: 0}\nsynonyms: synonyms\n",
        ),
    ]);
    server.wait_ready();
    let ask = || -> Value {
        server
            .post_json("/v1/messages", &json!({"text": QUESTION}).to_string())
            .expect(200)
    };
    let before = ask();
    assert_ne!(before["article"], GIFT_CARDS, "{before}");

    // "zorblat" is what this shop's customers call its gift card.
    std::fs::write(
        synonyms.join("en.yaml"),
        "- [fleece, polar]\n- [gift card, zorblat]\n",
    )
    .unwrap();
    let served = eventually(Duration::from_secs(30), || {
        let r = ask();
        r["article"] == GIFT_CARDS && r["outcome"] == "answer"
    });
    assert!(
        served,
        "waited 30 s for the synonym to answer {QUESTION:?} with {GIFT_CARDS}:\n{}",
        server.log()
    );
    assert_eq!(server.get("/readyz").expect(200)["generation"], 2);
}

#[test]
fn check_names_the_file_and_line_of_bad_synonyms_and_notices() {
    let dir = tempfile::tempdir().unwrap();
    let synonyms = dir.path().join("synonyms");
    let notices = dir.path().join("notices");
    std::fs::create_dir_all(&synonyms).unwrap();
    std::fs::create_dir_all(&notices).unwrap();
    std::fs::write(
        synonyms.join("en.yaml"),
        "- [parcel locker, locker]\n- [cabinet]\n- [box, locker]\n",
    )
    .unwrap();
    std::fs::write(synonyms.join("xx.yaml"), "- [a, b]\n").unwrap();
    std::fs::write(
        notices.join("spain.md"),
        "---\nfrom: 2026-12-14T08:00:00+01:00\nuntil: 2026-12-07T08:00:00+01:00\n---\nDelays.\n",
    )
    .unwrap();
    std::fs::write(
        notices.join("topics.md"),
        "---\nfrom: 2026-12-07T08:00:00Z\nuntil: 2026-12-14T08:00:00Z\narticles: [en/no/such-article]\nintents: [no_such_intent]\n---\nDelays.\n",
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        "http:\n  rate_limit: {per_minute: 0}\nsynonyms: synonyms\nnotices: notices\n",
    );
    let mut cmd = concierge(["check", "--lexical-only", "--config"]);
    cmd.arg(&cfg).args(exe::demo_shop());
    let out = run(&mut cmd, b"");
    out.assert_code(1);
    let at = |file: &Path, line: usize| format!("{}:{line}: error: ", file.display());
    for (expected, message) in [
        (at(&synonyms.join("en.yaml"), 2), "at least two entries"),
        (
            at(&synonyms.join("en.yaml"), 3),
            "`locker` is in two groups",
        ),
        (
            format!("{}: error: ", synonyms.join("xx.yaml").display()),
            "unknown locale `xx`",
        ),
        (at(&notices.join("spain.md"), 3), "`until`"),
        (
            at(&notices.join("topics.md"), 4),
            "unknown article `en/no/such-article`",
        ),
        (
            at(&notices.join("topics.md"), 5),
            "unknown intent `no_such_intent`",
        ),
    ] {
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with(&expected))
            .unwrap_or_else(|| panic!("no {expected:?} in\n{}", out.stderr));
        assert!(line.contains(message), "{line:?} lacks {message:?}");
    }
}

#[test]
fn a_synonyms_or_notices_folder_named_in_the_config_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    for key in ["synonyms", "notices"] {
        let missing = dir.path().join("no").join(key);
        let cfg = config(
            dir.path(),
            &format!(
                "http:\n  rate_limit: {{per_minute: 0}}\n{key}: {}\n",
                missing.display()
            ),
        );
        let mut cmd = concierge(["check", "--lexical-only", "--config"]);
        cmd.arg(&cfg).args(exe::demo_shop());
        let out = run(&mut cmd, b"");
        assert_ne!(out.code(), Some(0), "{out:?}");
        assert!(
            out.stderr.contains(&missing.display().to_string()),
            "the error names the folder:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("`{key}` in ")),
            "the error names the key `{key}`:\n{}",
            out.stderr
        );
        assert!(out.stderr.contains("hint: "), "{}", out.stderr);
    }
}

/// A notice in the widget, in headless Chromium (`tests/browser/notice.test.mjs`): three
/// notices written around the real clock (ended last week, active now, starting next week);
/// only the active one is the banner and prefixes an answer on its topic. Which notice shows
/// at which instant is pinned with a fixed clock in `src/http/notices/tests.rs`.
#[test]
fn only_the_active_notice_shows_in_the_widget() {
    if crate::browser::skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let notices = dir.path().join("notices");
    std::fs::create_dir_all(&notices).unwrap();
    let now = jiff::Timestamp::now();
    let day = jiff::SignedDuration::from_hours(24);
    let at = |days: i32| (now + day * days).round(jiff::Unit::Second).unwrap();
    for (name, from, until, text) in [
        (
            "ended",
            at(-10),
            at(-3),
            "Our warehouse was closed last week.",
        ),
        (
            "active",
            at(-1),
            at(1),
            "Parcels to Germany are delayed by two days this week.",
        ),
        (
            "coming",
            at(3),
            at(10),
            "Next week we move to a new warehouse.",
        ),
    ] {
        std::fs::write(
            notices.join(format!("{name}.md")),
            format!(
                "---\nfrom: {from}\nuntil: {until}\nlocales: [en]\narticles: [en/shipping/delivery-times]\n---\n{text}\n"
            ),
        )
        .unwrap();
    }
    let mut args = exe::demo_shop();
    args.extend([
        "--config".into(),
        config(
            dir.path(),
            &format!("{}notices: notices\n", crate::server::TEST_HTTP),
        )
        .into(),
    ]);
    let server = Server::start(args);
    server.wait_ready();
    crate::browser::run_script("notice.test.mjs", &server, &[]);
    assert!(crate::browser::shots().join("notice-banner.png").is_file());
}
