//! Locales: which language (and optionally region) an article, an example or a reply is in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// ISO 639-1 language codes accepted in a locale.
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// A locale such as `en`, `es` or `pt-BR`: an ISO 639-1 language, optionally a region.
///
/// Matching and replies work per language; the region is kept for display and links.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale {
    tag: String,
}

/// Why a string is not a locale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a locale: use an ISO 639-1 language code such as `en`, `es`, `pt` or `nl`, optionally with a region (`pt-BR`)")]
pub struct LocaleError(pub String);

impl Locale {
    /// The language part, e.g. `pt` for `pt-BR`.
    pub fn language(&self) -> &str {
        self.tag.split('-').next().unwrap_or(&self.tag)
    }

    /// The full tag, e.g. `pt-BR`.
    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// The language alone, without region.
    pub fn language_only(&self) -> Locale {
        Locale {
            tag: self.language().to_string(),
        }
    }

    /// English, the default of the defaults.
    pub fn english() -> Locale {
        Locale { tag: "en".into() }
    }
}

impl FromStr for Locale {
    type Err = LocaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let mut parts = s.splitn(2, ['-', '_']);
        let lang = parts.next().unwrap_or("").to_ascii_lowercase();
        if !ISO_639_1.contains(&lang.as_str()) {
            return Err(LocaleError(s.to_string()));
        }
        let tag = match parts.next() {
            None => lang,
            Some(region)
                if (region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic()))
                    || (region.len() == 3 && region.chars().all(|c| c.is_ascii_digit())) =>
            {
                format!("{lang}-{}", region.to_ascii_uppercase())
            }
            Some(_) => return Err(LocaleError(s.to_string())),
        };
        Ok(Locale { tag })
    }
}

impl TryFrom<String> for Locale {
    type Error = LocaleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Locale> for String {
    fn from(l: Locale) -> String {
        l.tag
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({})", self.tag)
    }
}

/// A language: an ISO 639-1 code such as `en`, checked on construction. What a turn is in;
/// a [`Locale`] adds the region.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(&'static str);

impl Language {
    /// The code, e.g. `pt`.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// English, the default of the defaults.
    pub fn english() -> Language {
        Language("en")
    }
}

impl FromStr for Language {
    type Err = LocaleError;

    /// A code, or the language of a locale (`pt-BR` is `pt`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let locale: Locale = s.parse()?;
        ISO_639_1
            .iter()
            .find(|&&code| code == locale.language())
            .map(|&code| Language(code))
            .ok_or_else(|| LocaleError(s.to_string()))
    }
}

impl From<&Locale> for Language {
    fn from(l: &Locale) -> Language {
        l.language().parse().unwrap_or_else(|_| Language::english())
    }
}

impl TryFrom<String> for Language {
    type Error = LocaleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Language> for String {
    fn from(l: Language) -> String {
        l.0.to_string()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_is_a_checked_iso_code() {
        assert_eq!("pt-BR".parse::<Language>().unwrap().as_str(), "pt");
        assert_eq!("nl".parse::<Language>().unwrap().to_string(), "nl");
        assert!("xx".parse::<Language>().is_err());
        let l: Language = serde_json::from_str("\"es\"").unwrap();
        assert_eq!(serde_json::to_string(&l).unwrap(), "\"es\"");
    }

    #[test]
    fn parses_language_and_region() {
        assert_eq!("en".parse::<Locale>().unwrap().as_str(), "en");
        let br: Locale = "pt_br".parse().unwrap();
        assert_eq!(br.as_str(), "pt-BR");
        assert_eq!(br.language(), "pt");
        assert_eq!("es-419".parse::<Locale>().unwrap().as_str(), "es-419");
    }

    #[test]
    fn rejects_what_is_not_a_language() {
        for bad in ["", "english", "xx", "e", "en-Latn-x", "shipping"] {
            assert!(bad.parse::<Locale>().is_err(), "{bad}");
        }
    }
}
