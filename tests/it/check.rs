//! `concierge check` on small broken shops under `tests/fixtures/check/`: each mistake fails
//! the check (exit 1) with the file, the line and a hint; the valid shop passes.

use std::path::PathBuf;

use crate::exe::{concierge, path, run, Output};

/// The folder of one fixture shop.
fn fixture(case: &str) -> PathBuf {
    path("tests/fixtures/check").join(case)
}

/// Runs `concierge check` on the fixture's `kb/` and `intents/`.
fn check(case: &str) -> Output {
    let dir = fixture(case);
    let mut cmd = concierge(["check", "--kb"]);
    cmd.arg(dir.join("kb"))
        .arg("--intents")
        .arg(dir.join("intents"));
    run(&mut cmd, b"")
}

/// Checks that the fixture fails with an error at `file:line:` (file relative to the fixture
/// folder) whose message contains `message`, followed by a hint; returns the output.
#[track_caller]
fn fails_at(case: &str, file: &str, line: usize, message: &str) -> Output {
    let out = check(case);
    out.assert_code(1);
    let at = format!("{}:{line}: error: ", fixture(case).join(file).display());
    let Some(start) = out.stderr.find(&at) else {
        panic!("expected an error at {at:?}\n--- stderr\n{}", out.stderr);
    };
    let diagnostic = &out.stderr[start..];
    let first = diagnostic.lines().next().unwrap_or("");
    assert!(first.contains(message), "expected {message:?} in {first:?}");
    let hint = diagnostic.lines().nth(1).unwrap_or("");
    assert!(
        hint.trim_start().starts_with("hint: ") && hint.len() > "  hint: ".len() + 10,
        "expected a hint under {first:?}, got {hint:?}"
    );
    assert!(out.stderr.contains("1 error(s)"), "{}", out.stderr);
    out
}

#[test]
fn valid_shop_passes() {
    let out = check("valid");
    out.assert_code(0);
    assert!(out.stdout.starts_with("ok: 3 article(s)"), "{}", out.stdout);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
}

#[test]
fn missing_title() {
    fails_at(
        "missing-title",
        "kb/en/orders/untitled.md",
        1,
        "missing `title`",
    );
}

#[test]
fn duplicate_id_names_both_files() {
    let out = check("duplicate-id");
    out.assert_code(1);
    let copy = fixture("duplicate-id").join("kb/en/orders/where-is-my-parcel.md");
    let first = fixture("duplicate-id").join("kb/en/orders/tracking.md");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&copy.display().to_string()))
        .unwrap_or_else(|| panic!("no error for the copy\n{}", out.stderr));
    assert!(
        line.contains("duplicate article id `en/orders/tracking`"),
        "{line}"
    );
    assert!(line.contains(&first.display().to_string()), "{line}");
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);
}

#[test]
fn duplicate_id_names_the_id_line() {
    fails_at(
        "duplicate-id",
        "kb/en/orders/where-is-my-parcel.md",
        4,
        "duplicate article id `en/orders/tracking`",
    );
}

#[test]
fn unknown_locale() {
    fails_at(
        "unknown-locale",
        "kb/help/contact-us.md",
        3,
        "unknown locale: `english`",
    );
}

#[test]
fn intent_linking_to_a_missing_article() {
    fails_at(
        "broken-intent-article",
        "intents/orders.yaml",
        10,
        "broken link to article `en/orders/cancel-order`",
    );
}

#[test]
fn markdown_link_to_a_missing_article() {
    fails_at(
        "broken-md-link",
        "kb/en/returns/how-to-return.md",
        8,
        "broken link to `return-shipping-costs.md`",
    );
}

#[test]
fn invalid_regex_in_patterns() {
    fails_at(
        "invalid-regex",
        "intents/orders.yaml",
        7,
        "invalid pattern `(?i)where is (my parcel`",
    );
}

#[test]
fn invalid_double_quoted_regex_names_its_line() {
    // In double quotes YAML unescapes `\\b` to `\b`, so the pattern as parsed does not occur in
    // the file as written.
    fails_at(
        "invalid-regex-double-quoted",
        "intents/orders.yaml",
        7,
        r"invalid pattern `(?i)\btrack(`",
    );
}

#[test]
fn example_claimed_by_two_intents() {
    let out = fails_at(
        "example-claimed-twice",
        "intents/orders.yaml",
        12,
        "claimed by two intents: `track_order`",
    );
    assert!(out.stderr.contains("`missing_package`"), "{}", out.stderr);
}

#[test]
fn translation_of_naming_no_article() {
    fails_at(
        "dangling-translation",
        "kb/es/pagos/metodos.md",
        4,
        "`translation_of: en/payments/payment-methods` names no article",
    );
}

#[test]
fn two_translations_of_one_original_in_one_language() {
    // Files load in path order: `formas-de-pago.md` claims the original first; the Dutch
    // translation of the same original is fine.
    let out = fails_at(
        "duplicate-translation",
        "kb/es/pagos/metodos.md",
        3,
        "already translates it into `es`",
    );
    assert!(out.stderr.contains("formas-de-pago.md"), "{}", out.stderr);
}
