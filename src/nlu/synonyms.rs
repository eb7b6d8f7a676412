//! Built-in e-commerce synonyms per language ("send back" → "return", "postage" →
//! "shipping"), applied to articles and messages alike before stemming, so that a shopper who
//! avoids the editor's words still meets the article.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::normalize::words;

const SYNONYMS_YAML: &str = include_str!("synonyms.yaml");

/// The synonym groups of one language: each phrase (folded words joined by a space) maps to the
/// canonical word(s) of its group.
#[derive(Debug, Default)]
pub struct Synonyms {
    map: HashMap<String, Vec<String>>,
    longest: usize,
}

impl Synonyms {
    /// Builds from groups whose first entry is the canonical form.
    pub fn from_groups(groups: &[Vec<String>]) -> Synonyms {
        let mut s = Synonyms::default();
        for group in groups {
            let Some(canonical) = group.first() else {
                continue;
            };
            let canonical: Vec<String> = words(canonical).collect();
            for entry in group {
                let phrase: Vec<String> = words(entry).collect();
                if phrase.is_empty() || phrase == canonical {
                    continue;
                }
                s.longest = s.longest.max(phrase.len());
                s.map
                    .entry(phrase.join(" "))
                    .or_insert_with(|| canonical.clone());
            }
        }
        s
    }

    /// The built-in synonyms of a language (empty for languages without a list).
    pub fn builtin(language: &str) -> &'static Synonyms {
        static ALL: OnceLock<HashMap<String, Synonyms>> = OnceLock::new();
        static EMPTY: OnceLock<Synonyms> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            let parsed: HashMap<String, Vec<Vec<String>>> =
                serde_yaml::from_str(SYNONYMS_YAML).unwrap_or_default();
            parsed
                .into_iter()
                .map(|(lang, groups)| (lang, Synonyms::from_groups(&groups)))
                .collect()
        });
        all.get(language)
            .unwrap_or_else(|| EMPTY.get_or_init(Synonyms::default))
    }

    /// Whether a single folded word is part of some synonym (so it is a known word).
    pub fn knows(&self, word: &str) -> bool {
        self.map.contains_key(word)
    }

    /// Rewrites folded words, longest phrase first.
    pub fn rewrite(&self, input: Vec<String>) -> Vec<String> {
        if self.map.is_empty() {
            return input;
        }
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        'outer: while i < input.len() {
            for len in (1..=self.longest.min(input.len() - i)).rev() {
                let key = input[i..i + len].join(" ");
                if let Some(canonical) = self.map.get(&key) {
                    out.extend(canonical.iter().cloned());
                    i += len;
                    continue 'outer;
                }
            }
            out.push(input[i].clone());
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_longest_phrase_first() {
        let s = Synonyms::from_groups(&[
            vec!["return".into(), "send back".into(), "send it back".into()],
            vec!["shipping".into(), "postage".into()],
        ]);
        let w = |t: &str| words(t).collect::<Vec<_>>();
        assert_eq!(s.rewrite(w("can I send it back")), w("can I return"));
        assert_eq!(s.rewrite(w("postage to Belgium")), w("shipping to belgium"));
        assert_eq!(s.rewrite(w("send")), w("send"));
    }

    #[test]
    fn builtin_lists_parse() {
        for lang in ["en", "es", "pt", "nl"] {
            assert!(!Synonyms::builtin(lang).map.is_empty(), "{lang}");
        }
        assert!(Synonyms::builtin("xx").map.is_empty());
    }
}
