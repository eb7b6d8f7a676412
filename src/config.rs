//! Settings: one YAML file (default `concierge.yaml` when present), overridden by flags.
//!
//! Every struct denies unknown keys, so a typo in the config is an error that names the key
//! instead of a silently ignored setting.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::locale::Locale;

/// Errors reading the configuration: all of them are the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}\n  hint: see the configuration reference in README.md; every key is listed there")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Value { path: PathBuf, message: String },
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
    pub thresholds: Thresholds,
    pub calibration: Calibration,
    pub limits: Limits,
    pub semantic: SemanticSettings,
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
    /// Threads the model computes one batch with (libtorch intra-op threads).
    pub threads: usize,
    /// Where embedded texts are cached (default: `$CONCIERGE_CACHE/vectors`, else
    /// `~/.cache/concierge/vectors`).
    pub cache: Option<PathBuf>,
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
            thresholds: Thresholds::default(),
            calibration: Calibration::default(),
            limits: Limits::default(),
            semantic: SemanticSettings::default(),
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
        Thresholds {
            answer: 0.5,
            clarify: 0.22,
        }
    }
}

impl Default for Calibration {
    fn default() -> Self {
        // Fitted by `concierge calibrate tests/eval/tuning.jsonl` on the demo shop (rounded);
        // see concierge.yaml.
        Calibration {
            rank_cosine: 0.4,
            rank_language: 0.0,
            bias: -1.615,
            w_score: 1.003,
            w_margin: 0.880,
            w_cosine: 0.883,
            w_coverage: 1.032,
            w_unknown: -1.033,
            w_language: 0.429,
            w_short: -0.377,
            rank_semantic: 0.0,
            w_semantic: 0.0,
            w_semantic_margin: 0.0,
        }
    }
}

impl Default for SemanticSettings {
    fn default() -> Self {
        SemanticSettings {
            enabled: cfg!(feature = "semantic"),
            model: None,
            on_error: OnModelError::Fail,
            threads: 1,
            cache: None,
            thresholds: Thresholds::default(),
            calibration: Calibration::hybrid(),
        }
    }
}

impl SemanticSettings {
    /// The model folder in force.
    pub fn model_dir(&self) -> PathBuf {
        self.model
            .clone()
            .unwrap_or_else(|| PathBuf::from("models/all-MiniLM-L6-v2"))
    }
}

impl Calibration {
    /// The hybrid engine's defaults: see `semantic.calibration` in concierge.yaml.
    pub fn hybrid() -> Calibration {
        Calibration {
            rank_semantic: 0.5,
            w_semantic: 2.0,
            w_semantic_margin: 2.0,
            bias: -2.5,
            ..Calibration::default()
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut s = Settings::from_yaml(&text).map_err(|(line, message)| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        if s.knowledge_base.is_relative() {
            s.knowledge_base = base.join(&s.knowledge_base);
        }
        if s.intents.is_relative() {
            s.intents = base.join(&s.intents);
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
        Ok(s)
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
    fn thresholds_are_checked() {
        let s = Settings::from_yaml("thresholds: {answer: 0.2, clarify: 0.5}").unwrap();
        assert!(s.validate().is_err());
    }
}
