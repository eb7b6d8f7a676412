use std::sync::OnceLock;

use super::*;
use crate::config::Settings;

fn engine() -> &'static Engine {
    static SHOP: OnceLock<Engine> = OnceLock::new();
    SHOP.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut s = Settings::from_file(&root.join("concierge.yaml")).expect("demo config");
        s.semantic.enabled = false;
        Engine::load(&s).expect("demo shop").0
    })
}

/// Three topics the demo shop has no article for, several phrasings each, in English and
/// Spanish, asked different numbers of times; and one-off questions around them.
pub(crate) const PLANTED: [(&str, &str, &[&str]); 6] = [
    (
        "en",
        "gift",
        &[
            "do you offer gift wrapping",
            "can you gift wrap my order",
            "is gift wrapping available",
            "gift wrap option?",
            "do you offer gift wrapping",
            "can I have it gift wrapped please",
            "gift wrapping for a present",
        ],
    ),
    (
        "en",
        "rent",
        &[
            "can I rent a tent",
            "do you rent tents for a weekend",
            "rent tent price",
            "can I rent a tent",
            "rent a tent for festival",
        ],
    ),
    (
        "en",
        "loyalty",
        &[
            "do you have a loyalty program",
            "loyalty program points",
            "is there a loyalty program",
        ],
    ),
    (
        "es",
        "regalo",
        &[
            "envolver para regalo",
            "¿podéis envolver para regalo?",
            "envolver regalo precio",
            "quiero envolver para regalo",
            "envolver para regalo",
            "¿se puede envolver para regalo?",
        ],
    ),
    (
        "es",
        "alquiler",
        &[
            "alquiler de tiendas de campaña",
            "¿hacéis alquiler de tiendas?",
            "alquiler de tiendas baratas",
            "alquiler de tiendas",
        ],
    ),
    (
        "es",
        "fidelidad",
        &["programa de fidelidad", "¿tenéis programa de fidelidad?"],
    ),
];

pub(crate) const NOISE: [(&str, &str); 6] = [
    ("en", "what will the weather be like in Oslo on saturday"),
    ("en", "my cat chewed through the laces"),
    ("en", "recommend me a good movie"),
    ("es", "¿qué hora es en Madrid?"),
    ("es", "mi perro se comió la factura"),
    ("es", "cuéntame un chiste"),
];

fn message(n: usize, language: &str, text: &str, at_ms: u64, reason: GapReason) -> Unanswered {
    Unanswered {
        conversation: format!("c{n}"),
        message: format!("m{n}"),
        at_ms,
        language: language.into(),
        text: text.into(),
        reason,
        article: None,
    }
}

fn planted_messages() -> Vec<Unanswered> {
    let mut out = Vec::new();
    let week = 7 * 86_400_000u64;
    let start = 1_764_547_200_000u64; // 2025-12-01, a Monday
    for (language, _, texts) in PLANTED.iter() {
        for (k, text) in texts.iter().enumerate() {
            let n = out.len();
            let reason = [GapReason::Escalated, GapReason::ChoiceNotTaken][k % 2];
            out.push(message(
                n,
                language,
                text,
                start + (k as u64 % 2) * week,
                reason,
            ));
        }
    }
    for (language, text) in NOISE {
        let n = out.len();
        out.push(message(n, language, text, start, GapReason::ThumbsDown));
    }
    out
}

#[test]
fn planted_topics_come_out_as_groups_ranked_by_shoppers_in_each_language() {
    let groups = find(engine(), &planted_messages(), Similarity::default());
    for language in ["en", "es"] {
        let ours: Vec<&Group> = groups.iter().filter(|g| g.language == language).collect();
        let planted: Vec<&(&str, &str, &[&str])> =
            PLANTED.iter().filter(|p| p.0 == language).collect();
        for (rank, (_, topic, texts)) in planted.iter().enumerate() {
            let g = ours[rank];
            let mut got: Vec<String> = g
                .questions
                .iter()
                .flat_map(|a| std::iter::repeat_n(a.text.clone(), a.count as usize))
                .collect();
            let mut want: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{language}: group {rank} should be `{topic}`");
            assert_eq!(g.shoppers, texts.len() as u64);
        }
        // The one-off questions stay alone.
        for g in &ours[planted.len()..] {
            assert_eq!(g.messages, 1, "{language}: {:?}", g.questions);
        }
    }
    let gift = groups
        .iter()
        .find(|g| g.questions[0].text == "do you offer gift wrapping")
        .expect("the gift-wrap group, its most asked question first");
    assert_eq!(gift.questions[0].count, 2);
    assert_eq!(
        gift.by_week.values().sum::<u64>(),
        7,
        "counted over the weeks: {:?}",
        gift.by_week
    );
    assert_eq!(gift.by_week.len(), 2);
    assert!(gift.by_week.contains_key("2025-W49"), "{:?}", gift.by_week);
}

#[test]
fn a_known_article_asked_in_other_words_is_a_missing_phrasing() {
    // A question the demo shop answers, asked in words its article lacks, recorded with that
    // article as the bot's best candidate.
    let mut ms: Vec<Unanswered> = ["how long until my refund shows up", "refund shows up when"]
        .iter()
        .enumerate()
        .map(|(n, t)| message(n, "en", t, 0, GapReason::ChoiceNotTaken))
        .collect();
    let reply = engine().ask(&Question::new("how long does a refund take"));
    let article = reply.article.expect("the demo shop answers refunds");
    for m in &mut ms {
        m.article = Some(article.to_string());
    }
    let groups = find(engine(), &ms, Similarity::default());
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].kind, GapKind::MissingPhrasing);
    assert!(groups[0].nearest.is_some());
}

#[test]
fn a_draft_has_the_title_and_the_questions_as_front_matter() {
    let groups = find(engine(), &planted_messages(), Similarity::default());
    let d = draft(&groups[0], 1);
    assert_eq!(d.path, "en/gaps/01-do-you-offer-gift-wrapping.md");
    let yaml = d.markdown.split("---\n").nth(1).expect("front matter");
    let front: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
    assert_eq!(front["title"], "Do you offer gift wrapping");
    assert_eq!(front["questions"].as_sequence().unwrap().len(), 6);
    assert!(d.markdown.contains("Write the answer here."));
}
