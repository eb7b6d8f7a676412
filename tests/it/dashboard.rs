//! The dashboard at `/admin/` (issue 15) on a generated history of 100,000 conversations with
//! known proportions (`concierge::store::report::synthetic`): `/admin/api/report` gives the
//! same JSON as `concierge report --json` and exactly the expected KPIs, `/admin/api/gaps`
//! the same groups as `concierge gaps --json`, both only with the admin token; then
//! `tests/browser/dashboard.test.mjs` signs in with the token in headless Chromium, reads the
//! numbers the page shows, checks the charts are drawn and the phone layout, and leaves
//! screenshots in `target/browser/dashboard-{desktop,phone}.png`.

use concierge::store::report::synthetic::{generate, History};
use concierge::store::SqliteStore;
use serde_json::{json, Value};

use crate::browser;
use crate::exe::{concierge, demo_shop, run};
use crate::server::{config, Server, TEST_HTTP};

const TOKEN: &str = "dashboard-admin-token-0123456789abcdef";
/// The window of the whole history: 100 days of 1,000 conversations.
const SINCE: &str = "2026-01-01";
const UNTIL: &str = "2026-04-11";

/// A data folder holding the generated history (also `report.rs`'s).
pub(crate) fn history() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    generate(&store, &History::HUNDRED_DAYS).unwrap();
    dir
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn api(server: &Server, path: &str) -> Value {
    server
        .request("GET", path, &[("Authorization", &bearer(TOKEN))], b"")
        .expect(200)
}

/// `concierge <command> --json …` on the same data, as JSON.
fn cli(command: &str, data: &std::path::Path, extra: &[&str]) -> Value {
    let mut cmd = concierge([command, "--json", "--since", SINCE, "--until", UNTIL]);
    cmd.args(extra).arg("--data").arg(data);
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    serde_json::from_str(&out.stdout).unwrap()
}

/// The totals the known proportions give (see `synthetic.rs`; the same numbers as
/// `src/store/report/tests.rs`).
pub(crate) fn assert_expected_totals(t: &Value) {
    assert_eq!(t["key"], "total");
    assert_eq!(t["conversations"], 100_000);
    assert_eq!(t["messages"], 400_000);
    assert_eq!(t["deflected"], 50_000);
    assert_eq!(t["escalated"], 30_000);
    assert_eq!(
        t["escalated_by_reason"],
        json!({"human_requested": 10_000, "low_confidence": 10_000, "no_ticket": 10_000})
    );
    assert_eq!(
        t["escalated_by_category_priority"],
        json!([
            {"category": "returns", "priority": "high", "count": 5_000},
            {"category": "returns", "priority": "normal", "count": 5_000},
            {"category": "shipping", "priority": "high", "count": 5_000},
            {"category": "shipping", "priority": "normal", "count": 5_000},
        ])
    );
    assert_eq!(t["first_contact_resolved"], 40_000);
    assert_eq!(t["csat"]["count"], 30_000);
    assert_eq!(
        t["csat"]["distribution"],
        json!([10_000, 0, 0, 10_000, 10_000])
    );
    assert_eq!(t["csat"]["average"], 10.0 / 3.0);
    assert_eq!(
        (t["thumbs_up"].clone(), t["thumbs_down"].clone()),
        (json!(20_000), json!(10_000))
    );
    assert_eq!(t["thumbs_up_ratio"], 2.0 / 3.0);
    assert_eq!(
        t["response_ms"],
        json!({"count": 400_000, "p50": 590, "p95": 1040})
    );
    assert_eq!(
        t["escalation_to_delivery_ms"],
        json!({"count": 20_000, "p50": 120_000, "p95": 180_000})
    );
    // k = 8: an agent wrote 60, 120, 180 or 240 s after the ticket, 2,500 times each.
    assert_eq!(
        t["first_human_response_ms"],
        json!({"count": 10_000, "p50": 120_000, "p95": 240_000})
    );
    assert_eq!(
        (t["tickets_pending"].clone(), t["tickets_dead"].clone()),
        (json!(0), json!(0))
    );
}

#[test]
fn the_dashboard_shows_exactly_the_kpis_of_a_generated_history() {
    let data = history();
    let dir = tempfile::tempdir().unwrap();
    let mut args = demo_shop();
    let section = format!("{TEST_HTTP}admin:\n  token: {TOKEN}\n");
    args.extend([
        "--lexical-only".into(),
        "--config".into(),
        config(dir.path(), &section).into(),
        "--data".into(),
        data.path().into(),
    ]);
    let server = Server::start(args);
    server.wait_ready();

    // The API is the CLI's report, with the token only.
    let window = format!("since={SINCE}&until={UNTIL}");
    for by in ["day", "week", "language", "channel"] {
        let started = std::time::Instant::now();
        let served = api(&server, &format!("/admin/api/report?{window}&by={by}"));
        // For the record (not a limit): how long the report of 400,000 messages took.
        eprintln!("/admin/api/report by {by}: {:?}", started.elapsed());
        let printed = cli("report", data.path(), &["--by", by]);
        assert_eq!(
            served, printed,
            "by {by}: the API and `concierge report --json` differ"
        );
        assert_expected_totals(&served["total"]);
        if by == "day" {
            let rows = served["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 100);
            assert!(rows
                .iter()
                .all(|r| r["conversations"].as_u64().unwrap() >= 1_000));
        }
    }
    let path = format!("/admin/api/report?{window}");
    server.get(&path).expect_error(401, "unauthorized");
    server
        .request(
            "GET",
            &path,
            &[(
                "Authorization",
                &bearer("dashboard-admin-token-0123456789abcdeX"),
            )],
            b"",
        )
        .expect_error(401, "unauthorized");

    // The content-gap report is the CLI's too.
    let started = std::time::Instant::now();
    let gaps = api(&server, &format!("/admin/api/gaps?{window}&limit=20"));
    eprintln!("/admin/api/gaps: {:?}", started.elapsed());
    let mut printed = concierge([
        "gaps",
        "--json",
        "--lexical-only",
        "--since",
        SINCE,
        "--until",
        UNTIL,
    ]);
    printed.args(demo_shop()).arg("--data").arg(data.path());
    let out = run(&mut printed, b"");
    out.assert_code(0);
    let printed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(gaps, printed, "the API and `concierge gaps --json` differ");
    // Its unanswered messages, all "a question": every message of a `k = 6` conversation
    // ("did you mean", no choice taken: 4 each, languages en and pt), the last of a `k = 7`
    // one (escalated for low confidence) and the first of a `k = 1` one (thumbs down), both
    // es and nl. One group per language.
    assert_eq!(gaps["messages"], 10_000 * 4 + 10_000 + 10_000, "{gaps}");
    let groups = gaps["groups"].as_array().unwrap();
    let summary: Vec<(&str, u64, u64)> = groups
        .iter()
        .map(|g| {
            assert_eq!(
                g["questions"],
                json!([{"text": "a question", "count": g["messages"]}])
            );
            (
                g["language"].as_str().unwrap(),
                g["shoppers"].as_u64().unwrap(),
                g["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("es", 10_000, 10_000),
            ("nl", 10_000, 10_000),
            ("en", 5_000, 20_000),
            ("pt", 5_000, 20_000)
        ]
    );
    server
        .get(&format!("/admin/api/gaps?{window}"))
        .expect_error(401, "unauthorized");

    // The page, in headless Chromium.
    if browser::skipped() {
        return;
    }
    let expected = json!({
        "kpis": {
            "conversations": "100,000",
            "messages": "400,000",
            "deflection_rate": "50.0%",
            "deflected": "50,000",
            "escalation_rate": "30.0%",
            "escalated": "30,000",
            "first_contact_resolution_rate": "40.0%",
            "first_contact_resolved": "40,000",
            "csat_average": "3.33",
            "csat_count": "30,000",
            "thumbs_up_ratio": "66.7%",
            "thumbs_up": "20,000",
            "thumbs_down": "10,000",
            "response_p50": "590 ms",
            "response_p95": "1,040 ms",
            "delivery_p50": "120 s",
            "delivery_p95": "180 s",
            "human_p50": "120 s",
            "human_p95": "240 s",
            "tickets_pending": "0",
            "tickets_dead": "0",
        },
        "reasons": {"human_requested": "10,000", "low_confidence": "10,000", "no_ticket": "10,000"},
        "categories": {"returns/high": "5,000", "returns/normal": "5,000", "shipping/high": "5,000", "shipping/normal": "5,000"},
        "rows": 100,
        "gaps": {
            "groups": groups.len(),
            "first_language": groups[0]["language"],
            "first_shoppers": groups[0]["shoppers"],
        },
    });
    browser::run_script(
        "dashboard.test.mjs",
        &server,
        &[
            TOKEN.to_string(),
            format!("admin/?since={SINCE}&until={UNTIL}&by=day"),
            expected.to_string(),
        ],
    );
    for shot in ["dashboard-desktop.png", "dashboard-phone.png"] {
        assert!(browser::shots().join(shot).is_file(), "no {shot}");
    }
}
