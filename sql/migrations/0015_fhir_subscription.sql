-- 0015_fhir_subscription.sql: FHIR R4 Subscriptions Backport (issue 12; proto/fhir/FHIR_MAPPING.md
-- §11). A Subscription belongs to the account that made it and to one department, whose event
-- log it follows from start_seq (the department's last seq when it was made): its notification
-- events are numbered 1, 2, ... in seq order among the events that match its topic and filter,
-- so a client that sees event 7 after 5 knows it missed 6 and reads it with $events.
CREATE TABLE fhir_subscription (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES account(id),
    department_id    bigint NOT NULL REFERENCES department(id),
    topic            text NOT NULL CHECK (topic IN ('encounter', 'vital-signs')),
    encounter_id     bigint REFERENCES encounter(id),   -- filter, or NULL
    patient_id       bigint REFERENCES patient(id),     -- filter, or NULL
    payload          text NOT NULL CHECK (payload IN ('empty', 'id-only', 'full-resource')),
    heartbeat_period int NOT NULL CHECK (heartbeat_period BETWEEN 10 AND 3600),
    start_seq        bigint NOT NULL CHECK (start_seq >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz                         -- DELETE: off, kept for the audit
);
CREATE INDEX fhir_subscription_account_idx ON fhir_subscription (account_id) WHERE ended_at IS NULL;

-- $get-ws-binding-token: a short-lived token (kept only as its SHA-256, like a session's) bound
-- to the session that asked for it and to the subscriptions it may bind; ed-hub takes it in
-- bind-with-token and checks the session on every round, as for /ws.
CREATE TABLE fhir_ws_token (
    token_hash    bytea PRIMARY KEY,
    session_hash  bytea NOT NULL,
    account_id    bigint NOT NULL REFERENCES account(id),
    subscriptions bigint[] NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX fhir_ws_token_expires_idx ON fhir_ws_token (expires_at);

GRANT SELECT, INSERT, UPDATE ON fhir_subscription TO edlive_app;
GRANT USAGE ON SEQUENCE fhir_subscription_id_seq TO edlive_app;
GRANT SELECT, INSERT, DELETE ON fhir_ws_token TO edlive_app;
