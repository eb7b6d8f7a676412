//! A real `concierge serve` on a free loopback port, and a tiny HTTP/1.1 client that can send
//! anything (malformed JSON, wrong content types, huge bodies) the way a broken client would.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::exe;

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    log: Arc<Mutex<String>>,
    /// The database folder, when the test did not pass `--data` itself.
    _data: Option<tempfile::TempDir>,
}

/// The `http:` keys every test server gets: the rate limit off (tests send many requests from
/// one address), and a request deadline the test sets, long enough that a loaded machine
/// never answers 503 `timeout` (the default 10 s did, under load).
pub const TEST_HTTP: &str = "http:\n  rate_limit: {per_minute: 0}\n  request_timeout_ms: 600000\n";

/// The identity secret every test server is started with (`CONCIERGE_IDENTITY_SECRET`).
pub const IDENTITY_SECRET: &str = "identity-secret-of-the-test-shop";

/// The `identifier_hash` that makes `id` a verified customer of a test server.
pub fn identifier_hash(id: &str) -> String {
    let secret = concierge::handover::IdentitySecret::new(IDENTITY_SECRET).expect("a secret");
    concierge::handover::identity::identifier_hash(&secret, id)
}

/// A config for tests: the demo shop's, with [`TEST_HTTP`] unless `http` sets an `http:`
/// section itself.
pub fn config(dir: &Path, http: &str) -> OsString {
    let demo = std::fs::read_to_string(exe::path("concierge.yaml")).expect("demo config");
    let http = if http.is_empty() {
        TEST_HTTP.to_string()
    } else {
        http.to_string()
    };
    let file = dir.join("concierge.yaml");
    std::fs::write(&file, format!("{demo}\n{http}")).expect("writing the test config");
    file.into_os_string()
}

impl Server {
    /// Starts `concierge serve --listen 127.0.0.1:0 ARGS…` and waits until it listens. Without
    /// `--data` in `args`, the database goes to a fresh temporary folder, so that tests never
    /// share one (nor write to the repository's `data/`).
    pub fn start<I, S>(args: I) -> Server
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Server::start_with_env(args, &[])
    }

    /// The demo shop served with the test config and its database in `dir/data`, a folder
    /// the test reads afterwards; returns that folder too.
    pub fn demo_with_data(dir: &Path) -> (Server, std::path::PathBuf) {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("the data folder"); // --data must exist.
        let mut args = exe::demo_shop();
        args.extend([
            "--config".into(),
            config(dir, "").into(),
            "--data".into(),
            data.clone(),
        ]);
        let server = Server::start(args);
        server.wait_ready();
        (server, data)
    }

    /// [`Server::start`] with these environment variables set (a flow's `{env.NAME}`).
    pub fn start_with_env<I, S>(args: I, env: &[(&str, &str)]) -> Server
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut argv: Vec<OsString> = vec!["serve".into(), "--listen".into(), "127.0.0.1:0".into()];
        argv.extend(args.into_iter().map(Into::into));
        let data = if argv.iter().any(|a| a == "--data") {
            None
        } else {
            let dir = tempfile::tempdir().expect("a temporary data folder");
            argv.extend(["--data".into(), dir.path().as_os_str().to_owned()]);
            Some(dir)
        };
        let mut child = exe::concierge(&argv)
            .envs(env.iter().copied())
            .env("CONCIERGE_LOG", "info")
            .env("CONCIERGE_IDENTITY_SECRET", IDENTITY_SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the concierge binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = match rx.recv_timeout(exe::DEADLINE) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "waited {:?} for the line `listening on http://…`:\n{}",
                    exe::DEADLINE,
                    log.lock().unwrap()
                );
            }
        };
        Server {
            child,
            addr,
            log,
            _data: data,
        }
    }

    /// Waits until `/readyz` answers 200 (for up to [`exe::DEADLINE`]).
    pub fn wait_ready(&self) {
        let ready = exe::eventually(exe::DEADLINE, || self.get("/readyz").status == 200);
        assert!(
            ready,
            "waited {:?} for /readyz to answer 200:\n{}",
            exe::DEADLINE,
            self.log()
        );
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success());
        let status = exe::wait(&mut self.child, Duration::from_secs(30));
        thread::sleep(Duration::from_millis(50));
        (status, self.log())
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn post_json(&self, path: &str, body: &str) -> Response {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// One request on a new connection.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request(&self.addr, method, path, headers, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// Asserts the status and, for errors, the `{"error": {"code", "message"}}` shape.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        let v = self.json();
        if status >= 400 {
            assert!(
                v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                "error body shape: {}",
                self.body
            );
        }
        v
    }

    /// Asserts a 4xx with this error code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        let v = self.expect(status);
        assert_eq!(v["error"]["code"], code, "body: {}", self.body);
    }
}

pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = TcpStream::connect(addr).expect("connecting to the server");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body and close: that is fine.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
