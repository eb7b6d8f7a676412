//! The engine being served, and hot reload: a watcher thread notices edits to the knowledge
//! base or intents, builds a new engine beside the old one and swaps it in atomically. Requests
//! hold an `Arc<Engine>` for as long as they need it, so they never see a half-built index; a
//! broken edit (any error diagnostic) keeps the last good version serving.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, UNIX_EPOCH};

use arc_swap::ArcSwapOption;

use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::progress::{Progress, Silent};
use crate::store::now_ms;

/// What the last load attempt found.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Versions served so far; 0 while the first is loading.
    pub generation: u64,
    pub loaded_at_ms: Option<u64>,
    /// Problems of the last attempt.
    pub problems: Vec<Diagnostic>,
    /// The last attempt was refused (errors) and an older version is served.
    pub reload_failed: bool,
    /// Why nothing is served, when nothing is.
    pub not_ready: Option<String>,
    /// What content is served: a hash of the files' names and bytes (see
    /// [`content_version`]), the same on every replica serving the same files.
    pub content_version: Option<String>,
}

/// The result of one load attempt, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadResult {
    Loaded,
    Refused,
}

/// The served engine and the state of reloading.
#[derive(Debug)]
pub struct Live {
    settings: Settings,
    engine: ArcSwapOption<Engine>,
    status: Mutex<Status>,
}

impl Live {
    pub fn new(settings: Settings) -> Arc<Live> {
        Arc::new(Live {
            settings,
            engine: ArcSwapOption::empty(),
            status: Mutex::new(Status {
                not_ready: Some("loading the knowledge base".into()),
                ..Status::default()
            }),
        })
    }

    /// A live engine serving `engine` already (tests).
    pub fn with_engine(settings: Settings, engine: Arc<Engine>) -> Arc<Live> {
        let live = Live::new(settings);
        live.engine.store(Some(engine));
        *live.lock_status() = Status {
            generation: 1,
            loaded_at_ms: Some(now_ms()),
            ..Status::default()
        };
        live
    }

    /// The engine to answer with, if one is loaded.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.load_full()
    }

    pub fn status(&self) -> Status {
        self.lock_status().clone()
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the content now (blocking: seconds of CPU on a large shop). The first load is
    /// served whatever its problems, as the other commands do; later ones only without errors.
    pub fn load(&self) -> LoadResult {
        self.load_reporting(&Silent)
    }

    /// `load`, telling `progress` what it is doing (the service's first load: embedding the
    /// shop takes minutes on a busy machine, and the log shows how far it is).
    pub fn load_reporting(&self, progress: &dyn Progress) -> LoadResult {
        let started = Instant::now();
        // The model of the engine being served is reused: loading it again would take longer
        // than the rest of the reload.
        let previous = self.engine.load_full();
        // Hashed before the load: an edit in between is seen by the watcher and loaded again.
        let version = content_version(&self.watched());
        let (engine, diags) =
            match Engine::load_reporting(&self.settings, previous.as_deref(), progress) {
                Ok((e, d)) => (Some(e), d),
                Err(e) => (
                    None,
                    vec![Diagnostic::error(
                        &self.settings.knowledge_base,
                        None,
                        format!("building the index: {e}"),
                    )],
                ),
            };
        let errors = diags.iter().filter(|d| d.is_error()).count();
        for d in diags.iter().filter(|d| d.is_error()) {
            tracing::warn!(file = %d.file.display(), line = d.line, message = %d.message, "problem in the content");
        }
        let first = self.engine.load().is_none();
        let mut status = self.lock_status();
        match engine {
            Some(engine) if errors == 0 || first => {
                let (articles, intents) = (engine.knowledge_base().len(), engine.intents().len());
                self.engine.store(Some(Arc::new(engine)));
                status.generation += 1;
                status.loaded_at_ms = Some(now_ms());
                status.problems = diags;
                status.reload_failed = false;
                status.not_ready = None;
                status.content_version = Some(version);
                tracing::info!(
                    generation = status.generation,
                    content_version = status.content_version.as_deref(),
                    articles,
                    intents,
                    errors,
                    ms = started.elapsed().as_millis() as u64,
                    "content loaded"
                );
                LoadResult::Loaded
            }
            _ => {
                status.problems = diags;
                status.reload_failed = !first;
                if first {
                    status.not_ready = Some("the index could not be built".into());
                }
                tracing::warn!(
                    errors,
                    generation = status.generation,
                    "edit refused: still serving the last good version"
                );
                LoadResult::Refused
            }
        }
    }

    /// The folders watched for edits: the content, the shop's synonyms and the notices.
    pub fn watched(&self) -> Vec<PathBuf> {
        let mut dirs = vec![
            self.settings.knowledge_base.clone(),
            self.settings.intents.clone(),
        ];
        dirs.extend(self.settings.synonyms.iter().cloned());
        dirs.extend(self.settings.notices.iter().cloned());
        dirs
    }
}

/// Watches the content by polling modification times every `interval`, and reloads once a
/// change has settled (unchanged for one more interval, so that an editor's save in several
/// writes is loaded once). Polling needs no platform watcher and works on every file system,
/// network mounts included. The thread ends when `live` is dropped.
pub fn spawn_watcher(
    live: &Arc<Live>,
    interval: Duration,
    on_load: impl Fn(LoadResult) + Send + 'static,
) -> std::io::Result<()> {
    let weak: Weak<Live> = Arc::downgrade(live);
    let dirs = live.watched();
    let mut seen = fingerprint(&dirs);
    std::thread::Builder::new()
        .name("kb-watcher".into())
        .spawn(move || {
            let mut pending: Option<u64> = None;
            loop {
                std::thread::sleep(interval);
                let Some(live) = weak.upgrade() else { return };
                let now = fingerprint(&dirs);
                if now != seen {
                    // Changed since the last look: wait until it stops changing.
                    seen = now;
                    pending = Some(now);
                    continue;
                }
                if pending.take().is_some() {
                    tracing::info!("content changed: reloading");
                    on_load(live.load());
                }
            }
        })?;
    Ok(())
}

/// A hash of every file's path, size and modification time under `dirs`.
pub fn fingerprint(dirs: &[PathBuf]) -> u64 {
    let mut files = Vec::new();
    for d in dirs {
        walk(d, &mut files, 0);
    }
    files.sort();
    let mut h = DefaultHasher::new();
    files.hash(&mut h);
    h.finish()
}

/// What content `dirs` hold, as 16 hex digits of a SHA-256 over every file's path (relative to
/// its folder) and bytes, in path order. Unlike [`fingerprint`], it ignores modification
/// times, so replicas given the same files report the same version (a rollout can be checked
/// on each one's `/readyz`).
pub fn content_version(dirs: &[PathBuf]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, d) in dirs.iter().enumerate() {
        let mut files = Vec::new();
        walk(d, &mut files, 0);
        files.sort();
        for (path, _, _) in files {
            let rel = path.strip_prefix(d).unwrap_or(&path);
            let bytes = std::fs::read(&path).unwrap_or_default();
            h.update((i as u64).to_le_bytes());
            h.update(rel.to_string_lossy().as_bytes());
            h.update([0]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
    }
    h.finalize()[..8]
        .iter()
        .fold(String::with_capacity(16), |mut hex, b| {
            use std::fmt::Write;
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64, u128)>, depth: usize) {
    // Deep enough for any real knowledge base, and no loop through symlinks.
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, out, depth + 1);
        } else {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push((path, meta.len(), mtime));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_with_content() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = vec![dir.path().to_path_buf()];
        let empty = fingerprint(&dirs);
        std::fs::write(dir.path().join("a.md"), "x").unwrap();
        let one = fingerprint(&dirs);
        assert_ne!(empty, one);
        std::fs::write(dir.path().join("a.md"), "xy").unwrap();
        assert_ne!(one, fingerprint(&dirs));
    }

    #[test]
    fn the_content_version_follows_bytes_not_times_or_places() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [&a, &b] {
            std::fs::create_dir_all(d.path().join("en")).unwrap();
            std::fs::write(d.path().join("en/returns.md"), "# Returns").unwrap();
        }
        let version = |d: &tempfile::TempDir| content_version(&[d.path().to_path_buf()]);
        assert_eq!(version(&a), version(&b), "same files, other folder");
        assert_eq!(version(&a).len(), 16);
        std::fs::write(b.path().join("en/returns.md"), "# Refunds").unwrap();
        assert_ne!(version(&a), version(&b));
    }
}
