//! The dashboard at `/admin/`: a static page (HTML, its script and style, Chart.js vendored by
//! `scripts/vendor-chartjs`) that holds no data, and the JSON it reads, `/admin/api/report`
//! (the KPIs, as `concierge report --json`) and `/admin/api/gaps` (the content-gap report, as
//! `concierge gaps --json`), behind the admin lock (`admin.rs`). The handlers parse the query,
//! call the library on a blocking thread and serialize what it returns.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderName};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};

use super::error::{ApiError, ErrorKind};
use super::wire::{ErrorBody, GapsParams, ReportParams};
use super::AppState;
use crate::gaps;
use crate::store::{GroupBy, ReportQuery};
use crate::window::{Window, WindowError};

const PAGE_HTML: &str = include_str!("assets/dashboard.html");
const PAGE_JS: &str = include_str!("assets/dashboard.js");
const PAGE_CSS: &str = include_str!("assets/dashboard.css");
const FAVICON: &str = include_str!("assets/favicon.svg");
/// Chart.js's UMD build as `scripts/vendor-chartjs` extracted it (its sha256 is checked
/// against the script's in the tests below).
const CHART_JS: &str = include_str!("assets/vendor/chart.umd.min.js");
const CHART_JS_LICENSE: &str = include_str!("assets/vendor/chart.js-LICENSE.md");

/// The page loads only its own files, runs no inline script or style, and is never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// Group sizes a gaps request may ask for.
const MAX_GAP_GROUPS: usize = 200;

/// The dashboard's routes: the page under [`super::admin::shell`], the API under
/// [`super::admin::require`].
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    let page = Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(page))
        .route("/admin/dashboard.js", get(script))
        .route("/admin/dashboard.css", get(style))
        .route("/admin/favicon.svg", get(favicon))
        .route("/admin/chart.umd.min.js", get(chart_js))
        .route("/admin/chart.js-LICENSE.md", get(chart_js_license))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            super::admin::shell,
        ));
    let api = Router::new()
        .route("/admin/api/report", get(report))
        .route("/admin/api/gaps", get(gap_report))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            super::admin::require,
        ));
    page.merge(api)
}

const NOSNIFF: (HeaderName, &str) = (header::X_CONTENT_TYPE_OPTIONS, "nosniff");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            NOSNIFF,
        ],
        body,
    )
        .into_response()
}

/// `GET /admin/`: the page.
async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::REFERRER_POLICY, "no-referrer"),
            NOSNIFF,
        ],
        PAGE_HTML,
    )
        .into_response()
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", PAGE_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", PAGE_CSS)
}

async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON)
}

async fn chart_js() -> Response {
    asset("text/javascript; charset=utf-8", CHART_JS)
}

async fn chart_js_license() -> Response {
    asset("text/markdown; charset=utf-8", CHART_JS_LICENSE)
}

fn window(state: &AppState, since: Option<&str>, until: Option<&str>) -> Result<Window, ApiError> {
    let now = state.now().as_millisecond().max(0) as u64;
    Window::parse(since, until, now, ("since", "until"))
        .map_err(|e: WindowError| ApiError::new(ErrorKind::InvalidQuery, e.to_string()))
}

fn group_by(s: Option<&str>) -> Result<GroupBy, ApiError> {
    match s.map(str::trim).unwrap_or("") {
        "" | "day" => Ok(GroupBy::Day),
        "week" => Ok(GroupBy::Week),
        "language" => Ok(GroupBy::Language),
        "channel" => Ok(GroupBy::Channel),
        other => Err(ApiError::new(
            ErrorKind::InvalidQuery,
            format!(
                "`by` is `{}`: use `day`, `week`, `language` or `channel`",
                other.chars().take(32).collect::<String>()
            ),
        )),
    }
}

/// The API's answers are not cached anywhere: they are the shop's figures.
fn no_store<T: IntoResponse>(body: T) -> Response {
    ([(header::CACHE_CONTROL, "no-store"), NOSNIFF], body).into_response()
}

/// The KPIs of the conversations that started in a window, per day, week, language or
/// channel: the same JSON as `concierge report --json` (definitions in docs/kpis.md).
#[utoipa::path(get, path = "/admin/api/report", tag = "operations",
    params(ReportParams),
    responses(
        (status = 200, description = "The report: `since_ms`, `until_ms`, `by`, `rows` (one per group, in key order) and `total`, each a row of KPIs as `concierge report --json` prints them", content_type = "application/json"),
        (status = 400, description = "`invalid_query`: a bad date, an empty window or an unknown `by`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: `admin.token` is set and the request does not carry it", body = ErrorBody),
        (status = 403, description = "`forbidden`: no token is set and the request is not from loopback", body = ErrorBody),
    ))]
pub async fn report(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    super::routes::loopback_only(&extensions)?;
    let Query(p) = params?;
    let w = window(&state, p.since.as_deref(), p.until.as_deref())?;
    let by = group_by(p.by.as_deref())?;
    let store = state.inner.store.clone();
    let report = state
        .blocking(move || {
            store.report(&ReportQuery {
                since_ms: w.since_ms,
                until_ms: w.until_ms,
                by,
            })
        })
        .await?
        .map_err(ApiError::internal)?;
    Ok(no_store(Json(report)))
}

/// The questions nobody answered in a window, grouped by meaning and ranked by shoppers:
/// the same JSON as `concierge gaps --json`.
#[utoipa::path(get, path = "/admin/api/gaps", tag = "operations",
    params(GapsParams),
    responses(
        (status = 200, description = "The content-gap report: `since_ms`, `until_ms`, `messages` (unanswered in the window) and `groups` (language, shoppers, messages, questions, by_week, by_reason, nearest article, kind: `missing_article` or `missing_phrasing`)", content_type = "application/json"),
        (status = 400, description = "`invalid_query`: a bad date, an empty window or a bad `limit`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: `admin.token` is set and the request does not carry it", body = ErrorBody),
        (status = 403, description = "`forbidden`: no token is set and the request is not from loopback", body = ErrorBody),
        (status = 503, description = "`not_ready`: the knowledge base is still loading", body = ErrorBody),
    ))]
pub async fn gap_report(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    params: Result<Query<GapsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    super::routes::loopback_only(&extensions)?;
    let Query(p) = params?;
    let w = window(&state, p.since.as_deref(), p.until.as_deref())?;
    let limit = p.limit.unwrap_or(20);
    if !(1..=MAX_GAP_GROUPS).contains(&limit) {
        return Err(ApiError::new(
            ErrorKind::InvalidQuery,
            format!("`limit` must be between 1 and {MAX_GAP_GROUPS}"),
        ));
    }
    let engine = state.engine()?;
    let store = state.inner.store.clone();
    let shown = gaps::Shown {
        limit,
        min_shoppers: 1,
    };
    let report = state
        .blocking(move || gaps::report(&engine, store.as_ref(), w, shown))
        .await?
        .map_err(ApiError::internal)?;
    Ok(no_store(Json(report)))
}

#[cfg(test)]
mod tests;
