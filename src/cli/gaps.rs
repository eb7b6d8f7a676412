//! `concierge gaps`: the questions nobody answered, grouped by meaning and ranked by how many
//! shoppers asked (`src/gaps/`), as a table or JSON; `--write-drafts DIR` writes an article
//! draft per group for editors to complete.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use concierge::gaps::{self, GapKind, Shown};

#[derive(Debug, Args)]
pub(super) struct GapsArgs {
    #[command(flatten)]
    sources: super::Sources,
    /// Messages sent at or after this: a date (`2026-12-01`, UTC midnight) or an RFC 3339
    /// time. Default: 30 days before `--until`.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// … and before this (same formats). Default: now.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// The data folder `serve` uses (PostgreSQL instead when `CONCIERGE_DATABASE_URL` is set).
    #[arg(long, value_name = "DIR", default_value = super::DEFAULT_DATA)]
    data: PathBuf,
    /// Groups shown (and drafted), most asked first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Groups asked by fewer shoppers than this are left out.
    #[arg(long, value_name = "N", default_value_t = 1)]
    min_shoppers: u64,
    /// The whole report as JSON.
    #[arg(long)]
    json: bool,
    /// Write a Markdown article draft per group into DIR (`<language>/gaps/NN-….md`: copy
    /// what you complete into the knowledge base).
    #[arg(long, value_name = "DIR")]
    write_drafts: Option<PathBuf>,
}

pub(super) fn gaps(a: GapsArgs) -> Result<ExitCode> {
    let window = super::window(a.since.as_deref(), a.until.as_deref())?;
    let store = super::existing_store(&a.data)?;
    let (engine, _) = super::load(&a.sources)?;
    let report = gaps::report(
        &engine,
        store.as_ref(),
        window,
        Shown {
            limit: a.limit,
            min_shoppers: a.min_shoppers,
        },
    )?;
    let groups = &report.groups;

    if let Some(dir) = &a.write_drafts {
        for (n, g) in groups.iter().enumerate() {
            let d = gaps::draft(g, n + 1);
            let path = dir.join(&d.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, d.markdown)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        eprintln!(
            "{} drafts written under {} (complete them, then copy them into the knowledge base; `concierge check` checks them)",
            groups.len(),
            dir.display()
        );
    }

    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{} unanswered messages, {} groups shown (most asked first)\n",
        report.messages,
        groups.len()
    )?;
    for (n, g) in groups.iter().enumerate() {
        let kind = match g.kind {
            GapKind::MissingArticle => "missing article",
            GapKind::MissingPhrasing => "missing phrasing",
        };
        writeln!(
            out,
            "{:>2}. [{}] {} shoppers, {} messages: {kind}",
            n + 1,
            g.language,
            g.shoppers,
            g.messages
        )?;
        for q in g.questions.iter().take(3) {
            writeln!(out, "      \"{}\" ×{}", q.text, q.count)?;
        }
        if let Some(nb) = &g.nearest {
            writeln!(
                out,
                "      nearest: {} \"{}\" ({:.2})",
                nb.article, nb.title, nb.confidence
            )?;
        }
        let weeks: Vec<String> = g.by_week.iter().map(|(w, c)| format!("{w}: {c}")).collect();
        writeln!(out, "      by week: {}", weeks.join(", "))?;
    }
    Ok(ExitCode::SUCCESS)
}
