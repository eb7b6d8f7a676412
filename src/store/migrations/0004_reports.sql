-- 0004: what `concierge report` needs to stay fast on a year of history (issue 15).
--
-- The bot's response time per message (NULL for turns recorded before this version), and
-- the ticket's reason, category and priority as plain columns of the outbox, so that the
-- report never parses a ticket's JSON. The store fills them when it writes a turn or a
-- ticket; tickets written before this version have NULL there. Portable SQL: SQLite and
-- PostgreSQL both accept every statement.

ALTER TABLE messages ADD COLUMN response_ms BIGINT;

ALTER TABLE outbox ADD COLUMN reason TEXT;
ALTER TABLE outbox ADD COLUMN category TEXT;
ALTER TABLE outbox ADD COLUMN priority TEXT;

-- The report reads every message of the conversations it counts: with this index it reads
-- the index alone, in conversation order, never the rows (which hold the texts).
CREATE INDEX messages_report ON messages (conversation_id, n, outcome, language, response_ms);
-- Conversations by start (the report's window) and a customer's conversations by start
-- (first-contact resolution looks for the next one).
CREATE INDEX conversations_by_started ON conversations (started_ms);
CREATE INDEX conversations_by_customer_started ON conversations (customer_id, started_ms);
-- The tickets' facts, read from the index without parsing their JSON.
CREATE INDEX outbox_report ON outbox (conversation_id, reason, category, priority, state, created_ms, delivered_ms);
