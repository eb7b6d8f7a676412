//! The hand-over's routes, thin: a shopper's history and live events (with the
//! conversation's own token), the helpdesk's inbound API. The decisions are in
//! `crate::handover`; here requests become calls and results become JSON.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::sync::broadcast;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ApiError, ErrorKind};
use super::wire::{ErrorBody, HandoffOut, StatusOk};
use super::AppState;
use crate::handover::agent::{self, AgentAction, Live};
use crate::handover::inbound::{self, Proof};
use crate::handover::{self, history};
use crate::store::{Activity, ActivityKind, ConversationId};

/// The hand-over's part of the OpenAPI document (merged into `/openapi.json`).
#[derive(OpenApi)]
#[openapi(
    paths(
        get_history,
        live_events,
        poll_events,
        post_rating,
        post_close,
        helpdesk_event,
        get_availability
    ),
    components(schemas(
        AvailabilityResponse,
        HistoryResponse,
        HistoryLineOut,
        LiveEventOut,
        PollResponse,
        RatingRequest,
        HelpdeskEventRequest
    )),
    modifiers(&SecuritySchemes)
)]
pub struct HandoverDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("conversation_token", bearer());
        components.add_security_scheme("helpdesk_token", bearer());
    }
}

/// What the open widgets are told: one channel for all conversations, each subscriber keeps
/// its own conversation's. Lagging only means re-reading the store.
pub(super) type Hub = broadcast::Sender<(ConversationId, Live)>;

/// A hub for [`super::AppState`].
pub(super) fn hub() -> Hub {
    broadcast::channel(256).0
}

/// `GET /v1/conversations/{id}/messages`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct HistoryResponse {
    pub conversation_id: String,
    /// Where the conversation is in the hand-over, once it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffOut>,
    /// Oldest first.
    pub messages: Vec<HistoryLineOut>,
    /// Pass it as `after` to the live events: they continue from here.
    pub cursor: usize,
    /// People resolved the conversation: ask the shopper for a rating (`POST …/rating`).
    pub rating_requested: bool,
}

/// One line of a conversation's history.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct HistoryLineOut {
    /// `customer`, `bot` or `agent`.
    #[schema(example = "agent")]
    pub role: String,
    pub text: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// The agent's name, on an agent's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

pub(super) fn rfc3339(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn handover_error(e: handover::Error) -> ApiError {
    match e {
        handover::Error::UnknownConversation(id) => ApiError::new(
            ErrorKind::UnknownConversation,
            format!("no conversation `{id}`"),
        ),
        handover::Error::Unauthorized => ApiError::new(
            ErrorKind::Unauthorized,
            "send this conversation's own token (`conversation_token` of its first reply) as `Authorization: Bearer …`",
        ),
        handover::Error::NotHandedOver(id) => ApiError::new(
            ErrorKind::NotHandedOver,
            format!("conversation `{id}` is not handed over to people; post after its `escalation.created`"),
        ),
        handover::Error::BadRating => {
            ApiError::new(ErrorKind::InvalidFeedback, "`rating` must be 1 to 5")
        }
        handover::Error::NothingToRate => ApiError::new(
            ErrorKind::InvalidFeedback,
            "no agent resolved this conversation since its last rating",
        ),
        e => ApiError::internal(e),
    }
}

/// The conversation's token: `Authorization: Bearer …`.
pub(super) fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_string())
}

fn conversation_id(id: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(id).ok_or_else(|| {
        ApiError::new(
            ErrorKind::UnknownConversation,
            format!("no conversation `{id}`"),
        )
    })
}

/// A conversation's history (a page reload): the shopper's messages, the bot's replies and
/// the agents' messages. Only with the conversation's own token.
#[utoipa::path(
    get, path = "/v1/conversations/{id}/messages", tag = "chat",
    params(("id" = String, Path, description = "The conversation id")),
    security(("conversation_token" = [])),
    responses(
        (status = 200, description = "The history, oldest first", body = HistoryResponse),
        (status = 401, description = "`unauthorized`: no token, or another conversation's", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
    )
)]
pub async fn get_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<HistoryResponse>, ApiError> {
    let id = conversation_id(&id)?;
    let token = bearer(&headers);
    let store = state.inner.store.clone();
    let read = state
        .blocking(move || history::read(store.as_ref(), &id, token.as_deref()))
        .await?
        .map_err(handover_error)?;
    Ok(Json(HistoryResponse {
        conversation_id: read.conversation.id.to_string(),
        handoff: HandoffOut::from_state(&read.conversation.handoff),
        messages: read
            .lines
            .into_iter()
            .map(|l| HistoryLineOut {
                role: l.speaker.as_str().to_string(),
                text: l.text,
                at: rfc3339(l.at_ms),
                agent: l.agent,
            })
            .collect(),
        cursor: read.cursor,
        rating_requested: read.rating_requested,
    }))
}

/// One live event of a conversation, as the widget gets it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LiveEventOut {
    /// `message` (an agent's reply), `joined`, `typing`, `resolved` (back to the bot: ask
    /// for a rating), `rating`, `closed`.
    #[serde(rename = "type")]
    #[schema(example = "message")]
    pub kind: String,
    /// Position in the conversation's activity (not for `typing`): the next `after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// RFC 3339, UTC (not for `typing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl LiveEventOut {
    fn stored(n: usize, a: &Activity) -> Self {
        LiveEventOut {
            kind: a.kind.as_str().to_string(),
            n: Some(n),
            agent: a.agent.clone(),
            text: a.text.clone(),
            rating: a.rating,
            at: Some(rfc3339(a.at_ms)),
        }
    }

    fn typing(agent: &str) -> Self {
        LiveEventOut {
            kind: "typing".into(),
            n: None,
            agent: Some(agent.to_string()),
            text: None,
            rating: None,
            at: None,
        }
    }
}

/// `GET /v1/conversations/{id}/events` and `…/events/poll` parameters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Events after this position (`cursor` of the history; `n` of the last event seen).
    pub after: Option<usize>,
    /// The conversation's token, for clients that cannot send headers (`EventSource`).
    pub token: Option<String>,
}

/// The long-poll's answer.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PollResponse {
    /// Oldest first; empty when nothing happened before the wait ended.
    pub events: Vec<LiveEventOut>,
    /// The next `after`.
    pub cursor: usize,
}

/// The stored activity after `after`, for the holder of the conversation's token.
async fn activity_after(
    state: &AppState,
    id: &ConversationId,
    token: Option<String>,
    after: usize,
) -> Result<Vec<(usize, Activity)>, ApiError> {
    let store = state.inner.store.clone();
    let id = id.clone();
    state
        .blocking(move || -> Result<_, handover::Error> {
            history::authorize(store.as_ref(), &id, token.as_deref())?;
            Ok(store
                .activity(&id)?
                .into_iter()
                .enumerate()
                .map(|(i, a)| (i + 1, a))
                .skip(after)
                .collect())
        })
        .await?
        .map_err(handover_error)
}

fn token_of(headers: &HeaderMap, params: &EventsParams) -> Option<String> {
    bearer(headers).or_else(|| params.token.clone())
}

/// A conversation's live events over server-sent events: the agents' messages, "joined",
/// "typing", "resolved". Each `data:` is a `LiveEventOut`; the stream starts with what
/// happened after `after`.
#[utoipa::path(
    get, path = "/v1/conversations/{id}/events", tag = "chat",
    params(("id" = String, Path, description = "The conversation id"), EventsParams),
    security(("conversation_token" = [])),
    responses(
        (status = 200, description = "`text/event-stream` of `LiveEventOut`", body = LiveEventOut, content_type = "text/event-stream"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
    )
)]
pub async fn live_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EventsParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = conversation_id(&id)?;
    let token = token_of(&headers, &params);
    // Subscribed before the store is read: nothing falls between the two.
    let mut rx = state.inner.hub.subscribe();
    let first = activity_after(&state, &id, token.clone(), params.after.unwrap_or(0)).await?;
    let (tx, out) = tokio::sync::mpsc::channel::<Event>(32);
    tokio::spawn(async move {
        let mut sent = params.after.unwrap_or(0);
        let send = |e: &LiveEventOut| Event::default().json_data(e).ok();
        for (n, a) in &first {
            if let Some(ev) = send(&LiveEventOut::stored(*n, a)) {
                if tx.send(ev.id(n.to_string())).await.is_err() {
                    return;
                }
            }
            sent = *n;
        }
        loop {
            let news = tokio::select! {
                r = rx.recv() => r,
                () = tx.closed() => return,
            };
            let reread = match news {
                Ok((c, _)) if c != id => continue,
                Ok((_, Live::Typing { agent })) => {
                    if let Some(ev) = send(&LiveEventOut::typing(&agent)) {
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
                Ok((_, Live::Stored { n, .. })) => n > sent,
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if !reread {
                continue;
            }
            let Ok(more) = activity_after(&state, &id, token.clone(), sent).await else {
                return;
            };
            for (n, a) in &more {
                if let Some(ev) = send(&LiveEventOut::stored(*n, a)) {
                    if tx.send(ev.id(n.to_string())).await.is_err() {
                        return;
                    }
                }
                sent = *n;
            }
        }
    });
    let stream = futures_util::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|e| (Ok::<_, Infallible>(e), out))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The long-poll fallback of the live events: answers at once when something happened after
/// `after`, else waits up to 25 s (less than `http.request_timeout_ms`) for it.
#[utoipa::path(
    get, path = "/v1/conversations/{id}/events/poll", tag = "chat",
    params(("id" = String, Path, description = "The conversation id"), EventsParams),
    security(("conversation_token" = [])),
    responses(
        (status = 200, description = "What happened after `after`", body = PollResponse),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
    )
)]
pub async fn poll_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EventsParams>,
    headers: HeaderMap,
) -> Result<Json<PollResponse>, ApiError> {
    let id = conversation_id(&id)?;
    let token = token_of(&headers, &params);
    let after = params.after.unwrap_or(0);
    let mut rx = state.inner.hub.subscribe();
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(state.inner.http.request_timeout_ms.saturating_sub(1_000))
            .min(Duration::from_secs(25));
    let mut typing = Vec::new();
    loop {
        let found = activity_after(&state, &id, token.clone(), after).await?;
        if !found.is_empty() || !typing.is_empty() {
            let cursor = found.last().map_or(after, |(n, _)| *n);
            let mut events: Vec<LiveEventOut> = typing;
            events.extend(found.iter().map(|(n, a)| LiveEventOut::stored(*n, a)));
            return Ok(Json(PollResponse { events, cursor }));
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => {
                return Ok(Json(PollResponse {
                    events: Vec::new(),
                    cursor: after,
                }))
            }
            Ok(Ok((c, Live::Typing { agent }))) if c == id => {
                typing.push(LiveEventOut::typing(&agent));
            }
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                return Err(ApiError::new(ErrorKind::NotReady, "shutting down"))
            }
        }
    }
}

/// `POST /v1/conversations/{id}/rating`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (bad) to 5 (great).
    pub rating: u8,
}

/// The shopper's satisfaction (CSAT) with the agent who resolved the conversation, once per
/// resolution; recorded against the conversation and the agent.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/rating", tag = "chat",
    params(("id" = String, Path, description = "The conversation id")),
    request_body = RatingRequest,
    security(("conversation_token" = [])),
    responses(
        (status = 200, description = "Recorded", body = StatusOk),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
        (status = 422, description = "`invalid_feedback`: not 1 to 5, or nothing to rate", body = ErrorBody),
    )
)]
pub async fn post_rating(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    super::routes::ApiJson(req): super::routes::ApiJson<RatingRequest>,
) -> Result<Json<StatusOk>, ApiError> {
    let id = conversation_id(&id)?;
    let token = bearer(&headers);
    let _turn = state.conversation_turn(&id).await;
    let store = state.inner.store.clone();
    let now = state.now();
    let conversation = id.clone();
    let rated = state
        .blocking(move || -> Result<Activity, handover::Error> {
            history::authorize(store.as_ref(), &conversation, token.as_deref())?;
            agent::rate(store.as_ref(), &conversation, req.rating, now)
        })
        .await?
        .map_err(handover_error)?;
    state.inner.metrics.feedback("rating", rated.rating);
    tracing::info!(conversation_id = %id, rating = rated.rating, agent = rated.agent.as_deref().unwrap_or("-"), "agent rated");
    Ok(Json(StatusOk {
        status: "ok".into(),
    }))
}

/// The shopper leaves: while people have the conversation, the helpdesk gets
/// `conversation.closed` on the webhook.
#[utoipa::path(
    post, path = "/v1/conversations/{id}/close", tag = "chat",
    params(("id" = String, Path, description = "The conversation id")),
    security(("conversation_token" = [])),
    responses(
        (status = 200, description = "Closed", body = StatusOk),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
    )
)]
pub async fn post_close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<StatusOk>, ApiError> {
    let id = conversation_id(&id)?;
    let token = bearer(&headers);
    let _turn = state.conversation_turn(&id).await;
    let store = state.inner.store.clone();
    let now = state.now();
    let conversation = id.clone();
    let queued = state
        .blocking(move || -> Result<bool, handover::Error> {
            history::authorize(store.as_ref(), &conversation, token.as_deref())?;
            agent::close(store.as_ref(), &conversation, now)
        })
        .await?
        .map_err(handover_error)?;
    if queued {
        state.inner.outbox_ready.notify_one();
    }
    Ok(Json(StatusOk {
        status: "ok".into(),
    }))
}

/// What the helpdesk posts.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskEventRequest {
    /// `message`, `joined`, `typing` or `resolved`.
    #[serde(rename = "type")]
    #[schema(example = "message")]
    pub kind: String,
    /// The agent's name as the shopper sees it (required but for `resolved`).
    #[schema(example = "Sam")]
    pub agent: Option<String>,
    /// The agent's reply (`message` only).
    pub text: Option<String>,
}

fn action(req: HelpdeskEventRequest, max_chars: usize) -> Result<AgentAction, ApiError> {
    let invalid = |m: &str| ApiError::new(ErrorKind::InvalidBody, m.to_string());
    let agent = req.agent.filter(|a| !a.trim().is_empty());
    let need_agent = || {
        agent
            .clone()
            .ok_or_else(|| invalid("`agent` (the agent's name) is required"))
    };
    Ok(match req.kind.as_str() {
        "message" => {
            let text = req
                .text
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| invalid("`text` is required with `message`"))?;
            if text.chars().count() > max_chars {
                return Err(ApiError::new(
                    ErrorKind::TextTooLong,
                    format!("`text` has more than {max_chars} characters"),
                ));
            }
            AgentAction::Message {
                agent: need_agent()?,
                text,
            }
        }
        "joined" => AgentAction::Joined {
            agent: need_agent()?,
        },
        "typing" => AgentAction::Typing {
            agent: need_agent()?,
        },
        "resolved" => AgentAction::Resolved { agent },
        other => {
            return Err(invalid(&format!(
                "`type` is `{other}`: use `message`, `joined`, `typing` or `resolved`"
            )))
        }
    })
}

/// The helpdesk speaks in a handed-over conversation: an agent's reply, "joined", "typing",
/// "resolved" (back to the bot). Signed like our webhook (Standard Webhooks, keyed with
/// `handover.inbound_secret`; each `webhook-id` once, the timestamp within the tolerance) or
/// with `Authorization: Bearer <handover.inbound_token>`. Anything else is 401 and nothing is
/// stored.
#[utoipa::path(
    post, path = "/helpdesk/v1/conversations/{id}/events", tag = "helpdesk",
    params(("id" = String, Path, description = "The conversation id (the ticket's `conversation_id`)")),
    request_body = HelpdeskEventRequest,
    security(("helpdesk_token" = [])),
    responses(
        (status = 200, description = "Stored (and shown in the open widget)", body = StatusOk),
        (status = 401, description = "`unauthorized`: unsigned, forged, too old, replayed or a wrong token", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
        (status = 409, description = "`not_handed_over`: the bot has this conversation", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `text_too_long`", body = ErrorBody),
    )
)]
pub async fn helpdesk_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusOk>, ApiError> {
    let settings = &state.inner.handover;
    let tolerance = Duration::from_secs(settings.inbound_tolerance_secs);
    let now_ms = crate::store::now_ms();
    let proof = inbound::authenticate(
        settings.inbound_secret.as_ref(),
        settings.inbound_token.as_ref(),
        &headers,
        &body,
        now_ms / 1000,
        tolerance,
    )
    .map_err(refused)?;
    let req: HelpdeskEventRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorKind::InvalidBody,
            format!("the body is not a helpdesk event: {e}"),
        )
    })?;
    let action = action(req, state.inner.max_message_chars)?;
    let id = conversation_id(&id)?;
    if let Proof::Signed { webhook_id } = proof {
        let store = state.inner.store.clone();
        let forget_before = now_ms.saturating_sub(2 * tolerance.as_millis() as u64);
        let first = state
            .blocking(move || store.first_seen(&webhook_id, now_ms, forget_before))
            .await?
            .map_err(ApiError::internal)?;
        if !first {
            return Err(refused(inbound::Refused::Replayed));
        }
    }
    let _turn = state.conversation_turn(&id).await;
    let store = state.inner.store.clone();
    let now = state.now();
    let conversation = id.clone();
    let live = state
        .blocking(move || agent::apply(store.as_ref(), &conversation, action, now))
        .await?
        .map_err(handover_error)?;
    if let Live::Stored { activity, .. } = &live {
        tracing::info!(conversation_id = %id, kind = activity.kind.as_str(), "helpdesk event");
        if activity.kind == ActivityKind::Resolved {
            tracing::info!(conversation_id = %id, "conversation handed back to the bot");
        }
    }
    // No open widget is no error: the history has it.
    let _ = state.inner.hub.send((id, live));
    Ok(Json(StatusOk {
        status: "ok".into(),
    }))
}

fn refused(r: inbound::Refused) -> ApiError {
    tracing::warn!(reason = %r, "helpdesk request refused");
    ApiError::new(ErrorKind::Unauthorized, r.to_string())
}

/// `GET /v1/availability`.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AvailabilityResponse {
    /// Inside business hours: a person can join now (`live`); outside, the shopper leaves a
    /// message (`offline`).
    pub open: bool,
    /// RFC 3339, UTC: the next opening, when closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_opening: Option<String>,
}

/// Whether a person can join a chat now (`escalation.hours`): the widget shows "chat open
/// now", or "leave a message" outside business hours.
#[utoipa::path(
    get, path = "/v1/availability", tag = "chat",
    responses((status = 200, description = "Open now or not", body = AvailabilityResponse))
)]
pub async fn get_availability(State(state): State<AppState>) -> Json<AvailabilityResponse> {
    let a = handover::availability(state.inner.policy.hours(), state.now());
    Json(AvailabilityResponse {
        open: a.open,
        next_opening: a.next_opening.map(|t| t.to_string()),
    })
}

/// The hand-over's routes, merged into the API's router.
pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/availability", get(get_availability))
        .route("/v1/conversations/{id}/messages", get(get_history))
        .route("/v1/conversations/{id}/events", get(live_events))
        .route("/v1/conversations/{id}/events/poll", get(poll_events))
        .route("/v1/conversations/{id}/rating", post(post_rating))
        .route("/v1/conversations/{id}/close", post(post_close))
        .route(
            "/helpdesk/v1/conversations/{id}/events",
            post(helpdesk_event),
        )
}

#[cfg(test)]
#[path = "handover_tests.rs"]
mod tests;
