//! The words a shop's content uses, per language: for spelling correction and for telling
//! languages apart.

use std::collections::HashMap;

use super::normalize::words;

/// Folded words of one language with their frequencies, and a distance-1 spelling index
/// (the SymSpell idea: index every single-character deletion of every word).
#[derive(Debug, Default, Clone)]
pub struct Lexicon {
    freq: HashMap<String, u32>,
    deletes: HashMap<String, Vec<u32>>,
    list: Vec<String>,
}

/// Words shorter than this are never corrected: too many neighbours.
const MIN_CORRECT_LEN: usize = 5;

fn deletions(word: &str) -> impl Iterator<Item = String> + '_ {
    word.char_indices().map(move |(i, c)| {
        let mut s = String::with_capacity(word.len());
        s.push_str(&word[..i]);
        s.push_str(&word[i + c.len_utf8()..]);
        s
    })
}

impl Lexicon {
    /// Adds every word of a text.
    pub fn add_text(&mut self, text: &str) {
        for w in words(text) {
            self.add_word(w);
        }
    }

    fn add_word(&mut self, w: String) {
        if let Some(n) = self.freq.get_mut(&w) {
            *n += 1;
            return;
        }
        if w.chars().count() >= MIN_CORRECT_LEN - 1 && w.len() <= 40 {
            let idx = self.list.len() as u32;
            for d in deletions(&w) {
                self.deletes.entry(d).or_default().push(idx);
            }
            self.list.push(w.clone());
        }
        self.freq.insert(w, 1);
    }

    /// Every known word.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.freq.keys().map(String::as_str)
    }

    pub fn contains(&self, folded: &str) -> bool {
        self.freq.contains_key(folded)
    }

    /// The most frequent known word at edit distance one (insertion, deletion, substitution or
    /// transposition) from an unknown folded word, if any.
    pub fn correct(&self, folded: &str) -> Option<&str> {
        if self.contains(folded) || folded.chars().count() < MIN_CORRECT_LEN || folded.len() > 40 {
            return None;
        }
        let mut best: Option<(&str, u32)> = None;
        let mut consider = |w: &str| {
            let f = self.freq.get(w).copied().unwrap_or(0);
            if f > 0 && best.is_none_or(|(bw, bf)| f > bf || (f == bf && w < bw)) {
                best = Some((self.list_word(w), f));
            }
        };
        // The message lacks a character: it is a deletion of a known word.
        for &i in self.deletes.get(folded).into_iter().flatten() {
            consider(&self.list[i as usize]);
        }
        for d in deletions(folded) {
            // The message has one character too many.
            if self.freq.contains_key(&d) {
                consider(&d);
            }
            // One character replaced, or two swapped: both share a deletion.
            for &i in self.deletes.get(&d).into_iter().flatten() {
                consider(&self.list[i as usize]);
            }
        }
        best.map(|(w, _)| w)
    }

    /// Splits an unknown compound into two known words of at least four letters each,
    /// allowing a linking `s` or `e` between them ("verzendkosten", "retourslabel").
    pub fn split_compound<'a>(&'a self, folded: &str) -> Option<(&'a str, &'a str)> {
        if self.contains(folded) || folded.chars().count() < 8 || !folded.is_ascii() {
            return None;
        }
        let known = |w: &str| self.freq.get_key_value(w).map(|(k, _)| k.as_str());
        let mut best: Option<(&str, &str, u32)> = None;
        for i in 4..=folded.len().saturating_sub(4) {
            let (head, tail) = folded.split_at(i);
            let tails = [Some(tail), tail.strip_prefix('s'), tail.strip_prefix('e')];
            for t in tails.into_iter().flatten().filter(|t| t.len() >= 4) {
                if let (Some(h), Some(t)) = (known(head), known(t)) {
                    let f = self.freq[h].min(self.freq[t]);
                    if best.is_none_or(|b| f > b.2) {
                        best = Some((h, t, f));
                    }
                }
            }
        }
        best.map(|(h, t, _)| (h, t))
    }

    fn list_word<'a>(&'a self, w: &str) -> &'a str {
        self.freq
            .get_key_value(w)
            .map(|(k, _)| k.as_str())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        let mut l = Lexicon::default();
        l.add_text("delivery delivery return refund shipping parcel iDEAL");
        l
    }

    #[test]
    fn corrects_one_edit() {
        let l = lex();
        assert_eq!(l.correct("delivry"), Some("delivery")); // deletion
        assert_eq!(l.correct("deliverry"), Some("delivery")); // insertion
        assert_eq!(l.correct("retrun"), Some("return")); // transposition
        assert_eq!(l.correct("refumd"), Some("refund")); // substitution
        assert_eq!(l.correct("return"), None); // known
        assert_eq!(l.correct("xyzzyq"), None);
        assert_eq!(l.correct("ide"), None); // too short to guess
    }

    #[test]
    fn splits_compounds_into_known_words() {
        let mut l = Lexicon::default();
        l.add_text("telefoon nummer retour label");
        assert_eq!(
            l.split_compound("telefoonnummer"),
            Some(("telefoon", "nummer"))
        );
        assert_eq!(l.split_compound("retourslabel"), Some(("retour", "label")));
        assert_eq!(l.split_compound("telefoonxyz"), None);
    }
}
