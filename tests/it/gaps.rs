//! `concierge gaps` on a stored history: three topics the demo shop has no article for,
//! asked in several phrasings in English and Dutch among one-off questions, come out as the
//! top groups of each language, ranked by how many shoppers asked; the drafts it writes pass
//! `concierge check` once dropped into the knowledge base.

use concierge::store::{
    Conversation, ConversationId, Customer, MessageId, Outcome, SqliteStore, Store, Turn, FILE_NAME,
};
use serde_json::Value;

use crate::exe::{concierge, demo_shop, path, run};

/// (language, topic, phrasings as shoppers sent them; one shopper each).
const PLANTED: [(&str, &str, &[&str]); 6] = [
    (
        "en",
        "gift",
        &[
            "do you offer gift wrapping",
            "can you gift wrap my order",
            "is gift wrapping available",
            "do you offer gift wrapping",
            "gift wrap option?",
        ],
    ),
    (
        "en",
        "rent",
        &[
            "can I rent a tent",
            "do you rent tents",
            "rent a tent price",
        ],
    ),
    (
        "en",
        "loyalty",
        &["do you have a loyalty program", "loyalty program points"],
    ),
    (
        "nl",
        "cadeau",
        &[
            "kunnen jullie het als cadeau inpakken",
            "cadeau inpakken mogelijk?",
            "cadeau inpakken",
            "inpakken als cadeau graag",
        ],
    ),
    (
        "nl",
        "huur",
        &[
            "kan ik een tent huren",
            "tent huren voor het weekend",
            "tent huren",
        ],
    ),
    (
        "nl",
        "spaar",
        &["hebben jullie een spaarprogramma", "spaarprogramma punten"],
    ),
];

const NOISE: [(&str, &str); 4] = [
    ("en", "what will the weather be like in Oslo"),
    ("en", "recommend me a good movie"),
    ("nl", "hoe laat is het in Amsterdam"),
    ("nl", "vertel een grap"),
];

fn turn(text: &str, language: &str, at_ms: u64) -> Turn {
    Turn {
        id: MessageId::generate(),
        text: text.into(),
        reply: "Did you mean…".into(),
        outcome: Outcome::Clarify,
        language: language.into(),
        intent: None,
        article: None,
        confidence: 0.3,
        at_ms,
        response_ms: Some(5),
        client_id: None,
        shown: None,
    }
}

#[test]
fn gaps_ranks_the_planted_topics_and_its_drafts_pass_check() {
    let data = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&data.path().join(FILE_NAME)).unwrap();
    // 2026-12-01: "did you mean" and nothing after it, one conversation per question.
    let at = 1_764_547_200_000 + 365 * 86_400_000;
    let all = PLANTED
        .iter()
        .flat_map(|(l, _, texts)| texts.iter().map(move |t| (*l, *t)))
        .chain(NOISE);
    for (k, (language, text)) in all.enumerate() {
        let c = Conversation::new(ConversationId::generate(), "web", Customer::default(), at);
        store
            .record_first_turn(c, turn(text, language, at + k as u64), None, None)
            .unwrap();
    }
    drop(store);

    let drafts = tempfile::tempdir().unwrap();
    let mut cmd = concierge(["gaps", "--lexical-only", "--json"]);
    cmd.args(demo_shop())
        .args(["--since", "2026-11-30", "--until", "2026-12-02", "--data"])
        .arg(data.path())
        .arg("--write-drafts")
        .arg(drafts.path());
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["messages"], 19 + 4);
    let groups = report["groups"].as_array().unwrap();
    for language in ["en", "nl"] {
        let ours: Vec<&Value> = groups
            .iter()
            .filter(|g| g["language"] == language)
            .collect();
        let planted: Vec<_> = PLANTED.iter().filter(|p| p.0 == language).collect();
        for (rank, (_, topic, texts)) in planted.iter().enumerate() {
            let g = ours[rank];
            assert_eq!(
                g["shoppers"],
                texts.len(),
                "{language}: group {rank} should be `{topic}` ({} shoppers): {g}",
                texts.len()
            );
            let asked: Vec<&str> = g["questions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["text"].as_str().unwrap())
                .collect();
            assert!(
                texts.iter().all(|t| asked.contains(t)),
                "{language}: `{topic}` holds {asked:?}"
            );
        }
    }

    // The drafts, dropped into a copy of the demo shop's knowledge base, pass `check`.
    let kb = tempfile::tempdir().unwrap();
    copy(&path("knowledge-base"), kb.path());
    copy(drafts.path(), kb.path());
    let written = walk(drafts.path());
    assert_eq!(
        written.len(),
        groups.len(),
        "a draft per group: {written:?}"
    );
    let mut check = concierge(["check", "--kb"]);
    check.arg(kb.path()).arg("--intents").arg(path("intents"));
    let checked = run(&mut check, b"");
    checked.assert_code(0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    for p in walk(from) {
        let dest = to.join(p.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&p, dest).unwrap();
    }
}
