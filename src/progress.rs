//! What long work is doing, told to whoever runs it: loading the shop, building the index,
//! embedding the shop's texts, evaluating or calibrating on a labelled set.
//!
//! The library never prints: it calls a [`Progress`] the caller passes in. `cli/` draws a bar
//! on a terminal and writes plain lines otherwise; `serve` logs its first load with [`Logged`]
//! (the first start embeds the shop: minutes on a busy machine), and its reloads and the tests
//! pass [`Silent`].

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// A step without a count.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The articles and intents are read (before the index and the model).
    ShopLoaded {
        articles: usize,
        /// The shop's own intents (not the built-in conversational ones).
        intents: usize,
        /// The served languages, the default first.
        languages: &'a [String],
    },
    /// The search index is being built.
    BuildingIndex,
    /// The sentence-embedding model is being loaded from this folder.
    LoadingModel(&'a Path),
    /// Every text of the shop already had its vector in the cache.
    EmbeddingsCached { texts: usize },
}

/// Work counted in units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// The shop's texts the vector cache does not hold yet.
    EmbeddingShop,
    /// Questions of a labelled set (`eval`).
    Evaluating,
    /// Steps of the calibration's fit: questions embedded, retrieved, grid points (`calibrate`).
    Calibrating,
}

impl Task {
    /// What the unit of this task is called, for messages ("2,674 texts").
    pub fn unit(self) -> &'static str {
        match self {
            Task::EmbeddingShop => "texts",
            Task::Evaluating => "questions",
            Task::Calibrating => "steps",
        }
    }

    /// What is being done, as a verb phrase.
    pub fn doing(self) -> &'static str {
        match self {
            Task::EmbeddingShop => "embedding",
            Task::Evaluating => "evaluating",
            Task::Calibrating => "calibrating",
        }
    }
}

/// Where progress goes. One task at a time: `begin`, `advance`…, `end`.
pub trait Progress: Sync {
    /// Something happened that has no count.
    fn event(&self, event: Event<'_>);
    /// `task` begins, with `total` units to do.
    fn begin(&self, task: Task, total: u64);
    /// `done` more units of the current task are finished.
    fn advance(&self, done: u64);
    /// The current task is over.
    fn end(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event<'_>) {}
    fn begin(&self, _: Task, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// Reports as log records (`tracing`, level info): the service's log is where an operator
/// looks while it starts. Long work is logged when it begins, at every tenth and at its end.
#[derive(Debug, Default)]
pub struct Logged {
    current: Mutex<Option<Counted>>,
}

#[derive(Debug)]
struct Counted {
    task: Task,
    total: u64,
    done: u64,
    tenth: u64,
    started: Instant,
}

impl Logged {
    fn current(&self) -> std::sync::MutexGuard<'_, Option<Counted>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for Logged {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::ShopLoaded {
                articles,
                intents,
                languages,
            } => tracing::info!(
                articles,
                intents,
                languages = %languages.join(", "),
                "shop loaded"
            ),
            Event::BuildingIndex => tracing::info!("building the search index"),
            Event::LoadingModel(dir) => {
                tracing::info!(model = %dir.display(), "loading the sentence-embedding model")
            }
            Event::EmbeddingsCached { texts } => {
                tracing::info!(
                    texts,
                    "the shop's texts are embedded already (vector cache)"
                )
            }
        }
    }

    fn begin(&self, task: Task, total: u64) {
        tracing::info!(total, unit = task.unit(), "{} started", task.doing());
        *self.current() = Some(Counted {
            task,
            total,
            done: 0,
            tenth: 0,
            started: Instant::now(),
        });
    }

    fn advance(&self, done: u64) {
        let mut current = self.current();
        let Some(c) = current.as_mut() else { return };
        c.done = (c.done + done).min(c.total);
        let tenth = (c.done * 10).checked_div(c.total).unwrap_or(10);
        if tenth > c.tenth && tenth < 10 {
            c.tenth = tenth;
            tracing::info!(
                done = c.done,
                total = c.total,
                unit = c.task.unit(),
                "{}: {} %",
                c.task.doing(),
                tenth * 10
            );
        }
    }

    fn end(&self) {
        if let Some(c) = self.current().take() {
            tracing::info!(
                total = c.total,
                unit = c.task.unit(),
                seconds = c.started.elapsed().as_secs_f64(),
                "{}: done",
                c.task.doing()
            );
        }
    }
}
