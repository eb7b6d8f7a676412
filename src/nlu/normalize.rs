//! Text normalization: what every message and every indexed text goes through first.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Normalizes a message for display and matching: Unicode NFKC, control characters turned into
/// spaces, runs of white space collapsed, trimmed, and cut to at most `max_chars` characters.
///
/// Never fails and never panics, whatever the input (see the property tests below).
pub fn normalize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut pending_space = false;
    let mut count = 0;
    // Cut the raw input early: NFKC can only change the length by a small factor, and a
    // 1 MB message must not cost a full pass of normalization.
    let raw_cut = match text.char_indices().nth(max_chars.saturating_mul(2)) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    for c in raw_cut.nfkc() {
        if count >= max_chars {
            break;
        }
        if c.is_whitespace() || c.is_control() || c == '\u{FFFD}' {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            // A space only before another character, and only if both fit.
            if count + 2 > max_chars {
                break;
            }
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Folds a word for matching: lower case, accents and other marks removed, apostrophes
/// dropped (`don't` matches `dont`), a few letters spelled out (`ß` → `ss`).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            '\'' | '’' | 'ʼ' | '`' | '´' => {}
            'ß' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' => out.push('d'),
            'ı' => out.push('i'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Splits text into folded words along Unicode word boundaries (UAX #29), so any script
/// tokenizes: words in scripts without spaces come out one character at a time.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.unicode_words().map(fold).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn collapses_space_and_controls() {
        assert_eq!(normalize("  hello\u{0}\t\n world  ", 100), "hello world");
        assert_eq!(normalize("ｆｕｌｌ　ｗｉｄｔｈ", 100), "full width");
        assert_eq!(normalize("abcdef", 3), "abc");
        assert_eq!(normalize("", 10), "");
    }

    #[test]
    fn folds_accents_case_and_apostrophes() {
        assert_eq!(fold("Envío"), "envio");
        assert_eq!(fold("DON'T"), "dont");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("não"), "nao");
    }

    #[test]
    fn words_handle_any_script() {
        let w: Vec<_> = words("¿Dónde está mi pedido? 📦 مرحبا بك").collect();
        assert_eq!(w, vec!["donde", "esta", "mi", "pedido", "مرحبا", "بك"]);
        assert!(!words("我的包裹在哪里").collect::<Vec<_>>().is_empty());
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent_and_bounded(s in any::<String>(), max in 1usize..300) {
            let once = normalize(&s, max);
            prop_assert!(once.chars().count() <= max);
            prop_assert_eq!(normalize(&once, max), once.clone());
        }

        #[test]
        fn fold_never_panics(s in any::<String>()) {
            let _ = fold(&s);
            let _ = words(&s).count();
        }
    }
}
