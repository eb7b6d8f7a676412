//! The content-gap report for editors (`concierge gaps`): what shoppers asked that nobody
//! answered, grouped by meaning within each language and ranked by how many shoppers asked.
//!
//! The messages come from the store ([`crate::store::Unanswered`]: escalated for low
//! confidence or repeated fallback, thumbs-down answers, "did you mean" with no choice
//! taken). Two messages of one language are alike when they share enough terms (the same
//! analysis the search uses: folding, stop words, synonyms, stems; Jaccard overlap) or, with
//! the semantic layer, when their sentence embeddings are close (cosine). A message joins the
//! group it is most alike, or starts one. For each group: the questions as asked, counts per
//! ISO week and per reason, the nearest existing article, and whether it looks like a missing
//! article or a missing phrasing of that article. [`draft`] turns a group into a Markdown
//! article draft with `title` and `questions:` filled in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::engine::{Engine, Question};
use crate::locale::Locale;
use crate::nlu::Analyzer;
use crate::store::{GapReason, Reports, Unanswered};
use crate::window::Window;

#[cfg(test)]
mod tests;

/// How alike two messages must be to share a group.
#[derive(Debug, Clone, Copy)]
pub struct Similarity {
    /// Jaccard overlap of their terms, at least.
    pub terms: f32,
    /// Cosine of their sentence embeddings, at least (semantic layer only).
    pub cosine: f32,
}

impl Default for Similarity {
    fn default() -> Self {
        Similarity {
            terms: 0.4,
            cosine: 0.8,
        }
    }
}

/// What kind of content a group asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// Nothing in the help center comes close: write an article.
    MissingArticle,
    /// An article covers it, but shoppers say it in words it does not have: add them to its
    /// `questions:`.
    MissingPhrasing,
}

/// A question as shoppers wrote it, and how often.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asked {
    pub text: String,
    pub count: u64,
}

/// The article closest to a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nearest {
    pub article: String,
    pub title: String,
    /// The engine's confidence for the group's most asked question.
    pub confidence: f32,
}

/// One group of alike unanswered messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub language: String,
    /// How many shoppers (conversations) asked.
    pub shoppers: u64,
    pub messages: u64,
    /// The distinct questions, most asked first.
    pub questions: Vec<Asked>,
    /// Messages per ISO week (`2026-W50`).
    pub by_week: BTreeMap<String, u64>,
    pub by_reason: BTreeMap<GapReason, u64>,
    pub nearest: Option<Nearest>,
    pub kind: GapKind,
}

/// A message with what it is compared by.
struct Item<'a> {
    message: &'a Unanswered,
    terms: BTreeSet<String>,
    embedding: Option<&'a [f32]>,
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f32 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f32 / union as f32
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// How alike two messages are, in [0, 1]; `None` when below both thresholds.
fn alike(a: &Item<'_>, b: &Item<'_>, s: Similarity) -> Option<f32> {
    let terms = jaccard(&a.terms, &b.terms);
    let cos = match (a.embedding, b.embedding) {
        (Some(x), Some(y)) => cosine(x, y),
        _ => 0.0,
    };
    let score = terms.max(cos);
    (terms >= s.terms || cos >= s.cosine).then_some(score)
}

/// The ISO week of a Unix time in milliseconds, UTC (`2026-W50`).
fn iso_week(ms: u64) -> String {
    let t = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let w = jiff::tz::TimeZone::UTC
        .to_datetime(t)
        .date()
        .iso_week_date();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// A group while it is built: its members (indexes into the items).
struct Building {
    language: String,
    members: Vec<usize>,
}

/// Members compared when a message looks for its group (the first ones: the most asked
/// texts come first), so a large group costs no more than this.
const COMPARED: usize = 24;

/// The embeddings of the distinct texts of `order` (a window of a busy shop repeats the same
/// few questions thousands of times, each is embedded once), and for each message the index
/// of its text's; empty without the semantic layer.
fn embed_distinct(engine: &Engine, order: &[&Unanswered]) -> (Vec<Option<Vec<f32>>>, Vec<usize>) {
    if !engine.is_semantic() {
        return (Vec::new(), Vec::new());
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut distinct: Vec<&str> = Vec::new();
    let slots: Vec<usize> = order
        .iter()
        .map(|m| {
            *index.entry(m.text.as_str()).or_insert_with(|| {
                distinct.push(m.text.as_str());
                distinct.len() - 1
            })
        })
        .collect();
    (engine.embed_messages(&distinct), slots)
}

/// The content-gap report of a time window, as `concierge gaps --json` and the dashboard
/// show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since_ms: u64,
    pub until_ms: u64,
    /// Unanswered messages in the window.
    pub messages: usize,
    /// The groups shown, most asked first.
    pub groups: Vec<Group>,
}

/// Which groups a [`Report`] shows.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// The most asked groups, at most.
    pub limit: usize,
    /// Groups asked by fewer shoppers are left out.
    pub min_shoppers: u64,
}

/// Reads the window's unanswered messages from `store`, groups them ([`find`]) and keeps the
/// groups `shown`. Blocking: a store read, analysis and (semantic layer) embeddings.
pub fn report(
    engine: &Engine,
    store: &dyn Reports,
    window: Window,
    shown: Shown,
) -> crate::store::Result<Report> {
    let messages = store.unanswered(window.since_ms, window.until_ms)?;
    let mut groups = find(engine, &messages, Similarity::default());
    groups.retain(|g| g.shoppers >= shown.min_shoppers);
    groups.truncate(shown.limit);
    Ok(Report {
        since_ms: window.since_ms,
        until_ms: window.until_ms,
        messages: messages.len(),
        groups,
    })
}

/// Groups the messages and ranks the groups by shoppers, then messages (most first).
pub fn find(engine: &Engine, messages: &[Unanswered], similarity: Similarity) -> Vec<Group> {
    // The most asked texts first, so that they seed the groups.
    let mut counts: HashMap<(&str, String), u64> = HashMap::new();
    for m in messages {
        *counts
            .entry((m.language.as_str(), m.text.trim().to_lowercase()))
            .or_default() += 1;
    }
    let mut order: Vec<&Unanswered> = messages.iter().collect();
    order.sort_by(|a, b| {
        let ka = counts[&(a.language.as_str(), a.text.trim().to_lowercase())];
        let kb = counts[&(b.language.as_str(), b.text.trim().to_lowercase())];
        kb.cmp(&ka)
            .then_with(|| a.language.cmp(&b.language))
            .then_with(|| a.text.cmp(&b.text))
            .then_with(|| a.message.cmp(&b.message))
    });
    let mut analyzers: HashMap<&str, Analyzer> = HashMap::new();
    let (vectors, slots) = embed_distinct(engine, &order);
    let items: Vec<Item<'_>> = order
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let embedding = slots.get(i).and_then(|&k| vectors.get(k)?.as_deref());
            let analyzer = analyzers
                .entry(m.language.as_str())
                .or_insert_with(|| Analyzer::for_language(&m.language));
            Item {
                message: m,
                terms: analyzer.terms(&m.text).into_iter().collect(),
                embedding,
            }
        })
        .collect();

    let mut groups: Vec<Building> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let best = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.language == item.message.language)
            .filter_map(|(k, g)| {
                g.members
                    .iter()
                    .take(COMPARED)
                    .filter_map(|&j| alike(item, &items[j], similarity))
                    .fold(None, |best: Option<f32>, s| {
                        Some(best.map_or(s, |b| b.max(s)))
                    })
                    .map(|s| (k, s))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((k, _)) => groups[k].members.push(i),
            None => groups.push(Building {
                language: item.message.language.clone(),
                members: vec![i],
            }),
        }
    }

    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|g| summarize(engine, &g, &items))
        .collect();
    out.sort_by(|a, b| {
        b.shoppers
            .cmp(&a.shoppers)
            .then_with(|| b.messages.cmp(&a.messages))
            .then_with(|| a.language.cmp(&b.language))
            .then_with(|| a.questions[0].text.cmp(&b.questions[0].text))
    });
    out
}

fn summarize(engine: &Engine, g: &Building, items: &[Item<'_>]) -> Group {
    let mut asked: Vec<Asked> = Vec::new();
    let mut conversations = BTreeSet::new();
    let mut by_week = BTreeMap::new();
    let mut by_reason = BTreeMap::new();
    let mut candidates: HashMap<&str, u64> = HashMap::new();
    for &i in &g.members {
        let m = items[i].message;
        conversations.insert(m.conversation.as_str());
        *by_week.entry(iso_week(m.at_ms)).or_insert(0) += 1;
        *by_reason.entry(m.reason).or_insert(0) += 1;
        if let Some(a) = &m.article {
            *candidates.entry(a.as_str()).or_insert(0) += 1;
        }
        let text = m.text.trim();
        match asked.iter_mut().find(|a| a.text.eq_ignore_ascii_case(text)) {
            Some(a) => a.count += 1,
            None => asked.push(Asked {
                text: text.to_string(),
                count: 1,
            }),
        }
    }
    asked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    let messages = g.members.len() as u64;

    // The nearest article: what the engine now makes of the most asked question, in the
    // group's language.
    let locale = g.language.parse::<Locale>().ok();
    let reply = engine.ask(&Question::new(&asked[0].text).with_locale_hint(locale));
    let kb = engine.knowledge_base();
    let nearest = reply.article.as_ref().and_then(|id| {
        kb.get(id).map(|a| Nearest {
            article: id.to_string(),
            title: a.title.clone(),
            confidence: reply.confidence,
        })
    });
    // A missing phrasing: the engine would answer the most asked question with that article
    // now, or most of the group's messages had it as their best candidate when they were
    // asked. A near article the bot only offered as one choice among others is not enough.
    let kind = match &nearest {
        Some(n) => {
            let agreeing = candidates.get(n.article.as_str()).copied().unwrap_or(0);
            if n.confidence >= engine.thresholds().answer
                || (agreeing > 0 && agreeing * 2 >= messages)
            {
                GapKind::MissingPhrasing
            } else {
                GapKind::MissingArticle
            }
        }
        None => GapKind::MissingArticle,
    };
    Group {
        language: g.language.clone(),
        shoppers: conversations.len() as u64,
        messages,
        questions: asked,
        by_week,
        by_reason,
        nearest,
        kind,
    }
}

/// An article draft for a group: where to put it under the knowledge base, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// `<language>/gaps/<slug>.md`, relative to the knowledge base.
    pub path: String,
    pub markdown: String,
}

#[derive(Serialize)]
struct FrontMatter<'a> {
    title: String,
    questions: Vec<&'a str>,
    tags: [&'static str; 1],
}

/// Questions put into a draft's `questions:` at most.
const DRAFT_QUESTIONS: usize = 12;

/// The draft of the article a group asks for. `n` numbers the drafts of one report (their
/// file names stay apart when two groups start with the same words).
pub fn draft(group: &Group, n: usize) -> Draft {
    let first = &group.questions[0].text;
    let mut title: String = first.chars().take(90).collect();
    if let Some(c) = title.chars().next() {
        title = c.to_uppercase().chain(title.chars().skip(1)).collect();
    }
    let front = FrontMatter {
        title,
        questions: group
            .questions
            .iter()
            .take(DRAFT_QUESTIONS)
            .map(|a| a.text.as_str())
            .collect(),
        tags: ["draft"],
    };
    let yaml = serde_yaml::to_string(&front).unwrap_or_default();
    let slug: String = crate::nlu::fold(first)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    let slug = if slug.is_empty() {
        "question".into()
    } else {
        slug
    };
    let mut why = format!(
        "Asked by {} shopper(s), {} message(s), nobody answered.",
        group.shoppers, group.messages
    );
    if let Some(nb) = &group.nearest {
        why.push_str(&format!(
            " Nearest article: {} (\"{}\"). If it answers this, add these questions to it instead.",
            nb.article, nb.title
        ));
    }
    let markdown = format!(
        "---\n{yaml}---\n<!-- Draft from `concierge gaps`. {why} -->\n\nWrite the answer here.\n"
    );
    Draft {
        path: format!("{}/gaps/{n:02}-{slug}.md", group.language),
        markdown,
    }
}
