//! `POST /chatwoot/webhook`: Chatwoot's agent-bot events. The route authenticates, answers
//! 200 at once and leaves the work to a task; what an event means is decided in
//! `crate::chatwoot`, the answer by the conversation core (`routes::turn`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::OpenApi;

use super::error::{ApiError, ErrorKind};
use super::wire::{ErrorBody, StatusOk};
use super::AppState;
use crate::chatwoot::{self, ChatwootSettings, Client, Decision, Token};
use crate::conversation::Start;
use crate::handover::agent::{self, AgentAction};
use crate::store::{self, Conversation};

/// The Chatwoot part of the OpenAPI document (merged into `/openapi.json`).
#[derive(OpenApi)]
#[openapi(paths(webhook))]
pub struct ChatwootDoc;

/// The client and the webhook's token, when `chatwoot:` is configured.
pub(super) fn setup(settings: &ChatwootSettings) -> Option<(Client, Token)> {
    if !settings.enabled() {
        return None;
    }
    let Some(token) = settings
        .webhook_token
        .clone()
        .filter(|_| settings.bot_token.is_some())
    else {
        tracing::warn!("chatwoot.url is set but chatwoot.bot_token or chatwoot.webhook_token is not (nor CONCIERGE_CHATWOOT_BOT_TOKEN / CONCIERGE_CHATWOOT_WEBHOOK_TOKEN): the Chatwoot agent bot is off");
        return None;
    };
    match Client::new(settings) {
        Ok(Some(client)) => Some((client, token)),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "the Chatwoot agent bot is off");
            None
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct WebhookParams {
    /// `chatwoot.webhook_token`, as in the URL configured for the agent bot in Chatwoot.
    token: Option<String>,
}

/// Chatwoot's agent-bot webhook: `message_created` from a contact in a conversation the bot
/// has (`pending`) is answered in the same conversation; an escalation opens it to the agents
/// with a private note; `conversation_status_changed` to `resolved`/`pending` (or
/// `conversation_resolved`) gives it back to the bot. Answered 200 at once; the replies go
/// through Chatwoot's API afterwards. A missing or wrong `token` is 401 and nothing happens.
#[utoipa::path(
    post, path = "/chatwoot/webhook", tag = "chatwoot",
    params(WebhookParams),
    request_body(content = serde_json::Value, description = "A Chatwoot agent-bot event (`Message#webhook_data` with `event`)"),
    responses(
        (status = 200, description = "Accepted (or ignored: not for the bot)", body = StatusOk),
        (status = 401, description = "`unauthorized`: a missing or wrong `token`", body = ErrorBody),
        (status = 404, description = "`not_found`: the Chatwoot agent bot is not configured", body = ErrorBody),
        (status = 422, description = "`invalid_body`: not a Chatwoot event", body = ErrorBody),
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    Query(params): Query<WebhookParams>,
    body: Bytes,
) -> Result<Json<StatusOk>, ApiError> {
    let Some((client, token)) = state.inner.chatwoot.clone() else {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "the Chatwoot agent bot is not configured (`chatwoot:` in the configuration)",
        ));
    };
    if !params.token.as_deref().is_some_and(|t| token.matches(t)) {
        tracing::warn!("chatwoot webhook refused: missing or wrong token");
        return Err(ApiError::new(
            ErrorKind::Unauthorized,
            "a missing or wrong `token` query parameter",
        ));
    }
    let event: chatwoot::Event = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorKind::InvalidBody,
            format!("the body is not a Chatwoot event: {e}"),
        )
    })?;
    let decision = chatwoot::decide(&event, client.account());
    if let Decision::Ignore(why) = &decision {
        tracing::debug!(event = %event.event, why, "chatwoot event ignored");
    } else {
        tokio::spawn(handle(state, client, decision));
    }
    Ok(Json(StatusOk {
        status: "ok".into(),
    }))
}

/// Does what the event asked, off the request path; problems are logged (Chatwoot does not
/// retry agent-bot webhooks, and the contact's message stays in Chatwoot for the agents).
async fn handle(state: AppState, client: Client, decision: Decision) {
    let account = client.account();
    match decision {
        Decision::Answer {
            conversation,
            customer,
            text,
        } => {
            let id = chatwoot::conversation_id(account, conversation);
            let received = std::time::Instant::now();
            let recorded = {
                let _turn = state.conversation_turn(&id).await;
                let store = state.inner.store.clone();
                let lookup = id.clone();
                let known = match state
                    .blocking(move || store.conversation(&lookup))
                    .await
                    .and_then(|r| r.map_err(ApiError::internal))
                {
                    Ok(known) => known.is_some(),
                    Err(e) => {
                        tracing::error!(conversation_id = %id, error = %e.message, "chatwoot message not answered");
                        return;
                    }
                };
                if known {
                    // Chatwoot's status is the truth: `pending` is the bot's, even when the
                    // agents gave it back without a `conversation_resolved` event.
                    take_back(&state, &id).await;
                }
                let start = if known {
                    Start::Existing(id.clone())
                } else {
                    Start::New(Conversation::new(
                        id.clone(),
                        "chatwoot",
                        customer,
                        store::now_ms(),
                    ))
                };
                super::routes::turn(&state, start, text, None, None, received).await
            };
            let recorded = match recorded {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(conversation_id = %id, error = %e.message, "chatwoot message not answered");
                    return;
                }
            };
            let turned = &recorded.turned;
            tracing::info!(
                conversation_id = %id,
                chatwoot_conversation = conversation,
                outcome = ?turned.outcome,
                escalated = turned.ticket.is_some(),
                "chatwoot message"
            );
            let mirror =
                chatwoot::mirror(&turned.reply.text, &turned.handoff, turned.ticket.as_ref());
            if let Some(reply) = &mirror.reply {
                if let Err(e) = client.post_message(conversation, reply, false).await {
                    tracing::error!(conversation_id = %id, error = %e, "chatwoot reply not sent");
                }
            }
            if let Some(note) = &mirror.hand_over_note {
                if let Err(e) = client.toggle_status(conversation, "open").await {
                    tracing::error!(conversation_id = %id, error = %e, "chatwoot conversation not opened");
                }
                if let Err(e) = client.post_message(conversation, note, true).await {
                    tracing::error!(conversation_id = %id, error = %e, "chatwoot note not sent");
                }
            }
        }
        Decision::TakeBack { conversation } => {
            let id = chatwoot::conversation_id(account, conversation);
            let _turn = state.conversation_turn(&id).await;
            take_back(&state, &id).await;
        }
        Decision::Ignore(_) => {}
    }
}

/// Ends Concierge's hand-over of `id`, if there is one: the bot answers again. The caller
/// holds the conversation's turn.
async fn take_back(state: &AppState, id: &crate::store::ConversationId) {
    let store = state.inner.store.clone();
    let now = state.now();
    let target = id.clone();
    let result = state
        .blocking(move || {
            agent::apply(
                store.as_ref(),
                &target,
                AgentAction::Resolved { agent: None },
                now,
            )
        })
        .await;
    match result {
        Ok(Ok(_)) => {
            tracing::info!(conversation_id = %id, "chatwoot conversation handed back to the bot")
        }
        // Never handed over, or unknown to Concierge: nothing to give back.
        Ok(Err(e)) => tracing::debug!(conversation_id = %id, error = %e, "nothing to hand back"),
        Err(e) => {
            tracing::error!(conversation_id = %id, error = %e.message, "chatwoot hand-back failed")
        }
    }
}
