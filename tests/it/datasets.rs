//! Acceptance on public datasets (`../shared/datasets`, see its README.md): runs
//! `bench/datasets.py` against the binary cargo built for this test and requires the bitext
//! intent accuracy (test set without the utterances that also occur in train) to be >= 85%.
//!
//! Only bitext runs here (about 8 s on a debug build, 1 s on release); banking77-oos, whose
//! calibration alone takes over two minutes on a debug build, is left to
//! `python3 bench/datasets.py` on a release build.
//!
//! The datasets are `../shared/datasets` next to the repository (env `CONCIERGE_DATASETS`
//! overrides it). Without them the test is skipped with a message, except on CI (env `CI`
//! set), where their absence is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn bitext_intent_accuracy_on_the_public_dataset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let datasets = std::env::var_os("CONCIERGE_DATASETS")
        .map_or_else(|| root.join("../shared/datasets"), PathBuf::from);
    if !datasets.join("bitext-customer-service").is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{} is missing: CI must provide the public datasets next to the repository",
                datasets.display()
            );
        }
        eprintln!(
            "skipped: no datasets at {} (set CI to make this a failure)",
            datasets.display()
        );
        return;
    }
    let out = tempfile::tempdir().expect("a temporary folder");
    let run = Command::new("python3")
        .arg(root.join("bench/datasets.py"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_concierge"))
        .arg("--datasets")
        .arg(&datasets)
        .arg("--out")
        .arg(out.path())
        .args(["--only", "bitext", "--min-bitext", "0.85"])
        .env_remove("CONCIERGE_CONFIG")
        .output()
        .expect("running python3 bench/datasets.py (is python3 installed?)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "bench/datasets.py failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    assert!(
        stdout.contains("| bitext |"),
        "no table printed:\n{stdout}\n{stderr}"
    );
    // Shown with `cargo test -- --nocapture`.
    println!("{stdout}");
}
