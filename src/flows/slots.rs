//! Slot values: reading one out of a shopper's message and saying what was wrong when it is
//! not there. Pure functions of the text.

use regex::Regex;

use crate::escalation::email::{find_email, EmailCheck};
use crate::nlu::words;

use super::Localized;

/// One answer of a `choice` slot.
#[derive(Debug, Clone)]
pub struct Choice {
    /// What the slot holds when this choice is taken.
    pub value: String,
    /// The button's label per language.
    pub label: Localized,
    /// Other words that pick it (folded), in any language.
    pub synonyms: Vec<String>,
}

/// What a slot holds.
#[derive(Debug, Clone)]
pub enum SlotKind {
    Email,
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// A calendar date, kept as `YYYY-MM-DD`.
    Date,
    Choice(Vec<Choice>),
    /// The first capture group, or the whole match.
    Pattern(Regex),
}

/// Why a message holds no value for the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Nothing that looks like a value.
    Missing,
    /// An e-mail address with a mistake in it.
    BadEmail,
    /// A number outside `min`..`max`.
    OutOfRange,
    /// Looks like a date, but there is no such day.
    NoSuchDate,
}

impl SlotKind {
    /// The type's name as editors write it.
    pub fn type_name(&self) -> &'static str {
        match self {
            SlotKind::Email => "email",
            SlotKind::Number { .. } => "number",
            SlotKind::Date => "date",
            SlotKind::Choice(_) => "choice",
            SlotKind::Pattern(_) => "pattern",
        }
    }

    /// Reads the value from a message. `answering` is true when the bot has just asked for
    /// this slot, so the whole message is the answer (a bare "2" picks the second choice);
    /// false when pre-filling from a message that asked something else.
    pub fn extract(&self, text: &str, answering: bool) -> Result<String, Invalid> {
        match self {
            SlotKind::Email => match find_email(text) {
                EmailCheck::Valid(address) => Ok(address),
                EmailCheck::Invalid { token, .. } if !token.is_empty() => Err(Invalid::BadEmail),
                EmailCheck::Invalid { .. } => Err(Invalid::Missing),
            },
            SlotKind::Number { min, max } => {
                let n = first_number(text).ok_or(Invalid::Missing)?;
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    return Err(Invalid::OutOfRange);
                }
                Ok(if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{}", n as i64)
                } else {
                    format!("{n}")
                })
            }
            SlotKind::Date => find_date(text),
            SlotKind::Choice(choices) => pick_choice(choices, text, answering)
                .map(|c| c.value.clone())
                .ok_or(Invalid::Missing),
            SlotKind::Pattern(re) => {
                let caps = re.captures(text).ok_or(Invalid::Missing)?;
                let m = caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .ok_or(Invalid::Missing)?;
                let value = m.as_str().trim();
                if value.is_empty() {
                    Err(Invalid::Missing)
                } else {
                    Ok(value.to_string())
                }
            }
        }
    }
}

/// The first number in the text (`12`, `-3`, `4.5`, `4,5`).
fn first_number(text: &str) -> Option<f64> {
    let re = number_regex();
    let m = re.find(text)?;
    m.as_str().replace(',', ".").parse().ok()
}

fn number_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"-?\b\d+(?:[.,]\d+)?\b").expect("a valid regex"))
}

fn date_regexes() -> &'static (Regex, Regex) {
    static RE: std::sync::OnceLock<(Regex, Regex)> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b").expect("a valid regex"),
            // Day first, as written in Spanish, Portuguese, Dutch and British English.
            Regex::new(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\b").expect("a valid regex"),
        )
    })
}

/// A date as `YYYY-MM-DD` from `2026-12-07` or `7/12/2026` (day first).
fn find_date(text: &str) -> Result<String, Invalid> {
    let (iso, dmy) = date_regexes();
    let (y, m, d) = if let Some(c) = iso.captures(text) {
        (c[1].to_string(), c[2].to_string(), c[3].to_string())
    } else if let Some(c) = dmy.captures(text) {
        (c[3].to_string(), c[2].to_string(), c[1].to_string())
    } else {
        return Err(Invalid::Missing);
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>()) else {
        return Err(Invalid::NoSuchDate);
    };
    jiff::civil::Date::new(y, m, d)
        .map(|date| date.to_string())
        .map_err(|_| Invalid::NoSuchDate)
}

/// The choice a message picks: by its number in the list (only as a whole answer), by its
/// value, label in any language or synonym, as whole words.
pub fn pick_choice<'c>(choices: &'c [Choice], text: &str, answering: bool) -> Option<&'c Choice> {
    let said: Vec<String> = words(text).collect();
    if answering && said.len() == 1 {
        if let Ok(n) = said[0].parse::<usize>() {
            return n.checked_sub(1).and_then(|i| choices.get(i));
        }
    }
    let contains = |phrase: &str| {
        let p: Vec<String> = words(phrase).collect();
        !p.is_empty() && said.windows(p.len()).any(|w| w == p.as_slice())
    };
    let mut found = choices.iter().filter(|c| {
        contains(&c.value)
            || c.label.values().any(|l| contains(l))
            || c.synonyms.iter().any(|s| contains(s))
    });
    let first = found.next()?;
    // Two choices named in one message ("not the blue one, the red one") is no answer.
    found.next().is_none().then_some(first)
}

/// Folded words of a phrase, joined by one space.
pub fn folded(text: &str) -> String {
    words(text).collect::<Vec<_>>().join(" ")
}
