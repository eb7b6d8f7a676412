//! `concierge test`, the real binary: the demo shop's conversation tests pass (CI runs them
//! here), and a broken test fails with the conversation so far and a readable difference.

use crate::exe::{concierge, demo_shop, path, run};

/// The demo shop's conversation tests, through the same core as the service.
fn test_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(path("tests/conversations"))
        .expect("tests/conversations/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_demo_shops_conversation_tests_pass() {
    let files = test_files();
    assert!(!files.is_empty(), "no tests/conversations/*.yaml");
    let mut cmd = concierge(["test"]);
    cmd.args(&files).args(demo_shop()).arg("--lexical-only");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    let passed = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok      "))
        .count();
    assert!(
        passed >= 30,
        "the demo shop ships at least 30 conversation tests; {passed} ran:\n{}",
        out.stdout
    );
    for lang in ["en:", "es:", "pt:", "nl:"] {
        assert!(
            out.stdout.lines().any(|l| l.contains(lang)),
            "no test in {lang}\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("FAILED"), "{}", out.stdout);
}

/// The runner itself: a test that expects the wrong thing fails, exit 1, and the report shows
/// the file and line, the conversation so far, and expected against got.
#[test]
fn a_broken_conversation_test_fails_with_a_readable_difference() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        r#"tests:
  - name: "passes: the flow asks for the order number"
    locale: en
    steps:
      - say: "where is my order?"
        expect: {flow: order_status, asks: order_number}
  - name: "broken: expects six digits"
    locale: en
    steps:
      - say: "where is my order?"
        expect: {asks: order_number}
      - say: "it's 12"
        expect: {asks: order_number, text: "6 digits"}
"#,
    )
    .expect("writing the test file");
    let mut cmd = concierge(["test"]);
    cmd.arg(&file).args(demo_shop()).arg("--lexical-only");
    let out = run(&mut cmd, b"");
    out.assert_code(1);
    let s = &out.stdout;
    let at = format!("FAILED  {}:7  broken: expects six digits", file.display());
    assert!(s.contains(&at), "no `{at}`:\n{s}");
    assert!(
        s.contains("conversation so far:\n    1. shopper: where is my order?"),
        "{s}"
    );
    assert!(s.contains("2. shopper: it's 12"), "{s}");
    assert!(s.contains("step 2 differs:\n    text:"), "{s}");
    assert!(
        s.contains("- expected: contains \"6 digits\"\n      + got:      That doesn't look like an order number: ours have 5 digits."),
        "{s}"
    );
    assert!(s.ends_with("1 passed, 1 failed\n"), "{s}");
}

/// A mistake in a test file names its line and stops before any test runs.
#[test]
fn a_misspelt_key_in_a_test_file_names_its_line() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("typo.yaml");
    std::fs::write(
        &file,
        "tests:\n  - name: x\n    steps:\n      - sey: hello\n",
    )
    .expect("writing the test file");
    let mut cmd = concierge(["test"]);
    cmd.arg(&file).args(demo_shop()).arg("--lexical-only");
    let out = run(&mut cmd, b"");
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!("{}:4", file.display())) && out.stderr.contains("sey"),
        "{}",
        out.stderr
    );
}
