//! Who may use the `/admin/*` endpoints: the lock in front of them, as one middleware layer.
//!
//! With a token (`admin.token` or `CONCIERGE_ADMIN_TOKEN`), every admin request must carry it
//! as `Authorization: Bearer …`, wherever it comes from; the comparison takes the same time
//! whatever the guess. Without a token, only the machine itself is served, and only directly:
//! behind a reverse proxy on the same host every request arrives from loopback, so a request
//! carrying `Forwarded`, `X-Forwarded-For` or `X-Real-IP` is refused rather than trusted.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState, ErrorKind};
use crate::config::AdminToken;

/// Put in a request's extensions once the lock has let it through; the admin handlers refuse
/// a request without it (a route added without the layer stays closed).
#[derive(Debug, Clone, Copy)]
pub struct Admitted;

/// Headers a reverse proxy adds: their presence means the loopback peer is not the client.
const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// The middleware on the admin routes.
pub async fn require(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let verdict = match &state.inner.admin_token {
        Some(token) => check_token(token, req.headers()),
        None => check_local(&req),
    };
    match verdict {
        Ok(()) => {
            req.extensions_mut().insert(Admitted);
            next.run(req).await
        }
        Err(e) => {
            let unauthorized = e.kind == ErrorKind::Unauthorized;
            let mut response = e.into_response();
            if unauthorized {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            response
        }
    }
}

/// The middleware on the dashboard's page and its scripts (`dashboard.rs`), which hold no
/// data: without a token they are locked like every admin route (loopback, no proxy); with
/// one they are served to anyone, since a browser cannot send a bearer header when it opens
/// a page: the page asks for the token and sends it with each call to `/admin/api/*`.
pub async fn shell(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.inner.admin_token.is_some() {
        return next.run(req).await;
    }
    match check_local(&req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn check_token(token: &AdminToken, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(given) = given else {
        return Err(ApiError::new(
            ErrorKind::Unauthorized,
            "the admin endpoints need `Authorization: Bearer <admin.token>`",
        ));
    };
    if same_secret(given, token.expose()) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::Unauthorized,
            "the admin token does not match",
        ))
    }
}

/// Compares digests in constant time: neither the position of the first wrong character nor
/// the token's length shows in how long the comparison takes.
fn same_secret(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

fn check_local(req: &Request) -> Result<(), ApiError> {
    // Without connection info (tests through `oneshot`) there is no remote peer.
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        if !addr.ip().is_loopback() {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                "the admin endpoints are only served to the machine itself; set admin.token to use them from elsewhere",
            ));
        }
    }
    if let Some(h) = FORWARDING_HEADERS
        .iter()
        .find(|h| req.headers().contains_key(**h))
    {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            format!("an admin request that came through a proxy (`{h}`) needs admin.token"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content_not_length() {
        assert!(same_secret("0123456789abcdef", "0123456789abcdef"));
        assert!(!same_secret("0123456789abcdeX", "0123456789abcdef"));
        assert!(!same_secret("0123456789abcdef0", "0123456789abcdef"));
        assert!(!same_secret("", "0123456789abcdef"));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_token_is_taken_from_a_bearer_header_only() {
        let token = AdminToken::new("s3cret-s3cret-s3cret").unwrap();
        let ok = headers(&[("authorization", "Bearer s3cret-s3cret-s3cret")]);
        assert!(check_token(&token, &ok).is_ok());
        for bad in [
            headers(&[]),
            headers(&[("authorization", "Bearer nope")]),
            headers(&[("authorization", "Basic s3cret-s3cret-s3cret")]),
            headers(&[("x-admin-token", "s3cret-s3cret-s3cret")]),
        ] {
            let e = check_token(&token, &bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Unauthorized);
        }
    }
}
