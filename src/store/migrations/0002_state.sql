-- 0002: what a conversation keeps between turns besides the hand-over state (the topic of the
-- last answer, a running flow): store::ConversationState as JSON; NULL is the empty state.

ALTER TABLE conversations ADD COLUMN state TEXT;
