//! `concierge report`: the KPIs of the stored conversations as a table, JSON or CSV
//! (definitions in `docs/kpis.md`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use concierge::store::report::{KpiRow, Percentiles};
use concierge::store::{GroupBy, Report, ReportQuery};

#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// Conversations that started at or after this: a date (`2026-12-01`, UTC midnight) or
    /// an RFC 3339 time (`2026-12-01T00:00:00+01:00`). Default: 30 days before `--until`.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// … and before this (same formats). Default: now.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// One row per UTC day, ISO week, language (of the first message) or channel.
    #[arg(long, value_enum, default_value_t = By::Day)]
    by: By,
    /// The whole report as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// One CSV line per row, the total last.
    #[arg(long)]
    csv: bool,
    /// The data folder `serve` uses (PostgreSQL instead when `CONCIERGE_DATABASE_URL` is set).
    #[arg(long, value_name = "DIR", default_value = super::DEFAULT_DATA)]
    data: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum By {
    Day,
    Week,
    Language,
    Channel,
}

pub(super) fn report(a: ReportArgs) -> Result<ExitCode> {
    let window = super::window(a.since.as_deref(), a.until.as_deref())?;
    let store = super::existing_store(&a.data)?;
    let by = match a.by {
        By::Day => GroupBy::Day,
        By::Week => GroupBy::Week,
        By::Language => GroupBy::Language,
        By::Channel => GroupBy::Channel,
    };
    let report = store.report(&ReportQuery {
        since_ms: window.since_ms,
        until_ms: window.until_ms,
        by,
    })?;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if a.csv {
        write_csv(&mut out, &report)?;
    } else {
        write_table(&mut out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.4}"))
}

fn write_table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<12} {:>8} {:>9} {:>9} {:>7} {:>5} {:>6} {:>9} {:>9} {:>11} {:>11}",
        "",
        "convs",
        "deflect",
        "escal",
        "fcr",
        "csat",
        "thumb+",
        "resp p50",
        "resp p95",
        "deliv p50",
        "human p50"
    )?;
    for row in r.rows.iter().chain(std::iter::once(&r.total)) {
        writeln!(
            out,
            "{:<12} {:>8} {:>9} {:>9} {:>7} {:>5} {:>6} {:>9} {:>9} {:>11} {:>11}",
            row.key,
            row.conversations,
            pct(row.deflection_rate),
            pct(row.escalation_rate),
            pct(row.first_contact_resolution_rate),
            row.csat
                .average
                .map_or_else(|| "-".into(), |a| format!("{a:.2}")),
            pct(row.thumbs_up_ratio),
            num(row.response_ms.p50).to_string() + "ms",
            num(row.response_ms.p95).to_string() + "ms",
            num(row.escalation_to_delivery_ms.p50.map(|v| v / 1000)).to_string() + "s",
            num(row.first_human_response_ms.p50.map(|v| v / 1000)).to_string() + "s",
        )?;
    }
    if !r.total.escalated_by_reason.is_empty() {
        let reasons: Vec<String> = r
            .total
            .escalated_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(out, "escalated by reason: {}", reasons.join(", "))?;
        let cp: Vec<String> = r
            .total
            .escalated_by_category_priority
            .iter()
            .map(|c| format!("{}/{} {}", c.category, c.priority, c.count))
            .collect();
        writeln!(out, "by category/priority: {}", cp.join(", "))?;
    }
    Ok(())
}

const CSV_HEADER: &str = "key,conversations,messages,deflected,deflection_rate,escalated,escalation_rate,first_contact_resolved,first_contact_resolution_rate,csat_count,csat_average,csat_1,csat_2,csat_3,csat_4,csat_5,thumbs_up,thumbs_down,thumbs_up_ratio,response_ms_count,response_ms_p50,response_ms_p95,escalation_to_delivery_ms_count,escalation_to_delivery_ms_p50,escalation_to_delivery_ms_p95,first_human_response_ms_count,first_human_response_ms_p50,first_human_response_ms_p95,tickets_pending,tickets_dead,escalated_by_reason,escalated_by_category_priority";

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn percentile_fields(p: &Percentiles) -> String {
    format!("{},{},{}", p.count, num_empty(p.p50), num_empty(p.p95))
}

fn num_empty(v: Option<u64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn csv_row(row: &KpiRow) -> String {
    let reasons: Vec<String> = row
        .escalated_by_reason
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let cp: Vec<String> = row
        .escalated_by_category_priority
        .iter()
        .map(|c| format!("{}/{}={}", c.category, c.priority, c.count))
        .collect();
    let d = row.csat.distribution;
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        field(&row.key),
        row.conversations,
        row.messages,
        row.deflected,
        opt(row.deflection_rate),
        row.escalated,
        opt(row.escalation_rate),
        row.first_contact_resolved,
        opt(row.first_contact_resolution_rate),
        row.csat.count,
        opt(row.csat.average),
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        row.thumbs_up,
        row.thumbs_down,
        opt(row.thumbs_up_ratio),
        percentile_fields(&row.response_ms),
        percentile_fields(&row.escalation_to_delivery_ms),
        percentile_fields(&row.first_human_response_ms),
        format_args!("{},{}", row.tickets_pending, row.tickets_dead),
        field(&reasons.join(";")),
        field(&cp.join(";")),
    )
}

fn write_csv(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    for row in r.rows.iter().chain(std::iter::once(&r.total)) {
        writeln!(out, "{}", csv_row(row))?;
    }
    Ok(())
}
