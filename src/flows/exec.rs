//! The action executor: sends a flow's request and reads what came back. The only outbound
//! HTTP outside the webhook worker, under the same rules: rustls, no redirects followed, a
//! bounded time and body, and neither headers, query nor body in the logs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::action::{origin, Action, ActionResult, Method, MAX_BODY_BYTES, MAX_TIMEOUT};
use super::FlowId;

/// What the core hands the executor: the flow's action and the slots it was filled with.
/// Holds its own `Arc` of the action, so it outlives a reload of the flows.
#[derive(Debug, Clone)]
pub struct ActionCall {
    pub flow: FlowId,
    pub action: Arc<Action>,
    pub slots: BTreeMap<String, String>,
}

/// Why the executor could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for flow actions: {0}")]
pub struct ExecError(String);

/// Reads `{env.NAME}`: the process environment, or a map in tests.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Sends action requests. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Executor {
    client: reqwest::Client,
    env: Arc<EnvLookup>,
}

impl Executor {
    /// An executor reading `{env.NAME}` from the process environment.
    pub fn new() -> Result<Executor, ExecError> {
        Executor::with_env(Arc::new(|name: &str| std::env::var(name).ok()))
    }

    /// An executor reading `{env.NAME}` through `env` (tests give a map).
    pub fn with_env(env: Arc<EnvLookup>) -> Result<Executor, ExecError> {
        let client = reqwest::Client::builder()
            // A redirect is an answer, not a hop: following it could send the shop's token or
            // a shopper's data somewhere the flow file never named.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("concierge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ExecError(e.to_string()))?;
        Ok(Executor { client, env })
    }

    /// Runs the action. Never fails: every problem is an `ActionResult` the flow has an
    /// answer for.
    pub async fn run(&self, call: &ActionCall) -> ActionResult {
        let started = Instant::now();
        let result = self.attempt(call).await;
        let kind = match &result {
            ActionResult::Found { .. } => "found",
            ActionResult::NotFound => "not_found",
            ActionResult::Timeout => "timeout",
            ActionResult::Failed { .. } => "failed",
        };
        let reason = match &result {
            ActionResult::Failed { reason, .. } => reason.as_str(),
            _ => "",
        };
        tracing::info!(
            flow = %call.flow,
            result = kind,
            reason,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "flow action"
        );
        result
    }

    async fn attempt(&self, call: &ActionCall) -> ActionResult {
        let request = match call.action.request(&call.slots, &*self.env) {
            Ok(r) => r,
            // A missing variable is the operator's to fix; the shopper gets the error answer.
            Err(e) => {
                return ActionResult::Failed {
                    status: None,
                    reason: e.to_string(),
                }
            }
        };
        let timeout = request.timeout.min(MAX_TIMEOUT);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
        };
        let mut builder = self.client.request(method, &request.url).timeout(timeout);
        for (k, v) in &request.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some((user, password)) = &request.basic_auth {
            builder = builder.basic_auth(user, Some(password));
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        // One deadline for the whole exchange, body included.
        let exchange = async {
            let mut response = builder.send().await?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Ok((status, None));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>((status, Some(body)))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => ActionResult::Timeout,
            Ok(Err(e)) if e.is_timeout() => ActionResult::Timeout,
            Ok(Err(e)) => ActionResult::Failed {
                status: None,
                reason: describe(&e, &request.url),
            },
            Ok(Ok((status, None))) => ActionResult::Failed {
                status: Some(status),
                reason: format!("the answer is larger than {MAX_BODY_BYTES} bytes"),
            },
            Ok(Ok((status, Some(body)))) => call.action.parse(status, &body, &call.slots),
        }
    }
}

/// A short reason naming the server only: the path and query may hold a shopper's data.
fn describe(err: &reqwest::Error, url: &str) -> String {
    let url = origin(url);
    if err.is_connect() {
        format!("cannot connect to {url}")
    } else if err.is_body() || err.is_decode() {
        format!("the answer from {url} broke off")
    } else {
        format!("the request to {url} failed")
    }
}
