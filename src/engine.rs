//! The engine: the one API the command line and the HTTP service call. A message goes in, one
//! decision comes out (answer, clarify or escalate) with one calibrated confidence.
//!
//! `Engine::ask` does no I/O and never fails; it does run tantivy searches and waits for the
//! embedder thread, so async callers run it on a blocking thread.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Calibration, OnModelError, Settings, Thresholds};
use crate::diagnostic::Diagnostic;
use crate::flows::{self, Flows};
use crate::intents::{self, Intent, IntentId};
use crate::kb::notices::{Notice, Notices, Topic};
use crate::kb::{Article, ArticleId, KnowledgeBase};
use crate::locale::Locale;
use crate::messages::{language_name, messages};
use crate::nlu::embed::{self, Embedder, VectorCache, Vectors};
use crate::nlu::{self, Nlu};
use crate::progress::{Event, Progress, Silent, Task};
use crate::search::{self, IndexBuilder, LexicalIndex, Match, Target};

mod selfcal;
pub use selfcal::SelfCalibration;
use selfcal::SelfQuery;

/// Errors building an engine: our faults (the editors' mistakes are diagnostics instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Search(#[from] search::Error),
    #[error(transparent)]
    Semantic(#[from] embed::Error),
}

/// What the bot does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Answer,
    Clarify,
    Escalate,
}

/// Why a message is handed to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// Confidence below the clarify threshold.
    LowConfidence,
    /// An intent marked `escalate: true` (asking for a person, fraud, injury, legal…).
    Intent,
}

/// A message to answer.
#[derive(Debug, Clone, Default)]
pub struct Question<'a> {
    pub text: &'a str,
    /// The language the channel suggests (the page's `<html lang>`, the API's `locale`).
    pub locale_hint: Option<Locale>,
}

impl<'a> Question<'a> {
    pub fn new(text: &'a str) -> Self {
        Question {
            text,
            locale_hint: None,
        }
    }

    pub fn with_locale_hint(mut self, locale: Option<Locale>) -> Self {
        self.locale_hint = locale;
        self
    }
}

/// A "did you mean" choice, or a ranked alternative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub article: Option<ArticleId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<IntentId>,
    pub title: String,
    pub score: f32,
}

/// A link to the article an answer comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub article: ArticleId,
    pub title: String,
    pub url: String,
}

/// The engine's decision about one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub outcome: Outcome,
    /// ISO 639-1 code of the shopper's language (the reply's, unless `fallback`).
    pub language: String,
    pub intent: Option<IntentId>,
    /// The article used, or the best candidate.
    pub article: Option<ArticleId>,
    /// Calibrated: roughly the probability that `intent`/`article` is right.
    pub confidence: f32,
    /// What the shopper is shown.
    pub text: String,
    pub suggestions: Vec<Suggestion>,
    pub link: Option<Link>,
    /// The answer is in the default language because the shopper's has none.
    pub fallback: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationReason>,
}

/// One result of the help-center search box.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub article: ArticleId,
    pub title: String,
    pub score: f32,
    /// The start of the best-matching section, in plain text.
    pub snippet: String,
}

/// Signals about the best candidate, in the order the calibration weighs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Features {
    pub score: f32,
    pub margin: f32,
    pub cosine: f32,
    pub coverage: f32,
    pub unknown: f32,
    pub language: f32,
    pub short: f32,
    /// Cosine of the message's embedding with the best candidate's nearest text (0 when the
    /// engine is lexical).
    pub semantic: f32,
    /// `semantic` minus the best semantic cosine of another topic.
    pub semantic_margin: f32,
    /// 1 when the lexical ranking's best topic (its candidates ranked without the semantic
    /// similarity) is the semantic layer's nearest topic, translations counting as the same
    /// topic; 0 otherwise, and always 0 when the engine is lexical.
    pub agreement: f32,
    /// `1 / (1 + r)`, `r` the best candidate's rank among the topics nearest in meaning (0:
    /// the nearest); 0 when the engine is lexical or the topic is not among them.
    pub semantic_rank: f32,
}

/// How many features the calibration weighs.
pub const N_FEATURES: usize = 11;

impl Features {
    pub fn as_array(&self) -> [f32; N_FEATURES] {
        [
            self.score,
            self.margin,
            self.cosine,
            self.coverage,
            self.unknown,
            self.language,
            self.short,
            self.semantic,
            self.semantic_margin,
            self.agreement,
            self.semantic_rank,
        ]
    }
}

/// Turns features into a confidence.
pub fn calibrated(c: &Calibration, f: &Features) -> f32 {
    let w = [
        c.w_score,
        c.w_margin,
        c.w_cosine,
        c.w_coverage,
        c.w_unknown,
        c.w_language,
        c.w_short,
        c.w_semantic,
        c.w_semantic_margin,
        c.w_agreement,
        c.w_semantic_rank,
    ];
    let z = c.bias + w.iter().zip(f.as_array()).map(|(w, x)| w * x).sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

/// A ranked candidate: a target in one language with its signals.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub target: Target,
    pub lang: String,
    pub m: Match,
    pub score: f32,
    pub unknown: f32,
    pub n_terms: usize,
    /// Cosine of the message's embedding with the target's nearest text (0 when lexical).
    pub semantic: f32,
}

/// Everything `ask` found out about a message: for the reply, and for `eval`/`calibrate`.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub language: Locale,
    /// Candidates best first; empty when nothing matched.
    pub candidates: Vec<Candidate>,
    /// Signals of the best candidate.
    pub features: Features,
    /// Intents whose patterns matched (escalating ones first).
    pub pattern_hits: Vec<usize>,
    /// The message had no word at all.
    pub empty: bool,
    /// Semantic layer: every target's best cosine with the message, best first (empty when
    /// the engine is lexical).
    pub nearest: Vec<(Target, f32)>,
    /// The semantic layer took part: the model is on, covers the message's language
    /// (`semantic.languages`) and embedded the message. The hybrid calibration and thresholds
    /// apply when it did, the lexical ones otherwise.
    pub hybrid: bool,
}

/// A loaded shop: knowledge base, intents, vocabularies and index.
#[derive(Debug)]
pub struct Engine {
    settings: Settings,
    kb: KnowledgeBase,
    intents: Vec<Intent>,
    nlu: Nlu,
    index: LexicalIndex,
    /// Served languages, default first.
    languages: Vec<String>,
    /// The embeddings of the shop's texts, when the semantic layer is on.
    semantic: Option<SemanticIndex>,
    /// Why the semantic layer is off although the settings enable it.
    semantic_off: Option<String>,
    /// The editors' notices (`notices:` in the config), active or not.
    notices: Notices,
    /// What self-calibration did to the lexical and the hybrid calibration (`selfcal.rs`).
    self_calibration: [Option<SelfCalibration>; 2],
    /// The multi-turn flows the intents start (`flows:` in the intents files).
    flows: Flows,
}

/// The embedded texts: every title, question, section and intent example.
#[derive(Debug)]
struct SemanticIndex {
    /// Shared with the next engine a reload builds.
    embedder: Arc<Embedder>,
    vectors: Vectors,
    /// Per row of `vectors`: whose text it is, the section (for sections), its language.
    rows: Vec<(Target, Option<usize>, String)>,
}

/// A target's nearest text to a message: cosine, the text's section (for sections), language.
type Nearest<'a> = (f32, Option<usize>, &'a str);

/// What a target is about (see `Engine::topic_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TopicKey<'a> {
    /// An article and its translations (`KnowledgeBase::topic`).
    Article(usize),
    Intent(&'a str),
}

/// An untranslated article in another language gives way to a candidate in the shopper's
/// language scoring at least this share of its score.
const OWN_LANGUAGE_SHARE: f32 = 0.75;

/// How many targets the semantic layer adds to the lexical candidates.
const SEMANTIC_CANDIDATES: usize = 10;

/// How far down the targets nearest in meaning `Features::semantic_rank` looks.
const SEMANTIC_RANK_DEPTH: usize = 50;

/// How many of the shop's texts are embedded between two reports of progress.
const EMBED_CHUNK: usize = 128;

/// Where embedded texts are cached when the settings do not say.
fn default_vector_cache() -> PathBuf {
    let base = std::env::var_os("CONCIERGE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/concierge")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("vectors")
}

impl Engine {
    /// Loads the knowledge base and intents named in the settings and builds the engine.
    /// Problems in the files are returned as diagnostics; the engine serves what loaded.
    pub fn load(settings: &Settings) -> Result<(Engine, Vec<Diagnostic>), Error> {
        Engine::load_reusing(settings, None)
    }

    /// `load`, reusing the model of `previous` (a reload): checking and loading the model
    /// takes longer than building the rest of a small shop.
    pub fn load_reusing(
        settings: &Settings,
        previous: Option<&Engine>,
    ) -> Result<(Engine, Vec<Diagnostic>), Error> {
        Engine::load_reporting(settings, previous, &Silent)
    }

    /// `load_reusing`, telling `progress` what it is doing: the shop loaded, the index, the
    /// model, the embedding of the shop's texts (the first start's long part).
    pub fn load_reporting(
        settings: &Settings,
        previous: Option<&Engine>,
        progress: &dyn Progress,
    ) -> Result<(Engine, Vec<Diagnostic>), Error> {
        let default = &settings.shop.default_locale;
        let (kb, mut diags) = KnowledgeBase::load_dir(&settings.knowledge_base, default);
        let (shop, mut d) = intents::load_dir(&settings.intents, default);
        diags.append(&mut d);
        let intents = intents::merge(intents::builtin(), shop);
        diags.extend(intents::check_examples(&intents));
        for intent in &intents {
            if let Some(a) = &intent.article {
                if kb.get(a).is_none() {
                    let text = std::fs::read_to_string(&intent.source).unwrap_or_default();
                    let line =
                        crate::diagnostic::find_line(&text, a.as_str(), intent.line.unwrap_or(1));
                    diags.push(
                        Diagnostic::error(
                            &intent.source,
                            line.or(intent.line),
                            format!("intent `{}`: broken link to article `{a}`: no such article", intent.id),
                        )
                        .with_hint("use the id of an article: its path under the knowledge base without `.md`, e.g. `en/orders/tracking`"),
                    );
                }
            }
        }
        let model = previous
            .and_then(|p| p.semantic.as_ref())
            .filter(|_| previous.is_some_and(|p| p.settings.semantic == settings.semantic))
            .map(|s| s.embedder.clone());
        let synonyms = match &settings.synonyms {
            Some(dir) => {
                let (s, mut d) = nlu::shop_synonyms::load_dir(dir, &settings.shop.locales);
                diags.append(&mut d);
                s
            }
            None => nlu::ShopSynonyms::default(),
        };
        let mut engine =
            Engine::with_model(settings.clone(), kb, intents, model, &synonyms, progress)?;
        if let Some(dir) = &settings.notices {
            diags.extend(engine.load_notices(dir));
        }
        let (flows, mut d) = flows::load_dir(&settings.intents, &engine.intents, &engine.languages);
        diags.append(&mut d);
        engine.flows = flows;
        Ok((engine, diags))
    }

    /// Builds the engine from loaded parts.
    pub fn new(
        settings: Settings,
        kb: KnowledgeBase,
        intents: Vec<Intent>,
    ) -> Result<Engine, Error> {
        Engine::with_model(
            settings,
            kb,
            intents,
            None,
            &nlu::ShopSynonyms::default(),
            &Silent,
        )
    }

    /// `new`, with a model already loaded (when the settings enable the semantic layer).
    fn with_model(
        settings: Settings,
        kb: KnowledgeBase,
        intents: Vec<Intent>,
        model: Option<Arc<Embedder>>,
        synonyms: &nlu::ShopSynonyms,
        progress: &dyn Progress,
    ) -> Result<Engine, Error> {
        let default = settings.shop.default_locale.language().to_string();
        let mut languages: Vec<String> = if settings.shop.locales.is_empty() {
            kb.articles()
                .iter()
                .map(|a| a.locale.language().to_string())
                .chain(
                    intents
                        .iter()
                        .filter(|i| !i.builtin)
                        .flat_map(|i| i.examples.keys().map(|l| l.language().to_string())),
                )
                .collect()
        } else {
            settings
                .shop
                .locales
                .iter()
                .map(|l| l.language().to_string())
                .collect()
        };
        languages.retain(|l| *l != default);
        languages.sort();
        languages.dedup();
        languages.insert(0, default.clone());
        let served: Vec<Locale> = languages.iter().filter_map(|l| l.parse().ok()).collect();
        progress.event(Event::ShopLoaded {
            articles: kb.len(),
            intents: intents.iter().filter(|i| !i.builtin).count(),
            languages: &languages,
        });
        progress.event(Event::BuildingIndex);

        let mut texts: Vec<(String, String)> = Vec::new();
        for a in kb.articles() {
            let lang = a.locale.language().to_string();
            texts.push((lang.clone(), a.title.clone()));
            texts.extend(a.questions.iter().map(|q| (lang.clone(), q.clone())));
            texts.extend(a.sections.iter().map(|s| {
                (
                    lang.clone(),
                    format!("{} {}", s.heading.as_deref().unwrap_or(""), s.plain),
                )
            }));
        }
        for i in &intents {
            for (l, ex) in &i.examples {
                texts.extend(ex.iter().map(|e| (l.language().to_string(), e.clone())));
            }
        }
        let nlu = Nlu::build_with_synonyms(
            &served,
            &settings.shop.default_locale,
            texts.iter().map(|(l, t)| (l.as_str(), t.as_str())),
            synonyms,
        );

        // Analysis is most of the cost of a build: each article's texts are analyzed once,
        // on as many threads as there are cores, then added to the index in order.
        let analyzed = analyze_articles(&nlu, kb.articles());
        let mut builder = IndexBuilder::default();
        let mut own: Vec<SelfQuery> = Vec::new();
        for (ai, (a, terms)) in kb.articles().iter().zip(analyzed).enumerate() {
            let lang = a.locale.language();
            let target = Target::Article(ai);
            let mut whole = Vec::new();
            // The utterances are the title, the questions, then the tags.
            let sentences = std::iter::once(&a.title).chain(&a.questions);
            let mut sentences = sentences.enumerate();
            for u in terms.utterances {
                whole.extend(u.iter().cloned());
                let entry = builder.add_utterance(target, lang, u);
                if let Some((n, text)) = sentences.next() {
                    own.push(SelfQuery {
                        text: text.clone(),
                        lang: lang.to_string(),
                        target,
                        entry,
                        sentence: Some(n),
                    });
                }
            }
            for (si, section) in terms.sections.into_iter().enumerate() {
                whole.extend(section.iter().cloned());
                builder.add_section(target, si, lang, section);
            }
            for (si, heading) in terms.headings {
                let entry = builder.add_heading(target, si, lang, heading);
                if let Some(h) = a.sections[si].heading.as_deref() {
                    own.push(SelfQuery {
                        text: h.to_string(),
                        lang: lang.to_string(),
                        target,
                        entry,
                        sentence: None,
                    });
                }
            }
            builder.add_whole(target, lang, whole);
        }
        for (ii, intent) in intents.iter().enumerate() {
            // Its examples' position among its rows in the semantic index (`embed_shop`).
            let mut sentence = 0;
            for (l, examples) in &intent.examples {
                let an = nlu.analyzer(l.language());
                let mut whole = Vec::new();
                for e in examples {
                    let terms = an.terms(e);
                    whole.extend(terms.iter().cloned());
                    let entry = builder.add_utterance(Target::Intent(ii), l.language(), terms);
                    if !intent.builtin {
                        own.push(SelfQuery {
                            text: e.clone(),
                            lang: l.language().to_string(),
                            target: Target::Intent(ii),
                            entry,
                            sentence: Some(sentence),
                        });
                    }
                    sentence += 1;
                }
                builder.add_whole(Target::Intent(ii), l.language(), whole);
            }
        }
        let index = builder.build()?;
        let mut engine = Engine {
            settings,
            kb,
            intents,
            nlu,
            index,
            languages,
            semantic: None,
            semantic_off: None,
            notices: Notices::default(),
            self_calibration: [None, None],
            flows: Flows::default(),
        };
        if engine.settings.semantic.enabled {
            let loaded = match model {
                Some(m) => Ok(m),
                None => {
                    let dir = engine.settings.semantic.model_dir();
                    progress.event(Event::LoadingModel(&dir));
                    let semantic = &engine.settings.semantic;
                    let options = embed::Options::new(semantic.threads)
                        .with_busy_threads(semantic.busy_threads)
                        .with_precision(semantic.precision);
                    Embedder::load_with(&dir, options).map(Arc::new)
                }
            };
            match loaded {
                Ok(embedder) => engine.semantic = Some(engine.embed_shop(embedder, progress)?),
                Err(e) if engine.settings.semantic.on_error == OnModelError::Lexical => {
                    tracing::warn!("semantic layer off, running the lexical engine alone: {e}");
                    engine.semantic_off = Some(e.to_string());
                }
                Err(e) => return Err(e.into()),
            }
        }
        if engine.settings.self_calibration {
            engine.self_calibrate(&own);
        }
        Ok(engine)
    }

    /// Embeds every title, question, section and intent example, reusing cached vectors.
    fn embed_shop(
        &self,
        embedder: Arc<Embedder>,
        progress: &dyn Progress,
    ) -> Result<SemanticIndex, Error> {
        let mut texts: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        for (ai, a) in self.kb.articles().iter().enumerate() {
            let lang = a.locale.language().to_string();
            let target = Target::Article(ai);
            for t in std::iter::once(&a.title).chain(&a.questions) {
                texts.push(t.clone());
                rows.push((target, None, lang.clone()));
            }
            for (si, sec) in a.sections.iter().enumerate() {
                let text = match &sec.heading {
                    Some(h) => format!("{h}. {}", sec.plain),
                    None => format!("{}. {}", a.title, sec.plain),
                };
                texts.push(text);
                rows.push((target, Some(si), lang.clone()));
            }
        }
        for (ii, intent) in self.intents.iter().enumerate() {
            for (l, examples) in &intent.examples {
                for e in examples {
                    texts.push(e.clone());
                    rows.push((Target::Intent(ii), None, l.language().to_string()));
                }
            }
        }
        let dir = self
            .settings
            .semantic
            .cache
            .clone()
            .unwrap_or_else(default_vector_cache);
        let mut cache = VectorCache::open(&dir, embedder.model(), embedder.dim());
        let mut missing: Vec<String> = texts
            .iter()
            .filter(|t| cache.get(t).is_none())
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        tracing::info!(
            texts = texts.len(),
            cached = texts.len() - missing.len(),
            "embedding the shop"
        );
        if missing.is_empty() {
            progress.event(Event::EmbeddingsCached { texts: texts.len() });
        } else {
            // In chunks of similar length (the model pads a batch to its longest text), so
            // that progress can be told after each.
            missing.sort_by_key(|t| t.chars().count());
            progress.begin(Task::EmbeddingShop, missing.len() as u64);
            for chunk in missing.chunks(EMBED_CHUNK) {
                let vectors = embedder.embed(chunk.to_vec())?;
                for (t, v) in chunk.iter().zip(vectors) {
                    cache.insert(t, v);
                }
                progress.advance(chunk.len() as u64);
            }
            progress.end();
            if let Err(e) = cache.save() {
                tracing::warn!(path = %cache.path().display(), "cannot write the vector cache: {e}");
            }
        }
        let mut vectors = Vectors::new(embedder.dim());
        for t in &texts {
            vectors.push(cache.get(t).expect("every text was embedded"));
        }
        Ok(SemanticIndex {
            embedder,
            vectors,
            rows,
        })
    }

    /// Whether the semantic layer is on.
    pub fn is_semantic(&self) -> bool {
        self.semantic.is_some()
    }

    /// Why the semantic layer is off although the settings enable it (`on_error: lexical`).
    pub fn semantic_off_reason(&self) -> Option<&str> {
        self.semantic_off.as_deref()
    }

    /// The calibration a message is weighed with: the hybrid one when the semantic layer
    /// took part (see `Analysis::hybrid`), else the lexical one.
    pub fn calibration_for(&self, a: &Analysis) -> &Calibration {
        if a.hybrid {
            &self.settings.semantic.calibration
        } else {
            &self.settings.calibration
        }
    }

    /// The thresholds a message is decided with (see `calibration_for`).
    pub fn thresholds_for(&self, a: &Analysis) -> Thresholds {
        if a.hybrid {
            self.settings.semantic.thresholds
        } else {
            self.settings.thresholds
        }
    }

    /// The calibration in force for a language the model covers: the hybrid one when the
    /// semantic layer is on.
    pub fn calibration(&self) -> &Calibration {
        match self.semantic {
            Some(_) => &self.settings.semantic.calibration,
            None => &self.settings.calibration,
        }
    }

    /// The thresholds in force for a language the model covers: the hybrid ones when the
    /// semantic layer is on.
    pub fn thresholds(&self) -> Thresholds {
        match self.semantic {
            Some(_) => self.settings.semantic.thresholds,
            None => self.settings.thresholds,
        }
    }

    /// Embeddings of messages, in one batch (for labelled sets); `None` each when lexical or
    /// when the model failed.
    pub fn embed_messages(&self, texts: &[&str]) -> Vec<Option<Vec<f32>>> {
        let Some(sem) = &self.semantic else {
            return vec![None; texts.len()];
        };
        let max = self.settings.limits.max_message_chars;
        let normalized = texts.iter().map(|t| nlu::normalize(t, max)).collect();
        Self::embed_normalized(sem, normalized)
    }

    /// Embeddings of messages already `nlu::normalize`d; `None` each when the model failed.
    fn embed_normalized(sem: &SemanticIndex, normalized: Vec<String>) -> Vec<Option<Vec<f32>>> {
        let n = normalized.len();
        match sem.embedder.embed(normalized) {
            Ok(v) => v.into_iter().map(Some).collect(),
            Err(e) => {
                tracing::error!("embedding failed, answering lexically: {e}");
                vec![None; n]
            }
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// The flows the intents start.
    pub fn flows(&self) -> &Flows {
        &self.flows
    }

    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// The languages served, default first.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    fn default_language(&self) -> &str {
        &self.languages[0]
    }

    /// Understands a message: language, pattern hits, ranked candidates and their signals,
    /// with the calibration of the message's language (see `calibration_for`).
    pub fn analyze(&self, question: &Question<'_>) -> Analysis {
        let mut analysis = self.retrieve(question);
        let cal = *self.calibration_for(&analysis);
        self.rank(&mut analysis, &cal);
        analysis
    }

    /// `analyze` with other ranking weights (for fitting them).
    pub fn analyze_with(&self, question: &Question<'_>, cal: &Calibration) -> Analysis {
        let mut analysis = self.retrieve_with(question, cal.unknown_weight);
        self.rank(&mut analysis, cal);
        analysis
    }

    /// Language, pattern hits and unranked candidates with their signals: everything that
    /// does not depend on the ranking weights (so `calibrate` retrieves once per question).
    pub fn retrieve(&self, question: &Question<'_>) -> Analysis {
        let embedding = self.embed_question(question);
        self.retrieve_message(question, embedding.as_deref())
    }

    /// The message's embedding, when the semantic layer is on and covers the message's
    /// language (in another language its similarities would be ignored: see
    /// `retrieve_inner`). Blocks until the embedder thread has embedded it, together with
    /// whatever else was waiting.
    pub fn embed_question(&self, question: &Question<'_>) -> Option<Vec<f32>> {
        let sem = self.semantic.as_ref()?;
        let text = nlu::normalize(question.text, self.settings.limits.max_message_chars);
        let language = self.nlu.detect(&text, question.locale_hint.as_ref());
        if self.settings.semantic.covers(language.locale.language()) {
            Self::embed_normalized(sem, vec![text]).pop().flatten()
        } else {
            None
        }
    }

    /// `retrieve` with another weight for unknown terms (for fitting it).
    pub fn retrieve_with(&self, question: &Question<'_>, unknown_weight: f32) -> Analysis {
        let embedding = self.embed_question(question);
        self.retrieve_embedded(question, embedding.as_deref(), unknown_weight)
    }

    /// `retrieve`, given the message's embedding (from `embed_messages`, which embeds a
    /// whole labelled set in batches).
    pub fn retrieve_message(&self, question: &Question<'_>, embedding: Option<&[f32]>) -> Analysis {
        self.retrieve_inner(question, embedding, None, (None, None))
    }

    /// `retrieve_with`, given the message's embedding (from `embed_messages`).
    pub fn retrieve_embedded(
        &self,
        question: &Question<'_>,
        embedding: Option<&[f32]>,
        unknown_weight: f32,
    ) -> Analysis {
        self.retrieve_inner(question, embedding, Some(unknown_weight), (None, None))
    }

    /// Retrieval as if one of the shop's own texts were not there: its lexical entry and its
    /// semantic row (self-calibration).
    fn retrieve_held_out(
        &self,
        question: &Question<'_>,
        embedding: Option<&[f32]>,
        entry: Option<usize>,
        row: Option<usize>,
    ) -> Analysis {
        self.retrieve_inner(question, embedding, None, (entry, row))
    }

    /// What self-calibration did to the lexical and the hybrid calibration (none when the
    /// settings switch it off).
    pub fn self_calibration(&self) -> [Option<SelfCalibration>; 2] {
        self.self_calibration
    }

    /// Retrieval; `unknown_weight` `None` takes the one of the calibration in force for the
    /// message's language.
    fn retrieve_inner(
        &self,
        question: &Question<'_>,
        embedding: Option<&[f32]>,
        unknown_weight: Option<f32>,
        (without_entry, without_row): (Option<usize>, Option<usize>),
    ) -> Analysis {
        let text = nlu::normalize(question.text, self.settings.limits.max_message_chars);
        let folded: String = nlu::words(&text).collect::<Vec<_>>().join(" ");
        let language = self.nlu.detect(&text, question.locale_hint.as_ref());
        // An English model's similarities between Spanish, Dutch or Portuguese sentences are
        // mostly noise: in a language the model does not cover, the lexical engine answers.
        let embedding = embedding.filter(|_| {
            self.semantic.is_some() && self.settings.semantic.covers(language.locale.language())
        });
        let mut analysis = Analysis {
            language: language.locale.clone(),
            candidates: Vec::new(),
            features: Features::default(),
            pattern_hits: Vec::new(),
            empty: folded.is_empty(),
            nearest: Vec::new(),
            hybrid: embedding.is_some(),
        };
        let unknown_weight =
            unknown_weight.unwrap_or_else(|| self.calibration_for(&analysis).unknown_weight);
        if analysis.empty {
            return analysis;
        }
        let mut hits: Vec<usize> = (0..self.intents.len())
            .filter(|&i| self.intents[i].matches_pattern(&text, &folded))
            .collect();
        hits.sort_by_key(|&i| !self.intents[i].escalate);
        analysis.pattern_hits = hits;

        let shopper = language.locale.language();
        // Per target: the best cosine of the message with one of its texts, that text's
        // section and language.
        let semantic: HashMap<Target, Nearest> = match (&self.semantic, embedding) {
            (Some(sem), Some(q)) => {
                let k = self.settings.semantic.neighbors.max(1);
                let mut best: HashMap<Target, Nearest> = HashMap::new();
                // Intents' k best cosines, when k > 1.
                let mut nearest_k: HashMap<Target, Vec<f32>> = HashMap::new();
                for (row, score) in sem.vectors.scores(q).into_iter().enumerate() {
                    if Some(row) == without_row {
                        continue;
                    }
                    let (target, section, lang) = &sem.rows[row];
                    let e = best.entry(*target).or_insert((f32::MIN, None, lang));
                    if score > e.0 {
                        *e = (score, *section, lang);
                    }
                    if k > 1 && matches!(target, Target::Intent(_)) {
                        keep_best(nearest_k.entry(*target).or_default(), score, k);
                    }
                }
                for (target, scores) in nearest_k {
                    if let Some(e) = best.get_mut(&target) {
                        e.0 = scores.iter().sum::<f32>() / scores.len() as f32;
                    }
                }
                best
            }
            _ => HashMap::new(),
        };
        let sem_of = |t: Target| semantic.get(&t).map_or(0.0, |s| s.0);
        let mut unknown_by_lang: HashMap<&str, (f32, usize)> = HashMap::new();
        let mut candidates = Vec::new();
        let mut concepts: Vec<String> = Vec::new();
        for lang in std::iter::once(shopper).chain(
            self.languages
                .iter()
                .map(String::as_str)
                .filter(|l| *l != shopper),
        ) {
            let mut q = self.nlu.query_terms(lang, &text);
            if lang == shopper {
                concepts = q
                    .terms
                    .iter()
                    .filter(|t| nlu::is_concept(t))
                    .cloned()
                    .collect();
            } else {
                // In another language the message's own words rarely match; the concepts
                // found in the shopper's language carry the meaning across.
                q.terms.retain(|t| !nlu::is_concept(t));
                q.terms.extend(concepts.iter().cloned());
            }
            if q.terms.is_empty() {
                continue;
            }
            // A word we had to correct is half a guess: "weather" is one letter from
            // "leather", and the shop sells no weather.
            let corrected = q.corrections.len() as f32 / q.terms.len() as f32;
            let unknown = (self.index.unknown_share(lang, &q.terms) + 0.5 * corrected).min(1.0);
            let n_terms = q.terms.len();
            unknown_by_lang.insert(lang, (unknown, n_terms));
            for m in self
                .index
                .matches_without(lang, &q.terms, unknown_weight, without_entry)
            {
                candidates.push(Candidate {
                    target: m.target,
                    lang: lang.to_string(),
                    semantic: sem_of(m.target),
                    m,
                    score: 0.0,
                    unknown,
                    n_terms,
                });
            }
        }
        // The semantic layer adds the targets whose texts are nearest in meaning, even when
        // they share no word with the message.
        let mut by_meaning: Vec<(&Target, &Nearest)> = semantic.iter().collect();
        by_meaning.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.0.cmp(b.0)));
        let lexical: HashSet<Target> = if by_meaning.is_empty() {
            HashSet::new()
        } else {
            candidates.iter().map(|c| c.target).collect()
        };
        for (&target, &(sem, section, lang)) in by_meaning
            .iter()
            .filter(|(t, _)| !lexical.contains(t))
            .take(SEMANTIC_CANDIDATES)
        {
            let (unknown, n_terms) = unknown_by_lang
                .get(lang)
                .or_else(|| unknown_by_lang.get(shopper))
                .copied()
                .unwrap_or((1.0, 1));
            candidates.push(Candidate {
                target,
                lang: lang.to_string(),
                m: Match {
                    target,
                    section: if matches!(target, Target::Article(_)) {
                        section
                    } else {
                        None
                    },
                    cosine: 0.0,
                    coverage: 0.0,
                    union: 0.0,
                    bm25: 0.0,
                    section_bm25: 0.0,
                },
                score: 0.0,
                unknown,
                n_terms,
                semantic: sem,
            });
        }
        analysis.nearest = by_meaning.iter().map(|(t, n)| (**t, n.0)).collect();
        analysis.candidates = candidates;
        analysis
    }

    /// Scores and sorts the candidates with the ranking weights, and sets the features of
    /// the best one.
    pub fn rank(&self, analysis: &mut Analysis, cal: &Calibration) {
        let shopper = analysis.language.language().to_string();
        for c in &mut analysis.candidates {
            let lang_bonus = if c.lang == shopper {
                cal.rank_language
            } else {
                0.0
            };
            let coverage = 0.5 * (c.m.coverage + c.m.union);
            let bm25 = (1.0 - cal.rank_section) * c.m.bm25 + cal.rank_section * c.m.section_bm25;
            c.score = cal.rank_cosine * c.m.cosine
                + (1.0 - cal.rank_cosine) * coverage
                + cal.rank_bm25 * bm25
                + cal.rank_semantic * c.semantic
                + lang_bonus;
        }
        let candidates = &mut analysis.candidates;
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.target.cmp(&b.target)));
        self.prefer_shopper_language(candidates, &shopper);
        let candidates = &analysis.candidates;
        analysis.features = Features::default();
        if let Some(top) = candidates.first() {
            let top_topic = self.topic_key(top.target);
            let second = candidates
                .iter()
                .skip(1)
                .find(|c| self.topic_key(c.target) != top_topic)
                .map_or(0.0, |c| c.score);
            // `nearest` is sorted best first: the first of another topic is the runner-up.
            let second_semantic = analysis
                .nearest
                .iter()
                .find(|(t, _)| self.topic_key(*t) != top_topic)
                .map_or(0.0, |(_, s)| s.max(0.0));
            analysis.features = Features {
                score: top.score,
                margin: top.score - second,
                cosine: top.m.cosine,
                coverage: top.m.coverage,
                unknown: top.unknown,
                language: if top.lang == shopper { 1.0 } else { 0.0 },
                short: 1.0 / top.n_terms as f32,
                semantic: top.semantic,
                semantic_margin: if analysis.nearest.is_empty() {
                    0.0
                } else {
                    top.semantic - second_semantic
                },
                agreement: self.agreement(candidates, &analysis.nearest, cal),
                semantic_rank: self.semantic_rank(top_topic, &analysis.nearest),
            };
        }
    }

    /// `Features::agreement`: whether the candidate the ranking would put first without the
    /// semantic similarity (among those the lexical index found) is about the topic nearest in
    /// meaning.
    fn agreement(
        &self,
        candidates: &[Candidate],
        nearest: &[(Target, f32)],
        cal: &Calibration,
    ) -> f32 {
        let Some(&(semantic_best, _)) = nearest.first() else {
            return 0.0;
        };
        let lexical_best = candidates
            .iter()
            .filter(|c| c.m.cosine > 0.0 || c.m.coverage > 0.0 || c.m.bm25 > 0.0)
            .map(|c| (c, c.score - cal.rank_semantic * c.semantic))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.target.cmp(&a.0.target)));
        match lexical_best {
            Some((c, _)) if self.topic_key(c.target) == self.topic_key(semantic_best) => 1.0,
            _ => 0.0,
        }
    }

    /// `Features::semantic_rank`: how near in meaning `topic` is, among the topics.
    fn semantic_rank(&self, topic: TopicKey<'_>, nearest: &[(Target, f32)]) -> f32 {
        let mut seen: Vec<TopicKey<'_>> = Vec::new();
        for &(t, _) in nearest.iter().take(SEMANTIC_RANK_DEPTH) {
            let key = self.topic_key(t);
            if key == topic {
                return 1.0 / (1.0 + seen.len() as f32);
            }
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        0.0
    }

    /// The shopper's own language first: when the best candidate is an article in another
    /// language that has no translation in the shopper's, a candidate in the shopper's language
    /// that scores nearly as well (`OWN_LANGUAGE_SHARE`) goes first. Another language's article
    /// only answers when nothing in the shopper's comes close (and the reply says so).
    fn prefer_shopper_language(&self, candidates: &mut [Candidate], shopper: &str) {
        let Some(top) = candidates.first() else {
            return;
        };
        let Target::Article(i) = top.target else {
            return;
        };
        let found = &self.kb.articles()[i];
        if found.locale.language() == shopper || self.kb.translation(&found.id, shopper).is_some() {
            return;
        }
        let floor = OWN_LANGUAGE_SHARE * top.score;
        let own = candidates.iter().position(|c| {
            c.score >= floor
                && match c.target {
                    Target::Article(j) => self.kb.articles()[j].locale.language() == shopper,
                    Target::Intent(_) => c.lang == shopper,
                }
        });
        if let Some(k) = own {
            candidates[..=k].rotate_right(1);
        }
    }

    /// What a target is about, across languages: the article path without its locale folder,
    /// or the intent id (an intent linked to an article shares the article's topic). Borrowed,
    /// for comparisons in the ranking loops.
    fn topic_key(&self, target: Target) -> TopicKey<'_> {
        match target {
            Target::Article(i) => TopicKey::Article(self.kb.topic(i)),
            Target::Intent(i) => match self.intents[i]
                .article
                .as_ref()
                .and_then(|a| self.kb.topic_of(a))
            {
                Some(t) => TopicKey::Article(t),
                None => TopicKey::Intent(self.intents[i].id.as_str()),
            },
        }
    }

    /// The id a labelled set names for a target: an article id or an intent id.
    pub fn target_ids(&self, target: Target) -> (Option<&ArticleId>, Option<&IntentId>) {
        match target {
            Target::Article(i) => (Some(&self.kb.articles()[i].id), None),
            Target::Intent(i) => (self.intents[i].article.as_ref(), Some(&self.intents[i].id)),
        }
    }

    /// The help-center search box: articles in `locale` (default: the query's language) best
    /// first. Intents are not listed; an intent linked to an article lists that article.
    pub fn search(&self, query: &str, locale: Option<&Locale>, limit: usize) -> Vec<SearchHit> {
        let a = self.analyze(&Question::new(query).with_locale_hint(locale.cloned()));
        let lang = locale
            .map_or(a.language.language(), |l| l.language())
            .to_string();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for c in &a.candidates {
            if out.len() >= limit {
                break;
            }
            let (article, section) = match c.target {
                Target::Article(i) => (&self.kb.articles()[i], c.m.section),
                Target::Intent(i) => match self.intents[i]
                    .article
                    .as_ref()
                    .and_then(|id| self.kb.get(id))
                {
                    Some(a) => (a, None),
                    None => continue,
                },
            };
            let article = if article.locale.language() == lang {
                article
            } else {
                match self.kb.translation(&article.id, &lang) {
                    Some(t) => t,
                    None if locale.is_some() => continue,
                    None => article,
                }
            };
            if !seen.insert(article.id.clone()) {
                continue;
            }
            let snippet: String = lead(article, section)
                .replace('\n', " ")
                .chars()
                .take(160)
                .collect();
            out.push(SearchHit {
                article: article.id.clone(),
                title: article.title.clone(),
                score: c.score.min(1.0),
                snippet,
            });
        }
        out
    }

    /// Answers one message.
    pub fn ask(&self, question: &Question<'_>) -> Reply {
        let analysis = self.analyze(question);
        self.decide(&analysis)
    }

    /// `ask`, given the message's embedding from `embed_question` (the service embeds before
    /// it takes a core, so that the messages waiting for the model share one pass).
    pub fn ask_embedded(&self, question: &Question<'_>, embedding: Option<&[f32]>) -> Reply {
        let mut analysis = self.retrieve_message(question, embedding);
        let cal = *self.calibration_for(&analysis);
        self.rank(&mut analysis, &cal);
        self.decide(&analysis)
    }

    /// A follow-up that makes no sense alone ("and to Canada?"), asked together with the
    /// question that found the previous topic (`context`): the two together find the topic,
    /// the follow-up's own words (`alone`: its analysis by itself) the section of it to quote
    /// ("Canada", not the "Germany" of the earlier question). The language is the context's
    /// when the follow-up gives no hint.
    pub fn ask_follow_up(&self, question: &Question<'_>, alone: &Analysis, context: &str) -> Reply {
        let combined = format!("{context} {}", question.text);
        let both = self.analyze(&Question {
            text: &combined,
            locale_hint: question.locale_hint.clone(),
        });
        let reply = self.decide(&both);
        if reply.outcome != Outcome::Answer {
            return reply;
        }
        let Some(top) = both.candidates.first() else {
            return reply;
        };
        let Target::Article(i) = top.target else {
            return reply;
        };
        // Where the follow-up's own words land in the same article, if anywhere.
        let section = alone
            .candidates
            .iter()
            .find(|c| c.target == top.target)
            .and_then(|c| c.m.section);
        match section {
            Some(s) if Some(s) != top.m.section => {
                self.reply_with_article(reply, &both, i, Some(s))
            }
            _ => reply,
        }
    }

    /// Turns an analysis into a reply.
    pub fn decide(&self, a: &Analysis) -> Reply {
        let lang = a.language.language().to_string();
        let msgs = messages(&lang);
        let t = self.thresholds_for(a);
        let mut reply = Reply {
            outcome: Outcome::Escalate,
            language: lang.clone(),
            intent: None,
            article: None,
            confidence: 0.0,
            text: String::new(),
            suggestions: Vec::new(),
            link: None,
            fallback: false,
            escalation: None,
        };
        if a.empty {
            reply.outcome = Outcome::Clarify;
            reply.text = msgs.empty.to_string();
            return reply;
        }
        if let Some(&i) = a.pattern_hits.first() {
            reply.confidence = 1.0;
            return self.reply_with_intent(reply, i);
        }
        let Some(top) = a.candidates.first() else {
            reply.escalation = Some(EscalationReason::LowConfidence);
            reply.text = msgs.escalate.to_string();
            return reply;
        };
        let confidence = calibrated(self.calibration_for(a), &a.features);
        reply.confidence = confidence;
        // An intent the shop always wants a person for escalates as soon as it is the best
        // match and the bot is not lost: "did you mean: fraud?" is no question to ask.
        if let Target::Intent(i) = top.target {
            if self.intents[i].escalate && confidence >= t.clarify {
                return self.reply_with_intent(reply, i);
            }
        }
        let (article, intent) = self.target_ids(top.target);
        reply.article = article.map(|id| self.localized(id, &lang).id.clone());
        reply.intent = intent.cloned();
        reply.suggestions = self.suggestions(a, 3);
        if confidence >= t.answer {
            return match top.target {
                Target::Intent(i) => self.reply_with_intent(reply, i),
                Target::Article(i) => self.reply_with_article(reply, a, i, top.m.section),
            };
        }
        if confidence >= t.clarify && !reply.suggestions.is_empty() {
            reply.outcome = Outcome::Clarify;
            let mut text = msgs.clarify.to_string();
            for s in &reply.suggestions {
                text.push_str("\n• ");
                text.push_str(&s.title);
            }
            reply.text = text;
            return reply;
        }
        reply.outcome = Outcome::Escalate;
        reply.escalation = Some(EscalationReason::LowConfidence);
        reply.text = msgs.escalate.to_string();
        reply
    }

    /// Up to `n` distinct topics, best first, in the shopper's language where written.
    pub fn suggestions(&self, a: &Analysis, n: usize) -> Vec<Suggestion> {
        let lang = a.language.language();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let top_score = a.candidates.first().map_or(0.0, |c| c.score);
        for c in &a.candidates {
            if out.len() >= n || c.score < 0.5 * top_score {
                break;
            }
            if !seen.insert(self.topic_key(c.target)) {
                continue;
            }
            let s = match c.target {
                Target::Intent(i) => {
                    let intent = &self.intents[i];
                    if intent.escalate || intent.builtin {
                        continue;
                    }
                    let article = intent.article.as_ref().map(|id| self.localized(id, lang));
                    let title = article
                        .map(|a| a.title.clone())
                        .or_else(|| intent.description.clone())
                        .unwrap_or_else(|| intent.id.to_string());
                    Suggestion {
                        article: article.map(|a| a.id.clone()),
                        intent: Some(intent.id.clone()),
                        title,
                        score: c.score.min(1.0),
                    }
                }
                Target::Article(i) => {
                    let art = self.localized(&self.kb.articles()[i].id, lang);
                    Suggestion {
                        article: Some(art.id.clone()),
                        intent: None,
                        title: art.title.clone(),
                        score: c.score.min(1.0),
                    }
                }
            };
            out.push(s);
        }
        out
    }

    /// The article in `lang` if translated, else itself. `id` must exist.
    fn localized<'s>(&'s self, id: &ArticleId, lang: &str) -> &'s Article {
        self.kb
            .translation(id, lang)
            .or_else(|| self.kb.get(id))
            .expect("article ids passed here come from the knowledge base")
    }

    /// The link to a section of an article (`shop.article_url`); an empty anchor links the article.
    pub fn link(&self, article: &Article, anchor: &str) -> Link {
        let url = self
            .settings
            .shop
            .article_url
            .replace("{id}", article.id.as_str())
            .replace("{anchor}", anchor);
        let url = url.strip_suffix('#').unwrap_or(&url).to_string();
        Link {
            article: article.id.clone(),
            title: article.title.clone(),
            url,
        }
    }

    fn reply_with_intent(&self, mut reply: Reply, i: usize) -> Reply {
        let intent = &self.intents[i];
        let lang = reply.language.clone();
        reply.intent = Some(intent.id.clone());
        let article = intent
            .article
            .as_ref()
            .filter(|id| self.kb.get(id).is_some())
            .map(|id| self.localized(id, &lang));
        reply.article = article.map(|a| a.id.clone());
        reply.link = article.map(|a| self.link(a, ""));
        match intent.answer(&lang, self.default_language()) {
            Some((l, text)) => {
                reply.text = text.to_string();
                reply.fallback = l.language() != lang;
            }
            None => {
                reply.text = match (intent.escalate, article) {
                    (true, _) | (false, None) => messages(&lang).escalate.to_string(),
                    (false, Some(a)) => lead(a, None),
                };
            }
        }
        if intent.escalate {
            reply.outcome = Outcome::Escalate;
            reply.escalation = Some(EscalationReason::Intent);
            reply.suggestions.clear();
        } else {
            reply.outcome = Outcome::Answer;
        }
        reply
    }

    fn reply_with_article(
        &self,
        mut reply: Reply,
        a: &Analysis,
        i: usize,
        section: Option<usize>,
    ) -> Reply {
        let lang = reply.language.clone();
        let found = &self.kb.articles()[i];
        // The same topic in the shopper's language: prefer the candidate (it knows the best
        // section), else the translation's introduction.
        let (article, section) = if found.locale.language() == lang {
            (found, section)
        } else if let Some(c) = a.candidates.iter().find(|c| {
            matches!(c.target, Target::Article(j) if self.kb.articles()[j].locale.language() == lang
                && self.kb.topic(j) == self.kb.topic(i))
        }) {
            let Target::Article(j) = c.target else {
                unreachable!()
            };
            (&self.kb.articles()[j], c.m.section)
        } else if let Some(t) = self.kb.translation(&found.id, &lang) {
            (t, None)
        } else {
            (found, section)
        };
        reply.outcome = Outcome::Answer;
        reply.article = Some(article.id.clone());
        reply.intent = None;
        let anchor = section
            .and_then(|s| article.sections.get(s))
            .map(|s| s.anchor.as_str())
            .unwrap_or("");
        reply.link = Some(self.link(article, anchor));
        let mut text = lead(article, section);
        if article.locale.language() != lang {
            reply.fallback = true;
            let note = messages(&lang)
                .fallback
                .replace("{lang}", &language_name(article.locale.language(), &lang));
            text = format!("{note}\n{text}");
        }
        reply.text = text;
        reply
    }
}

/// Keeps the `k` best of `scores` plus `score`, best first.
fn keep_best(scores: &mut Vec<f32>, score: f32, k: usize) {
    if scores.len() == k && scores.last().is_some_and(|&worst| score <= worst) {
        return;
    }
    let at = scores.partition_point(|&s| s >= score);
    scores.insert(at, score);
    scores.truncate(k);
}

/// The analyzed texts of one article.
struct ArticleTerms {
    /// Title, each question, and the tags.
    utterances: Vec<Vec<String>>,
    /// Each section, heading included.
    sections: Vec<Vec<String>>,
    /// The title with each section's heading, by section number.
    headings: Vec<(usize, Vec<String>)>,
}

/// Analyzes articles on all cores; the result is in the articles' order.
fn analyze_articles(nlu: &Nlu, articles: &[Article]) -> Vec<ArticleTerms> {
    let one = |a: &Article| {
        let an = nlu.analyzer(a.locale.language());
        let mut utterances = vec![an.terms(&a.title)];
        utterances.extend(a.questions.iter().map(|q| an.terms(q)));
        if !a.tags.is_empty() {
            utterances.push(an.terms(&a.tags.join(" ")));
        }
        let sections = a
            .sections
            .iter()
            .map(|s| {
                an.terms(&format!(
                    "{} {}",
                    s.heading.as_deref().unwrap_or(""),
                    s.plain
                ))
            })
            .collect();
        let headings = a
            .sections
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let h = s.heading.as_deref()?;
                Some((i, an.terms(&format!("{} {h}", a.title))))
            })
            .collect();
        ArticleTerms {
            utterances,
            sections,
            headings,
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || articles.len() < 64 {
        return articles.iter().map(one).collect();
    }
    let chunk = articles.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = articles
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("analysis does not panic"))
            .collect()
    })
}

/// The quotable answer of an article: the lead of a section, else of the introduction, cut at
/// a sentence boundary near 600 characters.
fn lead(article: &Article, section: Option<usize>) -> String {
    let s = section
        .and_then(|i| article.sections.get(i))
        .filter(|s| !s.lead.is_empty())
        .or_else(|| article.sections.iter().find(|s| !s.lead.is_empty()));
    let Some(s) = s else {
        return article.title.clone();
    };
    let text = s.lead.as_str();
    if text.chars().count() <= 600 {
        return text.to_string();
    }
    let cut: String = text.chars().take(600).collect();
    match cut.rfind(". ") {
        Some(p) if p > 200 => cut[..=p].to_string(),
        _ => format!("{}…", cut.trim_end()),
    }
}

/// Notices (issue 15): loading them beside the content, and putting the active ones before
/// an answer on their topic.
impl Engine {
    /// Loads the notices of `dir` and checks them against this shop's articles, tags,
    /// intents and languages.
    fn load_notices(&mut self, dir: &std::path::Path) -> Vec<Diagnostic> {
        let (mut notices, mut diags) = Notices::load_dir(dir);
        let tags: HashSet<&str> = self
            .kb
            .articles()
            .iter()
            .flat_map(|a| a.tags.iter().map(String::as_str))
            .collect();
        let intents: HashSet<&str> = self.intents.iter().map(|i| i.id.as_str()).collect();
        let kb = &self.kb;
        diags.extend(notices.check(|a| kb.get(a).is_some(), &tags, &intents));
        for n in notices.all() {
            for l in &n.locales {
                if !self.languages.iter().any(|s| s == l.language()) {
                    diags.push(
                        Diagnostic::error(
                            &n.path,
                            crate::diagnostic::find_line(
                                &std::fs::read_to_string(&n.path).unwrap_or_default(),
                                l.as_str(),
                                1,
                            ),
                            format!("unknown locale `{l}`: the shop does not serve it"),
                        )
                        .with_hint(format!(
                            "use one of the shop's languages: {}",
                            self.languages.join(", ")
                        )),
                    );
                }
            }
        }
        self.notices = notices;
        diags
    }

    /// The editors' notices, active or not.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    /// The notices active at `now` on the topic of `reply` (its article, that article's tags,
    /// its intent), in the reply's language. Only answers have a topic.
    pub fn notices_for<'a>(&'a self, reply: &'a Reply, now: jiff::Timestamp) -> Vec<&'a Notice> {
        if reply.outcome != Outcome::Answer || self.notices.is_empty() {
            return Vec::new();
        }
        let article = reply.article.as_ref();
        let tags = article
            .and_then(|a| self.kb.get(a))
            .map_or(&[][..], |a| a.tags.as_slice());
        let topic = Topic {
            article,
            tags,
            intent: reply.intent.as_ref().map(IntentId::as_str),
        };
        self.notices.on_topic(now, &reply.language, topic).collect()
    }

    /// Puts the notices active at `now` on the reply's topic before its text.
    pub fn prepend_notices(&self, reply: &mut Reply, now: jiff::Timestamp) {
        let notices = self.notices_for(reply, now);
        if notices.is_empty() {
            return;
        }
        let mut text: Vec<&str> = notices.iter().map(|n| n.text.as_str()).collect();
        text.push(&reply.text);
        reply.text = text.join("\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_best_keeps_the_k_best_best_first() {
        let mut v = Vec::new();
        for s in [0.2, 0.9, 0.1, 0.5, 0.7, 0.5] {
            keep_best(&mut v, s, 3);
        }
        assert_eq!(v, vec![0.9, 0.7, 0.5]);
        let mut one = Vec::new();
        for s in [0.3, 0.8, 0.4] {
            keep_best(&mut one, s, 1);
        }
        assert_eq!(one, vec![0.8]);
    }

    /// A lexical engine over three articles: returns in English and its Spanish translation
    /// (same path), shipping in English.
    fn returns_and_shipping() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let write = |path: &str, text: &str| {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write(
            "en/returns.md",
            "---\ntitle: How do I return a product?\n---\nSend the product back within 30 days for a refund.\n",
        );
        write(
            "es/returns.md",
            "---\ntitle: ¿Cómo devuelvo un producto?\n---\nDevuelve el producto en 30 días.\n",
        );
        write(
            "en/shipping.md",
            "---\ntitle: How long does shipping take?\n---\nParcels arrive in three to five days.\n",
        );
        let (kb, diags) = KnowledgeBase::load_dir(dir.path(), &Locale::english());
        assert!(diags.is_empty(), "{diags:?}");
        let mut settings = Settings::default();
        settings.semantic.enabled = false;
        settings.self_calibration = false;
        let engine = Engine::new(settings, kb, Vec::new()).expect("an engine");
        (dir, engine)
    }

    fn article(engine: &Engine, id: &str) -> Target {
        let i = engine
            .knowledge_base()
            .articles()
            .iter()
            .position(|a| a.id.as_str() == id)
            .unwrap_or_else(|| panic!("no article {id}"));
        Target::Article(i)
    }

    #[test]
    fn agreement_counts_a_translation_as_the_same_topic() {
        let (_dir, engine) = returns_and_shipping();
        let cal = Calibration::hybrid();
        let mut a = engine.retrieve(&Question::new("how do I return a product"));
        engine.rank(&mut a, &cal);
        let returns = article(&engine, "en/returns");
        assert_eq!(a.candidates[0].target, returns, "{:?}", a.candidates);
        // Lexical: nothing nearest in meaning, so no agreement and no semantic rank.
        assert_eq!((a.features.agreement, a.features.semantic_rank), (0.0, 0.0));

        // The nearest text in meaning is the Spanish translation: the same topic.
        a.nearest = vec![
            (article(&engine, "es/returns"), 0.9),
            (article(&engine, "en/shipping"), 0.4),
        ];
        engine.rank(&mut a, &cal);
        assert_eq!((a.features.agreement, a.features.semantic_rank), (1.0, 1.0));

        // Shipping nearest in meaning: the rankings disagree, returns is the second topic.
        a.nearest = vec![
            (article(&engine, "en/shipping"), 0.9),
            (article(&engine, "es/returns"), 0.8),
            (returns, 0.7),
        ];
        engine.rank(&mut a, &cal);
        assert_eq!((a.features.agreement, a.features.semantic_rank), (0.0, 0.5));
    }
}
