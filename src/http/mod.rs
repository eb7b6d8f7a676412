//! The HTTP service behind `concierge serve`: the JSON API under `/v1`, health and metrics,
//! the OpenAPI document and the chat widget.
//!
//! Only this module knows the JSON wire shapes (`wire.rs`). Everything that blocks (engine
//! searches, the store) runs through [`AppState::blocking`]: on tokio's blocking pool, behind
//! a semaphore with one permit per core, never on an async worker.

mod admin;
mod chatwoot;
mod dashboard;
mod error;
mod handover;
mod limit;
mod live;
mod metrics;
mod notices;
mod routes;
pub mod wire;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{watch, Notify, Semaphore};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{HttpSettings, Settings};
use crate::engine::Engine;
use crate::escalation::deliver::Deliverer;
use crate::escalation::{Outbox, Policy, PolicyError};
use crate::store::{MemoryStore, Store};

pub use error::{ApiError, ErrorKind};
pub use live::{fingerprint, Live, LoadResult, Status};
pub use metrics::Metrics;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    live: Arc<Live>,
    store: Arc<dyn Store>,
    /// When to hand a conversation to a person, and what to say meanwhile.
    policy: Arc<Policy>,
    /// Wakes the delivery worker when a ticket is committed.
    outbox_ready: Arc<Notify>,
    /// Sends flows' actions (`None`: the HTTP client could not be set up; logged at start).
    actions: Option<crate::flows::Executor>,
    metrics: Arc<Metrics>,
    limiter: limit::RateLimiter,
    permits: Arc<Semaphore>,
    /// Striped locks that make a conversation's messages take turns (see
    /// [`AppState::conversation_turn`]).
    conversations: Vec<tokio::sync::Mutex<()>>,
    http: HttpSettings,
    /// The token the `/admin/*` endpoints require (see `admin.rs`); none: loopback only.
    admin_token: Option<crate::config::AdminToken>,
    max_message_chars: usize,
    shop_name: String,
    openapi: String,
    /// What time it is, for the notices (a fixed clock in tests).
    clock: Clock,
    /// The key customer ids are verified with (`handover.identity_secret`).
    identity_secret: Option<crate::handover::IdentitySecret>,
    /// The helpdesk's inbound API: its secret, token and tolerance.
    handover: crate::handover::HandoverSettings,
    /// Tells the open widgets what the helpdesk did (`handover.rs`).
    hub: handover::Hub,
    /// Chatwoot's API as the agent bot, and the webhook's token (`chatwoot.rs`); `None`: off.
    chatwoot: Option<(crate::chatwoot::Client, crate::chatwoot::Token)>,
}

/// The time now: `jiff::Timestamp::now` when serving, a fixed instant in tests.
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// How many locks the conversations are spread over (see [`AppState::conversation_turn`]).
pub const CONVERSATION_STRIPES: usize = 256;

/// One core's share of the blocking work (see [`AppState::blocking_releasing`]); dropping it
/// lets the next job start.
pub struct CorePermit {
    _held: tokio::sync::OwnedSemaphorePermit,
}

impl AppState {
    /// State for serving `live` with the given store. The escalation policy comes from
    /// `settings`, which `Settings::validate` has checked.
    pub fn new(
        settings: &Settings,
        live: Arc<Live>,
        store: Arc<dyn Store>,
        outbox_ready: Arc<Notify>,
    ) -> Result<Self, PolicyError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(AppState {
            inner: Arc::new(Shared {
                live,
                store,
                policy: Arc::new(settings.escalation.policy()?),
                outbox_ready,
                metrics: Arc::new(Metrics::default()),
                limiter: limit::RateLimiter::new(settings.http.rate_limit),
                permits: Arc::new(Semaphore::new(cores)),
                conversations: (0..CONVERSATION_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
                http: settings.http.clone(),
                admin_token: settings.admin.token.clone(),
                max_message_chars: settings.limits.max_message_chars,
                shop_name: settings.shop.name.clone(),
                openapi: routes::openapi_json(),
                clock: Arc::new(jiff::Timestamp::now),
                actions: crate::flows::Executor::new()
                    .inspect_err(|e| tracing::error!(error = %e, "flow actions will fail"))
                    .ok(),
                identity_secret: settings.handover.identity_secret.clone(),
                handover: settings.handover.clone(),
                hub: handover::hub(),
                chatwoot: chatwoot::setup(&settings.chatwoot),
            }),
        })
    }

    /// Runs a flow's action: an HTTP call awaited on the runtime (no thread blocked, no core
    /// permit or store lock held), bounded by the action's timeout. Never fails: a problem
    /// is a result the flow has an answer for.
    pub async fn run_action(&self, call: &crate::flows::ActionCall) -> crate::flows::ActionResult {
        match &self.inner.actions {
            Some(executor) => executor.run(call).await,
            None => crate::flows::ActionResult::Failed {
                status: None,
                reason: "the HTTP client for flow actions could not be set up".into(),
            },
        }
    }

    /// The same state with another clock (tests). Call it before the state is cloned: a
    /// shared state keeps its clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.inner) {
            shared.clock = clock;
        }
        self
    }

    /// The time now, by this state's clock.
    pub fn now(&self) -> jiff::Timestamp {
        (self.inner.clock)()
    }

    /// State serving an engine that is already loaded, with an in-memory store (tests).
    pub fn with_engine(settings: &Settings, engine: Arc<Engine>) -> Self {
        let live = Live::with_engine(settings.clone(), engine);
        let store = Arc::new(MemoryStore::new(settings.http.max_conversations));
        AppState::new(settings, live, store, Arc::new(Notify::new()))
            .expect("the settings of a test are valid")
    }

    pub fn live(&self) -> &Arc<Live> {
        &self.inner.live
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Runs blocking work (engine searches, the store) on the blocking pool, at most one job
    /// per core at a time: more would only queue inside the OS scheduler instead of here.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)
    }

    /// Held while a message of an existing conversation is answered and recorded: messages
    /// of one conversation that arrive together (an app retrying, two tabs) take turns, so
    /// each sees the hand-over state the one before it left, and a conversation gets one
    /// ticket, not one per message. Conversations share a lock only by their id's hash, out
    /// of [`CONVERSATION_STRIPES`]. Within this process only: replicas sharing a database
    /// would need the store to check the state it read (not done).
    pub async fn conversation_turn(
        &self,
        id: &crate::store::ConversationId,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut h);
        let stripe = (h.finish() % self.inner.conversations.len() as u64) as usize;
        self.inner.conversations[stripe].lock().await
    }

    /// Blocking work that mostly waits for another thread (the embedder's, which bounds its
    /// own queue), so it takes no core's permit.
    pub async fn blocking_waiting<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)
    }

    /// Like [`AppState::blocking`], but `f` holds the core's permit and may give it back
    /// before it ends: a message's answer needs a core, the wait for its commit does not.
    pub async fn blocking_releasing<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(CorePermit) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || f(CorePermit { _held: permit }))
            .await
            .map_err(ApiError::internal)
    }

    /// The engine to answer with, or 503 while none is loaded.
    fn engine(&self) -> Result<Arc<Engine>, ApiError> {
        self.inner.live.engine().ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotReady,
                "the knowledge base is still loading; try again in a moment",
            )
        })
    }

    /// The address a request comes from, for rate limiting.
    fn client(&self, req: &Request) -> Option<IpAddr> {
        if self.inner.http.trust_forwarded_for {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }
}

/// The whole service: API, health, metrics, OpenAPI document, widget, demo page and the admin
/// dashboard.
pub fn router(state: AppState) -> Router {
    let http = &state.inner.http;
    // The admin routes sit behind their lock (`admin.rs`): a token, or loopback without proxy.
    let admin = Router::new()
        .route("/admin/status", get(routes::admin_status))
        .route("/admin/tickets", get(routes::admin_tickets))
        .route(
            "/admin/tickets/{id}/retry",
            post(routes::admin_retry_ticket),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            admin::require,
        ));
    let api = Router::new()
        .route("/v1/messages", post(routes::post_message))
        .route("/v1/search", get(routes::search))
        .route("/v1/articles/{*id}", get(routes::article))
        .route("/v1/feedback", post(routes::post_feedback))
        .route("/v1/notices", get(notices::get_notices))
        .merge(handover::routes())
        .route("/chatwoot/webhook", post(chatwoot::webhook))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .merge(admin)
        .merge(dashboard::routes(&state))
        .route("/openapi.json", get(routes::openapi))
        .route("/widget.js", get(routes::widget_js))
        .route("/", get(routes::demo_page))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(http.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    let router = match cors(&http.cors_origins) {
        Some(cors) => api.layer(cors),
        None => api,
    };
    router.with_state(state)
}

/// CORS for the shop's own origins; none configured: no CORS headers (same origin only).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Around every request: the rate limit (API routes), the deadline, metrics and a debug log.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = req.method().clone();
    let limited = if route.starts_with("/v1/") {
        state
            .client(&req)
            .and_then(|ip| state.inner.limiter.check(ip).err())
    } else {
        None
    };
    let response = if let Some(secs) = limited {
        state.inner.metrics.rate_limited();
        let mut e = ApiError::new(
            ErrorKind::RateLimited,
            format!("too many requests; try again in {secs} s"),
        );
        e.retry_after = Some(secs);
        e.into_response()
    } else {
        let deadline = Duration::from_millis(state.inner.http.request_timeout_ms);
        match tokio::time::timeout(deadline, next.run(req)).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!(route = %route, "request timed out");
                ApiError::new(ErrorKind::Timeout, "the request took too long; try again")
                    .into_response()
            }
        }
    };
    let took = started.elapsed();
    let status = response.status().as_u16();
    state
        .inner
        .metrics
        .request(&route, method.as_str(), status, took);
    tracing::debug!(method = %method, route = %route, status, us = took.as_micros() as u64, "request");
    response
}

/// Errors of the service as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("escalation.policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("escalation.webhook: {0}")]
    Webhook(#[from] crate::escalation::deliver::DeliverError),
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish, keeping
/// conversations in `store`. Loads the content in the background (so that `/healthz` answers
/// at once and `/readyz` says when the index is ready) and watches it for edits. The ticket
/// delivery worker runs beside it, on the same store, and resumes whatever is pending; at
/// shutdown it finishes the attempts in flight.
pub async fn serve(
    settings: Settings,
    store: Arc<dyn Store>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let live = Live::new(settings.clone());
    let outbox_ready = Arc::new(Notify::new());
    let state = AppState::new(&settings, live.clone(), store.clone(), outbox_ready.clone())?;
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let outbox: Arc<dyn Outbox> = store.clone();
    let events: Arc<dyn crate::store::EventOutbox> = store;
    let worker = Deliverer::spawn_with_events(
        settings.escalation.webhook.clone(),
        outbox,
        events,
        outbox_ready,
        async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        },
    )?;
    let metrics = state.metrics().clone();
    let interval = settings.http.reload_interval_ms;
    let loader = live.clone();
    std::thread::Builder::new()
        .name("kb-loader".into())
        .spawn(move || {
            loader.load_reporting(&crate::progress::Logged::default());
            if interval > 0 {
                let on_load = move |r: LoadResult| {
                    metrics.reload(match r {
                        LoadResult::Loaded => "loaded",
                        LoadResult::Refused => "refused",
                    })
                };
                if let Err(e) =
                    live::spawn_watcher(&loader, Duration::from_millis(interval), on_load)
                {
                    tracing::error!(error = %e, "cannot watch the content for edits");
                }
            }
        })?;
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
    // Requests have finished (their tickets are committed); let the worker finish its
    // attempts in flight. What is still pending is sent at the next start.
    if let Err(e) = worker.await {
        tracing::error!(error = %e, "the ticket delivery worker failed");
    }
    Ok(served?)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests;
