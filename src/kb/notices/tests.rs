//! Notices: parsing, the checks editors see, and which notices show at a given (fixed) time.

use super::*;

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Notices, Vec<Diagnostic>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let (n, d) = Notices::load_dir(dir.path());
    (dir, n, d)
}

fn at(s: &str) -> Timestamp {
    parse_instant(s).unwrap()
}

const SPAIN: &str = "---\nfrom: 2026-12-07T08:00:00+01:00\nuntil: 2026-12-14T18:00[Europe/Madrid]\nlocales: [en, es]\narticles: [en/shipping/international]\ntags: [shipping]\nintents: [track_order]\n---\nParcels to **Spain** are delayed by two days this week.\n";

#[test]
fn a_notice_is_active_from_its_start_until_its_end_only() {
    let (_d, notices, diags) = load(&[("spain.md", SPAIN)]);
    assert!(diags.is_empty(), "{diags:?}");
    let n = &notices.all()[0];
    assert_eq!(n.id, "spain");
    assert_eq!(
        n.text,
        "Parcels to Spain are delayed by two days this week."
    );
    // `until` is 18:00 in Madrid, UTC+1 in December.
    assert_eq!(n.until, at("2026-12-14T17:00:00Z"));
    assert!(!n.is_active(at("2026-12-07T06:59:59Z")));
    assert!(n.is_active(at("2026-12-07T07:00:00Z")));
    assert!(n.is_active(at("2026-12-14T16:59:59Z")));
    assert!(!n.is_active(at("2026-12-14T17:00:00Z")));
    let week = at("2026-12-10T12:00:00Z");
    assert_eq!(notices.active(week, "es").count(), 1);
    assert_eq!(notices.active(week, "nl").count(), 0);
    assert_eq!(notices.active(at("2027-01-01T00:00:00Z"), "en").count(), 0);
}

#[test]
fn a_notice_goes_with_answers_on_its_topics() {
    let (_d, notices, _) = load(&[
        ("spain.md", SPAIN),
        (
            "banner.md",
            "---\nfrom: 2026-12-01T00:00:00Z\nuntil: 2027-01-01T00:00:00Z\n---\nWinter sale!\n",
        ),
    ]);
    let now = at("2026-12-10T12:00:00Z");
    let ids = |topic: Topic<'_>| -> Vec<String> {
        notices
            .on_topic(now, "es", topic)
            .map(|n| n.id.clone())
            .collect()
    };
    // Any translation of the article.
    let es: ArticleId = "es/shipping/international".parse().unwrap();
    assert_eq!(
        ids(Topic {
            article: Some(&es),
            ..Topic::default()
        }),
        ["spain"]
    );
    let other: ArticleId = "es/returns/policy".parse().unwrap();
    assert!(ids(Topic {
        article: Some(&other),
        ..Topic::default()
    })
    .is_empty());
    let tags = vec!["shipping".to_string()];
    assert_eq!(
        ids(Topic {
            article: Some(&other),
            tags: &tags,
            intent: None
        }),
        ["spain"]
    );
    assert_eq!(
        ids(Topic {
            intent: Some("track_order"),
            ..Topic::default()
        }),
        ["spain"]
    );
    // A notice without topics is a banner only.
    assert_eq!(notices.active(now, "es").count(), 2);
}

#[test]
fn bad_notices_say_file_line_and_what_to_do() {
    let (_d, notices, diags) = load(&[
        (
            "a-bad-date.md",
            "---\nfrom: next monday\nuntil: 2026-12-14T18:00:00Z\n---\nText.\n",
        ),
        (
            "b-no-zone.md",
            "---\nfrom: 2026-12-07T08:00:00\nuntil: 2026-12-14T18:00:00Z\n---\nText.\n",
        ),
        (
            "c-backwards.md",
            "---\nfrom: 2026-12-14T08:00:00Z\nuntil: 2026-12-07T08:00:00Z\n---\nText.\n",
        ),
        (
            "d-locale.md",
            "---\nfrom: 2026-12-07T08:00:00Z\nuntil: 2026-12-14T08:00:00Z\nlocales: [en, zz]\n---\nText.\n",
        ),
        (
            "e-typo.md",
            "---\nfrom: 2026-12-07T08:00:00Z\nuntil: 2026-12-14T08:00:00Z\ntopics: [x]\n---\nText.\n",
        ),
    ]);
    assert!(notices.is_empty());
    let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 5, "{text:#?}");
    assert!(
        text[0].contains("a-bad-date.md:2: error: `from`: `next monday` is not a date"),
        "{text:#?}"
    );
    assert!(text[0].contains("hint: write RFC 3339"), "{text:#?}");
    assert!(
        text[1].contains("b-no-zone.md:2: error: `from`"),
        "{text:#?}"
    );
    assert!(
        text[2].contains(
            "c-backwards.md:3: error: `until` (2026-12-07T08:00:00Z) is not after `from`"
        ),
        "{text:#?}"
    );
    assert!(
        text[3].contains("d-locale.md:4: error: unknown locale `zz`"),
        "{text:#?}"
    );
    assert!(
        text[4].contains("e-typo.md:4: error: invalid front matter: unknown field `topics`"),
        "{text:#?}"
    );
}

#[test]
fn unknown_topics_are_errors_and_dropped() {
    let (_d, mut notices, diags) = load(&[("spain.md", SPAIN)]);
    assert!(diags.is_empty());
    let tags: HashSet<&str> = ["returns"].into();
    let intents: HashSet<&str> = ["greet"].into();
    let diags = notices.check(|a| a.as_str() == "en/other", &tags, &intents);
    let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text[0].contains("spain.md:5: error: unknown article `en/shipping/international`"),
        "{text:#?}"
    );
    assert!(
        text[1].contains("spain.md:6: error: unknown tag `shipping`"),
        "{text:#?}"
    );
    assert!(
        text[2].contains("spain.md:7: error: unknown intent `track_order`"),
        "{text:#?}"
    );
    assert!(!notices.all()[0].has_topics());
}
