//! A path the user named (a flag, an environment variable or a key of the config file) must
//! exist: a typo is an error naming it, not a shop without intents. Only the default folders
//! may be absent.

use std::path::{Path, PathBuf};

use concierge::config::{require_existing, ConfigError, NamedInFile, OnModelError, Settings};

use super::{Sources, DEFAULT_DATA};

/// The config file named by `--config` or `CONCIERGE_CONFIG`.
pub fn require_config(path: &Path) -> Result<(), ConfigError> {
    require_existing(
        path,
        "--config (or CONCIERGE_CONFIG)",
        "give the path of an existing config file, or leave --config out: ./concierge.yaml is read when it exists",
    )
}

/// The folders in force that a flag or the config file named.
pub fn require_named(
    s: &Sources,
    settings: &Settings,
    named: NamedInFile,
) -> Result<(), ConfigError> {
    let config = || {
        s.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("concierge.yaml"))
            .display()
            .to_string()
    };
    let by = |flag: Option<&PathBuf>, flag_name: &str, in_file: bool, key: &str| {
        if flag.is_some() {
            Some(flag_name.to_string())
        } else if in_file {
            Some(format!("`{key}` in {}", config()))
        } else {
            None
        }
    };
    if let Some(by) = by(
        s.kb.as_ref(),
        "--kb",
        named.knowledge_base,
        "knowledge_base",
    ) {
        require_existing(
            &settings.knowledge_base,
            &by,
            "give the folder that holds the shop's Markdown articles (the demo shop's is knowledge-base/)",
        )?;
    }
    if let Some(by) = by(s.intents.as_ref(), "--intents", named.intents, "intents") {
        require_existing(
            &settings.intents,
            &by,
            "give the folder that holds the shop's intents YAML files (the demo shop's is intents/), or leave it out to use only the built-in intents",
        )?;
    }
    // The shop's synonyms and notices have no default: set, they were named in the file.
    if let Some(dir) = &settings.synonyms {
        require_existing(
            dir,
            &format!("`synonyms` in {}", config()),
            "give the folder that holds the shop's synonyms (one <locale>.yaml per language, see docs/editors.md), or remove the key",
        )?;
    }
    if let Some(dir) = &settings.notices {
        require_existing(
            dir,
            &format!("`notices` in {}", config()),
            "give the folder that holds the notices (Markdown files with `from`/`until`, see docs/editors.md), or remove the key",
        )?;
    }
    // The model folder only matters when the model is to be loaded: not with --lexical-only,
    // not when `semantic.on_error: lexical` says to run without it (with a warning naming
    // it), and not in a lexical build (which refuses `semantic.enabled` by itself).
    let model_needed = cfg!(feature = "semantic")
        && settings.semantic.enabled
        && settings.semantic.on_error == OnModelError::Fail;
    let model = by(
        s.model.as_ref(),
        "--model (or CONCIERGE_MODEL)",
        named.model,
        "semantic.model",
    )
    .filter(|_| model_needed);
    if let Some(by) = model {
        require_existing(
            &settings.semantic.model_dir(),
            &by,
            "give the sentence-embedding model's folder (scripts/setup-model installs models/all-MiniLM-L6-v2), or pass --lexical-only to run without a model",
        )?;
    }
    Ok(())
}

/// `serve`'s data folder: one named by `--data` must exist; the default is created.
pub fn data_dir(named: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    match named {
        Some(dir) => {
            require_existing(
                &dir,
                "--data",
                "create the folder first (mkdir -p DIR), or leave --data out to keep the database in ./data",
            )?;
            Ok(dir)
        }
        None => Ok(PathBuf::from(DEFAULT_DATA)),
    }
}
