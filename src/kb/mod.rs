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
}

/// All articles of a shop.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    articles: Vec<Article>,
    by_id: HashMap<ArticleId, usize>,
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

    /// The same topic (same path after the locale folder) in another language, if written.
    pub fn translation(&self, id: &ArticleId, language: &str) -> Option<&Article> {
        let candidate =
            ArticleId::try_from(format!("{language}/{}", id.path_without_locale())).ok()?;
        self.get(&candidate)
            .filter(|a| a.locale.language() == language)
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
        (kb, diagnostics)
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
    let text = std::fs::read_to_string(&article.path).ok()?;
    text.lines()
        .take(article.body_line.saturating_sub(1))
        .position(|l| l.starts_with("id:"))
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
        },
        Err(e) => {
            let line = e.location().map(|l| l.line() + 1).unwrap_or(1);
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let hint = if msg.contains("unknown field") {
                "the front matter takes `title`, `id`, `locale`, `tags` and `questions`; check the spelling"
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
}
