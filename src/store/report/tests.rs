//! The report on a generated history whose proportions are known (`synthetic.rs`). Turns
//! recorded through the `Store` API are counted in the store contract (`contract.rs`), on
//! every backend.

use super::synthetic::{generate, History};
use super::*;

/// 2026-01-01T00:00:00Z, a Thursday.
const JAN_1: u64 = 1_767_225_600_000;
const DAY: u64 = 86_400_000;

/// 100,000 conversations of 4 messages, 1,000 a day for 100 days.
fn history() -> &'static (tempfile::TempDir, SqliteStore) {
    static STORE: std::sync::OnceLock<(tempfile::TempDir, SqliteStore)> =
        std::sync::OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        generate(&store, &History::HUNDRED_DAYS).unwrap();
        (dir, store)
    })
}

fn report(since: u64, until: u64, by: GroupBy) -> Report {
    history()
        .1
        .report(&ReportQuery {
            since_ms: since,
            until_ms: until,
            by,
        })
        .unwrap()
}

#[test]
fn a_generated_history_gives_exactly_the_expected_kpis() {
    let r = report(0, u64::MAX, GroupBy::Channel);
    let t = &r.total;
    assert_eq!(t.key, "total");
    assert_eq!(t.conversations, 100_000);
    assert_eq!(t.messages, 400_000);
    // k = 7, 8, 9 escalate; 7 and 8 with a ticket.
    assert_eq!(t.escalated, 30_000);
    assert_eq!(t.escalation_rate, Some(0.3));
    assert_eq!(
        t.escalated_by_reason,
        BTreeMap::from([
            ("human_requested".to_string(), 10_000),
            ("low_confidence".to_string(), 10_000),
            ("no_ticket".to_string(), 10_000),
        ])
    );
    let cp: Vec<(&str, &str, u64)> = t
        .escalated_by_category_priority
        .iter()
        .map(|c| (c.category.as_str(), c.priority.as_str(), c.count))
        .collect();
    assert_eq!(
        cp,
        [
            ("returns", "high", 5_000),
            ("returns", "normal", 5_000),
            ("shipping", "high", 5_000),
            ("shipping", "normal", 5_000)
        ]
    );
    // Answered, not escalated, no thumbs-down or low rating: k = 0, 2, 3, 4, 5.
    assert_eq!(t.deflected, 50_000);
    assert_eq!(t.deflection_rate, Some(0.5));
    // Less k = 2, whose customer came back the next minute.
    assert_eq!(t.first_contact_resolved, 40_000);
    assert_eq!(t.first_contact_resolution_rate, Some(0.4));
    assert_eq!(t.csat.count, 30_000);
    assert_eq!(t.csat.distribution, [10_000, 0, 0, 10_000, 10_000]);
    assert_eq!(t.csat.average, Some(10.0 / 3.0));
    assert_eq!((t.thumbs_up, t.thumbs_down), (20_000, 10_000));
    assert_eq!(t.thumbs_up_ratio, Some(2.0 / 3.0));
    // 100, 110, … 1090 ms, each 4,000 times.
    assert_eq!(
        t.response_ms,
        Percentiles {
            count: 400_000,
            p50: Some(590),
            p95: Some(1040)
        }
    );
    // 6,666 tickets delivered after 60 s, 6,667 after 120 s and 6,667 after 180 s.
    assert_eq!(
        t.escalation_to_delivery_ms,
        Percentiles {
            count: 20_000,
            p50: Some(120_000),
            p95: Some(180_000)
        }
    );
    // k = 8: an agent wrote 60, 120, 180 or 240 s after the ticket, 2,500 times each.
    assert_eq!(
        t.first_human_response_ms,
        Percentiles {
            count: 10_000,
            p50: Some(120_000),
            p95: Some(240_000)
        }
    );
    assert_eq!((t.tickets_pending, t.tickets_dead), (0, 0));

    // By channel: `api` is i % 5 == 0, so k = 0 or 5: all deflected, half rated 5.
    let keys: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["api", "web"]);
    let api = &r.rows[0];
    assert_eq!(api.conversations, 20_000);
    assert_eq!(api.deflected, 20_000);
    assert_eq!(api.escalated, 0);
    assert_eq!(api.csat.distribution, [0, 0, 0, 0, 10_000]);
    assert_eq!(r.rows[1].conversations, 80_000);
    assert_eq!(r.rows[1].deflected, 30_000);
}

#[test]
fn rows_by_day_week_and_language() {
    let days = report(0, u64::MAX, GroupBy::Day);
    assert_eq!(days.rows.len(), 100);
    assert_eq!(days.rows[0].key, "2026-01-01");
    assert_eq!(days.rows[99].key, "2026-04-10");
    for d in &days.rows {
        assert_eq!(
            (
                d.conversations,
                d.deflected,
                d.escalated,
                d.first_contact_resolved
            ),
            (1000, 500, 300, 400),
            "{}",
            d.key
        );
    }
    assert_eq!(days.total, report(0, u64::MAX, GroupBy::Channel).total);

    // 2026-01-01 is the Thursday of ISO week 2026-W01: four days in the first week.
    let weeks = report(0, u64::MAX, GroupBy::Week);
    assert_eq!(weeks.rows[0].key, "2026-W01");
    assert_eq!(weeks.rows[0].conversations, 4_000);
    assert_eq!(weeks.rows[1].key, "2026-W02");
    assert_eq!(weeks.rows[1].conversations, 7_000);

    let languages = report(0, u64::MAX, GroupBy::Language);
    let keys: Vec<(&str, u64)> = languages
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.conversations))
        .collect();
    assert_eq!(
        keys,
        [
            ("en", 25_000),
            ("es", 25_000),
            ("nl", 25_000),
            ("pt", 25_000)
        ]
    );
    // English is i % 4 == 0: even i, so k = 0, 2, 4, 6, 8; deflected: 0, 2, 4.
    assert_eq!(languages.rows[0].deflected, 15_000);
}

#[test]
fn the_window_counts_conversations_that_started_in_it() {
    let r = report(JAN_1 + 10 * DAY, JAN_1 + 20 * DAY, GroupBy::Day);
    assert_eq!(r.rows.len(), 10);
    assert_eq!(r.rows[0].key, "2026-01-11");
    assert_eq!(r.total.conversations, 10_000);
    assert_eq!(r.total.first_contact_resolved, 4_000);
    let nothing = report(0, JAN_1, GroupBy::Day);
    assert!(nothing.rows.is_empty());
    assert_eq!(nothing.total.conversations, 0);
    assert_eq!(nothing.total.deflection_rate, None);
    assert_eq!(nothing.total.response_ms.p50, None);
}

#[test]
fn percentiles_are_nearest_rank() {
    let v: Vec<u64> = (1..=20).collect();
    let p = percentiles(&v);
    assert_eq!((p.p50, p.p95), (Some(10), Some(19)));
    assert_eq!(percentiles::<u64>(&[7]).p95, Some(7));
    assert_eq!(percentiles::<u64>(&[]).p50, None);
}
