//! The lexical index, and the only importer of tantivy: BM25 retrieval over analyzed
//! utterances (titles, `questions:`, intent examples) and article sections, per language, and
//! the normalized match signals the engine turns into a confidence.
//!
//! Texts arrive already analyzed (terms from `nlu::Analyzer`), so this module decides nothing
//! about languages: each language gets its own fields, so document frequencies and lengths are
//! per language.

use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::WhitespaceTokenizer;
use tantivy::{Index, ReloadPolicy, Searcher, TantivyDocument, Term};

/// Errors of the index. These are our faults, not the editors'.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("building the search index failed: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an indexed text belongs to: an article or an intent, by position in the engine's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Article(usize),
    Intent(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A short text that says what the target is about: a title, a question, an example.
    Utterance,
    /// An article's title with the heading of one of its sections: an utterance that also
    /// points at the section.
    Heading(usize),
    /// A section of an article body.
    Section(usize),
    /// All texts of a target together, for BM25 over the whole target.
    Whole,
}

#[derive(Debug)]
struct Entry {
    target: Target,
    kind: Kind,
    lang: String,
    /// Distinct terms (emptied once the index is built: `ids` replace them).
    terms: Vec<String>,
    /// The distinct terms' ids in `LexicalIndex::vocabulary`, sorted: looking a message's
    /// terms up in them compares integers, not strings.
    ids: Vec<u32>,
    /// The terms as indexed (repetitions kept, for BM25's term frequencies).
    indexed: String,
    /// Euclidean norm of the entry's IDF vector, for cosines (set when the index is built).
    norm: f32,
}

/// Adds texts, then builds the index.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    entries: Vec<Entry>,
}

impl IndexBuilder {
    /// A short text (title, question, example) of `target` in `lang`, as analyzed terms; its
    /// entry number (see `LexicalIndex::matches_without`), unless it has no terms.
    pub fn add_utterance(
        &mut self,
        target: Target,
        lang: &str,
        terms: Vec<String>,
    ) -> Option<usize> {
        self.push(target, Kind::Utterance, lang, terms)
    }

    /// The title and the heading of section number `section` of an article, as analyzed
    /// terms: matched like an utterance, and it chooses the section quoted.
    pub fn add_heading(
        &mut self,
        target: Target,
        section: usize,
        lang: &str,
        terms: Vec<String>,
    ) -> Option<usize> {
        self.push(target, Kind::Heading(section), lang, terms)
    }

    /// Section number `section` of an article, as analyzed terms.
    pub fn add_section(&mut self, target: Target, section: usize, lang: &str, terms: Vec<String>) {
        self.push(target, Kind::Section(section), lang, terms);
    }

    /// Every text of a target in `lang` together, as analyzed terms with repetitions.
    pub fn add_whole(&mut self, target: Target, lang: &str, terms: Vec<String>) {
        self.push(target, Kind::Whole, lang, terms);
    }

    fn push(
        &mut self,
        target: Target,
        kind: Kind,
        lang: &str,
        mut terms: Vec<String>,
    ) -> Option<usize> {
        let indexed = terms.join(" ");
        terms.sort_unstable();
        terms.dedup();
        if terms.is_empty() {
            return None;
        }
        self.entries.push(Entry {
            target,
            kind,
            lang: lang.to_string(),
            terms,
            ids: Vec::new(),
            indexed,
            norm: 0.0,
        });
        Some(self.entries.len() - 1)
    }

    /// Builds the in-memory index (single-threaded writer: the index is small next to the
    /// cost of spinning up writer threads, and builds must not starve the service).
    pub fn build(self) -> Result<LexicalIndex> {
        let mut langs: Vec<String> = self.entries.iter().map(|e| e.lang.clone()).collect();
        langs.sort();
        langs.dedup();
        let mut schema = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("terms")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut fields = HashMap::new();
        for lang in &langs {
            let u = schema.add_text_field(&format!("u_{lang}"), text.clone());
            let s = schema.add_text_field(&format!("s_{lang}"), text.clone());
            let w = schema.add_text_field(&format!("w_{lang}"), text.clone());
            fields.insert(lang.clone(), Fields { u, s, w });
        }
        let ord = schema.add_u64_field(ORD, NumericOptions::default().set_fast());
        let index = Index::create_in_ram(schema.build());
        index
            .tokenizers()
            .register("terms", WhitespaceTokenizer::default());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 64_000_000)?;
        let mut df: HashMap<String, FxHashMap<String, u32>> = HashMap::new();
        let mut n_docs: HashMap<String, u32> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            let f = fields[&e.lang];
            let field = match e.kind {
                Kind::Utterance | Kind::Heading(_) => f.u,
                Kind::Section(_) => f.s,
                Kind::Whole => f.w,
            };
            let mut doc = TantivyDocument::default();
            doc.add_text(field, &e.indexed);
            doc.add_u64(ord, i as u64);
            writer.add_document(doc)?;
            if e.kind == Kind::Whole {
                // Document frequencies count the texts, not the per-target aggregates.
                continue;
            }
            let lang_df = df.entry(e.lang.clone()).or_default();
            for t in &e.terms {
                *lang_df.entry(t.clone()).or_default() += 1;
            }
            *n_docs.entry(e.lang.clone()).or_default() += 1;
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let ords = searcher
            .segment_readers()
            .iter()
            .map(|seg| seg.fast_fields().u64(ORD))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut index = LexicalIndex {
            searcher,
            ords,
            fields,
            entries: Vec::new(),
            vocabulary: FxHashMap::default(),
            df,
            n_docs,
            indexed: HashMap::new(),
            has_sections: self
                .entries
                .iter()
                .filter(|e| matches!(e.kind, Kind::Section(_)))
                .map(|e| e.target)
                .collect(),
        };
        let mut entries = self.entries;
        let mut vocabulary: FxHashMap<String, u32> = FxHashMap::default();
        let mut indexed: HashMap<String, FxHashSet<u32>> = HashMap::new();
        for e in &mut entries {
            e.norm = e
                .terms
                .iter()
                .map(|t| index.idf(&e.lang, t).powi(2))
                .sum::<f32>()
                .sqrt();
            e.ids = std::mem::take(&mut e.terms)
                .into_iter()
                .map(|t| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(t).or_insert(next)
                })
                .collect();
            e.ids.sort_unstable();
            indexed
                .entry(e.lang.clone())
                .or_default()
                .extend(e.ids.iter().copied());
        }
        index.entries = entries;
        index.vocabulary = vocabulary;
        index.indexed = indexed;
        Ok(index)
    }
}

/// The fields of one language: utterances, sections, whole targets.
#[derive(Debug, Clone, Copy)]
struct Fields {
    u: Field,
    s: Field,
    w: Field,
}

/// How well one target matches a message in one language; every number is in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub target: Target,
    /// Best cosine similarity (IDF-weighted) between the message and one utterance.
    pub cosine: f32,
    /// The largest share of the message's IDF weight that one of the target's texts contains.
    pub coverage: f32,
    /// The share of the message's IDF weight found anywhere in the target's texts.
    pub union: f32,
    /// BM25 of the target's texts together, relative to the best target's (1 for the best).
    pub bm25: f32,
    /// BM25 of the target's best-scoring section, relative to the best section's of any
    /// target; for a target without sections (an intent), `bm25`: a long, many-sectioned
    /// article is found by the one section about the question, not by its whole text.
    pub section_bm25: f32,
    /// The section that best covers the message, if a section matched.
    pub section: Option<usize>,
}

/// The index: see the module docs.
pub struct LexicalIndex {
    /// The index never changes after the build (a reload builds a new one), so one searcher
    /// and the `ord` column of each segment serve every query.
    searcher: Searcher,
    ords: Vec<Column<u64>>,
    fields: HashMap<String, Fields>,
    entries: Vec<Entry>,
    /// Every term of every entry, in any language, to its id (see `Entry::ids`).
    vocabulary: FxHashMap<String, u32>,
    df: HashMap<String, FxHashMap<String, u32>>,
    n_docs: HashMap<String, u32>,
    /// Per language, the ids of the terms some entry in that language has (any field): a
    /// term outside it cannot score, so it is not sent to tantivy.
    indexed: HashMap<String, FxHashSet<u32>>,
    /// The targets with sections (articles with a body; not intents).
    has_sections: FxHashSet<Target>,
}

impl std::fmt::Debug for LexicalIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LexicalIndex")
            .field("entries", &self.entries.len())
            .field("languages", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The fast field holding an entry's position in `LexicalIndex::entries`.
const ORD: &str = "ord";

/// How many documents each of the two retrievals (utterances, sections) returns.
const CANDIDATES: usize = 40;

impl LexicalIndex {
    /// The languages that have content.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Inverse document frequency of a term in a language; unknown terms get the highest.
    pub fn idf(&self, lang: &str, term: &str) -> f32 {
        let n = self.n_docs.get(lang).copied().unwrap_or(0) as f32;
        let df = self
            .df
            .get(lang)
            .and_then(|d| d.get(term))
            .copied()
            .unwrap_or(0) as f32;
        ((n + 1.0) / (df + 0.5)).ln().max(0.01)
    }

    /// Whether any text in `lang` contains the term.
    pub fn knows(&self, lang: &str, term: &str) -> bool {
        self.df.get(lang).is_some_and(|d| d.contains_key(term))
    }

    /// The share of the message's IDF weight carried by terms no text in `lang` contains:
    /// high for questions about things the shop never wrote about.
    pub fn unknown_share(&self, lang: &str, terms: &[String]) -> f32 {
        let terms = distinct(terms);
        let total: f32 = terms.iter().map(|t| self.idf(lang, t)).sum();
        if total <= 0.0 {
            return 1.0;
        }
        let unknown: f32 = terms
            .iter()
            .filter(|t| !self.knows(lang, t))
            .map(|t| self.idf(lang, t))
            .sum();
        unknown / total
    }

    /// The targets that match analyzed message terms in `lang`, best first by BM25 retrieval,
    /// with their normalized signals. Runs a tantivy search: call it off the async runtime.
    ///
    /// Terms no text contains weigh `unknown_weight` times their IDF in the similarities
    /// (their absence is a signal of its own, see `unknown_share`).
    pub fn matches(&self, lang: &str, terms: &[String], unknown_weight: f32) -> Vec<Match> {
        self.matches_without(lang, terms, unknown_weight, None)
    }

    /// `matches`, as if entry `without` (from `IndexBuilder::add_utterance`) were not in the
    /// index: to ask the shop's own texts, each held out in turn, for self-calibration.
    pub fn matches_without(
        &self,
        lang: &str,
        terms: &[String],
        unknown_weight: f32,
        without: Option<usize>,
    ) -> Vec<Match> {
        let Some(&f) = self.fields.get(lang) else {
            return Vec::new();
        };
        let terms = distinct(terms);
        if terms.is_empty() {
            return Vec::new();
        }
        let weights: FxHashMap<&str, f32> = terms
            .iter()
            .map(|t| {
                let w = self.idf(lang, t);
                (
                    t.as_str(),
                    if self.knows(lang, t) {
                        w
                    } else {
                        unknown_weight * w
                    },
                )
            })
            .collect();
        // Terms no entry has cannot be shared; they still weigh in the norms.
        let weighted_ids: Vec<(u32, f32)> = weights
            .iter()
            .filter_map(|(t, &w)| self.vocabulary.get(*t).map(|&id| (id, w)))
            .collect();
        let q_norm1: f32 = weights.values().sum();
        let q_norm2: f32 = weights.values().map(|w| w * w).sum::<f32>().sqrt();
        // Most of a message's words occur in no text of the other languages: asking tantivy
        // for them costs a dictionary lookup per field and adds nothing to any BM25 score.
        let retrievable: Vec<&str> = match self.indexed.get(lang) {
            Some(ids) => terms
                .iter()
                .filter(|t| {
                    self.vocabulary
                        .get(t.as_str())
                        .is_some_and(|id| ids.contains(id))
                })
                .map(String::as_str)
                .collect(),
            None => Vec::new(),
        };
        if retrievable.is_empty() {
            return Vec::new();
        }
        let mut hits: FxHashMap<usize, f32> = FxHashMap::default();
        for field in [f.u, f.s, f.w] {
            for (ord, score) in self.retrieve(field, &retrievable) {
                if Some(ord) != without {
                    hits.insert(ord, score);
                }
            }
        }
        let best_whole = hits
            .iter()
            .filter(|(&o, _)| self.entries[o].kind == Kind::Whole)
            .map(|(_, &s)| s)
            .fold(0.0f32, f32::max);
        let best_section_bm25 = hits
            .iter()
            .filter(|(&o, _)| matches!(self.entries[o].kind, Kind::Section(_)))
            .map(|(_, &s)| s)
            .fold(0.0f32, f32::max);
        let mut by_target: FxHashMap<Target, Match> = FxHashMap::default();
        // Per target with sections: its best section's BM25.
        let mut section_bm25: FxHashMap<Target, f32> = FxHashMap::default();
        // Per section: its coverage plus its heading's cosine.
        let mut section_scores: FxHashMap<(Target, usize), f32> = FxHashMap::default();
        let mut hits: Vec<(usize, f32)> = hits.into_iter().collect();
        hits.sort_unstable_by_key(|h| h.0);
        for (ord, bm25) in hits {
            let e = &self.entries[ord];
            let mut shared1 = 0.0;
            let mut shared2 = 0.0;
            // Entry term ids are sorted: look the few message terms up in them, not the other
            // way round (a whole article has hundreds of terms).
            for (id, w) in &weighted_ids {
                if e.ids.binary_search(id).is_ok() {
                    shared1 += w;
                    shared2 += w * w;
                }
            }
            let coverage = shared1 / q_norm1;
            let m = by_target.entry(e.target).or_insert(Match {
                target: e.target,
                cosine: 0.0,
                coverage: 0.0,
                union: 0.0,
                bm25: 0.0,
                section_bm25: 0.0,
                section: None,
            });
            match e.kind {
                Kind::Utterance => {
                    let cosine = shared2 / (q_norm2 * e.norm).max(f32::EPSILON);
                    m.cosine = m.cosine.max(cosine.min(1.0));
                }
                Kind::Heading(i) => {
                    let cosine = (shared2 / (q_norm2 * e.norm).max(f32::EPSILON)).min(1.0);
                    m.cosine = m.cosine.max(cosine);
                    *section_scores.entry((e.target, i)).or_default() += cosine;
                }
                Kind::Whole => {
                    m.union = coverage.min(1.0);
                    m.bm25 = if best_whole > 0.0 {
                        bm25 / best_whole
                    } else {
                        0.0
                    };
                    continue;
                }
                Kind::Section(i) => {
                    *section_scores.entry((e.target, i)).or_default() += coverage;
                    let best = section_bm25.entry(e.target).or_default();
                    *best = best.max(bm25 / best_section_bm25);
                }
            }
            m.coverage = m.coverage.max(coverage.min(1.0));
        }
        // The section quoted: the best coverage plus heading cosine (the first on a tie).
        let mut best_section: FxHashMap<Target, (f32, usize)> = FxHashMap::default();
        for ((target, i), score) in section_scores {
            let b = best_section.entry(target).or_insert((score, i));
            if score > b.0 || (score == b.0 && i < b.1) {
                *b = (score, i);
            }
        }
        for (target, (_, i)) in best_section {
            if let Some(m) = by_target.get_mut(&target) {
                m.section = Some(i);
            }
        }
        for m in by_target.values_mut() {
            m.section_bm25 = if self.has_sections.contains(&m.target) {
                section_bm25.get(&m.target).copied().unwrap_or(0.0)
            } else {
                m.bm25
            };
        }
        let mut out: Vec<Match> = by_target.into_values().collect();
        out.sort_by(|a, b| {
            (b.cosine + b.coverage)
                .total_cmp(&(a.cosine + a.coverage))
                .then(a.target.cmp(&b.target))
        });
        out
    }

    fn retrieve(&self, field: Field, terms: &[&str]) -> Vec<(usize, f32)> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        let query = BooleanQuery::new(clauses);
        let Ok(top) = self
            .searcher
            .search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())
        else {
            return Vec::new();
        };
        top.into_iter()
            .filter_map(|(score, addr)| {
                let ord = self
                    .ords
                    .get(addr.segment_ord as usize)?
                    .first(addr.doc_id)?;
                Some((ord as usize, score))
            })
            .collect()
    }
}

fn distinct(terms: &[String]) -> Vec<String> {
    let mut seen = FxHashSet::default();
    terms
        .iter()
        .filter(|t| seen.insert(t.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl LexicalIndex {
        fn matches1(&self, lang: &str, terms: &[String]) -> Vec<Match> {
            self.matches(lang, terms, 1.0)
        }
    }

    fn terms(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn index() -> LexicalIndex {
        let mut b = IndexBuilder::default();
        b.add_utterance(Target::Article(0), "en", terms("return polici"));
        b.add_section(
            Target::Article(0),
            0,
            "en",
            terms("return item within 30 day tag"),
        );
        b.add_utterance(Target::Article(1), "en", terms("deliveri time"));
        b.add_section(
            Target::Article(1),
            0,
            "en",
            terms("deliveri take 2 5 busi day"),
        );
        b.add_section(
            Target::Article(1),
            1,
            "en",
            terms("us deliveri take 5 8 day ups"),
        );
        b.add_utterance(Target::Intent(0), "es", terms("dond pedid"));
        b.build().unwrap()
    }

    #[test]
    fn finds_and_scores_targets() {
        let idx = index();
        let m = idx.matches1("en", &terms("return polici"));
        assert_eq!(m[0].target, Target::Article(0));
        assert!((m[0].cosine - 1.0).abs() < 1e-5);
        let m = idx.matches1("en", &terms("ups deliveri"));
        assert_eq!(m[0].target, Target::Article(1));
        assert_eq!(m[0].section, Some(1));
        assert!((m[0].coverage - 1.0).abs() < 1e-5);
    }

    #[test]
    fn a_section_holding_the_whole_question_scores_its_target_best() {
        let mut b = IndexBuilder::default();
        // Article 0 spreads the words over two sections; article 1 has them in one.
        b.add_section(Target::Article(0), 0, "en", terms("germani custom form"));
        b.add_section(Target::Article(0), 1, "en", terms("deliveri time day"));
        b.add_whole(
            Target::Article(0),
            "en",
            terms("germani custom form deliveri time day"),
        );
        b.add_section(Target::Article(1), 0, "en", terms("return label"));
        b.add_section(Target::Article(1), 1, "en", terms("deliveri germani day"));
        b.add_whole(
            Target::Article(1),
            "en",
            terms("return label deliveri germani day"),
        );
        b.add_utterance(Target::Intent(0), "en", terms("germani deliveri"));
        b.add_whole(Target::Intent(0), "en", terms("germani deliveri"));
        let idx = b.build().unwrap();
        let m = idx.matches1("en", &terms("deliveri germani"));
        let of = |t: Target| m.iter().find(|m| m.target == t).unwrap();
        assert_eq!(of(Target::Article(1)).section_bm25, 1.0);
        let spread = of(Target::Article(0)).section_bm25;
        assert!(spread > 0.0 && spread < 1.0, "{spread}");
        // An intent has no sections: its whole text stands for one.
        let intent = of(Target::Intent(0));
        assert!(intent.bm25 > 0.0);
        assert_eq!(intent.section_bm25, intent.bm25);
    }

    #[test]
    fn languages_are_separate() {
        let idx = index();
        assert!(idx.matches1("es", &terms("return")).is_empty());
        assert_eq!(
            idx.matches1("es", &terms("pedid"))[0].target,
            Target::Intent(0)
        );
        assert!(idx.matches1("de", &terms("x")).is_empty());
    }

    #[test]
    fn unknown_terms_weigh_the_most() {
        let idx = index();
        assert_eq!(idx.unknown_share("en", &terms("weather paris")), 1.0);
        assert_eq!(idx.unknown_share("en", &terms("return")), 0.0);
        let half = idx.unknown_share("en", &terms("return bitcoin"));
        assert!(half > 0.5 && half < 1.0, "{half}");
    }

    #[test]
    fn an_empty_index_answers_nothing() {
        let idx = IndexBuilder::default().build().unwrap();
        assert!(idx.matches1("en", &terms("anything")).is_empty());
    }
}
