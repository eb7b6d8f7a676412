//! The chat widget in real headless Chromium (`tests/browser/widget.test.mjs`, Playwright),
//! against a real server. Needs what `scripts/setup-browser` installs: without it the test is
//! skipped locally and fails in CI (`CI` set).

use std::process::Command;

use crate::exe;
use crate::server::{config, Server};

/// True when the browser is missing here: a local run is skipped with a word, CI (`CI` set)
/// fails instead.
pub(crate) fn skipped() -> bool {
    let Some(what) = missing() else {
        return false;
    };
    let msg = format!("browser test needs {what}: run scripts/setup-browser");
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    true
}

/// Runs `tests/browser/<script>` with node against `server` (screenshots into
/// `target/browser`, then `extra` arguments), and fails with its output and the server's log
/// unless every step passed.
pub(crate) fn run_script(script: &str, server: &Server, extra: &[String]) {
    let mut cmd = Command::new("node");
    cmd.arg(exe::path("tests/browser").join(script))
        .arg(format!("http://{}/", server.addr))
        .arg(shots())
        .args(extra)
        .current_dir(exe::root());
    let out = exe::run(&mut cmd, b"");
    eprintln!("{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.code(),
        Some(0),
        "{script} failed:\n{}\n{}\n--- server log\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
}

/// Where the browser tests leave their screenshots.
pub(crate) fn shots() -> std::path::PathBuf {
    exe::path("target/browser")
}

fn missing() -> Option<String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Some(chromium);
    }
    if !exe::path("tests/browser/node_modules/playwright-core").is_dir() {
        return Some("tests/browser/node_modules (npm ci)".into());
    }
    None
}

#[test]
fn widget_works_in_headless_chromium() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut args = exe::demo_shop();
    args.extend(["--config".into(), config(dir.path(), "").into()]);
    let server = Server::start(args);
    server.wait_ready();
    run_script("widget.test.mjs", &server, &[]);
    assert!(shots().join("widget-360.png").is_file());
}

/// The live hand-over (issue 13) in headless Chromium, with `tests/browser/handover.test.mjs`
/// as the fake helpdesk: the server's webhook points at a port the script listens on.
#[test]
fn the_hand_over_works_both_ways_in_headless_chromium() {
    if skipped() {
        return;
    }
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const TOKEN: &str = "helpdesk-token-of-the-browser-test";
    // A free port for the script's helpdesk (released here, taken by the script).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let section = format!(
        "{}escalation:\n  webhook:\n    url: http://127.0.0.1:{port}/hook\n    secret: {SECRET}\n    backoff_base_ms: 50\n    backoff_max_ms: 400\nhandover:\n  inbound_token: {TOKEN}\n",
        crate::server::TEST_HTTP
    );
    let dir = tempfile::tempdir().unwrap();
    let mut args = exe::demo_shop();
    args.extend(["--config".into(), config(dir.path(), &section).into()]);
    let server = Server::start(args);
    server.wait_ready();
    run_script(
        "handover.test.mjs",
        &server,
        &[port.to_string(), SECRET.into(), TOKEN.into()],
    );
    assert!(shots().join("handover-csat.png").is_file());
}
