//! Understanding a message before anything is searched: normalization, language, analysis into
//! terms, spelling correction against the shop's own vocabulary.
//!
//! Pure code: no I/O, no errors. Unclear input produces fewer terms, never a failure.

pub mod analyze;
pub mod e5s1;
pub mod embed;
pub mod lang;
pub mod lexicon;
pub mod normalize;
pub mod q4;
pub mod shop_synonyms;
pub mod synonyms;

use std::borrow::Cow;
use std::collections::HashMap;

use crate::locale::Locale;

pub use analyze::Analyzer;
pub use lang::{LanguageDetector, LanguageGuess};
pub use lexicon::Lexicon;
pub use normalize::{fold, normalize, words};
pub use shop_synonyms::ShopSynonyms;
pub use synonyms::is_concept;

/// The terms of a message in one language, ready for search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTerms {
    /// Analyzed terms (stemmed, folded), in message order, duplicates kept.
    pub terms: Vec<String>,
    /// Spelling corrections made: (what the shopper typed, the known word used instead).
    pub corrections: Vec<(String, String)>,
}

/// Analyzers and vocabularies of every language the shop has content in.
#[derive(Debug)]
pub struct Nlu {
    analyzers: HashMap<String, Analyzer>,
    lexicons: HashMap<String, Lexicon>,
    detector: LanguageDetector,
}

impl Nlu {
    /// Builds the vocabularies from the shop's texts, given as (language code, text).
    pub fn build<'a>(
        served: &[Locale],
        default: &Locale,
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Nlu {
        Nlu::build_with_synonyms(served, default, texts, &ShopSynonyms::default())
    }

    /// `build`, with the shop's own synonym groups added to the built-in ones.
    pub fn build_with_synonyms<'a>(
        served: &[Locale],
        default: &Locale,
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
        synonyms: &ShopSynonyms,
    ) -> Nlu {
        let mut lexicons: HashMap<String, Lexicon> = HashMap::new();
        for (lang, text) in texts {
            lexicons.entry(lang.to_string()).or_default().add_text(text);
        }
        let mut analyzers: HashMap<String, Analyzer> = HashMap::new();
        for lang in lexicons
            .keys()
            .cloned()
            .chain(served.iter().map(|l| l.language().to_string()))
            .chain(std::iter::once(default.language().to_string()))
            .chain(synonyms.languages().map(str::to_string))
        {
            analyzers.entry(lang.clone()).or_insert_with(|| {
                match synonyms.groups(&lang).filter(|g| !g.is_empty()) {
                    Some(groups) => Analyzer::with_shop_synonyms(&lang, groups),
                    None => Analyzer::for_language(&lang),
                }
            });
        }
        let detector = LanguageDetector::new(served, default, &lexicons);
        Nlu {
            analyzers,
            lexicons,
            detector,
        }
    }

    /// The analyzer of a language (built on demand for languages the shop has no content in).
    /// Borrowed for the shop's languages: it runs for every language on every message, and
    /// cloning its stop-word set showed in profiles.
    pub fn analyzer(&self, language: &str) -> Cow<'_, Analyzer> {
        match self.analyzers.get(language) {
            Some(a) => Cow::Borrowed(a),
            None => Cow::Owned(Analyzer::for_language(language)),
        }
    }

    pub fn detect(&self, text: &str, hint: Option<&Locale>) -> LanguageGuess {
        self.detector.detect(text, hint)
    }

    /// The search terms of a message in `language`, correcting words the shop's content does
    /// not know to a known word one typo away.
    pub fn query_terms(&self, language: &str, text: &str) -> QueryTerms {
        let analyzer = self.analyzer(language);
        let lexicon = self.lexicons.get(language);
        let mut out = QueryTerms::default();
        let mut kept = Vec::new();
        // A message longer than this many words is not a question any more; its first words
        // carry the topic, and the cap keeps a 1 MB message as fast as a short one.
        for w in words(text).take(64) {
            if analyzer.is_stop(&w) || analyzer.knows_synonym(&w) {
                kept.push(w);
                continue;
            }
            let Some(lexicon) = lexicon else {
                kept.push(w);
                continue;
            };
            if let Some(fixed) = lexicon.correct(&w).filter(|f| !analyzer.is_stop(f)) {
                out.corrections.push((w, fixed.to_string()));
                kept.push(fixed.to_string());
            } else if let Some((head, tail)) = lexicon.split_compound(&w) {
                // Dutch (and German) glue words together: "telefoonnummer" is asked about
                // in an article that says "telefoon" and "nummer".
                kept.push(head.to_string());
                kept.push(tail.to_string());
            } else {
                kept.push(w);
            }
        }
        out.terms = analyzer.terms_of_words(kept);
        out
    }
}
