//! Prometheus metrics, kept in plain maps behind one mutex (a few hundred nanoseconds per
//! request) and rendered as the text exposition format on `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    messages: BTreeMap<(String, String), u64>,
    escalations: BTreeMap<String, u64>,
    feedback: BTreeMap<String, u64>,
    ratings: BTreeMap<u8, u64>,
    reloads: BTreeMap<String, u64>,
    rate_limited: u64,
}

/// The service's counters and histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A finished request: its route template (not its path, to bound the label values).
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let mut m = self.lock();
        *m.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        m.latency
            .entry(route.to_string())
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// An answered message: its outcome and language, and why it escalated if it did.
    pub fn message(&self, outcome: &str, language: &str, escalation: Option<&str>) {
        let mut m = self.lock();
        *m.messages
            .entry((outcome.to_string(), language.to_string()))
            .or_default() += 1;
        if let Some(reason) = escalation {
            *m.escalations.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// `helpful`, `not_helpful` or `rating`.
    pub fn feedback(&self, kind: &str, rating: Option<u8>) {
        let mut m = self.lock();
        *m.feedback.entry(kind.to_string()).or_default() += 1;
        if let Some(r) = rating {
            *m.ratings.entry(r).or_default() += 1;
        }
    }

    /// `loaded` or `refused`.
    pub fn reload(&self, result: &str) {
        *self.lock().reloads.entry(result.to_string()).or_default() += 1;
    }

    pub fn rate_limited(&self) {
        self.lock().rate_limited += 1;
    }

    /// The text exposition format.
    pub fn render(&self, ready: bool, generation: u64) -> String {
        let m = self.lock();
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "concierge_http_requests_total",
            "counter",
            "HTTP requests by route, method and status.",
        );
        for ((route, method, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "concierge_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                esc(route),
                esc(method)
            );
        }
        family(
            &mut out,
            "concierge_http_request_duration_seconds",
            "histogram",
            "Time to answer a request, by route.",
        );
        for (route, h) in &m.latency {
            let route = esc(route);
            for (le, c) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "concierge_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {c}"
                );
            }
            let _ = writeln!(
                out,
                "concierge_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nconcierge_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nconcierge_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        family(
            &mut out,
            "concierge_messages_total",
            "counter",
            "Messages answered, by outcome (answer, clarify, escalate) and language.",
        );
        for ((outcome, lang), n) in &m.messages {
            let _ = writeln!(
                out,
                "concierge_messages_total{{outcome=\"{}\",language=\"{}\"}} {n}",
                esc(outcome),
                esc(lang)
            );
        }
        family(
            &mut out,
            "concierge_escalations_total",
            "counter",
            "Messages handed to a person, by reason (low_confidence, intent).",
        );
        for (reason, n) in &m.escalations {
            let _ = writeln!(
                out,
                "concierge_escalations_total{{reason=\"{}\"}} {n}",
                esc(reason)
            );
        }
        family(
            &mut out,
            "concierge_feedback_total",
            "counter",
            "Feedback received, by kind (helpful, not_helpful, rating).",
        );
        for (kind, n) in &m.feedback {
            let _ = writeln!(
                out,
                "concierge_feedback_total{{kind=\"{}\"}} {n}",
                esc(kind)
            );
        }
        family(
            &mut out,
            "concierge_csat_ratings_total",
            "counter",
            "Conversation ratings (CSAT), by rating 1 to 5.",
        );
        for (rating, n) in &m.ratings {
            let _ = writeln!(
                out,
                "concierge_csat_ratings_total{{rating=\"{rating}\"}} {n}"
            );
        }
        family(
            &mut out,
            "concierge_reloads_total",
            "counter",
            "Content reloads, by result (loaded, refused).",
        );
        for (result, n) in &m.reloads {
            let _ = writeln!(
                out,
                "concierge_reloads_total{{result=\"{}\"}} {n}",
                esc(result)
            );
        }
        family(
            &mut out,
            "concierge_rate_limited_total",
            "counter",
            "Requests refused by the per-client rate limit.",
        );
        let _ = writeln!(out, "concierge_rate_limited_total {}", m.rate_limited);
        family(
            &mut out,
            "concierge_ready",
            "gauge",
            "1 when an index is loaded and answering.",
        );
        let _ = writeln!(out, "concierge_ready {}", u8::from(ready));
        family(
            &mut out,
            "concierge_content_generation",
            "gauge",
            "Versions of the content served so far.",
        );
        let _ = writeln!(out, "concierge_content_generation {generation}");
        out
    }
}

/// Escapes a label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let m = Metrics::default();
        m.request("/v1/messages", "POST", 200, Duration::from_millis(3));
        m.request("/v1/messages", "POST", 200, Duration::from_millis(30));
        let text = m.render(true, 1);
        assert!(text.contains(
            "concierge_http_request_duration_seconds_bucket{route=\"/v1/messages\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "concierge_http_request_duration_seconds_bucket{route=\"/v1/messages\",le=\"0.05\"} 2"
        ));
        assert!(text.contains("concierge_http_requests_total{route=\"/v1/messages\",method=\"POST\",status=\"200\"} 2"));
    }
}
