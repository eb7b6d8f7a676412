//! The subcommands: ask, search, check, eval, calibrate, chat, test, serve, forget.

mod paths;
mod progress;
mod start;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod gaps;
mod report;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use concierge::config::{NamedInFile, Settings};
use concierge::conversation::{Core, Message, Outcome as TurnOutcome, Start, TestDriver, Turned};
use concierge::diagnostic::Diagnostic;
use concierge::engine::{Engine, Outcome, Question};
use concierge::escalation::{DeliveryState, EscalationId, OutboxError, Policy};
use concierge::eval;
use concierge::http::wire::TicketOut;
use concierge::locale::Locale;
use concierge::pii;
use concierge::store::{
    self, Conversation, ConversationId, Customer, MemoryStore, SqliteStore, Store,
};

use progress::{Reporter, Verbosity};

/// How often `serve` purges what is past retention.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, Parser)]
#[command(
    name = "concierge",
    version,
    about = "Self-hosted chatbot and FAQ self-service engine for online shops"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Answer one question, or one question per line of standard input.
    Ask(AskArgs),
    /// Search the help center like its search box does.
    Search(SearchArgs),
    /// Check the knowledge base, intents and config for mistakes (exit 1 on errors).
    Check(Sources),
    /// Score the bot on a labelled set of questions (JSON Lines).
    Eval(EvalArgs),
    /// Fit the confidence model and thresholds on a labelled set.
    Calibrate(CalibrateArgs),
    /// Chat with the bot in the terminal.
    Chat(Sources),
    /// Run conversation tests (YAML files of whole conversations; see
    /// docs/conversation-tests.md). Exit 1 when one fails.
    Test(TestArgs),
    /// Serve the HTTP API, the chat widget and a demo page.
    Serve(ServeArgs),
    /// Delete everything stored about a customer: conversations, messages, feedback, tickets.
    Forget(ForgetArgs),
    /// Escalation tickets: list them, or put one back in line for delivery.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// KPIs of the stored conversations: deflection, escalations, CSAT, first-contact
    /// resolution, response times (definitions: docs/kpis.md).
    Report(report::ReportArgs),
    /// The questions nobody answered, grouped by meaning and ranked by how many shoppers
    /// asked, with article drafts for editors (`--write-drafts DIR`).
    Gaps(gaps::GapsArgs),
}

#[derive(Debug, Subcommand)]
enum TicketsCommand {
    /// Tickets and their delivery, newest first.
    List(TicketsListArgs),
    /// Puts a ticket (a dead letter, after the helpdesk is fixed) back in line: a running
    /// `serve` sends it within seconds, or the next one at start.
    Retry(TicketsRetryArgs),
}

#[derive(Debug, Args)]
struct TicketsListArgs {
    /// Only tickets in this state.
    #[arg(long, value_enum)]
    state: Option<TicketState>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// The data folder `serve` uses.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA)]
    data: PathBuf,
}

#[derive(Debug, Args)]
struct TicketsRetryArgs {
    /// The ticket's id (`esc_…`), or `--dead` for every dead letter.
    #[arg(value_name = "ID", required_unless_present = "dead")]
    id: Option<String>,
    /// Retry every dead ticket.
    #[arg(long, conflicts_with = "id")]
    dead: bool,
    /// The data folder `serve` uses.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA)]
    data: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TicketState {
    Pending,
    Delivered,
    Dead,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    sources: Sources,
    /// Address to listen on (default: the config's `http.listen`, else 127.0.0.1:8080).
    /// Port 0 picks a free port; the log line says which.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Folder for the service's data: the database of conversations and tickets,
    /// `DIR/concierge.sqlite3`. A folder named here must exist; the default ./data is
    /// created if missing.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// Where `serve` keeps its database unless told otherwise.
const DEFAULT_DATA: &str = "./data";

#[derive(Debug, Args)]
struct ForgetArgs {
    /// The customer's id, as the shop sends it in `customer.id`.
    #[arg(long, value_name = "ID")]
    customer: String,
    /// The data folder `serve` uses.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA)]
    data: PathBuf,
}

/// Where the shop's content and settings are.
#[derive(Debug, Args, Clone)]
struct Sources {
    /// Knowledge-base folder (default: the config's, else ./knowledge-base).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    /// Intents folder (default: the config's, else ./intents).
    #[arg(long, value_name = "DIR")]
    intents: Option<PathBuf>,
    /// Config file (default: ./concierge.yaml when it exists).
    #[arg(long, value_name = "FILE", env = "CONCIERGE_CONFIG")]
    config: Option<PathBuf>,
    /// Match words only: do not load the sentence-embedding model.
    /// `CONCIERGE_LEXICAL_ONLY` takes 1/0, true/false, yes/no, on/off, as scripts/setup does.
    #[arg(long, env = "CONCIERGE_LEXICAL_ONLY", value_parser = clap::builder::BoolishValueParser::new())]
    lexical_only: bool,
    /// The sentence-embedding model folder (default: the config's, else
    /// ./models/all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR", env = "CONCIERGE_MODEL")]
    model: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct AskArgs {
    #[command(flatten)]
    sources: Sources,
    /// Print each answer as one JSON object per line.
    #[arg(long)]
    json: bool,
    /// The shopper's language if known (a hint; the message decides).
    #[arg(long, value_name = "LOCALE")]
    locale: Option<Locale>,
    /// Also show, on standard error, why: the language, the candidates and their signals.
    #[arg(long)]
    explain: bool,
    /// The question; without it, questions are read from standard input, one per line.
    #[arg(value_parser = clap::value_parser!(std::ffi::OsString))]
    question: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
struct SearchArgs {
    #[command(flatten)]
    sources: Sources,
    /// Search this language's articles (default: detected from the query).
    #[arg(long, value_name = "L")]
    locale: Option<Locale>,
    /// How many results.
    #[arg(long, value_name = "N", default_value_t = 10)]
    limit: usize,
    /// One JSON object per result line.
    #[arg(long)]
    json: bool,
    /// What to search for.
    #[arg(required = true, value_parser = clap::value_parser!(std::ffi::OsString))]
    query: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// The labelled set: lines like {"q": "...", "expect": "<article or intent id>" | "ESCALATE", "lang"?: "es"}.
    file: PathBuf,
    #[command(flatten)]
    sources: Sources,
    /// Fail below this top-1 accuracy, for every language (`0.85`) or one (`en=0.9`); repeatable.
    #[arg(long, value_name = "[LANG=]RATIO")]
    min_top1: Vec<String>,
    /// Fail when fewer must-escalate questions than this escalate.
    #[arg(long, value_name = "RATIO")]
    min_escalation_recall: Option<f64>,
    /// Fail when more answerable questions than this escalate.
    #[arg(long, value_name = "RATIO")]
    max_false_escalation: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write every question's result to this file (JSON Lines).
    #[arg(long, value_name = "FILE")]
    dump: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// The test files, e.g. tests/conversations/*.yaml.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    sources: Sources,
}

#[derive(Debug, Args)]
struct CalibrateArgs {
    /// The labelled tuning set (never the set you report on).
    file: PathBuf,
    #[command(flatten)]
    sources: Sources,
    /// The largest share of answerable questions the clarify threshold may escalate.
    #[arg(long, default_value_t = 0.04)]
    max_false_escalation: f64,
    /// Also fit on this shop (repeatable): a folder with knowledge-base/, questions.jsonl
    /// and, if it has any, intents/, loaded with the same settings. One calibration for
    /// several shops, as the defaults are fitted (docs/quality.md).
    #[arg(long = "shop", value_name = "DIR")]
    shops: Vec<PathBuf>,
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Ask(a) => ask(a),
        Command::Search(a) => search(a),
        Command::Check(s) => check(s),
        Command::Eval(a) => eval_cmd(a),
        Command::Calibrate(a) => calibrate(a),
        Command::Chat(s) => chat(s),
        Command::Test(a) => test(a),
        Command::Serve(a) => serve(a),
        Command::Tickets(TicketsCommand::List(a)) => tickets_list(a),
        Command::Tickets(TicketsCommand::Retry(a)) => tickets_retry(a),
        Command::Forget(a) => forget(a),
        Command::Report(a) => report::report(a),
        Command::Gaps(a) => gaps::gaps(a),
    }
}

impl Cli {
    /// The log level when `CONCIERGE_LOG` is not set: the service logs what it does, the
    /// other commands only warnings.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Serve(_) => "info",
            _ => "warn",
        }
    }
}

fn settings(s: &Sources) -> Result<Settings> {
    if let Some(path) = &s.config {
        paths::require_config(path)?;
    }
    let (mut settings, named) = match &s.config {
        Some(path) => Settings::from_file_naming(path)?,
        None if PathBuf::from("concierge.yaml").is_file() => {
            Settings::from_file_naming("concierge.yaml".as_ref())?
        }
        None => (Settings::default(), NamedInFile::default()),
    };
    if let Some(kb) = &s.kb {
        settings.knowledge_base = kb.clone();
    }
    if let Some(i) = &s.intents {
        settings.intents = i.clone();
    }
    if let Some(m) = &s.model {
        settings.semantic.model = Some(m.clone());
    }
    if s.lexical_only {
        settings.semantic.enabled = false;
    }
    // Secrets rather come from the environment than from a file in the shop's repository.
    if let Ok(token) = std::env::var("CONCIERGE_ADMIN_TOKEN") {
        settings.admin.token = concierge::config::AdminToken::new(&token);
    }
    if let Ok(secret) = std::env::var("CONCIERGE_IDENTITY_SECRET") {
        settings.handover.identity_secret = concierge::handover::IdentitySecret::new(&secret);
    }
    if let Ok(token) = std::env::var("CONCIERGE_HANDOVER_TOKEN") {
        settings.handover.inbound_token = concierge::handover::InboundToken::new(&token);
    }
    if let Ok(secret) = std::env::var("CONCIERGE_HANDOVER_SECRET") {
        let parsed = concierge::escalation::sign::WebhookSecret::parse(&secret)
            .map_err(|e| anyhow::anyhow!("CONCIERGE_HANDOVER_SECRET: {e}"))?;
        settings.handover.inbound_secret = Some(parsed);
    }
    if let Ok(token) = std::env::var("CONCIERGE_CHATWOOT_BOT_TOKEN") {
        settings.chatwoot.bot_token = concierge::chatwoot::Token::new(&token);
    }
    if let Ok(token) = std::env::var("CONCIERGE_CHATWOOT_WEBHOOK_TOKEN") {
        settings.chatwoot.webhook_token = concierge::chatwoot::Token::new(&token);
    }
    if let Ok(url) = std::env::var("CONCIERGE_DATABASE_URL") {
        settings.storage.url = store::DatabaseUrl::new(&url);
    }
    paths::require_named(s, &settings, named)?;
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("{e} (from the environment or the config file)"))?;
    Ok(settings)
}

/// Loads the engine; problems in the content are logged as warnings and the rest is served.
fn load(s: &Sources) -> Result<(Engine, Vec<Diagnostic>)> {
    load_reporting(s, &Reporter::new(Verbosity::LongWork))
}

/// `load`, telling `progress` what it does (the first start embeds the shop: minutes).
fn load_reporting(s: &Sources, progress: &Reporter) -> Result<(Engine, Vec<Diagnostic>)> {
    let settings = settings(s)?;
    if !settings.knowledge_base.is_dir() {
        bail!(
            "the knowledge base folder {} does not exist\n  hint: pass --kb DIR, or run from the folder that holds knowledge-base/",
            settings.knowledge_base.display()
        );
    }
    progress.starting(&settings);
    let (engine, diags) =
        Engine::load_reporting(&settings, None, progress).context("loading the shop")?;
    if let Some(why) = engine.semantic_off_reason() {
        eprintln!("warning: the semantic layer is off (semantic.on_error: lexical): {why}");
    }
    Ok((engine, diags))
}

/// The shop's escalation policy, as the service applies it.
fn policy(s: &Sources) -> Result<Policy> {
    settings(s)?
        .escalation
        .policy()
        .context("the config's `escalation.policy`")
}

fn warn_diagnostics(diags: &[Diagnostic]) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        eprintln!("warning: {errors} problem(s) in the content were skipped; run `concierge check` for details");
    }
}

fn print_turned(out: &mut impl Write, turned: &Turned, json: bool) -> Result<()> {
    let reply = &turned.reply;
    if json {
        // The engine's reply as the service decided it: the outcome and the reason of a
        // hand-over are the conversation core's.
        // Through text, not `to_value`: that widens each f32 to an f64 with its binary
        // tail (0.9654499292373656), where the service prints the f32 (0.9654499).
        let mut v: serde_json::Value = serde_json::from_str(&serde_json::to_string(reply)?)?;
        v["outcome"] = turned.outcome.as_str().into();
        if let Some(reason) = turned.escalation {
            v["escalation"] = reason.as_str().into();
        }
        serde_json::to_writer(&mut *out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "[{} {:.2} {}] {}",
            turned.outcome, reply.confidence, reply.language, reply.text
        )?;
        if let Some(link) = &reply.link {
            writeln!(out, "  → {} ({})", link.title, link.url)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn ask(a: AskArgs) -> Result<ExitCode> {
    let (engine, diags) = load(&a.sources)?;
    warn_diagnostics(&diags);
    let policy = policy(&a.sources)?;
    // No conversation: the single-message triggers, through the service's own path.
    let core = Core::new(&engine, &policy);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let hint = a.locale.clone();
    if !a.question.is_empty() {
        let q = lossy_join(&a.question);
        let question = Question::new(&q).with_locale_hint(hint.clone());
        if a.explain {
            explain(&engine, &question);
        }
        let turned = core.alone(&Message::new(&q).with_locale(hint));
        print_turned(&mut out, &turned, a.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    // One question per line, answered as it arrives: other tools stream through this.
    let stdin = std::io::stdin();
    let mut line = Vec::new();
    let mut input = stdin.lock();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let turned = core
            .alone(&Message::new(text.trim_end_matches(['\n', '\r'])).with_locale(hint.clone()));
        print_turned(&mut out, &turned, a.json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what the engine saw in a message, for editors wondering why it answered so.
fn explain(engine: &Engine, question: &Question<'_>) {
    let a = engine.analyze(question);
    eprintln!(
        "language: {}; pattern hits: {:?}",
        a.language,
        a.pattern_hits
            .iter()
            .map(|&i| engine.intents()[i].id.to_string())
            .collect::<Vec<_>>()
    );
    eprintln!(
        "engine: {}; features of the best: {:?}",
        match (engine.is_semantic(), a.hybrid) {
            (true, true) => "hybrid (lexical + semantic)",
            (true, false) =>
                "hybrid, lexical for this message (semantic.languages does not list its language)",
            (false, _) => "lexical",
        },
        a.features
    );
    for c in a.candidates.iter().take(8) {
        let (article, intent) = engine.target_ids(c.target);
        let name = intent
            .map(|i| i.to_string())
            .or_else(|| article.map(|a| a.to_string()))
            .unwrap_or_default();
        eprintln!(
            "  {:.3}  [{}] {name}  cosine {:.2} coverage {:.2} semantic {:.2} unknown {:.2} terms {}",
            c.score, c.lang, c.m.cosine, c.m.coverage, c.semantic, c.unknown, c.n_terms
        );
    }
}

/// Words from the command line as one message. Bytes that are not UTF-8 become U+FFFD, as
/// they do on standard input: a shopper's message is never refused for its encoding.
fn lossy_join(words: &[std::ffi::OsString]) -> String {
    words
        .iter()
        .map(|w| w.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

fn search(a: SearchArgs) -> Result<ExitCode> {
    let (engine, diags) = load(&a.sources)?;
    warn_diagnostics(&diags);
    let q = lossy_join(&a.query);
    let hits = engine.search(&q, a.locale.as_ref(), a.limit);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for h in hits {
        if a.json {
            serde_json::to_writer(&mut out, &h)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:.3}  {}  {}\n       {}",
                h.score, h.article, h.title, h.snippet
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(s: Sources) -> Result<ExitCode> {
    let (engine, diags) = load(&s)?;
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    for d in &diags {
        eprintln!("{d}");
    }
    let articles = engine.knowledge_base().len();
    let intents = engine.intents().len();
    let flows = engine.flows().len();
    if errors > 0 {
        eprintln!("{errors} error(s), {warnings} warning(s) in {articles} article(s), {intents} intent(s) and {flows} flow(s)");
        Ok(ExitCode::from(1))
    } else {
        println!("ok: {articles} article(s), {intents} intent(s), {flows} flow(s), {warnings} warning(s)");
        Ok(ExitCode::SUCCESS)
    }
}

fn eval_cmd(a: EvalArgs) -> Result<ExitCode> {
    let progress = Reporter::new(Verbosity::Steps);
    let (engine, diags) = load_reporting(&a.sources, &progress)?;
    warn_diagnostics(&diags);
    let set = eval::read_labelled(&a.file)?;
    let policy = policy(&a.sources)?;
    let outcomes = eval::run_reporting(&engine, &policy, &set, &progress);
    let report = eval::report(&outcomes);
    if let Some(path) = &a.dump {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        for o in &outcomes {
            serde_json::to_writer(&mut f, o)?;
            writeln!(f)?;
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(out, "failures:")?;
        for o in outcomes.iter().filter(|o| match o.expect {
            eval::Expect::Escalate => o.reply.outcome != Outcome::Escalate,
            eval::Expect::Target(_) => !o.top1,
        }) {
            let expect = match &o.expect {
                eval::Expect::Escalate => "ESCALATE".to_string(),
                eval::Expect::Target(t) => t.clone(),
            };
            let got = o
                .reply
                .article
                .as_ref()
                .map(|a| a.to_string())
                .or_else(|| o.reply.intent.as_ref().map(|i| i.to_string()))
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "  line {:>4} [{}] {:?} {:.2}: {:?}\n             expected {expect}, got {got}",
                o.line, o.lang, o.reply.outcome, o.reply.confidence, o.q
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "{:<6} {:>5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "lang", "n", "top-1", "answered", "wrong", "false-esc", "esc-rec", "esc-prec"
        )?;
        let row = |lang: &str, s: &eval::Stats| {
            format!(
                "{:<6} {:>5} {:>7.1}% {:>8.1}% {:>8.1}% {:>8.1}% {:>8.1}% {:>8.1}%",
                lang,
                s.questions,
                100.0 * s.top1_accuracy(),
                100.0 * eval_ratio(s.answered_right, s.answerable),
                100.0 * eval_ratio(s.answered_wrong, s.answerable),
                100.0 * s.false_escalation(),
                100.0 * s.escalation_recall(),
                100.0 * s.escalation_precision()
            )
        };
        for (lang, s) in &report.by_language {
            writeln!(out, "{}", row(lang, s))?;
        }
        writeln!(out, "{}", row("all", &report.total))?;
        writeln!(
            out,
            "\nreliability (confidence bucket: questions, share right):"
        )?;
        for (b, n, ok) in &report.reliability {
            writeln!(
                out,
                "  {:.1}-{:.1}: {:>4}  {:>5.1}%",
                b,
                b + 0.1,
                n,
                ok * 100.0
            )?;
        }
    }
    let mut failed = Vec::new();
    for spec in &a.min_top1 {
        let (lang, min) = match spec.split_once('=') {
            Some((l, m)) => (Some(l.to_string()), m),
            None => (None, spec.as_str()),
        };
        let min: f64 = min
            .parse()
            .with_context(|| format!("--min-top1 {spec}: not a number"))?;
        for (l, s) in &report.by_language {
            if lang.as_deref().is_none_or(|x| x == l) && s.answerable > 0 && s.top1_accuracy() < min
            {
                failed.push(format!(
                    "top-1 accuracy in {l} is {:.3} < {min}",
                    s.top1_accuracy()
                ));
            }
        }
    }
    if let Some(min) = a.min_escalation_recall {
        if report.total.escalation_recall() < min {
            failed.push(format!(
                "escalation recall {:.3} < {min}",
                report.total.escalation_recall()
            ));
        }
    }
    if let Some(max) = a.max_false_escalation {
        if report.total.false_escalation() > max {
            failed.push(format!(
                "false escalation {:.3} > {max}",
                report.total.false_escalation()
            ));
        }
    }
    for f in &failed {
        eprintln!("FAIL: {f}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn eval_ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn calibrate(a: CalibrateArgs) -> Result<ExitCode> {
    // A mistyped shop is named before minutes of loading.
    for dir in &a.shops {
        if !dir.join("knowledge-base").is_dir() || !dir.join("questions.jsonl").is_file() {
            bail!(
                "{} is not a shop to fit on: it needs knowledge-base/ and questions.jsonl\n  hint: pass --shop a folder like tests/devshops/pawtrail",
                dir.display()
            );
        }
    }
    let progress = Reporter::new(Verbosity::Steps);
    let (engine, diags) = load_reporting(&a.sources, &progress)?;
    warn_diagnostics(&diags);
    let set = eval::read_labelled(&a.file)?;
    // The other shops: the same settings, their own folders, the model shared.
    let mut others = Vec::new();
    for dir in &a.shops {
        let questions = dir.join("questions.jsonl");
        let mut settings = settings(&a.sources)?;
        settings.knowledge_base = dir.join("knowledge-base");
        settings.intents = dir.join("intents");
        let (shop, diags) = Engine::load_reporting(&settings, Some(&engine), &progress)
            .with_context(|| format!("loading the shop {}", dir.display()))?;
        warn_diagnostics(&diags);
        others.push((shop, eval::read_labelled(&questions)?));
    }
    let mut shops: Vec<(&Engine, &[eval::Labelled])> = vec![(&engine, &set)];
    shops.extend(others.iter().map(|(e, s)| (e, s.as_slice())));
    let fit = eval::fit_shops(&shops, a.max_false_escalation, &progress);
    let fitted_on = std::iter::once(a.file.display().to_string())
        .chain(a.shops.iter().map(|d| format!("--shop {}", d.display())))
        .collect::<Vec<_>>()
        .join(" ");
    #[derive(serde::Serialize)]
    struct Fitted {
        thresholds: concierge::config::Thresholds,
        calibration: concierge::config::Calibration,
    }
    let fitted = Fitted {
        thresholds: fit.thresholds,
        calibration: fit.calibration,
    };
    if engine.is_semantic() {
        println!(
            "# hybrid engine, fitted by `concierge calibrate {}` on its {} questions in the model's languages ({}): these keys go under `semantic:`",
            fitted_on,
            fit.questions,
            engine
                .settings()
                .semantic
                .languages
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        #[derive(serde::Serialize)]
        struct Semantic {
            semantic: Fitted,
        }
        print!("{}", serde_yaml::to_string(&Semantic { semantic: fitted })?);
        println!("# fitted on the shop's own questions: self-calibration is no longer needed");
        println!("self_calibration: false");
    } else {
        println!(
            "# lexical engine, fitted by `concierge calibrate {}` on {} questions",
            fitted_on, fit.questions
        );
        print!("{}", serde_yaml::to_string(&fitted)?);
        println!("# fitted on the shop's own questions: self-calibration is no longer needed");
        println!("self_calibration: false");
    }
    Ok(ExitCode::SUCCESS)
}

/// `concierge test FILE...`: every file's conversations through the conversation core, the
/// flows' actions answered by the test steps (no network).
fn test(a: TestArgs) -> Result<ExitCode> {
    // Read every file first: a mistake in one is reported before minutes of loading.
    let mut files = Vec::new();
    for path in &a.files {
        match concierge::convtest::read(path) {
            Ok(f) => files.push((path, f)),
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    let (engine, diags) = load(&a.sources)?;
    warn_diagnostics(&diags);
    let policy = policy(&a.sources)?;
    let core = Core::new(&engine, &policy);
    let (mut passed, mut failed) = (0usize, 0usize);
    for (path, file) in &files {
        let mut driver = TestDriver::new(core);
        let outcomes = concierge::convtest::run(file, &mut driver);
        print!("{}", concierge::convtest::report(path, &outcomes));
        let f = outcomes.iter().filter(|o| o.failure.is_some()).count();
        failed += f;
        passed += outcomes.len() - f;
    }
    if files.len() > 1 {
        println!("total: {passed} passed, {failed} failed");
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn chat(s: Sources) -> Result<ExitCode> {
    let progress = Reporter::new(Verbosity::Steps);
    let (engine, diags) = load_reporting(&s, &progress)?;
    warn_diagnostics(&diags);
    let policy = policy(&s)?;
    let core = Core::new(&engine, &policy);
    // One conversation, kept in memory: the service's path, so follow-ups and hand-overs
    // behave as they do in the widget.
    let store = MemoryStore::new(1);
    // A flow's action is an HTTP call: it runs between deciding and recording the turn.
    let actions = concierge::flows::Executor::new()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime for flow actions")?;
    let name = &engine.settings().shop.name;
    start::ready(&engine, &progress);
    println!("{name} — chat with the shop's assistant. Type your question; an empty line or Ctrl-D ends.");
    start::print_questions_to_try(&engine)?;
    let stdin = std::io::stdin();
    let mut conversation: Option<ConversationId> = None;
    let mut last: Option<Turned> = None;
    loop {
        print!("you> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let text = line.trim();
        // A number picks a "did you mean" choice of the previous reply.
        let picked = last
            .as_ref()
            .filter(|t| t.outcome == TurnOutcome::Clarify)
            .and_then(|t| {
                text.parse::<usize>()
                    .ok()
                    .and_then(|n| t.reply.suggestions.get(n.wrapping_sub(1)))
            })
            .map(|s| s.title.clone());
        let masked = pii::mask(picked.as_deref().unwrap_or(text)).into_owned();
        let start = match &conversation {
            Some(id) => Start::Existing(id.clone()),
            None => Start::New(Conversation::new(
                ConversationId::generate(),
                "cli",
                Customer::default(),
                store::now_ms(),
            )),
        };
        let recorded =
            core.take_turn(&store, start, &Message::new(&masked), || {}, &mut |call| {
                runtime.block_on(actions.run(call))
            })?;
        let turned = recorded.turned;
        let reply = &turned.reply;
        println!("bot> {}", reply.text.replace('\n', "\n     "));
        // A choice slot's quick replies: typing the number picks it (the flow reads "2").
        if let Some(flow) = &turned.flow {
            for (i, c) in flow.choices.iter().enumerate() {
                println!("     {}) {}", i + 1, c.label);
            }
        }
        if turned.outcome == TurnOutcome::Clarify {
            for (i, s) in reply.suggestions.iter().enumerate() {
                println!("     {}) {}", i + 1, s.title);
            }
        }
        if let Some(link) = &reply.link {
            println!("     → {} ({})", link.title, link.url);
        }
        conversation = Some(recorded.conversation);
        last = Some(turned);
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(a: ServeArgs) -> Result<ExitCode> {
    let mut settings = settings(&a.sources)?;
    if !settings.knowledge_base.is_dir() {
        bail!(
            "the knowledge base folder {} does not exist\n  hint: pass --kb DIR, or run from the folder that holds knowledge-base/",
            settings.knowledge_base.display()
        );
    }
    if let Some(listen) = a.listen {
        settings.http.listen = listen;
    }
    let data = paths::data_dir(a.data)?;
    // Opened before anything listens: a database that cannot be opened stops the service
    // with the path in the message, instead of failing the first shopper.
    // A replica holds a ticket it claimed for delivery this long before another may take it
    // over: longer than an attempt can take.
    let lease = settings.escalation.webhook.timeout() * 2 + Duration::from_secs(10);
    let store = store::open(&settings.storage, &data, lease)?;
    match &settings.storage.url {
        Some(url) => tracing::info!(database = %url, "conversations are kept in PostgreSQL"),
        None => {
            tracing::info!(path = %data.join(store::FILE_NAME).display(), "conversations are kept in the database")
        }
    }
    // Retention runs at start and then hourly (the default `storage:` settings).
    store::spawn_retention(store.clone(), settings.storage.clone(), RETENTION_EVERY)
        .context("starting the retention thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("http")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&settings.http.listen)
            .await
            .with_context(|| format!("listening on {}", settings.http.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(address = %addr, "listening on http://{addr}");
        concierge::http::serve(
            settings,
            store,
            listener,
            concierge::http::shutdown_signal(),
        )
        .await
        .context("serving HTTP")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The window `--since`/`--until` name (`report`, `gaps`): the 30 days before now by default.
fn window(since: Option<&str>, until: Option<&str>) -> Result<concierge::window::Window> {
    let now = jiff::Timestamp::now().as_millisecond().max(0) as u64;
    Ok(concierge::window::Window::parse(
        since,
        until,
        now,
        ("--since", "--until"),
    )?)
}

/// The database `serve` keeps: PostgreSQL when `CONCIERGE_DATABASE_URL` is set, else the
/// SQLite file in `data`, which must exist already.
fn existing_store(data: &Path) -> Result<Arc<dyn Store>> {
    if let Some(url) = std::env::var("CONCIERGE_DATABASE_URL")
        .ok()
        .and_then(|u| store::DatabaseUrl::new(&u))
    {
        url.validate()
            .map_err(|e| anyhow::anyhow!("CONCIERGE_DATABASE_URL: {e}"))?;
        // No delivery runs here, so the lease does not matter.
        return Ok(Arc::new(store::PostgresStore::connect(
            &url,
            Duration::from_secs(60),
        )?));
    }
    Ok(Arc::new(existing_sqlite_store(data)?))
}

/// The SQLite file in `data`, which must exist already.
fn existing_sqlite_store(data: &Path) -> Result<SqliteStore> {
    let path = data.join(store::FILE_NAME);
    if !path.is_file() {
        bail!(
            "there is no database at {}\n  hint: pass the --data DIR that `concierge serve` uses",
            path.display()
        );
    }
    Ok(SqliteStore::open(&path)?)
}

fn tickets_list(a: TicketsListArgs) -> Result<ExitCode> {
    let store = existing_store(&a.data)?;
    let state = a.state.map(|s| match s {
        TicketState::Pending => DeliveryState::Pending,
        TicketState::Delivered => DeliveryState::Delivered,
        TicketState::Dead => DeliveryState::Dead,
    });
    let tickets = store.list(state, a.limit.max(1))?;
    let mut out = std::io::stdout().lock();
    for e in &tickets {
        let t = TicketOut::from_entry(e);
        if a.json {
            writeln!(out, "{}", serde_json::to_string(&t)?)?;
        } else {
            let when = |ms: u64| {
                jiff::Timestamp::from_millisecond(ms as i64)
                    .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default()
            };
            writeln!(
                out,
                "{}  {:9}  attempts {:2}  {}  {:6}  {:7}  {}  \"{}\"{}",
                t.id,
                t.state,
                t.attempts,
                when(t.created_ms),
                t.priority,
                t.mode,
                t.reason,
                t.subject,
                t.last_error
                    .as_deref()
                    .map(|e| format!("  last error: {e}"))
                    .unwrap_or_default()
            )?;
        }
    }
    if tickets.is_empty() && !a.json {
        eprintln!("no tickets");
    }
    Ok(ExitCode::SUCCESS)
}

fn tickets_retry(a: TicketsRetryArgs) -> Result<ExitCode> {
    let store = existing_store(&a.data)?;
    let ids: Vec<EscalationId> = match &a.id {
        Some(id) => vec![EscalationId::parse(id)
            .with_context(|| format!("`{id}` is not a ticket id (they look like esc_0123…)"))?],
        None => store
            .list(Some(DeliveryState::Dead), usize::MAX)?
            .into_iter()
            .map(|e| e.ticket.id)
            .collect(),
    };
    let now = store::now_ms();
    let mut retried = 0;
    for id in &ids {
        match store.retry(id, now) {
            Ok(true) => retried += 1,
            Ok(false) => println!("{id} was already delivered: nothing to do"),
            Err(OutboxError::UnknownTicket(_)) => {
                bail!("no ticket `{id}`\n  hint: `concierge tickets list` shows the ids")
            }
            Err(e) => return Err(e.into()),
        }
    }
    println!("{retried} ticket(s) back in line: a running `concierge serve` sends them within seconds, or the next start does");
    Ok(ExitCode::SUCCESS)
}

fn forget(a: ForgetArgs) -> Result<ExitCode> {
    let path = a.data.join(store::FILE_NAME);
    let store = existing_store(&a.data)?;
    let report = store
        .forget_customer(&a.customer)
        .with_context(|| format!("forgetting customer `{}`", a.customer))?;
    if report.is_empty() {
        println!(
            "nothing found about customer `{}` in {}",
            a.customer,
            path.display()
        );
    } else {
        println!(
            "forgot customer `{}`: {} customer record, {} conversation(s), {} message(s), {} feedback, {} ticket(s)",
            a.customer,
            report.customers,
            report.conversations,
            report.messages,
            report.feedback,
            report.tickets
        );
    }
    Ok(ExitCode::SUCCESS)
}
