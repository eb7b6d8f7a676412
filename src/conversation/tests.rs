//! The core on the demo shop (lexical engine, loaded once) with a `MemoryStore`.

use std::sync::OnceLock;

use super::*;
use crate::config::Settings;
use crate::store::{Customer, MemoryStore, Outbox};

fn shop() -> &'static (Engine, Policy) {
    static SHOP: OnceLock<(Engine, Policy)> = OnceLock::new();
    SHOP.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut s = Settings::from_file(&root.join("concierge.yaml")).expect("demo config");
        s.semantic.enabled = false;
        let policy = s.escalation.policy().expect("demo policy");
        (Engine::load(&s).expect("demo shop").0, policy)
    })
}

fn core() -> Core<'static> {
    let (engine, policy) = shop();
    Core::new(engine, policy)
}

/// A flow action in a test that expects none.
fn no_action(call: &crate::flows::ActionCall) -> crate::flows::ActionResult {
    panic!("no flow action expected, {} ran", call.flow)
}

fn new_conversation() -> Start {
    Start::New(Conversation::new(
        ConversationId::generate(),
        "web",
        Customer::default(),
        store::now_ms(),
    ))
}

/// Says `text` in `conversation` (a new one when `None`); returns the conversation's id.
fn say(store: &MemoryStore, conversation: Option<&ConversationId>, text: &str) -> Recorded {
    let start = conversation.map_or_else(new_conversation, |c| Start::Existing(c.clone()));
    core()
        .take_turn(store, start, &Message::new(text), || {}, &mut no_action)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn a_message_alone_fires_the_single_message_triggers() {
    let cases = [
        ("shut up you stupid bot", Reason::Frustration),
        ("I want to talk to a person", Reason::HumanRequested),
        (
            "someone used my credit card on your site",
            Reason::EscalateIntent,
        ),
    ];
    for (text, reason) in cases {
        let t = core().alone(&Message::new(text));
        assert_eq!(t.outcome, Outcome::Escalate, "{text}: {t:?}");
        assert_eq!(t.escalation, Some(reason), "{text}");
        assert!(t.ticket.is_none(), "a message alone writes no ticket");
        assert!(t.reply.suggestions.is_empty());
    }
    let t = core().alone(&Message::new("how do I return my boots?"));
    assert_eq!((t.outcome, t.escalation), (Outcome::Answer, None), "{t:?}");
    assert_eq!(t.language.as_str(), "en");
}

#[test]
fn alone_and_in_a_new_conversation_decide_the_same() {
    let store = MemoryStore::new(100);
    for text in [
        "shut up you stupid bot",
        "how much is shipping to Belgium?",
        "qwertyuiop asdfgh",
        "hola",
    ] {
        let alone = core().alone(&Message::new(text));
        let first = say(&store, None, text).turned;
        assert_eq!(
            (alone.outcome, alone.escalation, &alone.reply.article),
            (first.outcome, first.escalation, &first.reply.article),
            "{text}"
        );
    }
}

#[test]
fn a_turn_commits_the_ticket_and_the_handoff_with_it() {
    let store = MemoryStore::new(10);
    let r = say(&store, None, "I want to talk to a person");
    let ticket = r
        .turned
        .ticket
        .as_ref()
        .expect("a live ticket (always open)");
    assert_eq!(
        r.turned.handoff,
        Handoff::HandedOver {
            ticket: ticket.id.clone(),
            mode: crate::escalation::Mode::Live
        }
    );
    let stored = store.conversation(&r.conversation).unwrap().unwrap();
    assert_eq!(stored.handoff, r.turned.handoff);
    let turns = store.turns(&r.conversation).unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].id, r.message);
    assert_eq!(store.list(None, 10).unwrap().len(), 1);
    // Never a second ticket.
    let again = say(&store, Some(&r.conversation), "a person please!");
    assert!(again.turned.ticket.is_none());
    assert_eq!(store.list(None, 10).unwrap().len(), 1);
}

#[test]
fn before_commit_runs_once_the_answer_is_computed() {
    let store = MemoryStore::new(10);
    let mut ran = false;
    let r = core()
        .take_turn(
            &store,
            new_conversation(),
            &Message::new("hello"),
            || ran = true,
            &mut no_action,
        )
        .unwrap();
    assert!(ran);
    assert!(store.conversation(&r.conversation).unwrap().is_some());
    let unknown = core().take_turn(
        &store,
        Start::Existing(ConversationId::generate()),
        &Message::new("hello"),
        || {},
        &mut no_action,
    );
    assert!(matches!(unknown, Err(store::Error::UnknownConversation(_))));
}

#[test]
fn a_follow_up_is_answered_with_the_previous_topic() {
    let store = MemoryStore::new(10);
    let first = say(&store, None, "How long does shipping to Germany take?");
    assert_eq!(first.turned.outcome, Outcome::Answer, "{:?}", first.turned);
    let topic = first.turned.reply.article.clone().expect("an article");
    let state = store.state(&first.conversation).unwrap().unwrap();
    assert_eq!(state.topic.as_ref().unwrap().article.as_ref(), Some(&topic));

    let alone = core().alone(&Message::new("and to Canada?"));
    let next = say(&store, Some(&first.conversation), "and to Canada?");
    assert!(next.turned.follow_up, "{:?}", next.turned);
    assert_eq!(next.turned.outcome, Outcome::Answer);
    assert_eq!(next.turned.reply.article.as_ref(), Some(&topic));
    assert_ne!(
        (alone.outcome, alone.reply.article.as_ref()),
        (Outcome::Answer, Some(&topic)),
        "the test needs a follow-up that the engine does not answer alone"
    );
    // The topic stays the first question's: a second follow-up still has it.
    let third = say(&store, Some(&first.conversation), "what about Brazil?");
    assert!(third.turned.follow_up, "{:?}", third.turned);
    assert_eq!(third.turned.reply.article.as_ref(), Some(&topic));
}

#[test]
fn only_a_short_message_without_its_own_answer_is_a_follow_up() {
    let store = MemoryStore::new(10);
    let first = say(&store, None, "How long does shipping to Germany take?");
    // A question of its own is answered on its own.
    let own = say(
        &store,
        Some(&first.conversation),
        "how do I return my boots?",
    );
    assert!(!own.turned.follow_up);
    assert_ne!(own.turned.reply.article, first.turned.reply.article);
    // Small talk clears the topic: nothing to follow up on.
    let store = MemoryStore::new(10);
    let hi = say(&store, None, "hello");
    let state = store.state(&hi.conversation).unwrap().unwrap();
    assert!(state.topic.is_none(), "{state:?}");
    let next = say(&store, Some(&hi.conversation), "and to Canada?");
    assert!(!next.turned.follow_up);
}

/// Says `text` in `conversation`, a flow's action answered by `result`.
fn say_with(
    store: &MemoryStore,
    conversation: Option<&ConversationId>,
    text: &str,
    result: crate::flows::ActionResult,
) -> (Recorded, usize) {
    let start = conversation.map_or_else(new_conversation, |c| Start::Existing(c.clone()));
    let mut ran = 0;
    let r = core()
        .take_turn(store, start, &Message::new(text), || {}, &mut |_| {
            ran += 1;
            result.clone()
        })
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    (r, ran)
}

#[test]
fn a_flow_is_started_stepped_and_its_state_committed_with_each_turn() {
    let store = MemoryStore::new(10);
    let first = say(&store, None, "where is my order?");
    let flow = first.turned.flow.clone().expect("the flow started");
    assert_eq!(
        (flow.flow.as_str(), flow.running, flow.asks.as_deref()),
        ("order_status", true, Some("order_number"))
    );
    let id = first.conversation.clone();
    let state = store.state(&id).unwrap().expect("state committed");
    assert!(state.flow.is_some(), "{state:?}");
    let second = say(&store, Some(&id), "10423");
    assert_eq!(
        second.turned.flow.as_ref().and_then(|f| f.asks.as_deref()),
        Some("email")
    );
    let found = crate::flows::ActionResult::Found {
        fields: [("status".to_string(), "shipped".to_string())].into(),
    };
    let (third, ran) = say_with(&store, Some(&id), "ana@example.com", found);
    assert_eq!(ran, 1, "the action ran once");
    assert!(
        third
            .turned
            .reply
            .text
            .contains("Order 10423: it's on its way."),
        "{:?}",
        third.turned
    );
    assert_eq!(third.turned.outcome, Outcome::Answer);
    let state = store.state(&id).unwrap().unwrap_or_default();
    assert!(state.flow.is_none(), "the flow is over: {state:?}");
}

#[test]
fn a_timed_out_action_hands_over_with_the_slots_in_the_ticket() {
    let store = MemoryStore::new(10);
    let first = say(&store, None, "track my order 10423");
    let id = first.conversation.clone();
    let (r, ran) = say_with(
        &store,
        Some(&id),
        "ana@example.com",
        crate::flows::ActionResult::Timeout,
    );
    assert_eq!(ran, 1);
    assert_eq!(r.turned.outcome, Outcome::Escalate, "{:?}", r.turned);
    assert_eq!(r.turned.escalation, Some(Reason::FlowFailed));
    assert!(
        r.turned.reply.text.contains("10423"),
        "{:?}",
        r.turned.reply
    );
    let ticket = r
        .turned
        .ticket
        .expect("a ticket (the demo shop is always open)");
    assert_eq!(
        ticket.slots.get("order_number").map(String::as_str),
        Some("10423")
    );
    assert_eq!(
        ticket.slots.get("email").map(String::as_str),
        Some("ana@example.com")
    );
    assert_eq!(
        store.list(None, 10).unwrap().len(),
        1,
        "committed with the turn"
    );
}

#[test]
fn a_person_asked_for_mid_flow_gets_a_ticket_with_the_slots_so_far() {
    let store = MemoryStore::new(10);
    let first = say(&store, None, "track my order 10423");
    let r = say(
        &store,
        Some(&first.conversation),
        "I want to talk to a person",
    );
    assert_eq!(
        r.turned.escalation,
        Some(Reason::HumanRequested),
        "{:?}",
        r.turned
    );
    let ticket = r.turned.ticket.expect("a ticket");
    assert_eq!(
        ticket.slots.get("order_number").map(String::as_str),
        Some("10423")
    );
}

/// Two attempts of one message decided at the same time (two processes on one store, each
/// with its own turn lock, or none): the second to commit writes nothing and answers with
/// the first's turn. One turn, one ticket.
#[test]
fn two_attempts_of_a_named_message_decided_at_once_store_one_turn() {
    let store = MemoryStore::new(100);
    let c = say(&store, None, "how do I return my boots?").conversation;
    let id = ClientMessageId::parse("retry-1").unwrap();
    let message = Message::new("I want to talk to a person").with_client_id(Some(id.clone()));
    let core = core();
    let one = core
        .begin_turn(&store, Start::Existing(c.clone()), &message)
        .unwrap();
    let two = core
        .begin_turn(&store, Start::Existing(c.clone()), &message)
        .unwrap();
    let first = core.complete_turn(&store, one, None, || {}).unwrap();
    assert!(!first.replayed);
    let ticket = first.turned.ticket.as_ref().expect("a ticket").id.clone();
    let second = core.complete_turn(&store, two, None, || {}).unwrap();
    assert!(second.replayed, "the second attempt is the first's answer");
    assert_eq!(second.message, first.message);
    assert_eq!(second.turned.reply.text, first.turned.reply.text);
    assert_eq!(second.turned.outcome, first.turned.outcome);
    assert_eq!(second.turned.escalation, first.turned.escalation);
    assert_eq!(second.turned.handoff, first.turned.handoff);
    assert!(second.turned.ticket.is_none(), "no ticket committed now");
    assert_eq!(store.turns(&c).unwrap().len(), 2);
    let tickets = store.list(None, 10).unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].ticket.id, ticket);

    // A later retry is found before anything is decided.
    let third = core
        .take_turn(
            &store,
            Start::Existing(c.clone()),
            &message,
            || {},
            &mut no_action,
        )
        .unwrap();
    assert!(third.replayed);
    assert_eq!(third.message, first.message);
    assert_eq!(store.turns(&c).unwrap().len(), 2);
}
