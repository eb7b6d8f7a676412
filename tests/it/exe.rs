//! Running the real `concierge` binary: a command builder with the demo shop's folders, a
//! deadline so a hung process fails its test instead of the whole suite, and checks that
//! every test wants (no panic, JSON lines).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one run of the binary may take before its test fails. Not a speed target (those
/// live in `benches/` and `bench/`): the demo shop loads in about a second, but the first
/// start embeds the shop's texts (tens of seconds idle, minutes on a loaded machine running
/// tests in parallel beside `stress-ng`).
pub const DEADLINE: Duration = Duration::from_secs(600);

/// Polls `check` every 50 ms until it holds (true) or `within` has passed (false). Callers
/// say in their assertion what they waited for.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if check() {
            return true;
        }
        if started.elapsed() > within {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The repository root: the demo shop and the labelled sets live there.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file or folder under the repository root.
pub fn path(rel: &str) -> PathBuf {
    root().join(rel)
}

/// `concierge` with the given arguments, run from the repository root (so the demo shop's
/// `concierge.yaml` applies, as it does for someone trying the binary there) and without the
/// caller's `CONCIERGE_*` variables.
pub fn concierge<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concierge"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("CONCIERGE_CONFIG")
        .env_remove("CONCIERGE_LOG");
    cmd
}

/// `--kb <demo knowledge base> --intents <demo intents>`.
pub fn demo_shop() -> Vec<PathBuf> {
    vec![
        "--kb".into(),
        path("knowledge-base"),
        "--intents".into(),
        path("intents"),
    ]
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit code {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Every stdout line parsed as JSON; panics naming the line that is not.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!(
                        "stdout line is not JSON ({e}): {l:?}\n--- stderr\n{}",
                        self.stderr
                    )
                })
            })
            .collect()
    }
}

/// Runs `cmd` to the end, feeding it `stdin` (closed afterwards). Panics if it outlives
/// [`DEADLINE`] or panics itself.
#[track_caller]
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the concierge binary starts");
    // Write and read on other threads: a child that answers while we are still writing would
    // otherwise fill its pipe and wait for us while we wait for it.
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = thread::spawn(move || {
        // The child may exit without reading everything (an error before it reads stdin);
        // a broken pipe is then expected and the exit code tells the story.
        let _ = input.write_all(&data);
    });
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = wait(&mut child, DEADLINE);
    writer.join().expect("the stdin writer does not panic");
    let out = Output {
        status,
        stdout: String::from_utf8(stdout.join().expect("reader")).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&stderr.join().expect("reader")).into_owned(),
    };
    assert!(
        !out.stderr.contains("panicked"),
        "the binary panicked:\n{}",
        out.stderr
    );
    out
}

/// Reads a pipe to its end on a thread.
pub fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        pipe.read_to_end(&mut buf)
            .expect("reading the child's output");
        buf
    })
}

/// Waits for the child; kills it and panics once `deadline` has passed.
#[track_caller]
pub fn wait(child: &mut Child, deadline: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("concierge did not finish within {deadline:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}
