//! The conversation core as `concierge test` drives it ([`crate::convtest::Driver`]): each
//! test is a new conversation in a [`MemoryStore`], decided by [`Core::take_turn`] exactly as
//! the service decides, with the flow's action answered by the test step instead of the
//! network.

use super::{Core, Message, Start};
use crate::convtest::{CustomerSpec, Driver, Observed};
use crate::flows::{ActionCall, ActionResult};
use crate::locale::Locale;
use crate::store::{self, Conversation, ConversationId, MemoryStore};

/// Runs conversation tests through the core.
pub struct TestDriver<'a> {
    core: Core<'a>,
    store: MemoryStore,
    conversation: Option<ConversationId>,
    customer: store::Customer,
}

impl<'a> TestDriver<'a> {
    pub fn new(core: Core<'a>) -> Self {
        TestDriver {
            core,
            store: MemoryStore::new(16),
            conversation: None,
            customer: store::Customer::default(),
        }
    }
}

impl Driver for TestDriver<'_> {
    fn begin(&mut self, customer: &CustomerSpec) {
        self.conversation = None;
        self.customer = store::Customer {
            email: customer.email.clone(),
            ..store::Customer::default()
        };
    }

    fn say(
        &mut self,
        text: &str,
        locale: Option<&str>,
        action: &mut dyn FnMut(&ActionCall) -> ActionResult,
    ) -> Observed {
        let start = match &self.conversation {
            Some(id) => Start::Existing(id.clone()),
            None => Start::New(Conversation::new(
                ConversationId::generate(),
                "test",
                self.customer.clone(),
                store::now_ms(),
            )),
        };
        let masked = crate::pii::mask(text);
        let locale = locale.and_then(|l| l.parse::<Locale>().ok());
        let message = Message::new(&masked).with_locale(locale);
        let recorded = match self
            .core
            .take_turn(&self.store, start, &message, || {}, action)
        {
            Ok(r) => r,
            Err(e) => {
                return Observed {
                    outcome: "error".into(),
                    text: format!("the conversation core failed: {e}"),
                    ..Observed::default()
                }
            }
        };
        self.conversation = Some(recorded.conversation);
        let t = recorded.turned;
        let flow = t.flow.as_ref();
        Observed {
            outcome: t.outcome.as_str().to_string(),
            intent: t.reply.intent.as_ref().map(|i| i.to_string()),
            article: t.reply.article.as_ref().map(|a| a.to_string()),
            text: t.reply.text.clone(),
            escalation: t.escalation.is_some(),
            flow: flow.filter(|f| f.running).map(|f| f.flow.clone()),
            asks: flow.and_then(|f| f.asks.clone()),
            slots: flow.map(|f| f.slots.clone()).unwrap_or_default(),
            choices: flow
                .map(|f| f.choices.iter().map(|c| c.label.clone()).collect())
                .unwrap_or_default(),
        }
    }
}
