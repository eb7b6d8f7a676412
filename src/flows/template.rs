//! Templates in flow files: `{order_number}` names a slot or a field picked from the action's
//! answer, `{env.SHOP_TOKEN}` an environment variable (only in an action's request), and
//! `{tracking_url|not yet}` gives a default for a value that is missing. `{` not followed by a
//! name and `}` is plain text, so JSON and prose need no escaping.

use std::collections::BTreeMap;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var {
        /// `env.NAME` is kept whole; the renderer decides where env may be read.
        name: String,
        default: Option<String>,
    },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// How a value is written into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As it is (answers, headers).
    None,
    /// Percent-encoded, for a URL's path or query.
    Url,
}

/// The values a template may name.
pub struct Values<'a> {
    pub values: &'a BTreeMap<String, String>,
    /// Reads `env.NAME`; `None` where env is not allowed (answers).
    #[allow(clippy::type_complexity)]
    pub env: Option<&'a dyn Fn(&str) -> Option<String>>,
}

/// A name the template needs that has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{{{0}}}` has no value")]
pub struct Missing(pub String);

fn is_name(s: &str) -> bool {
    let bare = s.strip_prefix("env.").unwrap_or(s);
    !bare.is_empty()
        && bare.len() <= 64
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// Parses a template; never fails (what is not a `{name}` is text).
    pub fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut text_buf = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            text_buf.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let var = after.find('}').and_then(|close| {
                let inner = &after[..close];
                let (name, default) = match inner.split_once('|') {
                    Some((n, d)) => (n.trim(), Some(d.to_string())),
                    None => (inner.trim(), None),
                };
                (is_name(name) && !inner.contains('{')).then(|| (name.to_string(), default, close))
            });
            match var {
                Some((name, default, close)) => {
                    if !text_buf.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text_buf)));
                    }
                    parts.push(Part::Var { name, default });
                    rest = &after[close + 1..];
                }
                None => {
                    text_buf.push('{');
                    rest = after;
                }
            }
        }
        text_buf.push_str(rest);
        if !text_buf.is_empty() {
            parts.push(Part::Text(text_buf));
        }
        Template { parts }
    }

    /// The names it uses (`env.X` included), in order.
    pub fn names(&self) -> impl Iterator<Item = (&str, bool)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, default } => Some((name.as_str(), default.is_some())),
            Part::Text(_) => None,
        })
    }

    /// Whether it names anything at all.
    pub fn is_plain(&self) -> bool {
        self.names().next().is_none()
    }

    /// Renders it: a missing value takes its default, or fails with `Missing`.
    pub fn render(&self, values: &Values<'_>, escape: Escape) -> Result<String, Missing> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var { name, default } => {
                    let value = match name.strip_prefix("env.") {
                        Some(var) => values.env.and_then(|env| env(var)),
                        None => values.values.get(name).cloned(),
                    };
                    match (value, default) {
                        // An environment variable is the operator's own text (a base URL, a
                        // token): it is written as it is.
                        (Some(v), _) if !v.is_empty() && name.starts_with("env.") => {
                            out.push_str(&v)
                        }
                        (Some(v), _) if !v.is_empty() => push_escaped(&mut out, &v, escape),
                        (_, Some(d)) => out.push_str(d),
                        // Given as empty: written as empty; an empty secret is no secret.
                        (Some(_), None) if !name.starts_with("env.") => {}
                        (_, None) => return Err(Missing(name.clone())),
                    }
                }
            }
        }
        Ok(out)
    }
}

fn push_escaped(out: &mut String, value: &str, escape: Escape) {
    match escape {
        Escape::None => out.push_str(value),
        Escape::Url => out.push_str(&percent_encode(value)),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so that a slot value can
/// neither add a path segment nor a query parameter.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
