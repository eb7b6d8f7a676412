//! What every [`Store`] promises, as tests each backend runs on itself
//! (`contract::check_all(&|| Box::new(MyStore::new()))`).

use super::*;
use crate::store::outbox::{
    DeliveryState, EscalationId, Handoff, Mode, OutboxError, Priority, Reason, Role, Ticket,
    TicketCustomer, TranscriptEntry, TICKET_TYPE,
};

/// Makes a new, empty store.
pub type Factory<'a> = &'a dyn Fn() -> Box<dyn Store>;

/// Runs every check on fresh stores from `make`.
pub fn check_all(make: Factory<'_>) {
    turns_are_kept_in_order_and_masked(&*make());
    a_customer_is_recognised_across_channels(&*make());
    the_handoff_changes_with_its_turn(&*make());
    a_ticket_commits_with_its_turn_or_not_at_all(&*make());
    a_first_turn_starts_its_conversation_in_the_same_transaction(&*make());
    the_outbox_only_moves_forward(&*make());
    forget_deletes_everything_about_a_customer(&*make());
    retention_never_purges_a_pending_ticket(&*make());
    feedback_needs_a_known_conversation_and_message(&*make());
    the_state_commits_with_its_turn_and_is_masked(&*make());
    events_commit_with_their_turn_and_go_in_order_after_the_ticket(&*make());
    activity_commits_with_the_handoff_and_is_masked(&*make());
    an_inbound_request_id_is_accepted_once(&*make());
    the_report_counts_what_was_recorded(&*make());
    unanswered_lists_escalated_thumbed_down_and_untaken_choices_once_each(&*make());
    a_client_message_id_is_stored_once_per_conversation(&*make());
}

pub fn customer(id: &str, name: Option<&str>, email: Option<&str>) -> Customer {
    Customer {
        id: Some(id.into()),
        name: name.map(Into::into),
        email: email.map(Into::into),
    }
}

pub fn start(store: &dyn Store, channel: &str, customer: Customer, at: u64) -> ConversationId {
    let id = ConversationId::generate();
    store
        .create_conversation(Conversation::new(id.clone(), channel, customer, at))
        .unwrap();
    id
}

pub fn turn(text: &str, at_ms: u64) -> Turn {
    Turn {
        id: MessageId::generate(),
        text: text.into(),
        reply: "Happy to help.".into(),
        outcome: Outcome::Answer,
        language: "en".into(),
        intent: Some("greeting".into()),
        article: None,
        confidence: 0.75,
        at_ms,
        response_ms: None,
        client_id: None,
        shown: None,
    }
}

pub fn ticket(conversation: &ConversationId, text: &str) -> Ticket {
    Ticket {
        kind: TICKET_TYPE.into(),
        id: EscalationId::generate(),
        created_at: "2026-11-29T10:00:00Z".into(),
        conversation_id: conversation.to_string(),
        customer: TicketCustomer::default(),
        channel: "web".into(),
        language: "en".into(),
        reason: Reason::HumanRequested,
        mode: Mode::Live,
        priority: Priority::Normal,
        category: "orders".into(),
        intent: None,
        confidence: 0.2,
        subject: format!("Shopper writes: {text}"),
        transcript: vec![TranscriptEntry {
            role: Role::Customer,
            text: text.into(),
            at: "2026-11-29T10:00:00Z".into(),
            channel: None,
            conversation_id: None,
        }],
        suggested_articles: vec![],
        slots: Default::default(),
    }
}

fn handed_over(t: &Ticket) -> Handoff {
    Handoff::HandedOver {
        ticket: t.id.clone(),
        mode: Mode::Live,
    }
}

pub fn turns_are_kept_in_order_and_masked(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 1_000);
    for (i, text) in ["hi", "my card is 4111 1111 1111 1111", "bye"]
        .iter()
        .enumerate()
    {
        store
            .record_turn(&c, turn(text, 2_000 + i as u64), None, None)
            .unwrap();
    }
    let turns = store.turns(&c).unwrap();
    let texts: Vec<&str> = turns.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["hi", "my card is [card •••• 1111]", "bye"]);
    assert_eq!(turns[0].intent.as_deref(), Some("greeting"));
    assert!((turns[0].confidence - 0.75).abs() < 1e-6);
    let header = store.conversation(&c).unwrap().unwrap();
    assert_eq!(header.last_ms, 2_002);
    assert_eq!(header.started_ms, 1_000);
    assert_eq!(header.handoff, Handoff::Bot);
    let unknown = ConversationId::generate();
    assert!(matches!(
        store.record_turn(&unknown, turn("x", 1), None, None),
        Err(Error::UnknownConversation(_))
    ));
    assert!(matches!(
        store.turns(&unknown),
        Err(Error::UnknownConversation(_))
    ));
    assert!(store.conversation(&unknown).unwrap().is_none());
}

pub fn a_customer_is_recognised_across_channels(store: &dyn Store) {
    let web = start(store, "web", customer("cu-1", Some("Ana"), None), 1_000);
    store
        .record_turn(&web, turn("where is my order?", 1_100), None, None)
        .unwrap();
    let api = start(store, "api", customer("cu-1", None, None), 2_000);
    store
        .record_turn(&api, turn("still waiting", 2_100), None, None)
        .unwrap();
    let other = start(store, "web", customer("cu-2", Some("Bo"), None), 2_500);
    store
        .record_turn(&other, turn("hello", 2_600), None, None)
        .unwrap();
    let email = start(
        store,
        "email",
        customer("cu-1", None, Some("ana@example.com")),
        3_000,
    );
    // The newest conversation knows the name given on the web and the email given now; the
    // older ones see the email too.
    let c = store.conversation(&email).unwrap().unwrap();
    assert_eq!(c.customer.name.as_deref(), Some("Ana"));
    assert_eq!(c.customer.email.as_deref(), Some("ana@example.com"));
    let c = store.conversation(&web).unwrap().unwrap();
    assert_eq!(c.customer.email.as_deref(), Some("ana@example.com"));

    // A customer without an id is remembered with their conversation only.
    let anonymous = Customer {
        id: None,
        name: Some("Cy".into()),
        email: Some("cy@example.com".into()),
    };
    let anon = start(store, "web", anonymous.clone(), 3_500);
    assert_eq!(
        store.conversation(&anon).unwrap().unwrap().customer,
        anonymous
    );

    let history = store.customer_history("cu-1", &email, 10).unwrap();
    let ids: Vec<&ConversationId> = history.iter().map(|(c, _)| &c.id).collect();
    assert_eq!(ids, [&api, &web], "newest first, not the current one");
    assert_eq!(history[0].0.channel, "api");
    assert_eq!(history[1].1[0].text, "where is my order?");
    assert_eq!(store.customer_history("cu-1", &email, 1).unwrap().len(), 1);
    assert!(store
        .customer_history("nobody", &email, 10)
        .unwrap()
        .is_empty());
}

pub fn the_handoff_changes_with_its_turn(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 1_000);
    let waiting = Handoff::AwaitingEmail {
        reason: Reason::LowConfidence,
        attempts: 1,
        intent: Some("refund".into()),
        confidence: 0.1,
    };
    store
        .record_turn(&c, turn("help", 1_500), Some(&waiting), None)
        .unwrap();
    assert_eq!(store.conversation(&c).unwrap().unwrap().handoff, waiting);
    // No handoff given: the state stays.
    store
        .record_turn(&c, turn("hello?", 1_600), None, None)
        .unwrap();
    assert_eq!(store.conversation(&c).unwrap().unwrap().handoff, waiting);
}

pub fn a_ticket_commits_with_its_turn_or_not_at_all(store: &dyn Store) {
    let c = start(store, "web", customer("cu-9", None, None), 1_000);
    let before = now_ms();
    let t = ticket(&c, "IBAN NL91ABNA0417164300, call me");
    store
        .record_turn(
            &c,
            turn("a person please", 1_500),
            Some(&handed_over(&t)),
            Some(&t),
        )
        .unwrap();
    let due = store.due(now_ms(), 10).unwrap();
    assert_eq!(due.len(), 1);
    let entry = &due[0];
    assert_eq!(entry.ticket.id, t.id);
    assert_eq!(entry.state, DeliveryState::Pending);
    assert_eq!(entry.attempts, 0);
    assert!(entry.next_attempt_ms >= before && entry.next_attempt_ms <= now_ms());
    // What the shopper typed is masked in the ticket as well.
    assert_eq!(
        entry.ticket.transcript[0].text,
        "IBAN [IBAN •••• 4300], call me"
    );
    assert!(!entry.ticket.subject.contains("NL91ABNA"));

    // The same ticket again: nothing of that turn is written, the handoff stays.
    let again = store.record_turn(&c, turn("hello?", 1_600), Some(&Handoff::Bot), Some(&t));
    assert!(
        matches!(again, Err(Error::DuplicateTicket(ref id)) if *id == t.id),
        "{again:?}"
    );
    assert_eq!(store.turns(&c).unwrap().len(), 1);
    let header = store.conversation(&c).unwrap().unwrap();
    assert_eq!(header.handoff, handed_over(&t));
    assert_eq!(header.last_ms, 1_500);
    assert_eq!(store.list(None, 10).unwrap().len(), 1);
}

pub fn a_first_turn_starts_its_conversation_in_the_same_transaction(store: &dyn Store) {
    let earlier = start(store, "web", Customer::default(), 500);
    let t = ticket(&earlier, "a person please");
    store
        .record_turn(&earlier, turn("a person please", 600), None, Some(&t))
        .unwrap();
    // A new conversation whose first turn carries a ticket id already in the outbox: neither
    // the conversation nor its customer nor the turn is written.
    let id = ConversationId::generate();
    let c = Conversation::new(
        id.clone(),
        "api",
        customer("cu-first", Some("Flo"), None),
        1_000,
    );
    let failed = store.record_first_turn(c.clone(), turn("hi", 1_000), None, Some(&t));
    assert!(
        matches!(failed, Err(Error::DuplicateTicket(_))),
        "{failed:?}"
    );
    assert!(store.conversation(&id).unwrap().is_none());
    assert!(store
        .customer_history("cu-first", &ConversationId::generate(), 10)
        .unwrap()
        .is_empty());
    // Without the clash it is all there.
    store
        .record_first_turn(c, turn("hi", 1_000), Some(&Handoff::Bot), None)
        .unwrap();
    let header = store.conversation(&id).unwrap().unwrap();
    assert_eq!(header.channel, "api");
    assert_eq!(header.customer.name.as_deref(), Some("Flo"));
    assert_eq!(store.turns(&id).unwrap().len(), 1);
}

pub fn the_outbox_only_moves_forward(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 1_000);
    let t = ticket(&c, "help");
    store
        .record_turn(&c, turn("help", 1_100), None, Some(&t))
        .unwrap();
    let now = now_ms();
    assert_eq!(
        store.next_due_ms().unwrap(),
        store
            .due(now, 1)
            .unwrap()
            .first()
            .map(|e| e.next_attempt_ms)
    );

    store
        .mark_failed(&t.id, 1, now + 60_000, "HTTP 500")
        .unwrap();
    assert!(
        store.due(now, 10).unwrap().is_empty(),
        "not due before its time"
    );
    assert_eq!(store.next_due_ms().unwrap(), Some(now + 60_000));
    let e = &store.due(now + 60_000, 10).unwrap()[0];
    assert_eq!((e.attempts, e.last_error.as_deref()), (1, Some("HTTP 500")));

    store.mark_dead(&t.id, 5, "timed out").unwrap();
    assert!(store.due(u64::MAX / 2, 10).unwrap().is_empty());
    assert_eq!(store.next_due_ms().unwrap(), None);
    let dead = store.list(Some(DeliveryState::Dead), 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 5);
    assert!(store
        .list(Some(DeliveryState::Pending), 10)
        .unwrap()
        .is_empty());

    // Retry: pending again, due now, attempts reset.
    assert!(store.retry(&t.id, now + 1).unwrap());
    let e = &store.due(now + 1, 10).unwrap()[0];
    assert_eq!(
        (e.state, e.attempts, e.next_attempt_ms),
        (DeliveryState::Pending, 0, now + 1)
    );

    store.mark_delivered(&t.id, now + 2).unwrap();
    let e = &store.list(None, 10).unwrap()[0];
    assert_eq!(e.state, DeliveryState::Delivered);
    assert_eq!(e.delivered_ms, Some(now + 2));
    assert_eq!(e.attempts, 1, "the attempt that delivered counts");
    // Delivered is final: a late failure report or a retry leaves it alone.
    assert!(!store.retry(&t.id, now + 3).unwrap());
    store.mark_failed(&t.id, 2, now + 4, "late").unwrap();
    store.mark_dead(&t.id, 2, "late").unwrap();
    store.mark_delivered(&t.id, now + 5).unwrap();
    let e = &store.list(None, 10).unwrap()[0];
    assert_eq!(
        (e.state, e.delivered_ms, e.attempts),
        (DeliveryState::Delivered, Some(now + 2), 1)
    );

    let unknown = EscalationId::generate();
    let is_unknown = |r: Result<(), OutboxError>| matches!(r, Err(OutboxError::UnknownTicket(_)));
    assert!(is_unknown(store.mark_delivered(&unknown, now)));
    assert!(is_unknown(store.mark_failed(&unknown, 1, now, "x")));
    assert!(is_unknown(store.mark_dead(&unknown, 1, "x")));
    assert!(matches!(
        store.retry(&unknown, now),
        Err(OutboxError::UnknownTicket(_))
    ));

    // Oldest first when due, newest first when listed.
    let second = ticket(&c, "again");
    store
        .record_turn(&c, turn("again", 1_200), None, Some(&second))
        .unwrap();
    let listed = store.list(None, 10).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(store.list(None, 1).unwrap().len(), 1);
}

pub fn forget_deletes_everything_about_a_customer(store: &dyn Store) {
    let a = start(store, "web", customer("cu-f", Some("Fay"), None), 1_000);
    let b = start(store, "email", customer("cu-f", None, None), 2_000);
    let keep = start(store, "web", customer("cu-k", None, None), 2_000);
    let t = turn("hi", 1_100);
    store.record_turn(&a, t.clone(), None, None).unwrap();
    store
        .record_turn(&a, turn("again", 1_200), None, None)
        .unwrap();
    store
        .add_feedback(
            &a,
            Feedback::Helpful {
                message: t.id.clone(),
                helpful: false,
            },
        )
        .unwrap();
    store.add_feedback(&a, Feedback::Rating(2)).unwrap();
    let tk = ticket(&b, "person");
    store
        .record_turn(&b, turn("person", 2_100), None, Some(&tk))
        .unwrap();
    store
        .record_turn(&keep, turn("mine", 2_100), None, Some(&ticket(&keep, "x")))
        .unwrap();

    let report = store.forget_customer("cu-f").unwrap();
    assert_eq!(
        report,
        ForgetReport {
            customers: 1,
            conversations: 2,
            messages: 3,
            feedback: 2,
            tickets: 1,
        }
    );
    assert!(store.conversation(&a).unwrap().is_none());
    assert!(store.conversation(&b).unwrap().is_none());
    assert!(store
        .customer_history("cu-f", &keep, 10)
        .unwrap()
        .is_empty());
    assert_eq!(store.list(None, 10).unwrap().len(), 1);
    assert_eq!(store.turns(&keep).unwrap().len(), 1);
    // A new conversation of the same id knows nothing of the old name.
    let c = start(store, "web", customer("cu-f", None, None), 3_000);
    assert_eq!(store.conversation(&c).unwrap().unwrap().customer.name, None);
    assert!(store.forget_customer("nobody").unwrap().is_empty());
}

pub fn retention_never_purges_a_pending_ticket(store: &dyn Store) {
    let now = now_ms();
    let old = start(store, "web", customer("cu-old", None, None), 1_000);
    store
        .record_turn(&old, turn("hi", 1_100), None, None)
        .unwrap();
    store.add_feedback(&old, Feedback::Rating(4)).unwrap();
    let pending = ticket(&old, "waiting");
    store
        .record_turn(&old, turn("person", 1_200), None, Some(&pending))
        .unwrap();
    let delivered = ticket(&old, "done");
    store
        .record_turn(&old, turn("person", 1_300), None, Some(&delivered))
        .unwrap();
    store.mark_delivered(&delivered.id, 1_400).unwrap();
    let dead = ticket(&old, "dead");
    store
        .record_turn(&old, turn("person", 1_350), None, Some(&dead))
        .unwrap();
    store.mark_dead(&dead.id, 8, "gone").unwrap();
    // Fresh: active a day from now.
    let fresh = start(store, "web", customer("cu-new", None, None), now);
    store
        .record_turn(&fresh, turn("hi", now + 86_400_000), None, None)
        .unwrap();

    let report = store.purge_before(now + 60_000).unwrap();
    assert_eq!(report.conversations, 1);
    assert_eq!(report.messages, 4);
    assert_eq!(report.feedback, 1);
    assert_eq!(report.tickets, 2, "the delivered and the dead ticket");
    assert!(store.conversation(&old).unwrap().is_none());
    assert!(store.conversation(&fresh).unwrap().is_some());
    let left = store.list(None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].ticket.id, pending.id);
    assert_eq!(left[0].state, DeliveryState::Pending);
    // The customer is kept while their pending ticket is.
    assert_eq!(report.customers, 0);
    store.mark_delivered(&pending.id, 1_500).unwrap();
    let report = store.purge_before(now + 60_000).unwrap();
    assert_eq!((report.tickets, report.customers), (1, 1));
    assert_eq!(
        store.purge_before(now + 60_000).unwrap(),
        PurgeReport::default()
    );
}

pub fn feedback_needs_a_known_conversation_and_message(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 0);
    let t = turn("hi", 1);
    store.record_turn(&c, t.clone(), None, None).unwrap();
    let thumbs = Feedback::Helpful {
        message: t.id.clone(),
        helpful: true,
    };
    store.add_feedback(&c, thumbs.clone()).unwrap();
    store.add_feedback(&c, Feedback::Rating(5)).unwrap();
    let unknown = store.add_feedback(
        &c,
        Feedback::Helpful {
            message: MessageId::generate(),
            helpful: true,
        },
    );
    assert!(matches!(unknown, Err(Error::UnknownMessage { .. })));
    assert!(matches!(
        store.add_feedback(&ConversationId::generate(), Feedback::Rating(5)),
        Err(Error::UnknownConversation(_))
    ));
    assert_eq!(
        store.feedback(&c).unwrap(),
        vec![thumbs, Feedback::Rating(5)]
    );
}

pub fn the_state_commits_with_its_turn_and_is_masked(store: &dyn Store) {
    let unknown = ConversationId::generate();
    assert_eq!(store.state(&unknown).unwrap(), None);
    let id = start(store, "web", Customer::default(), 1_000);
    assert_eq!(
        store.state(&id).unwrap(),
        Some(ConversationState::default()),
        "a conversation starts with the empty state"
    );
    let state = ConversationState {
        topic: Some(Topic {
            question: "card 4111 1111 1111 1111 shipping to canada?".into(),
            article: Some("en/shipping/delivery-times".parse().unwrap()),
            intent: None,
            language: "en".into(),
        }),
        flow: Some(serde_json::json!({"flow": "order_status", "slots": {"order": "10423"}})),
        handover_slots: Default::default(),
        access: None,
    };
    store
        .record_turn_with_state(&id, turn("where is it", 1_100), None, None, &state)
        .unwrap();
    let stored = store.state(&id).unwrap().unwrap();
    assert_eq!(
        stored.flow, state.flow,
        "the flow's state comes back as it went in"
    );
    let topic = stored.topic.unwrap();
    assert!(
        !topic.question.contains("4111 1111"),
        "the topic quotes the shopper, masked: {}",
        topic.question
    );
    assert_eq!(topic.article, state.topic.as_ref().unwrap().article);
    // A turn recorded without a state leaves the state alone.
    store
        .record_turn(&id, turn("thanks", 1_200), None, None)
        .unwrap();
    assert_eq!(store.state(&id).unwrap().unwrap().flow, state.flow);
    // Cleared with the next turn that says so.
    store
        .record_turn_with_state(
            &id,
            turn("never mind", 1_300),
            None,
            None,
            &ConversationState::default(),
        )
        .unwrap();
    assert!(store.state(&id).unwrap().unwrap().is_empty());
    // An unknown conversation writes nothing.
    let e = store
        .record_turn_with_state(&unknown, turn("x", 1), None, None, &state)
        .unwrap_err();
    assert!(matches!(e, Error::UnknownConversation(_)), "{e:?}");
    // The first turn starts the conversation with its state.
    let first = Conversation::new(
        ConversationId::generate(),
        "web",
        Customer::default(),
        2_000,
    );
    let fid = first.id.clone();
    store
        .record_first_turn_with_state(first, turn("hello", 2_000), None, None, &state)
        .unwrap();
    assert_eq!(store.state(&fid).unwrap().unwrap().flow, state.flow);
    assert_eq!(store.turns(&fid).unwrap().len(), 1);
}

fn event(c: &ConversationId, t: &Ticket, text: Option<&str>) -> ConversationEvent {
    ConversationEvent {
        kind: if text.is_some() {
            outbox::MESSAGE_EVENT
        } else {
            outbox::CLOSED_EVENT
        }
        .into(),
        id: outbox::EventId::generate(),
        ticket_id: t.id.clone(),
        conversation_id: c.to_string(),
        created_at: "2026-12-07T12:00:00Z".into(),
        text: text.map(Into::into),
    }
}

pub fn events_commit_with_their_turn_and_go_in_order_after_the_ticket(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 1_000);
    let t = ticket(&c, "a person please");
    store
        .record_turn(
            &c,
            turn("a person please", 1_001),
            Some(&handed_over(&t)),
            Some(&t),
        )
        .unwrap();
    let state = ConversationState::default();
    let first = event(&c, &t, Some("my card is 4111 1111 1111 1111"));
    let second = event(&c, &t, Some("hello?"));
    store
        .record_turn_with_events(
            &c,
            turn("x", 1_002),
            None,
            None,
            &state,
            std::slice::from_ref(&first),
        )
        .unwrap();
    store
        .record_turn_with_events(
            &c,
            turn("y", 1_003),
            None,
            None,
            &state,
            std::slice::from_ref(&second),
        )
        .unwrap();
    // Nothing of a failed turn is written: no event either.
    let unknown = ConversationId::generate();
    let lost = event(&unknown, &t, Some("lost"));
    assert!(store
        .record_turn_with_events(&unknown, turn("z", 1), None, None, &state, &[lost])
        .is_err());
    assert!(store.events_of(unknown.as_str()).unwrap().is_empty());

    let all = store.events_of(c.as_str()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].event.text.as_deref(),
        Some("my card is [card •••• 1111]")
    );
    assert_eq!(
        store.turns(&c).unwrap().len(),
        3,
        "the turns are kept with them"
    );

    let far = now_ms() + 60_000;
    // The ticket is still pending: its events wait.
    assert!(store.due_events(far, 10).unwrap().is_empty());
    store.mark_delivered(&t.id, now_ms()).unwrap();
    // Only the first of the conversation may go.
    let due = store.due_events(far, 10).unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].event.id, first.id);
    store
        .event_failed(&first.id, 1, far + 1_000, "HTTP 500")
        .unwrap();
    assert!(
        store.due_events(far, 10).unwrap().is_empty(),
        "a retry of the first holds the second back"
    );
    store.event_delivered(&first.id, far).unwrap();
    let due = store.due_events(far, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].event.id, second.id);
    // Delivered stays delivered.
    store.event_dead(&first.id, 9, "late").unwrap();
    assert_eq!(
        store.events_of(c.as_str()).unwrap()[0].state,
        DeliveryState::Delivered
    );
    store.event_dead(&second.id, 12, "gone").unwrap();
    assert!(store.due_events(far, 10).unwrap().is_empty());
    // Retention keeps pending events only.
    store.purge_before(far + 10_000).unwrap();
    assert!(store.events_of(c.as_str()).unwrap().is_empty());
}

pub fn activity_commits_with_the_handoff_and_is_masked(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 1_000);
    let t = ticket(&c, "a person please");
    store
        .record_turn(
            &c,
            turn("a person please", 1_001),
            Some(&handed_over(&t)),
            Some(&t),
        )
        .unwrap();
    let said = Activity {
        agent: Some("Sam".into()),
        text: Some("Your IBAN NL91 ABNA 0417 1643 00 is noted".into()),
        ..Activity::new(ActivityKind::Message, 2_000)
    };
    store.record_activity(&c, &said, None, None, &[]).unwrap();
    let closed = event(&c, &t, None);
    store
        .record_activity(
            &c,
            &Activity::new(ActivityKind::Resolved, 3_000),
            Some(&Handoff::Bot),
            None,
            &[closed],
        )
        .unwrap();
    let rated = Activity {
        rating: Some(4),
        agent: Some("Sam".into()),
        ..Activity::new(ActivityKind::Rating, 4_000)
    };
    store.record_activity(&c, &rated, None, None, &[]).unwrap();
    let all = store.activity(&c).unwrap();
    let kinds: Vec<ActivityKind> = all.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            ActivityKind::Message,
            ActivityKind::Resolved,
            ActivityKind::Rating
        ]
    );
    assert_eq!(all[0].agent.as_deref(), Some("Sam"));
    assert!(
        !all[0].text.as_deref().unwrap().contains("0417"),
        "{:?}",
        all[0]
    );
    assert_eq!(all[2].rating, Some(4));
    let header = store.conversation(&c).unwrap().unwrap();
    assert_eq!(header.handoff, Handoff::Bot);
    assert_eq!(header.last_ms, 4_000);
    assert_eq!(store.events_of(c.as_str()).unwrap().len(), 1);
    let unknown = ConversationId::generate();
    assert!(matches!(
        store.record_activity(&unknown, &said, None, None, &[]),
        Err(Error::UnknownConversation(_))
    ));
    assert!(matches!(
        store.activity(&unknown),
        Err(Error::UnknownConversation(_))
    ));
    // Forgetting the customer takes the activity and the events with the conversation.
    let known = start(store, "web", customer("cu-h", None, None), 1_000);
    store
        .record_activity(&known, &said, None, None, &[event(&known, &t, None)])
        .unwrap();
    store.forget_customer("cu-h").unwrap();
    assert!(store.events_of(known.as_str()).unwrap().is_empty());
}

pub fn an_inbound_request_id_is_accepted_once(store: &dyn Store) {
    assert!(store.first_seen("msg_1", 10_000, 0).unwrap());
    assert!(!store.first_seen("msg_1", 10_001, 0).unwrap(), "a replay");
    assert!(store.first_seen("msg_2", 10_002, 0).unwrap());
    // Forgotten once older than the window (its timestamp refuses it by then).
    assert!(store.first_seen("msg_1", 20_000, 15_000).unwrap());
}

/// A turn the client named `client_id`, with what it was shown.
fn named(text: &str, at_ms: u64, client_id: &str) -> Turn {
    Turn {
        client_id: Some(ClientMessageId::parse(client_id).unwrap()),
        shown: Some(serde_json::json!({"outcome": "answer", "quick": ["Yes", "No"]})),
        ..turn(text, at_ms)
    }
}

/// A retry (the same client message id in the same conversation) is refused whole: no second
/// turn, ticket, event, hand-over or state; the first turn keeps its id and what it showed.
pub fn a_client_message_id_is_stored_once_per_conversation(store: &dyn Store) {
    let c = start(store, "web", Customer::default(), 1_000);
    let first = named("a person please", 1_100, "retry-1");
    let t = ticket(&c, "a person please");
    let state = ConversationState {
        flow: Some(serde_json::json!({"flow": "first"})),
        ..ConversationState::default()
    };
    store
        .record_turn_with_state(&c, first.clone(), Some(&handed_over(&t)), Some(&t), &state)
        .unwrap();
    let stored = store.turns(&c).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, first.id);
    assert_eq!(stored[0].client_id, first.client_id);
    assert_eq!(
        stored[0].shown, first.shown,
        "what was shown comes back as it went in"
    );

    let duplicate = |e: Result<()>| duplicate_in(&c, e);
    // The same message again, decided differently (another ticket, back to the bot).
    let t2 = ticket(&c, "a person please");
    let other = ConversationState {
        flow: Some(serde_json::json!({"flow": "second"})),
        ..ConversationState::default()
    };
    duplicate(store.record_turn_with_state(
        &c,
        named("a person please", 1_200, "retry-1"),
        Some(&Handoff::Bot),
        Some(&t2),
        &other,
    ));
    duplicate(store.record_turn(&c, named("again", 1_300, "retry-1"), None, None));
    let event = event(&c, &t, Some("hello?"));
    duplicate(store.record_turn_with_events(
        &c,
        named("hello?", 1_400, "retry-1"),
        None,
        None,
        &other,
        std::slice::from_ref(&event),
    ));
    assert_eq!(store.turns(&c).unwrap().len(), 1, "one turn per client id");
    assert_eq!(store.list(None, 10).unwrap().len(), 1, "one ticket");
    assert!(store.events_of(c.as_str()).unwrap().is_empty(), "no event");
    let header = store.conversation(&c).unwrap().unwrap();
    assert_eq!(header.handoff, handed_over(&t));
    assert_eq!(header.last_ms, 1_100);
    assert_eq!(store.state(&c).unwrap().unwrap().flow, state.flow);

    // Another id, or none (twice), is another message; the same id in another conversation
    // too. Without an id nothing of what was shown is kept.
    store
        .record_turn(&c, named("thanks", 1_500, "retry-2"), None, None)
        .unwrap();
    let mut unnamed = turn("thanks", 1_600);
    unnamed.shown = Some(serde_json::json!({"outcome": "answer"}));
    store.record_turn(&c, unnamed.clone(), None, None).unwrap();
    store
        .record_turn(&c, turn("thanks", 1_700), None, None)
        .unwrap();
    let turns = store.turns(&c).unwrap();
    assert_eq!(turns.len(), 4);
    assert_eq!(turns[2].client_id, None);
    assert_eq!(turns[2].shown, None);
    let elsewhere = Conversation::new(
        ConversationId::generate(),
        "web",
        Customer::default(),
        2_000,
    );
    let e = elsewhere.id.clone();
    store
        .record_first_turn_with_state(
            elsewhere,
            named("a person please", 2_000, "retry-1"),
            None,
            None,
            &state,
        )
        .unwrap();
    duplicate_in(
        &e,
        store.record_turn(&e, named("again", 2_100, "retry-1"), None, None),
    );
    assert_eq!(store.turns(&e).unwrap().len(), 1);
}

/// `e` refused a second turn with the client id `retry-1` in `conversation`.
#[track_caller]
fn duplicate_in(conversation: &ConversationId, e: Result<()>) {
    assert!(
        matches!(&e, Err(Error::DuplicateClientMessage { conversation: c, client_id })
            if c == conversation && client_id.as_str() == "retry-1"),
        "{e:?}"
    );
}

fn said(text: &str, at: u64, outcome: Outcome, language: &str, response_ms: Option<u32>) -> Turn {
    Turn {
        outcome,
        language: language.into(),
        intent: None,
        response_ms,
        ..turn(text, at)
    }
}

/// 2026-01-01T00:00:00Z.
const JAN_1: u64 = 1_767_225_600_000;
const DAY: u64 = 86_400_000;

/// The KPIs of a few conversations recorded through the store's API (the definitions are in
/// `docs/kpis.md`; the generated year of history is in `report/tests.rs`).
pub fn the_report_counts_what_was_recorded(store: &dyn Store) {
    use crate::store::report::{GroupBy, ReportQuery};
    // a: en, web, customer r1; answered, thumbs up. r1 comes back a day later (d), so a is
    // deflected but not resolved at the first contact.
    let a = start(store, "web", customer("r1", None, None), JAN_1);
    let first = said(
        "where is my parcel",
        JAN_1 + 1_000,
        Outcome::Answer,
        "en",
        Some(40),
    );
    let first_id = first.id.clone();
    store.record_turn(&a, first, None, None).unwrap();
    store
        .add_feedback(
            &a,
            Feedback::Helpful {
                message: first_id,
                helpful: true,
            },
        )
        .unwrap();
    // b: nl, api; escalated without a ticket, rated 2.
    let b = start(store, "api", Customer::default(), JAN_1 + 5_000);
    let t = said("iemand?", JAN_1 + 6_000, Outcome::Escalate, "nl", Some(60));
    store.record_turn(&b, t, None, None).unwrap();
    store.add_feedback(&b, Feedback::Rating(2)).unwrap();
    // c: es, web; choices, then a ticket for low confidence, delivered a minute after its
    // creation; an agent writes 90 s after it.
    let c = start(store, "web", Customer::default(), JAN_1 + 7_000);
    let t = said(
        "y el regalo",
        JAN_1 + 8_000,
        Outcome::Clarify,
        "es",
        Some(20),
    );
    store.record_turn(&c, t, None, None).unwrap();
    let mut tk = ticket(&c, "y el regalo?");
    tk.reason = Reason::LowConfidence;
    tk.priority = Priority::High;
    let esc = said(
        "envolver para regalo",
        JAN_1 + 9_000,
        Outcome::Escalate,
        "es",
        None,
    );
    store
        .record_turn(&c, esc, Some(&handed_over(&tk)), Some(&tk))
        .unwrap();
    let created = store.list(None, 10).unwrap()[0].created_ms;
    store.mark_delivered(&tk.id, created + 60_000).unwrap();
    for at in [created + 90_000, created + 200_000] {
        let reply = Activity {
            agent: Some("Sam".into()),
            text: Some("Claro".into()),
            ..Activity::new(ActivityKind::Message, at)
        };
        store.record_activity(&c, &reply, None, None, &[]).unwrap();
    }
    // d: en, web, r1 again; answered. e: the day after the window.
    let d = start(store, "web", customer("r1", None, None), JAN_1 + DAY / 2);
    let t = said(
        "and returns?",
        JAN_1 + DAY / 2,
        Outcome::Answer,
        "en",
        Some(30),
    );
    store.record_turn(&d, t, None, None).unwrap();
    let e = start(store, "web", Customer::default(), JAN_1 + DAY);
    let t = said("late", JAN_1 + DAY, Outcome::Answer, "en", Some(1));
    store.record_turn(&e, t, None, None).unwrap();

    let by = |by| {
        store
            .report(&ReportQuery {
                since_ms: JAN_1,
                until_ms: JAN_1 + DAY,
                by,
            })
            .unwrap()
    };
    let r = by(GroupBy::Language);
    let keys: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["en", "es", "nl"]);
    let t = &r.total;
    assert_eq!((t.conversations, t.messages), (4, 5));
    assert_eq!((t.deflected, t.escalated), (2, 2));
    // a came back (d): only d is resolved at first contact.
    assert_eq!(t.first_contact_resolved, 1);
    assert_eq!(t.escalated_by_reason["no_ticket"], 1);
    assert_eq!(t.escalated_by_reason["low_confidence"], 1);
    assert_eq!(t.escalated_by_category_priority.len(), 1);
    let cp = &t.escalated_by_category_priority[0];
    assert_eq!(
        (cp.category.as_str(), cp.priority.as_str(), cp.count),
        ("orders", "high", 1)
    );
    assert_eq!(t.response_ms.count, 4);
    assert_eq!((t.response_ms.p50, t.response_ms.p95), (Some(30), Some(60)));
    assert_eq!(t.csat.distribution, [0, 1, 0, 0, 0]);
    assert_eq!((t.thumbs_up, t.thumbs_down), (1, 0));
    assert_eq!(t.escalation_to_delivery_ms.p50, Some(60_000));
    assert_eq!(t.first_human_response_ms.count, 1);
    assert_eq!(t.first_human_response_ms.p50, Some(90_000));
    assert_eq!((t.tickets_pending, t.tickets_dead), (0, 0));
    let es = &r.rows[1];
    assert_eq!((es.conversations, es.messages, es.escalated), (1, 2, 1));
    assert_eq!(es.first_human_response_ms.p50, Some(90_000));
    let nl = &r.rows[2];
    assert_eq!(nl.csat.average, Some(2.0));
    let channels = by(GroupBy::Channel);
    let keys: Vec<(&str, u64)> = channels
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.conversations))
        .collect();
    assert_eq!(keys, [("api", 1), ("web", 3)]);
    assert_eq!(channels.total, r.total);
}

/// The content-gap report's input: what nobody answered, each message once.
pub fn unanswered_lists_escalated_thumbed_down_and_untaken_choices_once_each(store: &dyn Store) {
    // Escalated for low confidence, after choices: both messages are gaps.
    let low = start(store, "web", Customer::default(), 1_000);
    let t = said("gift wrap?", 1_100, Outcome::Clarify, "en", None);
    store.record_turn(&low, t, None, None).unwrap();
    let mut tk = ticket(&low, "gift wrap please");
    tk.reason = Reason::LowConfidence;
    let t = said("gift wrap please", 1_200, Outcome::Escalate, "en", None);
    store
        .record_turn(&low, t, Some(&handed_over(&tk)), Some(&tk))
        .unwrap();
    // Asked for a person: not a gap.
    let asked = start(store, "web", Customer::default(), 1_000);
    let t2 = ticket(&asked, "a person");
    let t = said("a person", 1_300, Outcome::Escalate, "en", None);
    store.record_turn(&asked, t, None, Some(&t2)).unwrap();
    // Answered, thumbs down; and answered, thumbs up.
    let thumbs = start(store, "web", Customer::default(), 1_000);
    let down = said("rent a tent?", 1_400, Outcome::Answer, "en", None);
    let up = said("return boots?", 1_500, Outcome::Answer, "en", None);
    let (down_id, up_id) = (down.id.clone(), up.id.clone());
    store.record_turn(&thumbs, down, None, None).unwrap();
    store.record_turn(&thumbs, up, None, None).unwrap();
    for (message, helpful) in [(down_id, false), (up_id, true)] {
        store
            .add_feedback(&thumbs, Feedback::Helpful { message, helpful })
            .unwrap();
    }
    // Choices: one taken (answered next), one not.
    let choices = start(store, "web", Customer::default(), 1_000);
    for (text, at, outcome) in [
        ("loyalty card", 1_600, Outcome::Clarify),
        ("Returns", 1_700, Outcome::Answer),
        ("points card", 1_800, Outcome::Clarify),
    ] {
        let t = said(text, at, outcome, "en", None);
        store.record_turn(&choices, t, None, None).unwrap();
    }

    let all = store.unanswered(0, 10_000).unwrap();
    let got: Vec<(&str, GapReason)> = all.iter().map(|u| (u.text.as_str(), u.reason)).collect();
    assert_eq!(
        got,
        [
            ("gift wrap?", GapReason::Escalated),
            ("gift wrap please", GapReason::Escalated),
            ("rent a tent?", GapReason::ThumbsDown),
            ("points card", GapReason::ChoiceNotTaken),
        ]
    );
    // The window.
    let late = store.unanswered(1_450, 10_000).unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].text, "points card");
}
