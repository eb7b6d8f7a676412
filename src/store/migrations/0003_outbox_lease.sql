-- 0002: a lease on a ticket claimed for delivery.
--
-- With several replicas on one PostgreSQL, the replica that takes a due ticket sets
-- `claimed_until` (Unix milliseconds); the others skip it until then, and take it over when
-- the holder died before it reported the attempt. SQLite has one process and leaves it NULL.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
