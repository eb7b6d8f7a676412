-- 0005: the live hand-over (issue 13). Portable SQL: SQLite and PostgreSQL accept it all.
--
-- The helpdesk's events of a handed-over conversation (`conversation.message`,
-- `conversation.closed`): an outbox beside the tickets', written in the transaction of the
-- turn that caused them, delivered in order of `n` within a conversation and each after the
-- conversation's ticket. No foreign key, like the tickets: retention may delete the
-- conversation of an event still pending.
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    ticket_id       TEXT NOT NULL,
    -- Position among the conversation's events, from 1.
    n               BIGINT NOT NULL,
    -- store::ConversationEvent as JSON, masked.
    event           TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error      TEXT,
    created_ms      BIGINT NOT NULL,
    updated_ms      BIGINT NOT NULL,
    delivered_ms    BIGINT,
    UNIQUE (conversation_id, n)
);
CREATE INDEX events_due ON events (state, next_attempt_ms);

-- What the shop's people did in a conversation (store::Activity): an agent's message,
-- joined, resolved, the shopper's CSAT rating of the agent, the shopper leaving.
CREATE TABLE activity (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n               BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    agent           TEXT,
    text            TEXT,
    rating          SMALLINT,
    at_ms           BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, n)
);

-- The `webhook-id`s of the helpdesk's signed requests already accepted: a replay is refused.
CREATE TABLE inbound_seen (
    id      TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);
CREATE INDEX inbound_seen_by_time ON inbound_seen (seen_ms);
