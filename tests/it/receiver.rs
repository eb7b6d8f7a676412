//! A helpdesk stand-in for the webhook tests and the soak: a tiny HTTP/1.1 server on a free
//! loopback port that verifies every signature with `concierge::escalation::sign`, keeps the
//! deliveries it accepts in an idempotent store keyed by `webhook-id` (counting duplicates),
//! and misbehaves on purpose as a [`Script`] says: status codes, `Retry-After`, redirects,
//! hanging past the client's timeout, dropping the connection without an answer.
//!
//! Self-contained (tokio and the library only) so a bench can use it too:
//! `#[path = "../tests/it/receiver.rs"] mod receiver;`. Async tests call
//! [`Receiver::start`]; tests that drive the real binary from plain threads call
//! [`Receiver::start_blocking`], which brings its own runtime.

#![allow(dead_code)] // Not every user of the receiver uses every step.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use concierge::escalation::sign::{self, WebhookSecret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the receiver does with one request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Verify, store, answer 200.
    Accept,
    /// Answer with this status and no body.
    Status(u16),
    /// Answer with this status and a `Retry-After` header.
    RetryAfter(u16, String),
    /// Answer `307` with this `Location`.
    Redirect(String),
    /// Answer nothing for this long, then close: a client with a shorter timeout gives up.
    Hang(Duration),
    /// Wait this long, then accept.
    Slow(Duration),
    /// Read the request, then close the connection without a byte of answer.
    Drop,
}

/// Decides the step for the `attempt`-th request (1-based) carrying a `webhook-id`.
pub type Script = Arc<dyn Fn(&str, u32) -> Step + Send + Sync>;

/// The same steps for every ticket, then accept.
pub fn steps(steps: Vec<Step>) -> Script {
    Arc::new(move |_, attempt| {
        steps
            .get(attempt as usize - 1)
            .cloned()
            .unwrap_or(Step::Accept)
    })
}

/// Fails `rate` of all requests at random (half with 500, half by dropping the connection);
/// seeded, so a run can be repeated.
pub fn random_failures(rate: f64, seed: u64) -> Script {
    let rng = Mutex::new(fastrand::Rng::with_seed(seed));
    Arc::new(move |_, _| {
        let mut rng = rng.lock().unwrap();
        if rng.f64() < rate {
            if rng.bool() {
                Step::Status(500)
            } else {
                Step::Drop
            }
        } else {
            Step::Accept
        }
    })
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub id: String,
    pub attempt: u32,
    pub at: Instant,
    pub signature_ok: bool,
    pub step: String,
    pub headers: http::HeaderMap,
}

/// A delivery in the idempotent store.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub body: Vec<u8>,
    /// Accepted again after the first time (the sender's retries after a lost answer).
    pub duplicates: u32,
}

#[derive(Default)]
struct State {
    attempts: HashMap<String, u32>,
    seen: Vec<Seen>,
    accepted: HashMap<String, Accepted>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    state: Arc<Mutex<State>>,
    bad_signatures: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
    /// Set by `start_blocking`; dropped after the task is aborted.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Receiver {
    /// [`Receiver::start`] on a runtime of its own, for tests without one. Do not drop the
    /// result inside an async context.
    pub fn start_blocking(secret: &str, script: Script) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime for the receiver");
        let mut receiver = runtime.block_on(Receiver::start(secret, script));
        receiver.runtime = Some(runtime);
        receiver
    }

    /// Waits (blocking the thread) until `n` distinct tickets are accepted; false after `limit`.
    pub fn wait_for_accepted(&self, n: usize, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.state.lock().unwrap().accepted.len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Listens on a free loopback port; must be called inside a tokio runtime.
    pub async fn start(secret: &str, script: Script) -> Receiver {
        let secret = WebhookSecret::parse(secret).expect("a valid test secret");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let bad_signatures = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            secret,
            script,
            state: Arc::clone(&state),
            bad_signatures: Arc::clone(&bad_signatures),
            requests: Arc::clone(&requests),
        };
        let shared = Arc::new(shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = shared.serve(stream).await;
                });
            }
        });
        Receiver {
            url,
            state,
            bad_signatures,
            requests,
            task,
            runtime: None,
        }
    }

    /// Every request seen, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The requests for one `webhook-id`.
    pub fn seen_for(&self, id: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.id == id).collect()
    }

    /// The idempotent store.
    pub fn accepted(&self) -> HashMap<String, Accepted> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// Requests whose signature did not verify (answered 401).
    pub fn bad_signatures(&self) -> usize {
        self.bad_signatures.load(Ordering::SeqCst)
    }

    /// Requests received, whatever became of them.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    secret: WebhookSecret,
    script: Script,
    state: Arc<Mutex<State>>,
    bad_signatures: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

struct Request {
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Shared {
    async fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let Some(request) = read_request(&mut stream).await? else {
            return Ok(());
        };
        self.requests.fetch_add(1, Ordering::SeqCst);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let signature_ok = sign::verify_headers(
            &self.secret,
            &request.headers,
            &request.body,
            now,
            sign::DEFAULT_TOLERANCE,
        )
        .is_ok();
        let id = request
            .headers
            .get(sign::HEADER_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let attempt = {
            let mut state = self.state.lock().unwrap();
            let n = state.attempts.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let step = if signature_ok {
            (self.script)(&id, attempt)
        } else {
            self.bad_signatures.fetch_add(1, Ordering::SeqCst);
            Step::Status(401)
        };
        self.state.lock().unwrap().seen.push(Seen {
            id: id.clone(),
            attempt,
            at: Instant::now(),
            signature_ok,
            step: format!("{step:?}"),
            headers: request.headers.clone(),
        });
        match step {
            Step::Accept => self.accept(&mut stream, id, request.body).await,
            Step::Slow(wait) => {
                tokio::time::sleep(wait).await;
                self.accept(&mut stream, id, request.body).await
            }
            Step::Status(code) => respond(&mut stream, code, "").await,
            Step::RetryAfter(code, after) => {
                respond(&mut stream, code, &format!("Retry-After: {after}\r\n")).await
            }
            Step::Redirect(location) => {
                respond(&mut stream, 307, &format!("Location: {location}\r\n")).await
            }
            Step::Hang(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Step::Drop => Ok(()),
        }
    }

    async fn accept(
        &self,
        stream: &mut TcpStream,
        id: String,
        body: Vec<u8>,
    ) -> std::io::Result<()> {
        {
            let mut state = self.state.lock().unwrap();
            state
                .accepted
                .entry(id)
                .and_modify(|a| a.duplicates += 1)
                .or_insert(Accepted {
                    body,
                    duplicates: 0,
                });
        }
        respond(stream, 200, "").await
    }
}

async fn respond(stream: &mut TcpStream, code: u16, extra: &str) -> std::io::Result<()> {
    let response =
        format!("HTTP/1.1 {code} Test\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut headers = http::HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.trim().as_bytes()),
                http::HeaderValue::from_str(value.trim()),
            ) {
                headers.append(name, value);
            }
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request { headers, body }))
}
