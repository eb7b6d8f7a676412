//! Self-calibration: a shop nobody calibrated gets confidences that mean what they mean on
//! the shop the defaults were fitted on.
//!
//! At build, the engine asks itself the shop's own texts (article titles, `questions:`,
//! section headings, the shop's intent examples), each held out of the index in turn, and
//! takes the median confidence of those it ranks right. Where a shop's writing gives weaker
//! signals than the demo shop's (no `questions:`, long bodies), that median is lower, and so
//! would every right answer's confidence be: the calibration's bias moves (in logit space) so
//! that the median lands where it is on the demo shop (`REFERENCE_*`, measured there with the
//! default calibration). The weights, thresholds and ranking are untouched.
//!
//! A shop that fitted its calibration on its own labelled questions (`concierge calibrate`)
//! switches this off with `self_calibration: false`.

use std::collections::HashMap;

use super::{calibrated, Engine, Question};
use crate::config::Calibration;
use crate::search::Target;

/// One of the shop's own texts, asked as a question.
#[derive(Debug, Clone)]
pub(super) struct SelfQuery {
    pub text: String,
    pub lang: String,
    /// Whose text it is: the right answer.
    pub target: Target,
    /// Its entry in the lexical index, held out while it is asked.
    pub entry: Option<usize>,
    /// Its position among the target's sentence rows in the semantic index (title, then
    /// questions; an intent's examples), when it has one.
    pub sentence: Option<usize>,
}

/// At most this many texts are asked (evenly spread over the shop): enough for a stable
/// median, cheap for a 10,000-article shop.
const MAX_QUERIES: usize = 400;
/// The hybrid engine scans every vector per question: fewer.
const MAX_HYBRID_QUERIES: usize = 150;
/// Fewer right answers than this: too little to go by, nothing moves.
const MIN_RIGHT: usize = 20;
/// The bias moves at most this far (in logits) either way.
const MAX_SHIFT: f32 = 1.0;

/// The median confidence of the right answers to the shops' own texts, with the default
/// calibrations (lexical, hybrid), on the shops the defaults were fitted on
/// (`bench/fit-defaults.sh`: the demo shop without its `questions:` lists, and
/// tests/devshops/*), averaged: what every shop is brought to. Lexical: 0.799 (demo), 0.816,
/// 0.818, 0.805 and 0.805; hybrid: 0.788 (demo), 0.819 and 0.818 (the other two have too few
/// English texts with vectors to count).
pub(super) const REFERENCE_LEXICAL: f32 = 0.809;
pub(super) const REFERENCE_HYBRID: f32 = 0.809;

/// What self-calibration found, for `ask --explain` and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SelfCalibration {
    /// Texts asked, and how many the engine ranked right.
    pub asked: usize,
    pub right: usize,
    /// The median confidence of the right ones before the shift.
    pub median: f32,
    /// What was added to the calibration's bias.
    pub shift: f32,
}

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

/// Every `len / n`-th of `len` items: an even spread.
fn spread(len: usize, n: usize) -> impl Iterator<Item = usize> {
    let step = len.div_ceil(n.max(1)).max(1);
    (0..len).step_by(step)
}

impl Engine {
    /// Asks the shop's own texts with `cal` (hybrid: with the semantic layer) and returns what
    /// it found, the shift included (not applied).
    pub(super) fn measure_self(
        &self,
        queries: &[SelfQuery],
        cal: &Calibration,
        hybrid: bool,
        reference: f32,
    ) -> SelfCalibration {
        let sem = self.semantic.as_ref().filter(|_| hybrid);
        // Where each target's sentence rows start in the semantic index.
        let mut first_row: HashMap<Target, usize> = HashMap::new();
        if let Some(sem) = sem {
            for (row, (target, section, _)) in sem.rows.iter().enumerate() {
                if section.is_none() {
                    first_row.entry(*target).or_insert(row);
                }
            }
        }
        let eligible: Vec<&SelfQuery> = queries
            .iter()
            .filter(|q| match sem {
                Some(_) => q.sentence.is_some() && self.settings.semantic.covers(&q.lang),
                None => true,
            })
            .collect();
        let max = if sem.is_some() {
            MAX_HYBRID_QUERIES
        } else {
            MAX_QUERIES
        };
        let mut confidences = Vec::new();
        let mut asked = 0;
        for i in spread(eligible.len(), max) {
            let q = eligible[i];
            let locale = q.lang.parse().ok();
            let question = Question::new(&q.text).with_locale_hint(locale);
            let row = match (sem, q.sentence) {
                (Some(_), Some(n)) => first_row.get(&q.target).map(|r| r + n),
                _ => None,
            };
            let embedding = match (sem, row) {
                (Some(sem), Some(r)) => Some(sem.vectors.get(r)),
                (Some(_), None) => continue,
                _ => None,
            };
            let mut a = self.retrieve_held_out(&question, embedding, q.entry, row);
            if a.language.language() != q.lang || !a.pattern_hits.is_empty() {
                continue;
            }
            asked += 1;
            self.rank(&mut a, cal);
            let Some(top) = a.candidates.first() else {
                continue;
            };
            if self.topic_key(top.target) == self.topic_key(q.target) {
                confidences.push(calibrated(cal, &a.features));
            }
        }
        let right = confidences.len();
        if right < MIN_RIGHT {
            return SelfCalibration {
                asked,
                right,
                ..SelfCalibration::default()
            };
        }
        confidences.sort_by(f32::total_cmp);
        let median = confidences[right / 2];
        SelfCalibration {
            asked,
            right,
            median,
            shift: (logit(reference) - logit(median)).clamp(-MAX_SHIFT, MAX_SHIFT),
        }
    }

    /// Self-calibrates the lexical and (when on) the hybrid calibration in place.
    pub(super) fn self_calibrate(&mut self, queries: &[SelfQuery]) {
        let cal = self.settings.calibration;
        let lexical = self.measure_self(queries, &cal, false, REFERENCE_LEXICAL);
        tracing::info!(?lexical, "self-calibration (lexical)");
        self.settings.calibration.bias += lexical.shift;
        self.self_calibration[0] = Some(lexical);
        if self.semantic.is_some() {
            let cal = self.settings.semantic.calibration;
            let hybrid = self.measure_self(queries, &cal, true, REFERENCE_HYBRID);
            tracing::info!(?hybrid, "self-calibration (hybrid)");
            self.settings.semantic.calibration.bias += hybrid.shift;
            self.self_calibration[1] = Some(hybrid);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Settings;

    /// Copies a knowledge base, leaving the `questions:` list out of every front matter.
    fn without_questions(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).expect("a knowledge-base folder") {
            let path = entry.expect("a folder entry").path();
            let target = to.join(path.file_name().expect("a name"));
            if path.is_dir() {
                std::fs::create_dir_all(&target).expect("a folder");
                without_questions(&path, &target);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("an article");
            let mut out = String::new();
            let mut in_questions = false;
            for line in text.lines() {
                if line.starts_with("questions:") {
                    in_questions = true;
                    continue;
                }
                if in_questions && (line.starts_with("  ") || line.starts_with('-')) {
                    continue;
                }
                in_questions = false;
                out.push_str(line);
                out.push('\n');
            }
            std::fs::write(&target, out).expect("a copy");
        }
    }

    #[test]
    fn logit_and_spread() {
        assert!((logit(0.5)).abs() < 1e-6);
        assert!(logit(0.9) > 2.0 && logit(0.1) < -2.0);
        assert_eq!(spread(10, 3).collect::<Vec<_>>(), [0, 4, 8]);
        assert_eq!(spread(2, 5).collect::<Vec<_>>(), [0, 1]);
    }

    /// The default calibration was fitted on the demo shop without its `questions:` lists and
    /// the development shops, and `REFERENCE_LEXICAL` measured there: on those shops,
    /// self-calibration moves nothing on average, and little on any one. Refit the defaults
    /// and this fails until the reference is measured again.
    #[test]
    fn the_shops_the_defaults_were_fitted_on_need_no_shift() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let kb = tempfile::tempdir().expect("a temporary folder");
        without_questions(&root.join("knowledge-base"), kb.path());
        let mut shops = vec![(kb.path().to_path_buf(), root.join("intents"))];
        let mut devshops: Vec<_> = std::fs::read_dir(root.join("tests/devshops"))
            .expect("tests/devshops")
            .map(|e| e.expect("a folder entry").path())
            .collect();
        devshops.sort();
        shops.extend(
            devshops
                .iter()
                .map(|d| (d.join("knowledge-base"), d.join("intents"))),
        );
        assert!(shops.len() >= 3, "the demo shop and the development shops");
        let mut medians = Vec::new();
        for (knowledge_base, intents) in shops {
            let mut s = Settings {
                knowledge_base: knowledge_base.clone(),
                intents,
                ..Settings::default()
            };
            s.semantic.enabled = false;
            let engine = Engine::load(&s).expect("a shop").0;
            let found = engine.self_calibration()[0].expect("self-calibration is on by default");
            assert!(found.right >= MIN_RIGHT, "{found:?}");
            assert!(
                (found.median - REFERENCE_LEXICAL).abs() < 0.02 && found.shift.abs() < 0.15,
                "{}: median {} against the reference {REFERENCE_LEXICAL}: {found:?}",
                knowledge_base.display(),
                found.median
            );
            medians.push(found.median);
        }
        let mean = medians.iter().sum::<f32>() / medians.len() as f32;
        assert!(
            (mean - REFERENCE_LEXICAL).abs() < 0.002,
            "the mean median {mean} ({medians:?}) against the reference {REFERENCE_LEXICAL}"
        );
    }
}
