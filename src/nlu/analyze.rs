//! Analysis: from text to the terms that are indexed and matched, per language.
//!
//! The same `Analyzer` runs over articles and examples at index time and over messages at
//! question time, so both sides always agree on what a term is.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

use super::normalize::words;
use super::synonyms::Synonyms;

/// Function words that carry no topic, folded (no accents, no apostrophes). Question words
/// that do tell topics apart ("when", "where", "how much") are deliberately kept.
const STOP_EN: &str =
    "a an the and or but if then so of to in on at by for with from about as into onto
    is are was were be been being am do does did doing done have has had having get got
    i me my mine myself you your yours u ur we us our he him his she her it its they them their
    this that these those there here what which who whom whose how why
    can could would should will shall may might must just also too very really some any all
    please pls plz im ive id ill dont doesnt didnt cant wont isnt arent wasnt its thats whats
    theres ok okay would like want need know tell";

const STOP_ES: &str =
    "el la los las un una unos unas lo de del al a en y e o u que es son era fue ser
    estar esta estoy estan este esto ese esa eso estos esas esos por para con sin se me mi mis
    te tu tus su sus le les nos yo usted ustedes vosotros ellos ellas como cual cuales quien
    hay ha he has han hemos haber puedo puede pueden podria quiero quisiera queria necesito
    tengo tiene tienen hacer hago favor porfa porfavor muy mas pero si ya tambien algo alguien
    saber";

const STOP_PT: &str =
    "o a os as um uma uns umas de do da dos das em no na nos nas por pelo pela pelos
    pelas para pra pro com sem e ou que se me meu minha meus minhas te teu tua seu sua seus
    suas eu voce vc voces vcs ele ela eles elas isso isto esse essa este esta aquele aquela
    como qual quais quem e sao foi ser estar estou estao tem tenho ter posso pode podem
    podia quero queria gostaria preciso favor pf por muito mais mas ja tambem la ai algo
    alguem saber";

const STOP_NL: &str =
    "de het een en of van in op te aan met voor naar bij om uit over tot door is zijn
    was waren ben bent heb hebt heeft hebben had ik je jij u uw jullie we wij mijn me mij hij
    zij ze dit dat deze die er hier daar wat welke wie hoe kan kun kunt kunnen wil wilt willen
    zou zal moet moeten mag graag alsjeblieft alstublieft aub ook nog al wel maar dan als even
    toch eigenlijk iets iemand weten";

/// Which analysis a language gets. Languages with a Snowball stemmer are stemmed; every
/// other language is still segmented and folded, just not stemmed.
#[derive(Clone)]
pub struct Analyzer {
    language: String,
    stemmer: Option<std::sync::Arc<Stemmer>>,
    stop: HashSet<String>,
    synonyms: SynonymList,
}

/// The synonyms an analyzer applies: the built-in ones, shared by every analyzer of the
/// language, or the built-in ones merged with the shop's own (`Synonyms::with_shop`).
#[derive(Clone)]
enum SynonymList {
    Builtin(&'static Synonyms),
    Shop(std::sync::Arc<Synonyms>),
}

impl std::ops::Deref for SynonymList {
    type Target = Synonyms;

    fn deref(&self) -> &Synonyms {
        match self {
            SynonymList::Builtin(s) => s,
            SynonymList::Shop(s) => s,
        }
    }
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("language", &self.language)
            .field("stemmed", &self.stemmer.is_some())
            .finish()
    }
}

/// The stop words of a language (folded); empty for languages without a list.
pub fn stop_words(language: &str) -> HashSet<String> {
    let list = match language {
        "en" => STOP_EN,
        "es" => STOP_ES,
        "pt" => STOP_PT,
        "nl" => STOP_NL,
        _ => "",
    };
    list.split_whitespace().map(str::to_string).collect()
}

fn algorithm(language: &str) -> Option<Algorithm> {
    Some(match language {
        "ar" => Algorithm::Arabic,
        "da" => Algorithm::Danish,
        "nl" => Algorithm::Dutch,
        "en" => Algorithm::English,
        "fi" => Algorithm::Finnish,
        "fr" => Algorithm::French,
        "de" => Algorithm::German,
        "el" => Algorithm::Greek,
        "hu" => Algorithm::Hungarian,
        "it" => Algorithm::Italian,
        "no" | "nb" | "nn" => Algorithm::Norwegian,
        "pt" => Algorithm::Portuguese,
        "ro" => Algorithm::Romanian,
        "ru" => Algorithm::Russian,
        "es" => Algorithm::Spanish,
        "sv" => Algorithm::Swedish,
        "ta" => Algorithm::Tamil,
        "tr" => Algorithm::Turkish,
        _ => return None,
    })
}

impl Analyzer {
    /// The analyzer of an ISO 639-1 language code.
    pub fn for_language(language: &str) -> Analyzer {
        Analyzer {
            language: language.to_string(),
            stemmer: algorithm(language).map(|a| std::sync::Arc::new(Stemmer::create(a))),
            stop: stop_words(language),
            synonyms: SynonymList::Builtin(Synonyms::builtin(language)),
        }
    }

    /// The analyzer of a language with the shop's synonym groups added to the built-in ones.
    pub fn with_shop_synonyms(language: &str, shop: &[Vec<String>]) -> Analyzer {
        Analyzer {
            synonyms: SynonymList::Shop(std::sync::Arc::new(Synonyms::with_shop(language, shop))),
            ..Analyzer::for_language(language)
        }
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    /// Whether a folded word is a stop word of this language.
    pub fn is_stop(&self, folded: &str) -> bool {
        self.stop.contains(folded)
    }

    /// The term of one folded, non-stop word.
    pub fn term(&self, folded: &str) -> String {
        match &self.stemmer {
            // Snowball stemmers expect lower-case words; ours are folded too, which the
            // stemmers handle (the same folding happens on both sides).
            Some(s) => s.stem(folded).into_owned(),
            None => folded.to_string(),
        }
    }

    /// Whether a folded word is part of a synonym of this language.
    pub fn knows_synonym(&self, folded: &str) -> bool {
        self.synonyms.knows(folded)
    }

    /// The terms of folded words: synonyms rewritten, stop words removed, stemmed.
    pub fn terms_of_words(&self, words: Vec<String>) -> Vec<String> {
        self.synonyms
            .rewrite(words)
            .into_iter()
            .filter(|w| !self.is_stop(w))
            .map(|w| {
                if super::synonyms::is_concept(&w) {
                    w
                } else {
                    self.term(&w)
                }
            })
            .collect()
    }

    /// The terms of a text, in order.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.terms_of_words(words(text).take(100_000).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_per_language_and_drops_stop_words() {
        let en = Analyzer::for_language("en");
        // "return" is a concept of the built-in synonyms: its token follows it.
        assert_eq!(
            en.terms("How do I return my shoes?"),
            vec!["return", "~return", "shoe"]
        );
        let es = Analyzer::for_language("es");
        assert_eq!(
            es.terms("¿Cuándo llegan los envíos?"),
            es.terms("cuando llega el envio")
        );
        let nl = Analyzer::for_language("nl");
        assert_eq!(
            nl.terms("Ik wil mijn bestelling retourneren"),
            vec!["bestell", "~order", "retourner", "~return"]
        );
    }

    #[test]
    fn unknown_languages_still_tokenize() {
        let xx = Analyzer::for_language("ja");
        assert!(!xx.terms("荷物はどこですか").is_empty());
    }
}
