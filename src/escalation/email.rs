//! Finding the email address a shopper typed when asked for one, with a syntax check that
//! says what is wrong so the bot can help the shopper fix it.
//!
//! Deliberately a syntax check, not RFC 5322: quoted local parts and IP-literal domains are
//! refused (no shop customer types them); non-ASCII letters are accepted (internationalized
//! addresses). Whether the address exists is the helpdesk's business.

/// What is wrong with what the shopper typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailProblem {
    /// No `@` anywhere.
    NoAddress,
    /// A space next to the `@` (`ana @example.com`).
    Space,
    /// Nothing before the `@`.
    MissingLocal,
    /// Nothing after the `@`, or no dot in the domain (`ana@example`).
    MissingDomain,
    /// The address alone, ending with a dot (`ana@example.com.`).
    TrailingDot,
    /// Anything else: two dots in a row, a character an address cannot hold, two `@`…
    Malformed,
}

/// The outcome of reading a shopper's message for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailCheck {
    Valid(String),
    /// The token that looked most like an address (empty when none) and what is wrong.
    Invalid {
        token: String,
        problem: EmailProblem,
    },
}

/// Finds the first valid address in a message ("it's ana@example.com", "<ana@example.com>",
/// "mailto:ana@example.com"). A dot ending a sentence is punctuation ("it's ana@example.com.")
/// but an address typed alone with a dot at the end is refused: the shopper probably mistyped.
pub fn find_email(message: &str) -> EmailCheck {
    let message = message.trim();
    if !message.contains('@') {
        return EmailCheck::Invalid {
            token: String::new(),
            problem: EmailProblem::NoAddress,
        };
    }
    // "ana @ example.com", "ana@ example.com": a space next to the @.
    let spaced = message
        .char_indices()
        .filter(|&(_, c)| c == '@')
        .any(|(i, _)| {
            let (before, after) = (&message[..i], &message[i + 1..]);
            let gap_before = before.ends_with(char::is_whitespace)
                && before.trim_end().ends_with(char::is_alphanumeric);
            let gap_after = after.starts_with(char::is_whitespace)
                && after.trim_start().starts_with(char::is_alphanumeric);
            gap_before || gap_after
        });
    let tokens: Vec<&str> = message.split_whitespace().collect();
    let alone = tokens.len() == 1;
    let mut first_problem: Option<(String, EmailProblem)> = None;
    for raw in tokens.iter().filter(|t| t.contains('@')) {
        let mut token = raw
            .trim_start_matches(['<', '(', '[', '"', '\'', '“', '‘', '«'])
            .trim_end_matches([
                '>', ')', ']', '"', '\'', '”', '’', '»', ',', ';', ':', '!', '?',
            ]);
        if let Some(rest) = token.strip_prefix("mailto:") {
            token = rest;
        }
        if !alone {
            // Sentence punctuation after the address, possibly after a closing bracket.
            token = token.trim_end_matches('.');
            token = token.trim_end_matches(['>', ')', ']', '"', '\'', '”', '’', '»']);
        }
        match check(token) {
            Ok(()) => return EmailCheck::Valid(token.to_string()),
            Err(p) => {
                first_problem.get_or_insert((token.to_string(), p));
            }
        }
    }
    let (token, problem) = first_problem.unwrap_or((String::new(), EmailProblem::Malformed));
    let problem = if spaced && problem != EmailProblem::TrailingDot {
        EmailProblem::Space
    } else {
        problem
    };
    EmailCheck::Invalid { token, problem }
}

/// The syntax check of one candidate address.
fn check(address: &str) -> Result<(), EmailProblem> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(EmailProblem::Malformed);
    };
    if local.contains('@') {
        return Err(EmailProblem::Malformed);
    }
    if local.is_empty() {
        return Err(EmailProblem::MissingLocal);
    }
    if domain.is_empty() {
        return Err(EmailProblem::MissingDomain);
    }
    if domain.ends_with('.') {
        return Err(if domain.trim_end_matches('.').contains('.') {
            EmailProblem::TrailingDot
        } else {
            EmailProblem::MissingDomain
        });
    }
    if address.chars().count() > 254 || local.chars().count() > 64 {
        return Err(EmailProblem::Malformed);
    }
    let local_ok = !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !local_ok {
        return Err(EmailProblem::Malformed);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(EmailProblem::MissingDomain);
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !labels.iter().all(label_ok) {
        return Err(EmailProblem::Malformed);
    }
    let tld = labels[labels.len() - 1];
    if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(EmailProblem::MissingDomain);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(s: &str) -> String {
        match find_email(s) {
            EmailCheck::Valid(a) => a,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn problem(s: &str) -> EmailProblem {
        match find_email(s) {
            EmailCheck::Invalid { problem, .. } => problem,
            other => panic!("{s:?} accepted: {other:?}"),
        }
    }

    #[test]
    fn accepts_plain_and_embedded_addresses() {
        assert_eq!(valid("ana@example.com"), "ana@example.com");
        assert_eq!(
            valid("  Ana.Silva+shop@mail.example.co.uk "),
            "Ana.Silva+shop@mail.example.co.uk"
        );
        assert_eq!(valid("it's ana@example.com"), "ana@example.com");
        assert_eq!(valid("es ana@example.com."), "ana@example.com");
        assert_eq!(
            valid("mijn adres is <jan@voorbeeld.nl>, bedankt"),
            "jan@voorbeeld.nl"
        );
        assert_eq!(valid("mailto:joao@exemplo.pt"), "joao@exemplo.pt");
        assert_eq!(valid("(josé@correo.es)"), "josé@correo.es");
    }

    #[test]
    fn refuses_what_is_not_an_address_and_says_why() {
        assert_eq!(problem("I don't have one"), EmailProblem::NoAddress);
        assert_eq!(problem("ana@example.com."), EmailProblem::TrailingDot);
        assert_eq!(problem("ana @example.com"), EmailProblem::Space);
        assert_eq!(problem("ana@ example.com"), EmailProblem::Space);
        assert_eq!(problem("@example.com"), EmailProblem::MissingLocal);
        assert_eq!(problem("ana@"), EmailProblem::MissingDomain);
        assert_eq!(problem("ana@example"), EmailProblem::MissingDomain);
        assert_eq!(problem("ana@example.c"), EmailProblem::MissingDomain);
        assert_eq!(problem("ana..silva@example.com"), EmailProblem::Malformed);
        assert_eq!(problem("ana@exa_mple.com"), EmailProblem::Malformed);
        assert_eq!(problem("ana@@example.com"), EmailProblem::Malformed);
        assert_eq!(problem("ana@-example.com"), EmailProblem::Malformed);
    }

    #[test]
    fn the_first_valid_address_wins() {
        assert_eq!(valid("ana@ or rather ana@example.com"), "ana@example.com");
    }
}
