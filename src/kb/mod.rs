//! The knowledge base: Markdown articles with YAML front matter, loaded from a directory.
//!
//! Knows nothing of search. A broken article costs that article only: loading returns every
//! article it could read together with the problems it found.

pub mod markdown;
pub mod notices;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::{find_line, line_of_offset, Diagnostic};
use crate::locale::Locale;

pub use markdown::Section;

/// An article's id: by default its path under the knowledge base without the extension,
/// e.g. `en/shipping/delivery-times`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArticleId(String);

/// Why a string is not an article id.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{0}` is not an article id: use letters, digits, `-`, `_`, `.` and `/`, like `en/shipping/delivery-times`")]
pub struct ArticleIdError(pub String);

impl ArticleId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id without its leading locale folder, e.g. `shipping/delivery-times`: the same
    /// topic in another language has the same path.
    pub fn path_without_locale(&self) -> &str {
        match self.0.split_once('/') {
            Some((first, rest)) if first.parse::<Locale>().is_ok() => rest,
            _ => &self.0,
        }
    }
}

impl TryFrom<String> for ArticleId {
    type Error = ArticleIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let ok = !s.is_empty()
            && s.len() <= 200
            && !s.starts_with('/')
            && !s.ends_with('/')
            && !s.contains("//")
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        if ok {
            Ok(ArticleId(s))
        } else {
            Err(ArticleIdError(s))
        }
    }
}

impl std::str::FromStr for ArticleId {
    type Err = ArticleIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArticleId::try_from(s.to_string())
    }
}

impl From<ArticleId> for String {
    fn from(a: ArticleId) -> String {
        a.0
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArticleId({})", self.0)
    }
}

/// A help-center article.
#[derive(Debug, Clone)]
pub struct Article {
    pub id: ArticleId,
    pub locale: Locale,
    pub title: String,
    /// Other ways shoppers ask what this article answers.
    pub questions: Vec<String>,
    pub tags: Vec<String>,
    /// The body split at headings; the first may be an introduction without heading.
    pub sections: Vec<Section>,
    /// The Markdown body, front matter excluded.
    pub body: String,
    /// 1-based line of the file where the body starts.
    pub body_line: usize,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// The article this one translates (front matter `translation_of: <id>`), when its file
    /// name differs from the original's.
    pub translation_of: Option<ArticleId>,
}

/// The front matter editors write.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    id: Option<String>,
    locale: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    questions: Vec<String>,
    translation_of: Option<String>,
}

/// All articles of a shop.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    articles: Vec<Article>,
    by_id: HashMap<ArticleId, usize>,
    /// Per article: its topic, shared by the article and its translations (same path in
    /// another locale folder, or linked by `translation_of`).
    topic: Vec<usize>,
    /// Per topic: its articles, in load order.
    members: Vec<Vec<usize>>,
}

impl KnowledgeBase {
    pub fn articles(&self) -> &[Article] {
        &self.articles
    }

    pub fn get(&self, id: &ArticleId) -> Option<&Article> {
        self.by_id.get(id).map(|&i| &self.articles[i])
    }

    pub fn len(&self) -> usize {
        self.articles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    /// The same topic in another language, if written: the article at the same path in the
    /// other locale folder, else one linked by `translation_of` (original ↔ translation, and
    /// translations of one original with each other). The article itself when it is in
    /// `language`.
    pub fn translation(&self, id: &ArticleId, language: &str) -> Option<&Article> {
        let &i = self.by_id.get(id)?;
        if self.articles[i].locale.language() == language {
            return Some(&self.articles[i]);
        }
        let same_path = ArticleId::try_from(format!("{language}/{}", id.path_without_locale()))
            .ok()
            .and_then(|c| self.get(&c))
            .filter(|a| a.locale.language() == language);
        if same_path.is_some() {
            return same_path;
        }
        let members = self.members.get(*self.topic.get(i)?)?;
        let in_language = || {
            members
                .iter()
                .map(|&j| &self.articles[j])
                .filter(|a| a.locale.language() == language)
        };
        // The original before a translation, when both exist in that language.
        in_language()
            .find(|a| a.translation_of.is_none())
            .or_else(|| in_language().next())
    }

    /// Every other article of the same topic (its translations), in load order.
    pub fn translations<'k>(&'k self, id: &ArticleId) -> impl Iterator<Item = &'k Article> + 'k {
        let i = self.by_id.get(id).copied();
        i.map(|i| self.members[self.topic[i]].as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(move |&&j| Some(j) != i)
            .map(|&j| &self.articles[j])
    }

    /// The topic of the `i`-th article (see `articles`): equal for an article and its
    /// translations. Dense, from 0.
    pub fn topic(&self, i: usize) -> usize {
        self.topic[i]
    }

    /// The topic of an article, if it exists.
    pub fn topic_of(&self, id: &ArticleId) -> Option<usize> {
        self.by_id.get(id).map(|&i| self.topic[i])
    }

    /// Builds a knowledge base from articles, dropping (and reporting) duplicate ids.
    pub fn from_articles(articles: Vec<Article>) -> (KnowledgeBase, Vec<Diagnostic>) {
        let mut kb = KnowledgeBase::default();
        let mut diagnostics = Vec::new();
        for article in articles {
            if let Some(&first) = kb.by_id.get(&article.id) {
                let other = &kb.articles[first];
                diagnostics.push(
                    Diagnostic::error(
                        &article.path,
                        id_line(&article).or(Some(1)),
                        format!(
                            "duplicate article id `{}`: {} has it already",
                            article.id,
                            other.path.display()
                        ),
                    )
                    .with_hint(
                        "give one of them another `id:` in its front matter, or remove the copy",
                    ),
                );
                continue;
            }
            kb.by_id.insert(article.id.clone(), kb.articles.len());
            kb.articles.push(article);
        }
        diagnostics.extend(kb.link_translations());
        (kb, diagnostics)
    }

    /// Groups articles into topics: the same path in another locale folder, and
    /// `translation_of` links. Reports links naming no article, and a second article of one
    /// language claiming the same original (the first keeps the link).
    fn link_translations(&mut self) -> Vec<Diagnostic> {
        let n = self.articles.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        fn union(parent: &mut [usize], a: usize, b: usize) {
            let (ra, rb) = (root(parent, a), root(parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
        let mut by_path: HashMap<&str, usize> = HashMap::new();
        for (i, a) in self.articles.iter().enumerate() {
            match by_path.get(a.id.path_without_locale()) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    by_path.insert(a.id.path_without_locale(), i);
                }
            }
        }
        let mut diagnostics = Vec::new();
        // (original, language) -> the first article claiming it.
        let mut claimed: HashMap<(usize, &str), usize> = HashMap::new();
        for (i, a) in self.articles.iter().enumerate() {
            let Some(original) = &a.translation_of else {
                continue;
            };
            let line = front_line(a, "translation_of:").or(Some(1));
            let Some(&o) = self.by_id.get(original) else {
                diagnostics.push(
                    Diagnostic::error(
                        &a.path,
                        line,
                        format!("`translation_of: {original}` names no article"),
                    )
                    .with_hint("write the `id` of the original article (its path without `.md`, e.g. `en/returns/deadline`, or the `id:` in its front matter)"),
                );
                continue;
            };
            let language = a.locale.language();
            if o == i || self.articles[o].locale.language() == language {
                diagnostics.push(
                    Diagnostic::error(
                        &a.path,
                        line,
                        format!(
                            "`translation_of: {original}` names an article in the same language ({language})"
                        ),
                    )
                    .with_hint("name the original in another language, or remove the line"),
                );
                continue;
            }
            if let Some(&first) = claimed.get(&(o, language)) {
                diagnostics.push(
                    Diagnostic::error(
                        &a.path,
                        line,
                        format!(
                            "`translation_of: {original}`: {} already translates it into `{language}`",
                            self.articles[first].path.display()
                        ),
                    )
                    .with_hint("one article per language translates an original: fix the id, or merge the two articles"),
                );
                continue;
            }
            claimed.insert((o, language), i);
            union(&mut parent, i, o);
        }
        let mut dense: HashMap<usize, usize> = HashMap::new();
        self.topic = Vec::with_capacity(n);
        self.members = Vec::new();
        for i in 0..n {
            let r = root(&mut parent, i);
            let next = dense.len();
            let t = *dense.entry(r).or_insert(next);
            if t == self.members.len() {
                self.members.push(Vec::new());
            }
            self.members[t].push(i);
            self.topic.push(t);
        }
        diagnostics
    }

    /// Loads every `*.md` file under `dir`, at any depth. Hidden files and folders are skipped.
    pub fn load_dir(dir: &Path, default_locale: &Locale) -> (KnowledgeBase, Vec<Diagnostic>) {
        let mut files = Vec::new();
        let mut diagnostics = Vec::new();
        if let Err(e) = collect_files(dir, &mut files) {
            diagnostics.push(
                Diagnostic::error(
                    dir,
                    None,
                    format!("cannot read the knowledge base folder: {e}"),
                )
                .with_hint("pass the folder of your articles with --kb DIR"),
            );
        }
        files.sort();
        let mut articles = Vec::new();
        for file in files {
            let text = match std::fs::read(&file).map(String::from_utf8) {
                Ok(Ok(t)) => t,
                Ok(Err(_)) => {
                    diagnostics.push(
                        Diagnostic::error(&file, None, "the file is not UTF-8 text")
                            .with_hint("save it as UTF-8 in your editor"),
                    );
                    continue;
                }
                Err(e) => {
                    diagnostics.push(Diagnostic::error(&file, None, format!("cannot read: {e}")));
                    continue;
                }
            };
            let rel = file.strip_prefix(dir).unwrap_or(&file).to_path_buf();
            let (article, mut diags) = parse_article(&file, &rel, &text, default_locale);
            diagnostics.append(&mut diags);
            if let Some(a) = article {
                articles.push(a);
            }
        }
        let (kb, mut diags) = KnowledgeBase::from_articles(articles);
        diagnostics.append(&mut diags);
        diagnostics.extend(kb.check_links(dir));
        (kb, diagnostics)
    }

    /// Relative links to other `.md` files must point at files that exist.
    fn check_links(&self, dir: &Path) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for a in &self.articles {
            let front_lines = a.body_line - 1;
            for link in markdown::links(&a.body) {
                let target = link.target.split('#').next().unwrap_or("");
                if target.contains("://")
                    || target.starts_with("mailto:")
                    || !target.ends_with(".md")
                {
                    continue;
                }
                let base = if target.starts_with('/') {
                    dir.to_path_buf()
                } else {
                    a.path.parent().unwrap_or(dir).to_path_buf()
                };
                let resolved = base.join(target.trim_start_matches('/'));
                if !resolved.is_file() {
                    out.push(
                        Diagnostic::error(
                            &a.path,
                            Some(front_lines + line_of_offset(&a.body, link.offset)),
                            format!("broken link to `{}`: no such article", link.target),
                        )
                        .with_hint("fix the path (relative to this file) or remove the link"),
                    );
                }
            }
        }
        out
    }
}

/// The line of the `id:` key in an article's front matter, when it sets one: where an editor
/// fixes a duplicate id. Read again from the file, as duplicates are rare.
fn id_line(article: &Article) -> Option<usize> {
    front_line(article, "id:")
}

/// The line of a front-matter key (`key` ends with `:`), read again from the file.
fn front_line(article: &Article, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(&article.path).ok()?;
    text.lines()
        .take(article.body_line.saturating_sub(1))
        .position(|l| l.starts_with(key))
        .map(|i| i + 1)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let ty = entry.file_type()?;
        if ty.is_dir() {
            collect_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "md" || e == "markdown")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one article. `rel` is its path under the knowledge-base folder.
pub fn parse_article(
    file: &Path,
    rel: &Path,
    text: &str,
    default_locale: &Locale,
) -> (Option<Article>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some((front, body, body_line)) = split_front_matter(text) else {
        diags.push(
            Diagnostic::error(file, Some(1), "no front matter: an article starts with a `---` line, its `title:`, and another `---` line")
                .with_hint("add at the top:\n---\ntitle: The question this article answers\n---"),
        );
        return (None, diags);
    };
    let fm: FrontMatter = match serde_yaml::from_str::<Option<FrontMatter>>(front) {
        Ok(Some(fm)) => fm,
        Ok(None) => FrontMatter {
            title: None,
            id: None,
            locale: None,
            tags: vec![],
            questions: vec![],
            translation_of: None,
        },
        Err(e) => {
            let line = e.location().map(|l| l.line() + 1).unwrap_or(1);
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let hint = if msg.contains("unknown field") {
                "the front matter takes `title`, `id`, `locale`, `tags`, `questions` and `translation_of`; check the spelling"
            } else {
                "check the YAML: `key: value` per line, lists as `- item`, quote values that contain `: `"
            };
            diags.push(
                Diagnostic::error(file, Some(line), format!("invalid front matter: {msg}"))
                    .with_hint(hint),
            );
            return (None, diags);
        }
    };
    let title = match fm.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => {
            diags.push(
                Diagnostic::error(file, Some(1), "missing `title` in the front matter")
                    .with_hint("add a line `title: ...` between the `---` lines: the question this article answers"),
            );
            return (None, diags);
        }
    };
    let first_dir = rel
        .components()
        .next()
        .filter(|_| rel.components().count() > 1)
        .and_then(|c| c.as_os_str().to_str());
    let locale = match fm.locale.as_deref() {
        Some(l) => match l.parse::<Locale>() {
            Ok(l) => l,
            Err(e) => {
                diags.push(
                    Diagnostic::error(file, find_line(text, "locale:", 1), format!("unknown locale: {e}"))
                        .with_hint("use a code such as `en`, `es`, `pt`, `nl` or `pt-BR`, or remove the line to use the folder's"),
                );
                return (None, diags);
            }
        },
        None => first_dir
            .and_then(|d| d.parse::<Locale>().ok())
            .unwrap_or_else(|| default_locale.clone()),
    };
    let id = match fm.id {
        Some(id) => match ArticleId::try_from(id) {
            Ok(id) => id,
            Err(e) => {
                diags.push(
                    Diagnostic::error(file, find_line(text, "id:", 1), e.to_string())
                        .with_hint("remove `id:` to use the file's path"),
                );
                return (None, diags);
            }
        },
        None => {
            let stem = rel.with_extension("");
            let s = stem
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            match ArticleId::try_from(s) {
                Ok(id) => id,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(file, Some(1), e.to_string())
                            .with_hint("rename the file with letters, digits and dashes, or set `id:` in the front matter"),
                    );
                    return (None, diags);
                }
            }
        }
    };
    let translation_of = match fm.translation_of.map(ArticleId::try_from) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            diags.push(
                Diagnostic::error(file, find_line(text, "translation_of:", 1), e.to_string())
                    .with_hint("name the id of the original article, e.g. `translation_of: en/shipping/delivery-times`"),
            );
            return (None, diags);
        }
    };
    for (i, q) in fm.questions.iter().enumerate() {
        if q.trim().is_empty() {
            diags.push(
                Diagnostic::warning(
                    file,
                    find_line(text, "questions:", 1).map(|l| l + i + 1),
                    "empty entry in `questions`",
                )
                .with_hint("remove the empty line"),
            );
        }
    }
    let sections = markdown::split_sections(body);
    if sections.iter().all(|s| s.plain.trim().is_empty()) {
        diags.push(
            Diagnostic::warning(
                file,
                Some(body_line),
                "the article has no text: the bot can only link to it",
            )
            .with_hint("write the answer below the front matter"),
        );
    }
    let article = Article {
        id,
        locale,
        title,
        questions: fm
            .questions
            .into_iter()
            .filter(|q| !q.trim().is_empty())
            .collect(),
        tags: fm.tags,
        sections,
        body: body.to_string(),
        body_line,
        path: file.to_path_buf(),
        translation_of,
    };
    (Some(article), diags)
}

/// Splits `---\nyaml\n---\nbody` into (yaml, body, 1-based line where the body starts).
pub(crate) fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let body_line = line_of_offset(text, text.len() - body.len());
            return Some((front, body, body_line));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(rel: &str, text: &str) -> (Option<Article>, Vec<Diagnostic>) {
        parse_article(Path::new(rel), Path::new(rel), text, &Locale::english())
    }

    #[test]
    fn id_and_locale_default_from_the_path() {
        let (a, d) = parse("es/envios/plazos.md", "---\ntitle: Plazos\n---\nTexto.\n");
        assert!(d.is_empty(), "{d:?}");
        let a = a.unwrap();
        assert_eq!(a.id.as_str(), "es/envios/plazos");
        assert_eq!(a.locale.as_str(), "es");
        assert_eq!(a.id.path_without_locale(), "envios/plazos");
        let (a, _) = parse("faq/x.md", "---\ntitle: X\n---\nText.\n");
        assert_eq!(a.unwrap().locale.as_str(), "en");
    }

    #[test]
    fn missing_title_names_the_line() {
        let (a, d) = parse("en/a.md", "---\ntags: [x]\n---\nText\n");
        assert!(a.is_none());
        assert_eq!(d[0].line, Some(1));
        assert!(d[0].message.contains("title"));
    }

    #[test]
    fn yaml_errors_point_into_the_file() {
        let (_, d) = parse("en/a.md", "---\ntitle: A\ntitel: B\n---\nText\n");
        assert_eq!(d[0].line, Some(3), "{d:?}");
        assert!(d[0].message.contains("titel"));
    }

    #[test]
    fn unknown_locale_is_an_error() {
        let (a, d) = parse("en/a.md", "---\ntitle: A\nlocale: english\n---\nText\n");
        assert!(a.is_none());
        assert_eq!(d[0].line, Some(3));
    }

    #[test]
    fn duplicate_ids_keep_the_first() {
        let (a, _) = parse("en/a.md", "---\ntitle: A\n---\nText\n");
        let (b, _) = parse("en/b.md", "---\ntitle: B\nid: en/a\n---\nText\n");
        let (kb, d) = KnowledgeBase::from_articles(vec![a.unwrap(), b.unwrap()]);
        assert_eq!(kb.len(), 1);
        assert!(d[0].message.contains("duplicate"));
    }

    #[test]
    fn no_front_matter() {
        let (a, d) = parse("en/a.md", "# Title\nText\n");
        assert!(a.is_none());
        assert!(d[0].is_error());
    }

    fn kb(files: &[(&str, &str)]) -> (KnowledgeBase, Vec<Diagnostic>) {
        let articles = files
            .iter()
            .map(|(rel, text)| parse(rel, text).0.expect("the fixture parses"))
            .collect();
        KnowledgeBase::from_articles(articles)
    }

    fn id(s: &str) -> ArticleId {
        s.parse().unwrap()
    }

    #[test]
    fn translation_of_links_both_ways_and_between_translations() {
        let (kb, d) = kb(&[
            (
                "en/payments/methods.md",
                "---\ntitle: Methods\n---\nText.\n",
            ),
            (
                "es/pagos/metodos.md",
                "---\ntitle: Métodos\ntranslation_of: en/payments/methods\n---\nTexto.\n",
            ),
            (
                "nl/betalen/betaalmethoden.md",
                "---\ntitle: Betaalmethoden\ntranslation_of: en/payments/methods\n---\nTekst.\n",
            ),
            ("en/payments/ideal.md", "---\ntitle: iDEAL\n---\nText.\n"),
        ]);
        assert!(d.is_empty(), "{d:?}");
        let (en, es, nl) = (
            id("en/payments/methods"),
            id("es/pagos/metodos"),
            id("nl/betalen/betaalmethoden"),
        );
        assert_eq!(kb.translation(&en, "es").unwrap().id, es);
        assert_eq!(kb.translation(&es, "en").unwrap().id, en);
        assert_eq!(kb.translation(&es, "nl").unwrap().id, nl);
        assert_eq!(kb.translation(&nl, "es").unwrap().id, es);
        assert_eq!(kb.translation(&nl, "nl").unwrap().id, nl);
        assert!(kb.translation(&en, "pt").is_none());
        assert!(kb.translation(&id("en/payments/ideal"), "es").is_none());
        assert_eq!(kb.topic_of(&en), kb.topic_of(&nl));
        assert_ne!(kb.topic_of(&en), kb.topic_of(&id("en/payments/ideal")));
        let mut others: Vec<_> = kb.translations(&es).map(|a| a.id.as_str()).collect();
        others.sort();
        assert_eq!(others, ["en/payments/methods", "nl/betalen/betaalmethoden"]);
    }

    #[test]
    fn the_same_path_in_another_locale_is_still_a_translation() {
        let (kb, d) = kb(&[
            (
                "en/returns/deadline.md",
                "---\ntitle: Deadline\n---\nText.\n",
            ),
            ("es/returns/deadline.md", "---\ntitle: Plazo\n---\nTexto.\n"),
        ]);
        assert!(d.is_empty(), "{d:?}");
        let es = kb.translation(&id("en/returns/deadline"), "es").unwrap();
        assert_eq!(es.id.as_str(), "es/returns/deadline");
        assert_eq!(
            kb.topic_of(&id("en/returns/deadline")),
            kb.topic_of(&id("es/returns/deadline"))
        );
    }

    #[test]
    fn explicit_ids_link_through_translation_of() {
        let (kb, d) = kb(&[
            (
                "en/pay/ideal.md",
                "---\ntitle: iDEAL\nid: pay-ideal\n---\nText.\n",
            ),
            (
                "nl/betalen/ideal-betalen.md",
                "---\ntitle: iDEAL\nid: betalen-ideal\ntranslation_of: pay-ideal\n---\nTekst.\n",
            ),
        ]);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            kb.translation(&id("pay-ideal"), "nl").unwrap().id.as_str(),
            "betalen-ideal"
        );
    }

    #[test]
    fn dangling_duplicated_and_same_language_links_are_reported_and_ignored() {
        let (kb, d) = kb(&[
            ("en/a.md", "---\ntitle: A\n---\nText.\n"),
            (
                "es/a1.md",
                "---\ntitle: A1\ntranslation_of: en/a\n---\nTexto.\n",
            ),
            (
                "es/a2.md",
                "---\ntitle: A2\ntranslation_of: en/a\n---\nTexto.\n",
            ),
            (
                "es/b.md",
                "---\ntitle: B\ntranslation_of: en/missing\n---\nTexto.\n",
            ),
            (
                "en/c.md",
                "---\ntitle: C\ntranslation_of: en/a\n---\nText.\n",
            ),
        ]);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.iter().all(Diagnostic::is_error));
        assert!(
            d[0].message.contains("already translates it into `es`"),
            "{d:?}"
        );
        assert!(d[1].message.contains("names no article"), "{d:?}");
        assert!(d[2].message.contains("same language"), "{d:?}");
        assert_eq!(
            kb.translation(&id("en/a"), "es").unwrap().id.as_str(),
            "es/a1"
        );
        assert_ne!(kb.topic_of(&id("en/a")), kb.topic_of(&id("es/a2")));
        assert_ne!(kb.topic_of(&id("en/a")), kb.topic_of(&id("en/c")));
    }
}
