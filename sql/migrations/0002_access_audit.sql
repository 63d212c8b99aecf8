-- 0002_access_audit.sql: accounts, sessions, sign-in throttling, emergency access, and the
-- append-only, hash-chained audit log. The services connect as edlive_app, which gets only
-- what it needs: in particular no UPDATE, DELETE or TRUNCATE on audit_log.

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

-- The exact text each hash covers; edlivectl audit verify recomputes it independently.
CREATE FUNCTION audit_canonical(a audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_array(a.seq,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.account_id, a.username, a.role, a.action, a.patient_id, a.encounter_id, a.category,
        a.source_addr, a.outcome, a.severity, a.detail)::text
$$;

CREATE FUNCTION audit_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head audit_chain;
BEGIN
    SELECT * INTO head FROM audit_chain WHERE id = 1 FOR UPDATE;
    NEW.seq := head.last_seq + 1;
    NEW.at := clock_timestamp();
    NEW.prev_hash := head.last_hash;
    NEW.hash := sha256(head.last_hash || convert_to(audit_canonical(NEW), 'UTF8'));
    UPDATE audit_chain SET last_seq = NEW.seq, last_hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_link BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_link();

CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

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

-- A board row also shows who opened the patient's chart through emergency access, so the
-- charge nurse sees it (while the grant lasts).
CREATE OR REPLACE FUNCTION encounter_row_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'encounter_id', e.id, 'version', e.version, 'department_id', e.department_id,
        'patient', jsonb_build_object('id', p.id, 'mrn', p.mrn, 'family_name', p.family_name,
            'given_name', p.given_name, 'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'),
            'age_years', date_part('year', age(current_date, p.birth_date))::int, 'sex', p.sex),
        'bed', (SELECT jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area)
                FROM bed b WHERE b.id = e.bed_id),
        'esi', e.esi, 'chief_complaint', e.chief_complaint, 'arrival_mode', e.arrival_mode,
        'arrived_at', utc_text(e.arrived_at), 'status', e.status,
        'attending', staff_json(e.attending_id), 'nurse', staff_json(e.nurse_id),
        'latest_vitals', (SELECT vitals_json(v) FROM vitals v WHERE v.encounter_id = e.id
                          ORDER BY v.taken_at DESC, v.id DESC LIMIT 1),
        'break_glass', (SELECT coalesce(jsonb_agg(jsonb_build_object('by', a.username,
                                'reason', bg.reason, 'until', utc_text(bg.expires_at))
                                ORDER BY bg.granted_at), '[]'::jsonb)
                        FROM break_glass bg JOIN account a ON a.id = bg.account_id
                        WHERE bg.patient_id = e.patient_id AND bg.expires_at > now()))
    FROM encounter e JOIN patient p ON p.id = e.patient_id
    WHERE e.id = p_encounter_id
$$;
GRANT EXECUTE ON FUNCTION encounter_row_json(bigint) TO edlive_app;
