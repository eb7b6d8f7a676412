//! Conversation tests (`concierge test FILE.yaml`), like Rasa's test stories: each test is a
//! whole conversation, each step what the shopper says and what must come back. A step can
//! give the result a flow's action returns (`action:`), so no shop API is needed.
//!
//! The runner knows nothing of how a turn is decided: it drives a [`Driver`], which the
//! conversation core implements, so `test` decides exactly as the service does. A failure
//! prints the conversation so far and each expectation that differs.
//!
//! ```yaml
//! tests:
//!   - name: order status, known customer
//!     customer: {email: ana@example.com}
//!     steps:
//!       - say: "where is order 10423?"
//!         action: {result: found, fields: {status: shipped}}
//!         expect: {intent: track_order, text: "on its way", slots: {order_number: "10423"}}
//! ```

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::{find_line, Diagnostic};
use crate::flows::{ActionCall, ActionResult};

/// A file of conversation tests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    pub tests: Vec<TestCase>,
}

/// One conversation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    /// The language the channel suggests for every step (`es`); detected when absent.
    #[serde(default)]
    pub locale: Option<String>,
    /// What the shop knows about the customer.
    #[serde(default)]
    pub customer: CustomerSpec,
    pub steps: Vec<TestStep>,
    #[serde(skip)]
    pub line: Option<usize>,
}

/// The known customer of a test.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSpec {
    #[serde(default)]
    pub email: Option<String>,
}

/// One shopper message and what must come back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestStep {
    pub say: String,
    /// The result of the flow action this message runs (it must run one).
    #[serde(default)]
    pub action: Option<ActionResult>,
    #[serde(default)]
    pub expect: Expect,
}

/// One text or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// What must come back; what is not named is not checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `answer`, `clarify` or `escalate`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub article: Option<String>,
    /// The reply contains each (case aside).
    #[serde(default)]
    pub text: Option<OneOrMany>,
    /// The reply contains none of these.
    #[serde(default)]
    pub not_text: Option<OneOrMany>,
    /// A hand-over to a person started (`true`) or not (`false`).
    #[serde(default)]
    pub escalation: Option<bool>,
    /// The flow running after this message, or `none`.
    #[serde(default)]
    pub flow: Option<String>,
    /// The slot the flow asks for now.
    #[serde(default)]
    pub asks: Option<String>,
    /// Slots filled so far (only those named are checked).
    #[serde(default)]
    pub slots: BTreeMap<String, String>,
    /// The quick replies offered, as labels.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
}

/// What one message came to, as the runner checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub outcome: String,
    pub intent: Option<String>,
    pub article: Option<String>,
    pub text: String,
    pub escalation: bool,
    /// The flow running after the message.
    pub flow: Option<String>,
    pub asks: Option<String>,
    /// The slots filled (of the running flow, or of the one that just finished).
    pub slots: BTreeMap<String, String>,
    pub choices: Vec<String>,
}

/// Runs conversations: the conversation core behind `concierge test`.
pub trait Driver {
    /// Starts a new conversation with this customer.
    fn begin(&mut self, customer: &CustomerSpec);
    /// One shopper message. A flow action runs through `action`, never the network.
    fn say(
        &mut self,
        text: &str,
        locale: Option<&str>,
        action: &mut dyn FnMut(&ActionCall) -> ActionResult,
    ) -> Observed;
}

/// Why a file cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {1}", path = .0.display())]
    Read(PathBuf, std::io::Error),
    #[error("{0}")]
    Invalid(Diagnostic),
}

/// Reads a test file; a mistake names its line.
pub fn read(path: &Path) -> Result<TestFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Read(path.to_path_buf(), e))?;
    parse(path, &text)
}

/// Parses a test file's text.
pub fn parse(path: &Path, text: &str) -> Result<TestFile, Error> {
    let mut file: TestFile = serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        Error::Invalid(
            Diagnostic::error(path, line, format!("invalid conversation test: {msg}")).with_hint(
                "a test is `- name: ...` with `steps:`; a step takes `say`, `action` and `expect`; see docs/conversation-tests.md",
            ),
        )
    })?;
    let mut from = 1;
    for t in &mut file.tests {
        t.line = find_line(text, &t.name, from);
        from = t.line.unwrap_or(from);
    }
    Ok(file)
}

/// One difference between what a step expected and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub what: String,
    pub expected: String,
    pub got: String,
}

/// A failed test: the step, the conversation up to it and the differences.
#[derive(Debug, Clone)]
pub struct Failure {
    /// 1-based.
    pub step: usize,
    pub transcript: Vec<(String, Observed)>,
    pub differences: Vec<Difference>,
}

/// One test's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub line: Option<usize>,
    pub failure: Option<Failure>,
}

/// Runs every test of a file, each in a new conversation.
pub fn run(file: &TestFile, driver: &mut dyn Driver) -> Vec<Outcome> {
    file.tests.iter().map(|t| run_one(t, driver)).collect()
}

fn run_one(test: &TestCase, driver: &mut dyn Driver) -> Outcome {
    driver.begin(&test.customer);
    let mut transcript = Vec::new();
    for (i, step) in test.steps.iter().enumerate() {
        let mut ran = 0usize;
        let mut fake = |_: &ActionCall| {
            ran += 1;
            step.action.clone().unwrap_or(ActionResult::Failed {
                status: None,
                reason: "the test step gives no `action:` result".into(),
            })
        };
        let observed = driver.say(&step.say, test.locale.as_deref(), &mut fake);
        let mut differences = compare(&step.expect, &observed);
        match (step.action.is_some(), ran) {
            (true, 0) => differences.push(Difference {
                what: "action".into(),
                expected: "a flow action runs".into(),
                got: "none ran".into(),
            }),
            (false, n) if n > 0 => differences.push(Difference {
                what: "action".into(),
                expected: "no flow action (or give its result in `action:`)".into(),
                got: format!("{n} ran"),
            }),
            _ => {}
        }
        transcript.push((step.say.clone(), observed));
        if !differences.is_empty() {
            return Outcome {
                name: test.name.clone(),
                line: test.line,
                failure: Some(Failure {
                    step: i + 1,
                    transcript,
                    differences,
                }),
            };
        }
    }
    Outcome {
        name: test.name.clone(),
        line: test.line,
        failure: None,
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "none".into())
}

/// The expectations a reply does not meet.
pub fn compare(e: &Expect, o: &Observed) -> Vec<Difference> {
    let mut d = Vec::new();
    let mut check = |what: &str, expected: String, got: String, ok: bool| {
        if !ok {
            d.push(Difference {
                what: what.into(),
                expected,
                got,
            });
        }
    };
    if let Some(x) = &e.outcome {
        check(
            "outcome",
            x.clone(),
            o.outcome.clone(),
            x.eq_ignore_ascii_case(&o.outcome),
        );
    }
    if let Some(x) = &e.intent {
        check(
            "intent",
            x.clone(),
            opt(&o.intent),
            o.intent.as_deref() == Some(x.as_str()) || (x == "none" && o.intent.is_none()),
        );
    }
    if let Some(x) = &e.article {
        check(
            "article",
            x.clone(),
            opt(&o.article),
            o.article.as_deref() == Some(x.as_str()) || (x == "none" && o.article.is_none()),
        );
    }
    let lower = o.text.to_lowercase();
    if let Some(x) = &e.text {
        for t in x.items() {
            check(
                "text",
                format!("contains \"{t}\""),
                o.text.clone(),
                lower.contains(&t.to_lowercase()),
            );
        }
    }
    if let Some(x) = &e.not_text {
        for t in x.items() {
            check(
                "text",
                format!("does not contain \"{t}\""),
                o.text.clone(),
                !lower.contains(&t.to_lowercase()),
            );
        }
    }
    if let Some(x) = e.escalation {
        check(
            "escalation",
            x.to_string(),
            o.escalation.to_string(),
            x == o.escalation,
        );
    }
    if let Some(x) = &e.flow {
        let ok = match x.as_str() {
            "none" => o.flow.is_none(),
            f => o.flow.as_deref() == Some(f),
        };
        check("flow", x.clone(), opt(&o.flow), ok);
    }
    if let Some(x) = &e.asks {
        let ok = o.asks.as_deref() == Some(x.as_str()) || (x == "none" && o.asks.is_none());
        check("asks", x.clone(), opt(&o.asks), ok);
    }
    for (k, v) in &e.slots {
        let got = o.slots.get(k).cloned();
        check(
            &format!("slot {k}"),
            v.clone(),
            opt(&got),
            got.as_deref() == Some(v.as_str()),
        );
    }
    if let Some(x) = &e.choices {
        check(
            "choices",
            x.join(" | "),
            o.choices.join(" | "),
            x == &o.choices,
        );
    }
    d
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  conversation so far:")?;
        for (i, (said, o)) in self.transcript.iter().enumerate() {
            writeln!(f, "    {}. shopper: {said}", i + 1)?;
            let mut tags = vec![o.outcome.clone()];
            if let Some(i) = &o.intent {
                tags.push(format!("intent {i}"));
            }
            if let Some(a) = &o.article {
                tags.push(format!("article {a}"));
            }
            if let Some(fl) = &o.flow {
                tags.push(format!("flow {fl}"));
            }
            if let Some(s) = &o.asks {
                tags.push(format!("asks {s}"));
            }
            if o.escalation {
                tags.push("escalation".into());
            }
            writeln!(f, "       bot [{}]: {}", tags.join(", "), o.text)?;
            for (n, c) in o.choices.iter().enumerate() {
                writeln!(f, "         {}. {c}", n + 1)?;
            }
        }
        writeln!(f, "  step {} differs:", self.step)?;
        for d in &self.differences {
            writeln!(f, "    {}:", d.what)?;
            writeln!(f, "      - expected: {}", d.expected)?;
            writeln!(f, "      + got:      {}", d.got)?;
        }
        Ok(())
    }
}

/// The report `concierge test` prints: one line per test, the failures in full, a total.
pub fn report(path: &Path, outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        let at = match o.line {
            Some(l) => format!("{}:{l}", path.display()),
            None => path.display().to_string(),
        };
        match &o.failure {
            None => {
                let _ = writeln!(out, "ok      {at}  {}", o.name);
            }
            Some(f) => {
                let _ = writeln!(out, "FAILED  {at}  {}", o.name);
                let _ = write!(out, "{f}");
            }
        }
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let _ = writeln!(out, "{} passed, {failed} failed", outcomes.len() - failed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver that answers from a script, to test the runner alone.
    struct Scripted {
        replies: Vec<Observed>,
        next: usize,
        actions: usize,
    }

    impl Driver for Scripted {
        fn begin(&mut self, _: &CustomerSpec) {
            self.next = 0;
        }
        fn say(
            &mut self,
            _: &str,
            _: Option<&str>,
            action: &mut dyn FnMut(&ActionCall) -> ActionResult,
        ) -> Observed {
            let o = self.replies[self.next].clone();
            self.next += 1;
            if o.asks.is_none() && o.flow.is_some() {
                self.actions += 1;
                let call = ActionCall {
                    flow: "f".to_string().try_into().unwrap(),
                    action: std::sync::Arc::new(crate::flows::Action::Http(
                        crate::flows::HttpAction {
                            method: crate::flows::Method::Get,
                            url: crate::flows::Template::parse("https://x.example"),
                            headers: vec![],
                            body: None,
                            timeout: std::time::Duration::from_secs(1),
                            pick: BTreeMap::new(),
                            found_if: None,
                            verify: None,
                        },
                    )),
                    slots: BTreeMap::new(),
                };
                let r = action(&call);
                let mut o = o;
                o.text = format!("{} {r:?}", o.text);
                return o;
            }
            o
        }
    }

    fn observed(text: &str, asks: Option<&str>) -> Observed {
        Observed {
            outcome: "answer".into(),
            intent: Some("track_order".into()),
            text: text.into(),
            flow: Some("order_status".into()),
            asks: asks.map(str::to_string),
            ..Observed::default()
        }
    }

    const FILE: &str = r#"tests:
  - name: passes
    steps:
      - say: where is my order
        expect: {intent: track_order, asks: order_number, text: order number}
      - say: "10423"
        action: {result: not_found}
        expect: {text: NotFound}
  - name: fails on the second step
    steps:
      - say: where is my order
        expect: {asks: order_number}
      - say: "10423"
        expect: {asks: email, text: [e-mail], escalation: false}
"#;

    #[test]
    fn the_runner_passes_and_fails_with_a_readable_difference() {
        let file = parse(Path::new("t.yaml"), FILE).unwrap();
        assert_eq!(file.tests[1].line, Some(9));
        let mut d = Scripted {
            replies: vec![
                observed("What's your order number?", Some("order_number")),
                observed("Found:", None),
            ],
            next: 0,
            actions: 0,
        };
        let outcomes = run(&file, &mut d);
        assert!(outcomes[0].failure.is_none(), "{:?}", outcomes[0].failure);
        let f = outcomes[1].failure.as_ref().unwrap();
        assert_eq!(f.step, 2);
        let whats: Vec<&str> = f.differences.iter().map(|d| d.what.as_str()).collect();
        assert_eq!(whats, ["text", "asks", "action"]);
        let text = report(Path::new("t.yaml"), &outcomes);
        assert!(text.contains("ok      t.yaml:2  passes"), "{text}");
        assert!(
            text.contains("FAILED  t.yaml:9  fails on the second step"),
            "{text}"
        );
        assert!(text.contains("1. shopper: where is my order"), "{text}");
        assert!(
            text.contains("asks:\n      - expected: email\n      + got:      none"),
            "{text}"
        );
        assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");
    }

    #[test]
    fn a_mistake_in_a_test_file_names_its_line() {
        let err = parse(
            Path::new("t.yaml"),
            "tests:\n  - name: x\n    steps:\n      - sey: hi\n",
        )
        .unwrap_err();
        let Error::Invalid(d) = err else { panic!() };
        assert_eq!(d.line, Some(4), "{d}");
        assert!(d.message.contains("sey"), "{d}");
    }
}
