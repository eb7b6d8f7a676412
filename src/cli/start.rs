//! The first minute of `chat`: say at once what is being loaded, and once ready, suggest
//! questions to try, taken from the shop's own articles in its languages.

use std::io::Write;

use concierge::engine::{Engine, Outcome, Question};

use super::progress::Reporter;

/// Says that the bot is ready, and with which engine.
pub fn ready(engine: &Engine, progress: &Reporter) {
    let how = if engine.is_semantic() {
        "words and meaning (hybrid engine)"
    } else {
        "words (lexical engine)"
    };
    progress.line(&format!("ready: answers by {how}"));
}

/// Three questions to try, each with its language.
pub fn print_questions_to_try(engine: &Engine) -> std::io::Result<()> {
    let questions = questions_to_try(engine, 3);
    if questions.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "Questions to try:")?;
    for q in &questions {
        writeln!(out, "  [{}] {}", q.language, q.text)?;
    }
    out.flush()
}

/// A question to try and its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub language: String,
    pub text: String,
}

/// Up to `n` questions the bot answers, taken from the articles' `questions:` (else their
/// titles): one language after the other (the default first), spread over the knowledge base,
/// one per topic (a translation is the same topic). Only questions the engine answers with
/// the article they come from are offered, so every suggestion works.
pub fn questions_to_try(engine: &Engine, n: usize) -> Vec<Suggestion> {
    let articles = engine.knowledge_base().articles();
    // Per served language, its articles' questions in a spread order: for k candidates,
    // 0, k/2, k/4, 3k/4, … rather than the first few (which tend to share a folder).
    let per_language: Vec<(&str, Vec<usize>)> = engine
        .languages()
        .iter()
        .map(|lang| {
            let mine: Vec<usize> = (0..articles.len())
                .filter(|&i| articles[i].locale.language() == lang.as_str())
                .collect();
            (lang.as_str(), spread(&mine))
        })
        .collect();
    let mut topics: Vec<&str> = Vec::new();
    let mut picked = Vec::new();
    let mut cursors = vec![0usize; per_language.len()];
    while picked.len() < n {
        let mut progressed = false;
        for (li, (lang, order)) in per_language.iter().enumerate() {
            if picked.len() == n {
                break;
            }
            while cursors[li] < order.len() {
                let a = &articles[order[cursors[li]]];
                cursors[li] += 1;
                let topic = a.id.path_without_locale();
                if topics.contains(&topic) {
                    continue;
                }
                let text = a.questions.first().unwrap_or(&a.title);
                let reply = engine.ask(&Question::new(text));
                if reply.outcome == Outcome::Answer && reply.article.as_ref() == Some(&a.id) {
                    topics.push(topic);
                    picked.push(Suggestion {
                        language: lang.to_string(),
                        text: text.clone(),
                    });
                    progressed = true;
                    break;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    picked
}

/// `items` in an order that samples all of it early: the middle, the quarters, the eighths…
fn spread<T: Copy>(items: &[T]) -> Vec<T> {
    let k = items.len();
    let mut seen = vec![false; k];
    let mut out = Vec::with_capacity(k);
    let mut step = k.next_power_of_two().max(1);
    while out.len() < k && step > 0 {
        let mut i = step / 2;
        while i < k {
            if !seen[i] {
                seen[i] = true;
                out.push(items[i]);
            }
            i += step.max(1);
        }
        if step == 1 {
            break;
        }
        step /= 2;
    }
    for (i, s) in seen.iter().enumerate() {
        if !s {
            out.push(items[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_visits_every_item_once_middle_first() {
        let items: Vec<usize> = (0..10).collect();
        let order = spread(&items);
        assert_eq!(order.len(), 10);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, items);
        assert_eq!(order[0], 8);
        assert!(spread::<usize>(&[]).is_empty());
        assert_eq!(spread(&[7]), vec![7]);
    }
}
