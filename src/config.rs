//! Settings: one YAML file (default `concierge.yaml` when present), overridden by flags.
//!
//! Every struct denies unknown keys, so a typo in the config is an error that names the key
//! instead of a silently ignored setting.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::escalation::webhook::WebhookSettings;
use crate::escalation::{BusinessHours, Policy, PolicyError, PolicySettings};
use crate::locale::Locale;
use crate::nlu::embed::Precision;
use crate::store::StorageSettings;

/// Errors reading the configuration: all of them are the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}\n  hint: every key is listed in docs/configuration.md")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Value { path: PathBuf, message: String },
    #[error("{named_by} names {path}, which does not exist\n  hint: {hint}")]
    Missing {
        /// The flag or config key that named the path.
        named_by: String,
        path: PathBuf,
        hint: String,
    },
}

/// Which paths a config file names itself (its keys), as opposed to the defaults: a path the
/// user named must exist, only a default one may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamedInFile {
    pub knowledge_base: bool,
    pub intents: bool,
    /// `semantic.model`.
    pub model: bool,
}

/// Checks that a path the user named (`named_by`: a flag or a config key) exists; `hint` says
/// what to do when it does not. Only default paths may be absent.
pub fn require_existing(path: &Path, named_by: &str, hint: &str) -> Result<(), ConfigError> {
    if path.exists() {
        Ok(())
    } else {
        Err(ConfigError::Missing {
            named_by: named_by.to_string(),
            path: path.to_path_buf(),
            hint: hint.to_string(),
        })
    }
}

/// Everything that can be configured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub shop: ShopSettings,
    /// Folder of the Markdown articles.
    pub knowledge_base: PathBuf,
    /// Folder of the intents YAML files.
    pub intents: PathBuf,
    /// Folder of the shop's own synonyms, one `<locale>.yaml` per language
    /// (`docs/editors.md`). Absent: the built-in synonyms only.
    pub synonyms: Option<PathBuf>,
    /// Folder of the notices (Markdown with `from`/`until`, `locales` and topics) shown
    /// before answers and as a banner while active (`docs/editors.md`). Absent: none.
    pub notices: Option<PathBuf>,
    pub thresholds: Thresholds,
    pub calibration: Calibration,
    /// Adjust the calibrations to the shop's own texts at build (see `engine/selfcal.rs`).
    /// Switch it off once `concierge calibrate` fitted them on the shop's labelled questions.
    pub self_calibration: bool,
    pub limits: Limits,
    pub http: HttpSettings,
    pub semantic: SemanticSettings,
    /// The conversation database (`concierge serve --data DIR`).
    pub storage: StorageSettings,
    pub escalation: EscalationSettings,
    /// Who may use the `/admin/*` endpoints.
    pub admin: AdminSettings,
    /// The live hand-over: verified customers, the helpdesk's inbound API.
    pub handover: crate::handover::HandoverSettings,
    /// Concierge as a Chatwoot agent bot (`chatwoot/`); off unless configured.
    pub chatwoot: crate::chatwoot::ChatwootSettings,
}

/// `admin:` in the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// The bearer token the `/admin/*` endpoints require (`CONCIERGE_ADMIN_TOKEN` overrides
    /// it). Without one they answer only loopback peers that did not come through a proxy.
    #[serde(deserialize_with = "token_or_empty")]
    pub token: Option<AdminToken>,
}

/// The admin token: never printed (`Debug` and `Serialize` show `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// The shortest token accepted: a guessable one would be no lock at all.
    pub const MIN_CHARS: usize = 16;

    /// A token from configuration or the environment; blank means none.
    pub fn new(text: &str) -> Option<AdminToken> {
        let t = text.trim();
        (!t.is_empty()).then(|| AdminToken(t.to_string()))
    }

    /// The token itself, for the constant-time comparison in `http/`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

impl Serialize for AdminToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for AdminToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AdminToken::new(&text).ok_or_else(|| serde::de::Error::custom("admin.token is blank"))
    }
}

fn token_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<AdminToken>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.and_then(|t| AdminToken::new(&t)))
}

/// Handing conversations to the shop's helpdesk.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationSettings {
    /// When a person is there to take over. Absent: always (every ticket is `live`).
    pub hours: Option<BusinessHours>,
    /// The triggers, the "leave a message" dialogue, priority and category rules.
    pub policy: PolicySettings,
    /// Where tickets are sent, signed, and how delivery is retried.
    pub webhook: WebhookSettings,
}

impl EscalationSettings {
    /// The policy these settings describe (checked when the config is read).
    pub fn policy(&self) -> Result<Policy, PolicyError> {
        let hours = self
            .hours
            .clone()
            .unwrap_or_else(BusinessHours::always_open);
        Policy::new(self.policy.clone(), hours)
    }
}

/// The semantic layer: sentence embeddings fused with the lexical signals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SemanticSettings {
    /// Use the model. Default: on when the binary was built with it (cargo feature
    /// `semantic`); `--lexical-only` turns it off.
    pub enabled: bool,
    /// The model folder (installed by scripts/setup-model); relative to the config file when
    /// set there. Default: `models/all-MiniLM-L6-v2` in the working directory.
    pub model: Option<PathBuf>,
    /// What to do when the model is missing or cannot be loaded.
    pub on_error: OnModelError,
    /// Threads the model computes one batch with (libtorch intra-op threads) while the
    /// machine is otherwise idle. Default: 2, or 1 on a one-core machine (see
    /// `default_model_threads`).
    pub threads: usize,
    /// Threads it computes with while other processes take half a core or more
    /// (`cpu::ThreadPolicy`): two threads wait for each other at every operation when one of
    /// them is not running. Default 1; the same as `threads` turns the switch off.
    pub busy_threads: usize,
    /// The arithmetic of the model's linear layers: `f32` (default), or `int8`, about twice
    /// as fast per message and other vectors, so fit the calibration with it.
    pub precision: Precision,
    /// Where embedded texts are cached (default: `$CONCIERGE_CACHE/vectors`, else
    /// `~/.cache/concierge/vectors`).
    pub cache: Option<PathBuf>,
    /// The languages the model was trained on. A message in one of them gets the hybrid
    /// engine (these thresholds and calibration); a message in another is answered by the
    /// lexical engine alone (the top-level ones), because an English model's similarity
    /// between, say, two Dutch sentences is mostly noise. List every served language for a
    /// multilingual model. Default: `[en]`, the default model's one language.
    pub languages: Vec<Locale>,
    /// An intent's similarity to a message is the mean cosine of its this many nearest
    /// examples (k-nearest neighbours; fewer when it has fewer examples). 1: the nearest
    /// example alone. Articles always count their nearest text: their sections differ.
    pub neighbors: usize,
    /// Thresholds of the hybrid engine (the top-level ones are the lexical engine's).
    pub thresholds: Thresholds,
    /// Calibration of the hybrid engine, fitted by `concierge calibrate` with the model on.
    pub calibration: Calibration,
}

/// What to do when the semantic model cannot be used.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnModelError {
    /// Refuse to start, saying why.
    Fail,
    /// Say why on stderr and run the lexical engine alone.
    Lexical,
}

/// The HTTP service (`concierge serve`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Address to listen on (`--listen` overrides it).
    pub listen: String,
    /// Origins of the shop's pages allowed to call the API from a browser (CORS), e.g.
    /// `https://shop.example`; `"*"` allows any. Empty: same origin only.
    pub cors_origins: Vec<String>,
    pub rate_limit: RateLimit,
    /// A request taking longer is answered 503 `timeout`, in milliseconds.
    pub request_timeout_ms: u64,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Take the client address for rate limiting from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// How often the knowledge base and intents are checked for changes, in milliseconds;
    /// 0 turns hot reload off.
    pub reload_interval_ms: u64,
    /// Conversations kept in memory; the oldest are forgotten beyond this.
    pub max_conversations: usize,
}

/// Per-client rate limit: a token bucket refilled at `per_minute`, holding up to `burst`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Requests per minute per client address; 0 turns the limit off.
    pub per_minute: u32,
    pub burst: u32,
}

/// Who the shop is and which languages it serves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShopSettings {
    pub name: String,
    /// The language replies fall back to when the shopper's is not served.
    pub default_locale: Locale,
    /// Languages served; empty means every language the knowledge base and intents have.
    pub locales: Vec<Locale>,
    /// Link to an article: `{id}` is replaced by the article id, `{anchor}` by the section.
    pub article_url: String,
}

/// Where the one calibrated confidence turns into an action.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// At or above: answer.
    pub answer: f32,
    /// At or above (and below `answer`): offer "did you mean" choices. Below: escalate.
    pub clarify: f32,
}

/// The model that turns match signals into a calibrated confidence, fitted by
/// `concierge calibrate` on a labelled set (see README.md).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Calibration {
    /// Ranking: weight of the best utterance cosine (the rest goes to coverage).
    pub rank_cosine: f32,
    /// Ranking: weight of BM25 over the whole target, relative to the best.
    pub rank_bm25: f32,
    /// Ranking: the share of that BM25 taken from the target's best section instead of its
    /// whole text (0: the whole text only; configs written before it load with 0, whatever
    /// the default calibration's value).
    #[serde(default)]
    pub rank_section: f32,
    /// Similarity: how much a word no article or example contains weighs, relative to its
    /// IDF (its absence already counts through `w_unknown`).
    pub unknown_weight: f32,
    /// Ranking: bonus for a candidate in the shopper's language.
    pub rank_language: f32,
    pub bias: f32,
    pub w_score: f32,
    pub w_margin: f32,
    pub w_cosine: f32,
    pub w_coverage: f32,
    pub w_unknown: f32,
    pub w_language: f32,
    pub w_short: f32,
    /// Ranking: weight of the semantic similarity (0 in the lexical engine).
    pub rank_semantic: f32,
    pub w_semantic: f32,
    pub w_semantic_margin: f32,
    /// Weight of the lexical and the semantic ranking agreeing on the topic (0 in the
    /// lexical engine; configs written before it load with 0).
    pub w_agreement: f32,
    /// Weight of the best candidate's rank among the topics nearest in meaning, as
    /// `1 / (1 + rank)` (0 in the lexical engine; configs written before it load with 0).
    pub w_semantic_rank: f32,
}

/// Input limits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longer messages are cut (the HTTP service refuses them).
    pub max_message_chars: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            shop: ShopSettings::default(),
            knowledge_base: PathBuf::from("knowledge-base"),
            intents: PathBuf::from("intents"),
            synonyms: None,
            notices: None,
            thresholds: Thresholds::default(),
            calibration: Calibration::default(),
            self_calibration: true,
            limits: Limits::default(),
            semantic: SemanticSettings::default(),
            http: HttpSettings::default(),
            storage: StorageSettings::default(),
            escalation: EscalationSettings::default(),
            admin: AdminSettings::default(),
            handover: crate::handover::HandoverSettings::default(),
            chatwoot: crate::chatwoot::ChatwootSettings::default(),
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: "127.0.0.1:8080".into(),
            cors_origins: Vec::new(),
            rate_limit: RateLimit::default(),
            request_timeout_ms: 10_000,
            max_body_bytes: 64 * 1024,
            trust_forwarded_for: false,
            reload_interval_ms: 500,
            max_conversations: 100_000,
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_minute: 60,
            burst: 20,
        }
    }
}

impl Default for ShopSettings {
    fn default() -> Self {
        ShopSettings {
            name: "Concierge".into(),
            default_locale: Locale::english(),
            locales: Vec::new(),
            article_url: "/help/{id}#{anchor}".into(),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        // The clarify threshold `bench/fit-defaults.sh lexical` fitted with the default
        // calibration: at most 4 % of the answerable questions of the shops it was fitted on
        // fall below it.
        Thresholds {
            answer: 0.5,
            clarify: 0.33,
        }
    }
}

impl Default for Calibration {
    fn default() -> Self {
        // What a new shop gets: fitted by `bench/fit-defaults.sh lexical` (`concierge
        // calibrate --lexical-only`) on five shops' writing at once: the demo shop as a new
        // shop writes it (its articles without their `questions:` lists,
        // tests/eval/tuning.jsonl) and the development shops tests/devshops/* (long articles
        // with sections, few or no `questions:`). Rounded. Fitted on the demo shop alone, the
        // weights suited its writing and not the next shop's (docs/quality.md).
        Calibration {
            rank_cosine: 0.3,
            rank_bm25: 0.2,
            rank_section: 0.3,
            rank_language: 0.05,
            unknown_weight: 0.6,
            bias: -0.757,
            w_score: 0.966,
            w_margin: 0.233,
            w_cosine: -0.971,
            w_coverage: 1.681,
            w_unknown: -1.280,
            w_language: 0.020,
            w_short: -0.339,
            rank_semantic: 0.0,
            w_semantic: 0.0,
            w_semantic_margin: 0.0,
            w_agreement: 0.0,
            w_semantic_rank: 0.0,
        }
    }
}

/// Two libtorch threads where there are two cores. On the 2-core reference machine they
/// take a message's embedding from 7.1–7.6 ms to 4.1–6.0 ms (median), and with batching the
/// service answers more messages per second with two than with one (`cargo bench --bench semantic`,
/// `BENCH_THREADS=1|2 bench/load.sh`). More than two does not pay for a dozen word pieces,
/// and would take cores from the service's own threads.
fn default_model_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

impl Default for SemanticSettings {
    fn default() -> Self {
        SemanticSettings {
            enabled: cfg!(feature = "semantic"),
            model: None,
            on_error: OnModelError::Fail,
            threads: default_model_threads(),
            busy_threads: 1,
            precision: Precision::F32,
            cache: None,
            languages: vec![Locale::english()],
            neighbors: 1,
            // Fitted with `Calibration::hybrid()` (`bench/fit-defaults.sh hybrid`).
            thresholds: Thresholds {
                answer: 0.5,
                clarify: 0.41,
            },
            calibration: Calibration::hybrid(),
        }
    }
}

impl SemanticSettings {
    /// Whether the model covers `language` (an ISO 639-1 code).
    pub fn covers(&self, language: &str) -> bool {
        self.languages.iter().any(|l| l.language() == language)
    }

    /// The model folder in force.
    pub fn model_dir(&self) -> PathBuf {
        self.model
            .clone()
            .unwrap_or_else(|| PathBuf::from("models/all-MiniLM-L6-v2"))
    }
}

impl Calibration {
    /// The hybrid engine's defaults (messages in a language the model covers): fitted like
    /// the lexical ones, by `bench/fit-defaults.sh hybrid` with the default model, on the same
    /// five shops (rounded). The demo shop's own, fitted with its `questions:`, is in
    /// concierge.yaml.
    pub fn hybrid() -> Calibration {
        Calibration {
            rank_cosine: 0.4,
            rank_bm25: 0.2,
            rank_section: 0.3,
            rank_language: 0.0,
            unknown_weight: 0.6,
            bias: -1.039,
            w_score: 0.698,
            w_margin: -0.597,
            w_cosine: -1.309,
            w_coverage: 1.687,
            w_unknown: -1.115,
            w_language: 0.098,
            w_short: -0.255,
            rank_semantic: 1.5,
            w_semantic: 0.162,
            w_semantic_margin: -0.034,
            w_agreement: 0.489,
            w_semantic_rank: 0.334,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_chars: 2000,
        }
    }
}

impl Settings {
    /// Reads a config file. Relative folders in it are taken relative to the file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        Settings::from_file_naming(path).map(|(s, _)| s)
    }

    /// `from_file`, and which paths the file names itself.
    pub fn from_file_naming(path: &Path) -> Result<(Settings, NamedInFile), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut s = Settings::from_yaml(&text).map_err(|(line, message)| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        })?;
        let keys: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_default();
        let named = NamedInFile {
            knowledge_base: keys.get("knowledge_base").is_some(),
            intents: keys.get("intents").is_some(),
            model: keys
                .get("semantic")
                .and_then(|s| s.get("model"))
                .is_some_and(|m| !m.is_null()),
        };
        let base = path.parent().unwrap_or(Path::new(""));
        if s.knowledge_base.is_relative() {
            s.knowledge_base = base.join(&s.knowledge_base);
        }
        if s.intents.is_relative() {
            s.intents = base.join(&s.intents);
        }
        for dir in [&mut s.synonyms, &mut s.notices] {
            if let Some(d) = dir.as_mut().filter(|d| d.is_relative()) {
                *d = base.join(&*d);
            }
        }
        if let Some(m) = s.semantic.model.as_mut().filter(|m| m.is_relative()) {
            *m = base.join(&*m);
        }
        if let Some(c) = s.semantic.cache.as_mut().filter(|c| c.is_relative()) {
            *c = base.join(&*c);
        }
        s.validate().map_err(|message| ConfigError::Value {
            path: path.to_path_buf(),
            message,
        })?;
        Ok((s, named))
    }

    /// Parses YAML; errors are (line, message).
    pub fn from_yaml(text: &str) -> Result<Settings, (usize, String)> {
        match serde_yaml::from_str::<Option<Settings>>(text) {
            Ok(s) => Ok(s.unwrap_or_default()),
            Err(e) => {
                let line = e.location().map(|l| l.line()).unwrap_or(1);
                let msg = e.to_string();
                Err((
                    line,
                    msg.split(" at line ").next().unwrap_or(&msg).to_string(),
                ))
            }
        }
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        for t in [self.thresholds, self.semantic.thresholds] {
            check_thresholds(t)?;
        }
        if self.limits.max_message_chars == 0 {
            return Err("limits.max_message_chars must be at least 1".into());
        }
        let h = &self.http;
        if h.rate_limit.per_minute > 0 && h.rate_limit.burst == 0 {
            return Err("http.rate_limit.burst must be at least 1 when per_minute is set".into());
        }
        if h.request_timeout_ms == 0 || h.max_body_bytes == 0 || h.max_conversations == 0 {
            return Err("http.request_timeout_ms, http.max_body_bytes and http.max_conversations must be at least 1".into());
        }
        self.escalation
            .policy()
            .map_err(|e| format!("escalation.policy: {e}"))?;
        self.escalation
            .webhook
            .validate()
            .map_err(|e| format!("escalation.webhook: {e}"))?;
        if let Some(url) = &self.storage.url {
            url.validate()?;
        }
        self.handover.validate()?;
        self.chatwoot.validate()?;
        if let Some(t) = &self.admin.token {
            if t.expose().chars().count() < AdminToken::MIN_CHARS {
                return Err(format!(
                    "admin.token must be at least {} characters (e.g. `openssl rand -hex 32`)",
                    AdminToken::MIN_CHARS
                ));
            }
        }
        Ok(())
    }
}

fn check_thresholds(t: Thresholds) -> Result<(), String> {
    if !(0.0..=1.0).contains(&t.answer) || !(0.0..=1.0).contains(&t.clarify) || t.clarify > t.answer
    {
        return Err(format!(
            "thresholds must satisfy 0 <= clarify <= answer <= 1 (got clarify {}, answer {})",
            t.clarify, t.answer
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escalation_example_in_the_demo_config_is_valid() {
        let demo = include_str!("../concierge.yaml");
        let example: String = demo
            .lines()
            .skip_while(|l| *l != "# escalation:")
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(example.starts_with("escalation:"), "{example}");
        let s = Settings::from_yaml(&format!("{demo}\n{example}\n")).unwrap();
        s.validate().unwrap();
        assert!(s.escalation.hours.is_some());
        assert_eq!(
            s.escalation.webhook.url,
            "https://nordhaven.zendesk.com/api/v2/tickets.json"
        );
    }

    /// A calibration written before `rank_section` existed ranks as it was fitted: the new
    /// weight loads as 0, not as the default calibration's value.
    #[test]
    fn a_calibration_without_rank_section_loads_it_as_zero() {
        assert!(Calibration::default().rank_section > 0.0);
        let s = Settings::from_yaml("calibration:\n  rank_cosine: 0.6\n").unwrap();
        assert_eq!(s.calibration.rank_cosine, 0.6);
        assert_eq!(s.calibration.rank_section, 0.0);
        // The other keys a config leaves out are the defaults'.
        assert_eq!(s.calibration.rank_bm25, Calibration::default().rank_bm25);
        let demo = Settings::from_yaml(include_str!("../concierge.yaml")).unwrap();
        assert_eq!(demo.calibration.rank_section, 0.0);
        assert_eq!(demo.semantic.calibration.rank_section, 0.0);
        // Without a `calibration:` block, the default calibration, weights included.
        let none = Settings::from_yaml("shop:\n  name: X\n").unwrap();
        assert_eq!(none.calibration, Calibration::default());
    }

    #[test]
    fn typos_name_the_key_and_line() {
        let err = Settings::from_yaml("shop:\n  name: X\nthreshold:\n  answer: 0.5\n").unwrap_err();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("threshold"), "{}", err.1);
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(Settings::from_yaml("").unwrap(), Settings::default());
    }

    #[test]
    fn the_model_covers_the_languages_listed() {
        let s = Settings::default();
        assert!(s.semantic.covers("en"));
        assert!(!s.semantic.covers("es"));
        let s = Settings::from_yaml("semantic:\n  languages: [es, pt-BR]\n").unwrap();
        assert!(s.semantic.covers("es") && s.semantic.covers("pt"));
        assert!(!s.semantic.covers("en"));
    }

    #[test]
    fn the_precision_is_f32_or_int8_and_a_typo_names_the_line() {
        assert_eq!(Settings::default().semantic.precision, Precision::F32);
        let s = Settings::from_yaml("semantic:\n  precision: int8\n").unwrap();
        assert_eq!(s.semantic.precision, Precision::Int8);
        let err =
            Settings::from_yaml("shop:\n  name: X\nsemantic:\n  precision: int4\n").unwrap_err();
        assert_eq!(err.0, 4);
        assert!(
            err.1.contains("int4") && err.1.contains("int8"),
            "{}",
            err.1
        );
    }

    #[test]
    fn thresholds_are_checked() {
        let s = Settings::from_yaml("thresholds: {answer: 0.2, clarify: 0.5}").unwrap();
        assert!(s.validate().is_err());
    }
}
