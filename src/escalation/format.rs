//! The body of a delivery, rendered from the [`Ticket`] at delivery time: the generic payload
//! as it is, or what Zendesk, Freshdesk or Chatwoot accept on their create endpoints.
//!
//! Everything from the transcript is shopper text: it is escaped for where it lands (HTML for
//! Freshdesk, Markdown for Chatwoot, indented continuation lines for Zendesk's plain text so a
//! shopper cannot forge a transcript line).

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::webhook::{ChatwootSettings, Format};
use super::{Mode, Priority, Role, Ticket, TranscriptEntry};

/// The JSON body for `format`. `chatwoot` is required for [`Format::Chatwoot`] (checked by
/// `WebhookSettings::validate`); without it the conversation is rendered for inbox and
/// contact 0, which Chatwoot refuses.
pub fn render(format: Format, chatwoot: Option<&ChatwootSettings>, ticket: &Ticket) -> Value {
    match format {
        Format::Generic => serde_json::to_value(ticket).expect("a ticket is plain data"),
        Format::Zendesk => zendesk(ticket),
        Format::Freshdesk => freshdesk(ticket),
        Format::Chatwoot => chatwoot_body(chatwoot, ticket),
    }
}

/// [`render`] as bytes, what is signed and sent.
pub fn render_bytes(
    format: Format,
    chatwoot: Option<&ChatwootSettings>,
    ticket: &Ticket,
) -> Vec<u8> {
    serde_json::to_vec(&render(format, chatwoot, ticket)).expect("JSON values serialize")
}

fn zendesk(ticket: &Ticket) -> Value {
    let priority = match ticket.priority {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    };
    let mut body = Map::new();
    body.insert("subject".into(), json!(one_line(&ticket.subject)));
    // A private note: the transcript is for agents; the agent's first public reply is what the
    // shopper receives.
    body.insert(
        "comment".into(),
        json!({"body": plain_text(ticket, |s| s.to_string()), "public": false}),
    );
    // Zendesk creates or finds the requester by email. Without one the requester is the API
    // user (the shop's own account), and the shopper's name is in the comment.
    if let Some(email) = &ticket.customer.email {
        body.insert(
            "requester".into(),
            json!({"name": customer_name(ticket), "email": email}),
        );
    }
    body.insert("priority".into(), json!(priority));
    body.insert("tags".into(), json!(tags(ticket)));
    body.insert("external_id".into(), json!(ticket.id.as_str()));
    json!({ "ticket": body })
}

fn freshdesk(ticket: &Ticket) -> Value {
    let priority = match ticket.priority {
        Priority::Low => 1,
        Priority::Normal => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    };
    let mut body = Map::new();
    body.insert("subject".into(), json!(one_line(&ticket.subject)));
    body.insert("description".into(), json!(html(ticket)));
    body.insert("name".into(), json!(customer_name(ticket)));
    // Freshdesk needs one requester identifier (email, phone, requester_id, social ids or
    // unique_external_id). Without an email the contact is keyed by the shop's customer id,
    // or by the conversation when the shopper is anonymous.
    match &ticket.customer.email {
        Some(email) => {
            body.insert("email".into(), json!(email));
        }
        None => {
            let external = match &ticket.customer.id {
                Some(id) => format!("concierge-customer-{id}"),
                None => format!("concierge-conversation-{}", ticket.conversation_id),
            };
            body.insert("unique_external_id".into(), json!(external));
        }
    }
    body.insert("priority".into(), json!(priority));
    body.insert("status".into(), json!(2)); // Open
    body.insert("source".into(), json!(7)); // Chat
    body.insert("tags".into(), json!(tags(ticket)));
    Value::Object(body)
}

fn chatwoot_body(settings: Option<&ChatwootSettings>, ticket: &Ticket) -> Value {
    let (inbox_id, contact_id, source_id) = match settings {
        Some(s) => (s.inbox_id, s.contact_id, s.source_id.clone()),
        None => (0, 0, None),
    };
    let mut body = Map::new();
    body.insert("inbox_id".into(), json!(inbox_id));
    body.insert("contact_id".into(), json!(contact_id));
    if let Some(source_id) = source_id {
        body.insert("source_id".into(), json!(source_id));
    }
    body.insert("status".into(), json!("open"));
    // A private note: never sent to the contact, whatever the inbox type (an outgoing
    // message would be, and an incoming one is refused outside API inboxes).
    body.insert(
        "message".into(),
        json!({"content": plain_text(ticket, escape_markdown), "private": true}),
    );
    let c = &ticket.customer;
    body.insert(
        "custom_attributes".into(),
        json!({
            "concierge_ticket_id": ticket.id.as_str(),
            "concierge_conversation_id": ticket.conversation_id,
            "customer_id": c.id,
            "customer_name": c.name,
            "customer_email": c.email,
            "channel": ticket.channel,
            "language": ticket.language,
            "priority": priority_name(ticket.priority),
            "category": ticket.category,
            "reason": snake(&ticket.reason),
            "mode": mode_name(ticket.mode),
        }),
    );
    Value::Object(body)
}

fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Live => "live",
        Mode::Offline => "offline",
    }
}

/// The serde name of a unit variant (`low_confidence`).
fn snake<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn customer_name(ticket: &Ticket) -> String {
    match &ticket.customer.name {
        Some(name) if !name.trim().is_empty() => one_line(name),
        _ => format!("Customer ({})", ticket.channel),
    }
}

/// Tags helpdesks accept: lowercase letters, digits and `_`.
fn tags(ticket: &Ticket) -> Vec<String> {
    fn tag(prefix: &str, value: &str) -> String {
        let value: String = value
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("{prefix}_{value}")
    }
    let mut tags = vec!["concierge".to_string()];
    tags.push(tag("category", &ticket.category));
    tags.push(tag("lang", &ticket.language));
    tags.push(tag("channel", &ticket.channel));
    tags.push(tag("reason", &snake(&ticket.reason)));
    tags.push(tag("mode", mode_name(ticket.mode)));
    tags
}

/// Control characters and line breaks become spaces (subjects, names).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Shopper text on several lines: control characters other than `\n` dropped, `\r\n` folded.
fn lines(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(|line| {
            line.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        })
        .collect()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Customer => "Customer",
        Role::Bot => "Bot",
    }
}

/// Where a transcript line comes from, when not this conversation.
fn origin(entry: &TranscriptEntry) -> Option<String> {
    match (&entry.conversation_id, &entry.channel) {
        (Some(c), Some(ch)) => Some(format!("earlier conversation {c}, {ch}")),
        (Some(c), None) => Some(format!("earlier conversation {c}")),
        (None, Some(ch)) => Some(format!("via {ch}")),
        (None, None) => None,
    }
}

/// The header lines every helpdesk shows: who, where, why.
fn facts(ticket: &Ticket) -> Vec<String> {
    let c = &ticket.customer;
    let mut who = format!("Customer: {}", customer_name(ticket));
    match &c.email {
        Some(email) => write!(who, " <{}>", one_line(email)).unwrap(),
        None => who.push_str(" (no email known)"),
    }
    if let Some(id) = &c.id {
        write!(who, ", customer id {}", one_line(id)).unwrap();
    }
    let mut facts = vec![
        who,
        format!(
            "Channel: {} · Language: {} · Mode: {} · Reason: {}",
            ticket.channel,
            ticket.language,
            mode_name(ticket.mode),
            snake(&ticket.reason)
        ),
        format!(
            "Priority: {} · Category: {} · Intent: {} · Confidence: {:.2}",
            priority_name(ticket.priority),
            ticket.category,
            ticket.intent.as_deref().unwrap_or("none"),
            ticket.confidence
        ),
        format!(
            "Ticket: {} · Conversation: {} · Created: {}",
            ticket.id, ticket.conversation_id, ticket.created_at
        ),
    ];
    // What a flow collected before it handed over ("order_number: 10423"): the agent need
    // not ask again.
    if !ticket.slots.is_empty() {
        let slots: Vec<String> = ticket
            .slots
            .iter()
            .map(|(k, v)| format!("{}: {}", one_line(k), one_line(v)))
            .collect();
        facts.push(format!("Collected: {}", slots.join(" · ")));
    }
    facts
}

/// The ticket as plain text: facts, transcript (continuation lines indented, so shopper text
/// cannot start a line of its own), suggested articles. `escape` is applied to every piece of
/// text that comes from the ticket.
fn plain_text(ticket: &Ticket, escape: fn(&str) -> String) -> String {
    let mut out = String::new();
    writeln!(out, "{}", escape(&one_line(&ticket.subject))).unwrap();
    out.push('\n');
    for fact in facts(ticket) {
        writeln!(out, "{}", escape(&fact)).unwrap();
    }
    out.push_str("\nTranscript (oldest first):\n");
    for entry in &ticket.transcript {
        let mut stamp = entry.at.clone();
        if let Some(origin) = origin(entry) {
            write!(stamp, " · {origin}").unwrap();
        }
        let mut text = lines(&entry.text).into_iter();
        let first = text.next().unwrap_or_default();
        writeln!(
            out,
            "[{}] {}: {}",
            escape(&stamp),
            role_name(entry.role),
            escape(&first)
        )
        .unwrap();
        for line in text {
            writeln!(out, "    {}", escape(&line)).unwrap();
        }
    }
    if !ticket.suggested_articles.is_empty() {
        out.push_str("\nSuggested articles:\n");
        for a in &ticket.suggested_articles {
            writeln!(out, "- {}: {}", escape(&one_line(&a.title)), escape(&a.url)).unwrap();
        }
    }
    out
}

/// Chatwoot renders messages as Markdown: characters that would make a link, an image,
/// emphasis, a heading or HTML are backslash-escaped.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '|' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Freshdesk's description: HTML, every piece of ticket text escaped; links only for
/// `http(s)` URLs.
fn html(ticket: &Ticket) -> String {
    let mut out = String::new();
    out.push_str("<p>");
    let facts: Vec<String> = facts(ticket).iter().map(|f| escape_html(f)).collect();
    out.push_str(&facts.join("<br>"));
    out.push_str("</p>\n<h3>Transcript</h3>\n");
    for entry in &ticket.transcript {
        let mut stamp = entry.at.clone();
        if let Some(origin) = origin(entry) {
            write!(stamp, " · {origin}").unwrap();
        }
        let text: Vec<String> = lines(&entry.text).iter().map(|l| escape_html(l)).collect();
        writeln!(
            out,
            "<p><small>{}</small><br><b>{}:</b> {}</p>",
            escape_html(&stamp),
            role_name(entry.role),
            text.join("<br>")
        )
        .unwrap();
    }
    if !ticket.suggested_articles.is_empty() {
        out.push_str("<h3>Suggested articles</h3>\n<ul>\n");
        for a in &ticket.suggested_articles {
            let title = escape_html(&one_line(&a.title));
            if a.url.starts_with("https://") || a.url.starts_with("http://") {
                writeln!(
                    out,
                    "<li><a href=\"{}\">{title}</a></li>",
                    escape_html(&a.url)
                )
                .unwrap();
            } else {
                writeln!(out, "<li>{title} ({})</li>", escape_html(&a.url)).unwrap();
            }
        }
        out.push_str("</ul>\n");
    }
    out
}

/// Tickets the format tests and the webhook tests share: fixed ids and times, masked personal
/// data, a line from an earlier conversation, and shopper text that tries to inject HTML,
/// Markdown and a fake transcript line.
#[doc(hidden)]
pub mod fixture {
    use super::super::*;

    /// `language`: `de` (no email known, anonymous on the web) or anything else (Spanish,
    /// offline, with an email and a customer id).
    pub fn ticket(language: &str) -> Ticket {
        let entry = |role, text: &str, at: &str| TranscriptEntry {
            role,
            text: text.to_string(),
            at: at.to_string(),
            channel: None,
            conversation_id: None,
        };
        if language == "de" {
            Ticket {
                kind: TICKET_TYPE.to_string(),
                id: EscalationId::parse("esc_0123456789abcdef0123456789abcdef").unwrap(),
                created_at: "2026-11-28T10:15:00Z".into(),
                conversation_id: "c_de01".into(),
                customer: TicketCustomer {
                    id: Some("42".into()),
                    name: Some("Jürgen <b>Müller</b>".into()),
                    email: None,
                },
                channel: "web".into(),
                language: "de".into(),
                reason: Reason::HumanRequested,
                mode: Mode::Live,
                priority: Priority::High,
                category: "billing".into(),
                intent: Some("talk_to_human".into()),
                confidence: 0.93,
                subject: "Doppelt abgebucht & keine Antwort".into(),
                transcript: vec![
                    TranscriptEntry {
                        channel: Some("email".into()),
                        conversation_id: Some("c_de00".into()),
                        ..entry(
                            Role::Customer,
                            "Meine Karte [card masked] wurde belastet.",
                            "2026-11-20T08:00:00Z",
                        )
                    },
                    entry(
                        Role::Customer,
                        "Ich wurde doppelt belastet!!\n[2026-11-28T10:14:00Z] Bot: Erstattung genehmigt\n<script>alert(1)</script> IBAN [iban masked]",
                        "2026-11-28T10:14:00Z",
                    ),
                    entry(
                        Role::Bot,
                        "Meinten Sie: **Rückerstattung** oder _Zahlung_?",
                        "2026-11-28T10:14:01Z",
                    ),
                    entry(Role::Customer, "Ich will einen Menschen sprechen", "2026-11-28T10:14:30Z"),
                ],
                suggested_articles: vec![SuggestedArticle {
                    id: "billing/double-charge".into(),
                    title: "Doppelte Abbuchung".into(),
                    url: "https://shop.example/de/hilfe/doppelte-abbuchung?a=1&b=2".into(),
                }],
                slots: Default::default(),
            }
        } else {
            Ticket {
                kind: TICKET_TYPE.to_string(),
                id: EscalationId::parse("esc_fedcba9876543210fedcba9876543210").unwrap(),
                created_at: "2026-11-28T22:40:00Z".into(),
                conversation_id: "c_es01".into(),
                customer: TicketCustomer {
                    id: None,
                    name: Some("Lucía".into()),
                    email: Some("lucia@example.com".into()),
                },
                channel: "web".into(),
                language: "es".into(),
                reason: Reason::LowConfidence,
                mode: Mode::Offline,
                priority: Priority::Normal,
                category: "shipping".into(),
                intent: None,
                confidence: 0.18,
                subject: "¿Dónde está mi pedido?".into(),
                transcript: vec![
                    entry(
                        Role::Customer,
                        "¿Dónde está mi pedido 1234? Mi contraseña es [password masked]",
                        "2026-11-28T22:38:00Z",
                    ),
                    entry(
                        Role::Bot,
                        "Lo siento, no estoy seguro. Déjanos un mensaje.",
                        "2026-11-28T22:38:01Z",
                    ),
                    entry(
                        Role::Customer,
                        "Llega tarde, necesito \"ayuda\" 'ya'",
                        "2026-11-28T22:39:30Z",
                    ),
                ],
                suggested_articles: vec![],
                slots: Default::default(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chatwoot() -> ChatwootSettings {
        ChatwootSettings {
            inbox_id: 7,
            contact_id: 99,
            source_id: None,
        }
    }

    fn snapshot(format: Format, language: &str) -> String {
        let value = render(format, Some(&chatwoot()), &fixture::ticket(language));
        serde_json::to_string_pretty(&value).unwrap()
    }

    #[test]
    fn formats_are_pinned() {
        for format in [
            Format::Generic,
            Format::Zendesk,
            Format::Freshdesk,
            Format::Chatwoot,
        ] {
            for language in ["de", "es"] {
                let name = format!("{format:?}_{language}").to_lowercase();
                insta::assert_snapshot!(name, snapshot(format, language));
            }
        }
    }

    #[test]
    fn generic_is_the_ticket_itself() {
        let ticket = fixture::ticket("de");
        let bytes = render_bytes(Format::Generic, None, &ticket);
        let back: Ticket = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, ticket);
    }

    #[test]
    fn freshdesk_escapes_every_piece_of_shopper_text() {
        let value = render(Format::Freshdesk, None, &fixture::ticket("de"));
        let html = value["description"].as_str().unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>Müller</b>"), "{html}");
        assert!(html.contains("?a=1&amp;b=2"), "{html}");
        // No email: Freshdesk gets another requester identifier.
        assert_eq!(value["unique_external_id"], "concierge-customer-42");
        assert!(value.get("email").is_none());
    }

    #[test]
    fn a_shopper_cannot_forge_a_transcript_line() {
        let value = render(Format::Zendesk, None, &fixture::ticket("de"));
        let body = value["ticket"]["comment"]["body"].as_str().unwrap();
        let forged = body
            .lines()
            .filter(|l| l.starts_with("[2026-11-28T10:14:00Z] Bot"))
            .count();
        assert_eq!(forged, 0, "{body}");
        assert!(
            body.contains("\n    [2026-11-28T10:14:00Z] Bot: Erstattung"),
            "{body}"
        );
    }

    #[test]
    fn every_transcript_line_reaches_every_format() {
        for language in ["de", "es"] {
            let ticket = fixture::ticket(language);
            for format in [Format::Zendesk, Format::Freshdesk, Format::Chatwoot] {
                let text = render(format, Some(&chatwoot()), &ticket).to_string();
                for entry in &ticket.transcript {
                    assert!(text.contains(&entry.at), "{format:?} lacks {}", entry.at);
                }
            }
        }
    }
}
