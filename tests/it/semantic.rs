//! The semantic layer as a user meets it: a missing model is never silent (refusal, or a
//! warning with `semantic.on_error: lexical`), and `--lexical-only` needs no model.

use crate::exe::{concierge, demo_shop, run};

/// A model folder that does not exist.
const NO_MODEL: &str = "/nonexistent/concierge-model";

#[test]
fn lexical_only_needs_no_model() {
    let mut cmd = concierge(["ask", "--json", "--lexical-only", "--model", NO_MODEL]);
    cmd.args(demo_shop()).arg("where is my parcel");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    assert_eq!(out.json_lines().len(), 1);
    assert!(!out.stderr.contains("semantic"), "{}", out.stderr);
}

#[cfg(feature = "semantic")]
#[test]
fn a_missing_model_refuses_to_start_and_says_what_to_do() {
    let mut cmd = concierge(["ask", "--json", "--model", NO_MODEL]);
    cmd.args(demo_shop()).arg("where is my parcel");
    let out = run(&mut cmd, b"");
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains(NO_MODEL), "{}", out.stderr);
    assert!(out.stderr.contains("scripts/setup-model"), "{}", out.stderr);
    assert!(out.stderr.contains("--lexical-only"), "{}", out.stderr);
}

#[cfg(feature = "semantic")]
#[test]
fn on_error_lexical_warns_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("concierge.yaml");
    std::fs::write(&config, "semantic:\n  on_error: lexical\n").unwrap();
    let mut cmd = concierge(["ask", "--json", "--model", NO_MODEL, "--config"]);
    cmd.arg(&config).args(demo_shop()).arg("where is my parcel");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    assert_eq!(out.json_lines().len(), 1);
    assert!(
        out.stderr.contains("the semantic layer is off") && out.stderr.contains(NO_MODEL),
        "{}",
        out.stderr
    );
}

/// A lexical build refuses a config that asks for the model, instead of ignoring it.
#[cfg(not(feature = "semantic"))]
#[test]
fn a_lexical_build_refuses_semantic_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("concierge.yaml");
    std::fs::write(&config, "semantic:\n  enabled: true\n").unwrap();
    let mut cmd = concierge(["ask", "--json", "--model", NO_MODEL, "--config"]);
    cmd.arg(&config).args(demo_shop()).arg("where is my parcel");
    let out = run(&mut cmd, b"");
    out.assert_code(2);
}

/// Nothing is downloaded at run time: the binary answers inside a network namespace that has
/// no network at all (`unshare -n`, root or user namespaces needed; skipped without them
/// unless CI is set).
#[test]
fn answers_without_any_network() {
    let probe = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to run `unshare -n`"
        );
        eprintln!("skipped: `unshare -n` is not available here");
        return;
    }
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-n", env!("CARGO_BIN_EXE_concierge"), "ask", "--json"])
        .args(demo_shop())
        .arg("I want my money back")
        .current_dir(crate::exe::root())
        .env_remove("CONCIERGE_CONFIG");
    let out = run(&mut cmd, b"");
    out.assert_code(0);
    assert_eq!(out.json_lines().len(), 1);
}
