//! `GET /v1/notices`: the editors' notices active now in a language, for the widget's banner.
//! The wire shapes live here beside their one handler, like the rest of `http/` they never
//! leave it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::routes::parse_locale;
use super::wire::ErrorBody;
use super::AppState;

/// `GET /v1/notices` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticesParams {
    /// The shopper's language (default: the shop's default language).
    pub locale: Option<String>,
}

/// The notices active now, in file order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticesResponse {
    pub notices: Vec<NoticeOut>,
}

/// One active notice.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeOut {
    /// The notice's file under the notices folder, without `.md`.
    pub id: String,
    /// What the shopper reads, in plain text.
    pub text: String,
    /// When it stops being shown, RFC 3339 in UTC.
    pub until: String,
}

/// The notices to show as a banner: active now, in the shopper's language.
#[utoipa::path(
    get, path = "/v1/notices", tag = "chat",
    params(NoticesParams),
    responses(
        (status = 200, description = "The active notices", body = NoticesResponse),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_locale`", body = ErrorBody),
        (status = 503, description = "`not_ready`", body = ErrorBody),
    )
)]
pub async fn get_notices(
    State(state): State<AppState>,
    params: Result<Query<NoticesParams>, QueryRejection>,
) -> Result<Json<NoticesResponse>, ApiError> {
    let Query(params) = params?;
    let locale = parse_locale(params.locale.as_deref())?;
    let engine = state.engine()?;
    let language = match &locale {
        Some(l) => l.language().to_string(),
        None => engine.settings().shop.default_locale.language().to_string(),
    };
    let now = state.now();
    // Filtering a handful of notices in memory: no blocking work, no permit needed.
    let notices = engine
        .notices()
        .active(now, &language)
        .map(|n| NoticeOut {
            id: n.id.clone(),
            text: n.text.clone(),
            until: n.until.to_string(),
        })
        .collect();
    Ok(Json(NoticesResponse { notices }))
}

#[cfg(test)]
mod tests;
