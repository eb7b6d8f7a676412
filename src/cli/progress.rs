//! Progress on standard error, in the conventions of command-line tools: a bar (indicatif)
//! when standard error is a terminal, plain lines otherwise ("embedding 2,674 texts… 40 %"),
//! so that logs and CI show how far the work is without control characters.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use concierge::config::Settings;
use concierge::progress::{Event, Progress, Task};

/// How much a command tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Every step: the shop loaded, the index, the model, the long work (`chat`, `eval`,
    /// `calibrate`).
    Steps,
    /// Only long work with a count (`ask`, `search`, `check`: their output is for scripts).
    LongWork,
}

/// Reports progress on standard error.
pub struct Reporter {
    verbosity: Verbosity,
    terminal: bool,
    current: Mutex<Option<Running>>,
}

struct Running {
    task: Task,
    total: u64,
    done: u64,
    /// The last tenth reported as a plain line.
    tenth: u64,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Reporter {
    pub fn new(verbosity: Verbosity) -> Reporter {
        Reporter {
            verbosity,
            terminal: std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }

    /// The first line, printed at once: where the shop comes from.
    pub fn starting(&self, settings: &Settings) {
        if self.verbosity == Verbosity::Steps {
            self.line(&format!(
                "loading the shop from {} and {}…",
                settings.knowledge_base.display(),
                settings.intents.display()
            ));
        }
    }

    /// A line on standard error, above the bar when one is drawn.
    pub fn line(&self, text: &str) {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        match current.as_ref().and_then(|r| r.bar.as_ref()) {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Progress for Reporter {
    fn event(&self, event: Event<'_>) {
        if self.verbosity != Verbosity::Steps {
            return;
        }
        match event {
            Event::ShopLoaded {
                articles,
                intents,
                languages,
            } => self.line(&format!(
                "shop loaded: {} articles, {} intents, languages {}",
                thousands(articles as u64),
                thousands(intents as u64),
                languages.join(", ")
            )),
            Event::BuildingIndex => self.line("building the search index…"),
            Event::LoadingModel(dir) => self.line(&format!(
                "loading the sentence-embedding model from {}…",
                dir.display()
            )),
            Event::EmbeddingsCached { texts } => self.line(&format!(
                "{} texts embedded already (vector cache)",
                thousands(texts as u64)
            )),
        }
    }

    fn begin(&self, task: Task, total: u64) {
        let what = format!("{} {} {}", task.doing(), thousands(total), task.unit());
        let bar = self.terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg}… {wide_bar} {percent:>3} % ({eta} left)")
                    .expect("a valid template"),
            );
            bar.set_message(what.clone());
            bar
        });
        if bar.is_none() {
            eprintln!("{what}…");
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Running {
            task,
            total,
            done: 0,
            tenth: 0,
            started: Instant::now(),
            bar,
        });
    }

    fn advance(&self, done: u64) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let Some(r) = current.as_mut() else { return };
        r.done = (r.done + done).min(r.total);
        match &r.bar {
            Some(bar) => bar.set_position(r.done),
            None => {
                let tenth = (r.done * 10).checked_div(r.total).unwrap_or(10);
                if tenth > r.tenth && tenth < 10 {
                    r.tenth = tenth;
                    eprintln!(
                        "{} {} {}… {} %",
                        r.task.doing(),
                        thousands(r.total),
                        r.task.unit(),
                        tenth * 10
                    );
                }
            }
        }
    }

    fn end(&self) {
        let Some(r) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        if let Some(bar) = &r.bar {
            bar.finish_and_clear();
        }
        eprintln!(
            "{} {} {}: done in {:.1} s",
            r.task.doing(),
            thousands(r.total),
            r.task.unit(),
            r.started.elapsed().as_secs_f64()
        );
    }
}

/// `2674` as `2,674`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2_674), "2,674");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
