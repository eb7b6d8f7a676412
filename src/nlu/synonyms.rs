//! Built-in e-commerce synonyms per language ("send back" → "return", "postage" →
//! "shipping"), applied to articles and messages alike before stemming, so that a shopper who
//! avoids the editor's words still meets the article; and cross-language concepts, so that a
//! question in Dutch can still find an article written only in English.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

use super::normalize::words;

const SYNONYMS_YAML: &str = include_str!("synonyms.yaml");

/// Concept tokens start with this character, which no word can contain (words are split at
/// punctuation), so they never collide with a word and are never stemmed.
pub const CONCEPT_MARK: char = '~';

/// The phrase a group rewrites to, and the concept it stands for.
#[derive(Debug, Clone)]
struct Rewrite {
    canonical: Vec<String>,
    concept: Option<String>,
}

/// The synonym groups of one language: each phrase (folded words joined by a space) maps to the
/// canonical word(s) of its group, plus a concept token when the group is a concept.
#[derive(Debug, Default)]
pub struct Synonyms {
    map: HashMap<String, Rewrite>,
    /// First words of the phrases of two words or more: only these need a longer look.
    starts: std::collections::HashSet<String>,
    longest: usize,
}

/// The file: per-language groups and the concepts that tie groups of different languages.
#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    concepts: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(flatten)]
    languages: HashMap<String, Vec<Vec<String>>>,
}

impl Synonyms {
    /// Builds from groups whose first entry is the canonical form; `concepts` maps a canonical
    /// (folded words joined by a space) to its concept name.
    fn build(groups: &[Vec<String>], concepts: &HashMap<String, String>) -> Synonyms {
        let mut s = Synonyms::default();
        for group in groups {
            let Some(canonical) = group.first() else {
                continue;
            };
            let canonical: Vec<String> = words(canonical).collect();
            let concept = concepts
                .get(&canonical.join(" "))
                .map(|c| format!("{CONCEPT_MARK}{c}"));
            for entry in group {
                let phrase: Vec<String> = words(entry).collect();
                // The canonical itself only needs an entry when it carries a concept.
                if phrase.is_empty() || (phrase == canonical && concept.is_none()) {
                    continue;
                }
                s.longest = s.longest.max(phrase.len());
                if phrase.len() > 1 {
                    s.starts.insert(phrase[0].clone());
                }
                s.map.entry(phrase.join(" ")).or_insert_with(|| Rewrite {
                    canonical: canonical.clone(),
                    concept: concept.clone(),
                });
            }
        }
        s
    }

    /// Builds from groups whose first entry is the canonical form, without concepts.
    pub fn from_groups(groups: &[Vec<String>]) -> Synonyms {
        Synonyms::build(groups, &HashMap::new())
    }

    /// The built-in synonyms of a language (empty for languages without a list).
    pub fn builtin(language: &str) -> &'static Synonyms {
        static ALL: OnceLock<HashMap<String, Synonyms>> = OnceLock::new();
        static EMPTY: OnceLock<Synonyms> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            let file = builtin_file();
            file.languages
                .iter()
                .map(|(lang, groups)| {
                    (
                        lang.clone(),
                        Synonyms::build(groups, &builtin_concepts(lang)),
                    )
                })
                .collect()
        });
        all.get(language)
            .unwrap_or_else(|| EMPTY.get_or_init(Synonyms::default))
    }

    /// The built-in synonyms of a language with the shop's own groups added (`synonyms:` in
    /// the config). A phrase in a shop group takes the shop's canonical, even when a built-in
    /// group lists it too: the shop knows its own words best.
    pub fn with_shop(language: &str, shop: &[Vec<String>]) -> Synonyms {
        let builtin = builtin_file()
            .languages
            .get(language)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let groups: Vec<Vec<String>> = shop.iter().chain(builtin).cloned().collect();
        Synonyms::build(&groups, &builtin_concepts(language))
    }

    /// Whether a single folded word is part of some synonym (so it is a known word).
    pub fn knows(&self, word: &str) -> bool {
        self.map.contains_key(word)
    }

    /// Rewrites folded words, longest phrase first; a concept's token follows its canonical.
    pub fn rewrite(&self, input: Vec<String>) -> Vec<String> {
        if self.map.is_empty() {
            return input;
        }
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        'outer: while i < input.len() {
            // Most words start no phrase: skip building keys for them.
            let longest = if self.starts.contains(&input[i]) {
                self.longest.min(input.len() - i)
            } else {
                1
            };
            for len in (1..=longest).rev() {
                if len == 1 {
                    if let Some(r) = self.map.get(&input[i]) {
                        out.extend(r.canonical.iter().cloned());
                        out.extend(r.concept.iter().cloned());
                        i += 1;
                        continue 'outer;
                    }
                    continue;
                }
                let key = input[i..i + len].join(" ");
                if let Some(r) = self.map.get(&key) {
                    out.extend(r.canonical.iter().cloned());
                    out.extend(r.concept.iter().cloned());
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

/// The built-in file, parsed once.
fn builtin_file() -> &'static File {
    static FILE: OnceLock<File> = OnceLock::new();
    FILE.get_or_init(|| {
        // A broken built-in file is a bug caught by the unit test below, not a user error.
        serde_yaml::from_str(SYNONYMS_YAML).unwrap_or(File {
            concepts: BTreeMap::new(),
            languages: HashMap::new(),
        })
    })
}

/// The built-in concepts of a language: canonical (folded words joined by a space) → name.
fn builtin_concepts(language: &str) -> HashMap<String, String> {
    builtin_file()
        .concepts
        .iter()
        .filter_map(|(name, per_lang)| {
            let canonical = per_lang.get(language)?;
            Some((words(canonical).collect::<Vec<_>>().join(" "), name.clone()))
        })
        .collect()
}

/// Whether a term is a concept token.
pub fn is_concept(term: &str) -> bool {
    term.starts_with(CONCEPT_MARK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str) -> Vec<String> {
        words(t).collect()
    }

    #[test]
    fn rewrites_longest_phrase_first() {
        let s = Synonyms::from_groups(&[
            vec!["return".into(), "send back".into(), "send it back".into()],
            vec!["shipping".into(), "postage".into()],
        ]);
        assert_eq!(s.rewrite(w("can I send it back")), w("can I return"));
        assert_eq!(s.rewrite(w("postage to Belgium")), w("shipping to belgium"));
        assert_eq!(s.rewrite(w("send")), w("send"));
    }

    #[test]
    fn concepts_follow_their_canonical_in_every_language() {
        let concepts: HashMap<String, String> =
            [("gift card".to_string(), "gift_card".to_string())].into();
        let s = Synonyms::build(
            &[vec!["gift card".into(), "gift voucher".into()]],
            &concepts,
        );
        let mut expected = w("a gift card");
        expected.push("~gift_card".into());
        assert_eq!(s.rewrite(w("a gift voucher")), expected);
        assert_eq!(s.rewrite(w("a gift card")), expected);
    }

    #[test]
    fn shop_groups_join_the_builtin_ones_and_win_over_them() {
        let shop = vec![
            vec![
                "parcel locker".to_string(),
                "locker".into(),
                "pakketautomaat".into(),
            ],
            // "postage" is built-in shipping cost; the shop says it means stamps.
            vec!["stamps".to_string(), "postage".into()],
        ];
        let s = Synonyms::with_shop("en", &shop);
        assert_eq!(s.rewrite(w("my locker")), w("my parcel locker"));
        assert_eq!(s.rewrite(w("postage")), w("stamps"));
        // The built-in groups and concepts still apply.
        let mut back = w("return");
        back.push("~return".into());
        assert_eq!(s.rewrite(w("send it back")), back);
        assert!(!Synonyms::builtin("en").knows("locker"));
    }

    #[test]
    fn builtin_lists_parse() {
        for lang in ["en", "es", "pt", "nl"] {
            assert!(!Synonyms::builtin(lang).map.is_empty(), "{lang}");
        }
        assert!(Synonyms::builtin("xx").map.is_empty());
    }
}
