//! Reading flows from the intents files and checking them: unknown slot types, presets and
//! intents, missing languages, templates naming unknown slots or fields, bad URLs, secrets
//! written into the file. A bad flow costs that flow, with a diagnostic naming file and line.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::action::{Action, HttpAction, Method, Preset, PresetKind, Verify, MAX_TIMEOUT};
use super::slots::{Choice, SlotKind};
use super::template::Template;
use super::{CustomerField, Flow, FlowId, Flows, Localized, Outcome, Outcomes, Slot};
use crate::diagnostic::{find_line, Diagnostic};
use crate::intents::{Intent, IntentId};

const DEFAULT_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_MAX_ATTEMPTS: u32 = 3;
const SLOT_TYPES: &str = "`email`, `number`, `date`, `choice` or `pattern`";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowDef {
    id: String,
    intent: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    slots: Vec<SlotDef>,
    action: ActionDef,
    answer: Localized,
    #[serde(default)]
    labels: BTreeMap<String, BTreeMap<String, Localized>>,
    #[serde(default)]
    outcomes: OutcomesDef,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotDef {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    ask: Localized,
    #[serde(default)]
    invalid: Option<Localized>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    choices: Vec<ChoiceDef>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    from_message: Option<bool>,
    #[serde(default)]
    from_customer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoiceDef {
    value: String,
    label: Localized,
    #[serde(default)]
    synonyms: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionDef {
    // A preset…
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    api_version: Option<String>,
    // …or a generic HTTP call.
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<serde_yaml::Value>,
    #[serde(default)]
    pick: BTreeMap<String, String>,
    #[serde(default)]
    found_if: Option<String>,
    #[serde(default)]
    verify: Option<VerifyDef>,
    // Both.
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyDef {
    field: String,
    slot: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomesDef {
    #[serde(default)]
    not_found: Option<OutcomeDef>,
    #[serde(default)]
    timeout: Option<OutcomeDef>,
    #[serde(default)]
    error: Option<OutcomeDef>,
    #[serde(default)]
    gave_up: Option<OutcomeDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeDef {
    #[serde(default)]
    say: Option<Localized>,
    #[serde(default)]
    escalate: Option<bool>,
}

/// Loads the flows of every `*.yaml`/`*.yml` file under `dir` (the intents folder) and
/// checks them against the intents and the languages the shop serves (empty: every language
/// the flow itself uses must be complete).
pub fn load_dir(dir: &Path, intents: &[Intent], languages: &[String]) -> (Flows, Vec<Diagnostic>) {
    let mut files = Vec::new();
    if dir.exists() {
        collect(dir, &mut files);
    }
    files.sort();
    let mut flows: Vec<Flow> = Vec::new();
    let mut diags = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            // The intents loader reports unreadable files.
            continue;
        };
        for flow in parse_file(&file, &text, intents, languages, &mut diags) {
            let clash = flows
                .iter()
                .find(|f| f.id == flow.id || f.intent == flow.intent);
            if let Some(other) = clash {
                let what = if other.id == flow.id {
                    format!("duplicate flow id `{}`", flow.id)
                } else {
                    format!(
                        "the intent `{}` already starts the flow `{}`",
                        flow.intent, other.id
                    )
                };
                diags.push(
                    Diagnostic::error(
                        &file,
                        flow.line,
                        format!(
                            "{what} ({}:{})",
                            other.source.display(),
                            other.line.unwrap_or(1)
                        ),
                    )
                    .with_hint("one flow per id and per intent"),
                );
                continue;
            }
            flows.push(flow);
        }
    }
    (Flows::new(flows), diags)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Parses the `flows:` of one file.
pub(super) fn parse_file(
    file: &Path,
    text: &str,
    intents: &[Intent],
    languages: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Flow> {
    // Invalid YAML is the intents loader's to report.
    let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Vec::new();
    };
    let items = match value.get("flows") {
        None | Some(serde_yaml::Value::Null) => return Vec::new(),
        Some(serde_yaml::Value::Sequence(items)) => items.clone(),
        Some(_) => {
            diags.push(
                Diagnostic::error(
                    file,
                    find_line(text, "flows:", 1),
                    "`flows:` is a list of flows",
                )
                .with_hint("list each flow as `- id: ...`"),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for item in items {
        let id_hint = item.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let line = id_hint
            .as_deref()
            .and_then(|id| find_line(text, &format!("id: {id}"), 1));
        let def: FlowDef = match serde_yaml::from_value(item) {
            Ok(d) => d,
            Err(e) => {
                // serde names the unknown or missing key; point at it when it is in the file.
                let msg = e.to_string();
                let key_line = msg
                    .split('`')
                    .nth(1)
                    .and_then(|k| find_line(text, &format!("{k}:"), line.unwrap_or(1)));
                diags.push(
                    Diagnostic::error(
                        file,
                        key_line.or(line),
                        format!("flow `{}`: {msg}", id_hint.as_deref().unwrap_or("?")),
                    )
                    .with_hint("a flow takes `id`, `intent`, `slots`, `action`, `answer`, `labels` and `outcomes`; see docs/flows.md"),
                );
                continue;
            }
        };
        let mut c = Checker {
            file,
            text,
            from: line.unwrap_or(1),
            line,
            flow: def.id.clone(),
            diags: Vec::new(),
            languages: languages.to_vec(),
        };
        let flow = c.flow(def, intents);
        diags.append(&mut c.diags);
        if let Some(flow) = flow {
            out.push(flow);
        }
    }
    out
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    /// The line of the flow's `id:`; other keys are searched from there.
    from: usize,
    line: Option<usize>,
    flow: String,
    diags: Vec<Diagnostic>,
    languages: Vec<String>,
}

impl Checker<'_> {
    fn line_of(&self, needle: &str) -> Option<usize> {
        find_line(self.text, needle, self.from).or(self.line)
    }

    fn error(&mut self, needle: &str, message: String, hint: &str) {
        let line = self.line_of(needle);
        let mut d = Diagnostic::error(self.file, line, format!("flow `{}`: {message}", self.flow));
        if !hint.is_empty() {
            d = d.with_hint(hint);
        }
        self.diags.push(d);
    }

    fn errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    fn flow(&mut self, def: FlowDef, intents: &[Intent]) -> Option<Flow> {
        let id = match FlowId::try_from(def.id.clone()) {
            Ok(id) => id,
            Err(e) => {
                self.error("id:", e.to_string(), "");
                return None;
            }
        };
        let intent = match IntentId::try_from(def.intent.clone()) {
            Ok(i) if intents.iter().any(|x| x.id == i) => Some(i),
            Ok(i) => {
                self.error(
                    "intent:",
                    format!("no intent `{i}` starts it: there is no such intent"),
                    "name the id of an intent in intents/, e.g. `track_order`",
                );
                None
            }
            Err(e) => {
                self.error("intent:", e.to_string(), "");
                None
            }
        };
        // Languages: the shop's, or else every language this flow uses anywhere.
        if self.languages.is_empty() {
            let mut used: BTreeSet<String> = def.answer.keys().cloned().collect();
            for s in &def.slots {
                used.extend(s.ask.keys().cloned());
            }
            self.languages = used.into_iter().collect();
        }
        let mut slots = Vec::new();
        let mut names = HashSet::new();
        if def.slots.is_empty() {
            self.error(
                "slots:",
                "has no slots".into(),
                "a flow asks for at least one slot",
            );
        }
        for s in def.slots {
            if !names.insert(s.name.clone()) {
                self.error(
                    &format!("name: {}", s.name),
                    format!("two slots are named `{}`", s.name),
                    "give each slot its own name",
                );
                continue;
            }
            if let Some(slot) = self.slot(s) {
                slots.push(slot);
            }
        }
        let slot_names: BTreeSet<String> = slots.iter().map(|s| s.name.clone()).collect();
        let (action, fields) = self.action(def.action, &slot_names)?;
        let mut answer = BTreeMap::new();
        self.languages_of(&def.answer, "answer:");
        let mut known: BTreeSet<String> = slot_names.clone();
        known.extend(fields.iter().cloned());
        for name in slot_names.iter() {
            if fields.contains(name) {
                self.error(
                    &format!("{name}:"),
                    format!("`{name}` is both a slot and a field of the action's answer"),
                    "rename the field in `pick:`",
                );
            }
        }
        for (lang, text) in def.answer {
            let t = Template::parse(&text);
            self.names(&t, &text, &known, false);
            answer.insert(lang, t);
        }
        for (field, by_value) in &def.labels {
            if !fields.contains(field) {
                self.error(
                    &format!("{field}:"),
                    format!("`labels` names `{field}`, which the action does not return"),
                    "label one of the action's fields (`pick:` keys, or the preset's fields)",
                );
            }
            for texts in by_value.values() {
                self.languages_of(texts, &format!("{field}:"));
            }
        }
        let outcome = |c: &mut Self, d: Option<OutcomeDef>, key: &str, escalate: bool| {
            let d = d.unwrap_or(OutcomeDef {
                say: None,
                escalate: None,
            });
            if let Some(say) = &d.say {
                c.languages_of(say, &format!("{key}:"));
                for text in say.values() {
                    let t = Template::parse(text);
                    c.names(&t, text, &slot_names, false);
                }
            }
            Outcome {
                say: d.say,
                escalate: d.escalate.unwrap_or(escalate),
            }
        };
        let outcomes = Outcomes {
            not_found: outcome(self, def.outcomes.not_found, "not_found", false),
            timeout: outcome(self, def.outcomes.timeout, "timeout", true),
            error: outcome(self, def.outcomes.error, "error", true),
            gave_up: outcome(self, def.outcomes.gave_up, "gave_up", true),
        };
        if self.errors() {
            return None;
        }
        Some(Flow {
            id,
            intent: intent?,
            slots,
            action: Arc::new(action),
            answer,
            labels: def.labels,
            outcomes,
            source: self.file.to_path_buf(),
            line: self.line,
        })
    }

    /// Every language the shop serves has a text.
    fn languages_of(&mut self, texts: &Localized, key: &str) {
        let missing: Vec<&str> = self
            .languages
            .iter()
            .filter(|l| !texts.contains_key(l.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let missing = missing.join(", ");
            self.error(
                key,
                format!("`{}` has no text in {missing}", key.trim_end_matches(':')),
                "give every text in each language the shop serves: `en:`, `es:`, `pt:`, `nl:`",
            );
        }
        for lang in texts.keys() {
            if lang.parse::<crate::locale::Locale>().is_err() {
                self.error(
                    &format!("{lang}:"),
                    format!("`{lang}` is not a language code"),
                    "use `en`, `es`, `pt`, `nl`",
                );
            }
        }
    }

    /// Every name in a template is known; `env.` only where allowed.
    fn names(&mut self, t: &Template, raw: &str, known: &BTreeSet<String>, env_ok: bool) {
        let names: Vec<(String, bool)> = t.names().map(|(n, d)| (n.to_string(), d)).collect();
        for (name, _) in names {
            if name.starts_with("env.") {
                if !env_ok {
                    self.error(
                        raw,
                        format!("`{{{name}}}`: environment variables may only be used in the action's request"),
                        "an answer must never show a secret; use slots and the action's fields",
                    );
                }
            } else if !known.contains(&name) {
                let list: Vec<&str> = known.iter().map(String::as_str).collect();
                self.error(
                    raw,
                    format!(
                        "`{{{name}}}` names no slot or field (known: {})",
                        list.join(", ")
                    ),
                    "use a slot's name or a field the action returns",
                );
            }
        }
    }

    fn slot(&mut self, s: SlotDef) -> Option<Slot> {
        let at = format!("name: {}", s.name);
        let valid_name = !s.name.is_empty()
            && s.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            self.error(
                &at,
                format!("`{}` is not a slot name", s.name),
                "use letters, digits and `_`, like `order_number`",
            );
            return None;
        }
        let kind = match s.kind.as_str() {
            "email" => SlotKind::Email,
            "number" => SlotKind::Number {
                min: s.min,
                max: s.max,
            },
            "date" => SlotKind::Date,
            "choice" => {
                if s.choices.is_empty() {
                    self.error(
                        &at,
                        format!("slot `{}` is a choice without `choices`", s.name),
                        "list the choices as `- value: ...` with a `label:` per language",
                    );
                    return None;
                }
                let mut choices = Vec::new();
                for c in s.choices {
                    self.languages_of(&c.label, &format!("value: {}", c.value));
                    choices.push(Choice {
                        value: c.value,
                        label: c.label,
                        synonyms: c.synonyms,
                    });
                }
                SlotKind::Choice(choices)
            }
            "pattern" => match s.pattern.as_deref().map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| (p.to_string(), e))
            }) {
                Some(Ok(re)) => SlotKind::Pattern(re),
                Some(Err((p, e))) => {
                    let first = e.to_string();
                    let reason = first.lines().last().unwrap_or(&first).trim().to_string();
                    self.error(
                        "pattern:",
                        format!("slot `{}`: invalid pattern `{p}`: {reason}", s.name),
                        "Rust regex syntax; the first capture group `( )` is the value",
                    );
                    return None;
                }
                None => {
                    self.error(
                        &at,
                        format!("slot `{}` has type `pattern` but no `pattern:`", s.name),
                        "add `pattern: '\\b(\\d{5})\\b'`: the first capture group is the value",
                    );
                    return None;
                }
            },
            other => {
                self.error(
                    &format!("type: {other}"),
                    format!("slot `{}`: unknown slot type `{other}`", s.name),
                    &format!("use {SLOT_TYPES}"),
                );
                return None;
            }
        };
        if s.pattern.is_some() && !matches!(kind, SlotKind::Pattern(_)) {
            self.error(
                "pattern:",
                format!("slot `{}`: `pattern` is only for `type: pattern`", s.name),
                "",
            );
        }
        let from_customer = match s.from_customer.as_deref() {
            None => None,
            Some("email") => Some(CustomerField::Email),
            Some(other) => {
                self.error(
                    "from_customer:",
                    format!("slot `{}`: unknown customer field `{other}`", s.name),
                    "the known customer gives `email`",
                );
                None
            }
        };
        self.languages_of(&s.ask, "ask:");
        if let Some(inv) = &s.invalid {
            self.languages_of(inv, "invalid:");
        }
        // Pre-filling from any message is safe for values that cannot be mistaken: an
        // address or the shop's own pattern. "I ordered 2 tents" is no answer to "how many?".
        let default_from_message = matches!(kind, SlotKind::Email | SlotKind::Pattern(_));
        Some(Slot {
            name: s.name,
            kind,
            ask: s.ask,
            invalid: s.invalid,
            max_attempts: s.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            from_message: s.from_message.unwrap_or(default_from_message),
            from_customer,
        })
    }

    /// The action and the fields its answer may hold.
    fn action(
        &mut self,
        a: ActionDef,
        slots: &BTreeSet<String>,
    ) -> Option<(Action, BTreeSet<String>)> {
        let timeout_ms = a.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 || Duration::from_millis(timeout_ms) > MAX_TIMEOUT {
            self.error(
                "timeout_ms:",
                format!("`timeout_ms: {timeout_ms}` is out of range"),
                &format!(
                    "between 1 and {} ms: the shopper is waiting",
                    MAX_TIMEOUT.as_millis()
                ),
            );
        }
        let timeout = Duration::from_millis(timeout_ms.clamp(1, MAX_TIMEOUT.as_millis() as u64));
        if let Some(name) = &a.preset {
            let Some(kind) = PresetKind::ALL.into_iter().find(|k| k.name() == name) else {
                let known: Vec<&str> = PresetKind::ALL.iter().map(|k| k.name()).collect();
                self.error(
                    "preset:",
                    format!("unknown preset `{name}`"),
                    &format!("the presets are {}", known.join(", ")),
                );
                return None;
            };
            if a.url.is_some()
                || a.method.is_some()
                || !a.headers.is_empty()
                || a.body.is_some()
                || !a.pick.is_empty()
            {
                self.error(
                    "preset:",
                    "a preset takes no `url`, `method`, `headers`, `body` or `pick`".into(),
                    "use either `preset:` or a generic call with `url:`",
                );
            }
            let order = a.order.unwrap_or_else(|| "order_number".into());
            for (key, slot) in [("order:", Some(&order)), ("email:", a.email.as_ref())] {
                if let Some(slot) = slot {
                    if !slots.contains(slot) {
                        self.error(
                            key,
                            format!(
                                "the preset's `{}` names no slot `{slot}`",
                                key.trim_end_matches(':')
                            ),
                            "name one of the flow's slots",
                        );
                    }
                }
            }
            let default_base = match kind {
                PresetKind::ShopifyOrderStatus => "{env.SHOPIFY_SHOP_URL}",
                PresetKind::WoocommerceOrderStatus => "{env.WOOCOMMERCE_URL}",
            };
            let base = a.base_url.unwrap_or_else(|| default_base.into());
            self.url(&base, slots);
            let fields = kind.fields().iter().map(|f| f.to_string()).collect();
            return Some((
                Action::Preset(Preset {
                    kind,
                    base_url: Template::parse(&base),
                    order_slot: order,
                    email_slot: a.email,
                    api_version: a.api_version.unwrap_or_else(|| "2025-01".into()),
                    timeout,
                }),
                fields,
            ));
        }
        if a.base_url.is_some() || a.order.is_some() || a.email.is_some() || a.api_version.is_some()
        {
            self.error(
                "action:",
                "`base_url`, `order`, `email` and `api_version` belong to a preset".into(),
                "add `preset:` or remove them",
            );
        }
        let Some(url) = a.url else {
            self.error(
                "action:",
                "the action has neither `preset` nor `url`".into(),
                "use `preset: shopify_order_status`, `preset: woocommerce_order_status`, or a generic call with `url:`",
            );
            return None;
        };
        let method = match a
            .method
            .as_deref()
            .unwrap_or("GET")
            .to_ascii_uppercase()
            .as_str()
        {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            other => {
                self.error(
                    "method:",
                    format!("unknown method `{other}`"),
                    "use GET, POST, PUT or PATCH",
                );
                Method::Get
            }
        };
        self.url(&url, slots);
        let mut headers = Vec::new();
        for (k, v) in a.headers {
            let t = Template::parse(&v);
            self.names(&t, &v, slots, true);
            let secretish = {
                let k = k.to_ascii_lowercase();
                k == "authorization"
                    || k.contains("token")
                    || k.contains("key")
                    || k.contains("secret")
            };
            if secretish && !t.names().any(|(n, _)| n.starts_with("env.")) {
                self.error(
                    &v,
                    format!("the header `{k}` holds a secret written into the file"),
                    "secrets never go in YAML: write `{env.SHOP_TOKEN}` and set the variable where the service runs",
                );
            }
            headers.push((k, t));
        }
        let body = match a.body {
            Some(b) => match serde_json::to_value(&b) {
                Ok(v) => {
                    self.json_names(&v, slots);
                    Some(v)
                }
                Err(e) => {
                    self.error("body:", format!("the body cannot be JSON: {e}"), "");
                    None
                }
            },
            None => None,
        };
        if let Some(v) = &a.verify {
            if !slots.contains(&v.slot) {
                self.error(
                    "verify:",
                    format!("`verify` names no slot `{}`", v.slot),
                    "name one of the flow's slots",
                );
            }
            if !a.pick.contains_key(&v.field) {
                self.error(
                    "verify:",
                    format!("`verify` names no picked field `{}`", v.field),
                    "pick the field first: `pick: {email: customer.email}`",
                );
            }
        }
        let fields = a.pick.keys().cloned().collect();
        Some((
            Action::Http(HttpAction {
                method,
                url: Template::parse(&url),
                headers,
                body,
                timeout,
                pick: a.pick,
                found_if: a.found_if,
                verify: a.verify.map(|v| Verify {
                    field: v.field,
                    slot: v.slot,
                }),
            }),
            fields,
        ))
    }

    fn json_names(&mut self, v: &serde_json::Value, slots: &BTreeSet<String>) {
        match v {
            serde_json::Value::String(s) => {
                let t = Template::parse(s);
                self.names(&t, s, slots, true);
            }
            serde_json::Value::Array(a) => a.iter().for_each(|i| self.json_names(i, slots)),
            serde_json::Value::Object(o) => o.values().for_each(|i| self.json_names(i, slots)),
            _ => {}
        }
    }

    /// A URL template: known names, and http(s) with a host once filled in.
    fn url(&mut self, raw: &str, slots: &BTreeSet<String>) {
        let t = Template::parse(raw);
        self.names(&t, raw, slots, true);
        let probe: BTreeMap<String, String> =
            slots.iter().map(|s| (s.clone(), "1".to_string())).collect();
        let env = |_: &str| Some("https://shop.example".to_string());
        let filled = t.render(
            &super::template::Values {
                values: &probe,
                env: Some(&env),
            },
            super::Escape::Url,
        );
        let ok = match filled {
            Ok(u) => match reqwest::Url::parse(&u) {
                Ok(u) => matches!(u.scheme(), "http" | "https") && u.host().is_some(),
                Err(_) => false,
            },
            Err(_) => false,
        };
        if !ok {
            self.error(
                raw,
                format!("`{raw}` is not an http(s) URL"),
                "write `https://host/path/{slot}`, or start with a variable holding one: `{env.SHOP_API_URL}/orders/{order_number}`",
            );
        }
    }
}
