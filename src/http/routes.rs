//! The handlers, each documented for the OpenAPI document (`GET /openapi.json`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use super::error::{ApiError, ErrorKind};
use super::wire::*;
use super::AppState;
use crate::conversation::{Core, Message, Recorded, Start};
use crate::engine::Question;
use crate::escalation::{DeliveryState, EscalationId, Handoff, OutboxError};
use crate::kb::ArticleId;
use crate::locale::Locale;
use crate::pii;
use crate::store::{
    self, ClientMessageId, Conversation, ConversationId, Customer, Feedback, MessageId,
};

const WIDGET_JS: &str = include_str!("assets/widget.js");
const DEMO_HTML: &str = include_str!("assets/demo.html");

/// The API's description, generated from the handlers and wire types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concierge",
        description = "The FAQ chatbot of an online shop: send a shopper's message, get an answer, a \"did you mean\" choice or a hand-over to a person."
    ),
    paths(
        post_message,
        search,
        article,
        post_feedback,
        healthz,
        readyz,
        admin_status,
        admin_tickets,
        admin_retry_ticket,
        super::dashboard::report,
        super::dashboard::gap_report,
        metrics,
        super::notices::get_notices
    ),
    components(schemas(
        MessageRequest,
        CustomerIn,
        MessageResponse,
        SuggestionOut,
        LinkOut,
        SearchResponse,
        SearchHitOut,
        ArticleResponse,
        SectionOut,
        TranslationOut,
        FeedbackRequest,
        StatusOk,
        ReadyResponse,
        ProblemOut,
        HandoffOut,
        QuickReplyOut,
        TicketsResponse,
        TicketOut,
        RetryResponse,
        super::notices::NoticesResponse,
        super::notices::NoticeOut,
        ErrorBody,
        ErrorDetail
    ))
)]
struct ApiDoc;

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.merge(<super::handover::HandoverDoc as OpenApi>::openapi());
    doc.merge(<super::chatwoot::ChatwootDoc as OpenApi>::openapi());
    doc.to_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// `Json<T>` whose rejections are API errors (`malformed_json`, `invalid_body`, …).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(r.into()),
        }
    }
}

fn store_error(e: store::Error) -> ApiError {
    match e {
        store::Error::UnknownConversation(id) => ApiError::new(
            ErrorKind::UnknownConversation,
            format!("no conversation `{id}`: start a new one by leaving out `conversation_id`"),
        ),
        store::Error::UnknownMessage { message, .. } => ApiError::new(
            ErrorKind::UnknownMessage,
            format!("no message `{message}` in this conversation"),
        ),
        store::Error::Backend(_)
        | store::Error::DuplicateTicket(_)
        | store::Error::DuplicateClientMessage { .. }
        | store::Error::Open { .. }
        | store::Error::SchemaTooNew { .. } => ApiError::internal(e),
    }
}

pub(super) fn parse_locale(s: Option<&str>) -> Result<Option<Locale>, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<Locale>().map(Some).map_err(|_| {
            ApiError::new(
                ErrorKind::InvalidLocale,
                format!("`{s}` is not a locale: use an ISO 639-1 code such as `en` or `pt-BR`"),
            )
        }),
    }
}

fn unknown_conversation(id: &str) -> ApiError {
    store_error(store::Error::UnknownConversation(
        ConversationId::parse(id).unwrap_or_else(|| ConversationId::parse("invalid").unwrap()),
    ))
}

/// Answers a shopper's message.
#[utoipa::path(
    post, path = "/v1/messages", tag = "chat",
    request_body = MessageRequest,
    responses(
        (status = 200, description = "The bot's reply", body = MessageResponse),
        (status = 400, description = "`malformed_json`, `invalid_client_message_id`", body = ErrorBody),
        (status = 404, description = "`unknown_conversation`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `empty_text`, `text_too_long`, `invalid_locale`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`not_ready`, `timeout`", body = ErrorBody),
    )
)]
pub async fn post_message(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<MessageRequest>,
) -> Result<Json<MessageResponse>, ApiError> {
    let received = std::time::Instant::now();
    let text = req.text;
    if text.trim().is_empty() {
        return Err(ApiError::new(ErrorKind::EmptyText, "`text` is empty"));
    }
    let max = state.inner.max_message_chars;
    let chars = text.chars().count();
    if chars > max {
        return Err(ApiError::new(
            ErrorKind::TextTooLong,
            format!("`text` has {chars} characters; at most {max} are accepted"),
        ));
    }
    let locale = parse_locale(req.locale.as_deref())?;
    let channel = req.channel.unwrap_or_else(|| "web".into());
    if channel.is_empty()
        || channel.len() > 32
        || !channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::new(
            ErrorKind::InvalidBody,
            "`channel` must be 1 to 32 letters, digits, `-` or `_`",
        ));
    }
    let client_id = req
        .client_message_id
        .as_deref()
        .map(parse_client_message_id)
        .transpose()?;
    let existing = match &req.conversation_id {
        Some(id) => Some(ConversationId::parse(id).ok_or_else(|| unknown_conversation(id))?),
        None => None,
    };
    // A claimed id counts only when verified: otherwise an anonymous visitor.
    let customer = req.customer.map_or_else(Customer::default, |c| {
        crate::handover::identity::customer(
            state.inner.identity_secret.as_ref(),
            crate::handover::Claim {
                id: c.id,
                identifier_hash: c.identifier_hash,
                name: c.name,
                email: c.email,
            },
        )
    });
    // Until this message is recorded, the conversation's next one waits.
    let _turn = match &existing {
        Some(id) => Some(state.conversation_turn(id).await),
        None => None,
    };
    let start = match existing {
        Some(id) => Start::Existing(id),
        // Created with its first turn, in the same transaction.
        None => Start::New(Conversation::new(
            ConversationId::generate(),
            channel,
            customer,
            store::now_ms(),
        )),
    };
    let recorded = turn(&state, start, text, locale, client_id, received).await?;
    let Recorded {
        conversation,
        message,
        turned,
        access_token,
        replayed,
    } = recorded;
    let mut response =
        MessageResponse::from_turned(conversation.to_string(), message.to_string(), turned);
    response.conversation_token = access_token;
    if replayed {
        // A retry answered with the stored turn: counted when it was first answered.
        tracing::info!(
            conversation_id = %conversation,
            message_id = %message,
            "retried message answered with its stored turn"
        );
        return Ok(Json(response));
    }
    state.inner.metrics.message(
        &response.outcome,
        &response.language,
        response.escalation.as_deref(),
    );
    // Never the shopper's text at info level: it may hold personal data.
    tracing::info!(
        conversation_id = %conversation,
        message_id = %message,
        outcome = %response.outcome,
        language = %response.language,
        intent = response.intent.as_deref().unwrap_or("-"),
        article = response.article.as_deref().unwrap_or("-"),
        confidence = response.confidence,
        "message"
    );
    Ok(Json(response))
}

/// `client_message_id` as the API takes it: 1 to 64 letters, digits, `-` and `_`.
fn parse_client_message_id(id: &str) -> Result<ClientMessageId, ApiError> {
    ClientMessageId::parse(id).ok_or_else(|| {
        ApiError::new(
            ErrorKind::InvalidClientMessageId,
            "`client_message_id` must be 1 to 64 letters, digits, `-` or `_` (a UUID will do); \
             leave it out to send the message without one",
        )
    })
}

/// One message through the conversation core, as every channel sends it (the widget's
/// `POST /v1/messages`, Chatwoot's webhook): the text masked, embedded, answered and
/// recorded; the outbox worker woken for what the turn committed. The caller holds the
/// conversation's turn ([`AppState::conversation_turn`]) when `start` is an existing one.
/// With `client_id`, a retry of a message already stored comes back as its stored turn
/// (`Recorded::replayed`), decided and committed nothing.
pub(super) async fn turn(
    state: &AppState,
    start: Start,
    text: String,
    locale: Option<Locale>,
    client_id: Option<ClientMessageId>,
    received: std::time::Instant,
) -> Result<Recorded, ApiError> {
    let engine = state.engine()?;
    // Personal data goes no further unmasked than this (the store masks too).
    let text = pii::mask(&text).into_owned();
    // The embedding first, without a core's permit: the embedder thread does that work, and
    // the messages waiting for it at the same time share one forward pass.
    let embedding = if engine.is_semantic() {
        let (engine, text, locale) = (engine.clone(), text.clone(), locale.clone());
        state
            .blocking_waiting(move || {
                engine.embed_question(&Question::new(&text).with_locale_hint(locale))
            })
            .await?
    } else {
        None
    };
    let store = state.inner.store.clone();
    let policy = state.inner.policy.clone();
    let notices_at = state.now();
    let (engine2, policy2, store2) = (engine.clone(), policy.clone(), store.clone());
    // A turn in one go, unless a flow's action must run: then the decided turn comes back
    // (the core's permit given back), the action runs here as async I/O holding no permit
    // and no store lock, and the turn is finished on a blocking thread again.
    let first = state
        .blocking_releasing(move |permit| {
            let message = Message::new(&text)
                .with_locale(locale)
                .with_embedding(embedding.as_deref())
                .with_notices_at(notices_at)
                .with_received(received)
                .with_client_id(client_id);
            let core = Core::new(&engine, &policy);
            let pending = core.begin_turn(store.as_ref(), start, &message)?;
            if pending.action().is_some() {
                return Ok(Err(pending));
            }
            core.complete_turn(store.as_ref(), pending, None, || drop(permit))
                .map(Ok)
        })
        .await?
        .map_err(store_error)?;
    let recorded = match first {
        Ok(recorded) => recorded,
        Err(pending) => {
            let call = pending.action().cloned();
            let result = match &call {
                Some(call) => Some(state.run_action(call).await),
                None => None,
            };
            state
                .blocking_releasing(move |permit| {
                    Core::new(&engine2, &policy2).complete_turn(
                        store2.as_ref(),
                        pending,
                        result,
                        || drop(permit),
                    )
                })
                .await?
                .map_err(store_error)?
        }
    };
    let turned = &recorded.turned;
    if turned.ticket.is_none() && matches!(turned.handoff, Handoff::HandedOver { .. }) {
        // A message after the hand-over: its `conversation.message` event is committed.
        state.inner.outbox_ready.notify_one();
    }
    if let Some(t) = &turned.ticket {
        // Committed: the worker may send it now.
        state.inner.outbox_ready.notify_one();
        tracing::info!(
            conversation_id = %recorded.conversation,
            ticket_id = %t.id,
            reason = t.reason.as_str(),
            mode = t.mode.as_str(),
            "escalation committed to the outbox"
        );
    }
    Ok(recorded)
}

/// The help-center search box.
#[utoipa::path(
    get, path = "/v1/search", tag = "help center",
    params(SearchParams),
    responses(
        (status = 200, description = "Articles, best first", body = SearchResponse),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_locale`", body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResponse>, ApiError> {
    let Query(params) = params?;
    let q = params.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::new(ErrorKind::InvalidQuery, "`q` is required"));
    }
    if q.chars().count() > state.inner.max_message_chars {
        return Err(ApiError::new(ErrorKind::InvalidQuery, "`q` is too long"));
    }
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::new(
            ErrorKind::InvalidQuery,
            "`limit` must be between 1 and 50",
        ));
    }
    let locale = parse_locale(params.locale.as_deref())?;
    let engine = state.engine()?;
    let results = state
        .blocking(move || {
            engine
                .search(&q, locale.as_ref(), limit)
                .into_iter()
                .map(|h| {
                    let url = engine
                        .knowledge_base()
                        .get(&h.article)
                        .map(|a| engine.link(a, "").url)
                        .unwrap_or_default();
                    SearchHitOut::new(h, url)
                })
                .collect()
        })
        .await?;
    Ok(Json(SearchResponse { results }))
}

/// An article rendered to safe HTML, with its metadata.
#[utoipa::path(
    get, path = "/v1/articles/{id}", tag = "help center",
    params(("id" = String, Path, description = "Article id; it contains slashes, e.g. `en/returns/how-to-return`")),
    responses(
        (status = 200, description = "The article", body = ArticleResponse),
        (status = 404, description = "`unknown_article`", body = ErrorBody),
    )
)]
pub async fn article(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArticleResponse>, ApiError> {
    let unknown = || ApiError::new(ErrorKind::UnknownArticle, format!("no article `{id}`"));
    let article_id: ArticleId = id.trim_matches('/').parse().map_err(|_| unknown())?;
    let engine = state.engine()?;
    let response = state
        .blocking(move || {
            let kb = engine.knowledge_base();
            let a = kb.get(&article_id)?;
            let translations = kb
                .translations(&a.id)
                .map(|o| TranslationOut {
                    locale: o.locale.to_string(),
                    id: o.id.to_string(),
                })
                .collect();
            Some(ArticleResponse {
                id: a.id.to_string(),
                locale: a.locale.to_string(),
                title: a.title.clone(),
                tags: a.tags.clone(),
                url: engine.link(a, "").url,
                html: render_markdown(&a.body),
                sections: a
                    .sections
                    .iter()
                    .map(|s| SectionOut {
                        heading: s.heading.clone(),
                        anchor: s.anchor.clone(),
                    })
                    .collect(),
                translations,
            })
        })
        .await?
        .ok_or_else(unknown)?;
    Ok(Json(response))
}

/// Markdown to HTML, then sanitized: an editor's (or an attacker's) `<script>`, event handler
/// or `javascript:` link never reaches a shopper's browser.
pub fn render_markdown(markdown: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, parser);
    ammonia::clean(&out)
}

/// Thumbs up or down on a reply, or a satisfaction rating (CSAT) of the conversation.
#[utoipa::path(
    post, path = "/v1/feedback", tag = "chat",
    request_body = FeedbackRequest,
    responses(
        (status = 200, description = "Recorded", body = StatusOk),
        (status = 404, description = "`unknown_conversation`, `unknown_message`", body = ErrorBody),
        (status = 422, description = "`invalid_feedback`, `invalid_body`", body = ErrorBody),
    )
)]
pub async fn post_feedback(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> Result<Json<StatusOk>, ApiError> {
    let conversation = ConversationId::parse(&req.conversation_id)
        .ok_or_else(|| unknown_conversation(&req.conversation_id))?;
    let (feedback, kind, rating) = match (req.message_id, req.helpful, req.rating) {
        (Some(m), Some(helpful), None) => {
            let message = MessageId::parse(&m).ok_or_else(|| {
                ApiError::new(
                    ErrorKind::UnknownMessage,
                    format!("no message `{m}` in this conversation"),
                )
            })?;
            let kind = if helpful { "helpful" } else { "not_helpful" };
            (Feedback::Helpful { message, helpful }, kind, None)
        }
        (None, None, Some(r)) if (1..=5).contains(&r) => {
            (Feedback::Rating(r as u8), "rating", Some(r as u8))
        }
        (None, None, Some(_)) => {
            return Err(ApiError::new(
                ErrorKind::InvalidFeedback,
                "`rating` must be 1 to 5",
            ))
        }
        _ => {
            return Err(ApiError::new(
                ErrorKind::InvalidFeedback,
                "send either `message_id` and `helpful`, or `rating` (1 to 5)",
            ))
        }
    };
    let store = state.inner.store.clone();
    let id = conversation.clone();
    state
        .blocking(move || store.add_feedback(&id, feedback))
        .await?
        .map_err(store_error)?;
    state.inner.metrics.feedback(kind, rating);
    tracing::info!(conversation_id = %conversation, kind, rating, "feedback");
    Ok(Json(StatusOk {
        status: "ok".into(),
    }))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = StatusOk)))]
pub async fn healthz() -> Json<StatusOk> {
    Json(StatusOk {
        status: "ok".into(),
    })
}

fn ready_response(state: &AppState) -> (StatusCode, Json<ReadyResponse>) {
    let status = state.inner.live.status();
    let engine = state.inner.live.engine();
    let ready = engine.is_some();
    let body = ReadyResponse {
        ready,
        reason: status.not_ready.clone(),
        generation: status.generation,
        articles: engine.as_ref().map_or(0, |e| e.knowledge_base().len()),
        intents: engine.as_ref().map_or(0, |e| e.intents().len()),
        loaded_at_ms: status.loaded_at_ms,
        content_version: status.content_version.clone(),
        problems: status.problems.iter().map(ProblemOut::from).collect(),
        reload_failed: status.reload_failed,
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

/// An index is loaded and answering (503 with `reason` otherwise). Lists the problems of the
/// last edit: with errors, the last good version is still served.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = ReadyResponse),
        (status = 503, description = "Not ready; see `reason`", body = ReadyResponse),
    ))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    ready_response(&state)
}

/// What is served and the problems of the last edit; only from the machine itself.
#[utoipa::path(get, path = "/admin/status", tag = "operations",
    responses(
        (status = 200, description = "Status", body = ReadyResponse),
        (status = 403, description = "`forbidden`: not from loopback", body = ErrorBody),
    ))]
pub async fn admin_status(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
) -> Result<impl IntoResponse, ApiError> {
    loopback_only(&extensions)?;
    Ok(ready_response(&state))
}

/// The admin endpoints answer only requests their lock let through (`http/admin.rs`: the
/// token, or loopback without a proxy).
pub(super) fn loopback_only(extensions: &axum::http::Extensions) -> Result<(), ApiError> {
    if extensions.get::<super::admin::Admitted>().is_none() {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            "the admin endpoints are only served through their lock",
        ));
    }
    Ok(())
}

/// Escalation tickets and their delivery, newest first; only from the machine itself.
#[utoipa::path(get, path = "/admin/tickets", tag = "operations",
    params(TicketsParams),
    responses(
        (status = 200, description = "Tickets", body = TicketsResponse),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not from loopback", body = ErrorBody),
    ))]
pub async fn admin_tickets(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    params: Result<Query<TicketsParams>, QueryRejection>,
) -> Result<Json<TicketsResponse>, ApiError> {
    loopback_only(&extensions)?;
    let Query(params) = params?;
    let filter = match params.state.as_deref() {
        None | Some("") | Some("all") => None,
        Some("pending") => Some(DeliveryState::Pending),
        Some("delivered") => Some(DeliveryState::Delivered),
        Some("dead") => Some(DeliveryState::Dead),
        Some(other) => {
            return Err(ApiError::new(
                ErrorKind::InvalidQuery,
                format!("`state` is `{other}`: use `pending`, `delivered`, `dead` or `all`"),
            ))
        }
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            ErrorKind::InvalidQuery,
            "`limit` must be between 1 and 1000",
        ));
    }
    let store = state.inner.store.clone();
    let tickets = state
        .blocking(move || store.list(filter, limit))
        .await?
        .map_err(ApiError::internal)?;
    Ok(Json(TicketsResponse {
        tickets: tickets.iter().map(TicketOut::from_entry).collect(),
    }))
}

/// Puts a ticket back in line for delivery now (a dead letter, after the helpdesk is fixed);
/// only from the machine itself.
#[utoipa::path(post, path = "/admin/tickets/{id}/retry", tag = "operations",
    params(("id" = String, Path, description = "The ticket id (`esc_…`)")),
    responses(
        (status = 200, description = "`retried` is false when the ticket was already delivered", body = RetryResponse),
        (status = 403, description = "`forbidden`: not from loopback", body = ErrorBody),
        (status = 404, description = "`unknown_ticket`", body = ErrorBody),
    ))]
pub async fn admin_retry_ticket(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    Path(id): Path<String>,
) -> Result<Json<RetryResponse>, ApiError> {
    loopback_only(&extensions)?;
    let unknown = || ApiError::new(ErrorKind::UnknownTicket, format!("no ticket `{id}`"));
    let ticket = EscalationId::parse(&id).ok_or_else(unknown)?;
    let store = state.inner.store.clone();
    let retried = state
        .blocking(move || store.retry(&ticket, store::now_ms()))
        .await?
        .map_err(|e| match e {
            OutboxError::UnknownTicket(_) => unknown(),
            e => ApiError::internal(e),
        })?;
    if retried {
        state.inner.outbox_ready.notify_one();
    }
    Ok(Json(RetryResponse { retried }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let status = state.inner.live.status();
    let ready = state.inner.live.engine().is_some();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.inner.metrics.render(ready, status.generation),
    )
        .into_response()
}

/// `GET /openapi.json`.
pub async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.inner.openapi.clone(),
    )
        .into_response()
}

/// `GET /widget.js`: the chat widget.
pub async fn widget_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// `GET /`: a demo shop page with the widget.
pub async fn demo_page(State(state): State<AppState>) -> Response {
    let name = html_escape(&state.inner.shop_name);
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DEMO_HTML.replace("{{shop_name}}", &name),
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub async fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "no such endpoint; see /openapi.json")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "this method is not allowed here; see /openapi.json",
    )
}
