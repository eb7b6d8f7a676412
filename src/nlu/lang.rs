//! Language detection for short shopper messages.
//!
//! Trigram models alone (whatlang) are unreliable on a few words ("posso devolver?"), so the
//! guess combines three signals over the languages the shop serves: stop words, the shop's own
//! vocabulary per language, and whatlang's trigram guess weighted by the message's length.

use std::collections::HashMap;

use crate::locale::Locale;

use super::analyze::stop_words;
use super::lexicon::Lexicon;
use super::normalize::words;

/// The language a message is probably in.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageGuess {
    /// One of the served locales (language only).
    pub locale: Locale,
    /// 0 when nothing in the message pointed to any language, towards 1 when clear.
    pub confidence: f32,
}

fn whatlang_of(language: &str) -> Option<whatlang::Lang> {
    use whatlang::Lang::*;
    Some(match language {
        "en" => Eng,
        "es" => Spa,
        "pt" => Por,
        "nl" => Nld,
        "de" => Deu,
        "fr" => Fra,
        "it" => Ita,
        "da" => Dan,
        "sv" => Swe,
        "nb" | "no" => Nob,
        "fi" => Fin,
        "pl" => Pol,
        "cs" => Ces,
        "ro" => Ron,
        "hu" => Hun,
        "tr" => Tur,
        "ru" => Rus,
        "uk" => Ukr,
        "el" => Ell,
        "ar" => Ara,
        "he" => Heb,
        "ja" => Jpn,
        "zh" => Cmn,
        "ko" => Kor,
        _ => return None,
    })
}

/// Detects the language of messages among the languages a shop serves.
#[derive(Debug)]
pub struct LanguageDetector {
    served: Vec<Locale>,
    default: Locale,
    /// For each folded word, the served languages (indices into `served`) that use it, with a
    /// weight: stop words count more than content words.
    evidence: HashMap<String, Vec<(usize, f32)>>,
    detector: Option<whatlang::Detector>,
}

impl LanguageDetector {
    /// `lexicons` holds the vocabulary of the shop's content per language code.
    pub fn new(served: &[Locale], default: &Locale, lexicons: &HashMap<String, Lexicon>) -> Self {
        let mut served: Vec<Locale> = served.iter().map(Locale::language_only).collect();
        if !served.contains(&default.language_only()) {
            served.push(default.language_only());
        }
        served.dedup();
        let mut evidence: HashMap<String, Vec<(usize, f32)>> = HashMap::new();
        for (i, locale) in served.iter().enumerate() {
            for w in stop_words(locale.language()) {
                evidence.entry(w).or_default().push((i, 1.5));
            }
            if let Some(lex) = lexicons.get(locale.language()) {
                for w in lex.words() {
                    let e = evidence.entry(w.to_string()).or_default();
                    if !e.iter().any(|&(j, _)| j == i) {
                        e.push((i, 1.0));
                    }
                }
            }
        }
        let allow: Vec<whatlang::Lang> = served
            .iter()
            .filter_map(|l| whatlang_of(l.language()))
            .collect();
        let detector = (allow.len() > 1).then(|| whatlang::Detector::with_allowlist(allow));
        LanguageDetector {
            served,
            default: default.language_only(),
            evidence,
            detector,
        }
    }

    /// Guesses the language of `text`; `hint` (e.g. the widget's page language) breaks ties.
    pub fn detect(&self, text: &str, hint: Option<&Locale>) -> LanguageGuess {
        let hint = hint
            .map(Locale::language_only)
            .filter(|h| self.served.contains(h));
        if self.served.len() == 1 {
            return LanguageGuess {
                locale: self.served[0].clone(),
                confidence: 1.0,
            };
        }
        let mut scores = vec![0f32; self.served.len()];
        let mut n_words = 0usize;
        for w in words(text).take(200) {
            n_words += 1;
            if let Some(langs) = self.evidence.get(&w) {
                // A word that several languages share says less about each of them.
                let share = 1.0 / langs.len() as f32;
                for &(i, weight) in langs {
                    scores[i] += weight * share;
                }
            }
        }
        if let Some(info) = self.detector.as_ref().and_then(|d| d.detect(text)) {
            let lang = info.lang();
            if let Some(i) = self
                .served
                .iter()
                .position(|l| whatlang_of(l.language()) == Some(lang))
            {
                // Trigrams become trustworthy with length; on two words they are noise.
                let length_weight = (n_words as f32 / 6.0).min(1.5);
                scores[i] += 1.5 * length_weight * info.confidence() as f32;
            }
        }
        if let Some(h) = &hint {
            if let Some(i) = self.served.iter().position(|l| l == h) {
                scores[i] += 0.75;
            }
        }
        let total: f32 = scores.iter().sum();
        let (best, best_score) =
            scores
                .iter()
                .enumerate()
                .fold(
                    (usize::MAX, 0f32),
                    |acc, (i, &s)| if s > acc.1 { (i, s) } else { acc },
                );
        if best == usize::MAX || best_score <= 0.0 {
            return LanguageGuess {
                locale: hint.unwrap_or_else(|| self.default.clone()),
                confidence: 0.0,
            };
        }
        // On thin evidence ("iDEAL?"), languages that come close to the best are as likely:
        // among them prefer the channel's language, then the shop's default.
        let close = |i: usize| scores[i] >= 0.75 * best_score;
        let chosen = [hint.as_ref(), Some(&self.default)]
            .into_iter()
            .flatten()
            .filter_map(|l| self.served.iter().position(|s| s == l))
            .find(|&i| close(i))
            .unwrap_or(best);
        LanguageGuess {
            locale: self.served[chosen].clone(),
            confidence: (scores[chosen] / total) * (scores[chosen] / (scores[chosen] + 1.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> LanguageDetector {
        let mut lex = HashMap::new();
        for (lang, text) in [
            ("en", "where is my parcel delivery return refund payment"),
            ("es", "dónde está mi pedido envío devolución reembolso pago"),
            (
                "pt",
                "onde está minha encomenda envio devolução reembolso pagamento",
            ),
            (
                "nl",
                "waar is mijn pakket levering retour terugbetaling betalen",
            ),
        ] {
            let mut l = Lexicon::default();
            l.add_text(text);
            lex.insert(lang.to_string(), l);
        }
        let served: Vec<Locale> = ["en", "es", "pt", "nl"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        LanguageDetector::new(&served, &Locale::english(), &lex)
    }

    #[test]
    fn short_messages() {
        let d = detector();
        for (text, lang) in [
            ("where is my parcel?", "en"),
            ("¿cuánto tarda el envío?", "es"),
            ("posso devolver?", "pt"),
            ("kan ik betalen met iDEAL?", "nl"),
            ("waar is mijn pakket", "nl"),
            ("quero a minha encomenda", "pt"),
        ] {
            assert_eq!(d.detect(text, None).locale.as_str(), lang, "{text}");
        }
    }

    #[test]
    fn nothing_to_go_on_falls_back_to_hint_then_default() {
        let d = detector();
        assert_eq!(d.detect("😀", None).locale.as_str(), "en");
        assert_eq!(
            d.detect("😀", Some(&"nl".parse().unwrap())).locale.as_str(),
            "nl"
        );
        assert_eq!(d.detect("", None).confidence, 0.0);
    }
}
