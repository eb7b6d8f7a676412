//! The delivery worker: takes due tickets from the [`Outbox`], POSTs each, signed, to the
//! helpdesk, and records the outcome; retries with exponential backoff and full jitter,
//! honours `Retry-After`, and dead-letters a ticket after its last attempt.
//!
//! The outbox is the source of truth: the worker keeps nothing but the set of tickets it has
//! in flight, so a restart resumes where the outbox says. Delivery is at least once (a crash
//! between the helpdesk's 2xx and `mark_delivered` sends the ticket again); the `webhook-id`
//! header, the same on every attempt, lets the receiver drop the duplicate.

use std::collections::{HashMap, HashSet};
use std::error::Error as _;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{error, info, warn};

use super::format::render_bytes;
use super::sign::{sign, WebhookSecret, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use super::webhook::{SettingsError, WebhookSettings};
use super::{Outbox, OutboxEntry, OutboxError, Ticket};
use crate::store::outbox::{EventEntry, EventOutbox};

/// How often the worker looks at the outbox when nothing wakes it: tickets put back by
/// `concierge tickets retry` from another process are picked up within this time.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// The wait after the outbox itself failed.
const ERROR_POLL: Duration = Duration::from_secs(1);
/// While deliveries are in flight, `next_due_ms` may name one of them; the worker then looks
/// again this often so a retry that falls due meanwhile is not held up by a slow receiver.
const BUSY_POLL: Duration = Duration::from_millis(200);
/// Errors kept for the operator are cut to this many characters.
const MAX_ERROR_CHARS: usize = 300;

/// Why the worker cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("building the HTTP client: {0}")]
    Client(String),
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Anything else; `retry_after` from a 429 or 503.
    Failed {
        error: String,
        retry_after: Option<Duration>,
    },
}

/// The delivery worker. [`Deliverer::spawn`] starts it on the current tokio runtime.
pub struct Deliverer {
    settings: WebhookSettings,
    secret: WebhookSecret,
    url: reqwest::Url,
    client: reqwest::Client,
    outbox: Arc<dyn Outbox>,
    /// The hand-over's events (`conversation.message`, `conversation.closed`), sent on the
    /// same webhook after their conversation's ticket; generic format only.
    events: Option<Arc<dyn EventOutbox>>,
    /// How long the worker sleeps when nothing is due and nothing wakes it.
    idle_poll: Duration,
}

impl Deliverer {
    /// Starts the worker: it delivers what is due now (undelivered tickets of an earlier run
    /// included), then sleeps until the next ticket falls due, `notify` is notified (call
    /// `notify.notify_one()` after committing a new ticket or a retry), or 5 s
    /// passes. When `shutdown` completes it starts nothing new, lets the attempts in flight
    /// finish (each is bounded by `timeout_ms`) and ends.
    ///
    /// With an empty `url` nothing is sent: the worker logs that once and waits for
    /// `shutdown`; tickets stay pending in the outbox.
    ///
    /// Await the handle before the runtime ends: the last outcomes are recorded on the
    /// blocking pool.
    pub fn spawn(
        settings: WebhookSettings,
        outbox: Arc<dyn Outbox>,
        notify: Arc<Notify>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<JoinHandle<()>, DeliverError> {
        Deliverer::spawn_polling(settings, outbox, notify, shutdown, IDLE_POLL)
    }

    /// `spawn`, delivering the hand-over's events too (`docs/handover.md`): each after its
    /// conversation's ticket, in order within a conversation, with the tickets' retries.
    /// Only with the generic format; with another, events stay in their outbox.
    pub fn spawn_with_events(
        settings: WebhookSettings,
        outbox: Arc<dyn Outbox>,
        events: Arc<dyn EventOutbox>,
        notify: Arc<Notify>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<JoinHandle<()>, DeliverError> {
        Deliverer::spawn_inner(settings, outbox, Some(events), notify, shutdown, IDLE_POLL)
    }

    /// `spawn` with the idle poll given instead of 5 s. Tests pass an hour, so that only
    /// `notify` can wake the worker, whatever the speed of the machine.
    pub fn spawn_polling(
        settings: WebhookSettings,
        outbox: Arc<dyn Outbox>,
        notify: Arc<Notify>,
        shutdown: impl Future<Output = ()> + Send + 'static,
        idle_poll: Duration,
    ) -> Result<JoinHandle<()>, DeliverError> {
        Deliverer::spawn_inner(settings, outbox, None, notify, shutdown, idle_poll)
    }

    fn spawn_inner(
        settings: WebhookSettings,
        outbox: Arc<dyn Outbox>,
        events: Option<Arc<dyn EventOutbox>>,
        notify: Arc<Notify>,
        shutdown: impl Future<Output = ()> + Send + 'static,
        idle_poll: Duration,
    ) -> Result<JoinHandle<()>, DeliverError> {
        settings.validate()?;
        if !settings.enabled() {
            info!("escalation.webhook.url is empty: escalation tickets are kept in the outbox and not sent");
            return Ok(tokio::spawn(shutdown));
        }
        let mut deliverer = Deliverer::new(settings, outbox)?;
        deliverer.idle_poll = idle_poll;
        if deliverer.settings.format == super::webhook::Format::Generic {
            deliverer.events = events;
        } else if events.is_some() {
            info!("the hand-over's conversation events are sent with the generic format only; they stay in their outbox");
        }
        let deliverer = Arc::new(deliverer);
        info!(
            url = %deliverer.url_for_humans(),
            format = ?deliverer.settings.format,
            concurrency = deliverer.settings.concurrency,
            "delivering escalation tickets"
        );
        Ok(tokio::spawn(deliverer.run(notify, shutdown)))
    }

    fn new(settings: WebhookSettings, outbox: Arc<dyn Outbox>) -> Result<Deliverer, DeliverError> {
        let secret = settings
            .secret
            .clone()
            .ok_or(SettingsError::MissingSecret)?;
        let url = reqwest::Url::parse(&settings.url)
            .map_err(|_| SettingsError::Url(settings.url.clone()))?;
        let client = reqwest::Client::builder()
            .timeout(settings.timeout())
            // A redirect is a failure: following it could send customer data somewhere the
            // shop did not configure, and POST-to-GET rewrites lose the body anyway.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("concierge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliverError::Client(e.to_string()))?;
        Ok(Deliverer {
            settings,
            secret,
            url,
            client,
            outbox,
            events: None,
            idle_poll: IDLE_POLL,
        })
    }

    async fn run(self: Arc<Self>, notify: Arc<Notify>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let limit = self.settings.concurrency;
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut tasks: HashMap<tokio::task::Id, String> = HashMap::new();
        loop {
            let mut wait = self.idle_poll;
            if tasks.len() < limit {
                wait = self.start_due(&mut in_flight, &mut tasks).await;
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    finished(&mut tasks, done);
                }
                () = notify.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        if !tasks.is_empty() {
            info!(
                in_flight = tasks.len(),
                "stopping: finishing the deliveries in flight"
            );
        }
        while let Some(done) = in_flight.join_next_with_id().await {
            finished(&mut tasks, done);
        }
        info!("delivery worker stopped");
    }

    /// Starts attempts for due tickets not already in flight; returns how long to wait before
    /// looking again.
    async fn start_due(
        self: &Arc<Self>,
        in_flight: &mut JoinSet<()>,
        tasks: &mut HashMap<tokio::task::Id, String>,
    ) -> Duration {
        let limit = self.settings.concurrency;
        let now = now_ms();
        // The tickets in flight are still pending and due, so asking for `limit` gives at
        // least the free slots' worth of others when there are that many.
        let due = match blocking(&self.outbox, move |o| o.due(now, limit)).await {
            Ok(due) => due,
            Err(e) => {
                error!(error = %e, "reading the outbox failed");
                return ERROR_POLL;
            }
        };
        let busy: HashSet<String> = tasks.values().cloned().collect();
        for entry in due
            .into_iter()
            .filter(|e| !busy.contains(e.ticket.id.as_str()))
        {
            if tasks.len() >= limit {
                break;
            }
            let id = entry.ticket.id.to_string();
            let handle = in_flight.spawn(Arc::clone(self).deliver(entry));
            tasks.insert(handle.id(), id);
        }
        if let Some(events) = &self.events {
            // An event in flight is still its conversation's first pending one: skipping it
            // keeps the next one of that conversation waiting, so they arrive in order.
            let due = match blocking_events(events, move |o| o.due_events(now, limit)).await {
                Ok(due) => due,
                Err(e) => {
                    error!(error = %e, "reading the events' outbox failed");
                    return ERROR_POLL;
                }
            };
            for entry in due
                .into_iter()
                .filter(|e| !busy.contains(e.event.id.as_str()))
            {
                if tasks.len() >= limit {
                    break;
                }
                let id = entry.event.id.to_string();
                let handle = in_flight.spawn(Arc::clone(self).deliver_event(entry));
                tasks.insert(handle.id(), id);
            }
        }
        if tasks.len() >= limit {
            return self.idle_poll; // A finished attempt wakes the loop.
        }
        match blocking(&self.outbox, |o| o.next_due_ms()).await {
            Ok(None) => self.idle_poll,
            Ok(Some(at)) if at > now => Duration::from_millis(at - now).min(self.idle_poll),
            // Due now: one in flight, or one that fell due since `due` was read.
            Ok(Some(_)) if tasks.is_empty() => Duration::from_millis(10),
            Ok(Some(_)) => BUSY_POLL,
            Err(e) => {
                error!(error = %e, "reading the outbox failed");
                ERROR_POLL
            }
        }
    }

    /// One attempt and its bookkeeping.
    async fn deliver(self: Arc<Self>, entry: OutboxEntry) {
        let id = entry.ticket.id.clone();
        let attempt = entry.attempts + 1;
        let outcome = self.attempt(&entry.ticket).await;
        let now = now_ms();
        let recorded = match outcome {
            Attempt::Delivered { status } => {
                info!(ticket_id = %id, attempt, status, outcome = "delivered", "escalation ticket delivered");
                let id = id.clone();
                blocking(&self.outbox, move |o| o.mark_delivered(&id, now)).await
            }
            Attempt::Failed { error, .. } if attempt >= self.settings.max_attempts => {
                warn!(ticket_id = %id, attempt, %error, outcome = "dead", "escalation ticket dead after its last attempt");
                let id = id.clone();
                blocking(&self.outbox, move |o| o.mark_dead(&id, attempt, &error)).await
            }
            Attempt::Failed { error, retry_after } => {
                let delay = self.next_delay(attempt, retry_after);
                warn!(
                    ticket_id = %id,
                    attempt,
                    %error,
                    outcome = "failed",
                    retry_in_ms = delay.as_millis() as u64,
                    "escalation ticket delivery failed"
                );
                let next = now + delay.as_millis() as u64;
                let id = id.clone();
                blocking(&self.outbox, move |o| {
                    o.mark_failed(&id, attempt, next, &error)
                })
                .await
            }
        };
        if let Err(e) = recorded {
            // The ticket stays pending and is sent again; the receiver drops the duplicate by
            // its `webhook-id`.
            error!(ticket_id = %id, error = %e, "recording a delivery attempt failed");
        }
    }

    /// The wait before the attempt after `attempt` failed: `Retry-After` when the receiver
    /// gave one, else full jitter over `base * 2^(attempt-1)`; both capped by `backoff_max_ms`.
    fn next_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let max = Duration::from_millis(self.settings.backoff_max_ms);
        match retry_after {
            Some(wait) => wait.min(max),
            None => {
                let ceiling = backoff_ceiling(
                    self.settings.backoff_base_ms,
                    self.settings.backoff_max_ms,
                    attempt,
                );
                Duration::from_millis(fastrand::u64(0..=ceiling))
            }
        }
    }

    /// One attempt of an event and its bookkeeping (as [`Deliverer::deliver`] for tickets).
    async fn deliver_event(self: Arc<Self>, entry: EventEntry) {
        let Some(events) = self.events.clone() else {
            return;
        };
        let id = entry.event.id.clone();
        let attempt = entry.attempts + 1;
        let body = serde_json::to_vec(&entry.event).unwrap_or_default();
        let outcome = self.post(id.as_str(), body, false).await;
        let now = now_ms();
        let id2 = id.clone();
        let recorded = match outcome {
            Attempt::Delivered { status } => {
                info!(event_id = %id, attempt, status, outcome = "delivered", "conversation event delivered");
                blocking_events(&events, move |o| o.event_delivered(&id2, now)).await
            }
            Attempt::Failed { error, .. } if attempt >= self.settings.max_attempts => {
                warn!(event_id = %id, attempt, %error, outcome = "dead", "conversation event given up after its last attempt");
                blocking_events(&events, move |o| o.event_dead(&id2, attempt, &error)).await
            }
            Attempt::Failed { error, retry_after } => {
                let delay = self.next_delay(attempt, retry_after);
                warn!(event_id = %id, attempt, %error, outcome = "failed", retry_in_ms = delay.as_millis() as u64, "conversation event delivery failed");
                let next = now + delay.as_millis() as u64;
                blocking_events(&events, move |o| {
                    o.event_failed(&id2, attempt, next, &error)
                })
                .await
            }
        };
        if let Err(e) = recorded {
            error!(event_id = %id, error = %e, "recording a delivery attempt failed");
        }
    }

    /// POSTs the ticket once, signed; never logs the body.
    async fn attempt(&self, ticket: &Ticket) -> Attempt {
        let body = render_bytes(
            self.settings.format,
            self.settings.chatwoot.as_ref(),
            ticket,
        );
        // Zendesk drops a repeated ticket creation with the same key.
        let zendesk = self.settings.format == super::webhook::Format::Zendesk;
        self.post(ticket.id.as_str(), body, zendesk).await
    }

    /// POSTs a body once, signed with `id` as its `webhook-id`; never logs the body.
    async fn post(&self, id: &str, body: Vec<u8>, idempotency_key: bool) -> Attempt {
        let timestamp = now_ms() / 1000;
        let signature = sign(&self.secret, id, timestamp, &body);
        let mut headers = HeaderMap::new();
        self.settings.headers.apply(&mut headers);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(HEADER_ID, header_value(id));
        headers.insert(HEADER_TIMESTAMP, header_value(&timestamp.to_string()));
        headers.insert(HEADER_SIGNATURE, header_value(&signature));
        if idempotency_key {
            headers.insert("idempotency-key", header_value(id));
        }
        let sent = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Attempt::Delivered {
                status: response.status().as_u16(),
            },
            Ok(response) => {
                let status = response.status();
                let retry_after = match status {
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    _ => None,
                };
                let mut error = format!("HTTP {} from {}", status.as_u16(), self.url_for_humans());
                if status.is_redirection() {
                    error.push_str(" (redirects are not followed)");
                }
                Attempt::Failed { error, retry_after }
            }
            Err(e) => Attempt::Failed {
                error: cut(describe(
                    &e,
                    self.settings.timeout(),
                    &self.url_for_humans(),
                )),
                retry_after: None,
            },
        }
    }

    /// The URL without query string or credentials, for logs and the operator.
    fn url_for_humans(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.to_string()
    }
}

fn finished(
    tasks: &mut HashMap<tokio::task::Id, String>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let task = match &done {
        Ok((task, ())) => *task,
        Err(e) => e.id(),
    };
    let id = tasks.remove(&task);
    if let Err(e) = done {
        // The ticket stays pending and is tried again.
        error!(ticket_id = ?id, error = %e, "a delivery task failed");
    }
}

/// The largest backoff before attempt `attempt + 1`: `base * 2^(attempt-1)`, capped.
pub fn backoff_ceiling(base_ms: u64, max_ms: u64, attempt: u32) -> u64 {
    let doublings = attempt.saturating_sub(1).min(40);
    base_ms.saturating_mul(1u64 << doublings).min(max_ms)
}

/// `Retry-After` as seconds or an HTTP date; a date in the past means now.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A short reason for a request that got no answer.
fn describe(err: &reqwest::Error, timeout: Duration, url: &str) -> String {
    if err.is_timeout() {
        return format!("timeout after {} at {url}", human(timeout));
    }
    let mut source = err.source();
    let mut innermost = err.to_string();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            let what = match io.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                io::ErrorKind::ConnectionAborted => "connection aborted".to_string(),
                io::ErrorKind::UnexpectedEof => "connection closed without an answer".to_string(),
                io::ErrorKind::TimedOut => format!("timeout after {}", human(timeout)),
                _ => format!("I/O error: {io}"),
            };
            return format!("{what} by {url}");
        }
        innermost = s.to_string();
        source = s.source();
    }
    if innermost.contains("connection closed before message completed") {
        return format!("connection closed without an answer by {url}");
    }
    if err.is_connect() {
        format!("cannot connect to {url}: {innermost}")
    } else {
        format!("{innermost} ({url})")
    }
}

fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn cut(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MAX_ERROR_CHARS) {
        text.truncate(at);
        text.push('…');
    }
    text
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("ids, timestamps and signatures are ASCII")
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs an outbox call on the blocking pool: every `Outbox` method may block.
async fn blocking<T: Send + 'static>(
    outbox: &Arc<dyn Outbox>,
    call: impl FnOnce(&dyn Outbox) -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    let outbox = Arc::clone(outbox);
    tokio::task::spawn_blocking(move || call(&*outbox))
        .await
        .map_err(|e| OutboxError::Backend(format!("outbox call did not finish: {e}")))?
}

/// Runs an events' outbox call on the blocking pool.
async fn blocking_events<T: Send + 'static>(
    events: &Arc<dyn EventOutbox>,
    call: impl FnOnce(&dyn EventOutbox) -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    let events = Arc::clone(events);
    tokio::task::spawn_blocking(move || call(&*events))
        .await
        .map_err(|e| OutboxError::Backend(format!("outbox call did not finish: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        assert_eq!(backoff_ceiling(1_000, 900_000, 1), 1_000);
        assert_eq!(backoff_ceiling(1_000, 900_000, 2), 2_000);
        assert_eq!(backoff_ceiling(1_000, 900_000, 5), 16_000);
        assert_eq!(backoff_ceiling(1_000, 900_000, 11), 900_000);
        assert_eq!(backoff_ceiling(1_000, 900_000, 1_000), 900_000);
        assert_eq!(backoff_ceiling(u64::MAX, u64::MAX, 64), u64::MAX);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn durations_and_errors_read_well() {
        assert_eq!(human(Duration::from_secs(10)), "10 s");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        let long = "x".repeat(1000);
        assert_eq!(cut(long).chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(cut("short".into()), "short");
    }
}
