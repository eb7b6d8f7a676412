//! A flow's action as data: the HTTP request it makes (built from slots and environment
//! variables, no I/O) and what its response means (parsed from status and body, no I/O).
//! `exec.rs` sends the request; everything here is pure and tested without a network.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::template::{percent_encode, Escape, Template, Values};

/// The longest an action may wait for its answer, whatever the flow file says: the shopper
/// is waiting for the reply.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(15);

/// The largest response body read; a bigger one is an error, not a memory problem.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The HTTP methods an action may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// A generic HTTP call.
#[derive(Debug, Clone)]
pub struct HttpAction {
    pub method: Method,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    /// JSON body; its strings are templates.
    pub body: Option<serde_json::Value>,
    pub timeout: Duration,
    /// Field name → dotted path in the response JSON (`fulfillments.0.tracking_url`).
    pub pick: BTreeMap<String, String>,
    /// A path that, missing, null or empty in a 2xx answer, means "not found".
    pub found_if: Option<String>,
    /// The answer counts as found only if this picked field equals this slot (case and
    /// spaces aside): an order number alone must not show someone else's order.
    pub verify: Option<Verify>,
}

/// The check that the record belongs to the shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    pub field: String,
    pub slot: String,
}

/// The built-in look-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresetKind {
    /// Shopify Admin REST API: `GET /admin/api/<version>/orders.json?name=…&status=any`.
    ShopifyOrderStatus,
    /// WooCommerce REST API v3: `GET /wp-json/wc/v3/orders/<id>`.
    WoocommerceOrderStatus,
}

impl PresetKind {
    pub const ALL: [PresetKind; 2] = [
        PresetKind::ShopifyOrderStatus,
        PresetKind::WoocommerceOrderStatus,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PresetKind::ShopifyOrderStatus => "shopify_order_status",
            PresetKind::WoocommerceOrderStatus => "woocommerce_order_status",
        }
    }

    /// The fields its answer may hold, for checking templates.
    pub fn fields(self) -> &'static [&'static str] {
        &[
            "status",
            "order_name",
            "financial_status",
            "fulfillment_status",
            "tracking_number",
            "tracking_url",
            "carrier",
            "total",
            "currency",
        ]
    }
}

/// A preset with its settings.
#[derive(Debug, Clone)]
pub struct Preset {
    pub kind: PresetKind,
    /// The shop's base URL, e.g. `{env.SHOPIFY_SHOP_URL}` (default per preset).
    pub base_url: Template,
    /// The slot holding the order number.
    pub order_slot: String,
    /// The slot holding the shopper's e-mail, checked against the order's.
    pub email_slot: Option<String>,
    /// Shopify's API version (`2025-01`).
    pub api_version: String,
    pub timeout: Duration,
}

/// What a flow does once its slots are filled.
#[derive(Debug, Clone)]
pub enum Action {
    Http(HttpAction),
    Preset(Preset),
}

/// A request ready to send. Its `Debug` hides header values and the query: they may hold
/// secrets or a shopper's data.
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub basic_auth: Option<(String, String)>,
    pub body: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &url_for_humans(&self.url))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The URL without query, fragment or credentials, for logs.
pub fn url_for_humans(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "<invalid URL>".to_string(),
    }
}

/// Scheme, host and port only, for logs and errors shown to operators.
pub fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => "<invalid URL>".to_string(),
    }
}

/// What an action found. Serializable so that a conversation test can give one per step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ActionResult {
    /// The record, as the fields picked from it.
    Found {
        #[serde(default)]
        fields: BTreeMap<String, String>,
    },
    NotFound,
    Timeout,
    /// A 5xx, a refused connection, a bad answer: `status` when the server sent one.
    Failed {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        reason: String,
    },
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("the environment variable `{0}` is not set")]
    Env(String),
    #[error("`{{{0}}}` has no value")]
    Missing(String),
    #[error("`{0}` is not an http(s) URL")]
    Url(String),
}

fn render(
    t: &Template,
    slots: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    escape: Escape,
) -> Result<String, BuildError> {
    t.render(
        &Values {
            values: slots,
            env: Some(env),
        },
        escape,
    )
    .map_err(|m| match m.0.strip_prefix("env.") {
        Some(var) => BuildError::Env(var.to_string()),
        None => BuildError::Missing(m.0),
    })
}

fn check_url(url: String) -> Result<String, BuildError> {
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url),
        _ => Err(BuildError::Url(url_for_humans(&url))),
    }
}

fn render_json(
    v: &serde_json::Value,
    slots: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<serde_json::Value, BuildError> {
    Ok(match v {
        serde_json::Value::String(s) => {
            serde_json::Value::String(render(&Template::parse(s), slots, env, Escape::None)?)
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| render_json(i, slots, env))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, slots, env)?)))
                .collect::<Result<_, BuildError>>()?,
        ),
        other => other.clone(),
    })
}

impl Action {
    pub fn timeout(&self) -> Duration {
        match self {
            Action::Http(h) => h.timeout,
            Action::Preset(p) => p.timeout,
        }
    }

    /// The request for these slots; `env` reads environment variables.
    pub fn request(
        &self,
        slots: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<HttpRequest, BuildError> {
        match self {
            Action::Http(h) => {
                let url = check_url(render(&h.url, slots, env, Escape::Url)?)?;
                let headers = h
                    .headers
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), render(t, slots, env, Escape::None)?)))
                    .collect::<Result<Vec<_>, BuildError>>()?;
                let body = match &h.body {
                    Some(b) => Some(render_json(b, slots, env)?.to_string()),
                    None => None,
                };
                let mut headers = headers;
                if body.is_some()
                    && !headers
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                Ok(HttpRequest {
                    method: h.method,
                    url,
                    headers,
                    basic_auth: None,
                    body,
                    timeout: h.timeout,
                })
            }
            Action::Preset(p) => p.request(slots, env),
        }
    }

    /// What a response means.
    pub fn parse(
        &self,
        status: u16,
        body: &[u8],
        slots: &BTreeMap<String, String>,
    ) -> ActionResult {
        match self {
            Action::Http(h) => h.parse(status, body, slots),
            Action::Preset(p) => p.parse(status, body, slots),
        }
    }
}

/// The failure a non-2xx status means, or `None` for 2xx.
fn status_failure(status: u16) -> Option<ActionResult> {
    match status {
        200..=299 => None,
        404 | 410 => Some(ActionResult::NotFound),
        _ => Some(ActionResult::Failed {
            status: Some(status),
            reason: match status {
                300..=399 => format!("HTTP {status} (redirects are not followed)"),
                401 | 403 => format!("HTTP {status}: the credentials were refused"),
                _ => format!("HTTP {status}"),
            },
        }),
    }
}

fn json(body: &[u8]) -> Result<serde_json::Value, ActionResult> {
    serde_json::from_slice(body).map_err(|e| ActionResult::Failed {
        status: None,
        reason: format!("the answer is not JSON: {e}"),
    })
}

/// The value at a dotted path: `orders.0.name`.
pub fn at_path<'v>(v: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(v, |v, key| match v {
            serde_json::Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            serde_json::Value::Object(map) => map.get(key),
            _ => None,
        })
}

/// A scalar as text; null, arrays and objects are no value.
fn scalar(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn empty(v: Option<&serde_json::Value>) -> bool {
    match v {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::Array(a)) => a.is_empty(),
        Some(serde_json::Value::Object(o)) => o.is_empty(),
        Some(serde_json::Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Found, unless the record's `field` differs from the slot (then it is not the shopper's,
/// and says so as "not found": whether someone else's order exists is not for them to know).
fn verified(fields: BTreeMap<String, String>, field: &str, slot: Option<&String>) -> ActionResult {
    match slot {
        Some(expected) if !fields.get(field).is_some_and(|got| same(got, expected)) => {
            ActionResult::NotFound
        }
        _ => ActionResult::Found { fields },
    }
}

impl HttpAction {
    fn parse(&self, status: u16, body: &[u8], slots: &BTreeMap<String, String>) -> ActionResult {
        if let Some(f) = status_failure(status) {
            return f;
        }
        let v = match json(body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        if let Some(path) = &self.found_if {
            if empty(at_path(&v, path)) {
                return ActionResult::NotFound;
            }
        }
        let fields: BTreeMap<String, String> = self
            .pick
            .iter()
            .filter_map(|(name, path)| scalar(at_path(&v, path)).map(|s| (name.clone(), s)))
            .collect();
        match &self.verify {
            Some(Verify { field, slot }) => verified(fields, field, slots.get(slot)),
            None => ActionResult::Found { fields },
        }
    }
}

impl Preset {
    fn request(
        &self,
        slots: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<HttpRequest, BuildError> {
        let base = render(&self.base_url, slots, env, Escape::None)?;
        let base = base.trim_end_matches('/');
        let order = slots
            .get(&self.order_slot)
            .ok_or_else(|| BuildError::Missing(self.order_slot.clone()))?;
        let secret = |var: &str| env(var).ok_or_else(|| BuildError::Env(var.to_string()));
        match self.kind {
            PresetKind::ShopifyOrderStatus => {
                // An order's `name` is "#1001"; shoppers type "1001".
                let name = if order.chars().all(|c| c.is_ascii_digit()) {
                    format!("#{order}")
                } else {
                    order.clone()
                };
                let url = format!(
                    "{base}/admin/api/{}/orders.json?name={}&status=any&fields={}",
                    percent_encode(&self.api_version),
                    percent_encode(&name),
                    "id,name,email,contact_email,financial_status,fulfillment_status,cancelled_at,total_price,currency,fulfillments"
                );
                Ok(HttpRequest {
                    method: Method::Get,
                    url: check_url(url)?,
                    headers: vec![
                        (
                            "X-Shopify-Access-Token".into(),
                            secret("SHOPIFY_ACCESS_TOKEN")?,
                        ),
                        ("Accept".into(), "application/json".into()),
                    ],
                    basic_auth: None,
                    body: None,
                    timeout: self.timeout,
                })
            }
            PresetKind::WoocommerceOrderStatus => {
                let url = format!("{base}/wp-json/wc/v3/orders/{}", percent_encode(order));
                Ok(HttpRequest {
                    method: Method::Get,
                    url: check_url(url)?,
                    headers: vec![("Accept".into(), "application/json".into())],
                    basic_auth: Some((
                        secret("WOOCOMMERCE_CONSUMER_KEY")?,
                        secret("WOOCOMMERCE_CONSUMER_SECRET")?,
                    )),
                    body: None,
                    timeout: self.timeout,
                })
            }
        }
    }

    fn parse(&self, status: u16, body: &[u8], slots: &BTreeMap<String, String>) -> ActionResult {
        if let Some(f) = status_failure(status) {
            return f;
        }
        let v = match json(body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let email = self.email_slot.as_ref().and_then(|s| slots.get(s));
        match self.kind {
            PresetKind::ShopifyOrderStatus => {
                let Some(order) = at_path(&v, "orders.0") else {
                    return ActionResult::NotFound;
                };
                let mut f = BTreeMap::new();
                let mut put = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        f.insert(k.to_string(), v);
                    }
                };
                let financial = scalar(order.get("financial_status"));
                let fulfillment = scalar(order.get("fulfillment_status"));
                // The latest fulfillment carries the parcel's tracking.
                let last = order
                    .get("fulfillments")
                    .and_then(|a| a.as_array())
                    .and_then(|a| a.last());
                let shipment = last.and_then(|l| scalar(l.get("shipment_status")));
                let status = if !empty(order.get("cancelled_at")) {
                    "cancelled"
                } else if financial.as_deref() == Some("refunded") {
                    "refunded"
                } else {
                    match fulfillment.as_deref() {
                        Some("fulfilled") if shipment.as_deref() == Some("delivered") => {
                            "delivered"
                        }
                        Some("fulfilled") => "shipped",
                        Some("partial") => "partially_shipped",
                        _ if matches!(financial.as_deref(), Some("pending" | "authorized")) => {
                            "awaiting_payment"
                        }
                        _ => "processing",
                    }
                };
                put("status", Some(status.to_string()));
                put("order_name", scalar(order.get("name")));
                put("financial_status", financial);
                put("fulfillment_status", fulfillment);
                put(
                    "tracking_number",
                    last.and_then(|l| scalar(l.get("tracking_number"))),
                );
                put(
                    "tracking_url",
                    last.and_then(|l| scalar(l.get("tracking_url"))),
                );
                put(
                    "carrier",
                    last.and_then(|l| scalar(l.get("tracking_company"))),
                );
                put("total", scalar(order.get("total_price")));
                put("currency", scalar(order.get("currency")));
                put(
                    "email",
                    scalar(order.get("email")).or_else(|| scalar(order.get("contact_email"))),
                );
                finish_with_email(f, email)
            }
            PresetKind::WoocommerceOrderStatus => {
                if !v.is_object() || empty(v.get("id")) {
                    return ActionResult::NotFound;
                }
                let mut f = BTreeMap::new();
                let wc_status = scalar(v.get("status"));
                let status = match wc_status.as_deref() {
                    Some("pending") => "awaiting_payment",
                    Some("on-hold") => "on_hold",
                    // "Order fulfilled and complete": for a shipped product, sent.
                    Some("completed") => "shipped",
                    Some("cancelled") => "cancelled",
                    Some("refunded") => "refunded",
                    Some("failed") => "failed",
                    Some("trash") | Some("checkout-draft") => return ActionResult::NotFound,
                    _ => "processing",
                };
                f.insert("status".into(), status.into());
                if let Some(s) = wc_status {
                    f.insert("fulfillment_status".into(), s);
                }
                // Tracking is not in WooCommerce itself: the Shipment Tracking extension keeps
                // it in the order's meta data.
                let tracking = v
                    .get("meta_data")
                    .and_then(|m| m.as_array())
                    .and_then(|m| {
                        m.iter().find(|e| {
                            e.get("key").and_then(|k| k.as_str())
                                == Some("_wc_shipment_tracking_items")
                        })
                    })
                    .and_then(|e| at_path(e, "value.0"));
                for (k, v) in [
                    ("order_name", scalar(v.get("number"))),
                    ("total", scalar(v.get("total"))),
                    ("currency", scalar(v.get("currency"))),
                    ("email", scalar(at_path(&v, "billing.email"))),
                    (
                        "tracking_number",
                        tracking.and_then(|t| scalar(t.get("tracking_number"))),
                    ),
                    (
                        "tracking_url",
                        tracking.and_then(|t| scalar(t.get("custom_tracking_link"))),
                    ),
                    (
                        "carrier",
                        tracking.and_then(|t| {
                            scalar(t.get("tracking_provider"))
                                .or_else(|| scalar(t.get("custom_tracking_provider")))
                        }),
                    ),
                ] {
                    if let Some(v) = v {
                        f.insert(k.into(), v);
                    }
                }
                finish_with_email(f, email)
            }
        }
    }
}

/// Checks the e-mail, then drops it: the answer has no use for it.
fn finish_with_email(mut f: BTreeMap<String, String>, email: Option<&String>) -> ActionResult {
    let result = verified(f.clone(), "email", email);
    f.remove("email");
    match result {
        ActionResult::Found { .. } => ActionResult::Found { fields: f },
        other => other,
    }
}
