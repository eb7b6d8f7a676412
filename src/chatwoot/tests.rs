use super::*;

fn fixture(name: &str) -> Event {
    let path = format!(
        "{}/tests/fixtures/chatwoot/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_contacts_message_in_a_pending_conversation_is_answered() {
    let d = decide(&fixture("whatsapp_message_created"), 7);
    assert_eq!(
        d,
        Decision::Answer {
            conversation: 152,
            customer: Customer {
                id: Some("chatwoot:311".into()),
                name: Some("Lena Berger".into()),
                email: None,
            },
            text: "How long does delivery take?".into(),
        }
    );
}

#[test]
fn agents_messages_open_conversations_and_other_accounts_are_ignored() {
    assert!(matches!(
        decide(&fixture("agent_message_outgoing"), 7),
        Decision::Ignore(_)
    ));
    assert_eq!(
        decide(&fixture("whatsapp_while_open"), 7),
        Decision::Ignore("the agents have this conversation")
    );
    assert_eq!(
        decide(&fixture("whatsapp_message_created"), 8),
        Decision::Ignore("another account")
    );
    let mut private = fixture("whatsapp_message_created");
    private.private = true;
    assert!(matches!(decide(&private, 7), Decision::Ignore(_)));
}

#[test]
fn resolved_gives_the_conversation_back_to_the_bot() {
    assert_eq!(
        decide(&fixture("conversation_resolved"), 7),
        Decision::TakeBack { conversation: 152 }
    );
    assert_eq!(
        decide(&fixture("conversation_resolved"), 8),
        Decision::Ignore("another account")
    );
    // An account webhook's status change says the same.
    let mut changed = fixture("conversation_resolved");
    changed.event = "conversation_status_changed".into();
    assert_eq!(
        decide(&changed, 7),
        Decision::TakeBack { conversation: 152 }
    );
    changed.status = Some("open".into());
    assert!(matches!(decide(&changed, 7), Decision::Ignore(_)));
}

#[test]
fn one_chatwoot_conversation_is_one_concierge_conversation() {
    assert_eq!(conversation_id(7, 152), conversation_id(7, 152));
    assert_ne!(conversation_id(7, 152), conversation_id(8, 152));
    assert_eq!(conversation_id(7, 152).as_str(), "c_chatwoot_7_152");
}

#[test]
fn settings_are_off_by_default_and_hide_their_tokens() {
    let s: ChatwootSettings = serde_yaml::from_str("{}").unwrap();
    assert!(!s.enabled());
    s.validate().unwrap();
    let s: ChatwootSettings = serde_yaml::from_str(
        "url: https://chat.example.com\naccount_id: 7\nbot_token: bot-6f1c2e9a0b\nwebhook_token: hook-8d7e6c5b4a392817\n",
    )
    .unwrap();
    s.validate().unwrap();
    for shown in [format!("{s:?}"), serde_yaml::to_string(&s).unwrap()] {
        assert!(!shown.contains("6f1c2e9a0b"), "{shown}");
        assert!(!shown.contains("8d7e6c5b4a"), "{shown}");
    }
    assert!(s
        .webhook_token
        .as_ref()
        .unwrap()
        .matches("hook-8d7e6c5b4a392817"));
    assert!(!s
        .webhook_token
        .as_ref()
        .unwrap()
        .matches("hook-8d7e6c5b4a39281"));
    let short: ChatwootSettings = serde_yaml::from_str(
        "url: https://chat.example.com\naccount_id: 7\nbot_token: b\nwebhook_token: short\n",
    )
    .unwrap();
    assert!(short.validate().unwrap_err().contains("webhook_token"));
    let no_account: ChatwootSettings =
        serde_yaml::from_str("url: https://chat.example.com\nbot_token: bot-6f1c2e9a0b\n").unwrap();
    assert!(no_account.validate().unwrap_err().contains("account_id"));
}

#[test]
fn chatwoot_is_told_the_reply_and_a_hand_over_with_its_note() {
    let id = conversation_id(1, 7);
    // An answer: the reply only.
    let answer = mirror("  Returns are free.\n", &Handoff::Bot, None);
    assert_eq!(answer.reply.as_deref(), Some("Returns are free."));
    assert_eq!(answer.hand_over_note, None);
    // The bot hands over: the reply, then the conversation opened with the note.
    let ticket = crate::store::contract::ticket(&id, "a person please");
    let over = Handoff::HandedOver {
        ticket: ticket.id.clone(),
        mode: crate::escalation::Mode::Live,
    };
    let handed = mirror("A colleague will answer here.", &over, Some(&ticket));
    assert_eq!(
        handed.reply.as_deref(),
        Some("A colleague will answer here.")
    );
    let note = handed.hand_over_note.expect("a note for the agents");
    assert!(note.contains(&ticket.subject), "{note}");
    // Already with the agents (no new ticket): nothing, they read the contact in Chatwoot.
    assert_eq!(
        mirror("I'll pass this on.", &over, None),
        Mirror {
            reply: None,
            hand_over_note: None
        }
    );
    // Nothing to say is not an empty message.
    assert_eq!(mirror("  ", &Handoff::Bot, None).reply, None);
}
