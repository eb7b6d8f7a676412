//! Personal data a shopper types by mistake: card numbers, IBANs and passwords, masked before
//! anything is stored or logged.
//!
//! [`mask`] does no I/O and never fails. It is conservative where it can afford to be: a run
//! of digits is a card number only when it has 13 to 19 digits *and* passes the Luhn check,
//! an IBAN only when its country is one that issues IBANs *and* the mod-97 check holds, so
//! order numbers, phone numbers, dates and tracking numbers stay readable for the agent. A
//! password has no checksum, so it is recognised by what precedes it ("my password is …",
//! "contraseña: …", "minha senha é …", "wachtwoord: …", "pw …") in the four languages the
//! bot speaks. Masking is idempotent: masking masked text changes nothing.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What a password becomes.
pub const PASSWORD: &str = "[password]";

/// Masks card numbers, IBANs and passwords in `text`; borrows when there is nothing to mask.
///
/// ```
/// use concierge::pii::mask;
/// assert_eq!(mask("card 4111 1111 1111 1111 please"), "card [card •••• 1111] please");
/// assert_eq!(mask("mi contraseña es hunter2"), "mi contraseña es [password]");
/// assert_eq!(mask("order NH-204311"), "order NH-204311");
/// ```
pub fn mask(text: &str) -> Cow<'_, str> {
    // Passwords first: a secret may look like anything, including a card number.
    let mut out = mask_passwords(text);
    if let Cow::Owned(s) = mask_ibans(&out) {
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = mask_cards(&out) {
        out = Cow::Owned(s);
    }
    out
}

// --- passwords -------------------------------------------------------------------------------

/// A cue and the word after it. The long words need a separator or a verb ("password: x",
/// "password is x", "contraseña es x", "senha é x", "wachtwoord is x") so that "I forgot my
/// password yesterday" keeps its last word; the short forms people only use for this ("pw x",
/// "pwd x") need nothing.
static PASSWORD_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        (?:
            \b(?:password|passwd|passcode|pass\ word|contraseña|contrasena|clave|senha|palavra-passe|wachtwoord)
            \s*(?:[:=]|\b(?:is|was|es|era|é|eh)\b\s*:?)\s*
          | \b(?:pw|pwd|ww)\b\s*(?:[:=]|\b(?:is|es|é)\b)?\s*
        )
        (\S+)",
    )
    .expect("the password cue is a valid regex")
});

/// Words that follow a cue but are not a secret ("my password is not working").
const NOT_SECRETS: &[&str] = &[
    // en
    "not",
    "wrong",
    "incorrect",
    "invalid",
    "expired",
    "correct",
    "right",
    "too",
    "the",
    "a",
    "an",
    "no",
    "blocked",
    "locked",
    "lost",
    "forgotten",
    "missing",
    "reset",
    "changed",
    "working",
    "ok",
    "fine",
    "and",
    "or",
    "for",
    "of",
    "to", // es
    "incorrecta",
    "incorrecto",
    "inválida",
    "invalida",
    "mala",
    "caducada",
    "correcta",
    "muy",
    "la",
    "el",
    "una",
    "un",
    "y",
    "o",
    "de",
    "para",
    "bloqueada", // pt
    "errada",
    "incorreta",
    "inválida",
    "expirada",
    "bloqueada",
    "não",
    "nao",
    "muito",
    "uma",
    "um",
    "e",
    "ou",
    "para", // nl
    "fout",
    "onjuist",
    "ongeldig",
    "verkeerd",
    "verlopen",
    "niet",
    "geblokkeerd",
    "te",
    "de",
    "het",
    "een",
    "en",
    "of",
    "voor",
    "van",
];

fn mask_passwords(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut last = 0;
    for caps in PASSWORD_CUE.captures_iter(text) {
        let Some(word) = caps.get(1) else { continue };
        // A full stop or comma after the secret ends the sentence rather than the password.
        let secret = word.as_str().trim_end_matches(['.', ',', ';']);
        if secret.is_empty() || secret == PASSWORD {
            continue;
        }
        let lower = secret.to_lowercase();
        if NOT_SECRETS.contains(&lower.as_str()) {
            continue;
        }
        out.push_str(&text[last..word.start()]);
        out.push_str(PASSWORD);
        last = word.start() + secret.len();
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

// --- IBANs -----------------------------------------------------------------------------------

/// Countries whose banks issue IBANs (SWIFT's IBAN registry).
const IBAN_COUNTRIES: &[&str] = &[
    "AD", "AE", "AL", "AT", "AZ", "BA", "BE", "BG", "BH", "BI", "BR", "BY", "CH", "CR", "CY", "CZ",
    "DE", "DJ", "DK", "DO", "EE", "EG", "ES", "FI", "FK", "FO", "FR", "GB", "GE", "GI", "GL", "GR",
    "GT", "HR", "HU", "IE", "IL", "IQ", "IS", "IT", "JO", "KW", "KZ", "LB", "LC", "LI", "LT", "LU",
    "LV", "LY", "MC", "MD", "ME", "MK", "MN", "MR", "MT", "MU", "NI", "NL", "NO", "OM", "PK", "PL",
    "PS", "PT", "QA", "RO", "RS", "RU", "SA", "SC", "SD", "SE", "SI", "SK", "SM", "SO", "ST", "SV",
    "TL", "TN", "TR", "UA", "VA", "VG", "XK", "YE",
];

/// Where an IBAN may start: a country code and two check digits at the start of a word.
static IBAN_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z]{2}[0-9]{2}").expect("a valid regex"));

fn mask_ibans(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut last = 0;
    for m in IBAN_START.find_iter(text) {
        if m.start() < last {
            continue;
        }
        let country = text[m.start()..m.start() + 2].to_ascii_uppercase();
        if !IBAN_COUNTRIES.contains(&country.as_str()) {
            continue;
        }
        if let Some(end) = iban_at(text, m.start()) {
            let compact: String = text[m.start()..end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            out.push_str(&text[last..m.start()]);
            out.push_str("[IBAN •••• ");
            out.push_str(&compact[compact.len() - 4..].to_ascii_uppercase());
            out.push(']');
            last = end;
        }
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The end of the longest valid IBAN starting at `start`: ASCII letters and digits, single
/// spaces between groups, 15 to 34 characters, ending where a word ends, mod-97 valid.
fn iban_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut chars = String::new();
    // Candidate ends (byte offset, length in characters so far) at the end of each group.
    let mut ends: Vec<(usize, usize)> = Vec::new();
    let mut i = start;
    while i < bytes.len() && chars.len() < 34 {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            chars.push(b.to_ascii_uppercase() as char);
            i += 1;
            let at_group_end = i >= bytes.len() || !bytes[i].is_ascii_alphanumeric();
            if at_group_end {
                ends.push((i, chars.len()));
            }
        } else if b == b' ' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_alphanumeric() {
            i += 1;
        } else {
            break;
        }
    }
    ends.into_iter()
        .rev()
        .filter(|&(end, len)| (15..=34).contains(&len) && !starts_alnum(&text[end..]))
        .find(|&(_, len)| iban_valid(&chars[..len]))
        .map(|(end, _)| end)
}

fn starts_alnum(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_alphanumeric)
}

fn ends_alnum(s: &str) -> bool {
    s.chars().next_back().is_some_and(char::is_alphanumeric)
}

/// ISO 13616: the first four characters moved to the end, letters as 10..35, mod 97 is 1.
fn iban_valid(iban: &str) -> bool {
    let b = iban.as_bytes();
    if b.len() < 15 || !b[..2].iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    if !b[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

// --- cards -----------------------------------------------------------------------------------

/// A group of digits in a run: byte range.
type Group = (usize, usize);

fn mask_cards(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run: groups of digits joined by one space or dash.
        let mut groups: Vec<Group> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            groups.push((start, j));
            if j + 1 < bytes.len()
                && matches!(bytes[j], b' ' | b'-')
                && bytes[j + 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        let run_end = j;
        // Digits glued to letters belong to a code (a tracking or order number), not a card.
        if !ends_alnum(&text[..i]) && !starts_alnum(&text[run_end..]) {
            let mut g = 0;
            while g < groups.len() {
                match card_window(bytes, &groups[g..]) {
                    Some(n) => {
                        let (start, end) = (groups[g].0, groups[g + n - 1].1);
                        let digits: Vec<u8> = bytes[start..end]
                            .iter()
                            .copied()
                            .filter(u8::is_ascii_digit)
                            .collect();
                        out.push_str(&text[last..start]);
                        out.push_str("[card •••• ");
                        out.extend(digits[digits.len() - 4..].iter().map(|&d| d as char));
                        out.push(']');
                        last = end;
                        g += n;
                    }
                    None => g += 1,
                }
            }
        }
        i = run_end;
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// How many groups from the first make the longest Luhn-valid number of 13 to 19 digits.
fn card_window(bytes: &[u8], groups: &[Group]) -> Option<usize> {
    let mut digits = Vec::new();
    let mut best = None;
    for (n, &(s, e)) in groups.iter().enumerate() {
        digits.extend_from_slice(&bytes[s..e]);
        if digits.len() > 19 {
            break;
        }
        if digits.len() >= 13 && luhn_valid(&digits) {
            best = Some(n + 1);
        }
    }
    best
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(mask(input), expected, "masking {input:?}");
        assert_eq!(
            mask(expected),
            expected,
            "masking is idempotent on {expected:?}"
        );
    }

    #[test]
    fn card_numbers_keep_their_last_four_digits() {
        check("4111111111111111", "[card •••• 1111]");
        check(
            "my card is 4111 1111 1111 1111, thanks",
            "my card is [card •••• 1111], thanks",
        );
        check("5500-0000-0000-0004 expired", "[card •••• 0004] expired");
        // 15-digit Amex, 4-6-5 grouping.
        check("amex 3782 822463 10005", "amex [card •••• 0005]");
        // A year after the card is not part of it.
        check("4111 1111 1111 1111 2025", "[card •••• 1111] 2025");
    }

    #[test]
    fn numbers_that_fail_luhn_or_are_short_are_kept() {
        for text in [
            "order NH-204311 has not arrived",
            "4111 1111 1111 1112",
            "call me on +31 6 1234 5678",
            "call +34 612 345 678 or 0034612345678",
            "delivered on 2024-05-01 at 14:30",
            "tracking 1Z999AA10123456784",
            "tracking JD014600003828401234",
            "parcel 00340434161094042557 went missing",
            "invoice 2024-000123",
        ] {
            check(text, text);
        }
    }

    #[test]
    fn ibans_are_masked_when_mod97_holds() {
        check("NL91ABNA0417164300", "[IBAN •••• 4300]");
        check(
            "mi IBAN es ES91 2100 0418 4502 0005 1332, gracias",
            "mi IBAN es [IBAN •••• 1332], gracias",
        );
        check(
            "o meu IBAN: PT50 0002 0123 1234 5678 9015 4 obrigado",
            "o meu IBAN: [IBAN •••• 0154] obrigado",
        );
        check("de89 3704 0044 0532 0130 00", "[IBAN •••• 3000]");
        // One digit changed: not an IBAN, and not a card either.
        check("NL91ABNA0417164301", "NL91ABNA0417164301");
        check("GB82 WEST 1234 5698 7654 33", "GB82 WEST 1234 5698 7654 33");
    }

    #[test]
    fn passwords_in_english() {
        check("my password is hunter2", "my password is [password]");
        check("password: s3cr3t!", "password: [password]");
        check("Password=abc123.", "Password=[password].");
        check("pw hunter2 thanks", "pw [password] thanks");
        check("my password is not working", "my password is not working");
        check(
            "I forgot my password yesterday",
            "I forgot my password yesterday",
        );
    }

    #[test]
    fn passwords_in_spanish() {
        check("mi contraseña es Gato1234", "mi contraseña es [password]");
        check("contraseña: qwerty", "contraseña: [password]");
        check(
            "la contrasena es perro99, gracias",
            "la contrasena es [password], gracias",
        );
        check("mi contraseña es incorrecta", "mi contraseña es incorrecta");
    }

    #[test]
    fn passwords_in_portuguese() {
        check("minha senha é abc123", "minha senha é [password]");
        check("senha: tr0ca", "senha: [password]");
        check("a senha é errada", "a senha é errada");
    }

    #[test]
    fn passwords_in_dutch() {
        check(
            "mijn wachtwoord is fiets42",
            "mijn wachtwoord is [password]",
        );
        check("wachtwoord: geheim", "wachtwoord: [password]");
        check("mijn wachtwoord is fout", "mijn wachtwoord is fout");
    }

    #[test]
    fn a_password_that_looks_like_a_card_is_a_password() {
        check("pw 4111111111111111", "pw [password]");
    }

    #[test]
    fn nothing_to_mask_borrows() {
        assert!(matches!(mask("where is my order?"), Cow::Borrowed(_)));
    }

    fn messy_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[0-9]{1,5}",
            Just("4111 1111 1111 1111".to_string()),
            Just("NL91ABNA0417164300".to_string()),
            Just("password:".to_string()),
            Just("pw".to_string()),
            Just("senha é".to_string()),
            Just("[card •••• 1111]".to_string()),
            Just("[password]".to_string()),
            "[a-zA-Z]{1,6}",
            "[ -]{1,2}",
            "[.,;:=\\[\\]]",
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn masking_is_idempotent(text in messy_text()) {
            let once = mask(&text).into_owned();
            let twice = mask(&once).into_owned();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn masking_never_panics(text in any::<String>()) {
            let _ = mask(&text);
        }

        #[test]
        fn text_without_digits_or_cues_is_untouched(text in "[a-zA-Z ,.?!]{0,80}") {
            prop_assume!(!PASSWORD_CUE.is_match(&text));
            prop_assert_eq!(mask(&text), text.as_str());
        }
    }
}
