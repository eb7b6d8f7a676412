//! Regression tests for editors (`concierge eval`) and fitting the confidence model
//! (`concierge calibrate`) on labelled questions.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Calibration, Thresholds};
use crate::conversation::{Core, Outcome as TurnOutcome};
use crate::engine::{calibrated, Analysis, Engine, Features, Outcome, Question, Reply, N_FEATURES};
use crate::escalation::Policy;
use crate::progress::{Progress, Silent, Task};

/// Errors reading a labelled set: the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}\n  hint: each line is a JSON object like {{\"q\": \"where is my parcel\", \"expect\": \"en/orders/tracking\"}} or {{\"q\": \"...\", \"expect\": \"ESCALATE\"}}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// What a labelled question expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Expect {
    /// The bot must hand it to a person.
    Escalate,
    /// An article id or an intent id.
    Target(String),
}

/// One line of a labelled set.
#[derive(Debug, Clone, Serialize)]
pub struct Labelled {
    pub q: String,
    pub expect: Expect,
    /// The language the question is in, when labelled; else the one detected.
    pub lang: Option<String>,
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    q: String,
    expect: String,
    #[serde(default)]
    lang: Option<String>,
}

/// Reads a JSON Lines labelled set; blank lines and lines starting with `#` are skipped.
pub fn read_labelled(path: &Path) -> Result<Vec<Labelled>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let l: Line = serde_json::from_str(raw).map_err(|e| Error::Line {
            path: path.display().to_string(),
            line: i + 1,
            message: e.to_string(),
        })?;
        let expect = if l.expect == "ESCALATE" {
            Expect::Escalate
        } else {
            Expect::Target(l.expect)
        };
        out.push(Labelled {
            q: l.q,
            expect,
            lang: l.lang,
            line: i + 1,
        });
    }
    Ok(out)
}

/// How one labelled question went.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome1 {
    pub line: usize,
    pub q: String,
    pub expect: Expect,
    pub lang: String,
    pub reply: Reply,
    /// The best candidate is the expected article or intent (and the bot did not escalate).
    pub top1: bool,
    pub features: Features,
    /// The best few candidates after ranking, for diagnosis (`eval --dump`).
    pub candidates: Vec<Ranked>,
}

/// One ranked candidate in a dump: the article or intent id, its language, score and the
/// signals the score is made of (`search::Match`, and the semantic cosine).
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub id: String,
    pub intent: bool,
    pub lang: String,
    pub score: f32,
    pub cosine: f32,
    pub coverage: f32,
    pub union: f32,
    pub bm25: f32,
    pub semantic: f32,
}

/// How many candidates a dump line lists.
const DUMP_CANDIDATES: usize = 10;

fn ranked(engine: &Engine, a: &Analysis) -> Vec<Ranked> {
    a.candidates
        .iter()
        .take(DUMP_CANDIDATES)
        .map(|c| {
            let (article, intent) = engine.target_ids(c.target);
            Ranked {
                id: intent
                    .map(|i| i.to_string())
                    .or_else(|| article.map(|a| a.to_string()))
                    .unwrap_or_default(),
                intent: intent.is_some(),
                lang: c.lang.clone(),
                score: c.score,
                cosine: c.m.cosine,
                coverage: c.m.coverage,
                union: c.m.union,
                bm25: c.m.bm25,
                semantic: c.semantic,
            }
        })
        .collect()
}

impl Outcome1 {
    fn escalated(&self) -> bool {
        self.reply.outcome == Outcome::Escalate
    }
}

fn hits(expect: &Expect, reply: &Reply) -> bool {
    match expect {
        Expect::Escalate => false,
        Expect::Target(t) => {
            reply.article.as_ref().is_some_and(|a| a.as_str() == t)
                || reply.intent.as_ref().is_some_and(|i| i.as_str() == t)
        }
    }
}

/// How many questions are embedded in one batch.
const EMBED_BATCH: usize = 256;

/// The messages' embeddings, in one batch per 256 (none when the engine is lexical); tells
/// `progress` after each batch.
fn embeddings(engine: &Engine, set: &[Labelled], progress: &dyn Progress) -> Vec<Option<Vec<f32>>> {
    set.chunks(EMBED_BATCH)
        .flat_map(|chunk| {
            let texts: Vec<&str> = chunk.iter().map(|l| l.q.as_str()).collect();
            let embedded = engine.embed_messages(&texts);
            progress.advance(chunk.len() as u64);
            embedded
        })
        .collect()
}

/// Runs every labelled question through the engine and the escalation policy's
/// single-message triggers: the outcome the service gives a conversation's first message.
pub fn run(engine: &Engine, policy: &Policy, set: &[Labelled]) -> Vec<Outcome1> {
    run_reporting(engine, policy, set, &Silent)
}

/// `run`, telling `progress` how many questions are done.
pub fn run_reporting(
    engine: &Engine,
    policy: &Policy,
    set: &[Labelled],
    progress: &dyn Progress,
) -> Vec<Outcome1> {
    let core = Core::new(engine, policy);
    progress.begin(Task::Evaluating, set.len() as u64);
    let mut outcomes = Vec::with_capacity(set.len());
    for chunk in set.chunks(EMBED_BATCH) {
        let texts: Vec<&str> = chunk.iter().map(|l| l.q.as_str()).collect();
        let embedded = engine.embed_messages(&texts);
        outcomes.extend(chunk.iter().zip(&embedded).map(|(l, e)| {
            let mut analysis = engine.retrieve_message(&Question::new(&l.q), e.as_deref());
            let cal = *engine.calibration_for(&analysis);
            engine.rank(&mut analysis, &cal);
            let turned = core.settle_alone(&l.q, engine.decide(&analysis));
            let mut reply = turned.reply;
            reply.outcome = match turned.outcome {
                TurnOutcome::Answer => Outcome::Answer,
                TurnOutcome::Clarify => Outcome::Clarify,
                TurnOutcome::Escalate | TurnOutcome::Handoff => Outcome::Escalate,
            };
            let top1 = reply.outcome != Outcome::Escalate && hits(&l.expect, &reply);
            Outcome1 {
                line: l.line,
                q: l.q.clone(),
                expect: l.expect.clone(),
                lang: l.lang.clone().unwrap_or_else(|| reply.language.clone()),
                features: analysis.features,
                candidates: ranked(engine, &analysis),
                reply,
                top1,
            }
        }));
        progress.advance(chunk.len() as u64);
    }
    progress.end();
    outcomes
}

/// Counts for one language (or all).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub questions: usize,
    pub answerable: usize,
    /// Answerable questions whose best candidate is right (answered or offered first).
    pub top1: usize,
    /// Answerable questions answered outright, and right.
    pub answered_right: usize,
    /// Answerable questions answered outright, and wrong.
    pub answered_wrong: usize,
    /// Answerable questions that were escalated anyway.
    pub answerable_escalated: usize,
    pub must_escalate: usize,
    pub must_escalate_escalated: usize,
}

impl Stats {
    fn add(&mut self, o: &Outcome1) {
        self.questions += 1;
        match o.expect {
            Expect::Escalate => {
                self.must_escalate += 1;
                self.must_escalate_escalated += o.escalated() as usize;
            }
            Expect::Target(_) => {
                self.answerable += 1;
                self.top1 += o.top1 as usize;
                self.answerable_escalated += o.escalated() as usize;
                if o.reply.outcome == Outcome::Answer {
                    if o.top1 {
                        self.answered_right += 1;
                    } else {
                        self.answered_wrong += 1;
                    }
                }
            }
        }
    }

    pub fn top1_accuracy(&self) -> f64 {
        ratio(self.top1, self.answerable)
    }

    /// Share of must-escalate questions that escalated.
    pub fn escalation_recall(&self) -> f64 {
        ratio(self.must_escalate_escalated, self.must_escalate)
    }

    /// Share of escalations that were meant to escalate.
    pub fn escalation_precision(&self) -> f64 {
        ratio(
            self.must_escalate_escalated,
            self.must_escalate_escalated + self.answerable_escalated,
        )
    }

    /// Share of answerable questions that escalated.
    pub fn false_escalation(&self) -> f64 {
        ratio(self.answerable_escalated, self.answerable)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub total: Stats,
    pub by_language: BTreeMap<String, Stats>,
    /// Calibration: per confidence decile, (questions, share whose best candidate was right).
    pub reliability: Vec<(f32, usize, f64)>,
}

pub fn report(outcomes: &[Outcome1]) -> Report {
    let mut total = Stats::default();
    let mut by_language: BTreeMap<String, Stats> = BTreeMap::new();
    for o in outcomes {
        total.add(o);
        by_language.entry(o.lang.clone()).or_default().add(o);
    }
    let mut buckets = vec![(0usize, 0usize); 10];
    for o in outcomes {
        let b = ((o.reply.confidence * 10.0) as usize).min(9);
        buckets[b].0 += 1;
        buckets[b].1 += (o.top1 || (o.expect == Expect::Escalate && o.escalated())) as usize;
    }
    let reliability = buckets
        .into_iter()
        .enumerate()
        .filter(|(_, (n, _))| *n > 0)
        .map(|(i, (n, ok))| (i as f32 / 10.0, n, ok as f64 / n as f64))
        .collect();
    Report {
        total,
        by_language,
        reliability,
    }
}

/// A fitted calibration and thresholds, and how many questions they were fitted on.
#[derive(Debug, Clone)]
pub struct Fit {
    pub calibration: Calibration,
    pub thresholds: Thresholds,
    /// The questions of the set the engine weighs with this calibration: with the semantic
    /// layer, those in a language the model covers (the others get the lexical calibration).
    pub questions: usize,
}

/// Fits the calibration on a labelled set: a grid over the ranking weights (for top-1
/// accuracy), then a logistic regression of "the best candidate is right" on the features,
/// and the clarify threshold that escalates the most must-escalate questions while escalating
/// at most `max_false_escalation` of the answerable ones. With the semantic layer on, only the
/// questions in a language the model covers are used: the hybrid calibration weighs no others.
pub fn fit(engine: &Engine, set: &[Labelled], max_false_escalation: f64) -> Fit {
    fit_reporting(engine, set, max_false_escalation, &Silent)
}

/// `fit`, telling `progress` how far it is: embedding the questions, then for each of the
/// three weights of unknown words, retrieving every question and each point of the grid.
pub fn fit_reporting(
    engine: &Engine,
    set: &[Labelled],
    max_false_escalation: f64,
    progress: &dyn Progress,
) -> Fit {
    fit_shops(&[(engine, set)], max_false_escalation, progress)
}

/// `fit` over several shops at once, each its engine and its labelled set: one calibration
/// that ranks the most questions right over all of them, its confidence model and clarify
/// threshold fitted on all their questions together. This is how the defaults a new shop
/// gets are fitted (docs/quality.md): on more than one shop's writing. The first shop's
/// engine gives the starting calibration (the weights the grid does not cover) and the answer
/// threshold.
pub fn fit_shops(
    shops: &[(&Engine, &[Labelled])],
    max_false_escalation: f64,
    progress: &dyn Progress,
) -> Fit {
    let (first, _) = shops.first().expect("at least one shop to fit on");
    let base = *first.calibration();
    let semantic = first.is_semantic();
    let unknown_weights = [1.0, 0.6, 0.3];
    let sections = RANK_SECTIONS.len();
    let grid_len = 6 * 4 * 4 * sections * if semantic { 5 } else { 1 };
    let total: usize = shops.iter().map(|(_, s)| s.len()).sum();
    progress.begin(
        Task::Calibrating,
        (total + unknown_weights.len() * (total + grid_len)) as u64,
    );
    // Per shop, the questions the calibration weighs and their embeddings.
    let mut skipped = 0;
    let shops: Vec<FitShop> = shops
        .iter()
        .map(|&(engine, set)| {
            let embedded = embeddings(engine, set, progress);
            let all = set.len();
            let (set, embedded): (Vec<Labelled>, Vec<Option<Vec<f32>>>) = set
                .iter()
                .cloned()
                .zip(embedded)
                .filter(|(l, e)| {
                    !engine.is_semantic()
                        || engine
                            .retrieve_embedded(
                                &Question::new(&l.q),
                                e.as_deref(),
                                base.unknown_weight,
                            )
                            .hybrid
                })
                .unzip();
            skipped += all - set.len();
            FitShop {
                engine,
                set,
                embedded,
            }
        })
        .collect();
    // The semantic weight is fitted only when the engine has the semantic layer.
    let rank_semantics: &[f32] = if semantic {
        &[0.25, 0.5, 0.75, 1.0, 1.5]
    } else {
        &[0.0]
    };
    // For each weight of unknown words (which changes retrieval): the ranking weights with the
    // most right answers, then the logistic model; the best accuracy wins, ties go to the
    // better-calibrated model (lower log-loss).
    let mut best: Option<Fitted> = None;
    for unknown_weight in unknown_weights {
        // Retrieval does not depend on the ranking weights: once per question, then re-rank.
        let mut analyses: Vec<Vec<Analysis>> = shops
            .iter()
            .map(
                |FitShop {
                     engine,
                     set,
                     embedded,
                 }| {
                    set.iter()
                        .zip(embedded)
                        .map(|(l, e)| {
                            engine.retrieve_embedded(
                                &Question::new(&l.q),
                                e.as_deref(),
                                unknown_weight,
                            )
                        })
                        .collect()
                },
            )
            .collect();
        // The questions left out above (not in the model's languages) count as retrieved.
        progress.advance(total as u64);
        let grid = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
            .into_iter()
            .flat_map(|c| [0.0, 0.1, 0.2, 0.4].map(move |b| (c, b)))
            .flat_map(|(c, b)| [0.0, 0.05, 0.1, 0.2].map(move |l| (c, b, l)))
            .flat_map(|(c, b, l)| RANK_SECTIONS.map(move |x| (c, b, l, x)))
            .flat_map(|(c, b, l, x)| rank_semantics.iter().map(move |&s| (c, b, l, x, s)));
        let mut ranked = (base, -1.0f64);
        for (rank_cosine, rank_bm25, rank_language, rank_section, rank_semantic) in grid {
            let cal = Calibration {
                rank_cosine,
                rank_bm25,
                rank_language,
                rank_section,
                rank_semantic,
                unknown_weight,
                ..base
            };
            let mut right = 0.0;
            for (FitShop { engine, set, .. }, analyses) in shops.iter().zip(analyses.iter_mut()) {
                for (l, a) in set.iter().zip(analyses.iter_mut()) {
                    engine.rank(a, &cal);
                    right += top_is_right(engine, l, a) as u8 as f64;
                }
            }
            if right > ranked.1 {
                ranked = (cal, right);
            }
            progress.advance(1);
        }
        let mut cal = ranked.0;
        let mut samples: Vec<(Features, f32)> = Vec::new();
        let mut escalate: Vec<bool> = Vec::new();
        for (FitShop { engine, set, .. }, analyses) in shops.iter().zip(analyses.iter_mut()) {
            for (l, a) in set.iter().zip(analyses.iter_mut()) {
                engine.rank(a, &cal);
                samples.push((a.features, top_is_right(engine, l, a) as u8 as f32));
                escalate.push(l.expect == Expect::Escalate);
            }
        }
        let w = logistic(&samples, 3000, 0.5, 0.01);
        cal.bias = w[0];
        cal.w_score = w[1];
        cal.w_margin = w[2];
        cal.w_cosine = w[3];
        cal.w_coverage = w[4];
        cal.w_unknown = w[5];
        cal.w_language = w[6];
        cal.w_short = w[7];
        cal.w_semantic = w[8];
        cal.w_semantic_margin = w[9];
        cal.w_agreement = w[10];
        cal.w_semantic_rank = w[11];
        let loss = log_loss(&cal, &samples);
        let better = best
            .as_ref()
            .is_none_or(|b| ranked.1 > b.right || (ranked.1 == b.right && loss < b.loss));
        if better {
            best = Some(Fitted {
                cal,
                right: ranked.1,
                loss,
                samples,
                escalate,
            });
        }
    }
    progress.end();
    let Fitted {
        cal,
        samples,
        escalate,
        ..
    } = best.expect("the loop runs at least once");

    // Pick the clarify threshold on the fitted confidences.
    let answer = first.thresholds().answer;
    let confidences: Vec<(f32, bool)> = samples
        .iter()
        .zip(&escalate)
        .map(|((f, _), &e)| (calibrated(&cal, f), e))
        .collect();
    let answerable = confidences.iter().filter(|c| !c.1).count().max(1) as f64;
    let mut clarify = 0.0f32;
    for step in 0..=100 {
        let t = step as f32 / 200.0;
        if t > answer {
            break;
        }
        let false_esc = confidences.iter().filter(|c| !c.1 && c.0 < t).count() as f64 / answerable;
        if false_esc <= max_false_escalation {
            clarify = t;
        }
    }
    Fit {
        calibration: cal,
        thresholds: Thresholds { answer, clarify },
        questions: total - skipped,
    }
}

/// One shop of a fit: its engine, the questions the calibration weighs, their embeddings.
struct FitShop<'a> {
    engine: &'a Engine,
    set: Vec<Labelled>,
    embedded: Vec<Option<Vec<f32>>>,
}

/// The weights of a target's best section's BM25 against its whole text's that the fit tries.
const RANK_SECTIONS: [f32; 3] = [0.0, 0.3, 0.5];

/// Whether the best candidate of an analysis is what a labelled question expects.
fn top_is_right(engine: &Engine, l: &Labelled, a: &Analysis) -> bool {
    let Expect::Target(t) = &l.expect else {
        return false;
    };
    a.candidates.first().is_some_and(|c| {
        let (article, intent) = engine.target_ids(c.target);
        let lang = a.language.language();
        let localized = article.map(|id| {
            engine
                .knowledge_base()
                .translation(id, lang)
                .map_or(id, |tr| &tr.id)
        });
        localized.is_some_and(|id| id.as_str() == t)
            || article.is_some_and(|id| id.as_str() == t)
            || intent.is_some_and(|i| i.as_str() == t)
    })
}

/// One candidate fit: the model, its right answers, its log-loss and its training samples.
struct Fitted {
    cal: Calibration,
    right: f64,
    loss: f64,
    samples: Vec<(Features, f32)>,
    /// Per sample: whether its question must escalate.
    escalate: Vec<bool>,
}

/// Mean negative log-likelihood of the labels under the calibrated confidences.
fn log_loss(cal: &Calibration, samples: &[(Features, f32)]) -> f64 {
    let n = samples.len().max(1) as f64;
    samples
        .iter()
        .map(|(f, y)| {
            let p = (calibrated(cal, f) as f64).clamp(1e-6, 1.0 - 1e-6);
            -(*y as f64 * p.ln() + (1.0 - *y as f64) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / n
}

/// Logistic regression by gradient descent with L2 regularization; returns [bias, weights…].
fn logistic(
    samples: &[(Features, f32)],
    iterations: usize,
    rate: f32,
    l2: f32,
) -> [f32; N_FEATURES + 1] {
    let mut w = [0f32; N_FEATURES + 1];
    if samples.is_empty() {
        return w;
    }
    let n = samples.len() as f32;
    for _ in 0..iterations {
        let mut grad = [0f32; N_FEATURES + 1];
        for (f, y) in samples {
            let x = f.as_array();
            let z = w[0] + (0..N_FEATURES).map(|j| w[j + 1] * x[j]).sum::<f32>();
            let p = 1.0 / (1.0 + (-z).exp());
            let err = p - y;
            grad[0] += err;
            for j in 0..N_FEATURES {
                grad[j + 1] += err * x[j];
            }
        }
        for j in 0..=N_FEATURES {
            let reg = if j == 0 { 0.0 } else { l2 * w[j] };
            w[j] -= rate * (grad[j] / n + reg);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_separates_a_clear_signal() {
        let mk = |score: f32, y: f32| {
            (
                Features {
                    score,
                    ..Features::default()
                },
                y,
            )
        };
        let samples: Vec<_> = (0..50)
            .map(|i| mk(i as f32 / 50.0, if i >= 25 { 1.0 } else { 0.0 }))
            .collect();
        let w = logistic(&samples, 3000, 0.5, 0.0);
        assert!(w[1] > 2.0, "{w:?}");
    }

    /// A calibration printed before the agreement features loads, with their weights 0: the
    /// confidence it gives is what it gave.
    #[test]
    fn a_calibration_without_the_agreement_weights_loads_with_them_zero() {
        let old = "rank_cosine: 0.3\nrank_bm25: 0.4\nunknown_weight: 0.3\nrank_language: 0.0\n\
                   bias: -1.57\nw_score: 1.2\nw_margin: -0.94\nw_cosine: -0.36\n\
                   w_coverage: 1.06\nw_unknown: -0.94\nw_language: -0.01\nw_short: -1.05\n\
                   rank_semantic: 1.5\nw_semantic: 0.75\nw_semantic_margin: 0.45\n";
        let cal: Calibration = serde_yaml::from_str(old).expect("an older calibration loads");
        assert_eq!((cal.w_agreement, cal.w_semantic_rank), (0.0, 0.0));
        assert_eq!(cal.bias, -1.57);
        let features = Features {
            score: 1.0,
            semantic: 0.8,
            agreement: 1.0,
            semantic_rank: 1.0,
            ..Features::default()
        };
        let without = Features {
            agreement: 0.0,
            semantic_rank: 0.0,
            ..features
        };
        assert_eq!(calibrated(&cal, &features), calibrated(&cal, &without));
    }

    /// The fit weighs the agreement: where it alone tells right from wrong, its weight is
    /// the one that grows.
    #[test]
    fn logistic_weighs_the_agreement() {
        let samples: Vec<_> = (0..60)
            .map(|i| {
                let agree = (i % 3 != 0) as u8 as f32;
                let f = Features {
                    score: 0.5,
                    agreement: agree,
                    ..Features::default()
                };
                (f, agree)
            })
            .collect();
        let w = logistic(&samples, 3000, 0.5, 0.0);
        assert!(w[10] > 2.0, "{w:?}");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(
            &p,
            "{\"q\": \"a\", \"expect\": \"ESCALATE\"}\n\n{\"q\": 1}\n",
        )
        .unwrap();
        let e = read_labelled(&p).unwrap_err().to_string();
        assert!(e.contains("x.jsonl:3"), "{e}");
    }
}
