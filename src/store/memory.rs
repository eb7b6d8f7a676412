//! The in-memory store: conversations live as long as the process, up to a fixed number
//! (the oldest are forgotten first), so a flood of new conversations cannot exhaust memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::{Conversation, ConversationId, Error, Feedback, Result, Store, Turn};

/// Turns kept per conversation; older ones are dropped.
const MAX_TURNS: usize = 500;

#[derive(Debug)]
struct Entry {
    conversation: Conversation,
    turns: VecDeque<Turn>,
    feedback: Vec<Feedback>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<ConversationId, Entry>,
    /// Creation order, for forgetting the oldest.
    order: VecDeque<ConversationId>,
}

/// Conversations in a `Mutex<HashMap>`, bounded.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl MemoryStore {
    /// A store keeping at most `capacity` conversations.
    pub fn new(capacity: usize) -> Self {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing the service, so a poisoned lock is used as it is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn create_conversation(&self, conversation: Conversation) -> Result<()> {
        let mut inner = self.lock();
        while inner.by_id.len() >= self.capacity {
            match inner.order.pop_front() {
                Some(old) => {
                    inner.by_id.remove(&old);
                }
                None => break,
            }
        }
        inner.order.push_back(conversation.id.clone());
        inner.by_id.insert(
            conversation.id.clone(),
            Entry {
                conversation,
                turns: VecDeque::new(),
                feedback: Vec::new(),
            },
        );
        Ok(())
    }

    fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>> {
        Ok(self.lock().by_id.get(id).map(|e| e.conversation.clone()))
    }

    fn add_turn(&self, conversation: &ConversationId, turn: Turn) -> Result<()> {
        let mut inner = self.lock();
        let entry = inner
            .by_id
            .get_mut(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        if entry.turns.len() >= MAX_TURNS {
            entry.turns.pop_front();
        }
        entry.turns.push_back(turn);
        Ok(())
    }

    fn turns(&self, conversation: &ConversationId) -> Result<Vec<Turn>> {
        let inner = self.lock();
        let entry = inner
            .by_id
            .get(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        Ok(entry.turns.iter().cloned().collect())
    }

    fn add_feedback(&self, conversation: &ConversationId, feedback: Feedback) -> Result<()> {
        let mut inner = self.lock();
        let entry = inner
            .by_id
            .get_mut(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        if let Feedback::Helpful { message, .. } = &feedback {
            if !entry.turns.iter().any(|t| &t.id == message) {
                return Err(Error::UnknownMessage {
                    conversation: conversation.clone(),
                    message: message.clone(),
                });
            }
        }
        entry.feedback.push(feedback);
        Ok(())
    }

    fn feedback(&self, conversation: &ConversationId) -> Result<Vec<Feedback>> {
        let inner = self.lock();
        let entry = inner
            .by_id
            .get(conversation)
            .ok_or_else(|| Error::UnknownConversation(conversation.clone()))?;
        Ok(entry.feedback.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Customer, MessageId};

    fn conversation() -> Conversation {
        Conversation {
            id: ConversationId::generate(),
            channel: "web".into(),
            customer: Customer::default(),
            started_ms: 0,
        }
    }

    fn turn() -> Turn {
        Turn {
            id: MessageId::generate(),
            text: "hi".into(),
            reply: "Hello!".into(),
            outcome: "answer".into(),
            language: "en".into(),
            intent: None,
            article: None,
            confidence: 1.0,
            at_ms: 0,
        }
    }

    #[test]
    fn feedback_needs_a_known_conversation_and_message() {
        let store = MemoryStore::new(10);
        let c = conversation();
        store.create_conversation(c.clone()).unwrap();
        let t = turn();
        store.add_turn(&c.id, t.clone()).unwrap();
        store
            .add_feedback(
                &c.id,
                Feedback::Helpful {
                    message: t.id.clone(),
                    helpful: true,
                },
            )
            .unwrap();
        let unknown = store.add_feedback(
            &c.id,
            Feedback::Helpful {
                message: MessageId::generate(),
                helpful: true,
            },
        );
        assert!(matches!(unknown, Err(Error::UnknownMessage { .. })));
        let other = ConversationId::generate();
        assert!(matches!(
            store.add_feedback(&other, Feedback::Rating(5)),
            Err(Error::UnknownConversation(_))
        ));
        assert_eq!(store.feedback(&c.id).unwrap().len(), 1);
    }

    #[test]
    fn the_oldest_conversations_are_forgotten_beyond_capacity() {
        let store = MemoryStore::new(2);
        let (a, b, c) = (conversation(), conversation(), conversation());
        for x in [&a, &b, &c] {
            store.create_conversation(x.clone()).unwrap();
        }
        assert!(store.conversation(&a.id).unwrap().is_none());
        assert!(store.conversation(&b.id).unwrap().is_some());
        assert!(store.conversation(&c.id).unwrap().is_some());
    }

    #[test]
    fn ids_from_clients_are_checked() {
        assert!(ConversationId::parse("c_0123abc").is_some());
        assert!(ConversationId::parse("").is_none());
        assert!(ConversationId::parse("a/b").is_none());
        assert!(ConversationId::parse(&"x".repeat(65)).is_none());
    }
}
