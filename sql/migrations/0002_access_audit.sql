-- 0002_access_audit.sql: accounts, sessions, sign-in throttling, emergency access, and the
-- append-only, hash-chained audit log. The services connect as edlive_app, which gets only
-- what it needs: in particular no UPDATE, DELETE or TRUNCATE on audit_log.
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edlive_app') THEN
        CREATE ROLE edlive_app LOGIN;
    END IF;
END
$$;

CREATE TABLE account (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    staff_id        bigint REFERENCES staff(id),
    roles           text[] NOT NULL CHECK (roles <@ ARRAY['physician', 'nurse', 'charge_nurse',
                        'registration', 'admin', 'service']::text[] AND cardinality(roles) >= 1),
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    totp_secret     text,                       -- base32; NULL: no second factor enrolled
    totp_last_step  bigint NOT NULL DEFAULT 0,  -- the last 30 s step accepted (replay guard)
    disabled        boolean NOT NULL DEFAULT false,
    failed_count    int NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX account_username_idx ON account (username);
-- Admins must hold a second factor.
ALTER TABLE account ADD CONSTRAINT account_admin_totp
    CHECK (NOT ('admin' = ANY(roles)) OR totp_secret IS NOT NULL);

CREATE TABLE session (
    token_hash      bytea PRIMARY KEY,          -- SHA-256 of the token; the token is never stored
    account_id      bigint NOT NULL REFERENCES account(id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_active_at  timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,       -- absolute lifetime
    idle_seconds    int NOT NULL,
    revoked_at      timestamptz,
    mfa             boolean NOT NULL DEFAULT false,
    source_addr     text NOT NULL
);
CREATE INDEX session_account_idx ON session (account_id);

CREATE TABLE signin_throttle (
    address       text PRIMARY KEY,
    failures      int NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Emergency access: one clinician, one patient, a reason, a time box.
CREATE TABLE break_glass (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES account(id),
    patient_id   bigint NOT NULL REFERENCES patient(id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 10 AND 500),
    granted_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX break_glass_active_idx ON break_glass (account_id, patient_id, expires_at);

-- The audit log. seq is gap-free (assigned under the chain lock, rolled back with its
-- transaction); hash = SHA-256(prev_hash || audit_canonical(row)).
CREATE TABLE audit_log (
    seq          bigint PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    account_id   bigint,
    username     text,
    role         text,
    action       text NOT NULL,
    patient_id   bigint,
    encounter_id bigint,
    category     text NOT NULL,     -- data category: chart, vitals, note, board, account, session, audit
    source_addr  text,
    outcome      text NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    severity     text NOT NULL DEFAULT 'normal' CHECK (severity IN ('normal', 'high')),
    detail       text,
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL
);
CREATE INDEX audit_at_idx ON audit_log (at);
CREATE INDEX audit_account_idx ON audit_log (account_id, at);
CREATE INDEX audit_patient_idx ON audit_log (patient_id, at);

CREATE TABLE audit_chain (
    id        int PRIMARY KEY CHECK (id = 1),
    last_seq  bigint NOT NULL,
    last_hash bytea NOT NULL
);
INSERT INTO audit_chain VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Auditing is on unless an admin switched it off; that switch is itself audited (by the API).
CREATE TABLE audit_setting (
    id       int PRIMARY KEY CHECK (id = 1),
    enabled  boolean NOT NULL DEFAULT true
);
INSERT INTO audit_setting VALUES (1, true);

-- What the services may do.
GRANT USAGE ON SCHEMA public TO edlive_app;
GRANT SELECT ON department, bed, staff, staff_department, schema_migrations, audit_setting TO edlive_app;
GRANT SELECT, UPDATE ON department_seq TO edlive_app;
GRANT SELECT, INSERT, UPDATE ON patient, encounter TO edlive_app;
GRANT SELECT, INSERT ON vitals, note, event, break_glass TO edlive_app;
GRANT SELECT, INSERT ON audit_log TO edlive_app;
GRANT SELECT, INSERT, UPDATE ON account, session, signin_throttle TO edlive_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO edlive_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM edlive_app;
REVOKE ALL ON audit_chain FROM edlive_app;
