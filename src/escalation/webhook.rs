//! What the shop configures under `escalation.webhook`: where tickets go, the secret they are
//! signed with, the helpdesk format, extra headers, and the retry schedule.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::sign::WebhookSecret;

/// `escalation.webhook` in the configuration. `Debug` and `Serialize` hide the secret and the
/// header values (`whsec_***`, `***`): a serialized copy is for showing, not for reading back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Where tickets are POSTed (`http` or `https`). Empty: tickets are kept in the outbox but
    /// not sent (the worker says so once at start); `concierge tickets list` shows them.
    pub url: String,
    /// `whsec_<base64>` of 24 to 64 random bytes; every delivery is signed with it. Required
    /// when `url` is set. An empty string is the same as none.
    #[serde(deserialize_with = "secret_or_empty")]
    pub secret: Option<WebhookSecret>,
    /// The body's shape: `generic` (the ticket as documented in `docs/webhook.md`), or what
    /// `zendesk`, `freshdesk` or `chatwoot` accept on their ticket/conversation endpoint.
    pub format: Format,
    /// Extra request headers, e.g. `Authorization: Basic …` for Zendesk or Freshdesk, or
    /// `api_access_token` for Chatwoot. The signature and content headers cannot be replaced.
    pub headers: ExtraHeaders,
    /// Total time for one attempt (connect, send, answer), in milliseconds.
    pub timeout_ms: u64,
    /// Attempts before a ticket is dead (`concierge tickets retry` brings it back).
    pub max_attempts: u32,
    /// Backoff after the first failure, in milliseconds; doubled after each one.
    pub backoff_base_ms: u64,
    /// The longest wait between two attempts, also for a `Retry-After`, in milliseconds.
    pub backoff_max_ms: u64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Required with `format: chatwoot`: where the conversations are created.
    pub chatwoot: Option<ChatwootSettings>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            url: String::new(),
            secret: None,
            format: Format::Generic,
            headers: ExtraHeaders::default(),
            timeout_ms: 10_000,
            max_attempts: 12,
            backoff_base_ms: 1_000,
            backoff_max_ms: 15 * 60 * 1_000,
            concurrency: 4,
            chatwoot: None,
        }
    }
}

/// The shape of the body sent to the helpdesk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The ticket as it is, generic payload version 1.
    #[default]
    Generic,
    /// `POST /api/v2/tickets.json`.
    Zendesk,
    /// `POST /api/v2/tickets`.
    Freshdesk,
    /// `POST /api/v1/accounts/{account_id}/conversations`.
    Chatwoot,
}

/// Chatwoot creates a conversation for a contact that already exists in an inbox; one request
/// cannot create the shopper as a contact, so every ticket is filed under one contact the shop
/// sets up (e.g. "Concierge escalations"), with the shopper's details in the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatwootSettings {
    /// The inbox the conversations are created in (an API-channel inbox is recommended).
    pub inbox_id: u64,
    /// The contact the conversations are filed under.
    pub contact_id: u64,
    /// The contact's `source_id` in that inbox, if the Chatwoot version asks for one.
    #[serde(default)]
    pub source_id: Option<String>,
}

/// Header names the worker sets itself.
const RESERVED: [&str; 6] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
];

/// Validated extra headers; `Debug` hides their values (they are usually credentials).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExtraHeaders(Vec<(HeaderName, HeaderValue)>);

impl ExtraHeaders {
    /// Checks names and values; refuses the headers the worker sets itself.
    pub fn new(map: BTreeMap<String, String>) -> Result<ExtraHeaders, SettingsError> {
        let mut headers = Vec::with_capacity(map.len());
        for (name, value) in map {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SettingsError::HeaderName(name.clone()))?;
            if RESERVED.contains(&header.as_str()) {
                return Err(SettingsError::ReservedHeader(name));
            }
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| SettingsError::HeaderValue(name))?;
            value.set_sensitive(true);
            headers.push((header, value));
        }
        Ok(ExtraHeaders(headers))
    }

    /// Adds them to a request's headers.
    pub fn apply(&self, to: &mut HeaderMap) {
        for (name, value) in &self.0 {
            to.insert(name.clone(), value.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ExtraHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name.as_str(), "***")))
            .finish()
    }
}

impl Serialize for ExtraHeaders {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, _)| (name.as_str(), "***")))
    }
}

fn secret_or_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<WebhookSecret>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => WebhookSecret::parse(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl<'de> Deserialize<'de> for ExtraHeaders {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        ExtraHeaders::new(map).map_err(serde::de::Error::custom)
    }
}

/// A webhook configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("escalation.webhook.headers: `{0}` is not a valid header name")]
    HeaderName(String),
    #[error("escalation.webhook.headers: the value of `{0}` is not a valid header value (printable ASCII, no line breaks)")]
    HeaderValue(String),
    #[error(
        "escalation.webhook.headers: `{0}` is set by Concierge itself and cannot be configured"
    )]
    ReservedHeader(String),
    #[error("escalation.webhook.url: `{0}` is not an http(s) URL")]
    Url(String),
    #[error("escalation.webhook.secret is required when escalation.webhook.url is set (`whsec_` + base64 of 24 to 64 random bytes, e.g. `whsec_$(openssl rand -base64 32)`)")]
    MissingSecret,
    #[error(
        "escalation.webhook.chatwoot (inbox_id, contact_id) is required with format `chatwoot`"
    )]
    MissingChatwoot,
    #[error("escalation.webhook.{0} must be greater than 0")]
    Zero(&'static str),
    #[error("escalation.webhook.backoff_max_ms must be at least backoff_base_ms")]
    BackoffRange,
}

impl WebhookSettings {
    /// Checks what serde cannot: the URL, the secret when there is a URL, the Chatwoot ids, and
    /// the numbers.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (name, value) in [
            ("timeout_ms", self.timeout_ms),
            ("max_attempts", u64::from(self.max_attempts)),
            ("backoff_base_ms", self.backoff_base_ms),
            ("concurrency", self.concurrency as u64),
        ] {
            if value == 0 {
                return Err(SettingsError::Zero(name));
            }
        }
        if self.backoff_max_ms < self.backoff_base_ms {
            return Err(SettingsError::BackoffRange);
        }
        if self.format == Format::Chatwoot && self.chatwoot.is_none() {
            return Err(SettingsError::MissingChatwoot);
        }
        if self.url.is_empty() {
            return Ok(());
        }
        match reqwest::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            _ => return Err(SettingsError::Url(self.url.clone())),
        }
        if self.secret.is_none() {
            return Err(SettingsError::MissingSecret);
        }
        Ok(())
    }

    /// Whether tickets are sent at all.
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<WebhookSettings, String> {
        serde_yaml::from_str::<WebhookSettings>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_send_nothing_and_validate() {
        assert_eq!(parse("secret: ''\n").unwrap(), WebhookSettings::default());
        let s = parse("{}").unwrap();
        assert!(!s.enabled());
        assert_eq!(s.format, Format::Generic);
        assert_eq!(
            (
                s.timeout_ms,
                s.max_attempts,
                s.backoff_base_ms,
                s.backoff_max_ms,
                s.concurrency
            ),
            (10_000, 12, 1_000, 900_000, 4)
        );
        s.validate().unwrap();
    }

    #[test]
    fn a_full_configuration_parses_and_hides_its_secrets() {
        let s = parse(
            "url: https://shop.zendesk.com/api/v2/tickets.json\n\
             secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\
             format: zendesk\n\
             headers: {Authorization: Basic c2VjcmV0}\n\
             timeout_ms: 5000\n",
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.format, Format::Zendesk);
        for shown in [format!("{s:?}"), serde_yaml::to_string(&s).unwrap()] {
            assert!(!shown.contains("c2VjcmV0"), "{shown}");
            assert!(!shown.contains("MfKQ9r8"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        let mut headers = HeaderMap::new();
        s.headers.apply(&mut headers);
        assert_eq!(headers["authorization"], "Basic c2VjcmV0");
    }

    #[test]
    fn mistakes_are_named() {
        let err = parse("secret: MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap_err();
        assert!(err.contains("whsec_"), "{err}");
        let err = parse("fromat: zendesk\n").unwrap_err();
        assert!(err.contains("fromat"), "{err}");
        let err = parse("format: jira\n").unwrap_err();
        assert!(err.contains("jira"), "{err}");
        let err = parse("headers: {webhook-signature: x}\n").unwrap_err();
        assert!(err.contains("set by Concierge"), "{err}");
        let err = parse("headers: {\"bad name\": x}\n").unwrap_err();
        assert!(err.contains("bad name"), "{err}");
        let err = parse("headers: {X-Token: \"a\\nb\"}\n").unwrap_err();
        assert!(err.contains("X-Token"), "{err}");

        let no_secret = parse("url: https://example.com/hook\n").unwrap();
        assert_eq!(no_secret.validate(), Err(SettingsError::MissingSecret));
        let ftp = parse("url: ftp://example.com/hook\n").unwrap();
        assert!(matches!(ftp.validate(), Err(SettingsError::Url(_))));
        let chatwoot = parse("format: chatwoot\n").unwrap();
        assert_eq!(chatwoot.validate(), Err(SettingsError::MissingChatwoot));
        let zero = parse("concurrency: 0\n").unwrap();
        assert_eq!(zero.validate(), Err(SettingsError::Zero("concurrency")));
    }
}
