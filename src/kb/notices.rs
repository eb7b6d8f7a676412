//! Notices: what editors tell shoppers before they ask ("parcels to Spain are delayed this
//! week"). One Markdown file per notice in the notices folder (`notices:` in the config),
//! with front matter:
//!
//! ```yaml
//! ---
//! from: 2026-12-07T08:00:00+01:00          # RFC 3339 with an offset, or with a zone:
//! until: 2026-12-14T18:00[Europe/Madrid]   #   2026-12-14T18:00[Europe/Madrid]
//! locales: [en, es]                        # empty or absent: every language
//! articles: [en/shipping/international]    # topics: article ids (any translation),
//! tags: [shipping]                         #   tags of articles,
//! intents: [track_order]                   #   intents
//! ---
//! Parcels to Spain are delayed by two days this week.
//! ```
//!
//! While active (`from` ≤ now < `until`), a notice is put before every answer on one of its
//! topics and shown as a banner in the widget; a notice without topics is a banner only.
//! Whether a notice is active is decided against a clock each time, never at load, so an
//! expired notice disappears by itself.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Deserialize;

use super::markdown::split_sections;
use super::{split_front_matter, ArticleId};
use crate::diagnostic::{find_line, Diagnostic};
use crate::locale::Locale;

/// One notice, as an editor wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The file's path under the notices folder, without `.md` (`spain-delays`).
    pub id: String,
    /// The body in plain text: what shoppers read.
    pub text: String,
    pub from: Timestamp,
    pub until: Timestamp,
    /// Languages it is shown in; empty: all.
    pub locales: Vec<Locale>,
    pub articles: Vec<ArticleId>,
    pub tags: Vec<String>,
    /// Intent ids (checked against the loaded intents by `Notices::check`).
    pub intents: Vec<String>,
    pub path: PathBuf,
}

impl Notice {
    /// Whether the notice is shown at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.from <= now && now < self.until
    }

    /// Whether it is shown to a shopper writing in `language` (ISO 639-1).
    pub fn speaks(&self, language: &str) -> bool {
        self.locales.is_empty() || self.locales.iter().any(|l| l.language() == language)
    }

    /// Whether it has topics (else it is a banner only).
    pub fn has_topics(&self) -> bool {
        !(self.articles.is_empty() && self.tags.is_empty() && self.intents.is_empty())
    }
}

/// What an answer is about, to find the notices on its topics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Topic<'a> {
    pub article: Option<&'a ArticleId>,
    /// The tags of that article.
    pub tags: &'a [String],
    pub intent: Option<&'a str>,
}

/// Every notice of a shop, active or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notices {
    notices: Vec<Notice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    from: Option<String>,
    until: Option<String>,
    #[serde(default)]
    locales: Vec<String>,
    #[serde(default)]
    articles: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    intents: Vec<String>,
}

/// An instant as editors write it: RFC 3339 with an offset (`2026-12-07T08:00:00+01:00`,
/// `…Z`), or a civil time with a zone (`2026-12-07T08:00[Europe/Madrid]`).
pub fn parse_instant(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::ZonedDateTime>()
        .map(|z| z.timestamp())
        .map_err(|e| format!("`{s}` is not a date and time with a time zone ({e})"))
}

const DATE_HINT: &str = "write RFC 3339 with an offset, like `2026-12-07T08:00:00+01:00`, or a time and a zone, like `2026-12-07T08:00[Europe/Madrid]`";

impl Notices {
    pub fn new(notices: Vec<Notice>) -> Notices {
        Notices { notices }
    }

    pub fn all(&self) -> &[Notice] {
        &self.notices
    }

    pub fn is_empty(&self) -> bool {
        self.notices.is_empty()
    }

    /// Loads every `.md` file under `dir`. A file with a problem is skipped with a diagnostic.
    pub fn load_dir(dir: &Path) -> (Notices, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut files = Vec::new();
        if let Err(e) = collect(dir, &mut files, 0) {
            diags.push(
                Diagnostic::error(dir, None, format!("cannot read the notices folder: {e}"))
                    .with_hint("create the folder, or remove `notices:` from the config"),
            );
            return (Notices::default(), diags);
        }
        files.sort();
        let mut notices = Vec::new();
        for path in files {
            let id = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/");
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Some(n) = parse_notice(&path, id, &text, &mut diags) {
                        notices.push(n);
                    }
                }
                Err(e) => diags.push(Diagnostic::error(&path, None, format!("cannot read: {e}"))),
            }
        }
        (Notices { notices }, diags)
    }

    /// Checks the topics against the shop's content: unknown article ids, tags no article
    /// carries and unknown intents are errors (the notice would never be shown with an
    /// answer). The notice keeps its known topics.
    pub fn check(
        &mut self,
        article_exists: impl Fn(&ArticleId) -> bool,
        tags: &HashSet<&str>,
        intents: &HashSet<&str>,
    ) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        for n in &mut self.notices {
            let text = std::fs::read_to_string(&n.path).unwrap_or_default();
            let mut unknown = |kind: &str, what: &str, hint: &str| {
                // The value on its key's line (`tags: [shipping]`), not in another key's.
                let key = find_line(&text, &format!("{kind}s:"), 1).unwrap_or(1);
                diags.push(
                    Diagnostic::error(
                        &n.path,
                        find_line(&text, what, key),
                        format!("unknown {kind} `{what}`"),
                    )
                    .with_hint(hint.to_string()),
                );
            };
            n.articles.retain(|a| {
                let known = article_exists(a);
                if !known {
                    unknown("article", a.as_str(), "use an article id: its path under the knowledge base without `.md`, e.g. `en/shipping/international`");
                }
                known
            });
            n.tags.retain(|t| {
                let known = tags.contains(t.as_str());
                if !known {
                    unknown("tag", t, "use a tag that some article lists in its `tags:`");
                }
                known
            });
            n.intents.retain(|i| {
                let known = intents.contains(i.as_str());
                if !known {
                    unknown("intent", i, "use the id of an intent, e.g. `track_order`");
                }
                known
            });
        }
        diags
    }

    /// The notices active at `now` in `language` (the widget's banner), in file order.
    pub fn active<'a>(
        &'a self,
        now: Timestamp,
        language: &'a str,
    ) -> impl Iterator<Item = &'a Notice> + 'a {
        self.notices
            .iter()
            .filter(move |n| n.is_active(now) && n.speaks(language))
    }

    /// The notices active at `now` in `language` that concern `topic`: what goes before an
    /// answer about it.
    pub fn on_topic<'a>(
        &'a self,
        now: Timestamp,
        language: &'a str,
        topic: Topic<'a>,
    ) -> impl Iterator<Item = &'a Notice> + 'a {
        self.active(now, language).filter(move |n| {
            let article = topic.article.is_some_and(|a| {
                n.articles
                    .iter()
                    .any(|x| x == a || x.path_without_locale() == a.path_without_locale())
            });
            let tag = topic.tags.iter().any(|t| n.tags.contains(t));
            let intent = topic
                .intent
                .is_some_and(|i| n.intents.iter().any(|x| x == i));
            article || tag || intent
        })
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.is_dir() {
            collect(&path, out, depth + 1)?;
        } else if path.extension().is_some_and(|x| x == "md") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one notice; problems go to `diags` (file, line, what to do).
fn parse_notice(
    path: &Path,
    id: String,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Notice> {
    let Some((front, body, _)) = split_front_matter(text) else {
        diags.push(
            Diagnostic::error(path, Some(1), "no front matter: a notice starts with a `---` line, its `from:` and `until:`, and another `---` line"),
        );
        return None;
    };
    let fm: FrontMatter = match serde_yaml::from_str::<Option<FrontMatter>>(front) {
        Ok(Some(fm)) => fm,
        Ok(None) => FrontMatter {
            from: None,
            until: None,
            locales: Vec::new(),
            articles: Vec::new(),
            tags: Vec::new(),
            intents: Vec::new(),
        },
        Err(e) => {
            let line = e.location().map_or(1, |l| l.line() + 1);
            let msg = e.to_string();
            diags.push(
                Diagnostic::error(
                    path,
                    Some(line),
                    format!(
                        "invalid front matter: {}",
                        msg.split(" at line ").next().unwrap_or(&msg)
                    ),
                )
                .with_hint(
                    "a notice takes `from`, `until`, `locales`, `articles`, `tags` and `intents`",
                ),
            );
            return None;
        }
    };
    let line_of = |key: &str| find_line(text, &format!("{key}:"), 1);
    let mut instant = |key: &str, value: Option<String>| -> Option<Timestamp> {
        let Some(v) = value else {
            diags.push(
                Diagnostic::error(
                    path,
                    Some(1),
                    format!("missing `{key}:` in the front matter"),
                )
                .with_hint(DATE_HINT),
            );
            return None;
        };
        match parse_instant(&v) {
            Ok(t) => Some(t),
            Err(m) => {
                diags.push(
                    Diagnostic::error(path, line_of(key), format!("`{key}`: {m}"))
                        .with_hint(DATE_HINT),
                );
                None
            }
        }
    };
    let from = instant("from", fm.from);
    let until = instant("until", fm.until);
    let (from, until) = (from?, until?);
    if until <= from {
        diags.push(
            Diagnostic::error(
                path,
                line_of("until"),
                format!("`until` ({until}) is not after `from` ({from})"),
            )
            .with_hint("swap the dates, or correct the one that is wrong"),
        );
        return None;
    }
    let mut locales = Vec::new();
    for l in fm.locales {
        match l.parse::<Locale>() {
            Ok(locale) => locales.push(locale),
            Err(_) => {
                diags.push(
                    Diagnostic::error(
                        path,
                        find_line(text, &l, 1),
                        format!("unknown locale `{l}`"),
                    )
                    .with_hint(
                        "use an ISO 639-1 code with an optional region, like `en` or `pt-BR`",
                    ),
                );
                return None;
            }
        }
    }
    let mut articles = Vec::new();
    for a in fm.articles {
        match ArticleId::try_from(a.clone()) {
            Ok(id) => articles.push(id),
            Err(e) => {
                diags.push(Diagnostic::error(
                    path,
                    find_line(text, &a, 1),
                    e.to_string(),
                ));
                return None;
            }
        }
    }
    let text_plain: Vec<String> = split_sections(body)
        .into_iter()
        .map(|s| match s.heading {
            Some(h) if s.plain.is_empty() => h,
            Some(h) => format!("{h}: {}", s.plain),
            None => s.plain,
        })
        .filter(|s| !s.trim().is_empty())
        .collect();
    let plain = text_plain.join("\n").trim().to_string();
    if plain.is_empty() {
        diags.push(
            Diagnostic::error(path, None, "the notice has no text")
                .with_hint("write what shoppers should read below the front matter"),
        );
        return None;
    }
    Some(Notice {
        id,
        text: plain,
        from,
        until,
        locales,
        articles,
        tags: fm.tags,
        intents: fm.intents,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests;
