//! Splitting an article body into sections at its headings, and rendering to plain text.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

/// One part of an article: the text under one heading (or before the first heading).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The heading's plain text; `None` for the introduction before the first heading.
    pub heading: Option<String>,
    /// URL fragment for the heading (`#delivery-to-the-us`), empty for the introduction.
    pub anchor: String,
    /// The Markdown source of the section, heading included, exactly as in the file.
    pub source: String,
    /// Plain text of the whole section (heading excluded), for indexing.
    pub plain: String,
    /// The section's first paragraph (with a list that it introduces), in plain text: what the
    /// bot quotes as its answer.
    pub lead: String,
    /// 1-based line of the section's start within the body.
    pub line: usize,
}

/// A link found in the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub target: String,
    /// Byte offset in the body.
    pub offset: usize,
}

/// Splits a Markdown body into sections at headings of level 1 to 3. The sections' `source`
/// strings concatenate back to the body (checked by a property test).
pub fn split_sections(body: &str) -> Vec<Section> {
    let mut starts: Vec<(usize, Option<String>)> = vec![(0, None)];
    let mut in_heading: Option<(usize, String)> = None;
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1 | HeadingLevel::H2 | HeadingLevel::H3,
                ..
            }) => {
                in_heading = Some((range.start, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, text)) = in_heading.take() {
                    starts.push((start, Some(text.trim().to_string())));
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = in_heading.as_mut() {
                    text.push_str(&t);
                }
            }
            _ => {}
        }
    }
    let mut sections = Vec::with_capacity(starts.len());
    for (i, (start, heading)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(body.len(), |s| s.0);
        let source = &body[*start..end];
        if heading.is_none() && source.trim().is_empty() {
            continue;
        }
        let content = match heading {
            // Skip the heading line itself for the text.
            Some(_) => source.split_once('\n').map_or("", |(_, rest)| rest),
            None => source,
        };
        let (plain, lead) = plain_and_lead(content);
        sections.push(Section {
            anchor: heading.as_deref().map(slug).unwrap_or_default(),
            heading: heading.clone(),
            source: source.to_string(),
            plain,
            lead,
            line: crate::diagnostic::line_of_offset(body, *start),
        });
    }
    sections
}

/// The links of a body.
pub fn links(body: &str) -> Vec<Link> {
    Parser::new(body)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. }) => Some(Link {
                target: dest_url.to_string(),
                offset: range.start,
            }),
            _ => None,
        })
        .collect()
}

/// Plain text of Markdown, and its first block (plus the list it introduces when it ends with
/// a colon).
fn plain_and_lead(markdown: &str) -> (String, String) {
    let mut plain = String::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Paragraph)
            | Event::Start(Tag::List(_))
            | Event::Start(Tag::Table(_))
                if depth == 0 =>
            {
                depth += 1;
                current.clear();
            }
            Event::Start(Tag::List(_))
            | Event::Start(Tag::Table(_))
            | Event::Start(Tag::Paragraph) => {
                depth += 1;
            }
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::List(_))
            | Event::End(TagEnd::Table) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    blocks.push(current.trim().to_string());
                    current.clear();
                }
            }
            Event::Start(Tag::Item) => current.push_str("\n• "),
            Event::End(TagEnd::TableCell) => current.push_str(" | "),
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => current.push('\n'),
            Event::Text(t) | Event::Code(t) => {
                current.push_str(&t);
                plain.push_str(&t);
                plain.push(' ');
            }
            Event::SoftBreak | Event::HardBreak => {
                current.push(' ');
                plain.push(' ');
            }
            _ => {}
        }
    }
    let mut lead = blocks.first().cloned().unwrap_or_default();
    if lead.ends_with(':') {
        if let Some(next) = blocks.get(1) {
            lead.push('\n');
            lead.push_str(next);
        }
    }
    (plain.split_whitespace().collect::<Vec<_>>().join(" "), lead)
}

/// A URL fragment for a heading: lower case, letters and digits, dashes between words.
pub fn slug(heading: &str) -> String {
    let mut out = String::new();
    for w in crate::nlu::words(heading) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &str = "Intro line.\n\n## First part\nAnswer one.\n\nMore.\n\n## Methods\nYou can pay with:\n\n- cards\n- iDEAL\n";

    #[test]
    fn splits_at_headings_and_quotes_the_lead() {
        let s = split_sections(BODY);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].heading, None);
        assert_eq!(s[0].lead, "Intro line.");
        assert_eq!(s[1].heading.as_deref(), Some("First part"));
        assert_eq!(s[1].anchor, "first-part");
        assert_eq!(s[1].lead, "Answer one.");
        assert_eq!(s[1].plain, "Answer one. More.");
        assert_eq!(s[1].line, 3);
        assert_eq!(s[2].lead, "You can pay with:\n• cards\n• iDEAL");
    }

    #[test]
    fn finds_links() {
        let l = links("See [returns](../returns/policy.md) and [site](https://x.example).");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].target, "../returns/policy.md");
    }

    proptest! {
        #[test]
        fn sections_concatenate_back_to_the_body(body in "([#]{0,3} ?[a-z :]{0,12}\n{0,2}){0,12}") {
            let sections = split_sections(&body);
            let joined: String = sections.iter().map(|s| s.source.as_str()).collect();
            // Only a blank introduction is dropped.
            let dropped = body.len() - joined.len();
            prop_assert!(body.ends_with(&joined));
            prop_assert!(body[..dropped].trim().is_empty());
        }
    }
}
