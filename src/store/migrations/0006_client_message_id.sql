-- 0006: a retried message is recognised (`client_message_id` of `POST /v1/messages`).
-- Portable SQL: SQLite and PostgreSQL accept it all.
--
-- The id the client gave a message, unique within its conversation: a retry of a message
-- whose turn was committed (the replica died before it answered, the answer was lost on the
-- way) finds this row and is answered with it instead of being stored again. `shown` is what
-- the shopper was shown beyond `reply` (suggestions, link, hand-over stage, quick replies),
-- as the conversation core serialized it; kept only with a client id. NULL for messages sent
-- without an id, and for every message before this version (NULLs never collide).
ALTER TABLE messages ADD COLUMN client_message_id TEXT;
ALTER TABLE messages ADD COLUMN shown TEXT;
CREATE UNIQUE INDEX messages_by_client_id ON messages (conversation_id, client_message_id);
