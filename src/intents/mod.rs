//! Intents and rules: what editors write in YAML under `intents/`, plus the built-in
//! conversational intents (greeting, thanks, goodbye, asking for a person, abuse).
//!
//! A bad intent costs that intent, never the file or the bot: loading returns what it could
//! read and a diagnostic per problem, with the file and line.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{find_line, Diagnostic};
use crate::kb::ArticleId;
use crate::locale::Locale;

/// The built-in conversational intents, in English, Spanish, Portuguese and Dutch.
const BUILTIN_YAML: &str = include_str!("builtin.yaml");
/// What a shop's bot must not answer, whatever the shop (jobs, other shops, medical advice, …):
/// built-in escalating intents a shop extends or switches off like the conversational ones.
const OUT_OF_SCOPE_YAML: &str = include_str!("out_of_scope.yaml");

/// An intent's id, e.g. `track_order`: letters, digits, `_`, `-` and `.`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IntentId(String);

/// Why a string is not an intent id.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{0}` is not an intent id: use letters, digits, `_`, `-` and `.`, like `track_order`")]
pub struct IntentIdError(pub String);

impl IntentId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IntentId {
    type Error = IntentIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && s != "ESCALATE"
        {
            Ok(IntentId(s))
        } else {
            Err(IntentIdError(s))
        }
    }
}

impl std::str::FromStr for IntentId {
    type Err = IntentIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IntentId::try_from(s.to_string())
    }
}

impl From<IntentId> for String {
    fn from(i: IntentId) -> String {
        i.0
    }
}

impl fmt::Display for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntentId({})", self.0)
    }
}

/// A rule that matches with certainty.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub regex: Regex,
}

/// One intent, ready to match.
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: IntentId,
    pub description: Option<String>,
    /// Example messages per language (language-only locales).
    pub examples: BTreeMap<Locale, Vec<String>>,
    pub patterns: Vec<Pattern>,
    /// The reply per language.
    pub answers: BTreeMap<Locale, String>,
    pub article: Option<ArticleId>,
    /// Always hand this to a human.
    pub escalate: bool,
    /// Shipped with the engine rather than written by the shop.
    pub builtin: bool,
    /// The file it came from and the line of its `id:`.
    pub source: PathBuf,
    pub line: Option<usize>,
}

impl Intent {
    /// The reply in `language`, else in `fallback`, else any: (locale, text).
    pub fn answer(&self, language: &str, fallback: &str) -> Option<(&Locale, &str)> {
        let find = |lang: &str| {
            self.answers
                .iter()
                .find(|(l, _)| l.language() == lang)
                .map(|(l, a)| (l, a.as_str()))
        };
        find(language)
            .or_else(|| find(fallback))
            .or_else(|| self.answers.iter().next().map(|(l, a)| (l, a.as_str())))
    }

    /// Whether any of the patterns matches the message (tried as written and folded, so that a
    /// pattern with accents matches a message typed without them and the other way round).
    pub fn matches_pattern(&self, text: &str, folded: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| p.regex.is_match(text) || p.regex.is_match(folded))
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PerLocaleList {
    PerLocale(BTreeMap<String, Vec<String>>),
    Plain(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PerLocaleText {
    PerLocale(BTreeMap<String, String>),
    Plain(String),
}

/// One intent as editors write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentDef {
    id: String,
    description: Option<String>,
    examples: Option<PerLocaleList>,
    #[serde(default)]
    patterns: Vec<String>,
    answer: Option<PerLocaleText>,
    article: Option<String>,
    #[serde(default)]
    escalate: bool,
    #[serde(default)]
    disabled: bool,
}

/// What one file or directory yields: intents, and the ids a shop switched off.
#[derive(Debug, Default)]
pub struct Loaded {
    pub intents: Vec<Intent>,
    /// Ids with `disabled: true`: a built-in of that id is switched off.
    pub disabled: Vec<IntentId>,
}

/// The built-in intents: the conversational ones (`builtin.yaml`) and what a shop's bot must
/// not answer (`out_of_scope.yaml`).
pub fn builtin() -> Vec<Intent> {
    let mut out = Vec::new();
    for (name, yaml) in [
        ("<built-in intents>", BUILTIN_YAML),
        ("<built-in out-of-scope intents>", OUT_OF_SCOPE_YAML),
    ] {
        let (loaded, diags) = parse_file(Path::new(name), yaml, &Locale::english(), true);
        debug_assert!(
            diags.is_empty(),
            "built-in intents have problems: {diags:?}"
        );
        out.extend(loaded.intents);
    }
    out
}

/// Loads every `*.yaml`/`*.yml` file under `dir`. A missing directory is no error: a shop may
/// have no intents of its own.
pub fn load_dir(dir: &Path, default_locale: &Locale) -> (Loaded, Vec<Diagnostic>) {
    let mut out = Loaded::default();
    let mut diags = Vec::new();
    let mut files = Vec::new();
    if dir.exists() {
        if let Err(e) = collect(dir, &mut files) {
            diags.push(Diagnostic::error(
                dir,
                None,
                format!("cannot read the intents folder: {e}"),
            ));
        }
    }
    files.sort();
    let mut seen: HashMap<IntentId, (PathBuf, Option<usize>)> = HashMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                diags.push(
                    Diagnostic::error(&file, None, format!("cannot read: {e}"))
                        .with_hint("save it as UTF-8 text"),
                );
                continue;
            }
        };
        let (loaded, mut d) = parse_file(&file, &text, default_locale, false);
        diags.append(&mut d);
        for intent in loaded.intents {
            if let Some((other, line)) = seen.get(&intent.id) {
                diags.push(
                    Diagnostic::error(
                        &file,
                        intent.line,
                        format!(
                            "duplicate intent id `{}`: {}:{} has it already",
                            intent.id,
                            other.display(),
                            line.unwrap_or(1)
                        ),
                    )
                    .with_hint("rename one of them; to replace a built-in intent, define it once"),
                );
                continue;
            }
            seen.insert(intent.id.clone(), (file.clone(), intent.line));
            out.intents.push(intent);
        }
        out.disabled.extend(loaded.disabled);
    }
    (out, diags)
}

/// The shop's intents over the built-in ones: a shop intent replaces the built-in of the same
/// id, and `disabled: true` removes it.
pub fn merge(builtin: Vec<Intent>, shop: Loaded) -> Vec<Intent> {
    let mut out: Vec<Intent> = builtin
        .into_iter()
        .filter(|b| !shop.disabled.contains(&b.id) && !shop.intents.iter().any(|s| s.id == b.id))
        .collect();
    out.extend(shop.intents);
    out
}

/// Problems between intents: the same example claimed by two intents in the same language.
pub fn check_examples(intents: &[Intent]) -> Vec<Diagnostic> {
    let mut owner: HashMap<(String, String), &Intent> = HashMap::new();
    let mut diags = Vec::new();
    for intent in intents {
        for (locale, examples) in &intent.examples {
            for ex in examples {
                let key: String = crate::nlu::words(ex).collect::<Vec<_>>().join(" ");
                if key.is_empty() {
                    continue;
                }
                match owner.get(&(locale.language().to_string(), key.clone())) {
                    Some(other) if other.id != intent.id => {
                        let text = std::fs::read_to_string(&intent.source).unwrap_or_default();
                        let line = find_line(&text, ex, intent.line.unwrap_or(1)).or(intent.line);
                        diags.push(
                            Diagnostic::error(
                                &intent.source,
                                line,
                                format!(
                                    "the example \"{ex}\" ({locale}) is claimed by two intents: `{}` ({}) and `{}`",
                                    other.id,
                                    other.source.display(),
                                    intent.id
                                ),
                            )
                            .with_hint("keep it in the one intent it belongs to; the bot cannot tell them apart otherwise"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        owner.insert((locale.language().to_string(), key), intent);
                    }
                }
            }
        }
    }
    diags
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one intents file.
fn parse_file(
    file: &Path,
    text: &str,
    default_locale: &Locale,
    builtin: bool,
) -> (Loaded, Vec<Diagnostic>) {
    let mut out = Loaded::default();
    let mut diags = Vec::new();
    let value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let line = e.location().map(|l| l.line());
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            diags.push(
                Diagnostic::error(file, line, format!("invalid YAML: {msg}"))
                    .with_hint("check the indentation and quote texts that contain `: ` or start with a special character"),
            );
            return (out, diags);
        }
    };
    let items = match value.get("intents") {
        Some(serde_yaml::Value::Sequence(items)) => items.clone(),
        Some(serde_yaml::Value::Null) | None if value.is_null() => Vec::new(),
        // A file of flows only (`flows:`): `flows::load_dir` reads it.
        None if value.get("flows").is_some() => Vec::new(),
        _ => {
            diags.push(
                Diagnostic::error(
                    file,
                    Some(1),
                    "an intents file is a list under the key `intents:`",
                )
                .with_hint("start the file with `intents:` and list each intent as `- id: ...`"),
            );
            return (out, diags);
        }
    };
    for item in items {
        let id_hint = item.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let line = id_hint.as_deref().and_then(|id| {
            find_line(text, &format!("id: {id}"), 1).or_else(|| find_line(text, id, 1))
        });
        let def: IntentDef = match serde_yaml::from_value(item) {
            Ok(d) => d,
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        file,
                        line,
                        format!("intent `{}`: {e}", id_hint.as_deref().unwrap_or("?")),
                    )
                    .with_hint("an intent takes `id`, `description`, `examples`, `patterns`, `answer`, `article`, `escalate` and `disabled`"),
                );
                continue;
            }
        };
        let id = match IntentId::try_from(def.id.clone()) {
            Ok(id) => id,
            Err(e) => {
                diags.push(Diagnostic::error(file, line, e.to_string()));
                continue;
            }
        };
        if def.disabled {
            out.disabled.push(id);
            continue;
        }
        let from = line.unwrap_or(1);
        let locale_of = |key: &str, diags: &mut Vec<Diagnostic>| match key.parse::<Locale>() {
            Ok(l) => Some(l.language_only()),
            Err(e) => {
                diags.push(
                    Diagnostic::error(file, find_line(text, &format!("{key}:"), from), format!("intent `{id}`: unknown locale: {e}"))
                        .with_hint("write examples and answers under language codes: `en:`, `es:`, `pt:`, `nl:`"),
                );
                None
            }
        };
        let mut examples: BTreeMap<Locale, Vec<String>> = BTreeMap::new();
        match def.examples {
            Some(PerLocaleList::PerLocale(map)) => {
                for (k, v) in map {
                    if let Some(l) = locale_of(&k, &mut diags) {
                        examples.entry(l).or_default().extend(v);
                    }
                }
            }
            Some(PerLocaleList::Plain(v)) => {
                examples.insert(default_locale.language_only(), v);
            }
            None => {}
        }
        let mut answers: BTreeMap<Locale, String> = BTreeMap::new();
        match def.answer {
            Some(PerLocaleText::PerLocale(map)) => {
                for (k, v) in map {
                    if let Some(l) = locale_of(&k, &mut diags) {
                        answers.insert(l, v);
                    }
                }
            }
            Some(PerLocaleText::Plain(v)) => {
                answers.insert(default_locale.language_only(), v);
            }
            None => {}
        }
        let mut patterns = Vec::new();
        for p in def.patterns {
            match regex::RegexBuilder::new(&p).size_limit(1 << 20).build() {
                Ok(regex) => patterns.push(Pattern { regex }),
                Err(e) => {
                    let first = e.to_string();
                    let last = first.lines().last().unwrap_or(&first).trim();
                    let reason = last.strip_prefix("error: ").unwrap_or(last).to_string();
                    // In double quotes YAML reads `\\` as `\` and `\"` as `"`, so a pattern
                    // written there does not occur in the file as parsed.
                    let quoted = p.replace('\\', "\\\\").replace('"', "\\\"");
                    diags.push(
                        Diagnostic::error(
                            file,
                            find_line(text, &p, from)
                                .or_else(|| find_line(text, &quoted, from))
                                .or_else(|| find_line(text, "patterns:", from))
                                .or(line),
                            format!("intent `{id}`: invalid pattern `{p}`: {reason}"),
                        )
                        .with_hint("patterns use Rust regex syntax (no look-around or back-references); escape `(`, `)`, `?` and `.` with `\\` to match them literally"),
                    );
                }
            }
        }
        let article = match def.article.map(ArticleId::try_from) {
            Some(Ok(a)) => Some(a),
            Some(Err(e)) => {
                diags.push(Diagnostic::error(
                    file,
                    find_line(text, "article:", from),
                    format!("intent `{id}`: {e}"),
                ));
                None
            }
            None => None,
        };
        if examples.values().all(Vec::is_empty) && patterns.is_empty() {
            diags.push(
                Diagnostic::warning(
                    file,
                    line,
                    format!("intent `{id}` has no examples and no patterns: it can never match"),
                )
                .with_hint("add `examples:` per language"),
            );
        }
        if answers.is_empty() && article.is_none() && !def.escalate {
            diags.push(
                Diagnostic::error(file, line, format!("intent `{id}` has no `answer`, no `article` and does not escalate: the bot would have nothing to say"))
                    .with_hint("add `answer:` per language, or `article:`, or `escalate: true`"),
            );
            continue;
        }
        out.intents.push(Intent {
            id,
            description: def.description,
            examples,
            patterns,
            answers,
            article,
            escalate: def.escalate,
            builtin,
            source: file.to_path_buf(),
            line,
        });
    }
    (out, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Loaded, Vec<Diagnostic>) {
        parse_file(Path::new("intents/x.yaml"), text, &Locale::english(), false)
    }

    #[test]
    fn the_minimal_form_from_the_docs() {
        let (l, d) = parse(
            r#"intents:
  - id: track_order
    examples:
      en: ["where is my parcel", "track my order"]
      es: ["¿dónde está mi pedido?"]
    patterns: ['(?i)\btrack(ing)?\b']
    answer:
      en: "You can follow your parcel with the link in your shipping email."
    article: en/orders/tracking
    escalate: false
"#,
        );
        assert!(d.is_empty(), "{d:?}");
        let i = &l.intents[0];
        assert_eq!(i.id.as_str(), "track_order");
        assert_eq!(i.examples.len(), 2);
        assert!(i.matches_pattern("Tracking please", "tracking please"));
        assert_eq!(i.answer("es", "en").unwrap().0.as_str(), "en");
    }

    #[test]
    fn invalid_regex_names_its_line() {
        let (l, d) = parse("intents:\n  - id: a\n    examples: [hi]\n    patterns: ['(unclosed']\n    answer: Hi\n");
        assert_eq!(l.intents.len(), 1);
        assert_eq!(d[0].line, Some(4), "{d:?}");
        assert!(d[0].message.contains("invalid pattern"));
    }

    #[test]
    fn a_bad_intent_costs_only_itself() {
        let (l, d) = parse(
            "intents:\n  - id: a\n    answr: x\n  - id: b\n    examples: [hi]\n    answer: Hello\n",
        );
        assert_eq!(l.intents.len(), 1);
        assert_eq!(d[0].line, Some(2));
        assert!(d[0].message.contains("answr"));
    }

    #[test]
    fn example_claimed_twice() {
        let (l, _) = parse("intents:\n  - id: a\n    examples: [Where is it]\n    answer: A\n  - id: b\n    examples: ['where is it?']\n    answer: B\n");
        let d = check_examples(&l.intents);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("claimed by two intents"));
    }

    #[test]
    fn builtins_load_and_can_be_replaced_or_disabled() {
        let b = builtin();
        for id in ["greeting", "thanks", "goodbye", "human_handoff", "abuse"] {
            let i = b
                .iter()
                .find(|i| i.id.as_str() == id)
                .unwrap_or_else(|| panic!("{id}"));
            for lang in ["en", "es", "pt", "nl"] {
                assert!(
                    i.examples.keys().any(|l| l.language() == lang),
                    "{id} {lang}"
                );
                assert!(
                    i.answers.keys().any(|l| l.language() == lang),
                    "{id} {lang}"
                );
            }
        }
        let (shop, _) = parse("intents:\n  - id: greeting\n    disabled: true\n  - id: thanks\n    examples: [ta]\n    answer: Cheers\n");
        let merged = merge(b, shop);
        assert!(!merged.iter().any(|i| i.id.as_str() == "greeting"));
        let thanks: Vec<_> = merged
            .iter()
            .filter(|i| i.id.as_str() == "thanks")
            .collect();
        assert_eq!(thanks.len(), 1);
        assert!(!thanks[0].builtin);
    }

    #[test]
    fn out_of_scope_builtins_escalate_in_every_language() {
        let b = builtin();
        assert!(check_examples(&b).is_empty(), "{:?}", check_examples(&b));
        for id in [
            "job_application",
            "other_shop",
            "medical_advice",
            "off_topic",
            "fraud_report",
            "injury_report",
            "legal_threat",
            "product_advice",
            "partnership",
        ] {
            let i = b
                .iter()
                .find(|i| i.id.as_str() == id)
                .unwrap_or_else(|| panic!("{id}"));
            assert!(i.escalate && i.builtin, "{id}");
            for lang in ["en", "es", "pt", "nl"] {
                let n = i
                    .examples
                    .iter()
                    .filter(|(l, _)| l.language() == lang)
                    .map(|(_, e)| e.len())
                    .sum::<usize>();
                assert!(n >= 8, "{id} has {n} examples in {lang}");
            }
        }
    }

    /// The patterns are certain: ordinary shop questions, in every language, match none.
    #[test]
    fn out_of_scope_patterns_leave_shop_questions_alone() {
        let b = builtin();
        let shop_questions = [
            "how long does delivery take to germany",
            "can i return a jacket i bought from you",
            "is this jacket good for rainy weather",
            "what stage is my order in",
            "o meu pedido está em que estágio",
            "el paquete llegó con un golpe",
            "cuánto es el consumo de batería",
            "hoe lang duurt het terugboeken van mijn geld",
            "do you sell court shoes",
            "where is my refund",
            "can i pay with ideal",
            "mijn bestelling is nog niet binnen",
            "quiero devolver unas botas",
            "quero trocar o tamanho",
        ];
        for q in shop_questions {
            let folded: String = crate::nlu::words(q).collect::<Vec<_>>().join(" ");
            let hits: Vec<&str> = b
                .iter()
                .filter(|i| i.matches_pattern(q, &folded))
                .map(|i| i.id.as_str())
                .collect();
            assert!(hits.is_empty(), "{q:?} matched {hits:?}");
        }
        for (q, id) in [
            ("are you hiring in the warehouse?", "job_application"),
            ("ik wil solliciteren", "job_application"),
            ("my lawyer will call you", "legal_threat"),
            ("me han hackeado la cuenta", "fraud_report"),
            ("i would like to resell your products", "partnership"),
            ("ik wil jullie producten doorverkopen", "partnership"),
            ("what's the weather forecast for saturday", "off_topic"),
            (
                "i bought it at another shop, can i return it here",
                "other_shop",
            ),
        ] {
            let folded: String = crate::nlu::words(q).collect::<Vec<_>>().join(" ");
            let i = b.iter().find(|i| i.id.as_str() == id).unwrap();
            assert!(i.matches_pattern(q, &folded), "{q:?} did not match {id}");
        }
    }
}
