//! Assembling the ticket: the policy's draft plus the conversation, so the agent reads
//! everything and the shopper never repeats themselves.
//!
//! Pure: the caller reads the store and passes what it read. Texts go in as stored (personal
//! data was masked before storage) and are never changed here.

use jiff::Timestamp;

use super::policy::TicketDraft;
use super::{Role, SuggestedArticle, Ticket, TicketCustomer, TranscriptEntry, TICKET_TYPE};
use crate::engine::Reply;
use crate::kb::ArticleId;
use crate::store::{Conversation, Turn};

/// How many articles a ticket suggests at most.
const MAX_SUGGESTED: usize = 3;

/// An earlier conversation of the same customer, with its turns oldest first.
#[derive(Debug, Clone, Copy)]
pub struct EarlierConversation<'a> {
    pub conversation: &'a Conversation,
    pub turns: &'a [Turn],
}

/// What the store knows for a ticket.
#[derive(Debug, Clone, Copy)]
pub struct TicketContext<'a> {
    pub conversation: &'a Conversation,
    /// This conversation's turns, oldest first, including the one that creates the ticket
    /// (recorded with the text the shopper is shown).
    pub turns: &'a [Turn],
    /// The customer's earlier conversations (any channel), in any order.
    pub earlier: &'a [EarlierConversation<'a>],
    pub suggested_articles: &'a [SuggestedArticle],
    pub now: Timestamp,
}

/// The ticket (generic payload, version 1) for a draft: earlier conversations first, each line
/// marked with its channel and conversation id, then this conversation, a line per message
/// (the shopper's, then the bot's reply), times in RFC 3339 UTC.
pub fn build_ticket(draft: &TicketDraft, ctx: &TicketContext<'_>) -> Ticket {
    let mut earlier: Vec<&EarlierConversation<'_>> = ctx
        .earlier
        .iter()
        .filter(|e| e.conversation.id != ctx.conversation.id)
        .collect();
    earlier.sort_by_key(|e| (e.conversation.started_ms, e.conversation.id.clone()));
    let mut transcript = Vec::new();
    for e in earlier {
        let mark = Some((e.conversation.channel.as_str(), e.conversation.id.as_str()));
        push_turns(&mut transcript, e.turns, mark);
    }
    push_turns(&mut transcript, ctx.turns, None);
    let customer = &ctx.conversation.customer;
    Ticket {
        kind: TICKET_TYPE.to_string(),
        id: draft.id.clone(),
        created_at: ctx.now.to_string(),
        conversation_id: ctx.conversation.id.to_string(),
        customer: TicketCustomer {
            id: customer.id.clone(),
            name: customer.name.clone(),
            email: draft.email.clone().or_else(|| customer.email.clone()),
        },
        channel: ctx.conversation.channel.clone(),
        language: draft.language.clone(),
        reason: draft.reason,
        mode: draft.mode,
        priority: draft.priority,
        category: draft.category.clone(),
        intent: draft.intent.clone(),
        confidence: draft.confidence,
        subject: draft.subject.clone(),
        transcript,
        suggested_articles: ctx
            .suggested_articles
            .iter()
            .take(MAX_SUGGESTED)
            .cloned()
            .collect(),
        slots: Default::default(),
    }
}

fn push_turns(out: &mut Vec<TranscriptEntry>, turns: &[Turn], mark: Option<(&str, &str)>) {
    for turn in turns {
        let at = rfc3339(turn.at_ms);
        let entry = |role, text: &str| TranscriptEntry {
            role,
            text: text.to_string(),
            at: at.clone(),
            channel: mark.map(|(c, _)| c.to_string()),
            conversation_id: mark.map(|(_, id)| id.to_string()),
        };
        out.push(entry(Role::Customer, &turn.text));
        if !turn.reply.is_empty() {
            out.push(entry(Role::Bot, &turn.reply));
        }
    }
}

/// Unix milliseconds as RFC 3339 in UTC (the epoch for a time out of range).
fn rfc3339(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_string()
}

/// The articles to suggest for a reply: the one it links to, then its suggestions, without
/// duplicates. `url` gives an article's address (the engine's `link`); articles without one
/// are left out.
pub fn suggested_articles(
    reply: &Reply,
    url: impl Fn(&ArticleId) -> Option<String>,
) -> Vec<SuggestedArticle> {
    let mut out: Vec<SuggestedArticle> = Vec::new();
    let linked = reply
        .link
        .iter()
        .map(|l| (&l.article, l.title.as_str(), Some(l.url.clone())));
    let suggested = reply
        .suggestions
        .iter()
        .filter_map(|s| s.article.as_ref().map(|a| (a, s.title.as_str(), None)));
    for (id, title, known_url) in linked.chain(suggested) {
        if out.len() >= MAX_SUGGESTED || out.iter().any(|a| a.id == id.as_str()) {
            continue;
        }
        if let Some(url) = known_url.or_else(|| url(id)) {
            out.push(SuggestedArticle {
                id: id.to_string(),
                title: title.to_string(),
                url,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Link, Outcome, Suggestion};
    use crate::escalation::{EscalationId, Mode, Priority, Reason};
    use crate::store::{ConversationId, Customer, MessageId};

    fn conversation(id: &str, channel: &str, started_ms: u64) -> Conversation {
        Conversation::new(
            ConversationId::parse(id).unwrap(),
            channel,
            Customer {
                id: Some("cust-42".into()),
                name: Some("Ana".into()),
                email: None,
            },
            started_ms,
        )
    }

    fn turn(text: &str, reply: &str, at_ms: u64) -> Turn {
        Turn {
            id: MessageId::generate(),
            text: text.into(),
            reply: reply.into(),
            outcome: crate::store::Outcome::Answer,
            language: "en".into(),
            intent: None,
            article: None,
            confidence: 0.8,
            at_ms,
            response_ms: None,
            client_id: None,
            shown: None,
        }
    }

    fn draft() -> TicketDraft {
        TicketDraft {
            id: EscalationId::parse("esc_test").unwrap(),
            reason: Reason::HumanRequested,
            mode: Mode::Offline,
            priority: Priority::High,
            category: "billing".into(),
            subject: "Charged twice".into(),
            intent: Some("human_handoff".into()),
            confidence: 1.0,
            language: "en".into(),
            email: Some("ana@example.com".into()),
        }
    }

    #[test]
    fn transcript_has_earlier_conversations_first_then_every_message_in_order() {
        let this = conversation("c_now", "web", 3_000_000);
        let email_conv = conversation("c_mail", "email", 2_000_000);
        let api_conv = conversation("c_api", "api", 1_000_000);
        let email_turns = [turn("second visit", "hello again", 2_000_000)];
        let api_turns = [turn("first visit", "hi", 1_000_000)];
        let turns = [
            // Masked before storage; the ticket carries it as it is.
            turn(
                "I paid with card **** **** **** 4242 twice",
                "Sorry to hear that…",
                1_780_000_000_000,
            ),
            turn(
                "talk to a human",
                "What email address can we reach you at?",
                1_780_000_060_500,
            ),
            turn("ana@example.com", "", 1_780_000_120_000),
        ];
        // Given newest first: the ticket orders them oldest first; this conversation is skipped.
        let earlier = [
            EarlierConversation {
                conversation: &email_conv,
                turns: &email_turns,
            },
            EarlierConversation {
                conversation: &this,
                turns: &turns,
            },
            EarlierConversation {
                conversation: &api_conv,
                turns: &api_turns,
            },
        ];
        let suggested = [SuggestedArticle {
            id: "en/payments/refunds".into(),
            title: "Refunds".into(),
            url: "https://shop.example/help/en/payments/refunds".into(),
        }];
        let now: Timestamp = "2026-11-30T20:00:00Z".parse().unwrap();
        let ticket = build_ticket(
            &draft(),
            &TicketContext {
                conversation: &this,
                turns: &turns,
                earlier: &earlier,
                suggested_articles: &suggested,
                now,
            },
        );

        assert_eq!(ticket.kind, "escalation.created");
        assert_eq!(ticket.id.as_str(), "esc_test");
        assert_eq!(ticket.created_at, "2026-11-30T20:00:00Z");
        assert_eq!(ticket.conversation_id, "c_now");
        assert_eq!(ticket.channel, "web");
        assert_eq!(ticket.customer.id.as_deref(), Some("cust-42"));
        assert_eq!(ticket.customer.email.as_deref(), Some("ana@example.com"));
        assert_eq!(
            (ticket.reason, ticket.mode),
            (Reason::HumanRequested, Mode::Offline)
        );
        assert_eq!(
            (ticket.priority, ticket.category.as_str()),
            (Priority::High, "billing")
        );
        assert_eq!(ticket.subject, "Charged twice");
        assert_eq!(ticket.suggested_articles, suggested);

        let lines: Vec<(Role, &str, Option<&str>)> = ticket
            .transcript
            .iter()
            .map(|e| (e.role, e.text.as_str(), e.conversation_id.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                (Role::Customer, "first visit", Some("c_api")),
                (Role::Bot, "hi", Some("c_api")),
                (Role::Customer, "second visit", Some("c_mail")),
                (Role::Bot, "hello again", Some("c_mail")),
                (
                    Role::Customer,
                    "I paid with card **** **** **** 4242 twice",
                    None
                ),
                (Role::Bot, "Sorry to hear that…", None),
                (Role::Customer, "talk to a human", None),
                (Role::Bot, "What email address can we reach you at?", None),
                // The triggering message; its reply was not recorded yet.
                (Role::Customer, "ana@example.com", None),
            ]
        );
        assert_eq!(ticket.transcript[0].channel.as_deref(), Some("api"));
        assert_eq!(ticket.transcript[2].channel.as_deref(), Some("email"));
        assert_eq!(ticket.transcript[4].channel, None);
        assert_eq!(ticket.transcript[0].at, "1970-01-01T00:16:40Z");
        assert_eq!(ticket.transcript[7].at, "2026-05-28T20:27:40.5Z");
    }

    #[test]
    fn the_customers_own_email_is_used_when_none_was_typed() {
        let mut this = conversation("c_now", "web", 0);
        this.customer.email = Some("known@example.com".into());
        let mut d = draft();
        d.email = None;
        let ticket = build_ticket(
            &d,
            &TicketContext {
                conversation: &this,
                turns: &[],
                earlier: &[],
                suggested_articles: &[],
                now: Timestamp::UNIX_EPOCH,
            },
        );
        assert_eq!(ticket.customer.email.as_deref(), Some("known@example.com"));
        assert!(ticket.transcript.is_empty());
    }

    #[test]
    fn suggested_articles_put_the_link_first_without_duplicates() {
        let id = |s: &str| -> ArticleId { s.to_string().try_into().unwrap() };
        let reply = Reply {
            outcome: Outcome::Clarify,
            language: "en".into(),
            intent: None,
            article: None,
            confidence: 0.4,
            text: String::new(),
            suggestions: vec![
                Suggestion {
                    article: Some(id("en/a")),
                    intent: None,
                    title: "A".into(),
                    score: 0.9,
                },
                Suggestion {
                    article: None,
                    intent: None,
                    title: "no article".into(),
                    score: 0.8,
                },
                Suggestion {
                    article: Some(id("en/b")),
                    intent: None,
                    title: "B".into(),
                    score: 0.7,
                },
                Suggestion {
                    article: Some(id("en/gone")),
                    intent: None,
                    title: "Gone".into(),
                    score: 0.6,
                },
            ],
            link: Some(Link {
                article: id("en/a"),
                title: "A".into(),
                url: "https://s/a".into(),
            }),
            fallback: false,
            escalation: None,
        };
        let got = suggested_articles(&reply, |a| {
            (a.as_str() != "en/gone").then(|| format!("https://s/{}", a.as_str()))
        });
        let ids: Vec<(&str, &str)> = got
            .iter()
            .map(|a| (a.id.as_str(), a.url.as_str()))
            .collect();
        assert_eq!(ids, [("en/a", "https://s/a"), ("en/b", "https://s/en/b")]);
    }
}
