-- 0001: customers, conversations, messages, feedback and the outbox of tickets.
--
-- Kept to SQL that PostgreSQL accepts as well (BIGINT milliseconds, TEXT ids, JSON as TEXT,
-- no AUTOINCREMENT, no SQLite-only functions), so a PostgreSQL backend can start from the
-- same schema.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    email       TEXT,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL
);

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    customer_id TEXT REFERENCES customers (id),
    -- As given with this conversation: the only record of a customer without an id.
    customer_name  TEXT,
    customer_email TEXT,
    started_ms  BIGINT NOT NULL,
    last_ms     BIGINT NOT NULL,
    -- escalation::Handoff as JSON.
    handoff     TEXT NOT NULL
);
CREATE INDEX conversations_by_customer ON conversations (customer_id, last_ms);
CREATE INDEX conversations_by_last ON conversations (last_ms);

-- One row per turn: the shopper's message (masked) and the bot's reply.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- Position in the conversation, from 1.
    n               BIGINT NOT NULL,
    at_ms           BIGINT NOT NULL,
    text            TEXT NOT NULL,
    reply           TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    language        TEXT NOT NULL,
    intent          TEXT,
    article         TEXT,
    confidence      REAL NOT NULL,
    UNIQUE (conversation_id, n)
);

-- A thumb on one message (message_id, helpful) or a rating of the conversation (rating).
CREATE TABLE feedback (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n               BIGINT NOT NULL,
    message_id      TEXT REFERENCES messages (id) ON DELETE CASCADE,
    helpful         BOOLEAN,
    rating          SMALLINT,
    at_ms           BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, n)
);

-- The transactional outbox: a ticket is written with the turn that caused it. No foreign
-- key to conversations: retention may delete a conversation whose ticket is still pending
-- (the ticket carries its own transcript).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    customer_id     TEXT,
    -- escalation::Ticket as JSON.
    ticket          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error      TEXT,
    created_ms      BIGINT NOT NULL,
    -- Last change of state, for retention.
    updated_ms      BIGINT NOT NULL,
    delivered_ms    BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
CREATE INDEX outbox_by_customer ON outbox (customer_id);
CREATE INDEX outbox_by_conversation ON outbox (conversation_id);
