//! Errors as the API shows them: one table from [`ErrorKind`] to status and snake_case code;
//! every body is `{"error": {"code", "message"}}`. Internal errors are logged once and shown
//! as "internal error".

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::wire::{ErrorBody, ErrorDetail};

/// Every error the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    MalformedJson,
    InvalidBody,
    UnsupportedMediaType,
    BodyTooLarge,
    EmptyText,
    TextTooLong,
    InvalidLocale,
    InvalidQuery,
    InvalidFeedback,
    InvalidClientMessageId,
    UnknownConversation,
    UnknownMessage,
    UnknownArticle,
    UnknownTicket,
    NotHandedOver,
    NotFound,
    MethodNotAllowed,
    Unauthorized,
    Forbidden,
    RateLimited,
    Timeout,
    NotReady,
    Internal,
}

impl ErrorKind {
    /// The table: status and code of each kind.
    pub fn describe(self) -> (StatusCode, &'static str) {
        use ErrorKind::*;
        match self {
            MalformedJson => (StatusCode::BAD_REQUEST, "malformed_json"),
            InvalidBody => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            EmptyText => (StatusCode::UNPROCESSABLE_ENTITY, "empty_text"),
            TextTooLong => (StatusCode::UNPROCESSABLE_ENTITY, "text_too_long"),
            InvalidLocale => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_locale"),
            InvalidQuery => (StatusCode::BAD_REQUEST, "invalid_query"),
            InvalidFeedback => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_feedback"),
            InvalidClientMessageId => (StatusCode::BAD_REQUEST, "invalid_client_message_id"),
            UnknownConversation => (StatusCode::NOT_FOUND, "unknown_conversation"),
            UnknownMessage => (StatusCode::NOT_FOUND, "unknown_message"),
            UnknownArticle => (StatusCode::NOT_FOUND, "unknown_article"),
            UnknownTicket => (StatusCode::NOT_FOUND, "unknown_ticket"),
            NotHandedOver => (StatusCode::CONFLICT, "not_handed_over"),
            NotFound => (StatusCode::NOT_FOUND, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds, for `Retry-After` (rate limiting).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Our fault: logged here, once, and shown without details.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        ApiError::new(ErrorKind::Internal, "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.kind.describe();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: self.message,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let kind = match &r {
            JsonRejection::JsonDataError(_) => ErrorKind::InvalidBody,
            JsonRejection::JsonSyntaxError(_) => ErrorKind::MalformedJson,
            JsonRejection::MissingJsonContentType(_) => ErrorKind::UnsupportedMediaType,
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::BodyTooLarge,
            _ => ErrorKind::InvalidBody,
        };
        let message = match kind {
            ErrorKind::UnsupportedMediaType => {
                "send the body as JSON with `Content-Type: application/json`".to_string()
            }
            ErrorKind::BodyTooLarge => "the request body is too large".to_string(),
            _ => r.body_text(),
        };
        ApiError::new(kind, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(ErrorKind::InvalidQuery, r.body_text())
    }
}
