-- 0004_delivery.sql: durable delivery (proto/GUARANTEES.md).
-- * ed-relay moves the event log (the outbox) into Redis Streams and remembers how far it got;
-- * every new event wakes it through NOTIFY (a wake-up only: it also polls, since a NOTIFY
--   sent while nobody listens is lost);
-- * Idempotency-Key: a retried write returns its first reply instead of writing twice.
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

-- How far ed-relay has moved each department's events into Redis. Replaying from here after a
-- crash is safe: Redis refuses an entry id at or below its stream's top.
CREATE TABLE relay_cursor (
    department_id bigint PRIMARY KEY REFERENCES department(id),
    relayed_seq   bigint NOT NULL DEFAULT 0 CHECK (relayed_seq >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Before this migration ed-api published its own events: those are already in Redis.
INSERT INTO relay_cursor (department_id, relayed_seq)
SELECT department_id, last_seq FROM department_seq;

-- The first reply to a write that carried an Idempotency-Key, per account. A retry with the
-- same key and the same request gets this reply; with a different request, 422.
CREATE TABLE idempotency (
    account_id     bigint NOT NULL REFERENCES account(id),
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    request_sha256 text NOT NULL,
    status         int NOT NULL,
    reply          jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_created_idx ON idempotency (created_at);

GRANT SELECT, INSERT, UPDATE ON relay_cursor TO edlive_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency TO edlive_app;
