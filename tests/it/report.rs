//! `concierge report` through the real binary: on a generated history of 100,000
//! conversations whose proportions are known (`store::report::synthetic`), the text, JSON and
//! CSV forms give exactly the expected KPIs; and on PostgreSQL it reads what the store holds.

use concierge::store::temp_postgres::{self, TempPostgres};
use concierge::store::{
    Conversation, ConversationId, Customer, GroupBy, MessageId, Outcome, PostgresStore,
    ReportQuery, Reports, Store, Turn,
};
use serde_json::Value;

use crate::exe::{concierge, run};

/// 2026-01-01T00:00:00Z.
const JAN_1: u64 = 1_767_225_600_000;
const DAY: u64 = 86_400_000;

#[test]
fn a_generated_year_gives_exactly_the_expected_kpis_in_every_format() {
    let data = crate::dashboard::history();
    let report = |format: &[&str]| {
        let mut cmd = concierge(["report", "--since", "2026-01-01", "--until", "2026-04-11"]);
        cmd.args(["--by", "channel"])
            .args(format)
            .arg("--data")
            .arg(data.path());
        let out = run(&mut cmd, b"");
        out.assert_code(0);
        out.stdout
    };

    let r: Value = serde_json::from_str(&report(&["--json"])).unwrap();
    crate::dashboard::assert_expected_totals(&r["total"]);
    let rows: Vec<(&str, u64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap(),
                r["conversations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("api", 20_000), ("web", 80_000)]);

    let csv = report(&["--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "header, api, web, total:\n{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let total: Vec<&str> = lines[3].split(',').collect();
    let at = |name: &str| total[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(at("key"), "total");
    assert_eq!(at("conversations"), "100000");
    assert_eq!(at("deflection_rate"), "0.5000");
    assert_eq!(at("first_contact_resolution_rate"), "0.4000");
    assert_eq!(at("first_human_response_ms_p95"), "240000");

    // A time, not only a date: half of the first day (1,000 conversations a day).
    let mut cmd = concierge(["report", "--json", "--since", "2026-01-01T13:00:00+01:00"]);
    cmd.args(["--until", "2026-01-02", "--data"])
        .arg(data.path());
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let half: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(half["total"]["conversations"], 500);
    // A bad bound names itself and says what to write.
    let mut cmd = concierge(["report", "--since", "last tuesday", "--data"]);
    cmd.arg(data.path());
    let out = run(&mut cmd, b"");
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("--since `last tuesday` is not a date or a time")
            && out.stderr.contains("2026-12-01"),
        "{}",
        out.stderr
    );

    let table = report(&[]);
    let total = table.lines().find(|l| l.starts_with("total")).unwrap();
    let cells: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(
        cells[..5],
        ["total", "100000", "50.0%", "30.0%", "40.0%"],
        "{table}"
    );
    assert!(
        table.contains(
            "escalated by reason: human_requested 10000, low_confidence 10000, no_ticket 10000"
        ),
        "{table}"
    );
}

#[test]
fn on_postgresql_the_report_is_what_the_store_holds() {
    if temp_postgres::skipped() {
        eprintln!(
            "skipped: {} is set; the report on PostgreSQL was NOT tested",
            temp_postgres::SKIP_VAR
        );
        return;
    }
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    let url = pg.create_database().unwrap();
    let store = PostgresStore::connect(&url, std::time::Duration::from_secs(60)).unwrap();
    for (i, (language, outcome)) in [("en", "answer"), ("es", "escalate"), ("es", "answer")]
        .into_iter()
        .enumerate()
    {
        let at = JAN_1 + i as u64 * 1_000;
        let c = Conversation::new(ConversationId::generate(), "web", Customer::default(), at);
        let turn = Turn {
            id: MessageId::generate(),
            text: "where is my parcel".into(),
            reply: "here".into(),
            outcome: Outcome::parse(outcome).unwrap(),
            language: language.into(),
            intent: None,
            article: None,
            confidence: 0.8,
            at_ms: at + 500,
            response_ms: Some(100 * (i as u32 + 1)),
            client_id: None,
            shown: None,
        };
        store.record_first_turn(c, turn, None, None).unwrap();
    }
    let mut cmd = concierge(["report", "--json", "--by", "language"]);
    cmd.args(["--since", "2026-01-01", "--until", "2026-01-02"])
        .env("CONCIERGE_DATABASE_URL", url.expose());
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    let expected = store
        .report(&ReportQuery {
            since_ms: JAN_1,
            until_ms: JAN_1 + DAY,
            by: GroupBy::Language,
        })
        .unwrap();
    assert_eq!(got, serde_json::to_value(&expected).unwrap());
    assert_eq!(got["total"]["conversations"], 3);
    assert_eq!(got["rows"][1]["key"], "es");
    assert_eq!(got["rows"][1]["escalated"], 1);
}
